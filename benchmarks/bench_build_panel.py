"""Benchmark: build a region x week panel from ~10M events, against a naive pandas aggregation.

Usage::

    python benchmarks/bench_build_panel.py                 # simulate ~10M events once, then time
    python benchmarks/bench_build_panel.py --n-users 50000 # a smaller run

Each method runs in its own process so that its peak memory (max RSS) is its own. Wall time
counts the aggregation only (after imports); "peak RSS" is the whole process's maximum.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "benchmarks" / "results" / "events_10m"
METRICS = ["active_users", "sessions", "revenue", "revenue_per_active_user", "task_success_rate"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_causal_kit(events: Path) -> dict[str, object]:
    import causal_kit as ck

    base = _rss_mb()
    began = time.perf_counter()
    panel = ck.build_panel(events, unit="region", time="week", metrics=METRICS)
    wall = time.perf_counter() - began
    return {"wall": wall, "rss": _rss_mb(), "rss_base": base, "panel": panel.to_json()}


def run_pandas(events: Path) -> dict[str, object]:
    import pandas as pd

    base = _rss_mb()
    began = time.perf_counter()
    cols = ["user_id", "region", "date", "event", "task_success", "revenue"]
    ev = pd.read_parquet(events, columns=cols)
    ev["date"] = pd.to_datetime(ev["date"])
    ev["week"] = ev["date"] - pd.to_timedelta(ev["date"].dt.day_of_week, unit="D")
    ev["is_session"] = ev["event"] == "session"
    ev["is_task"] = ev["event"] == "task"
    ev["success"] = ev["is_task"] & ev["task_success"].fillna(False).astype(bool)
    g = ev.groupby(["region", "week"], observed=True).agg(
        active_users=("user_id", "nunique"),
        sessions=("is_session", "sum"),
        revenue=("revenue", "sum"),
        tasks=("is_task", "sum"),
        successes=("success", "sum"),
    )
    g["revenue_per_active_user"] = g["revenue"] / g["active_users"]
    g["task_success_rate"] = g["successes"] / g["tasks"]
    first, last = ev["date"].min(), ev["date"].max()
    weeks = g.index.get_level_values("week")
    g = g[(weeks >= first) & (weeks + pd.Timedelta(days=6) <= last)]  # whole weeks only
    panel = g.reset_index()[["region", "week", *METRICS]]
    wall = time.perf_counter() - began
    return {"wall": wall, "rss": _rss_mb(), "rss_base": base, "panel": panel.to_json()}


def _worker(method: str, events: Path) -> None:
    out = run_causal_kit(events) if method == "causal_kit" else run_pandas(events)
    print(json.dumps(out))


def _spawn(method: str, events: Path) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--worker", method, "--data", str(events)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _events(data: Path, n_users: int) -> tuple[Path, int]:
    import pyarrow.parquet as pq

    import causal_kit as ck

    events = data / "events"
    if not (data / "truth.json").is_file() or ck.load_simulation(data).n_users != n_users:
        began = time.perf_counter()
        sim = ck.simulate("staggered", n_users=n_users, n_days=180, seed=0, out_dir=data)
        print(f"simulated {sim.n_events:,} events in {time.perf_counter() - began:.1f}s")
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in events.glob("*.parquet"))
    return events, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-users", type=int, default=210_000, help="users (~48 events each)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worker", choices=["causal_kit", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.data)
        return
    import pandas as pd

    events, rows = _events(args.data, args.n_users)
    size = sum(p.stat().st_size for p in events.glob("*.parquet")) / 2**20
    results = {m: _spawn(m, events) for m in ("causal_kit", "pandas")}
    ours = pd.read_json(io.StringIO(str(results["causal_kit"]["panel"])))
    theirs = pd.read_json(io.StringIO(str(results["pandas"]["panel"])))
    same = ours.shape == theirs.shape and all(
        ((ours[m] - theirs[m]).abs() <= 1e-9 * (1 + theirs[m].abs())).all() for m in METRICS
    )
    print(f"\nbuild_panel, region x week, metrics {METRICS}")
    print(f"events: {rows:,} rows in {size:.0f} MiB of parquet; panel {len(ours)} rows; "
          f"same numbers: {same}\n")  # fmt: skip
    print(f"{'method':<34}{'rows':>12}{'wall s':>9}{'peak RSS MB':>13}{'after import MB':>17}")
    labels = {"causal_kit": "ck.build_panel (DuckDB on parquet)",
              "pandas": "pandas read_parquet + groupby"}  # fmt: skip
    for m, r in results.items():
        print(f"{labels[m]:<34}{rows:>12,}{r['wall']:>9.2f}{r['rss']:>13.0f}{r['rss_base']:>17.0f}")


if __name__ == "__main__":
    main()
