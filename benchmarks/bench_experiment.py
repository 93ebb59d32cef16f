"""Speed and memory of ck.experiment with CUPED, beside GrowthBook's gbstats on the same data.

Data: n users, 50/50 arms (a text column), revenue = 2 + 0.7 x pre-period revenue + noise +
0.005 in treatment (z about 2.5 at n = 1e7, so the p-values are comparable), with the
pre-period revenue as the CUPED covariate.

gbstats does not read user-level data: it consumes per-arm sufficient statistics (n, sums, sums
of squares and of products) that a warehouse query produces. So its row is two numbers: the
time to compute those sums here with numpy (standing in for the query), and the time gbstats
itself takes on them, run in its own environment (/tmp/gb, numpy < 2) through a subprocess
(interpreter start-up excluded; measured inside the subprocess). The estimates of the two are
compared.

Columns: seconds (best of --repeat), peak memory in MB (tracemalloc: numpy's allocations during
the call, on top of the input frame), the relative difference of the estimates and of the SEs,
the absolute difference of the p-values, and CUPED's variance reduction.

    .venv/bin/python benchmarks/bench_experiment.py                # n = 1e7
    .venv/bin/python benchmarks/bench_experiment.py --sizes 1e5 1e6
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import tracemalloc
from importlib.metadata import version

import numpy as np
import pandas as pd

import causal_kit as ck

GB_PYTHON = "/tmp/gb/bin/python"
GB_SCRIPT = r"""
import json, sys, time
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import RegressionAdjustedStatistic, SampleMeanStatistic
s = json.loads(sys.stdin.read())
t0 = time.perf_counter()
def arm(a):
    post = SampleMeanStatistic(n=a["n"], sum=a["y"], sum_squares=a["yy"])
    pre = SampleMeanStatistic(n=a["n"], sum=a["x"], sum_squares=a["xx"])
    return RegressionAdjustedStatistic(n=a["n"], post_statistic=post, pre_statistic=pre,
                                       post_pre_sum_of_products=a["xy"], theta=0)
test = TwoSidedTTest(arm(s["control"]), arm(s["treatment"]),
                     FrequentistConfig(difference_type="absolute"))
r = test.compute_result()
print(json.dumps({"seconds": time.perf_counter() - t0, "estimate": r.expected,
                  "se": r.uplift.stddev, "p_value": r.p_value, "theta": test.stat_a.theta}))
"""


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treated = rng.uniform(size=n) < 0.5
    pre = rng.gamma(2.0, 6.0, n)
    y = 2 + 0.7 * pre + rng.normal(0, 5, n) + 0.005 * treated
    return pd.DataFrame({"arm": np.where(treated, "treatment", "control"), "revenue": y,
                         "pre_revenue": pre})


def run_ck(df: pd.DataFrame) -> tuple[ck.Estimate, float]:
    tracemalloc.start()
    est = ck.experiment(df, outcome="revenue", covariates="pre_revenue", arm="arm",
                        treatment="treatment", control="control")
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return est, peak


def sums(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    out = {}
    t = (df["arm"] == "treatment").to_numpy()
    y, x = df["revenue"].to_numpy(), df["pre_revenue"].to_numpy()
    for name, mask in (("treatment", t), ("control", ~t)):
        yy, xx = y[mask], x[mask]
        out[name] = {"n": int(mask.sum()), "y": float(yy.sum()), "yy": float(yy @ yy),
                     "x": float(xx.sum()), "xx": float(xx @ xx), "xy": float(yy @ xx)}
    return out


def run_gbstats(stats: dict[str, dict[str, float]]) -> dict[str, float] | None:
    if not os.path.exists(GB_PYTHON):
        return None
    res = subprocess.run([GB_PYTHON, "-c", GB_SCRIPT], input=json.dumps(stats),
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def best(fn, repeat: int):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e7])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    gb_version = subprocess.run([GB_PYTHON, "-c", "import importlib.metadata as m;"
                                 "print(m.version('gbstats'), m.version('numpy'))"],
                                capture_output=True, text=True).stdout.strip()
    print(f"numpy {np.__version__}, pandas {pd.__version__}, causal_kit {ck.__version__}; "
          f"gbstats/numpy {gb_version or 'not installed'}; scipy {version('scipy')}")
    head = (f"{'n':>10} {'ck_s':>7} {'ck_MB':>7} {'sums_s':>7} {'gb_s':>8} "
            f"{'|d est|':>9} {'|d se|':>9} {'|d p|':>9} {'var_red':>8}")
    print(head)
    run_ck(make_data(10_000))  # warm-up
    for n in (int(s) for s in args.sizes):
        df = make_data(n)
        ck_s, (est, peak) = best(lambda df=df: run_ck(df), args.repeat)
        sums_s, stats = best(lambda df=df: sums(df), args.repeat)
        gb = run_gbstats(stats)
        if gb is None:
            gb = {"seconds": float("nan"), "estimate": np.nan, "se": np.nan, "p_value": np.nan}
        rel = [abs(est.estimate / gb["estimate"] - 1), abs(est.se / gb["se"] - 1),
               abs(est.p_value - gb["p_value"])]
        print(f"{n:>10,} {ck_s:>7.2f} {peak:>7.0f} {sums_s:>7.2f} {gb['seconds']:>8.4f} "
              f"{rel[0]:>9.1e} {rel[1]:>9.1e} {rel[2]:>9.1e} "
              f"{est.details['variance_reduction']:>8.3f}")


if __name__ == "__main__":
    main()
