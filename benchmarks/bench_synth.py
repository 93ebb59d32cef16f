"""Synthetic control speed and agreement: causal_kit against pysyncon.

    .venv/bin/python benchmarks/bench_synth.py            # J = 20, 50, 100, 200
    .venv/bin/python benchmarks/bench_synth.py --quick    # J = 20, 50

One treated unit, J donors, 100 pre-launch and 20 post-launch periods from a seeded factor model.
Both packages solve the same problem: convex weights minimising the pre-launch squared gap (for
pysyncon, ``Synth.fit`` with the 100 pre-launch outcomes as predictors and ``custom_V`` equal to
their squared standard deviations, which undoes its predictor scaling). pysyncon is timed for
ONE fit per J; its placebo-in-space time is extrapolated as (J + 1) fits, as it refits from
scratch for every placebo. causal_kit's placebo time is measured (all J placebo refits plus the
main fit). Times are the best of a few repeats on this machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import causal_kit as ck

T0, T1 = 100, 20


def panel(J: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, T = J + 1, T0 + T1
    f = rng.normal(size=(T, 3)).cumsum(axis=0)
    load = rng.uniform(0, 2, size=(n, 3))
    load[J] = load[:5].mean(axis=0)
    y = 50 + load @ f.T + rng.normal(0, 1, size=(n, T))
    d = np.zeros((n, T), dtype=int)
    d[J, T0:] = 1
    y[J, T0:] += 2.0
    return pd.DataFrame({"unit": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n),
                         "y": y.ravel(), "d": d.ravel()})


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def ours(df: pd.DataFrame, method: str, inference: str):
    return ck.synthetic_control(df, outcome="y", unit="unit", time="t", treatment="d",
                                method=method, inference=inference, placebo_in_time=False,
                                leave_one_out=False)


def pysyncon_fit(df: pd.DataFrame, J: int) -> tuple[float, float]:
    from pysyncon import Synth

    wide = df.pivot(index="t", columns="unit", values="y")
    Z0, Z1 = wide[list(range(J))], wide[J]
    pre = list(range(T0))
    X0, X1 = Z0.loc[pre], Z1.loc[pre]
    v = pd.concat([X0, X1], axis=1).std(axis=1).to_numpy() ** 2
    synth = Synth()
    t = time.perf_counter()
    synth.fit(X0=X0, X1=X1, Z0=X0, Z1=X1, custom_V=v)
    elapsed = time.perf_counter() - t
    gaps = Z1.to_numpy() - Z0.to_numpy() @ synth.W
    return elapsed, float(gaps[T0:].mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [20, 50] if args.quick else [20, 50, 100, 200]
    rows = []
    for J in sizes:
        df = panel(J)
        t_fit, est = best_of(lambda df=df: ours(df, "sc", "none"), 3)
        t_plac, _ = best_of(lambda df=df: ours(df, "sc", "placebo"), 2)
        t_asc, _ = best_of(lambda df=df: ours(df, "asc", "placebo"), 1)
        t_sdid, _ = best_of(lambda df=df: ours(df, "sdid", "placebo"), 1)
        p_fit, p_est = pysyncon_fit(df, J)
        p_plac = p_fit * (J + 1)
        rows.append({
            "J": J,
            "pysyncon 1 fit s": p_fit,
            "pysyncon placebo s (=(J+1)×fit, extrap.)": p_plac,
            "ck 1 fit s": t_fit,
            "ck placebo s (measured)": t_plac,
            "placebo speed-up": p_plac / t_plac,
            "ck asc placebo s": t_asc,
            "ck sdid placebo s": t_sdid,
            "ATT pysyncon": p_est,
            "ATT ck": est.estimate,
            "|diff|": abs(p_est - est.estimate),
        })
        print(f"J={J} done", flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        print(f"\nOne treated unit, T0={T0} pre and T1={T1} post periods; sc = convex weights on "
              "the pre-launch path.")
        print("pysyncon placebo time is extrapolated from one timed fit as (J+1) fits.\n")
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
