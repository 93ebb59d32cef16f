"""Benchmark: events → region × week panel by build_panel, hand-written DuckDB SQL and Spark.

Usage::

    python benchmarks/bench_build_panel.py                      # 1e7 events
    python benchmarks/bench_build_panel.py --sizes 1e7 1e8      # both sizes (1e8 takes a while)
    python benchmarks/bench_build_panel.py --rounds 3 --no-spark

The 1e7-event log is simulated once (``ck.simulate``); larger logs are that log repeated with
the user ids shifted (so distinct users grow with the log), written once to parquet under
``benchmarks/results/``. Every run is its own process, and the runs interleave — build_panel,
SQL, build_panel, SQL, ... — so a busy machine slows both alike; the table shows the median wall
time per method and the ratio build_panel ÷ SQL from the same rounds. Wall time starts after
the imports (of causal_kit, duckdb, pandas, pyspark), after one untimed warm-up run of the same
method on the log's first file (so that what a method loads on first use, such as narwhals'
DuckDB backend, about 50 ms, is not timed) and, for Spark, after the session starts.
Peak memory is the largest resident set of the process and its children (the JVM, for Spark),
sampled every 50 ms.
Every method's panel is checked against build_panel's (counts exactly, sums to 1e-9).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
METRICS = ["active_users", "sessions", "revenue", "revenue_per_active_user", "task_success_rate"]
BASE_USERS = 210_000  # ~1e7 events over 180 days

SQL = """
WITH agg AS (
    SELECT region, date_trunc('week', date)::DATE AS week,
           count(DISTINCT user_id) AS active_users,
           count(*) FILTER (WHERE event = 'session') AS sessions,
           coalesce(sum(revenue), 0) AS revenue,
           count(*) FILTER (WHERE event = 'task') AS tasks,
           count(*) FILTER (WHERE event = 'task' AND task_success) AS successes,
           min(date) AS lo, max(date) AS hi
    FROM read_parquet('{glob}')
    GROUP BY ALL
), span AS (SELECT min(lo) AS lo, max(hi) AS hi FROM agg)
SELECT region, week, active_users::DOUBLE AS active_users, sessions::DOUBLE AS sessions, revenue,
       revenue / nullif(active_users, 0) AS revenue_per_active_user,
       successes / nullif(tasks, 0) AS task_success_rate
