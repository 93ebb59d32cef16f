"""Command line: ``python -m causal_kit.simulate --out data/demo``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from causal_kit.core.errors import CausalKitError
from causal_kit.simulate.api import SCENARIOS, make_demo


def main(argv: Sequence[str] | None = None) -> int:
    """Write the demo scenarios; return the exit code (0 ok, 2 bad arguments)."""
    parser = argparse.ArgumentParser(
        prog="python -m causal_kit.simulate",
        description="Write simulated launch data (events, users, truth) for every scenario.",
    )
    parser.add_argument("--out", default="data/demo", help="output folder (default data/demo)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS,
                        help="scenario to write (repeatable; default: all)")  # fmt: skip
    parser.add_argument("--n-users", type=int, default=50_000)
    parser.add_argument("--n-days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="rewrite existing scenarios")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        sims = make_demo(args.out, n_users=args.n_users, n_days=args.n_days, seed=args.seed,
                         overwrite=args.overwrite, scenarios=tuple(args.scenario or SCENARIOS),
                         progress=args.progress)  # fmt: skip
    except CausalKitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, sim in sims.items():
        print(f"{name:15s} {sim.n_events:>11,d} events  {sim.out_dir}")
    print(f"done in {time.perf_counter() - began:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
