"""ck.rdd on simulated designs with known effects, its checks, bad input, RD in time, plots."""

from __future__ import annotations

import json
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design.rdd import plot_bandwidth, plot_density, plot_rd


def _quiet(*args: object, **kw: object) -> ck.Estimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        return ck.rdd(*args, **kw)  # type: ignore[arg-type]


def sharp_data(n: int = 2000, tau: float = 0.5, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    z = rng.normal(size=n)
    y = 0.5 + 1.2 * x - 0.8 * x**2 + tau * (x >= 0) + 0.3 * z + rng.normal(0, 0.5, n)
    return pd.DataFrame({"score": x, "y": y, "z": z})


def fuzzy_data(n: int = 4000, late: float = 1.0, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    d = (rng.uniform(size=n) < np.where(x >= 0, 0.75, 0.15)).astype(float)
    y = 0.2 + 0.8 * x + 0.5 * x**2 + late * d + rng.normal(0, 0.5, n)
    return pd.DataFrame({"score": x, "y": y, "got_model": d})


def test_sharp_effect_recovered_and_checks_pass() -> None:
    e = ck.rdd(sharp_data(), outcome="y", running="score", cutoff=0.0, covariates="z")
    assert e.ci[0] <= 0.5 <= e.ci[1]
    assert e.estimate == pytest.approx(0.5, abs=0.15)
    assert all(c.passed for c in e.checks), [c.message for c in e.checks if not c.passed]
    sens = e.details["bandwidth_sensitivity"]
    main = sens[sens["factor"] == 1.0].iloc[0]
    assert main["estimate"] == pytest.approx(e.estimate)
    assert main["conf_low"] == pytest.approx(e.ci[0])
    assert list(e.details["covariate_balance"]["covariate"]) == ["z"]
    assert e.details["covariate_coefficients"]["z"] == pytest.approx(0.3, abs=0.05)


def test_fuzzy_late_recovered_with_strong_first_stage() -> None:
    e = ck.rdd(fuzzy_data(), outcome="y", running="score", cutoff=0.0, treatment="got_model")
    assert e.method == "rdd:fuzzy"
    assert e.ci[0] <= 1.0 <= e.ci[1]
    fs = e.check("first_stage")
    assert fs.passed and fs.statistic > 10
    assert e.details["first_stage"]["estimate"] == pytest.approx(0.6, abs=0.12)


def test_perfect_compliance_fuzzy_equals_sharp() -> None:
    d = sharp_data()
    d["got_model"] = (d["score"] >= 0).astype(float)
    fuzzy = ck.rdd(d, outcome="y", running="score", cutoff=0.0, treatment="got_model",
                   checks=False)
    sharp = ck.rdd(d, outcome="y", running="score", cutoff=0.0, checks=False)
    assert fuzzy.estimate == pytest.approx(sharp.estimate, rel=1e-10)
    assert fuzzy.check("first_stage").passed
    assert fuzzy.details["first_stage"]["estimate"] == pytest.approx(1.0)


def test_robust_interval_covers_at_nominal_rate() -> None:
    hits, reps = 0, 120
    for seed in range(reps):
        d = sharp_data(n=500, tau=0.5, seed=100 + seed)
        e = ck.rdd(d, outcome="y", running="score", cutoff=0.0, checks=False)
        hits += e.ci[0] <= 0.5 <= e.ci[1]
    assert 0.88 <= hits / reps <= 0.995


def test_manipulated_running_variable_fails_density_check() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, 3000)
    cheat = (x > -0.3) & (x < 0) & (rng.uniform(size=3000) < 0.6)
    x = np.where(cheat, -x, x)
    d = pd.DataFrame({"score": x, "y": x + rng.normal(size=3000)})
    e = ck.rdd(d, outcome="y", running="score", cutoff=0.0)
    dens = e.check("density")
    assert not dens.passed and dens.p_value < 0.05
    assert "jumps" in dens.message


def test_covariate_that_jumps_fails_balance() -> None:
    d = sharp_data()
    d["sorted_in"] = (d["score"] >= 0) * 1.0 + np.random.default_rng(9).normal(0, 0.3, len(d))
    e = ck.rdd(d, outcome="y", running="score", cutoff=0.0, balance=["z", "sorted_in"])
    bal = e.check("covariate_balance")
    assert not bal.passed and bal.statistic == 1.0
    table = e.details["covariate_balance"].set_index("covariate")
    assert table.loc["sorted_in", "p_holm"] < 0.05 <= table.loc["z", "p_holm"]


def test_placebo_cutoffs_given_and_jump_detected() -> None:
    d = sharp_data(n=3000, tau=0.0)
    d["y"] += 0.8 * (d["score"] >= 0.5)
    e = ck.rdd(d, outcome="y", running="score", cutoff=0.0, placebo_cutoffs=[-0.5, 0.5])
    plac = e.details["placebo_cutoffs"]
    assert list(plac["cutoff"]) == [-0.5, 0.5]
    assert plac.loc[1, "p_value"] < 0.01 and not e.check("placebo_cutoffs").passed


def test_holm_and_sensitivity_rules() -> None:
    from causal_kit.design.rdd._checks import holm, sensitivity_check

    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03, np.nan])),
                               [0.03, 0.06, 0.06, np.nan])
    table = pd.DataFrame({"factor": [0.5, 1.0, 2.0], "estimate": [1.1, 1.0, 1.6]})
    bad = sensitivity_check(table, estimate=1.0, se=0.2, level=0.95)  # 3 SEs > 2.24 (m = 2)
    assert not bad.passed and bad.statistic == pytest.approx(3.0) and "2×h" in bad.message
    assert sensitivity_check(table, estimate=1.0, se=0.3, level=0.95).passed


