"""ck.experiment against closed forms, scipy, statsmodels and GrowthBook's gbstats.

Reference values from gbstats (tests/data/gbstats_refs.json, on tests/data/experiment_ab.csv) are
written by benchmarks/reference/gbstats_refs.py; see tests/data/PROVENANCE.md.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats

import causal_kit as ck
from causal_kit.design.experiment import _checks, adjust
from causal_kit.design.experiment._contrast import contrast
from causal_kit.design.experiment._inference import sequential, welch
from causal_kit.design.experiment._moments import Moments, cumulate

matplotlib.use("Agg")

DATA = Path(__file__).parent / "data"
TOL = 1e-10
ARMS = {"arm": "arm", "treatment": "treatment", "control": "control"}


@pytest.fixture(scope="module")
def ab() -> pd.DataFrame:
    return pd.read_csv(DATA / "experiment_ab.csv")


@pytest.fixture(scope="module")
def refs() -> dict[str, dict[str, float]]:
    return json.loads((DATA / "gbstats_refs.json").read_text())["results"]


def sim(n: int = 6000, seed: int = 0, effect: float = 0.5, days: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(rng.uniform(size=n) < 0.5, "treatment", "control")
    x1 = rng.gamma(2.0, 3.0, n)
    x2 = rng.normal(0, 1, n)
    y = 1 + 0.6 * x1 + 0.8 * x2 + rng.normal(0, 2, n) + effect * (arm == "treatment")
    out = pd.DataFrame({"user": np.arange(n), "arm": arm, "y": y, "x1": x1, "x2": x2,
                        "visits": rng.poisson(3, n) + 1})
    if days:
        out["first_seen"] = pd.Timestamp("2026-03-02") + pd.to_timedelta(
            rng.integers(0, days, n), unit="D") + pd.to_timedelta(rng.integers(0, 86400, n),
                                                                   unit="s")
    return out


def split(df: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    t = df["arm"] == "treatment"
    return df.loc[t, col].to_numpy(float), df.loc[~t, col].to_numpy(float)


# --- difference in means, CUPED, ratio: closed forms -------------------------------------------


def test_welch_equals_scipy() -> None:
    df = sim()
    e = ck.experiment(df, outcome="y", **ARMS)
    yt, yc = split(df, "y")
    ref = stats.ttest_ind(yt, yc, equal_var=False)
    assert e.method == "experiment"
    assert e.estimate / e.se == pytest.approx(ref.statistic, abs=TOL)
    assert e.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert e.details["df"] == pytest.approx(ref.df, rel=TOL)
    ci = ref.confidence_interval(0.95)
    assert e.ci == pytest.approx((ci.low, ci.high), abs=TOL)
    assert (e.n_units, e.n_treated) == (len(df), len(yt))
    # relative lift: delta method for mean_t / mean_c - 1
    r = yt.mean() / yc.mean() - 1
    v = yt.var(ddof=1) / (len(yt) * yc.mean() ** 2) + yc.var(ddof=1) * yt.mean() ** 2 / (
        len(yc) * yc.mean() ** 4)
    assert e.details["relative_lift_pct"] == pytest.approx(100 * r, rel=TOL)
    assert e.details["relative_se_pct"] == pytest.approx(100 * np.sqrt(v), rel=TOL)


def test_welch_exact_for_large_offsets() -> None:
    # centred moments: a metric whose mean is huge against its spread keeps full precision
    df = sim().assign(y=lambda d: d["y"] + 1e7)
    e = ck.experiment(df, outcome="y", **ARMS)
    ref = stats.ttest_ind(*split(df, "y"), equal_var=False)
    assert e.estimate / e.se == pytest.approx(ref.statistic, abs=1e-7)
    assert e.p_value == pytest.approx(ref.pvalue, abs=1e-8)


@pytest.mark.parametrize("covs", [["x1"], ["x1", "x2"]])
def test_cuped_equals_closed_form(covs: list[str]) -> None:
    df = sim()
    e = ck.experiment(df, outcome="y", covariates=covs, **ARMS)
    X = df[covs].to_numpy(float)
    Xc = X - X.mean(axis=0)
    y = df["y"].to_numpy(float)
    theta = np.linalg.solve(Xc.T @ Xc, Xc.T @ (y - y.mean()))  # pooled OLS on centred X
    adj = df.assign(adj=y - Xc @ theta)
    ref = stats.ttest_ind(*split(adj, "adj"), equal_var=False)
    assert e.method == "experiment:cuped"
    assert list(e.details["theta"].values()) == pytest.approx(list(theta), abs=TOL)
    assert e.estimate / e.se == pytest.approx(ref.statistic, abs=TOL)
    assert e.p_value == pytest.approx(ref.pvalue, abs=TOL)
    plain = ck.experiment(df, outcome="y", **ARMS)
    assert e.details["se_unadjusted"] == pytest.approx(plain.se, rel=TOL)
    assert e.details["variance_reduction"] == pytest.approx(1 - e.se**2 / plain.se**2, rel=TOL)
    assert e.details["variance_reduction"] > 0.5
    if len(covs) == 1:  # Deng et al.'s cov(y, x) / var(x)
        assert theta[0] == pytest.approx(np.cov(y, X[:, 0])[0, 1] / X[:, 0].var(ddof=1))


def test_ratio_metric_delta_method() -> None:
    df = sim()
    e = ck.experiment(df, outcome="y", denominator="visits", **ARMS)
    parts = []
    for arm in ("treatment", "control"):
        d = df[df["arm"] == arm]
        y, s = d["y"].to_numpy(float), d["visits"].to_numpy(float)
        r = y.sum() / s.sum()
        lin = (y - r * s) / s.mean()  # linearised per-user contribution
        parts.append((r, lin.var(ddof=1) / len(d)))
    (rt, vt), (rc, vc) = parts
    assert e.method == "experiment:ratio"
    assert e.estimate == pytest.approx(rt - rc, rel=TOL)
    assert e.se == pytest.approx(np.sqrt(vt + vc), rel=1e-9)
    assert e.details["treatment_mean"] == pytest.approx(rt, rel=TOL)


# --- gbstats -----------------------------------------------------------------------------------


def _rel(e: ck.Estimate) -> tuple[float, float, float]:
    lo, hi = e.details["relative_ci_pct"]
    return e.details["relative_lift_pct"] / 100, lo / 100, hi / 100


@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("kind", ["plain", "cuped", "ratio"])
def test_matches_gbstats(ab: pd.DataFrame, refs: dict, kind: str, seq: bool) -> None:
    opts = {"plain": {}, "cuped": {"covariates": "pre_revenue"},
            "ratio": {"denominator": "sessions"}}[kind]
    e = ck.experiment(ab, outcome="revenue", sequential=seq, **opts, **ARMS)
    sfx = "_sequential" if seq else ""
    a = refs[f"{kind}_absolute{sfx}"]
    assert e.estimate == pytest.approx(a["expected"], rel=1e-9)
    assert e.se == pytest.approx(a["stddev"], rel=1e-8)
    assert e.ci == pytest.approx(tuple(a["ci"]), rel=1e-8)
    assert e.p_value == pytest.approx(a["p_value"], rel=1e-7)
    r = refs[f"{kind}_relative{sfx}"]
    lift, lo, hi = _rel(e)
    assert lift == pytest.approx(r["expected"], rel=1e-9)
    if kind == "cuped":
        # Same θ and point estimate; gbstats' relative variance plugs the adjusted variances
        # into the unadjusted ratio formula, ours is the delta method of diff / control mean
        # with the covariance of the adjusted and raw control means: close, not equal.
        assert e.details["theta"]["pre_revenue"] == pytest.approx(a["theta"], rel=1e-9)
        assert e.details["relative_se_pct"] / 100 == pytest.approx(r["stddev"], rel=0.05)
    else:
        assert e.details["relative_se_pct"] / 100 == pytest.approx(r["stddev"], rel=1e-8)
        assert (lo, hi) == pytest.approx(tuple(r["ci"]), rel=1e-8)


# --- checks ------------------------------------------------------------------------------------


def _counts(n_t: int, n_c: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.array(["treatment"] * n_t + ["control"] * n_c)
    return pd.DataFrame({"arm": arm, "y": rng.normal(size=n_t + n_c)})


def test_srm() -> None:
    bad = ck.experiment(_counts(50_800, 49_200), outcome="y", **ARMS).check("srm")
    assert not bad.passed and bad.kind == "identifying"
    assert bad.statistic == pytest.approx(25.6)
    assert bad.p_value == pytest.approx(stats.chi2.sf(25.6, 1))
    assert "Sample ratio mismatch" in bad.message and "50,800" in bad.message
    assert ck.experiment(_counts(50_100, 49_900), outcome="y", **ARMS).check("srm").passed
    holdout = _counts(9_000, 1_000)
    split90 = {"treatment": 0.9, "control": 0.1}
    assert ck.experiment(holdout, outcome="y", expected_split=split90, **ARMS).check("srm").passed
    assert not ck.experiment(holdout, outcome="y", **ARMS).check("srm").passed
    ok = ck.experiment(holdout, outcome="y", expected_split=(0.9, 0.1), **ARMS).check("srm")
    assert ok.passed


def test_balance_check() -> None:
    df = sim()
    assert ck.experiment(df, outcome="y", covariates=["x1", "x2"], **ARMS).check("balance").passed
    shifted = df.assign(x2=df["x2"] + 0.3 * (df["arm"] == "treatment"))
    c = ck.experiment(shifted, outcome="y", covariates=["x1", "x2"], **ARMS).check("balance")
    assert not c.passed and "'x2'" in c.message


def test_novelty_and_by_period() -> None:
    df = sim(n=40_000, days=14, effect=0.0)
    day = (df["first_seen"].dt.floor("D") - pd.Timestamp("2026-03-02")).dt.days
    since = 13 - day
    fading = df.assign(y=df["y"] + (df["arm"] == "treatment") * (0.2 + 1.5 * np.exp(-since / 3)))
    steady = df.assign(y=df["y"] + (df["arm"] == "treatment") * 0.5)
    e = ck.experiment(fading, outcome="y", exposure="first_seen", **ARMS)
    nov = e.check("novelty")
    assert not nov.passed and nov.kind == "robustness" and nov.statistic < 0
    assert len(e.details["novelty"]) == 14
    s = ck.experiment(steady, outcome="y", covariates="x1", exposure="first_seen", **ARMS)
    assert s.check("novelty").passed
    bp = s.by_period
    assert len(bp) == 14 and bp["n_treatment"].is_monotonic_increasing
    last = bp.iloc[-1]  # the last look holds every exposed user: the headline
    assert last["estimate"] == pytest.approx(s.estimate, rel=1e-9)
    assert last["std_error"] == pytest.approx(s.se, rel=1e-9)
    assert s.check("exposure").passed
    assert s.plot() is not None
    d = json.loads(json.dumps(s.to_dict()))
    assert d["details"]["novelty"][0]["exposure_day"].startswith("2026-03-02")
    assert d["by_period"][-1]["n_treatment"] == s.n_treated


def test_novelty_false_alarm_rate() -> None:
    """With a steady effect the novelty check fails at most at its nominal one-sided 2.5 %."""
    rng = np.random.default_rng(11)
    reps, days, per_day = 400, 14, 150
    y = rng.normal(0, 1, size=(days, reps, 2, per_day))
    y[:, :, 1] += 0.2
    mean = y.mean(axis=-1)
    gram = ((y - mean[..., None]) ** 2).sum(axis=-1)
    c = contrast(Moments(np.full((days, reps, 2), float(per_day)), mean[..., None],
                         gram[..., None, None]), "plain")
    fails = 0
    for r in range(reps):
        one = dataclasses.replace(c, **{f.name: getattr(c, f.name)[:, r]
                                        for f in dataclasses.fields(c) if f.name != "theta"})
        check, _ = _checks.novelty(one, pd.Timestamp("2026-03-02"), 0.2)
        assert check is not None
        fails += not check.passed
    assert fails / reps <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / reps)


def test_exposure_check() -> None:
    df = sim(days=5)
    rng = np.random.default_rng(4)
    never = rng.uniform(size=len(df)) < np.where(df["arm"] == "treatment", 0.4, 0.2)
    df.loc[never, "first_seen"] = pd.NaT
    c = ck.experiment(df, outcome="y", exposure="first_seen", **ARMS).check("exposure")
    assert not c.passed and "treatment changes who is exposed" in c.message
    even = sim(days=5).assign(seen=lambda d: rng.uniform(size=len(d)) < 0.7)
    c2 = ck.experiment(even, outcome="y", exposure="seen", **ARMS).check("exposure")
    assert c2.passed and c2.statistic == pytest.approx(even["seen"].mean())


# --- sequential --------------------------------------------------------------------------------


def test_sequential_aa_peeking_holds_level() -> None:
    """A/A tests peeked at daily for 30 days: naive Welch rejects far too often, the always-valid
    test stays at or below 5 % (with Monte-Carlo error)."""
    rng = np.random.default_rng(2017)
    reps, days, per_day = 2000, 30, 100
    y = rng.exponential(2.0, size=(days, reps, 2, per_day))  # skewed, like revenue
    mean = y.mean(axis=-1)
    gram = ((y - mean[..., None]) ** 2).sum(axis=-1)
    daily = Moments(np.full((days, reps, 2), float(per_day)), mean[..., None],
                    gram[..., None, None])
    c = contrast(cumulate(daily), "plain")
    _, p_naive, _, _ = welch(c.diff, c.var, c.df, 0.95)
    p_seq, lo, hi = sequential(c.diff, c.var, c.n_t + c.n_c, 0.95, 5000.0)
    naive = (p_naive < 0.05).any(axis=0).mean()
    seq = (p_seq < 0.05).any(axis=0).mean()
    miss = ((lo > 0) | (hi < 0)).any(axis=0).mean()
    mc = 3 * np.sqrt(0.05 * 0.95 / reps)  # three Monte-Carlo standard errors
    assert naive > 0.15
    assert seq <= 0.05 + mc
    assert miss == pytest.approx(seq)  # the interval excludes 0 exactly when p < alpha
    # a single fixed-horizon look is still at level (the simulation itself is calibrated)
    assert (p_naive[-1] < 0.05).mean() == pytest.approx(0.05, abs=mc)


def test_sequential_front_door() -> None:
    df = sim(days=10)
    fixed = ck.experiment(df, outcome="y", exposure="first_seen", **ARMS)
    seq = ck.experiment(df, outcome="y", exposure="first_seen", sequential=True, **ARMS)
    assert seq.estimate == fixed.estimate and seq.details["inference"] == "mixture-sprt"
    assert seq.ci[0] < fixed.ci[0] and seq.ci[1] > fixed.ci[1]
    assert seq.p_value > fixed.p_value
    assert seq.by_period.iloc[-1]["conf_low"] == pytest.approx(seq.ci[0], rel=1e-9)


# --- several metrics ---------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "sm"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_multiple_testing(rule: str, sm: str) -> None:
    from statsmodels.stats.multitest import multipletests

    df = sim().assign(z=lambda d: d["x2"] + 0.1 * (d["arm"] == "treatment"))
    res = ck.experiment(df, outcome=["y", "x1", "z"], multiple_testing=rule, **ARMS)
    assert isinstance(res, ck.ExperimentSet) and res.outcomes == ["y", "x1", "z"]
    raw = np.array([e.p_value for e in res])
    table = res.tidy()
    assert table["p_adjusted"].to_numpy() == pytest.approx(multipletests(raw, method=sm)[1])
    assert res["y"].details["p_adjusted"] == table.loc[0, "p_adjusted"]
    assert res["y"].p_value == ck.experiment(df, outcome="y", **ARMS).p_value
    assert list(table["significant"]) == list(table["p_adjusted"] < 0.05)
    json.dumps(res.to_dict())
    assert "p (" + rule + ")" in str(res.summary())
    assert res.plot() is not None
    with pytest.raises(KeyError, match="no metric 'nope'"):
        res["nope"]


def test_adjust_examples() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust(p, "none") == pytest.approx(p)


# --- inputs ------------------------------------------------------------------------------------


def test_polars_and_inputs_untouched() -> None:
    df = sim()
    before = df.copy()
    a = ck.experiment(df, outcome="y", covariates="x1", **ARMS)
    b = ck.experiment(pl.from_pandas(df), outcome="y", covariates="x1", **ARMS)
    pd.testing.assert_frame_equal(df, before)
    assert a.estimate == b.estimate and a.se == b.se
    json.dumps(a.to_dict())


def test_bad_input_messages() -> None:
    df = sim(days=5)
    odd = df.assign(arm=df["arm"].where(df.index % 50 != 0, "beta"))
    with pytest.raises(ck.DataError, match=r"neither treatment='treatment'.*'beta' \(120 rows"):
        ck.experiment(odd, outcome="y", **ARMS)
    with pytest.raises(ck.DataError, match=r"neither.*missing \(1 rows\)"):
        ck.experiment(df.assign(arm=df["arm"].where(df.index != 3)), outcome="y", **ARMS)
    two = df.assign(user=df["user"].where(df.index != 1, 0))
    two.loc[[0, 1], "arm"] = ["treatment", "control"]
    with pytest.raises(ck.DataError, match=r"1 user\(s\) of 'user' appear in both arms \(e\.g\. 0"):
        ck.experiment(two, outcome="y", user="user", **ARMS)
    dup = pd.concat([df, df.iloc[:2]])
    with pytest.raises(ck.DataError, match=r"more than one row.*one row per user"):
        ck.experiment(dup, outcome="y", user="user", **ARMS)
    with pytest.raises(ck.DataError, match=r"treatment arm 'treatment' has 0 user\(s\).*'control'"):
        ck.experiment(df[df["arm"] == "control"], outcome="y", **ARMS)
    with pytest.raises(ck.SpecificationError, match=r"sums to 1\.1, not 1"):
        ck.experiment(df, outcome="y", expected_split={"treatment": 0.6, "control": 0.5}, **ARMS)
    with pytest.raises(ck.SpecificationError, match="exactly the shares"):
        ck.experiment(df, outcome="y", expected_split={"new": 0.5, "control": 0.5}, **ARMS)
    with pytest.raises(ck.DataError, match=r"'x1' is measured up to 2026-03-04.*exposed before"):
        ck.experiment(df, outcome="y", covariates="x1", exposure="first_seen",
                      covariates_measured_at="2026-03-04", **ARMS)
    ok = ck.experiment(df, outcome="y", covariates="x1", exposure="first_seen",
                       covariates_measured_at="2026-03-01", **ARMS)
    assert ok.method == "experiment:cuped"
    with pytest.raises(ck.SpecificationError, match="needs exposure="):
        ck.experiment(df, outcome="y", covariates="x1", covariates_measured_at="2026-03-01",
                      **ARMS)
    with pytest.raises(ck.DataError, match=r"outcome column 'y' has 2 missing"):
        ck.experiment(df.assign(y=df["y"].where(df.index > 1)), outcome="y", **ARMS)
    with pytest.raises(ck.DataError, match="outcome column 'y' must be numeric"):
        ck.experiment(df.assign(y=df["y"].astype(str)), outcome="y", **ARMS)
    with pytest.raises(ck.DataError, match="no column 'revenue'"):
        ck.experiment(df, outcome="revenue", **ARMS)
    with pytest.raises(ck.SpecificationError, match=r"multiple_testing='bonf'.*'holm'"):
        ck.experiment(df, outcome=["y", "x1"], multiple_testing="bonf", **ARMS)  # type: ignore
    with pytest.raises(ck.SpecificationError, match="cannot be combined"):
        ck.experiment(df, outcome="y", covariates="x1", denominator="visits", **ARMS)
    with pytest.raises(ck.DataError, match=r"covariate .c. is constant \(1\) over all users"):
        ck.experiment(df.assign(c=1.0), outcome="y", covariates="c", **ARMS)


def test_measured_at_columns_mappings_and_time_zones() -> None:
    df = sim(days=5)
    df["pre_end"] = df["first_seen"].dt.floor("D")  # each user's window ends at exposure day
    ok = ck.experiment(df, outcome="y", covariates=["x1", "x2"], exposure="first_seen",
                       covariates_measured_at={"x1": "pre_end", "x2": "2026-03-01"}, **ARMS)
    assert ok.check("balance").passed
    late = df.assign(pre_end=df["first_seen"] + pd.Timedelta(hours=1))
    with pytest.raises(ck.DataError, match=r"'x1' is measured up to .*6,000 user\(s\)"):
        ck.experiment(late, outcome="y", covariates="x1", exposure="first_seen",
                      covariates_measured_at="pre_end", **ARMS)
    utc = df.assign(first_seen=df["first_seen"].dt.tz_localize("UTC"))
    with pytest.raises(ck.DataError, match="exposed before"):
        ck.experiment(utc, outcome="y", covariates="x1", exposure="first_seen",
                      covariates_measured_at="2026-03-05", **ARMS)


def test_ratio_by_period_several_metrics_and_no_checks() -> None:
    df = sim(days=6)
    res = ck.experiment(df, outcome=["y", "x1"], denominator={"y": "visits"},
                        exposure="first_seen", multiple_testing="none", **ARMS)
    ratio, plain = res["y"], res["x1"]
    assert (ratio.method, plain.method) == ("experiment:ratio", "experiment")
    assert ratio.by_period.iloc[-1]["estimate"] == pytest.approx(ratio.estimate, rel=1e-9)
    assert ratio.details["p_adjusted"] == ratio.p_value
    bare = ck.experiment(df, outcome="y", checks=False, **ARMS)
    assert bare.checks == ()
