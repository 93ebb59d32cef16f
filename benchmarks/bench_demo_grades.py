"""The confidence grade and decision of the staggered demo world over many seeds.

Each seed simulates the staggered regional rollout (20k users by default), runs the whole
launch analysis as the report does, and prints the grade, the decision with its rule, whether
the interval covers the true revenue effect, and the reasons that lowered the grade. It is how
one checks that "low" comes with a reason a reader would accept and that clear launches can
reach "ship".

  .venv/bin/python benchmarks/bench_demo_grades.py --seeds 24 --users 20000
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
import warnings
from pathlib import Path

import causal_kit as ck


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=24)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--scenario", default="staggered")
    args = parser.parse_args()
    grades: collections.Counter[str] = collections.Counter()
    decisions: collections.Counter[str] = collections.Counter()
    covered = 0
    print(f"{'seed':>4} {'grade':>6} {'decision':>15} {'rule':>14} {'covers':>6} {'s':>5}  reasons")
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            ck.simulate(scenario=args.scenario, n_users=args.users, seed=seed, out_dir=tmp)
            truth = json.loads((Path(tmp) / "truth.json").read_text())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = ck.analyze_launch(f"{tmp}/events", launch=ck.load_launch(tmp),
                                      users=f"{tmp}/users.parquet")
            seconds = time.perf_counter() - t0
        true_att = (truth.get("att") or {}).get("revenue", {}).get("effect")
        hit = true_att is not None and a.primary.ci[0] <= true_att <= a.primary.ci[1]
        covered += hit
        grades[a.scorecard.grade] += 1
        decisions[f"{a.decision.action} ({a.decision.rule})"] += 1
        reasons = "; ".join(r[:90] for r in a.scorecard.reasons) or "-"
        print(f"{seed:>4} {a.scorecard.grade:>6} {a.decision.action:>15} {a.decision.rule:>14} "
              f"{'yes' if hit else 'no':>6} {seconds:>5.1f}  {reasons}")
    print(f"\ngrades: {dict(grades)}\ndecisions: {dict(decisions)}\n"
          f"interval covers the true revenue effect: {covered}/{args.seeds}")


if __name__ == "__main__":
    main()
