"""Synthetic control family: reference matches, known effects, inference, checks, errors."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design.synth import plot_gaps, plot_paths, plot_placebos, plot_weights
from causal_kit.design.synth.solver import simplex_qp

DATA = Path(__file__).parent / "data"
PROP = dict(outcome="PacksPerCapita", unit="State", time="Year", treatment="treated")


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    # Abadie, Diamond & Hainmueller (2010) California Proposition 99 panel as shipped with the
    # synthdid R package (see tests/data/PROVENANCE.md).
    return pd.read_csv(DATA / "california_prop99.csv", sep=";")


@pytest.fixture(scope="module")
def pysyncon_refs() -> dict:
    # Computed by benchmarks/reference/pysyncon_refs.py with pysyncon 1.7.0.
    return json.loads((DATA / "prop99_pysyncon_refs.json").read_text())


@pytest.fixture(scope="module")
def synthdid_refs() -> dict:
    # Computed by benchmarks/reference/synthdid_refs.py with PyPI synthdid 0.10.1.
    return json.loads((DATA / "synthdid_refs.json").read_text())


@pytest.fixture(scope="module")
def sc_prop(prop99: pd.DataFrame) -> ck.Estimate:
    return ck.synthetic_control(prop99, **PROP, method="sc")


def _wide(prop99: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    w = prop99.pivot(index="State", columns="Year", values="PacksPerCapita")
    names = [s for s in w.index if s != "California"]
    return w.loc[names].to_numpy(), w.loc["California"].to_numpy(), names


def _weights(est: ck.Estimate) -> pd.Series:
    return est.details["weights"].set_index("unit")["weight"]


# --------------------------------------------------------------------------- solver


def test_solver_reaches_the_exact_optimum_and_kkt_conditions() -> None:
    rng = np.random.default_rng(1)
    A = rng.normal(size=(30, 60)) @ np.diag(rng.uniform(0.5, 2, 60)) + 3
    b = A[:, :4] @ np.array([0.4, 0.3, 0.2, 0.1]) + rng.normal(0, 0.3, 30)
    G, c = A.T @ A, A.T @ b
    w = simplex_qp(G, c)
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    grad = G @ w - c
    active = w > 0
    # KKT: equal gradient on the support, no better direction off it.
    assert np.ptp(grad[active]) < 1e-6 * np.abs(c).max()
    assert grad[~active].min() >= grad[active].mean() - 1e-6 * np.abs(c).max()


# --------------------------------------------------------------------------- references


def test_sc_matches_pysyncon_on_prop99(sc_prop: ck.Estimate, prop99, pysyncon_refs) -> None:
    ref = pysyncon_refs["sc_outcome_path"]
    assert sc_prop.estimate == pytest.approx(ref["att"], abs=1e-4)  # pysyncon: -19.51361
    w = _weights(sc_prop)
    for state, value in ref["weights"].items():
        assert w[state] == pytest.approx(value, abs=2e-4)
    # exactness: our pre-period fit is at least as good as pysyncon's SLSQP solution
    assert sc_prop.details["pre_rmspe"] ** 2 <= ref["pre_mspe"] + 1e-9


def test_asc_matches_pysyncon_augsynth(prop99, pysyncon_refs) -> None:
    ref = pysyncon_refs["asc_ridge"]
    est = ck.synthetic_control(prop99, **PROP, method="asc", inference="none",
                               placebo_in_time=False, leave_one_out=False)
    assert est.details["ridge_penalty"] == pytest.approx(ref["lambda"], rel=1e-9)
    assert est.estimate == pytest.approx(ref["att"], abs=1e-4)  # pysyncon: -15.95260
    w = _weights(est)
    for state, value in ref["weights"].items():
        assert w[state] == pytest.approx(value, abs=2e-4)


def test_sc_predictors_match_pysyncon(prop99, pysyncon_refs) -> None:
    fixed = pysyncon_refs["sc_predictors_fixed_v"]
    est = ck.synthetic_control(prop99, **PROP, outcome_lags=[1975, 1980, 1988],
                               predictor_weights=[0.5, 0.3, 0.2], inference="none",
                               placebo_in_time=False, leave_one_out=False)
    # Three predictors, 38 donors: many weight vectors match the predictors exactly, so compare
    # the attained predictor distance (pysyncon's SLSQP vs ours), not the weights themselves.
    wide = prop99.pivot(index="Year", columns="State", values="PacksPerCapita")
    X = wide.loc[[1975, 1980, 1988]]
    names = [c for c in X.columns if c != "California"]
    sd = X.std(axis=1).to_numpy()
    X0, x1 = X[names].to_numpy() / sd[:, None], X["California"].to_numpy() / sd
    v = np.array([0.5, 0.3, 0.2])

    def dist(w: np.ndarray) -> float:
        r = x1 - X0 @ w
        return float(r @ (v * r))

    ours = _weights(est).reindex(names).to_numpy()
    theirs = np.array([fixed["weights"][n] for n in names])
    assert dist(ours) <= dist(theirs) + 1e-12
    # V chosen by optimisation: at least as good a pre-period fit as pysyncon's Nelder-Mead
    opt = pysyncon_refs["sc_predictors_optimized_v"]
    est = ck.synthetic_control(prop99, **PROP, outcome_lags=[1975, 1980, 1988],
                               inference="none", placebo_in_time=False, leave_one_out=False)
    assert est.details["pre_rmspe"] ** 2 <= opt["loss_v"] * (1 + 1e-6)
    table = est.details["predictor_weights"]
    assert list(table["predictor"]) == [f"outcome at {y}" for y in (1975, 1980, 1988)]
    assert table["weight"].sum() == pytest.approx(1.0)


def test_sdid_matches_synthdid_on_prop99(prop99, synthdid_refs) -> None:
    ref = synthdid_refs["prop99"]
    est = ck.synthetic_control(prop99, **PROP, method="sdid", inference="none",
                               placebo_in_time=False, leave_one_out=False)
    # synthdid stops Frank-Wolfe at a tolerance (-15.60383); the exact optimum differs by 2e-3.
    assert est.estimate == pytest.approx(ref["att"], abs=5e-3)
    assert est.estimate == pytest.approx(-15.6, abs=0.05)  # Arkhangelsky et al. (2021), Table 1
    omega = _weights(est)
    lam = est.details["time_weights"].set_index("period")["weight"]
    for state, value in ref["omega"].items():
        assert omega[state] == pytest.approx(value, abs=5e-3)
    for year, value in ref["lambda"].items():
        assert lam[int(year)] == pytest.approx(value, abs=1e-4)
    # our unit weights attain an objective no worse than the reference's
    Yd, y1, names = _wide(prop99)
    pre = Yd[:, :19]
    A = pre.T - pre.T.mean(axis=0)
    b = y1[:19] - y1[:19].mean()
    pen = 19 * est.details["zeta_omega"] ** 2

    def obj(w: np.ndarray) -> float:
        return float(np.sum((A @ w - b) ** 2) + pen * np.sum(w**2))

    ours = omega.reindex(names).to_numpy()
    theirs = np.array([ref["omega"][n] for n in names])
    assert obj(ours) <= obj(theirs)


def test_staggered_sdid_matches_synthdid_and_covers_truth(synthdid_refs) -> None:
    ref = synthdid_refs["staggered_sim"]
    sim = pd.read_csv(DATA / "synth_staggered_sim.csv")
    est = ck.synthetic_control(sim, outcome="y", unit="unit", time="time", treatment="treated",
                               method="sdid", inference="jackknife", placebo_in_time=False,
                               leave_one_out=False)
    cohorts = est.details["cohorts"].set_index("cohort")
    for year, c in ref["cohorts"].items():
        assert cohorts.loc[int(year), "att"] == pytest.approx(c["att"], abs=5e-3)
        assert cohorts.loc[int(year), "weight"] == pytest.approx(c["weight"], rel=1e-12)
    assert est.estimate == pytest.approx(ref["att"], abs=5e-3)
    # aggregation by treated unit-periods
    agg = (cohorts["att"] * cohorts["n_units"] * cohorts["n_post"]).sum() / (
        cohorts["n_units"] * cohorts["n_post"]).sum()
    assert est.estimate == pytest.approx(agg)
    assert est.ci[0] < ref["truth"]["att"] < est.ci[1]
    # jackknife with renormalised weights (R) vs synthdid 0.10.1 (not renormalised): same scale
    assert est.se == pytest.approx(ref["jackknife_se_package"], rel=0.5)
    assert list(est.by_period["term"]) == list(range(8))  # event times 0..7


# --------------------------------------------------------------------------- placebo inference


def test_placebo_p_value_is_an_exact_rank(sc_prop: ck.Estimate) -> None:
    table = sc_prop.details["placebo"]
    J = 38
    assert len(table) == J and set(table["draw"]) == set(_weights(sc_prop).index)
    exceed = int(table["exceeds_treated"].sum())
    assert sc_prop.p_value == pytest.approx((1 + exceed) / (J + 1))
    assert (sc_prop.p_value * (J + 1)) == pytest.approx(round(sc_prop.p_value * (J + 1)))
    rank = sc_prop.check("placebo_rank")
    assert "smallest attainable with 38 placebos is 0.0256" in rank.message
    assert sc_prop.se == pytest.approx(np.sqrt(np.mean((table["estimate"] -
                                                        table["estimate"].mean()) ** 2)))
    assert sc_prop.draws is not None and sc_prop.draws.mean() == pytest.approx(sc_prop.estimate)


def _factor_panel(seed: int, J: int = 20, T0: int = 20, T1: int = 6, effect: float = 3.0,
                  n_treated: int = 1, noise: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = J + n_treated
    T = T0 + T1
    f = rng.normal(size=(T, 2)).cumsum(axis=0)
    load = rng.uniform(0.0, 2.0, size=(n, 2))
    alpha = rng.normal(0, 2, size=(n, 1))
    # treated units resemble a mix of donors, so a synthetic control exists
    load[J:] = load[:4].mean(axis=0) + rng.normal(0, 0.1, size=(n_treated, 2))
    alpha[J:] = alpha[:4].mean() + rng.normal(0, 0.2, size=(n_treated, 1))
    y = 20 + alpha + load @ f.T + rng.normal(0, noise, size=(n, T))
    d = np.zeros((n, T), dtype=int)
    d[J:, T0:] = 1
    y = y + effect * d
    return pd.DataFrame({"u": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n),
                         "y": y.ravel(), "d": d.ravel()})


@pytest.mark.parametrize("method", ["sc", "asc", "sdid"])
def test_known_effect_is_recovered_within_the_interval(method: str) -> None:
    est = ck.synthetic_control(_factor_panel(3), outcome="y", unit="u", time="t", treatment="d",
                               method=method)
    assert est.ci[0] < 3.0 < est.ci[1]
    assert est.estimate == pytest.approx(3.0, abs=1.0)
    assert est.check("pre_fit").passed


def test_placebo_intervals_cover_at_about_the_nominal_rate() -> None:
    # 40 seeded launches, sdid with placebo variance: 95% intervals should cover the truth
    hits = []
    for seed in range(40):
        est = ck.synthetic_control(_factor_panel(100 + seed, J=15, T0=12, T1=4), outcome="y",
                                   unit="u", time="t", treatment="d", method="sdid",
                                   placebo_in_time=False, leave_one_out=False)
        hits.append(est.ci[0] < 3.0 < est.ci[1])
    assert 0.8 <= np.mean(hits) <= 1.0


def test_conformal_intervals_cover_the_per_period_truth() -> None:
    # conformal inference needs residuals that are exchangeable over time: many pre-periods
    # relative to donors, so in-sample fit errors look like out-of-sample ones
    est = ck.synthetic_control(_factor_panel(7, J=8, T0=40, T1=5), outcome="y", unit="u", time="t",
                               treatment="d", method="sc", inference="conformal",
                               placebo_in_time=False, leave_one_out=False)
    bp = est.by_period
    assert ((bp["conf_low"] < 3.0) & (3.0 < bp["conf_high"])).mean() >= 0.8
    assert (bp["conf_low"] <= bp["estimate"]).all() and (bp["estimate"] <= bp["conf_high"]).all()
    assert np.isfinite(est.ci).all() and est.ci[0] < 3.0 < est.ci[1]


def test_several_treated_units_use_random_placebos_with_a_seed() -> None:
    panel = _factor_panel(11, J=18, n_treated=3)
    kw = dict(outcome="y", unit="u", time="t", treatment="d", method="sc", n_draws=30,
              placebo_in_time=False, leave_one_out=False)
    a = ck.synthetic_control(panel, seed=5, **kw)
    b = ck.synthetic_control(panel, seed=5, **kw)
    assert a.p_value == b.p_value and a.se == b.se
    assert len(a.details["placebo"]) == 30
    assert a.n_treated == 3 and a.n_units == 21


def test_sdid_bootstrap_is_seeded_and_matches_placebo_scale() -> None:
    sim = pd.read_csv(DATA / "synth_staggered_sim.csv")
    kw = dict(outcome="y", unit="unit", time="time", treatment="treated", method="sdid",
              inference="bootstrap", n_draws=40, placebo_in_time=False, leave_one_out=False)
    a = ck.synthetic_control(sim, seed=1, **kw)
    b = ck.synthetic_control(sim, seed=1, **kw)
    assert a.se == b.se and 0 < a.se < 1.0
    assert a.draws is not None and a.draws.size == 40


# --------------------------------------------------------------------------- checks and results


def test_checks_and_details(sc_prop: ck.Estimate) -> None:
    names = [c.name for c in sc_prop.checks]
    assert names == ["pre_fit", "weight_concentration", "donor_range", "leave_one_out",
                     "placebo_rank", "placebo_in_time"]
    eff = sc_prop.details["effective_donors"]
    w = _weights(sc_prop)
    assert eff == pytest.approx(1 / (w**2).sum())
    loo = sc_prop.details["leave_one_out"]
    assert set(loo["unit"]) == set(w[w > 1e-8].index)
    path = sc_prop.details["path"]
    assert path["gap"].to_numpy() == pytest.approx((path["treated"] - path["synthetic"]).to_numpy())
    assert sc_prop.estimate == pytest.approx(path.loc[path["post"], "gap"].mean())
    assert list(sc_prop.by_period["term"]) == list(range(1989, 2001))
    json.dumps(sc_prop.to_dict())


def test_poor_fit_and_extrapolation_are_flagged() -> None:
    panel = _factor_panel(2)
    panel.loc[panel["u"] == 20, "y"] += 50 + 5 * np.sin(panel.loc[panel["u"] == 20, "t"])
    est = ck.synthetic_control(panel, outcome="y", unit="u", time="t", treatment="d",
                               inference="none", placebo_in_time=False)
    assert not est.check("donor_range").passed
    assert "outside the donors' range in 100%" in est.check("donor_range").message
    assert not est.check("pre_fit").passed
    assert not est.check("weight_concentration").passed


def test_plots_return_axes(sc_prop: ck.Estimate) -> None:
    for fn in (plot_paths, plot_gaps, plot_placebos, plot_weights):
        ax = fn(sc_prop)
        assert isinstance(ax, matplotlib.axes.Axes) and ax.has_data()
        matplotlib.pyplot.close(ax.figure)
    est = ck.synthetic_control(_factor_panel(1), outcome="y", unit="u", time="t", treatment="d",
                               inference="none", placebo_in_time=False, leave_one_out=False)
    with pytest.raises(ck.SpecificationError, match="inference='placebo'"):
        plot_placebos(est)


def test_input_not_modified_and_polars_accepted(prop99: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    before = prop99.copy()
    a = ck.synthetic_control(prop99, **PROP, inference="none", placebo_in_time=False,
                             leave_one_out=False)
    pd.testing.assert_frame_equal(prop99, before)
    b = ck.synthetic_control(pl.from_pandas(prop99), **PROP, inference="none",
                             placebo_in_time=False, leave_one_out=False)
    assert a.estimate == b.estimate


# --------------------------------------------------------------------------- bad input


def _small() -> pd.DataFrame:
    return _factor_panel(0, J=4, T0=6, T1=2)


def test_fewer_than_two_donors() -> None:
    df = _small()
    df = df[df["u"].isin([0, 4])]
    with pytest.raises(ck.DataError, match=r"at least 2 never-treated u.*found 1 \(\[0\]\)"):
        ck.synthetic_control(df, outcome="y", unit="u", time="t", treatment="d")


def test_treated_missing_pre_period_outcome() -> None:
    df = _small()
    df.loc[(df["u"] == 4) & (df["t"] == 2), "y"] = np.nan
    with pytest.raises(ck.DataError, match=r"treated u=4 .*pre-launch t\(s\) \[2\]"):
        ck.synthetic_control(df, outcome="y", unit="u", time="t", treatment="d")
    df = _small()
    df = df[~((df["u"] == 4) & (df["t"] == 3))]
    with pytest.raises(ck.DataError, match=r"treated u=4 has no row for pre-launch t\(s\) \[3\]"):
        ck.synthetic_control(df, outcome="y", unit="u", time="t", treatment="d")


def test_donor_with_gaps() -> None:
    df = _small()
    df.loc[(df["u"] == 1) & (df["t"] == 5), "y"] = np.nan
    with pytest.raises(ck.DataError, match=r"donor u=1 has gaps.*t\(s\) \[5\]"):
        ck.synthetic_control(df, outcome="y", unit="u", time="t", treatment="d")
    df = _small()
    df = df[~((df["u"] == 2) & (df["t"] == 7))]
    with pytest.raises(ck.DataError, match=r"donor u=2 has gaps: no row for t\(s\) \[7\]"):
        ck.synthetic_control(df, outcome="y", unit="u", time="t", treatment="d")


def test_too_few_pre_periods() -> None:
    df = _small()
    df["d"] = ((df["u"] == 4) & (df["t"] >= 2)).astype(int)
    with pytest.raises(ck.DataError, match=r"start at t=2 with only 2 pre-launch"):
        ck.synthetic_control(df, outcome="y", unit="u", time="t", treatment="d")


def test_constant_outcome() -> None:
    df = _small()
    df["y"] = 7.0
    with pytest.raises(ck.DataError, match=r"constant \(7.0\).*pre-launch periods 0…5"):
        ck.synthetic_control(df, outcome="y", unit="u", time="t", treatment="d")


def test_option_errors() -> None:
    df = _small()
    kw = dict(outcome="y", unit="u", time="t", treatment="d")
    with pytest.raises(ck.SpecificationError, match="'sc', 'asc', 'sdid'"):
        ck.synthetic_control(df, method="abadie", **kw)
    with pytest.raises(ck.SpecificationError, match="not available for method='sc'"):
        ck.synthetic_control(df, inference="jackknife", **kw)
    with pytest.raises(ck.SpecificationError, match="method='sc' only"):
        ck.synthetic_control(df, method="sdid", outcome_lags=[1], **kw)
    with pytest.raises(ck.SpecificationError, match="not before the first launch"):
        ck.synthetic_control(df, outcome_lags=[6], **kw)
    with pytest.raises(ck.SpecificationError, match="2 value\\(s\\) for 1 predictor"):
        ck.synthetic_control(df, outcome_lags=[1], predictor_weights=[1, 2], **kw)
    with pytest.raises(ck.SpecificationError, match=r"level=1\.5"):
        ck.synthetic_control(df, level=1.5, **kw)
    with pytest.raises(ck.SpecificationError, match="needs at least 3 donors"):
        ck.synthetic_control(df[df["u"].isin([0, 1, 4])], **kw)
    stag = pd.read_csv(DATA / "synth_staggered_sim.csv")
    with pytest.raises(ck.SpecificationError, match="single adoption date"):
        ck.synthetic_control(stag, outcome="y", unit="unit", time="time", treatment="treated",
                             inference="conformal")
    with pytest.raises(ck.SpecificationError, match="single treated unit"):
        ck.synthetic_control(_small(), method="sdid", inference="jackknife", **kw)
