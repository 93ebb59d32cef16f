"""The history of published runs, read from their ``summary.json`` files (nothing else is stored).

Each published run is ``<root>/<launch-slug>/<run-date>[.<n>]/summary.json``. :func:`read_history`
reads them all in one DuckDB ``read_json`` scan and returns one row per run, oldest first within a
launch, with the previous run's decision beside each run so decision changes can be called out.
Fields a summary does not have (older schema, a launch without money) come back as missing
values, never as an error. A summary that cannot be read is skipped and named in
:attr:`History.unreadable`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

RUN_FOLDER = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?$")

# summary.json fields read, with their DuckDB types; nested objects are read as JSON text
_COLUMNS = {
    "launch": "JSON", "parameters": "JSON", "decision": "VARCHAR", "decision_rule": "VARCHAR",
    "decision_reason": "VARCHAR", "decision_detail": "JSON", "outcome": "VARCHAR",
    "method": "VARCHAR", "estimate": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
    "level": "DOUBLE", "p_value": "DOUBLE", "annual_value": "DOUBLE",
    "annual_value_low": "DOUBLE", "annual_value_high": "DOUBLE", "currency": "VARCHAR",
    "roi": "DOUBLE", "yearly_cost": "DOUBLE", "relative_change": "JSON",
    "relative_change_low": "JSON", "relative_change_high": "JSON", "baseline": "JSON",
    "scorecard": "JSON", "cascade": "JSON", "segments": "JSON", "estimate_detail": "JSON",
    "data_fingerprint": "VARCHAR", "package_versions": "JSON", "projection": "JSON",
}

_EMPTY = ["slug", "run", "path", "run_date", "sequence", "launch", "decision", "estimate",
          "ci_low", "ci_high", "days_since_launch", "previous_decision", "decision_changed"]

_SELECT = """
SELECT filename,
       launch->>'$.name' AS launch,
       decision, decision_rule, decision_reason, outcome, method,
       estimate, ci_low, ci_high, level, p_value,
       annual_value, annual_value_low, annual_value_high, coalesce(currency, '$') AS currency,
       roi, yearly_cost,
       TRY_CAST(relative_change AS VARCHAR) AS relative_change,
       TRY_CAST(relative_change_low AS VARCHAR) AS relative_change_low,
       TRY_CAST(relative_change_high AS VARCHAR) AS relative_change_high,
       TRY_CAST(baseline AS VARCHAR) AS baseline,
       TRY_CAST(decision_detail->>'$.inputs.days_since_launch' AS DOUBLE) AS days_since_launch,
       coalesce(TRY_CAST(launch->>'$.criteria.window_days' AS DOUBLE),
                TRY_CAST(decision_detail->>'$.inputs.window_days' AS DOUBLE)) AS window_days,
       scorecard->>'$.grade' AS confidence,
       TRY_CAST(scorecard->>'$.n_checks' AS INTEGER) AS n_checks,
       TRY_CAST(scorecard->>'$.n_failed' AS INTEGER) AS n_failed,
       scorecard AS scorecard_json,
       TRY_CAST(cascade->>'$.holds' AS BOOLEAN) AS cascade_holds,
       cascade->>'$.chain' AS cascade_chain,
       cascade AS cascade_json,
       segments->>'$.message' AS segments_message,
       TRY_CAST(segments->>'$.paying_segment_loses' AS BOOLEAN) AS paying_segment_loses,
       TRY_CAST(estimate_detail->>'$.n_units' AS INTEGER) AS n_units,
       TRY_CAST(estimate_detail->>'$.n_treated' AS INTEGER) AS n_treated,
       parameters->>'$.data_dir' AS data_dir,
       data_fingerprint,
       CAST(projection AS VARCHAR) AS projection_json,
       package_versions->>'$.causal_kit' AS causal_kit_version
FROM read_json({files}, columns={columns}, format='auto', filename=true,
               maximum_object_size=134217728)
