"""Run many launches' reports as a scheduler would: every failure contained to its launch.

A config file is a JSON list of launches, each ``{"notebook": ..., "parameters": {...}}``,
validated against :class:`LaunchEntry` (unknown keys are errors). Every launch is checked (its
notebook, parameter names, types and choices) before any kernel starts; a launch that fails the
check, or fails while running, or runs past its timeout, is reported by name and the others still
run. Launches run in child processes, ``jobs`` at a time; a launch past its timeout is killed with
its kernel, and what it staged is swept by the next run.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, ValidationError

from causal_kit.core.errors import SpecificationError
from causal_kit.presentation.runner import (
    coerce_parameters,
    find_notebook,
    launch_name,
    rebuild_index,
    run_report,
)

log = logging.getLogger("causal_kit.report")

Scalar = StrictBool | StrictInt | StrictFloat | str


class LaunchEntry(BaseModel):
    """One launch of a config file: the notebook to run and its parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notebook: str = "attribution_report"
    parameters: dict[str, Scalar] = {}


@dataclass(frozen=True)
class Job:
    """A launch to run (``error`` set when it already failed its checks)."""

    name: str
    notebook: str
    parameters: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened to one launch: the line ``--json`` prints."""

    name: str
    status: str  # "ok", "failed" or "timeout"
    folder: str | None
    decision: str | None
    seconds: float
    error: str | None = None

    def to_json(self) -> str:
        """One machine-readable line."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


def read_config(path: Path) -> list[Job]:
    """Read and check a config file; an invalid launch becomes a job that has already failed.

    Raises
    ------
    SpecificationError
        If the file cannot be read or is not a JSON list of objects (nothing can run).
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecificationError(f"cannot read config {str(path)!r}: {exc}") from exc
    if not isinstance(raw, list):
        raise SpecificationError(
            f"config {str(path)!r} must be a JSON list of launches, each "
            '{"notebook": ..., "parameters": {...}}; got a JSON ' + type(raw).__name__ + "."
        )
    return [_entry_job(i, item) for i, item in enumerate(raw)]


def _entry_job(i: int, item: Any) -> Job:
    guess = f"#{i + 1}"
    if isinstance(item, dict) and isinstance(item.get("parameters"), dict):
        guess = str(item["parameters"].get("launch_name", guess))
    try:
        entry = LaunchEntry.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
        )
        return Job(guess, "", {}, f"config entry {i + 1} is invalid: {problems}.")
    return check_job(entry.notebook, dict(entry.parameters), fallback=guess)


def check_job(notebook: str, parameters: dict[str, Any], *, fallback: str = "") -> Job:
    """Resolve the notebook and check the parameters now, before any kernel starts."""
    name = str(parameters.get("launch_name", fallback or notebook))
    try:
        path = find_notebook(notebook)
        params = coerce_parameters(path, parameters)
        name = launch_name(path, params)
    except SpecificationError as exc:
        return Job(name, notebook, parameters, str(exc))
    return Job(name, str(path), params)


def run_batch(
    jobs: Sequence[Job], *, output_root: str | os.PathLike[str], run_date: str,
    n_jobs: int = 1, timeout: float | None = None, progress: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every job, ``n_jobs`` at a time, each in its own process; return their outcomes.

    The portfolio page is rebuilt once at the end, with this batch's failures on it.
    """
    outcomes: list[Outcome] = []
    bar = _bar(len(jobs), progress)

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        bar.update(1)
        if on_outcome is not None:
            on_outcome(outcome)

    pending = []
    for job in jobs:
        if job.error is not None:
            done(Outcome(job.name, "failed", None, None, 0.0, job.error))
        else:
            pending.append(job)
    ctx = mp.get_context("spawn")
    running: dict[Connection, tuple[Job, Any, float]] = {}
    while pending or running:
        while pending and len(running) < max(1, n_jobs):
            job = pending.pop(0)
            reader, writer = ctx.Pipe(duplex=False)
            # one launch: the index is rebuilt below as soon as it is done; several: each child
            # rebuilds it after publishing, so the page follows a long batch as it goes
            proc = ctx.Process(target=_child, args=(job, str(output_root), run_date, writer,
                                                    log.getEffectiveLevel(), len(jobs) > 1),
                               daemon=False)
            proc.start()
            writer.close()
            running[reader] = (job, proc, time.monotonic())
        ready = wait(list(running), timeout=_next_deadline(running, timeout))
        for conn in ready:
            reader = cast(Connection, conn)
            job, proc, started = running.pop(reader)
            done(_collect(reader, job, proc, started))
        if timeout is not None:
            for reader, (job, proc, started) in list(running.items()):
                if time.monotonic() - started > timeout:
                    _kill(proc)
                    running.pop(reader)
                    done(Outcome(job.name, "timeout", None, None,
                                 round(time.monotonic() - started, 1),
                                 f"did not finish within --timeout {timeout:g} s; stopped, "
                                 "nothing was written."))
    bar.close()
    failures = {o.name: o.error or o.status for o in outcomes if o.status != "ok"}
    rebuild_index(Path(output_root), failures=failures)
    return outcomes


def _next_deadline(running: dict[Connection, tuple[Job, Any, float]],
                   timeout: float | None) -> float | None:
    if timeout is None:
        return None
    now = time.monotonic()
    return max(0.05, min(started + timeout - now for _, _, started in running.values()))


def _collect(reader: Connection, job: Job, proc: Any, started: float) -> Outcome:
    try:
        result: Outcome = reader.recv()
    except (EOFError, OSError):
        proc.join()
        result = Outcome(job.name, "failed", None, None, round(time.monotonic() - started, 1),
                         f"the report process died (exit code {proc.exitcode}); nothing was "
                         "written.")
    finally:
        reader.close()
    proc.join()
    return result


def _kill(proc: Any) -> None:
    """Stop a launch's process and its kernel (they share a process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # not yet its own group: the kernel has not started either
        proc.kill()
    proc.join()


def _child(job: Job, output_root: str, run_date: str, writer: Connection, level: int,
           index: bool) -> None:
    os.setpgrp()  # the kernel joins this group, so a timeout stops both
    _die_with_parent()
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("causal_kit.report").setLevel(level)
    logging.getLogger("papermill").setLevel(max(level, logging.ERROR))
    start = time.monotonic()
    try:
        report = run_report(job.notebook, parameters=job.parameters, output_root=output_root,
                            run_date=run_date, index=index)
        outcome = Outcome(job.name, "ok", str(report.directory),
                          str(report.summary.get("decision")),
                          round(time.monotonic() - start, 1))
    except Exception as exc:  # any failure is this launch's, never the batch's
        outcome = Outcome(job.name, "failed", None, None, round(time.monotonic() - start, 1),
                          str(exc) or type(exc).__name__)
    writer.send(outcome)
    writer.close()
    # Everything is published and reported; skip the interpreter's teardown of the modules a
    # report imported (papermill, jupyter_client, the kit: about 0.5 s).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _die_with_parent() -> None:
    """Stop this launch and its kernel if the batch process goes away (e.g. killed)."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def _bar(total: int, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="launches", unit="launch", disable=not show, file=sys.stderr,
                leave=False)
