"""Callaway–Sant'Anna against R's did (published) and moderndid (stored), plus its inference."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design.did._data import load_panel
from causal_kit.design.did._spec import build_spec
from causal_kit.design.did.cs import _PanelEstimator, _RowsEstimator, plan_cells

DATA = Path(__file__).parent / "data"
# moderndid 0.2.0 on mpdta.csv, analytic SEs; regenerate with tests/data/moderndid_refs.py
REFS = json.loads((DATA / "moderndid_mpdta_refs.json").read_text())


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    df = pd.read_csv(DATA / "mpdta.csv")
    df["treated"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    return df


def _cs(df: pd.DataFrame, **kw: object) -> ck.Estimate:
    args: dict[str, object] = dict(
        outcome="lemp", time="year", unit="countyreal", treatment="treated", method="cs"
    )
    args.update(kw)
    return ck.did(df, **args)  # type: ignore[arg-type]


# --- published R did numbers (README of the R package; tests/data/PROVENANCE.md) ---------------


def test_mpdta_matches_published_r_did(mpdta: pd.DataFrame) -> None:
    est = _cs(mpdta)
    cells = est.details["att_gt"]
    published = [
        -0.0105,
        -0.0704,
        -0.1373,
        -0.1008,
        0.0065,
        -0.0028,
        -0.0046,
        -0.0412,
        0.0305,
        -0.0027,
        -0.0311,
        -0.0261,
    ]
    np.testing.assert_allclose(cells["estimate"], published, atol=5e-5)
    assert cells["group"].tolist() == [2004] * 4 + [2006] * 4 + [2007] * 4
    assert est.check("pre_trends").p_value == pytest.approx(0.16812, abs=5e-6)
    bp = est.by_period
    assert bp is not None and bp["term"].tolist() == [-3, -2, -1, 0, 1, 2, 3]
    np.testing.assert_allclose(
        bp["estimate"], [0.0305, -0.0006, -0.0245, -0.0199, -0.0510, -0.1373, -0.1008], atol=5e-5
    )
    agg = est.details["aggregations"].set_index("aggregation")
    assert agg.loc["dynamic", "estimate"] == pytest.approx(-0.0772, abs=5e-5)
    assert agg.loc["group", "estimate"] == pytest.approx(-0.031, abs=5e-4)
    np.testing.assert_allclose(
        est.details["group"]["estimate"], [-0.0797, -0.0229, -0.0261], atol=5e-5
    )
    # analytic SEs printed by moderndid
    assert est.estimate == pytest.approx(-0.039951, abs=1e-6)
    assert est.se == pytest.approx(0.012034, rel=1e-3)
    assert agg.loc["dynamic", "std_error"] == pytest.approx(0.019965, rel=1e-3)
    assert agg.loc["group", "std_error"] == pytest.approx(0.012446, rel=1e-3)
    assert agg.loc["calendar", "estimate"] == pytest.approx(-0.0417, abs=5e-5)
    assert agg.loc["calendar", "std_error"] == pytest.approx(0.015972, rel=1e-3)
    assert est.method == "did:cs" and est.n_units == 500 and est.n_treated == 191


def test_mpdta_lpop_doubly_robust_published(mpdta: pd.DataFrame) -> None:
    est = _cs(mpdta, covariates=["lpop"], est_method="dr")
    assert est.estimate == pytest.approx(-0.0418, abs=5e-5)
    assert est.se == pytest.approx(0.0115, abs=5e-5)


# --- every moderndid scenario stored in the JSON ----------------------------------------------

PANEL = {
    "never_varying": {},
    "never_varying_lpop_dr": {"covariates": ["lpop"], "est_method": "dr"},
    "never_varying_lpop_ipw": {"covariates": ["lpop"], "est_method": "ipw"},
    "never_varying_lpop_reg": {"covariates": ["lpop"], "est_method": "reg"},
    "notyet_varying": {"control": "notyet"},
    "never_universal": {"base_period": "universal"},
    "notyet_universal_lpop_dr": {
        "control": "notyet",
        "base_period": "universal",
        "covariates": ["lpop"],
    },
    "never_varying_anticipation1": {"anticipation": 1},
}


@pytest.mark.parametrize("name", list(PANEL))
def test_mpdta_matches_moderndid(mpdta: pd.DataFrame, name: str) -> None:
    ref = REFS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        est = _cs(mpdta, **PANEL[name])
    cells = est.details["att_gt"]
    np.testing.assert_array_equal(cells["group"].astype(float), ref["cell_group"])
    np.testing.assert_array_equal(cells["time"].astype(float), ref["cell_time"])
    np.testing.assert_allclose(cells["estimate"], ref["att"], atol=1e-6)
    ref_se = np.array([np.nan if s is None else s for s in ref["se"]])
    np.testing.assert_allclose(cells["std_error"], ref_se, rtol=1e-3)
    assert est.check("pre_trends").p_value == pytest.approx(ref["wald_pvalue"], abs=1e-5)
    agg = est.details["aggregations"].set_index("aggregation")
    for kind in ("simple", "dynamic", "group", "calendar"):
        assert agg.loc[kind, "estimate"] == pytest.approx(ref[kind]["att"], abs=1e-6), kind
        assert agg.loc[kind, "std_error"] == pytest.approx(ref[kind]["se"], rel=1e-3), kind
    bp = est.by_period
    assert bp is not None
    np.testing.assert_array_equal(bp["term"], ref["dynamic"]["terms"])
    np.testing.assert_allclose(bp["estimate"], ref["dynamic"]["att_by"], atol=1e-6)
    ref_dse = np.array([np.nan if s is None else s for s in ref["dynamic"]["se_by"]])
    np.testing.assert_allclose(bp["std_error"], ref_dse, rtol=1e-3)
    np.testing.assert_allclose(est.details["group"]["estimate"], ref["group"]["att_by"], atol=1e-6)
    np.testing.assert_allclose(est.details["group"]["std_error"], ref["group"]["se_by"], rtol=1e-3)
    np.testing.assert_allclose(
        est.details["calendar"]["estimate"], ref["calendar"]["att_by"], atol=1e-6
    )
    np.testing.assert_allclose(
        est.details["calendar"]["std_error"], ref["calendar"]["se_by"], rtol=1e-3
    )


def test_event_window_and_balance_match_moderndid(mpdta: pd.DataFrame) -> None:
    ref = REFS["never_varying"]["dynamic_balance1_window"]
    est = _cs(mpdta, balance_e=1, min_e=-2, max_e=2)
    bp = est.by_period
    assert bp is not None
    np.testing.assert_array_equal(bp["term"], ref["terms"])
    np.testing.assert_allclose(bp["estimate"], ref["att_by"], atol=1e-6)
    np.testing.assert_allclose(bp["std_error"], ref["se_by"], rtol=1e-3)
    agg = est.details["aggregations"].set_index("aggregation")
    assert agg.loc["dynamic", "estimate"] == pytest.approx(ref["att"], abs=1e-6)
    # the headline stays the simple average over all treated unit-periods
    assert est.estimate == pytest.approx(REFS["never_varying"]["simple"]["att"], abs=1e-6)


RCS = {
    "rcs_never_varying": {},
    "rcs_never_varying_lpop_dr": {"covariates": ["lpop"]},
    "rcs_notyet_varying_lpop_ipw": {
        "covariates": ["lpop"],
        "est_method": "ipw",
        "control": "notyet",
    },
    "rcs_never_varying_lpop_reg": {"covariates": ["lpop"], "est_method": "reg"},
}


@pytest.mark.parametrize("name", list(RCS))
def test_repeated_cross_sections_match_moderndid_cells(mpdta: pd.DataFrame, name: str) -> None:
    # mpdta read as cross-sections: each county-year row is its own observation; the treatment
    # is assigned by cohort, so the cohort is the group.
    ref = REFS[name]
    df = mpdta.assign(cohort=mpdta["first.treat"])
    est = ck.did(
        df,
        outcome="lemp",
        time="year",
        group="cohort",
        treatment="treated",
        method="cs",
        **RCS[name],
    )  # type: ignore[arg-type]
    cells = est.details["att_gt"]
    np.testing.assert_allclose(cells["estimate"], ref["att"], atol=1e-6)
    # moderndid 0.2.0 divides cross-section SEs by the number of county ids (500), not by the
    # 2,500 observations, so its SEs are exactly 5x ours; compare up to that factor.
    np.testing.assert_allclose(cells["std_error"] * 5, ref["se"], rtol=1e-3)
    assert est.n_units == 2500


def test_cross_section_se_is_the_four_means_formula(mpdta: pd.DataFrame) -> None:
    df = mpdta.assign(cohort=mpdta["first.treat"])
    est = ck.did(df, outcome="lemp", time="year", group="cohort", treatment="treated", method="cs")
    row = est.details["att_gt"].iloc[1]  # cohort 2004 in 2005 vs 2003
    cells = [
        df[(df["cohort"] == c) & (df["year"] == y)]["lemp"] for c in (2004, 0) for y in (2005, 2003)
    ]
    att = (cells[0].mean() - cells[1].mean()) - (cells[2].mean() - cells[3].mean())
    se = np.sqrt(sum(c.var(ddof=0) / len(c) for c in cells))
    assert row["estimate"] == pytest.approx(att, abs=1e-12)
    assert row["std_error"] == pytest.approx(se, rel=1e-10)


# --- internal consistency --------------------------------------------------------------------


def _spec(**kw: object):  # type: ignore[no-untyped-def]
    base: dict[str, object] = dict(
        outcome="lemp",
        time="year",
        treatment="treated",
        unit="countyreal",
        group=None,
        method="cs",
        covariates=(),
        control="never",
        est_method="dr",
        base_period="varying",
        anticipation=0,
        cluster=None,
        se="cluster",
        bootstrap="none",
        n_boot=999,
        level=0.95,
        seed=None,
        min_e=None,
        max_e=None,
        balance_e=None,
    )
    base.update(kw)
    return build_spec(**base)


def _mpdta_panel(mpdta: pd.DataFrame):
    return load_panel(
        mpdta,
        outcome="lemp",
        unit="countyreal",
        time="year",
        treatment="treated",
        covariates=(),
        cluster=None,
    )


def test_row_estimator_equals_panel_estimator_on_balanced_data(mpdta: pd.DataFrame) -> None:
    spec = _spec()
    dd = _mpdta_panel(mpdta)
    cells, dropped = plan_cells(dd.cohorts, dd.n_periods, spec)
    a = _PanelEstimator(dd, spec).run(cells, list(dropped))
    with pytest.warns(ck.CausalKitWarning, match="unbalanced"):
        b = _RowsEstimator(dd, spec).run(cells, list(dropped))
    np.testing.assert_allclose(a.att, b.att, atol=1e-12)
    np.testing.assert_allclose(a.se(), b.se(), rtol=1e-10)


def test_unbalanced_panel_is_warned_and_close_to_balanced(mpdta: pd.DataFrame) -> None:
    df = mpdta.drop(index=mpdta.index[3::7]).query("year > 2003 or countyreal > 0")
    df = pd.concat([df, mpdta[(mpdta["year"] == 2003) & ~mpdta.index.isin(df.index)]])
    with pytest.warns(ck.CausalKitWarning, match="unbalanced"):
        est = _cs(df)
    full = _cs(mpdta)
    assert est.details["balanced"] is False
    assert abs(est.estimate - full.estimate) < 2 * full.se
    assert np.isfinite(est.se) and est.se > 0


def test_sun_abraham_style_universal_equals_varying_post(mpdta: pd.DataFrame) -> None:
    # post-launch cells do not depend on the base-period choice
    uni = _cs(mpdta, base_period="universal").details["att_gt"]
    var = _cs(mpdta).details["att_gt"]
    post_u = uni[uni["event_time"] >= 0].reset_index(drop=True)
    post_v = var[var["event_time"] >= 0].reset_index(drop=True)
    np.testing.assert_allclose(post_u["estimate"], post_v["estimate"], atol=1e-12)


# --- inference -------------------------------------------------------------------------------


def test_multiplier_bootstrap_close_to_analytic_and_seeded(mpdta: pd.DataFrame) -> None:
    analytic = _cs(mpdta)
    a = _cs(mpdta, bootstrap="multiplier", seed=11, n_boot=999)
    b = _cs(mpdta, bootstrap="multiplier", seed=11, n_boot=999)
    assert a.se == b.se and a.draws is not None and b.draws is not None
    np.testing.assert_array_equal(a.draws, b.draws)
    assert len(a.draws) == 999
    assert a.se == pytest.approx(analytic.se, rel=0.15)
    bp, abp = a.by_period, analytic.by_period
    assert bp is not None and abp is not None
    np.testing.assert_allclose(bp["std_error"], abp["std_error"], rtol=0.15)
    wider = (bp["conf_high_uniform"] - bp["conf_low_uniform"]) > (bp["conf_high"] - bp["conf_low"])
    assert wider.all()
    assert a.details["uniform_band"] == "multiplier bootstrap (rademacher weights)"
    assert np.mean(a.draws) == pytest.approx(a.estimate, abs=3 * a.se / np.sqrt(999) * 5)


def test_clustered_analytic_se(mpdta: pd.DataFrame) -> None:
    df = mpdta.assign(region=mpdta["countyreal"] // 1000)
    est = _cs(df, cluster="region")
    unit = _cs(mpdta)
    assert est.estimate == pytest.approx(unit.estimate, abs=1e-12)
    assert est.se != pytest.approx(unit.se, rel=1e-3)
    assert est.details["n_clusters"] == df["region"].nunique()
    wild = _cs(df, cluster="region", bootstrap="wild", seed=3, n_boot=499)
    assert wild.se == pytest.approx(est.se, rel=0.25)


def test_cluster_must_contain_whole_units(mpdta: pd.DataFrame) -> None:
    df = mpdta.assign(bad=np.arange(len(mpdta)) % 3)
    with pytest.raises(ck.DataError, match="cluster column changes within a unit"):
        _cs(df, cluster="bad")


# --- bad input -------------------------------------------------------------------------------


def test_never_control_needs_never_treated(mpdta: pd.DataFrame) -> None:
    df = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(ck.DataError, match="control='never' needs never-treated"):
        _cs(df)
    with pytest.warns(ck.CausalKitWarning, match="could not be estimated"):
        est = _cs(df, control="notyet")
    assert np.isfinite(est.estimate) and len(est.details["dropped_cells"]) == 4


def test_covariate_problems(mpdta: pd.DataFrame) -> None:
    df = mpdta.assign(x=mpdta["lpop"]).astype({"x": float})
    df.loc[df.index[5], "x"] = np.nan
    with pytest.raises(ck.DataError, match="covariate column 'x' has 1 missing"):
        _cs(df, covariates=["x"])
    with pytest.raises(ck.DataError, match="covariate 'c' takes the single value 1"):
        _cs(mpdta.assign(c=1.0), covariates=["c"])


def test_single_unit_cohort_warns(mpdta: pd.DataFrame) -> None:
    first = mpdta.loc[mpdta["first.treat"] == 2004, "countyreal"].unique()
    df = mpdta[~mpdta["countyreal"].isin(first[1:])]
    with pytest.warns(ck.CausalKitWarning, match=r"\[2004\] have a single unit"):
        est = _cs(df)
    assert np.isfinite(est.estimate) and np.isfinite(est.se)


def test_auto_picks_cs_for_staggered_panels(mpdta: pd.DataFrame) -> None:
    est = ck.did(mpdta, outcome="lemp", time="year", unit="countyreal", treatment="treated")
    assert est.method == "did:cs"
    assert {c.name for c in est.checks} >= {"pre_trends", "no_anticipation", "bacon", "sensitivity"}
    assert isinstance(est.details["bacon"], pd.DataFrame)
    b = est.details["bacon"]
    assert (b["weight"] * b["estimate"]).sum() == pytest.approx(est.details["twfe"], abs=1e-12)
    assert b["weight"].sum() == pytest.approx(1.0)


def test_inputs_not_modified_and_json_safe(mpdta: pd.DataFrame) -> None:
    before = mpdta.copy()
    est = _cs(mpdta, covariates=["lpop"], bootstrap="multiplier", seed=1, n_boot=99)
    pd.testing.assert_frame_equal(mpdta, before)
    out = json.loads(json.dumps(est.to_dict()))
    assert out["details"]["aggregations"][0]["aggregation"] == "simple"


def test_row_order_and_frame_type_do_not_matter(mpdta: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    base = _cs(mpdta, covariates=["lpop"])
    shuffled = mpdta.sample(frac=1.0, random_state=3)
    assert _cs(shuffled, covariates=["lpop"]).estimate == pytest.approx(base.estimate, abs=1e-12)
    as_polars = pl.from_pandas(mpdta)
    assert _cs(as_polars, covariates=["lpop"]).estimate == pytest.approx(base.estimate, abs=1e-12)
    dated = mpdta.assign(year=pd.to_datetime(mpdta["year"].astype(str) + "-01-01"))
    est = _cs(dated)
    assert est.estimate == pytest.approx(REFS["never_varying"]["simple"]["att"], abs=1e-9)
    assert est.details["group"]["term"].tolist() == ["2004-01-01", "2006-01-01", "2007-01-01"]


@pytest.mark.parametrize("opts", [{}, {"control": "notyet", "base_period": "universal"}])
def test_moment_and_dense_influence_functions_agree(mpdta: pd.DataFrame, opts: dict) -> None:
    from causal_kit.design.did.aggregate import aggregate
    from causal_kit.design.did.cs import att_gt

    spec = _spec(**opts)
    dd = _mpdta_panel(mpdta)
    moments, dense = att_gt(dd, spec), att_gt(dd, spec, dense=True)
    assert type(moments.store).__name__ == "MomentIF"
    assert type(dense.store).__name__ == "DenseIF"
    np.testing.assert_allclose(moments.att, dense.att, atol=1e-13)
    np.testing.assert_allclose(moments.se(), dense.se(), rtol=1e-10)
    agg = aggregate(dense)
    W, wif = agg.heads()
    W = np.concatenate([W, agg.dynamic.W], axis=1)
    wif = np.concatenate([wif, agg.dynamic.wif], axis=1)
    np.testing.assert_allclose(moments.cov(W, wif), dense.cov(W, wif), rtol=1e-9, atol=1e-16)


def test_pre_trend_test_with_few_clusters_uses_a_small_sample_test() -> None:
    """46 weekly pre-launch cells from 24 units overwhelm a clustered chi-squared Wald test;
    the check must switch to the divergence test on the event-time effects. With parallel
    trends true by construction (random-walk unit shocks, 60 seeded panels) the chi-squared
    Wald rejects 38% of them; the divergence test stays near its nominal 5%."""
    rng = np.random.default_rng(11)
    rejections = 0
    reps = 60
    units, periods = 24, 30
    g = np.repeat([10, 14, 18, 0], units // 4)  # 0: never treated
    for _ in range(reps):
        rows = []
        shocks = rng.normal(0, 1, (units, periods)).cumsum(axis=1) * 0.3  # serially correlated
        for u in range(units):
            for t in range(periods):
                treated = int(g[u] > 0 and t >= g[u])
                rows.append((u, t, 5 + 0.1 * u + 0.05 * t + shocks[u, t] + treated, treated))
        df = pd.DataFrame(rows, columns=["unit", "t", "y", "d"])
        est = ck.did(
            df, outcome="y", unit="unit", time="t", treatment="d", method="cs", sensitivity=False
        )
        check = est.check("pre_trends")
        assert "Divergence test (24 clusters" in check.message
        assert check.kind == "identifying"
        rejections += not check.passed
    assert rejections / reps <= 0.10
