"""Run a report notebook through papermill and publish it atomically.

A report lands in ``<output_root>/<launch>/<run-date>/`` (``<run-date>.2`` for a second run that
day, and so on: earlier runs stay readable) as ``report.ipynb`` (executed), ``report.html``
(self-contained, code hidden) and ``summary.json``. It is built in a staging folder outside the
output root and renamed into place only when every part exists and the summary is valid: a failed
or killed run leaves nothing in the output root (see :mod:`causal_kit.presentation.publish`).
After every publish ``<output_root>/index.html`` is rebuilt from the published summaries.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from jupyter_client.manager import AsyncKernelManager

from causal_kit.core.errors import ReportError, SpecificationError
from causal_kit.core.imports import SLOW_OPTIONAL, without
from causal_kit.core.options import Grain, LaunchDesign, check_option
from causal_kit.presentation.html import notebook_to_html
from causal_kit.presentation.parameters import find_notebook, notebook_parameters
from causal_kit.presentation.publish import check_output_root, publish, slug, staged

log = logging.getLogger("causal_kit.report")

RUNNER_PARAMETERS = ("output_dir", "run_date")
CHOICES: dict[str, tuple[str, ...]] = {"design": get_args(LaunchDesign),
                                       "time_grain": get_args(Grain)}
_TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float),
                                               "bool": bool}


@dataclass(frozen=True)
class Report:
    """A published report: where its parts are and what its summary says."""

    directory: Path
    notebook: Path
    html: Path
    summary: Mapping[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        return f'<p>Report written to <a href="{self.html}">{self.html}</a></p>'


class QuietKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel's own console chatter (transport warnings) is discarded.

    The kernel's stderr is kept when the ``causal_kit.report`` logger is at DEBUG.
    """

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            kw["stderr"] = subprocess.DEVNULL
            kw["stdout"] = subprocess.DEVNULL
        await super()._async_launch_kernel(kernel_cmd, **kw)


def coerce_parameters(notebook: Path, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``values`` against the notebook's typed parameters; convert CLI strings.

    Choice parameters (``design``, ``time_grain``) are checked against their valid values here,
    before any kernel starts.

    Raises
    ------
    SpecificationError
        For a parameter the notebook does not declare (valid ones listed), a value that does
        not fit its declared type, or a choice that is not one of the valid ones (listed).
    """
    declared = notebook_parameters(notebook)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in declared or name in RUNNER_PARAMETERS:
            valid = ", ".join(k for k in declared if k not in RUNNER_PARAMETERS)
            raise SpecificationError(
                f"{notebook.stem} has no parameter {name!r}; its parameters are: {valid}."
            )
        kind = str(declared[name].get("inferred_type_name", "None"))
        out[name] = _coerce(name, value, kind)
        if name in CHOICES:
            check_option(name, out[name], CHOICES[name])
    return out


def _coerce(name: str, value: Any, kind: str) -> Any:
    if isinstance(value, str) and kind in ("int", "float", "bool"):
        text = value.strip().lower()
        try:
            if kind == "bool":
                if text not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                return text in ("true", "1", "yes")
            return int(text) if kind == "int" else float(text)
        except ValueError as exc:
            raise SpecificationError(f"parameter {name!r} must be {kind}; got {value!r}.") from exc
    expected = _TYPES.get(kind)
    if expected is not None and (not isinstance(value, expected) or
                                 (kind != "bool" and isinstance(value, bool))):
        raise SpecificationError(
            f"parameter {name!r} must be {kind}; got {type(value).__name__} {value!r}."
        )
    return value


def launch_name(notebook: Path, params: Mapping[str, Any]) -> str:
    """Return the launch a run reports on: its ``launch_name`` or the notebook's default."""
    declared = notebook_parameters(notebook)
    default = str(declared.get("launch_name", {}).get("default", "")).strip("\"'")
    name = str(params.get("launch_name", default))
    return name if name.strip() else notebook.stem


def check_run_date(run_date: str | None) -> str:
    """Return ``run_date`` (default: today, UTC) after checking it is an ISO date."""
    day = run_date or dt.datetime.now(dt.UTC).date().isoformat()
    try:
        parsed = dt.date.fromisoformat(day)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"run_date {day!r} is not an ISO date like 2026-03-02.") from exc
    return parsed.isoformat()


