"""Publishing without a half-written report, and a batch command whose checks run before any
kernel: slugs, staging, locks, kills, the config schema and the exit codes."""

from __future__ import annotations

import ast
import json
import multiprocessing as mp
import os
import re
import signal
import time
from pathlib import Path

import pytest

from causal_kit.core.errors import SpecificationError
from causal_kit.presentation import cli
from causal_kit.presentation.batch import check_job, read_config, run_batch
from causal_kit.presentation.publish import (
    SLUG_MAX,
    check_output_root,
    output_root_of,
    publish,
    slug,
    staged,
    staging_root,
    sweep,
)

DAY = "2026-07-01"


def test_folder_safe_names_are_kept_and_every_other_name_gets_a_hash():
    assert slug("assistant-v2") == "assistant-v2"
    names = ["assistant v2", "assistant/v2", "assistant_v2", "助手", "помощник", "index.html",
             "x" * 300, "x" * 301]
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    assert all(s.isascii() and "/" not in s and not s.startswith(".") for s in slugs)
    assert all(len(s) <= SLUG_MAX + 9 for s in slugs)
    assert slug("assistant v2").startswith("assistant-v2-") and slug("助手").startswith("launch-")


def test_output_root_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "reports"
    target.write_text("not a folder")
    with pytest.raises(SpecificationError, match=r"is not a folder .* is a file\); pass --output"):
        check_output_root(target)
    with pytest.raises(SpecificationError, match="is a file"):
        check_output_root(target / "inside")


def test_staging_is_beside_the_root_and_maps_back(tmp_path):
    root = tmp_path / "reports"
    with staged(root, "launch") as folder:
        assert folder.parent == staging_root(root) == tmp_path / ".reports.staging"
        assert output_root_of(folder) == root.resolve()
        (folder / "report.html").write_text("x")
    assert not root.exists()  # nothing published, nothing left
    assert list(staging_root(root).glob("launch.*")) == []


def _publisher(root: str, barrier) -> None:
    with staged(Path(root), "same") as folder:
        (folder / "summary.json").write_text(json.dumps({"pid": os.getpid()}))
        barrier.wait()
        publish(folder, Path(root), "same", DAY)


def test_four_publishers_of_one_launch_and_day_take_turns(tmp_path):
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_publisher, args=(str(tmp_path / "r"), barrier))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    runs = sorted(p.name for p in (tmp_path / "r" / "same").iterdir())
    assert runs == [DAY, f"{DAY}.2", f"{DAY}.3", f"{DAY}.4"]
    pids = {json.loads((tmp_path / "r" / "same" / r / "summary.json").read_text())["pid"]
            for r in runs}
    assert len(pids) == 4


def _killed_mid_run(root: str, moment: int) -> None:
    with staged(Path(root), "killed") as folder:
        for i in range(3):
            (folder / f"part-{i}").write_text("half" * 1000)
            if i == moment:
                os.kill(os.getpid(), signal.SIGKILL)
        publish(folder, Path(root), "killed", DAY)
        if moment == 3:
            os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("moment", [0, 2, 3])
def test_a_killed_run_leaves_nothing_but_complete_reports_and_is_swept(tmp_path, moment):
    root = tmp_path / "reports"
    proc = mp.get_context("fork").Process(target=_killed_mid_run, args=(str(root), moment))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    published = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) \
        if root.exists() else []
    if moment == 3:  # killed after the rename: the report is whole
        assert published == ["killed", f"killed/{DAY}", *(f"killed/{DAY}/part-{i}"
                                                           for i in range(3))]
    else:
        assert published == []
        assert len(sweep(root)) == 1  # the dead run's staging folder
    assert not [p for p in staging_root(root).iterdir() if p.is_dir()]
    with staged(root, "killed") as folder:  # and the next run goes through
        (folder / "part-0").write_text("whole")
        final = publish(folder, root, "killed", DAY)
    assert final.name == (f"{DAY}.2" if moment == 3 else DAY)


def test_a_live_run_is_never_swept(tmp_path):
    root = tmp_path / "reports"
    with staged(root, "live") as folder:
        (folder / "x").write_text("in progress")
        assert sweep(root) == []
        assert (folder / "x").exists()


