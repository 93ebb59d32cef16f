"""The machine-readable summary of a report (``summary.json``): build it and validate it.

The JSON Schema lives in ``causal_kit/presentation/summary_schema.json`` (shipped with the
package); :func:`validate_summary` checks a summary against it, and also that every number is
finite and every interval is ordered, before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import platform
from collections.abc import Mapping
from functools import cache
from importlib import metadata, resources
from typing import Any

import pandas as pd

from causal_kit.business.decide import Decision, decide, next_step
from causal_kit.business.plan import Diagnosis, PlanStatus, plan_status
from causal_kit.business.translate import Impact
from causal_kit.core.errors import ReportError, SpecificationError
from causal_kit.core.estimate import Estimate, json_safe
from causal_kit.core.frames import to_pandas
from causal_kit.core.launch import Launch
from causal_kit.evidence.adoption import adoption_summary
from causal_kit.evidence.cascade import Cascade
from causal_kit.evidence.scorecard import Scorecard
from causal_kit.evidence.scorecard import scorecard as _scorecard
from causal_kit.evidence.segments import Segments
from causal_kit.evidence.triangulate import Triangulation

SCHEMA_VERSION = "1"
SCHEMA_RESOURCE = ("causal_kit", "presentation/summary_schema.json")
_VERSIONED = ("causal_kit", "numpy", "pandas", "scipy", "narwhals")


@cache
def load_schema() -> dict[str, Any]:
    """Return the summary's JSON Schema (a dict)."""
    package, name = SCHEMA_RESOURCE
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return dict(json.loads(text))


