"""Sun–Abraham, imputation, the df_het truth, coverage, checks and plots of staggered DiD."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design.did import plots

matplotlib.use("Agg")
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    df = pd.read_csv(DATA / "mpdta.csv")
    df["treated"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    return df


@pytest.fixture(scope="module")
def df_het() -> pd.DataFrame:
    # pyfixest's simulated staggered panel with its true effects (tests/data/PROVENANCE.md)
    df = pd.read_csv(DATA / "pyfixest_df_het.csv")
    df["D"] = df["treat"].astype(int)
    df["true_effect"] = df["te"] + df["te_dynamic"]
    return df


def _did(df: pd.DataFrame, **kw: object) -> ck.Estimate:
    args: dict[str, object] = dict(
        outcome="lemp", time="year", unit="countyreal", treatment="treated"
    )
    args.update(kw)
    return ck.did(df, **args)  # type: ignore[arg-type]


# --- Sun–Abraham -----------------------------------------------------------------------------


def test_sun_abraham_equals_cs_universal_never(mpdta: pd.DataFrame) -> None:
    sa = _did(mpdta, method="sa")
    cs = _did(mpdta, method="cs", base_period="universal")
    assert sa.method == "did:sa"
    assert sa.estimate == pytest.approx(cs.estimate, abs=1e-10)
    cs_bp = cs.by_period
    assert cs_bp is not None and sa.by_period is not None
    cs_bp = cs_bp[cs_bp["term"] != -1].reset_index(drop=True)  # the universal reference
    np.testing.assert_array_equal(sa.by_period["term"], cs_bp["term"])
    np.testing.assert_allclose(sa.by_period["estimate"], cs_bp["estimate"], atol=1e-10)
    # regression CR1 (nested unit effects) vs influence-function SEs: G/(G-1)·(n-1)/(n-K) apart
    np.testing.assert_allclose(sa.by_period["std_error"], cs_bp["std_error"], rtol=0.01)
    ce = sa.details["cohort_event"]
    cells = cs.details["att_gt"]
    cells = cells[cells["event_time"] != -1]
    merged = ce.merge(
        cells,
        on=["group", "event_time"] if "group" in ce else None,
        left_on=["cohort", "event_time"],
        right_on=["group", "event_time"],
    )
    np.testing.assert_allclose(merged["estimate_x"], merged["estimate_y"], atol=1e-10)


def test_sun_abraham_without_never_treated_uses_last_cohort(mpdta: pd.DataFrame) -> None:
    df = mpdta[mpdta["first.treat"] > 0]
    est = _did(df, method="sa")
    assert "last-treated cohort 2007" in est.details["control"]
    assert set(est.details["cohort_event"]["cohort"]) == {2004, 2006}
    assert np.isfinite(est.estimate) and est.se > 0


def test_sun_abraham_rejects_notyet(mpdta: pd.DataFrame) -> None:
    with pytest.raises(ck.SpecificationError, match="control='notyet' applies to method='cs'"):
        _did(mpdta, method="sa", control="notyet")


# --- imputation ------------------------------------------------------------------------------


def test_imputation_matches_did2s(df_het: pd.DataFrame) -> None:
    # Gardner's did2s (pyfixest 0.60.0, stored in tests/data/pyfixest_refs.json) gives the same
    # point estimates as BJS imputation; for event times reached by a single cohort (11+) the
    # cluster-robust SEs coincide as well.
    refs = json.loads((DATA / "pyfixest_refs.json").read_text())
    est = ck.did(
        df_het, outcome="dep_var", time="year", unit="unit", treatment="D", method="imputation"
    )
    assert est.estimate == pytest.approx(refs["df_het_did2s_static"]["coef"], abs=1e-6)
    ev = refs["df_het_did2s_event"]
    bp = est.by_period.set_index("term")
    for e, coef, se in zip(ev["terms"], ev["coef"], ev["se"], strict=True):
        assert bp.loc[int(e), "estimate"] == pytest.approx(coef, abs=1e-6)
        if e >= 11:
            assert bp.loc[int(e), "std_error"] == pytest.approx(se, rel=1e-6)


def test_imputation_rejects_covariates(mpdta: pd.DataFrame) -> None:
    with pytest.raises(ck.SpecificationError, match="imputation' takes no covariates"):
        _did(mpdta, method="imputation", covariates=["lpop"])


# --- the df_het truth -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["cs", "sa", "imputation"])
def test_robust_estimators_cover_df_het_truth(df_het: pd.DataFrame, method: str) -> None:
    treated = df_het[df_het["D"] == 1]
    truth = treated["true_effect"].mean()
    assert truth == pytest.approx(2.2202, abs=1e-4)
    by_e = treated.assign(e=treated["year"] - treated["g"]).groupby("e")["true_effect"].mean()
    est = ck.did(df_het, outcome="dep_var", time="year", unit="unit", treatment="D", method=method)
    assert est.ci[0] <= truth <= est.ci[1]
    bp = est.by_period.set_index("term")
    post = bp.loc[bp.index >= 0]
    inside = (post["conf_low_uniform"] <= by_e[post.index]) & (
        by_e[post.index] <= post["conf_high_uniform"]
    )
    assert inside.all()
    bacon = est.check("bacon")
    assert not bacon.passed and bacon.statistic is not None and bacon.statistic > 0.1
    assert "TWFE = 1.983" in bacon.message
    assert est.check("pre_trends").passed


def test_twfe_is_biased_on_df_het(df_het: pd.DataFrame) -> None:
    truth = df_het.loc[df_het["D"] == 1, "true_effect"].mean()
    est = ck.did(df_het, outcome="dep_var", time="year", unit="unit", treatment="D", method="twfe")
    assert not (est.ci[0] <= truth <= est.ci[1])
    assert est.estimate < truth - 0.2
    assert not est.check("pre_trends").passed  # contaminated leads of the TWFE event study


# --- coverage simulation ---------------------------------------------------------------------


def test_cs_intervals_cover_at_nominal_rate() -> None:
    rng = np.random.default_rng(20240501)
    n, T, reps = 240, 6, 200
    g = np.full(n, np.inf)
    g[:80], g[80:150] = 3, 4  # cohorts fixed across replications; 90 never treated
    unit, t = np.repeat(np.arange(n), T), np.tile(np.arange(T), n)
    e = t - g[unit]
    effect = np.where(e >= 0, 1.0 + 0.3 * e + 0.5 * (g[unit] == 4), 0.0)
    truth = effect[e >= 0].mean()  # balanced: the average over treated unit-periods
    alpha = rng.normal(size=(reps, n))[:, unit]
    noise = rng.normal(size=(reps, n * T))
    Y = alpha + 0.2 * t + 0.5 * (g[unit] == 3) * t / T + effect + noise
    Y -= 0.5 * (g[unit] == 3) * t / T  # keep trends parallel
    d = (e >= 0).astype(int)
    hits = 0
    for r in range(reps):
        df = pd.DataFrame({"u": unit, "t": t, "y": Y[r], "d": d})
        est = ck.did(
            df, outcome="y", time="t", unit="u", treatment="d", method="cs", sensitivity=False
        )
        hits += est.ci[0] <= truth <= est.ci[1]
    coverage = hits / reps
    assert 0.91 <= coverage <= 0.99, coverage


# --- checks, inputs, plots -------------------------------------------------------------------


def test_sensitivity_breakdown_is_where_interval_reaches_zero(mpdta: pd.DataFrame) -> None:
    est = _did(mpdta)
    bd = est.details["honest_breakdown"]["relative_magnitudes"]
    table = est.details["honest"]
    rm = table[table["restriction"] == "relative_magnitudes"]
    assert (rm.loc[rm["M"] < bd, "includes_zero"] == False).all()  # noqa: E712
    assert rm.loc[rm["M"] > bd, "includes_zero"].all()
    chk = est.check("sensitivity")
    assert chk.statistic == pytest.approx(bd)
    assert chk.kind == "robustness"
    assert f"up to Mbar = {bd:.2g} times the largest pre-launch change" in chk.message


def test_no_anticipation_check_flags_early_reaction() -> None:
    rng = np.random.default_rng(5)
    n, T = 400, 8
    g = np.where(rng.random(n) < 0.5, 5.0, np.inf)
    unit, t = np.repeat(np.arange(n), T), np.tile(np.arange(T), n)
    e = t - g[unit]
    y = rng.normal(size=n * T) * 0.3 + np.where(e >= -1, 1.0, 0.0)  # reacts one period early
    df = pd.DataFrame({"u": unit, "t": t, "y": y, "d": (e >= 0).astype(int)})
    est = ck.did(df, outcome="y", time="t", unit="u", treatment="d", method="cs")
    chk = est.check("no_anticipation")
    assert not chk.passed and "anticipation=1" in chk.message
    fixed = ck.did(df, outcome="y", time="t", unit="u", treatment="d", method="cs", anticipation=1)
    assert abs(fixed.estimate - 1.0) < 4 * fixed.se


def test_plots_return_axes(mpdta: pd.DataFrame) -> None:
    est = _did(mpdta, bootstrap="multiplier", seed=2, n_boot=199)
    for draw in (plots.plot_event_study, plots.plot_att_gt, plots.plot_sensitivity):
        ax = draw(est)
        assert ax.has_data()
        matplotlib.pyplot.close(ax.figure)
    ax = est.plot()
    assert ax.has_data()
    with pytest.raises(ck.SpecificationError, match="no ATT"):
        plots.plot_att_gt(_did(mpdta, method="sa"))


def test_inputs_untouched(mpdta: pd.DataFrame, df_het: pd.DataFrame) -> None:
    a, b = mpdta.copy(), df_het.copy()
    _did(mpdta, method="sa")
    ck.did(
        df_het,
        outcome="dep_var",
        time="year",
        unit="unit",
        treatment="D",
        method="imputation",
        bootstrap="multiplier",
        seed=1,
        n_boot=99,
    )
    pd.testing.assert_frame_equal(mpdta, a)
    pd.testing.assert_frame_equal(df_het, b)


def test_options_a_method_would_ignore_are_refused(mpdta: pd.DataFrame) -> None:
    with pytest.raises(ck.SpecificationError, match=r"est_method='ipw' applies to method='cs'"):
        _did(mpdta, method="sa", est_method="ipw")
    with pytest.raises(ck.SpecificationError, match=r"base_period='universal' applies to"):
        _did(mpdta, method="imputation", base_period="universal")
    with pytest.raises(ck.SpecificationError, match=r"balance_e=1 applies to method='cs'"):
        _did(mpdta, method="twfe", balance_e=1)
    with pytest.raises(ck.SpecificationError, match=r"se='hc1' applies to method='2x2' or"):
        _did(mpdta, method="cs", se="hc1")


@pytest.mark.parametrize("method", ["sa", "imputation", "twfe"])
def test_unbalanced_panels_work_for_regression_designs(mpdta: pd.DataFrame, method: str) -> None:
    df = mpdta.drop(index=mpdta.index[(mpdta["year"] == 2005) & (mpdta.index % 5 == 0)])
    est = _did(df, method=method)
    full = _did(mpdta, method=method)
    assert np.isfinite(est.estimate) and np.isfinite(est.se)
    assert abs(est.estimate - full.estimate) < 2 * full.se


@pytest.mark.parametrize("method", ["cs", "sa", "imputation"])
def test_robustness_off_keeps_the_estimate_and_the_identifying_check(mpdta: pd.DataFrame,
                                                                     method: str) -> None:
    full = _did(mpdta, method=method)
    lean = _did(mpdta, method=method, robustness=False)
    assert {c.name for c in full.checks} >= {"no_anticipation", "bacon"}
    assert [c.kind for c in lean.checks] == ["identifying"] * len(lean.checks)
    assert "pre_trends" in {c.name for c in lean.checks}
    assert lean.estimate == full.estimate and lean.se == full.se
    assert "honest" not in lean.details and "bacon" not in lean.details
    with pytest.raises(ck.SpecificationError, match="robustness"):
        _did(mpdta, method=method, robustness="no")
