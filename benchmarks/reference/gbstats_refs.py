"""Reference numbers for the experiment tests, computed once with GrowthBook's engine gbstats.

gbstats needs numpy < 2, so it runs in a virtual environment of its own:

    python3 -m venv /tmp/gb && /tmp/gb/bin/pip install gbstats pandas
    /tmp/gb/bin/python benchmarks/reference/gbstats_refs.py

It writes a seeded simulated experiment (tests/data/experiment_ab.csv: 4,000 users, 50/50,
revenue with a pre-period revenue covariate, sessions as a ratio denominator) and runs gbstats
on the per-arm sufficient statistics it consumes (n, sums, sums of squares and of products):
the two-sided frequentist t test, CUPED (``RegressionAdjustedStatistic``), the ratio metric
(``RatioStatistic``, delta method) and the sequential two-sided t test, each with absolute and
relative differences. The results go to tests/data/gbstats_refs.json.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "experiment_ab.csv"
OUT = ROOT / "tests" / "data" / "gbstats_refs.json"
N = 4000
TUNING = 5000.0


def simulate(seed: int = 2013) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(rng.uniform(size=N) < 0.5, "treatment", "control")
    pre = np.round(rng.gamma(2.0, 6.0, N), 2)
    sessions = rng.poisson(2 + pre / 6) + 1
    lift = np.where(arm == "treatment", 0.6, 0.0)
    revenue = np.round(np.maximum(0.0, 2 + 0.7 * pre + lift + rng.normal(0, 5, N)), 2)
    return pd.DataFrame({"user_id": np.arange(N), "arm": arm, "revenue": revenue,
                         "sessions": sessions, "pre_revenue": pre})


def mean_stat(x: np.ndarray) -> SampleMeanStatistic:
    return SampleMeanStatistic(n=len(x), sum=float(x.sum()), sum_squares=float((x**2).sum()))


def stats_for(df: pd.DataFrame, arm: str) -> dict[str, object]:
    d = df[df["arm"] == arm]
    y, x, s = (d[c].to_numpy(float) for c in ("revenue", "pre_revenue", "sessions"))
    return {
        "plain": mean_stat(y),
        "cuped": RegressionAdjustedStatistic(
            n=len(y), post_statistic=mean_stat(y), pre_statistic=mean_stat(x),
            post_pre_sum_of_products=float((y * x).sum()), theta=0),
        "ratio": RatioStatistic(n=len(y), m_statistic=mean_stat(y), d_statistic=mean_stat(s),
                                m_d_sum_of_products=float((y * s).sum())),
    }


def run(kind: str, df: pd.DataFrame, difference: str, seq: bool) -> dict[str, object]:
    a, b = stats_for(df, "control")[kind], stats_for(df, "treatment")[kind]
    if seq:
        test = SequentialTwoSidedTTest(a, b, SequentialConfig(
            difference_type=difference, alpha=0.05, sequential_tuning_parameter=TUNING))
    else:
        test = TwoSidedTTest(a, b, FrequentistConfig(difference_type=difference, alpha=0.05))
    res = test.compute_result()
    out = {"expected": res.expected, "ci": list(res.ci), "p_value": res.p_value,
           "stddev": res.uplift.stddev}
    if kind == "cuped":
        out["theta"] = test.stat_a.theta
    return out


def main() -> None:
    df = simulate()
    df.to_csv(DATA, index=False)
    results: dict[str, object] = {}
    for kind in ("plain", "cuped", "ratio"):
        for diff in ("absolute", "relative"):
            results[f"{kind}_{diff}"] = run(kind, df, diff, seq=False)
            results[f"{kind}_{diff}_sequential"] = run(kind, df, diff, seq=True)
    out = {
        "provenance": {
            "package": f"gbstats {version('gbstats')}", "numpy": version("numpy"),
            "command": "/tmp/gb/bin/python benchmarks/reference/gbstats_refs.py",
            "data": "tests/data/experiment_ab.csv (written by this script, seed 2013)",
            "alpha": 0.05, "sequential_tuning_parameter": TUNING,
            "note": "control = stat_a, treatment = stat_b; relative = percent / 100",
        },
        "results": results,
    }
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
