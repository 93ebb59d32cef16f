"""Speed of ck.rdd against rdrobust (and rddensity) on the same simulated data.

Data: the Lee (2008) calibration used in Calonico, Cattaneo and Titiunik's simulations —
running variable 2·Beta(2, 4) − 1, cutoff 0, fifth-order polynomial regression functions, normal
noise — plus one pre-treatment covariate for the balance check.

Columns printed, in seconds (one run each, after a warm-up on small data):
  rdrobust   rdrobust(y, x) with its defaults (mserd, triangular, nn variance)
  rddensity  rddensity(x) with its defaults
  ck_est     ck.rdd(..., checks=False): the same estimate and inference as rdrobust
  est/ref    ck_est / rdrobust (target: at most 1.1 at n = 1e7)
  ck_checks  every check: density test and curve, covariate balance, bandwidth sensitivity
             (6 bandwidths), 4 placebo cutoffs, plot data
  chk/est    ck_checks / (1.1 x rdrobust) (target: at most 2)
  |diff|     relative difference between the two estimates

Run with the benchmark environment (numba present, so rdrobust uses its compiled
nearest-neighbour loop) and, for comparison, with the project environment (rdrobust in pure
Python):
  .venv-bench/bin/python benchmarks/bench_rdd.py            # n = 1e5, 1e6, 1e7
  .venv/bin/python benchmarks/bench_rdd.py --sizes 1e5 1e6
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings

import numpy as np
import pandas as pd

import causal_kit as ck


def lee_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = 2 * rng.beta(2, 4, n) - 1
    left = 0.48 + 1.27 * x + 7.18 * x**2 + 20.21 * x**3 + 21.54 * x**4 + 7.33 * x**5
    right = 0.52 + 0.84 * x - 3.00 * x**2 + 7.99 * x**3 - 9.01 * x**4 + 3.56 * x**5
    y = np.where(x < 0, left, right) + rng.normal(0, 0.1295, n)
    z = 0.3 * x + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "x": x, "z": z})


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e5", "1e6", "1e7"])
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    from rddensity import rddensity
    from rdrobust import rdrobust

    warnings.simplefilter("ignore")
    numba = importlib.util.find_spec("numba") is not None
    warm = lee_data(5000, seed=1)
    rdrobust(warm["y"], warm["x"])
    ck.rdd(warm, outcome="y", running="x", cutoff=0.0, balance=["z"])
    print(f"rdrobust with numba: {numba}")
    head = (f"{'n':>10} {'rdrobust':>9} {'rddensity':>9} {'ck_est':>8} {'est/ref':>8} "
            f"{'ck_checks':>9} {'chk/est':>8} {'|diff|':>8}")
    print(head)
    print("-" * len(head))
    for size in args.sizes:
        n = int(float(size))
        d = lee_data(n)
        ref_t = dens_t = float("nan")
        ref_est = float("nan")
        if not args.skip_reference:
            r, ref_t = timed(lambda d=d: rdrobust(d["y"].to_numpy(), d["x"].to_numpy()))
            ref_est = float(r.coef.iloc[0, 0])
            _, dens_t = timed(lambda d=d: rddensity(d["x"].to_numpy()))
        est, est_t = timed(lambda d=d: ck.rdd(d, outcome="y", running="x", cutoff=0.0,
                                              checks=False))
        _, all_t = timed(lambda d=d: ck.rdd(d, outcome="y", running="x", cutoff=0.0,
                                            balance=["z"]))
        checks_t = max(all_t - est_t, 0.0)
        diff = abs(est.estimate - ref_est) / abs(ref_est)
        print(f"{n:>10.0e} {ref_t:>9.2f} {dens_t:>9.2f} {est_t:>8.2f} {est_t / ref_t:>8.2f} "
              f"{checks_t:>9.2f} {checks_t / (1.1 * ref_t):>8.2f} {diff:>8.1e}", flush=True)


if __name__ == "__main__":
    main()
