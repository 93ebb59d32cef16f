"""2×2 and TWFE event-study difference-in-differences: references, simulations, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def kielmc() -> pd.DataFrame:
    return pd.read_csv(DATA / "wooldridge_kielmc.csv")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    df = pd.read_csv(DATA / "mpdta.csv")
    df["treated"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    return df


def _kielmc(kielmc: pd.DataFrame, **kw: object) -> ck.Estimate:
    args: dict[str, object] = dict(
        outcome="rprice", time="year", group="nearinc", treatment="y81nrinc", method="2x2"
    )
    args.update(kw)
    return ck.did(kielmc, **args)  # type: ignore[arg-type]


# --- references -------------------------------------------------------------------------------


def test_kielmc_example_13_3(kielmc: pd.DataFrame) -> None:
    # Wooldridge, Introductory Econometrics, Example 13.3 (see tests/data/PROVENANCE.md).
    est = _kielmc(kielmc, se="classical")
    assert est.estimate == pytest.approx(-11863.90, abs=0.005)
    assert est.se == pytest.approx(7456.65, abs=0.005)
    assert est.n_units == 321
    assert est.method == "did:2x2"
    cov = _kielmc(kielmc, se="classical", covariates=["age", "agesq"])
    assert cov.estimate == pytest.approx(-21920.27, abs=0.005)
    assert cov.se == pytest.approx(6359.75, abs=0.005)


def test_kielmc_r_squared_and_auto(kielmc: pd.DataFrame) -> None:
    est = _kielmc(kielmc, se="classical", method="auto")
    assert est.method == "did:2x2"
    assert est.details["r_squared"] == pytest.approx(0.174, abs=5e-4)


def test_kielmc_robust_and_clustered_match_pyfixest(kielmc: pd.DataFrame) -> None:
    # pyfixest 0.60.0 feols on the same file, stored in tests/data/pyfixest_refs.json
    refs = json.loads((DATA / "pyfixest_refs.json").read_text())
    hc1 = _kielmc(kielmc, se="hc1", covariates=["age", "agesq"])
    assert hc1.se == pytest.approx(refs["kielmc_hc1"]["se"], rel=1e-9)
    cl = _kielmc(kielmc, cluster="nbh", covariates=["age", "agesq"])
    assert cl.estimate == pytest.approx(refs["kielmc_crv1_nbh"]["coef"], rel=1e-9)
    assert cl.se == pytest.approx(refs["kielmc_crv1_nbh"]["se"], rel=1e-9)
    # default for cross-sections without a cluster column: heteroskedasticity-robust
    assert _kielmc(kielmc, covariates=["age", "agesq"]).se == pytest.approx(hc1.se, rel=1e-12)


def test_mpdta_static_twfe(mpdta: pd.DataFrame) -> None:
    # feols(lemp ~ treated | countyreal + year, cluster = ~countyreal): -0.036549; fixest's
    # default small-sample factor (fixef.K = "nested") leaves out the county effects nested in
    # the county clusters. Counting every effect gave 0.014832 (tests/data/PROVENANCE.md).
    pf = pytest.importorskip("pyfixest")
    est = ck.did(
        mpdta, outcome="lemp", time="year", unit="countyreal", treatment="treated", method="twfe"
    )
    ref = pf.feols("lemp ~ treated | countyreal + year", data=mpdta, vcov={"CRV1": "countyreal"})
    assert est.estimate == pytest.approx(-0.036549, abs=5e-7)
    assert est.estimate == pytest.approx(float(ref.coef().iloc[0]), rel=1e-10)
    assert est.se == pytest.approx(float(ref.se().iloc[0]), rel=1e-10)
    assert est.se == pytest.approx(0.014832 * np.sqrt((2500 - 505) / (2500 - 6)), rel=1e-4)
    assert est.method == "did:twfe"
    assert est.n_units == 500 and est.n_treated == 191


def test_mpdta_event_study_matches_pyfixest(mpdta: pd.DataFrame) -> None:
    # feols("lemp ~ i(rel, ref=-1) | countyreal + year", CRV1) from tests/data/pyfixest_refs.json
    ref = json.loads((DATA / "pyfixest_refs.json").read_text())["mpdta_twfe_event"]
    est = ck.did(
        mpdta, outcome="lemp", time="year", unit="countyreal", treatment="treated", method="twfe"
    )
    bp = est.by_period
    assert bp is not None
    assert bp["term"].tolist() == [int(e) for e in ref["terms"]] == [-4, -3, -2, 0, 1, 2, 3]
    np.testing.assert_allclose(bp["estimate"].to_numpy(), ref["coef"], rtol=1e-8, atol=1e-12)
    # like fixest and pyfixest, the unit effects nested in the clusters are not counted
    np.testing.assert_allclose(bp["std_error"].to_numpy(), np.array(ref["se"]), rtol=1e-8)
    pre = est.check("pre_trends")
    assert pre.p_value is not None and 0 < pre.p_value < 1
    assert pre.passed == (pre.p_value >= 0.05)


# --- simulations ------------------------------------------------------------------------------


def _sim_panel(n: int, T: int, launch: int, effect: np.ndarray, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(T), n)
    treated_unit = rng.random(n) < 0.4
    alpha = rng.normal(size=n) + 0.5 * treated_unit
    gamma = np.linspace(0, 2, T)
    d = treated_unit[unit] & (t >= launch)
    e = np.clip(t - launch, 0, None)
    y = alpha[unit] + gamma[t] + np.where(d, effect[np.minimum(e, len(effect) - 1)], 0)
    y = y + rng.normal(scale=1.0, size=n * T)
    return pd.DataFrame({"id": unit, "period": t, "y": y, "d": d.astype(int)})


def test_simulated_2x2_recovers_truth() -> None:
    df = _sim_panel(4000, 2, 1, np.array([1.5]), seed=1)
    est = ck.did(df, outcome="y", time="period", unit="id", treatment="d")
    assert est.method == "did:2x2"
    assert abs(est.estimate - 1.5) < 4 * est.se
    assert est.se < 0.1
    assert est.ci[0] < est.estimate < est.ci[1]


def test_simulated_event_study_recovers_truth() -> None:
    truth = np.array([0.5, 1.0, 1.5, 2.0])
    df = _sim_panel(3000, 8, 4, truth, seed=2)
    est = ck.did(df, outcome="y", time="period", unit="id", treatment="d", method="twfe")
    bp = est.by_period
    assert bp is not None
    pre = bp[bp["term"] < 0]
    post = bp[bp["term"] >= 0].set_index("term")
    assert (np.abs(pre["estimate"]) < 4 * pre["std_error"]).all()
    np.testing.assert_array_less(
        np.abs(post["estimate"].to_numpy() - truth), 4 * post["std_error"].to_numpy()
    )
    assert est.check("pre_trends").p_value is not None
    # a single launch date: the static coefficient is the average post-launch effect
    assert abs(est.estimate - truth.mean()) < 4 * est.se


def test_2x2_panel_with_several_periods_tests_pre_trends() -> None:
    df = _sim_panel(1000, 6, 3, np.array([1.0]), seed=3)
    est = ck.did(df, outcome="y", time="period", unit="id", treatment="d", method="2x2")
    assert abs(est.estimate - 1.0) < 4 * est.se
    chk = est.check("pre_trends")
    assert chk.statistic is not None and chk.p_value is not None
    assert est.by_period is not None and -1 not in est.by_period["term"].tolist()


def test_window_options_trim_event_study() -> None:
    df = _sim_panel(500, 8, 4, np.array([1.0]), seed=4)
    est = ck.did(
        df, outcome="y", time="period", unit="id", treatment="d", method="twfe", min_e=-2, max_e=1
    )
    assert est.by_period is not None
    assert est.by_period["term"].tolist() == [-2, 0, 1]


def test_inputs_are_not_modified(kielmc: pd.DataFrame, mpdta: pd.DataFrame) -> None:
    k0, m0 = kielmc.copy(), mpdta.copy()
    _kielmc(kielmc, covariates=["age"])
    ck.did(
        mpdta,
        outcome="lemp",
        time="year",
        unit="countyreal",
        treatment="treated",
        method="twfe",
        covariates=["lpop"] if False else (),
    )
    pd.testing.assert_frame_equal(kielmc, k0)
    pd.testing.assert_frame_equal(mpdta, m0)


def test_result_is_json_safe(mpdta: pd.DataFrame) -> None:
    import json

    est = ck.did(
        mpdta, outcome="lemp", time="year", unit="countyreal", treatment="treated", method="twfe"
    )
    out = json.loads(json.dumps(est.to_dict()))
    assert out["method"] == "did:twfe"
    assert out["params"]["method"] == "twfe"


# --- bad input --------------------------------------------------------------------------------


def _small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "u": np.repeat([1, 2, 3, 4], 3),
            "t": np.tile([1, 2, 3], 4),
            "y": np.arange(12, dtype=float),
            "d": [0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0],
        }
    )


def _did(df: pd.DataFrame, **kw: object) -> ck.Estimate:
    args: dict[str, object] = dict(outcome="y", time="t", unit="u", treatment="d", method="twfe")
    args.update(kw)
    return ck.did(df, **args)  # type: ignore[arg-type]


def test_missing_columns_are_named() -> None:
    with pytest.raises(ck.DataError, match="no column 'revenue'"):
        _did(_small(), outcome="revenue")
    with pytest.raises(ck.DataError, match="no column 'age'"):
        _did(_small(), covariates=["age"])


def test_empty_data() -> None:
    with pytest.raises(ck.DataError, match="no rows"):
        _did(_small().iloc[:0])


def test_outcome_not_numeric_or_infinite() -> None:
    df = _small()
    df["y"] = df["y"].astype(str)
    with pytest.raises(ck.DataError, match="outcome column 'y' must be numeric"):
        _did(df)
    df = _small()
    df.loc[4, "y"] = np.inf
    with pytest.raises(ck.DataError, match=r"missing or infinite value.*u=2, t=2"):
        _did(df)


def test_missing_ids_and_times() -> None:
    df = _small().astype({"u": float})
    df.loc[0, "u"] = np.nan
    with pytest.raises(ck.DataError, match="unit column 'u' has 1 missing"):
        _did(df)
    df = _small().astype({"t": float})
    df.loc[0, "t"] = np.nan
    with pytest.raises(ck.DataError, match="time column 't' has 1 missing"):
        _did(df)


def test_duplicate_rows_shown() -> None:
    df = pd.concat([_small(), _small().iloc[[4]]])
    with pytest.raises(ck.DataError, match="duplicate rows for u=2, t=2"):
        _did(df)


def test_treatment_not_binary_or_switching_off() -> None:
    df = _small()
    df.loc[2, "d"] = 2
    with pytest.raises(ck.DataError, match="must be 0/1; found 2"):
        _did(df)
    df = _small()
    df.loc[5, "d"] = 0
    with pytest.raises(ck.DataError, match="switches off for u=2"):
        _did(df)


def test_no_treated_or_no_comparison_units() -> None:
    df = _small().assign(d=0)
    with pytest.raises(ck.DataError, match="no treated units"):
        _did(df)
    df = _small().assign(d=lambda x: (x["t"] >= 2).astype(int))
    with pytest.raises(ck.DataError, match="no comparison units"):
        _did(df)


def test_treated_without_pre_period() -> None:
    df = _small()
    df.loc[df["u"] == 3, "d"] = 1
    with pytest.raises(ck.DataError, match=r"treated u\(s\) \[3\] have no pre-period"):
        _did(df)


def test_unknown_options_list_valid_ones() -> None:
    with pytest.raises(ck.SpecificationError, match=r"method='ols' is not a valid option.*'twfe'"):
        _did(_small(), method="ols")
    with pytest.raises(ck.SpecificationError, match=r"se='robust'.*'hc1'"):
        _did(_small(), se="robust")
    with pytest.raises(ck.SpecificationError, match=r"control='nevertreated'.*'notyet'"):
        _did(_small(), control="nevertreated")
    with pytest.raises(ck.SpecificationError, match="level must be a number between 0 and 1"):
        _did(_small(), level=95)
    with pytest.raises(ck.SpecificationError, match="min_e=2 is larger than max_e=1"):
        _did(_small(), min_e=2, max_e=1)


def test_unit_and_group_exclusive() -> None:
    with pytest.raises(ck.SpecificationError, match="pass either unit="):
        _did(_small(), group="u")
    with pytest.raises(ck.SpecificationError, match="pass unit="):
        ck.did(_small(), outcome="y", time="t", treatment="d")


def test_2x2_rejects_staggered_adoption() -> None:
    with pytest.raises(ck.SpecificationError, match=r"single launch date.*method='cs'"):
        _did(_small(), method="2x2")


def test_cross_sections_treatment_must_be_constant_in_group_period(kielmc: pd.DataFrame) -> None:
    df = kielmc.copy()
    df.loc[df.index[0], "y81nrinc"] = 1 - df.loc[df.index[0], "y81nrinc"]
    with pytest.raises(ck.DataError, match="differs between rows of nearinc="):
        _kielmc(df)


# --- bootstraps of the regression designs -------------------------------------------------------


def test_wild_cluster_bootstrap_equals_brute_force_reestimation() -> None:
    from causal_kit.design.did._wild import _WEBB, ols_bootstrap

    rng = np.random.default_rng(0)
    n, G = 200, 7
    cl = rng.integers(0, G, n)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    y = X @ np.array([1.0, 0.5, 0.2]) + rng.normal(size=n) + rng.normal(size=G)[cl]
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    e = y - X @ b
    c = np.array([0.0, 1.0, 0.0])
    A = np.linalg.inv(X.T @ X)
    factor = (G / (G - 1)) * ((n - 1) / (n - 3))

    def cluster_se(resid: np.ndarray) -> float:
        S = np.column_stack(
            [np.bincount(cl, weights=X[:, j] * resid, minlength=G) for j in range(3)]
        )
        return float(np.sqrt(c @ A @ S.T @ S @ A @ c * factor))

    fast = ols_bootstrap(
        X, e, c, float(c @ b), cl, kind="wild", n_boot=400, seed=1, level=0.95, small_sample=factor
    )
    V = _WEBB[np.random.default_rng(1).integers(0, 6, size=(400, G))]
    t_star = []
    for v in V:
        ys = X @ b + e * v[cl]
        bs = np.linalg.lstsq(X, ys, rcond=None)[0]
        t_star.append(abs(c @ (bs - b)) / cluster_se(ys - X @ bs))
    crit = np.quantile(t_star, 0.95, method="inverted_cdf")
    assert fast.se == pytest.approx(cluster_se(e), rel=1e-12)
    assert fast.ci[1] == pytest.approx(c @ b + crit * fast.se, rel=1e-10)


@pytest.mark.parametrize("method", ["2x2", "twfe", "sa"])
def test_regression_designs_bootstrap(
    mpdta: pd.DataFrame, kielmc: pd.DataFrame, method: str
) -> None:
    if method == "2x2":

        def fit(**kw: object) -> ck.Estimate:
            return _kielmc(kielmc, cluster="nbh", **kw)
    else:

        def fit(**kw: object) -> ck.Estimate:
            return ck.did(
                mpdta,
                outcome="lemp",
                time="year",
                unit="countyreal",
                treatment="treated",
                method=method,
                **kw,
            )  # type: ignore[arg-type]

    base = fit()
    mult = fit(bootstrap="multiplier", seed=4, n_boot=999)
    wild = fit(bootstrap="wild", seed=4, n_boot=999)
    again = fit(bootstrap="wild", seed=4, n_boot=999)
    assert mult.draws is not None and wild.draws is not None and len(wild.draws) == 999
    np.testing.assert_array_equal(wild.draws, again.draws)
    assert mult.estimate == wild.estimate == base.estimate
    assert mult.se == pytest.approx(base.se, rel=0.25)
    assert wild.se == pytest.approx(base.se, rel=1e-9)  # studentised around the analytic SE
    assert wild.ci[0] < wild.estimate < wild.ci[1]
    assert wild.details["bootstrap"] == "wild"


def test_twfe_on_cross_sections_equals_2x2(kielmc: pd.DataFrame) -> None:
    twfe = _kielmc(kielmc, method="twfe")
    two = _kielmc(kielmc)
    assert twfe.estimate == pytest.approx(two.estimate, rel=1e-10)
    assert twfe.method == "did:twfe"
    assert twfe.details["se_type"] == "hc1"
