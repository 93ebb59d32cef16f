"""Write a report's ``summary.json``: validated first, then written in one rename."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from causal_kit.analysis.launch import LaunchAnalysis
from causal_kit.presentation.provenance import package_versions


def save_summary(analysis: LaunchAnalysis, output_dir: str | os.PathLike[str], *,
                 parameters: Mapping[str, Any], data_fingerprint: str) -> Path | None:
    """Validate and write ``summary.json`` for ``analysis`` into ``output_dir``.

    Parameters
    ----------
    analysis
        The launch analysis shown by the report.
    output_dir
        Folder to write into; when empty (an interactive run) nothing is written.
    parameters
        The report's parameters, recorded in the summary.
    data_fingerprint
        The inputs' fingerprint (:func:`causal_kit.presentation.fingerprint`).

    Returns
    -------
    pathlib.Path or None
        The file written, or ``None`` for an interactive run.

    Notes
    -----
    ``generated_at`` is the run date (midnight UTC) from ``parameters["run_date"]``, not the
    wall clock, so two runs of the same inputs on the same run date write the same bytes.
    """
    if not str(output_dir):
        return None
    summary = analysis.to_summary(parameters=dict(parameters),
                                  data_fingerprint=data_fingerprint,
                                  package_versions=package_versions(),
                                  generated_at=_stamp(parameters.get("run_date")))
    target = Path(output_dir) / "summary.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(target)
    return target


def _stamp(run_date: Any) -> str | None:
    try:
        day = dt.date.fromisoformat(str(run_date))
    except ValueError:
        return None
    return f"{day.isoformat()}T00:00:00+00:00"
