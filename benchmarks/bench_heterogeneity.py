"""Speed of ck.heterogeneity against EconML's LinearDML, on the same estimand and features.

Data: :func:`causal_kit.simulate.truth_mechanisms.simulate_users`, a randomized holdout of
``n`` users with five features (segment, region tier, tenure, pre-period sessions, score) and
revenue as the outcome.

Printed, per size (wall-clock seconds, one run each after a warm-up on small data; every fit
under ``threadpool_limits(1, "openmp")``, so the machine's other work keeps its cores):
  ck        ck.heterogeneity(...) with its defaults: LinearDRLearner with cross-fitted linear
            nuisances and the arm's share as the propensity, doubly robust group effects and
            quintiles, the policy tree (target: at most 10 s wall on 2 cores at n = 1e5)
  default   econml.dml.LinearDML() with its defaults (automatic nuisance model selection for
            the outcome *and* the propensity), on the same features: the speed reference
  arm       econml.dml.LinearDML() with its automatic outcome model but the arm's share as the
            propensity (DummyClassifier), the estimand ck targets in a randomized holdout
  within    whether ck's average effect lies inside the arm-propensity LinearDML's interval and
            that one's inside ck's interval

Why the propensity matters (found when ``within`` came out False against the plain default):
the features and the estimand (the average effect over the users) are the same, but LinearDML's
default picks a random-forest classifier for the propensity even though the arm is randomized.
Its final stage regresses the outcome residual on the treatment residual times the features,
weighted by the squared treatment residuals; a forest's propensity varies with the features
(noise around the true 1/2), so the weights do too, and with an effect that is not linear in the
features the mean of the fitted linear effect becomes a *weighted* average of the user effects,
not the average effect. Measured at n = 2e4, seed 0: ck 0.568 [0.464, 0.672]; LinearDML with
linear nuisances 0.569; with the default outcome model and the arm's propensity 0.567; with the
default propensity (random forest) 0.477 [0.377, 0.574]; truth 0.531.

Measured 2026-12-02 (n = 1e5, seed 0, 2 cores shared with other work, load average 2-4;
``.venv/bin/python benchmarks/bench_heterogeneity.py``)::

    n = 100000: truth (ITT of this draw) 0.5348
      ck          1.80 s  0.5150 [0.4684, 0.5616]
      arm       183.73 s  0.5165 [0.4696, 0.5634]  within: True
      default   376.15 s  0.4522 [0.4079, 0.4965]  within: False

The earlier record (ck 7.6 s, LinearDML default 1010 s) was taken at load average 15 without
the thread limit; the default's 0.452 is the same number then and now.

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
from threadpoolctl import threadpool_limits

import causal_kit as ck
from causal_kit.simulate.truth_mechanisms import simulate_users

FEATURES = ["segment", "region_tier", "tenure_days", "pre_sessions", "score"]


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def run_ck(users: pd.DataFrame) -> ck.Heterogeneity:
    return ck.heterogeneity(users, outcome="revenue", treatment="exposed", features=FEATURES)


def run_econml(users: pd.DataFrame, propensity: str) -> tuple[float, float, float]:
    """LinearDML's average effect and 95% interval; ``propensity``: "default" or "arm"."""
    from econml.dml import LinearDML
    from sklearn.dummy import DummyClassifier

    x = pd.get_dummies(users[FEATURES], columns=["segment"], drop_first=True, dtype=float)
    model_t = {"arm": {"model_t": DummyClassifier(strategy="prior")}, "default": {}}[propensity]
    est = LinearDML(discrete_treatment=True, random_state=0, **model_t)
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
    with threadpool_limits(1, "openmp"):
        run_ck(simulate_users(2000, seed=9).users)  # warm-up: imports
        for size in args.sizes:
            users = simulate_users(int(size), seed=0).users
            h, wall, _ = timed(lambda u=users: run_ck(u))
            row = h.table.iloc[0]
            print(f"n = {int(size)}: truth (ITT of this draw) "
                  f"{float(np.mean(users['true_effect'])):.4f}")
            print(f"  ck       {wall:7.2f} s  {row['estimate']:.4f} "
                  f"[{row['conf_low']:.4f}, {row['conf_high']:.4f}]", flush=True)
            if args.skip_econml:
                continue
            for propensity in ("arm", "default"):
                (ate, low, high), e_wall, _ = timed(lambda u=users, p=propensity:
                                                    run_econml(u, p))
                within = (low <= row["estimate"] <= high
                          and row["conf_low"] <= ate <= row["conf_high"])
                print(f"  {propensity:<8} {e_wall:7.2f} s  {ate:.4f} [{low:.4f}, {high:.4f}]  "
                      f"within: {within}", flush=True)


if __name__ == "__main__":
    main()
