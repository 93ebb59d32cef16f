"""ck.surrogate_index: the long-term effect projected from the first weeks, and its checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck

SURROGATES = ["success_14d", "revenue_14d", "active_days_14d"]
BETA = np.array([6.0, 2.5, 1.2])  # how 90-day revenue follows the 14-day metrics


def _users(rng: np.random.Generator, n: int, treated: np.ndarray | float,
           direct: float = 0.0) -> pd.DataFrame:
    """Users whose 90-day revenue depends on their traits only through the 14-day metrics.

    ``direct`` adds an effect of the launch on 90-day revenue that no 14-day metric shows (a
    violation of surrogacy).
    """
    d = np.broadcast_to(np.asarray(treated, dtype=float), (n,)).copy()
    pre = rng.gamma(2.0, 3.0, n)
    trait = rng.normal(0, 1, n)
    success = 0.55 + 0.08 * trait + 0.05 * d + rng.normal(0, 0.06, n)
    revenue = 0.5 * pre + 1.5 * trait + 0.8 * d + rng.normal(0, 2.0, n)
    active = 6 + 1.2 * trait + 0.7 * d + rng.normal(0, 1.5, n)
    S = np.column_stack([success, revenue, active])
    long_term = 3.0 + S @ BETA + 0.4 * pre + rng.normal(0, 4.0, n) + direct * d
    return pd.DataFrame({"success_14d": success, "revenue_14d": revenue,
                         "active_days_14d": active, "pre_revenue": pre,
                         "treated": d.astype(int), "revenue_90d": long_term})


def _truth(direct: float = 0.0) -> float:
    return float(BETA @ np.array([0.05, 0.8, 0.7])) + direct


def _launch(seed: int, *, n: int = 3000, n_ref: int = 3000, direct: float = 0.0,
            matured_share: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    reference = _users(rng, n_ref, 0.0)
    arm = (rng.random(n) < 0.5).astype(float)
    launch = _users(rng, n, arm, direct=direct)
    young = rng.random(n) >= matured_share
    launch.loc[young, "revenue_90d"] = np.nan  # not observable yet
    return launch, reference


def _project(launch: pd.DataFrame, reference: pd.DataFrame, **kw: object) -> ck.Estimate:
    args: dict[str, object] = dict(reference=reference, surrogates=SURROGATES,
                                   long_term="revenue_90d", covariates=["pre_revenue"])
    args.update(kw)
    return ck.surrogate_index(launch, **args)  # type: ignore[arg-type]


def test_projection_covers_the_long_term_effect_when_surrogacy_holds() -> None:
    # 60 seeded launches; a 95% interval should cover 57 of them (binomial sd 1.7)
    seeds = range(60)
    covered = 0
    for s in seeds:
        launch, ref = _launch(s)
        est = _project(launch, ref)
        covered += est.ci[0] <= _truth() <= est.ci[1]
    assert 0.90 <= covered / len(seeds) <= 0.98


def test_index_share_of_the_error_matches_its_spread_over_reference_samples() -> None:
    # hold the launch fixed, redraw the reference sample: the projection's spread is the index's
    # share of the error, which se_index must measure
    launch, _ = _launch(1)
    rng = np.random.default_rng(77)
    runs = [_project(launch, _users(rng, 300, 0.0)) for _ in range(40)]
    spread = np.std([r.estimate for r in runs], ddof=1)
    reported = np.mean([r.details["se_index"] for r in runs])
    assert reported == pytest.approx(spread, rel=0.3)


def test_interval_carries_the_index_error_too() -> None:
    launch, ref = _launch(1, n_ref=400)
    est = _project(launch, ref)
    assert est.method == "surrogate" and est.outcome == "revenue_90d"
    assert est.details["se_index"] > 0
    assert est.se == pytest.approx(np.hypot(est.details["se_design"], est.details["se_index"]))
    # the design's own estimate on the projected outcome is the headline
    assert est.estimate == pytest.approx(est.details["design_estimate"].estimate)
    assert {c.name for c in est.checks} == {"index_fit", "surrogate_stability",
                                           "reference_drift"}
    assert all(c.passed for c in est.checks)


def test_boosted_index_agrees_with_the_linear_one() -> None:
    launch, ref = _launch(2)
    lin = _project(launch, ref)
    boost = _project(launch, ref, model="boosting", n_boot=15)
    assert boost.details["se_index"] > 0
    assert abs(boost.estimate - lin.estimate) < 2 * lin.se
    assert boost.ci[0] <= _truth() <= boost.ci[1]


def test_surrogacy_check_passes_when_it_holds_and_fails_when_it_does_not() -> None:
    launch, ref = _launch(3, n=6000, matured_share=0.4)
    good = _project(launch, ref)
    assert good.check("surrogacy").passed
    assert good.details["matured_n"] > 2000
    bad_launch, bad_ref = _launch(3, n=6000, matured_share=0.4, direct=4.0)
    bad = _project(bad_launch, bad_ref)
    check = bad.check("surrogacy")
    assert not check.passed and check.kind == "identifying"
    assert "does not show" in check.message or "do not show" in check.message
    # the realised effect on matured users sees the hidden channel; the projection does not
    assert bad.details["realised_effect"] == pytest.approx(_truth(4.0), abs=1.5)
    assert bad.ci[1] < _truth(4.0)


def test_checks_fail_on_a_weak_index_and_on_drifted_users() -> None:
    launch, ref = _launch(4)
    noise = ref.assign(revenue_90d=np.random.default_rng(0).normal(0, 5, len(ref)))
    weak = _project(launch, noise)
    assert not weak.check("index_fit").passed
    drifted = launch.assign(revenue_14d=launch["revenue_14d"] + 3.0)
    moved = _project(drifted, ref)
    drift = moved.check("reference_drift")
    assert not drift.passed and "'revenue_14d'" in drift.message


def test_stability_flags_a_projection_carried_by_one_surrogate() -> None:
    launch, ref = _launch(5)
    est = _project(launch, ref)
    table = est.details["stability"]
    assert list(table["without"]) == SURROGATES
    assert est.check("surrogate_stability").passed  # the effect flows through all three
    # a launch that moves 14-day revenue only: the projection rests on that one surrogate
    lopsided = launch.assign(revenue_14d=launch["revenue_14d"] + 3.0 * launch["treated"],
                             success_14d=launch["success_14d"] - 0.05 * launch["treated"],
                             active_days_14d=launch["active_days_14d"] - 0.7 * launch["treated"])
    fragile = _project(lopsided, ref).check("surrogate_stability")
    assert not fragile.passed and "without revenue_14d" in fragile.message


def test_bad_input_is_named() -> None:
    launch, ref = _launch(6)
    with pytest.raises(ck.SpecificationError, match="surrogates= is empty"):
        _project(launch, ref, surrogates=[])
    with pytest.raises(ck.SpecificationError, match="cannot predict itself"):
        _project(launch, ref, surrogates=["revenue_90d"])
    with pytest.raises(ck.SpecificationError, match="model='forest' is not a valid option"):
        _project(launch, ref, model="forest")
    with pytest.raises(ck.DataError, match="reference has no column 'success_14d'"):
        _project(launch, ref.drop(columns="success_14d"))
    with pytest.raises(ck.DataError, match="'revenue_14d' has 3 missing values"):
        bad = launch.copy()
        bad.loc[:2, "revenue_14d"] = np.nan
        _project(bad, ref)
    with pytest.raises(ck.DataError, match="must be 0/1 for every user; it holds 2"):
        _project(launch.assign(treated=launch["treated"] * 2), ref)
    with pytest.raises(ck.DataError, match="reference sample has 20 users"):
        _project(launch, ref.head(20))
    with pytest.raises(ck.SpecificationError, match="design='did' compares users"):
        _project(launch, ref, design="did")
    before = launch.copy()
    _project(launch, ref)
    pd.testing.assert_frame_equal(launch, before)