"""


@dataclass(frozen=True)
class History:
    """Every published run under one output root.

    Attributes
    ----------
    runs
        One row per run: ``slug``, ``run``, ``run_date``, ``sequence``, ``path`` (the run folder,
        relative to the root), the summary's headline fields, ``previous_decision`` and
        ``decision_changed``; sorted by launch, then run date and sequence.
    unreadable
        Summary files that could not be read, with the reason.
    """

    runs: pd.DataFrame
    unreadable: dict[str, str] = field(default_factory=dict)

    def launches(self) -> pd.DataFrame:
        """Return the latest run of every launch, with ``n_runs``, by launch slug."""
        if self.runs.empty:
            return self.runs.assign(n_runs=pd.Series(dtype=int))
        last = self.runs.groupby("slug", sort=True).tail(1).set_index("slug")
        last["n_runs"] = self.runs.groupby("slug").size()
        return last.reset_index()

    def of(self, launch_slug: str, *, before: tuple[str, int] | None = None) -> pd.DataFrame:
        """Return the runs of one launch, oldest first (only those earlier than ``before``)."""
        runs = self.runs[self.runs["slug"] == launch_slug]
        if before is not None:
            key = runs["run_date"] + runs["sequence"].map("{:06d}".format)
            runs = runs[key < before[0] + f"{before[1]:06d}"]
        return runs.reset_index(drop=True)


def parse_run(folder: str) -> tuple[str, int] | None:
    """Return ``(run_date, sequence)`` of a run folder (``2026-03-02.2``: 2nd run), or None."""
    match = RUN_FOLDER.match(folder)
    if match is None:
        return None
    return match.group(1), int(match.group(2) or 1)


def read_history(root: str | Path) -> History:
    """Read every ``<root>/<launch>/<run>/summary.json`` into a :class:`History`.

    Parameters
    ----------
    root
        The output root reports are published to (``reports`` by default). A missing root has
        an empty history.
    """
    base = Path(root)
    files = sorted(
        str(p) for p in base.glob("*/*/summary.json")
        if not p.parent.parent.name.startswith(".") and parse_run(p.parent.name)
    )
    unreadable: dict[str, str] = {}
    frame = _scan(files)
    if frame is None:  # find the bad files one by one, then read the rest
        good = []
        for f in files:
            try:
                _scan([f])
                good.append(f)
            except Exception as exc:  # any read failure makes the file unreadable
                unreadable[str(Path(f).relative_to(base))] = str(exc).splitlines()[0]
        frame = _scan(good) if good else None
    if frame is None:
        return History(pd.DataFrame(columns=_EMPTY), unreadable)
    return History(_arrange(frame, base), unreadable)


def _scan(files: list[str]) -> pd.DataFrame | None:
    if not files:
        return None
    import duckdb

    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _COLUMNS.items()) + "}"
    query = _SELECT.format(files="[" + ", ".join(_quote(f) for f in files) + "]",
                           columns=columns)
    try:
        with duckdb.connect() as con:
            return con.execute(query).df()
    except duckdb.Error:
        if len(files) == 1:
            raise
        return None


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _arrange(frame: pd.DataFrame, base: Path) -> pd.DataFrame:
    paths = [Path(f) for f in frame["filename"]]
    frame = frame.drop(columns=["filename"]).assign(
        slug=[p.parent.parent.name for p in paths],
        run=[p.parent.name for p in paths],
        path=[p.parent.relative_to(base).as_posix() for p in paths],
    )
    parsed = [parse_run(r) or ("", 0) for r in frame["run"]]
    frame["run_date"] = [d for d, _ in parsed]
    frame["sequence"] = [n for _, n in parsed]
    for col in ("relative_change", "relative_change_low", "relative_change_high", "baseline"):
        if col in frame:
            frame[col] = [_number(v) for v in frame[col]]
    for col in ("scorecard_json", "cascade_json", "projection_json"):
        if col in frame:
            frame[col] = [json.loads(v) if isinstance(v, str) else None for v in frame[col]]
    frame = frame.sort_values(["slug", "run_date", "sequence"], kind="stable")
    frame["previous_decision"] = frame.groupby("slug")["decision"].shift(1)
    frame["decision_changed"] = (frame["previous_decision"].notna()
                                 & (frame["previous_decision"] != frame["decision"]))
    return frame.reset_index(drop=True)


def _number(value: Any) -> float | None:
    """Return a JSON scalar as a finite float, else None (a missing or non-numeric field)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
        number = float(parsed)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
