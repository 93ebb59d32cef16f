"""Calibration of ck.its on simulated daily series with a known effect.

The series are those of ``tests/test_its.py`` (200 days with the launch on day 170, and the
test's 140 days with the launch on day 112): a drifting random-walk level, a weekly pattern,
noise and a control series the outcome follows, a +5 effect from the launch on.
Printed, each with its Monte-Carlo standard error:

  coverage        share of 95% intervals of the average effect that cover the true +5
                  (target 90–98%), with the variances' estimation error (param_draws=40,
                  the default) and plug-in (param_draws=0)
  pointwise       share of the per-day 95% intervals that cover +5
  bias            mean estimate minus +5
  placebo_alarm   share of series *without* a launch whose ``placebo_in_time`` check fails
                  (its false-alarm rate; nominal 5%)
  pre_fit_alarm   the same for the ``pre_fit`` check (nominal 5%)
  placebo_power   share of series with a +6 launch 25 days *before* the declared date whose
                  ``placebo_in_time`` check fails

Usage::

    python benchmarks/bench_its.py                     # 1,000 series a shape, 200 for checks
    python benchmarks/bench_its.py --series 200 --check-series 50
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_its import EFFECT, N_PRE, launch_day, make_series

import causal_kit as ck


def _share(hits: int, n: int) -> str:
    p = hits / n
    return f"{p:.3f} ± {np.sqrt(p * (1 - p) / n):.3f}"


def calibration(n_series: int, seed: int, param_draws: int, n: int, n_pre: int) -> None:
    rng = np.random.default_rng(seed)
    hits, pointwise, errors = 0, 0.0, []
    began = time.perf_counter()
    for i in range(n_series):
        frame = make_series(rng, n=n, n_pre=n_pre)
        est = ck.its(frame, outcome="revenue", time="day", launch_date=launch_day(frame, n_pre),
                     controls=["web"], checks=False, seed=i, param_draws=param_draws)
        hits += est.ci[0] <= EFFECT <= est.ci[1]
        bp = est.by_period
        pointwise += float(((bp["conf_low"] <= EFFECT) & (EFFECT <= bp["conf_high"])).mean())
        errors.append(est.estimate - EFFECT)
    wall = time.perf_counter() - began
    print(f"days={n} pre={n_pre} param_draws={param_draws:<3} series={n_series}  "
          f"coverage {_share(hits, n_series)}  "
          f"pointwise {pointwise / n_series:.3f}  bias {np.mean(errors):+.3f} ± "
          f"{np.std(errors) / np.sqrt(n_series):.3f}  ({wall / n_series:.2f} s per series)")


def checks(n_series: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    placebo, pre_fit, power = 0, 0, 0
    for i in range(n_series):
        quiet = make_series(rng, effect=0.0)
        est = ck.its(quiet, outcome="revenue", time="day", launch_date=launch_day(quiet),
                     controls=["web"], seed=i)
        placebo += not est.check("placebo_in_time").passed
        pre_fit += not est.check("pre_fit").passed
        early = make_series(rng, effect=6.0, effect_start=N_PRE - 25)
        est = ck.its(early, outcome="revenue", time="day", launch_date=launch_day(early),
                     controls=["web"], seed=i)
        power += not est.check("placebo_in_time").passed
    print(f"series={n_series}  placebo_alarm {_share(placebo, n_series)}  pre_fit_alarm "
          f"{_share(pre_fit, n_series)}  placebo_power {_share(power, n_series)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--check-series", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    for n, n_pre in ((200, N_PRE), (140, 112)):
        calibration(args.series, args.seed, 40, n, n_pre)
        calibration(args.series, args.seed, 0, n, n_pre)
    checks(args.check_series, args.seed + 1)


if __name__ == "__main__":
    main()
