"""Speed of ck.heterogeneity against EconML's LinearDML with its default nuisance models.

Data: :func:`causal_kit.simulate.truth_mechanisms.simulate_users`, a randomized holdout of
``n`` users with five features (segment, region tier, tenure, pre-period sessions, score) and
revenue as the outcome.

Printed, per size (wall-clock and CPU seconds, one run each after a warm-up on small data):
  ck        ck.heterogeneity(...) with its defaults: LinearDRLearner with cross-fitted linear
            nuisances, doubly robust group effects and quintiles, the policy tree (target:
            at most 10 s wall on 2 cores at n = 1e5)
  econml    econml.dml.LinearDML() with its defaults (automatic nuisance model selection),
            fitted on the same features, and its average effect with a 95% interval
  within    whether ck's average effect lies inside LinearDML's interval and LinearDML's inside
            ck's interval

Measured (2 cores shared with other work, load average about 15; n = 1e5, seed 0): ck 7.6 s
wall, ATE 0.515 [0.468, 0.562]; LinearDML default 1010 s wall, ATE 0.452 [0.408, 0.497]; the
draw's true ITT is 0.535 — inside ck's interval, outside LinearDML's, so ``within`` is False
because LinearDML's default misses the truth on this draw.

Run:
  .venv/bin/python benchmarks/bench_heterogeneity.py              # n = 1e5
  .venv/bin/python benchmarks/bench_heterogeneity.py --sizes 2e4 1e5 --skip-econml
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import causal_kit as ck
from causal_kit.simulate.truth_mechanisms import simulate_users

FEATURES = ["segment", "region_tier", "tenure_days", "pre_sessions", "score"]


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def run_ck(users: pd.DataFrame) -> ck.Heterogeneity:
    return ck.heterogeneity(users, outcome="revenue", treatment="exposed", features=FEATURES)


def run_econml(users: pd.DataFrame) -> tuple[float, float, float]:
    from econml.dml import LinearDML

    x = pd.get_dummies(users[FEATURES], columns=["segment"], drop_first=True, dtype=float)
    est = LinearDML(discrete_treatment=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(users["revenue"].to_numpy(), users["exposed"].to_numpy(), X=x.to_numpy())
        low, high = est.ate_interval(X=x.to_numpy(), alpha=0.05)
    return float(est.ate(X=x.to_numpy())), float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5])
    parser.add_argument("--skip-econml", action="store_true")
    args = parser.parse_args()
    run_ck(simulate_users(2000, seed=9).users)  # warm-up: imports
    print(f"{'n':>8} {'ck wall':>8} {'ck cpu':>7} {'ck ate [95%]':>24} {'econml wall':>11} "
          f"{'econml ate [95%]':>24} {'within':>7}")
    for size in args.sizes:
        users = simulate_users(int(size), seed=0).users
        h, wall, cpu = timed(lambda u=users: run_ck(u))
        row = h.table.iloc[0]
        line = (f"{int(size):>8} {wall:>8.2f} {cpu:>7.2f} "
                f"{row['estimate']:>8.4f} [{row['conf_low']:.4f}, {row['conf_high']:.4f}]")
        if not args.skip_econml:
            (ate, low, high), e_wall, _ = timed(lambda u=users: run_econml(u))
            within = (low <= row["estimate"] <= high
                      and row["conf_low"] <= ate <= row["conf_high"])
            line += f" {e_wall:>11.2f} {ate:>8.4f} [{low:.4f}, {high:.4f}] {within!s:>7}"
        print(line, flush=True)
    print("truth (ITT of this draw):", round(float(np.mean(users["true_effect"])), 4))


if __name__ == "__main__":
    main()
