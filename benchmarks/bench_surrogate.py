"""Time and peak memory of ck.surrogate_index on 1e6 launch users (and as many reference users).

The data follow the generator of tests/test_surrogate.py: three 14-day surrogates, one pre-launch
covariate, 90-day revenue that depends on the user only through them; half the users treated in
a holdout. Each size runs in a fresh subprocess so its peak RSS is its own.

  .venv/bin/python benchmarks/bench_surrogate.py              # 1e5 and 1e6, linear and boosting
  .venv/bin/python benchmarks/bench_surrogate.py --sizes 1e6 --models linear
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BETA = np.array([6.0, 2.5, 1.2])


def users(rng: np.random.Generator, n: int, treated: np.ndarray | float) -> pd.DataFrame:
    d = np.broadcast_to(np.asarray(treated, dtype=float), (n,)).copy()
    pre = rng.gamma(2.0, 3.0, n)
    trait = rng.normal(0, 1, n)
    s = np.column_stack([0.55 + 0.08 * trait + 0.05 * d + rng.normal(0, 0.06, n),
                         0.5 * pre + 1.5 * trait + 0.8 * d + rng.normal(0, 2.0, n),
                         6 + 1.2 * trait + 0.7 * d + rng.normal(0, 1.5, n)])
    y = 3.0 + s @ BETA + 0.4 * pre + rng.normal(0, 4.0, n)
    return pd.DataFrame({"success_14d": s[:, 0], "revenue_14d": s[:, 1],
                         "active_days_14d": s[:, 2], "pre_revenue": pre,
                         "treated": d.astype(int), "revenue_90d": y})


def one(n: int, model: str) -> dict[str, float]:
    import causal_kit as ck

    rng = np.random.default_rng(0)
    ref = users(rng, n, 0.0)
    launch = users(rng, n, (rng.random(n) < 0.5).astype(float)).drop(columns="revenue_90d")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    est = ck.surrogate_index(launch, reference=ref, long_term="revenue_90d",
                             surrogates=["success_14d", "revenue_14d", "active_days_14d"],
                             covariates=["pre_revenue"], model=model, n_boot=20)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    truth = float(BETA @ np.array([0.05, 0.8, 0.7]))
    return {"n": n, "model": model, "seconds": seconds, "peak_mb": peak,
            "data_mb": base, "estimate": est.estimate, "ci_low": est.ci[0],
            "ci_high": est.ci[1], "truth": truth}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6])
    parser.add_argument("--models", nargs="+", default=["linear", "boosting"])
    parser.add_argument("--child", nargs=2, metavar=("N", "MODEL"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(int(float(args.child[0])), args.child[1])))
        return
    print(f"{'n':>9} {'model':>9} {'seconds':>8} {'peak MB':>8} {'data MB':>8} "
          f"{'estimate':>9} {'95% interval':>20} {'truth':>6}")
    for n in args.sizes:
        for model in args.models:
            out = subprocess.run([sys.executable, __file__, "--child", str(n), model],
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{r['n']:>9,} {r['model']:>9} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f} "
                  f"{r['data_mb']:>8.0f} {r['estimate']:>9.3f} "
                  f"[{r['ci_low']:>8.3f}, {r['ci_high']:>8.3f}] {r['truth']:>6.2f}")


if __name__ == "__main__":
    main()