def package_versions() -> dict[str, str]:
    """Return the versions of Python and the core packages the numbers depend on."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def data_fingerprint(data: Any) -> str:
    """Return a SHA-256 over a frame's column names, types and values (row order matters).

    Parameters
    ----------
    data
        A pandas, polars, pyarrow or DuckDB frame.
    """
    frame = to_pandas(data, what="data")
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def build_summary(
    *,
    launch: Launch | str,
    estimate: Estimate,
    impact: Impact | None = None,
    decision: Decision | None = None,
    scorecard: Scorecard | None = None,
    cascade: Cascade | None = None,
    triangulation: Triangulation | None = None,
    segments: Segments | None = None,
    parameters: Mapping[str, Any] | None = None,
    data_fingerprint: str | None = None,
    package_versions: Mapping[str, str] | None = None,
    generated_at: dt.datetime | str | None = None,
    plan: PlanStatus | None = None,
    diagnosis: Diagnosis | None = None,
    adoption: float | None = None,
    baseline: float | None = None,
    users_per_unit: float = 1.0,
    period_days: float = 7.0,
    local: bool = False,
    refutations: Any = None,
    mediation: Any = None,
    attribution: Any = None,
    heterogeneity: Any = None,
    per_adopter: Any = None,
    projection: Any = None,
) -> dict[str, Any]:
    """Assemble ``summary.json`` from the results of one report, validated against the schema.

    Parameters
    ----------
    launch
        The launch (or its name).
    estimate
        The headline estimate.
    impact
        The money and decision from :func:`causal_kit.translate`. Without it the money fields
        are ``null`` and the decision comes from ``decision``.
    decision
        A decision from :func:`causal_kit.decide`, when there is no ``impact``; when neither is
        given, the rule runs with the launch's criteria (or the defaults).
    scorecard
        The confidence scorecard; computed from ``triangulation`` (or the estimate) when omitted.
    cascade, triangulation, segments
        The product-view results, or ``None`` when not computed.
    parameters
        The report's parameters.
    data_fingerprint
        A fingerprint of the inputs (see :func:`data_fingerprint`).
    package_versions
        Versions to record (default: Python and the core packages).
    generated_at
        Timestamp (default: now, UTC).
    plan
        Whether the plan was registered before launch and kept (default: read from the
        launch).
    diagnosis
        The two-metric diagnosis, or ``None``.
    adoption
        Share of exposed users who used the feature, or ``None``: the ``share`` of the
        ``adoption`` object, beside the per-adopter effect's fields (``per_adopter``).
    baseline
        The primary metric without the launch, on what was launched to; with it the summary
        carries ``relative_change`` (the effect as a share of it).
    users_per_unit, period_days
        Users behind one unit of the effect and days in one of its periods, for
        ``effect_per_user_per_week``.
    local
        Whether the effect holds only near a cutoff (regression discontinuity).
    refutations, mediation, attribution, heterogeneity
        The evidence results (anything with ``to_dict()``), or ``None`` when not computed;
        their ``to_dict()`` goes under the key of the same name.
    projection
        The early read (:class:`causal_kit.analysis.early.Projection`), or ``None``.
    per_adopter
        The effect per adopter (:class:`~causal_kit.evidence.adoption.AdoptionEffect`), or
        ``None``; its fields go into the ``adoption`` object, ``null`` when not computed.

    Returns
    -------
    dict
        JSON-safe; passes :func:`validate_summary`.
    """
    if not isinstance(estimate, Estimate):
        raise SpecificationError(f"estimate must be an Estimate; got {type(estimate).__name__}.")
    if isinstance(launch, Launch):
        launch_dict = launch.to_dict()
    elif isinstance(launch, str) and launch.strip():
        launch_dict = {"name": launch}
    else:
        raise SpecificationError("launch must be a Launch or its (non-empty) name.")
    if impact is not None and decision is not None:
        raise SpecificationError("pass impact= or decision=, not both (impact holds its decision).")
    if impact is not None:
        dec = impact.decision
    elif decision is not None:
        dec = decision
    else:
        dec = decide(estimate, criteria=launch if isinstance(launch, Launch) else None)
    if scorecard is None:
        scorecard = _scorecard(triangulation if triangulation is not None else estimate)
    if generated_at is None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    elif isinstance(generated_at, dt.datetime):
        moment = generated_at if generated_at.tzinfo else generated_at.replace(tzinfo=dt.UTC)
        stamp = moment.isoformat(timespec="seconds")
    else:
        stamp = str(generated_at)
    money = impact.to_dict() if impact is not None else {}
    if plan is None and isinstance(launch, Launch):
        plan = plan_status(launch)
    relative = (float(estimate.estimate) / baseline
                if baseline is not None and baseline > 0 else None)
    per_user_week = (float(estimate.estimate) / users_per_unit * 7.0 / period_days
                     if users_per_unit > 0 and period_days > 0 else None)
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "launch": launch_dict,
        "generated_at": stamp,
        "outcome": estimate.outcome,
        "method": estimate.method,
        "estimate": estimate.estimate,
        "ci_low": min(estimate.ci),
        "ci_high": max(estimate.ci),
        "level": estimate.level,
        "se": estimate.se,
        "p_value": estimate.p_value,
        "decision": dec.action,
        "decision_rule": dec.rule,
        "decision_reason": dec.reason,
        "decision_detail": dec.to_dict(),
        "next_step": next_step(dec),
        "baseline": baseline,
        "relative_change": relative,
        "effect_per_user_per_week": per_user_week,
        "local_effect": bool(local),
        "adoption": adoption_summary(adoption, per_adopter),
        "plan": plan.to_dict() if plan is not None else None,
        "diagnosis": diagnosis.to_dict() if diagnosis is not None else None,
        "annual_value": money.get("annual_value"),
        "annual_value_low": money.get("annual_value_low"),
        "annual_value_high": money.get("annual_value_high"),
        "value_interval_source": money.get("value_interval_source"),
        "currency": money.get("currency", "$"),
        "yearly_cost": money.get("yearly_cost"),
        "roi": money.get("roi"),
        "roi_low": money.get("roi_low"),
        "roi_high": money.get("roi_high"),
        "payback_months": money.get("payback_months"),
        "impact": money or None,
        "estimate_detail": estimate.to_dict(),
        "parameters": dict(parameters or {}),
        "data_fingerprint": data_fingerprint,
        "package_versions": dict(package_versions or _versions()),
        "scorecard": scorecard.to_dict(),
        "cascade": cascade.to_dict() if cascade is not None else None,
        "triangulation": triangulation.to_dict() if triangulation is not None else None,
        "segments": segments.to_dict() if segments is not None else None,
        "projection": projection.to_dict() if projection is not None else None,
        **{k: (v.to_dict() if v is not None else None) for k, v in (
            ("mediation", mediation), ("attribution", attribution),
            ("heterogeneity", heterogeneity),
            ("refutations", refutations))},
    }
    summary = json_safe(summary)
    validate_summary(summary)
    return summary


def _versions() -> dict[str, str]:
    return package_versions()


def validate_summary(summary: Mapping[str, Any]) -> None:
    """Check a summary against the JSON Schema, and that its numbers are finite and ordered.

    Raises
    ------
    ReportError
        Listing every problem with its location (e.g. ``at 'decision': 'ship it' is not one of
        [...]``); nothing should be written.
    """
    from causal_kit.core.imports import jsonschema as _load

    jsonschema = _load()

    if not isinstance(summary, Mapping):
        raise ReportError(f"summary must be a JSON object (dict); got {type(summary).__name__}.")
    problems = [f"at '{where}': {value!r} is not a finite number" for where, value in
                _nonfinite(summary)]
    validator = jsonschema.Draft202012Validator(load_schema())
    for err in sorted(validator.iter_errors(dict(summary)), key=lambda e: list(map(str, e.path))):
        where = "/".join(str(p) for p in err.absolute_path) or "top level"
        problems.append(f"at '{where}': {err.message}")
    for low, high in (("ci_low", "ci_high"), ("annual_value_low", "annual_value_high")):
        a, b = summary.get(low), summary.get(high)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
            problems.append(f"'{low}' ({a}) is above '{high}' ({b})")
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ReportError(
            f"summary.json does not match its schema ({SCHEMA_RESOURCE[1]}): {shown}{more}. "
            "Nothing was written."
        )


def _nonfinite(value: Any, where: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, float) and not math.isfinite(value):
        return [(where or "top level", value)]
    if isinstance(value, Mapping):
        return [hit for k, v in value.items() for hit in _nonfinite(v, f"{where}/{k}".lstrip("/"))]
    if isinstance(value, (list, tuple)):
        return [hit for i, v in enumerate(value) for hit in _nonfinite(v, f"{where}/{i}")]
    return []
