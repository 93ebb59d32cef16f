"""Run a report notebook through papermill and publish it atomically.

A report lands in ``<output_root>/<launch>/<run-date>/`` as ``report.ipynb`` (executed),
``report.html`` (self-contained, code hidden) and ``summary.json``. It is built in a temporary
folder beside its destination and renamed into place only when every part exists and the summary
is valid: a failed run leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import papermill as pm

from causal_kit.analysis.summary import validate_summary
from causal_kit.core.errors import ReportError, SpecificationError
from causal_kit.presentation.html import notebook_to_html

RUNNER_PARAMETERS = ("output_dir", "run_date")
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


def find_notebook(name: str | os.PathLike[str]) -> Path:
    """Resolve a report notebook by path or by name in ``notebooks/``.

    Raises
    ------
    SpecificationError
        If no such notebook exists; the message lists the ones that do.
    """
    path = Path(name)
    if path.suffix == ".ipynb" and path.exists():
        return path
    stem = path.stem if path.suffix == ".ipynb" else str(name)
    folders = [Path.cwd() / "notebooks", Path(__file__).resolve().parents[2] / "notebooks"]
    for folder in folders:
        candidate = folder / f"{stem}.ipynb"
        if candidate.exists():
            return candidate
    have = sorted({p.stem for f in folders if f.is_dir() for p in f.glob("*.ipynb")})
    raise SpecificationError(f"no report notebook {str(name)!r}; available: {have}.")


def notebook_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """Return the declared parameters of ``notebook`` (name → type, default, help)."""
    return {k: dict(v) for k, v in pm.inspect_notebook(str(notebook)).items()}


def coerce_parameters(notebook: Path, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``values`` against the notebook's typed parameters; convert CLI strings.

    Raises
    ------
    SpecificationError
        For a parameter the notebook does not declare (valid ones listed) or a value that does
        not fit its declared type.
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


def slug(text: str) -> str:
    """Return a folder-safe version of a launch name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return cleaned or "launch"


def run_report(
    notebook: str | os.PathLike[str] = "attribution_report",
    *,
    parameters: Mapping[str, Any] | None = None,
    output_root: str | os.PathLike[str] = "reports",
    run_date: str | None = None,
    kernel_name: str | None = None,
    progress: bool = False,
    cwd: str | os.PathLike[str] | None = None,
) -> Report:
    """Execute a report notebook with ``parameters`` and publish it atomically.

    Parameters
    ----------
    notebook
        A notebook path, or the name of one in ``notebooks/`` (default ``attribution_report``).
    parameters
        Values for the notebook's ``parameters`` cell; names and types are checked against it.
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

    Returns
    -------
    Report

    Raises
    ------
    SpecificationError
        Unknown notebook or parameter, or a value of the wrong type.
    ReportError
        A cell failed (the message carries the cell's error) or the notebook wrote no valid
        summary; nothing is left in ``output_root``.
    """
    path = find_notebook(notebook)
    params = coerce_parameters(path, dict(parameters or {}))
    declared = notebook_parameters(path)
    launch = str(params.get("launch_name", declared.get("launch_name", {}).get("default", "")))
    launch = launch.strip("\"'") or path.stem
    day = run_date or dt.datetime.now(dt.UTC).date().isoformat()
    try:
        dt.date.fromisoformat(day)
    except ValueError as exc:
        raise SpecificationError(f"run_date {day!r} is not an ISO date like 2026-03-02.") from exc

    root = Path(output_root)
    final = root / slug(launch) / day
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        executed = tmp / "report.ipynb"
        _execute(path, executed, {**params, "output_dir": str(tmp.resolve()), "run_date": day},
                 kernel_name, progress, cwd)
        summary = _finish_summary(tmp / "summary.json", path)
        (tmp / "report.html").write_text(notebook_to_html(executed, f"{launch} — launch report"),
                                         encoding="utf-8")
        _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Report(final, final / "report.ipynb", final / "report.html", summary)


def _execute(src: Path, dst: Path, params: dict[str, Any], kernel: str | None, progress: bool,
             cwd: str | os.PathLike[str] | None) -> None:
    try:
        pm.execute_notebook(str(src), str(dst), parameters=params, kernel_name=kernel,
                            progress_bar=progress, cwd=str(cwd) if cwd else None,
                            log_output=False, report_mode=False)
    except pm.PapermillExecutionError as exc:
        raise ReportError(
            f"report {src.stem} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}. "
            "No report was written."
        ) from exc


def _finish_summary(path: Path, notebook: Path) -> dict[str, Any]:
    if not path.exists():
        raise ReportError(f"report {notebook.stem} ran but wrote no summary.json; "
                          "its last cell must save the summary to output_dir.")
    summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    validate_summary(summary)
    return summary


def _publish(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``, replacing an earlier report of the same day atomically."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
    tmp.chmod(0o755)  # a temporary folder is private; a published report is not
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