def test_treated_below_flips_the_sign() -> None:
    d = sharp_data()
    up = _quiet(d, outcome="y", running="score", cutoff=0.0, checks=False)
    down = _quiet(d, outcome="y", running="score", cutoff=0.0, checks=False,
                  treated_side="below")
    assert down.estimate == pytest.approx(-up.estimate)
    assert down.ci == pytest.approx((-up.ci[1], -up.ci[0]))
    assert down.n_treated == up.details["n_effective"]["left"]


# ---- bad input -------------------------------------------------------------------------------


def test_cutoff_outside_range() -> None:
    with pytest.raises(ck.DataError, match=r"cutoff=2\.0 lies outside the observed range"):
        ck.rdd(sharp_data(), outcome="y", running="score", cutoff=2.0)


def test_too_few_observations_on_a_side() -> None:
    d = sharp_data(n=400)
    d = d[(d["score"] < 0) | (d["score"] > 0.97)]
    with pytest.raises(ck.DataError, match=r"at least 20 on each side"):
        ck.rdd(d, outcome="y", running="score", cutoff=0.0)


def test_few_distinct_values_is_an_error() -> None:
    d = sharp_data()
    d["score"] = np.round(d["score"] * 3)  # -3, -2, -1 below; 0, 1, 2, 3 at or above
    with pytest.raises(ck.DataError, match=r"only 3 distinct values below and 4 at or above"):
        ck.rdd(d, outcome="y", running="score", cutoff=0.0)