@pytest.mark.parametrize(("config", "message"), [
    ([{"parameters": "launch_name=x"}], r"config entry 1 is invalid: parameters: Input should "
                                        "be a valid dictionary"),
    ([{"parameters": {"launch_name": "a"}, "colour": 1}], r"colour: Extra inputs are not "
                                                          "permitted"),
    ([{"parameters": {"launch_name": "a", "level": [1]}}], r"parameters\.level"),
    ([{"parameters": {"launch_name": "a", "design": "foo"}}],
     r"design='foo' is not a valid option; use one of 'auto', 'did', 'sc', 'rdd'"),
    ([{"parameters": {"launch_name": "a", "time_grain": "year"}}],
     r"time_grain='year' is not a valid option; use one of 'day', 'week', 'month'"),
])
def test_each_config_entry_is_checked_against_the_schema(tmp_path, config, message):
    path = tmp_path / "launches.json"
    path.write_text(json.dumps(config))
    [job] = read_config(path)
    assert job.error is not None
    assert re.search(message, job.error), job.error


def test_a_config_that_is_not_a_list_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "launches.json"
    path.write_text(json.dumps({"launches": []}))
    assert cli.main(["report", "--config", str(path), "--output", str(tmp_path / "o")]) == 2
    assert "must be a JSON list of launches" in capsys.readouterr().err
    path.write_bytes(b"\xff\xfe[")
    assert cli.main(["report", "--config", str(path), "--output", str(tmp_path / "o")]) == 2
    assert "cannot read config" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["-p", "design", "foo"], r"design='foo' is not a valid option; use one of 'auto', 'did'"),
    (["-p", "time_grain", "hour"], r"time_grain='hour' is not a valid option"),
    (["--run-date", "July 1st"], r"run_date 'July 1st' is not an ISO date"),
])
def test_invalid_choices_exit_2_before_any_kernel(tmp_path, capsys, args, message):
    started = time.monotonic()
    assert cli.main(["report", *args, "--output", str(tmp_path / "out")]) == cli.EXIT_USAGE
    assert re.search(message, capsys.readouterr().err)
    assert time.monotonic() - started < 10  # no kernel was started
    assert not (tmp_path / "out").exists()


def test_output_that_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "out"
    target.write_text("")
    assert cli.main(["report", "--output", str(target)]) == cli.EXIT_USAGE
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--jobs", "0"], ["--timeout", "-1"], ["--jobs", "two"]])
def test_bad_jobs_or_timeout_exit_2(args, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["report", *args])
    assert stop.value.code == 2


def test_a_launch_past_its_timeout_is_stopped_and_leaves_nothing(tmp_path):
    job = check_job("attribution_report", {"launch_name": "slow", "data_dir": "nowhere"})
    assert job.error is None
    out = tmp_path / "reports"
    [outcome] = run_batch([job], output_root=out, run_date=DAY, timeout=0.5)
    assert outcome.status == "timeout" and outcome.folder is None
    assert "did not finish within --timeout 0.5 s; stopped, nothing was written" in outcome.error
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert "launch slow" in (out / "index.html").read_text()