def run_report(
    notebook: str | os.PathLike[str] = "attribution_report",
    *,
    parameters: Mapping[str, Any] | None = None,
    output_root: str | os.PathLike[str] = "reports",
    run_date: str | None = None,
    kernel_name: str | None = None,
    progress: bool = False,
    cwd: str | os.PathLike[str] | None = None,
    index: bool = True,
) -> Report:
    """Execute a report notebook with ``parameters`` and publish it atomically.

    Parameters
    ----------
    notebook
        A notebook path, or the name of one in ``notebooks/`` (default ``attribution_report``).
    parameters
        Values for the notebook's ``parameters`` cell; names, types and choices are checked
        against it before a kernel starts.
    output_root
        Where ``<launch>/<run-date>/`` goes (default ``reports``).
    run_date
        ISO date of the run (default: today, UTC).
    kernel_name
        Jupyter kernel (default: the notebook's).
    progress
        Show papermill's cell progress bar.
    cwd
        Working directory of the notebook's kernel (default: the current one).
    index
        Rebuild ``<output_root>/index.html`` after publishing.

    Returns
    -------
    Report

    Raises
    ------
    SpecificationError
        Unknown notebook or parameter, a value of the wrong type, an invalid choice, or an
        output root that is a file.
    ReportError
        A cell failed (the message carries the cell's error) or the notebook wrote no valid
        summary; nothing is left in ``output_root``.
    """
    path = find_notebook(notebook)
    params = coerce_parameters(path, dict(parameters or {}))
    launch = launch_name(path, params)
    day = check_run_date(run_date)
    root = check_output_root(output_root)
    name = slug(launch)
    with staged(root, name) as tmp:
        executed = tmp / "report.ipynb"
        log.info("launch %s: running %s", launch, path.name)
        _execute(path, executed, {**params, "output_dir": str(tmp), "run_date": day},
                 kernel_name, progress, cwd)
        summary = _finish_summary(tmp / "summary.json", path)
        (tmp / "report.html").write_text(notebook_to_html(executed, f"{launch} — launch report"),
                                         encoding="utf-8")
        final = publish(tmp, root, name, day)
    log.info("launch %s: published %s", launch, final)
    if index:
        rebuild_index(root)
    return Report(final, final / "report.ipynb", final / "report.html", summary)


def rebuild_index(root: Path, failures: Mapping[str, str] | None = None) -> Path | None:
    """Rebuild ``root/index.html``; a failure is logged, never raised (the reports stand)."""
    from causal_kit.presentation.index import write_index

    try:
        return write_index(root, failures=failures)
    except Exception as exc:  # the page is a view of the reports; never fail a published one
        log.warning("index of %s not rebuilt: %s: %s", root, type(exc).__name__, exc)
        return None


def _execute(src: Path, dst: Path, params: dict[str, Any], kernel: str | None, progress: bool,
             cwd: str | os.PathLike[str] | None) -> None:
    with without(SLOW_OPTIONAL):  # papermill's nbformat imports jsonschema
        import papermill as pm

    # Once the last cell has replied, the kernel holds nothing the report needs (its outputs are
    # in the notebook, its files closed), so it is stopped at once: a graceful shutdown of a
    # kernel that imported DoWhy, EconML and numba spends 1.5-2 s tearing its modules down.
    try:
        pm.execute_notebook(str(src), str(dst), parameters=params, kernel_name=kernel,
                            progress_bar=progress, cwd=str(cwd) if cwd else None,
                            log_output=False, report_mode=False,
                            kernel_manager_class=QuietKernelManager, shutdown_kernel="immediate")
    except pm.PapermillExecutionError as exc:
        raise ReportError(
            f"report {src.stem} failed in cell {exc.exec_count}: {exc.ename}: "
            f"{str(exc.evalue).rstrip('.')}. "
            "No report was written."
        ) from exc


def _finish_summary(path: Path, notebook: Path) -> dict[str, Any]:
    if not path.exists():
        raise ReportError(f"report {notebook.stem} ran but wrote no summary.json; "
                          "its last cell must save the summary to output_dir.")
    try:
        summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"report {notebook.stem} wrote a summary.json that is not JSON: "
                          f"{exc}. No report was written.") from exc
    from causal_kit.analysis.summary import validate_summary

    validate_summary(summary)
    return summary
