"""Benchmark: false-alarm rates and power of the DiD checks, CS coverage and the scorecard grade.

Usage::

    python benchmarks/bench_checks.py            # 200 seeded panels per row
    python benchmarks/bench_checks.py --reps 50  # quicker

Panels come from :mod:`causal_kit.design.did.calibration` (numpy, the product's shape: 24
regions × 26 weeks, 12 never launched, cohorts of 3; and 15 regions). Effect 0.5 outcome SD;
"divergence" is a linear drift of the launched regions of 0.2 SD per week. The scorecard rows
run the full estimate (HonestDiD sensitivity included).
"""

from __future__ import annotations

import argparse
import time
import warnings

import causal_kit as ck
from causal_kit.design.did.calibration import did_panel, fifteen_clusters

EFFECT = 0.5


def _fit(df, sensitivity: bool):  # type: ignore[no-untyped-def]
    return ck.did(
        df,
        outcome="outcome",
        time="week",
        unit="region",
        treatment="treated",
        sensitivity=sensitivity,
    )


def run(reps: int) -> None:
    """Print the table."""
    warnings.simplefilter("ignore", ck.CausalKitWarning)
    rows = [
        ("demo shape, parallel trends", did_panel, 0.0),
        ("15 clusters, parallel trends", fifteen_clusters, 0.0),
        ("demo shape, divergence 0.2 SD/week", did_panel, 0.2),
    ]
    print(
        f"{'scenario':38s} {'pre_trends rejects':>19s} {'no_antic. rejects':>18s} "
        f"{'CS covers':>10s} {'seconds':>8s}"
    )
    for name, gen, div in rows:
        t0 = time.perf_counter()
        pre = ant = cov = 0
        for r in range(reps):
            est = _fit(gen(10_000 + r, divergence=div, effect=EFFECT), False)
            pre += not est.check("pre_trends").passed
            ant += not est.check("no_anticipation").passed
            cov += est.ci[0] <= EFFECT <= est.ci[1]
        print(
            f"{name:38s} {pre / reps:19.1%} {ant / reps:18.1%} {cov / reps:10.1%} "
            f"{time.perf_counter() - t0:8.1f}"
        )
    print()
    print(
        f"{'scorecard (full estimate)':38s} {'high':>6s} {'medium':>7s} {'low':>6s} {'flagged':>8s}"
    )
    n = max(reps // 4, 10)
    for name, div in [("parallel trends, clear effect", 0.0), ("divergence 0.2 SD/week", 0.2)]:
        grades = {"high": 0, "medium": 0, "low": 0}
        flagged = 0
        for r in range(n):
            est = _fit(did_panel(20_000 + r, divergence=div, effect=EFFECT), True)
            g = ck.scorecard(est).grade
            grades[g] += 1
            flagged += (not est.check("pre_trends").passed) or g == "low"
        print(
            f"{name:38s} {grades['high'] / n:6.0%} {grades['medium'] / n:7.0%} "
            f"{grades['low'] / n:6.0%} {flagged / n:8.0%}"
        )
    print(f"({reps} panels per check row, {n} per scorecard row)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=200)
    run(parser.parse_args().reps)