def test_mass_points_warn_and_match_rdrobust() -> None:
    rdrobust = pytest.importorskip("rdrobust").rdrobust
    d = sharp_data(n=3000)
    d["score"] = np.round(d["score"], 2)
    with pytest.warns(ck.CausalKitWarning, match="mass points"):
        e = ck.rdd(d, outcome="y", running="score", cutoff=0.0, checks=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rdrobust(d["y"], d["score"])
    assert e.details["mass_points"]
    assert e.estimate == pytest.approx(r.coef.iloc[0, 0], rel=1e-5)
    assert e.se == pytest.approx(r.se.iloc[2, 0], rel=1e-5)
    assert e.details["bandwidth"]["left"] == pytest.approx(r.bws.iloc[0, 0], rel=1e-5)


def test_takeup_that_does_not_jump() -> None:
    d = fuzzy_data()
    d["got_model"] = 1.0
    with pytest.raises(ck.DataError, match=r"'got_model' is 1 on both sides.*does not jump"):
        ck.rdd(d, outcome="y", running="score", cutoff=0.0, treatment="got_model")


def test_weak_first_stage_warns_and_fails_check() -> None:
    d = fuzzy_data()
    d["got_model"] = (np.random.default_rng(2).uniform(size=len(d)) < 0.5).astype(float)
    with pytest.warns(ck.CausalKitWarning, match="Weak first stage"):
        e = ck.rdd(d, outcome="y", running="score", cutoff=0.0, treatment="got_model",
                   checks=False)
    assert not e.check("first_stage").passed


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"outcome": "nope"}, ck.DataError, "has no column 'nope'"),
        ({"kernel": "gaussian"}, ck.SpecificationError, "'triangular', 'uniform'"),
        ({"bandwidth": "ik"}, ck.SpecificationError, "'mserd', 'msetwo'"),
        ({"bandwidth": -1.0}, ck.SpecificationError, "positive number"),
        ({"cutoff": "2026-01-01"}, ck.SpecificationError, "is a date but the running"),
        ({"vce": "hc2", "cluster": "g"}, ck.SpecificationError, "no clustered version"),
        ({"donut": -0.1}, ck.SpecificationError, "donut= must be a non-negative"),
        ({"p": 2, "q": 2}, ck.SpecificationError, "q= must be an integer above p=2"),
        ({"outcome": "label"}, ck.DataError, "outcome column 'label' must be numeric"),
        ({"sensitivity": []}, ck.SpecificationError, "positive bandwidth multiples"),
        ({"level": 95}, ck.SpecificationError, "level= must be a number between 0 and 1"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    d = sharp_data(n=300)
    d["g"] = np.arange(len(d)) % 10
    d["label"] = "x"
    args = {"outcome": "y", "running": "score", "cutoff": 0.0} | kwargs
    with pytest.raises(error, match=match):
        ck.rdd(d, **args)


def test_missing_values_dropped_with_warning_and_input_untouched() -> None:
    d = sharp_data(n=800)
    d.loc[:9, "y"] = np.nan
    before = d.copy()
    with pytest.warns(ck.CausalKitWarning, match="Dropped 10 of 800 rows"):
        e = ck.rdd(d, outcome="y", running="score", cutoff=0.0, checks=False)
    pd.testing.assert_frame_equal(d, before)
    assert e.details["n_dropped_missing"] == 10
    assert e.details["n_obs"]["left"] + e.details["n_obs"]["right"] == 790


# ---- user-level frames, RD in time, plots ----------------------------------------------------


def demo_users(n: int = 6000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.beta(2.5, 3.5, n)
    segment = rng.choice(["smb", "mid", "enterprise"], n, p=[0.6, 0.3, 0.1])
    v2 = score >= 0.7
    p_ret = 0.35 + 0.4 * score + 0.06 * v2 + 0.05 * (segment == "enterprise")
    return pd.DataFrame({
        "user_id": np.arange(n), "score": score, "segment": segment,
        "retained_d30": rng.uniform(size=n) < p_ret,
        "revenue_30d": np.maximum(0, 20 + 30 * score + 4 * v2 + rng.normal(0, 8, n)),
    })


def test_user_level_frame_with_categorical_covariate() -> None:
    users = demo_users()
    e = ck.rdd(users, outcome="retained_d30", running="score", cutoff=0.7, covariates="segment")
    assert e.details["covariates"] == ["segment=mid", "segment=smb"]
    assert set(e.details["covariate_balance"]["covariate"]) == {
        "segment=enterprise", "segment=mid", "segment=smb"}
    assert e.ci[0] <= 0.06 <= e.ci[1]
    polars = pytest.importorskip("polars")
    e_pl = ck.rdd(polars.from_pandas(users), outcome="revenue_30d", running="score",
                  cutoff=0.7, checks=False)
    e_pd = ck.rdd(users, outcome="revenue_30d", running="score", cutoff=0.7, checks=False)
    assert e_pl.estimate == pytest.approx(e_pd.estimate, rel=1e-12)


def time_data(ar: float, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = np.arange(-60, 60)
    shock = np.zeros(len(days))
    for i in range(1, len(days)):
        shock[i] = ar * shock[i - 1] + rng.normal(0, 0.15)
    per_day = 60
    day = np.repeat(days, per_day)
    y = 1.0 + 0.002 * day + 0.3 * (day >= 0) + np.repeat(shock, per_day) + rng.normal(
        0, 1, len(day))
    launch = pd.Timestamp("2026-03-02")
    return pd.DataFrame({"signup": launch + pd.to_timedelta(day, unit="D"), "y": y,
                         "day": day})


def test_rd_in_time() -> None:
    d = time_data(ar=0.0)
    e = _quiet(d, outcome="y", running="signup", cutoff="2026-03-02")
    assert e.method == "rdd:sharp-in-time"
    assert e.ci[0] <= 0.3 <= e.ci[1]
    names = {c.name for c in e.checks}
    assert {"serial_correlation", "time_trend", "density", "placebo_cutoffs"} <= names
    assert e.check("serial_correlation").passed
    bp = e.by_period
    assert bp is not None and {"term", "estimate", "conf_low", "side", "n"} <= set(bp.columns)
    assert bp["term"].min() >= pd.Timestamp("2026-01-01")
    assert e.details["time"]["unit"] == "days"
    placebo = e.details["placebo_cutoffs"]["cutoff"]
    assert all(isinstance(c, pd.Timestamp) for c in placebo)
    text = json.dumps(e.to_dict())
    assert '"origin": "2026-03-02T00:00:00"' in text


def test_rd_in_time_flags_serial_correlation() -> None:
    d = time_data(ar=0.9)
    e = _quiet(d, outcome="y", running="signup", cutoff=pd.Timestamp("2026-03-02"))
    sc = e.check("serial_correlation")
    assert not sc.passed and "cluster=" in sc.message
    fixed = {"outcome": "y", "running": "signup", "cutoff": "2026-03-02", "bandwidth": 20.0,
             "checks": False}
    naive = _quiet(d, **fixed)
    clustered = _quiet(d, cluster="day", **fixed)
    assert clustered.details["n_clusters"] == {"left": 19, "right": 20}  # weight 0 at -20 days
    # day shocks are common to a day's users: clustering by day widens the conventional SE
    assert clustered.details["se_conventional"] > 1.2 * naive.details["se_conventional"]


def test_plots_return_axes() -> None:
    e = _quiet(sharp_data(), outcome="y", running="score", cutoff=0.0)
    t = _quiet(time_data(ar=0.0), outcome="y", running="signup", cutoff="2026-03-02")
    for est in (e, t):
        for fn in (plot_rd, plot_density, plot_bandwidth):
            ax = fn(est)
            assert isinstance(ax, matplotlib.axes.Axes)
            assert ax.get_title()
    no_checks = _quiet(sharp_data(), outcome="y", running="score", cutoff=0.0, checks=False)
    with pytest.raises(ck.SpecificationError, match="checks=True"):
        plot_density(no_checks)
    matplotlib.pyplot.close("all")
