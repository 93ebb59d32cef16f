"""Staggered DiD: causal_kit vs csdid vs differences — time, peak memory and estimates.

Every run happens in a fresh subprocess (so peak memory is its own) on the same seeded panel:
``N`` units × 20 periods, four launch cohorts (periods 6, 9, 12, 15) and 40% never treated,
heterogeneous dynamic effects, optional time-invariant covariates that shift trends.

Usage (from the project root, in the benchmark environment that has the peers installed)::

    .venv-bench/bin/python benchmarks/bench_did.py                 # full table (slow: peers)
    .venv-bench/bin/python benchmarks/bench_did.py --sizes 1e4 1e5 --peer-limit 600

Columns: seconds for the estimator call only (data built before the clock starts), peak RSS of
the process and its increase over the data already in memory (MB), the overall (simple) ATT,
and the largest |ATT(g,t) difference| to causal_kit.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

PERIODS = 20
COHORTS = (6, 9, 12, 15)


def make_panel(n_units: int, n_cov: int, seed: int = 12345) -> pd.DataFrame:
    """Return the benchmark panel (columns id, year, first_treat, treated, y, x1..)."""
    rng = np.random.default_rng(seed)
    share = np.array([0.15] * len(COHORTS) + [0.4])
    cohort_idx = rng.choice(len(share), size=n_units, p=share / share.sum())
    g = np.array([*COHORTS, 0])[cohort_idx] + 2000  # first treated year, 2000 = never
    first = np.where(cohort_idx == len(COHORTS), 0, g)
    year = np.tile(np.arange(2001, 2001 + PERIODS, dtype=np.int64), n_units)
    uid = np.repeat(np.arange(1, n_units + 1, dtype=np.int64), PERIODS)
    f_rep = np.repeat(first, PERIODS)
    X = rng.normal(size=(n_units, n_cov))
    alpha = rng.normal(size=n_units) + 0.3 * (first > 0)
    trend = 0.05 * (year - 2001)
    y = np.repeat(alpha, PERIODS) + trend + rng.normal(scale=0.5, size=n_units * PERIODS)
    for j in range(n_cov):
        y += 0.02 * (year - 2001) * np.repeat(X[:, j], PERIODS)
    e = year - f_rep
    treated = (f_rep > 0) & (e >= 0)
    y += np.where(treated, 0.5 + 0.1 * e + 0.05 * (f_rep - 2010), 0.0)
    out = pd.DataFrame(
        {"id": uid, "year": year, "first_treat": f_rep, "treated": treated.astype(np.int8), "y": y}
    )
    for j in range(n_cov):
        out[f"x{j + 1}"] = np.repeat(X[:, j], PERIODS)
    return out


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next peak is the estimator's own."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def run_causal_kit(df: pd.DataFrame, covs: list[str], boot: bool) -> tuple[float, list[float]]:
    import causal_kit as ck

    est = ck.did(
        df,
        outcome="y",
        time="year",
        unit="id",
        treatment="treated",
        method="cs",
        covariates=covs,
        est_method="dr",
        bootstrap="multiplier" if boot else "none",
        n_boot=999,
        seed=1,
    )
    return est.estimate, est.details["att_gt"]["estimate"].tolist()


def run_csdid(df: pd.DataFrame, covs: list[str], boot: bool) -> tuple[float, list[float]]:
    from csdid.att_gt import ATTgt

    xf = None if not covs else "y ~ " + " + ".join(covs)
    with contextlib.redirect_stdout(io.StringIO()):
        a = ATTgt(
            yname="y",
            tname="year",
            idname="id",
            gname="first_treat",
            data=df,
            control_group="nevertreated",
            xformla=xf,
        ).fit(est_method="dr", bstrap=boot)
        a.aggte(typec="simple", bstrap=boot)
    return float(a.atte["overall_att"]), list(map(float, a.results["att"]))


def run_differences(df: pd.DataFrame, covs: list[str], boot: bool) -> tuple[float, list[float]]:
    from differences import ATTgt

    d = df.assign(first_treat=df["first_treat"].replace(0, np.nan)).set_index(["id", "year"])
    att = ATTgt(data=d, cohort_column="first_treat")
    formula = "y" if not covs else "y ~ " + " + ".join(covs)
    res = att.fit(
        formula=formula,
        est_method="dr",
        control_group="never_treated",
        progress_bar=False,
        boot_iterations=999 if boot else 0,
    )
    simple = att.aggregate("simple")
    cells = res.to_pandas() if hasattr(res, "to_pandas") else att.results()
    return float(simple.iloc[0, 0]), cells.iloc[:, 0].astype(float).tolist()


RUNNERS = {"causal_kit": run_causal_kit, "csdid": run_csdid, "differences": run_differences}
MODULES = {"causal_kit": "causal_kit", "csdid": "csdid.att_gt", "differences": "differences"}


def child(package: str, n_units: int, n_cov: int, boot: bool) -> None:
    """Build the panel, time one estimator call, print one JSON line."""
    warnings.simplefilter("ignore")
    importlib.import_module(MODULES[package])  # imports are not part of the timing
    df = make_panel(n_units, n_cov)
    covs = [f"x{j + 1}" for j in range(n_cov)]
    _reset_peak()
    base = _status_mb("VmRSS")
    start = time.perf_counter()
    simple, cells = RUNNERS[package](df, covs, boot)
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak,
                "delta_mb": peak - base,
                "simple": simple,
                "cells": cells,
            }
        )
    )


def measure(
    package: str, n: int, n_cov: int, boot: bool, limit: float, threads: int
) -> dict[str, object]:
    """Run one child process and return its JSON line (or the error)."""
    cmd = [sys.executable, __file__, "--child", package, str(n), str(n_cov), str(int(boot))]
    env = dict(os.environ)
    if threads > 0:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=limit, check=True, env=env
        )
    except subprocess.TimeoutExpired:
        return {"error": f">{limit:.0f}s (stopped)"}
    except subprocess.CalledProcessError as exc:
        return {"error": (exc.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["1e4", "1e5", "1e6"])
    p.add_argument("--peers", nargs="*", default=["csdid", "differences"])
    p.add_argument(
        "--settings",
        nargs="+",
        default=["plain", "covariates", "bootstrap"],
        choices=["plain", "covariates", "bootstrap"],
        help="which rows to run",
    )
    p.add_argument("--peer-limit", type=float, default=3600.0, help="seconds per run")
    p.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads of every run (0: library default). One thread is the fair setting "
        "on a shared 2-core machine: multi-threaded BLAS stalls under contention, and it "
        "stalls the peers far more than causal_kit.",
    )
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        pkg, n, k, b = args.child
        child(pkg, int(float(n)), int(k), bool(int(b)))
        return
    every = {
        "plain": ("no covariates, analytic SE", 0, False),
        "covariates": ("2 covariates, DR, analytic SE", 2, False),
        "bootstrap": ("no covariates, 999 multiplier draws", 0, True),
    }
    configs = [every[name] for name in args.settings]
    versions = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m; print(', '.join(p + ' ' + m.version(p) for p in "
            "('causal_kit', 'csdid', 'differences', 'numpy')))",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(
        f"# {PERIODS} periods, cohorts at periods {COHORTS}, 40% never treated; "
        f"{os.cpu_count()} CPUs; BLAS threads: {args.blas_threads or 'default'}; {versions}"
    )
    head = (
        f"{'N units':>9} {'setting':<36} {'package':<12} {'seconds':>9} {'peak MB':>8} "
        f"{'+MB':>7} {'speed-up':>9} {'simple ATT':>12} {'max|dATT(g,t)|':>15}"
    )
    print(head)
    print("-" * len(head))
    for size in args.sizes:
        n = int(float(size))
        for label, k, boot in configs:
            ck = measure("causal_kit", n, k, boot, args.peer_limit, args.blas_threads)
            rows = [("causal_kit", ck)]
            if not boot:
                rows += [
                    (peer, measure(peer, n, k, boot, args.peer_limit, args.blas_threads))
                    for peer in args.peers
                ]
            for pkg, r in rows:
                if "error" in r:
                    print(f"{n:>9,} {label:<36} {pkg:<12} {r['error']:>9}")
                    continue
                speed = ""
                diff = ""
                if pkg != "causal_kit" and "error" not in ck:
                    speed = f"{r['seconds'] / ck['seconds']:.0f}x"
                    a, b = np.array(r["cells"]), np.array(ck["cells"])
                    diff = f"{np.max(np.abs(a - b)):.1e}" if a.shape == b.shape else "n/a"
                print(
                    f"{n:>9,} {label:<36} {pkg:<12} {r['seconds']:>9.2f} {r['peak_mb']:>8.0f} "
                    f"{r['delta_mb']:>7.0f} {speed:>9} {r['simple']:>12.8f} {diff:>15}"
                )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