def test_cli_module_imports_only_the_standard_library():
    tree = ast.parse(Path(cli.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {(n.module if isinstance(n, ast.ImportFrom) else n.names[0].name) for n in top}
    assert names <= {"__future__", "argparse", "logging", "sys", "collections.abc", "pathlib"}


def test_index_command_writes_a_page_for_an_empty_root(tmp_path, capsys):
    assert cli.main(["index", "--output", str(tmp_path / "r")]) == cli.EXIT_OK
    page = (tmp_path / "r" / "index.html").read_text()
    assert "No published report yet" in page
    assert "index written" in capsys.readouterr().out



# --- end to end: papermill runs of the real notebook on tiny demo data -------------------------

TINY = {"n_users": 3000, "n_days": 120}


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    import causal_kit as ck

    out = tmp_path_factory.mktemp("tiny")
    ck.make_demo(out_dir=out, scenarios=("staggered",), **TINY)
    return out / "staggered"


@pytest.mark.slow
def test_a_poisoned_batch_writes_the_good_reports_names_each_failure_and_leaves_nothing(
        tiny_demo, tmp_path, capsys):
    import shutil

    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_demo, corrupt)
    part = sorted((corrupt / "events").glob("*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:200])
    good = str(tiny_demo)
    config = tmp_path / "launches.json"
    config.write_text(json.dumps([
        {"parameters": {"launch_name": "good one", "data_dir": good}},
        {"parameters": {"launch_name": "missing", "data_dir": str(tmp_path / "nowhere")}},
        {"parameters": {"launch_name": "corrupt", "data_dir": str(corrupt)}},
        {"parameters": {"launch_name": "unknown", "data_dir": good, "colour": "blue"}},
        {"parameters": {"launch_name": "badtype", "data_dir": good, "level": "high"}},
    ]))
    out = tmp_path / "reports"
    code = cli.main(["report", "--config", str(config), "--output", str(out),
                     "--run-date", DAY, "--jobs", "2", "--json"])
    captured = capsys.readouterr()
    assert code == cli.EXIT_FAILED
    lines = {row["name"]: row for row in map(json.loads, captured.out.splitlines())}
    assert {n: r["status"] for n, r in lines.items()} == {
        "good one": "ok", "missing": "failed", "corrupt": "failed", "unknown": "failed",
        "badtype": "failed"}
    ok = lines["good one"]
    assert ok["folder"] == str(out / slug("good one") / DAY) and ok["seconds"] > 0
    assert ok["decision"] in ("ship", "iterate", "roll back", "keep measuring")
    err = captured.err
    assert re.search(r"launch missing: .*no launch spec at", err)
    assert re.search(r"launch corrupt: .*cannot read '.*part-00000\.parquet'", err)
    assert "launch unknown: attribution_report has no parameter 'colour'" in err
    assert "launch badtype: parameter 'level' must be float; got 'high'" in err
    assert "Kernel is running over TCP" not in err  # the kernel's chatter stays off the console
    assert sorted(p.name for p in out.iterdir()) == [slug("good one"), "index.html"]
    assert sorted(p.name for p in (out / slug("good one") / DAY).iterdir()) == [
        "report.html", "report.ipynb", "summary.json"]
    assert not [p for p in staging_root(out).iterdir() if p.is_dir()]
    index = (out / "index.html").read_text()
    assert "good one" in index and "launch corrupt" in index and "launch missing" in index


@pytest.mark.slow
def test_two_runs_of_a_day_are_both_kept_byte_identical_and_the_index_shows_the_trend(
        tiny_demo, tmp_path):
    import causal_kit as ck

    out = tmp_path / "reports"
    params = {"data_dir": str(tiny_demo)}
    first = ck.run_report(parameters=params, output_root=out, run_date=DAY)
    second = ck.run_report(parameters=params, output_root=out, run_date=DAY)
    assert (first.directory.name, second.directory.name) == (DAY, f"{DAY}.2")
    assert (first.directory / "summary.json").read_bytes() == \
        (second.directory / "summary.json").read_bytes()
    html = second.html.read_text()
    assert "Over time" in html and "1 earlier run(s)" in html
    index = out / "index.html"
    page = index.read_text()
    assert page.count('href="assistant-v2/') == 2
    assert page.count('<circle') == 2  # one dot per run in the launch's trend

    from browser import check_page, chromium_path

    if chromium_path() is None:
        pytest.skip("Chromium is not installed: run `make browser` for the browser check")
    seen = check_page(index, "#launches", tmp_path / "index.png", 1280, 800)
    assert seen.errors == []
    assert seen.element_top is not None and seen.element_top < 200
    assert "assistant-v2" in seen.text and "2 run(s)" in seen.text


def test_engine_sums_do_not_depend_on_row_order():
    import math

    import numpy as np
    import pandas as pd

    import causal_kit as ck

    rng = np.random.default_rng(1)
    n = 40_000
    events = pd.DataFrame({
        "user_id": rng.integers(0, 500, n), "region": rng.choice(["a", "b"], n),
        "date": pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 28, n), unit="D"),
        "revenue": rng.exponential(7.3, n), "event": "purchase",
    })
    shuffled = events.sample(frac=1.0, random_state=2).reset_index(drop=True)
    panels = [ck.build_panel(e, unit="region", time="week", metrics=["revenue"])
              for e in (events, shuffled)]
    assert panels[0]["revenue"].to_numpy().tobytes() == panels[1]["revenue"].to_numpy().tobytes()
    week = events["date"].dt.to_period("W-SUN").dt.start_time
    exact = {k: math.fsum(g) for k, g in events.groupby(["region", week])["revenue"]}
    for row in panels[0].itertuples():
        assert row.revenue == pytest.approx(exact[(row.region, row.week)], abs=1e-6 * n)