FROM agg, span
WHERE week >= span.lo AND week + 6 <= span.hi
ORDER BY region, week
"""


def run_causal_kit(events: Path) -> tuple[float, str]:
    from causal_kit import build_panel  # imports outside the timed span, for every method

    build_panel(_first(events), unit="region", time="week", metrics=METRICS)  # warm-up
    began = time.perf_counter()
    panel = build_panel(events, unit="region", time="week", metrics=METRICS)
    return time.perf_counter() - began, panel.to_json()


def _first(events: Path) -> Path:
    """The log's first file: every method's untimed warm-up run reads it."""
    return sorted(events.glob("*.parquet"))[0]


def run_sql(events: Path) -> tuple[float, str]:
    import duckdb
    import pandas  # noqa: F401  (loaded by .df(); imported here so it is not timed)

    con = duckdb.connect()
    con.sql(SQL.format(glob=_first(events))).df()  # warm-up
    began = time.perf_counter()
    panel = con.sql(SQL.format(glob=f"{events}/*.parquet")).df()
    return time.perf_counter() - began, panel.to_json()


def run_spark(events: Path) -> tuple[float, str]:
    from pyspark.sql import SparkSession

    from causal_kit import build_panel

    spark = (SparkSession.builder.master("local[2]").appName("bench_build_panel")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    build_panel(spark.read.parquet(str(_first(events))), unit="region", time="week",
                metrics=METRICS)  # warm-up
    began = time.perf_counter()
    frame = spark.read.parquet(str(events))
    panel = build_panel(frame, unit="region", time="week", metrics=METRICS)
    wall = time.perf_counter() - began
    spark.stop()
    return wall, panel.to_json()


RUNNERS = {"causal_kit": run_causal_kit, "sql": run_sql, "spark": run_spark}
LABELS = {"causal_kit": "ck.build_panel (DuckDB on parquet)",
          "sql": "one hand-written DuckDB statement",
          "spark": "ck.build_panel on Spark local[2]"}  # fmt: skip


def _tree_rss(proc: object) -> int:
    import psutil

    assert isinstance(proc, psutil.Process)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _spawn(method: str, events: Path) -> dict[str, object]:
    import psutil

    cmd = [sys.executable, __file__, "--worker", method, "--data", str(events)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc = psutil.Process(child.pid)
    peak = [0]

    def sample() -> None:
        while child.poll() is None:
            try:
                peak[0] = max(peak[0], _tree_rss(proc))
            except psutil.Error:
                return
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    sampler.join()
    if child.returncode:
        raise RuntimeError(f"{method} failed (exit {child.returncode})")
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak[0] / 2**20
    return result


def _base_log() -> Path:
    import causal_kit as ck

    data = RESULTS / "events_1e7"
    if not (data / "truth.json").is_file() or ck.load_simulation(data).n_users != BASE_USERS:
        began = time.perf_counter()
        sim = ck.simulate("staggered", n_users=BASE_USERS, n_days=180, seed=0, out_dir=data)
        print(f"simulated {sim.n_events:,} events in {time.perf_counter() - began:.0f}s")
    return data / "events"


def _log(copies: int) -> Path:
    """The base log repeated ``copies`` times with shifted user ids (written once)."""
    import duckdb

    base = _base_log()
    if copies == 1:
        return base
    out = RESULTS / f"events_x{copies}"
    if (out / ".complete").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    shift = con.execute(f"SELECT max(user_id) + 1 FROM read_parquet('{base}/*.parquet')").fetchone()
    assert shift is not None
    began = time.perf_counter()
    for k in range(copies):
        con.execute(f"""COPY (SELECT * REPLACE (user_id + {k} * {shift[0]} AS user_id)
                    FROM read_parquet('{base}/*.parquet'))
                    TO '{out}/part-{k:03d}.parquet' (FORMAT parquet)""")
    (out / ".complete").touch()
    print(f"wrote {copies} copies of the base log in {time.perf_counter() - began:.0f}s")
    return out


def _rows(events: Path) -> tuple[int, float]:
    import pyarrow.parquet as pq

    files = sorted(events.glob("*.parquet"))
    return (sum(pq.ParquetFile(p).metadata.num_rows for p in files),
            sum(p.stat().st_size for p in files) / 2**20)  # fmt: skip


def _same(a: str, b: str) -> bool:
    import pandas as pd

    x, y = pd.read_json(io.StringIO(a)), pd.read_json(io.StringIO(b))
    if x.shape != y.shape:
        return False
    return all(((x[m] - y[m]).abs() <= 1e-9 * (1 + y[m].abs())).all() for m in METRICS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e7"], help="event counts: 1e7, 1e8...")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per size")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark run")
    parser.add_argument("--worker", choices=list(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        wall, panel = RUNNERS[args.worker](args.data)
        print(json.dumps({"wall": wall, "panel": panel}))
        return

    print(f"events -> region x week panel; metrics {METRICS}\n")
    header = (f"{'events':>12} {'method':<36}{'wall s (median)':>16}{'runs':>6}"
              f"{'peak MB':>9}{'vs SQL':>8}{'same':>6}")  # fmt: skip
    lines: list[str] = []
    for size in args.sizes:
        copies = max(1, round(float(size) / 1e7))
        events = _log(copies)
        rows, mib = _rows(events)
        walls: dict[str, list[float]] = {"causal_kit": [], "sql": []}
        peaks: dict[str, float] = {}
        panels: dict[str, str] = {}
        for _ in range(args.rounds):
            for method in ("causal_kit", "sql"):
                r = _spawn(method, events)
                walls[method].append(float(r["wall"]))  # type: ignore[arg-type]
                peaks[method] = max(peaks.get(method, 0.0), float(r["peak_mb"]))  # type: ignore[arg-type]
                panels[method] = str(r["panel"])
        ratios = [a / b for a, b in zip(walls["causal_kit"], walls["sql"], strict=True)]
        methods = ["causal_kit", "sql"] + ([] if args.no_spark else ["spark"])
        for method in methods:
            if method == "spark":  # printed last: the slowest by far on one machine
                print("\n".join([header, *lines]), flush=True)
                header, lines = "", []
                r = _spawn("spark", events)
                walls["spark"] = [float(r["wall"])]  # type: ignore[arg-type]
                peaks["spark"] = float(r["peak_mb"])  # type: ignore[arg-type]
                panels["spark"] = str(r["panel"])
            times = walls[method]
            ratio = f"{statistics.median(ratios):.2f}" if method == "causal_kit" else ""
            same = _same(panels[method], panels["causal_kit"])
            lines.append(f"{rows:>12,} {LABELS[method]:<36}{statistics.median(times):>16.2f}"
                         f"{len(times):>6}{peaks[method]:>9.0f}{ratio:>8}{same!s:>6}")  # fmt: skip
        lines.append(f"{'':>12} ({mib:,.0f} MiB of parquet; per-round ratios "
                     f"{', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip
        print("\n".join([x for x in (header, *lines) if x]), flush=True)
        header = header or (f"{'events':>12} {'method':<36}{'wall s (median)':>16}{'runs':>6}"
                            f"{'peak MB':>9}{'vs SQL':>8}{'same':>6}")  # fmt: skip
        lines = []


if __name__ == "__main__":
    main()
