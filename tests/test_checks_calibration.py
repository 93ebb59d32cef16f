"""The DiD checks' false-alarm rates and power, by seeded simulation at the product's shapes.

CI-sized (a few dozen panels each); ``benchmarks/bench_checks.py`` runs the full table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.design.did.calibration import did_panel, fifteen_clusters

REPS = 40


def _fit(df):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        return ck.did(
            df,
            outcome="outcome",
            time="week",
            unit="region",
            treatment="treated",
            sensitivity=False,
        )


def _rates(gen, divergence: float, seed0: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    rejected = covered = 0
    for r in range(REPS):
        est = _fit(gen(seed0 + r, divergence=divergence, effect=0.5))
        rejected += not est.check("pre_trends").passed
        covered += est.ci[0] <= 0.5 <= est.ci[1]
    return rejected / REPS, covered / REPS


@pytest.mark.parametrize("gen", [did_panel, fifteen_clusters], ids=["demo", "15-clusters"])
def test_pre_trend_size_and_cs_coverage_under_parallel_trends(gen) -> None:  # type: ignore[no-untyped-def]
    size, coverage = _rates(gen, 0.0, 7000)
    assert size <= 0.10  # full run (bench_checks.py): at most 7%
    assert coverage >= 0.875  # full run: at least 93%


def test_pre_trend_power_against_linear_divergence() -> None:
    power, _ = _rates(did_panel, 0.2, 9000)
    assert power >= 0.7


def test_pre_trend_message_names_the_small_sample_test() -> None:
    check = _fit(did_panel(1)).check("pre_trends")
    assert check.kind == "identifying"
    assert "Divergence test (24 clusters" in check.message
    assert np.isfinite(check.p_value)


def test_scorecard_grade_is_not_low_when_assumptions_hold_and_flags_divergence() -> None:
    # without the sensitivity analysis (speed); it is a robustness check, so it can add at
    # most ROBUSTNESS_WEIGHT points: "not low" is checked with that point added
    from causal_kit.evidence.scorecard import ROBUSTNESS_WEIGHT

    n = 20
    ok = flagged = 0
    for r in range(n):
        clean = ck.scorecard(_fit(did_panel(30_000 + r, effect=0.5)))
        ok += clean.points + ROBUSTNESS_WEIGHT < 3
        bad_est = _fit(did_panel(31_000 + r, effect=0.5, divergence=0.2))
        flagged += (not bad_est.check("pre_trends").passed) or ck.scorecard(bad_est).grade == "low"
    assert ok / n >= 0.7
    assert flagged / n >= 0.7
