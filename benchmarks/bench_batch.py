"""The batch under stress, as a scheduler meets it (not run by the test suite).

    python benchmarks/bench_batch.py poisoned   # 20 launches, 4 poisoned: --jobs 1 vs --jobs 2
    python benchmarks/bench_batch.py kill [N]   # N (10) runs SIGKILLed at moments over a run

``poisoned``: 16 good launches sharing one tiny demo data set plus a missing folder, a corrupted
parquet file, an unknown parameter and a value of the wrong type. Checks that every good report is
written, each failed launch is named, nothing is left for them, and the exit code is 1; prints
the wall time of each ``--jobs`` setting.

``kill``: times one full run, then starts ``causal-kit report`` ten times and SIGKILLs its whole
process group at 5%, 15%, ... 95% of that time. After every kill the output root must hold only
complete reports (and the index), and a rerun must succeed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import causal_kit as ck

DAY = "2026-07-01"
CLI = [sys.executable, "-m", "causal_kit.presentation.cli"]
PARTS = {"report.html", "report.ipynb", "summary.json"}


def tiny_demo(where: Path) -> Path:
    ck.make_demo(out_dir=where, scenarios=("staggered",), n_users=3000, n_days=120)
    return where / "staggered"


def only_complete(root: Path) -> list[str]:
    """Return what under ``root`` is not a complete report (empty when all is well)."""
    bad = []
    if not root.exists():
        return bad
    for entry in root.iterdir():
        if entry.name == "index.html":
            continue
        if not entry.is_dir():
            bad.append(entry.name)
            continue
        for run in entry.iterdir():
            if not run.is_dir() or {p.name for p in run.iterdir()} != PARTS:
                bad.append(f"{entry.name}/{run.name}")
    return bad


def poisoned(work: Path) -> None:
    good = tiny_demo(work / "demo")
    corrupt = work / "corrupt"
    shutil.copytree(good, corrupt)
    part = sorted((corrupt / "events").glob("*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:200])
    launches = [{"parameters": {"launch_name": f"good-{i:02d}", "data_dir": str(good)}}
                for i in range(16)]
    launches[3:3] = [{"parameters": {"launch_name": "missing", "data_dir": str(work / "no")}}]
    launches[8:8] = [{"parameters": {"launch_name": "corrupt", "data_dir": str(corrupt)}}]
    launches[12:12] = [{"parameters": {"launch_name": "unknown", "colour": "blue"}}]
    launches[17:17] = [{"parameters": {"launch_name": "badtype", "level": "high"}}]
    config = work / "launches.json"
    config.write_text(json.dumps(launches))
    for jobs in (1, 2):
        out = work / f"reports-{jobs}"
        start = time.perf_counter()
        proc = subprocess.run([*CLI, "report", "--config", str(config), "--output", str(out),
                               "--run-date", DAY, "--jobs", str(jobs), "--json"],
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        rows = [json.loads(line) for line in proc.stdout.splitlines()]
        failed = sorted(r["name"] for r in rows if r["status"] != "ok")
        written = sorted(p.name for p in out.iterdir() if p.is_dir())
        assert proc.returncode == 1, proc.returncode
        assert failed == ["badtype", "corrupt", "missing", "unknown"], failed
        assert written == [f"good-{i:02d}" for i in range(16)], written
        assert all(f"launch {n}:" in proc.stderr for n in failed)
        assert only_complete(out) == []
        print(f"--jobs {jobs}: 20 launches (4 poisoned) in {seconds:.0f} s; exit 1; "
              f"16 reports written; failed named: {failed}")


def kill(work: Path, kills: int = 10) -> None:
    good = tiny_demo(work / "demo")
    out = work / "reports"
    args = [*CLI, "report", "-p", "data_dir", str(good), "--output", str(out),
            "--run-date", DAY]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    full = time.perf_counter() - start
    print(f"one run: {full:.0f} s")
    for k in range(kills):
        at = full * (k + 0.5) / kills
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(at)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(1.5)  # the launch process notices its parent is gone and stops its group
        bad = only_complete(out)
        rerun = subprocess.run(args, capture_output=True, text=True, check=False)
        runs = sorted(p.name for p in (out / "assistant-v2").iterdir())
        print(f"kill at {at:5.1f} s: incomplete under reports/: {bad or 'none'}; "
              f"rerun exit {rerun.returncode}; runs now {len(runs)}")
        assert bad == [] and rerun.returncode == 0, (bad, rerun.stderr[-500:])


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "poisoned"
    with tempfile.TemporaryDirectory(prefix="ck-bench-batch-") as tmp:
        if mode == "kill":
            kill(Path(tmp), int(sys.argv[2]) if len(sys.argv) > 2 else 10)
        else:
            poisoned(Path(tmp))
