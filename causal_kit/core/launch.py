"""A launch: what reached whom, when, and what would count as success (fixed before launch)."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.options import LaunchShape
from causal_kit.core.shape import check_shape, normalise_arms, normalise_controls, parse_date


@dataclass(frozen=True)
class SuccessCriteria:
    """Success criteria registered before the launch.

    Attributes
    ----------
    min_effect
        Smallest effect on the primary metric worth shipping, in the metric's units.
    roi_bar
        Minimum yearly value ÷ yearly cost to ship.
    cost_cap
        The model's yearly cost must stay under this share of the value it unlocks (0.5 = half).
    window_days
        Measurement window: before this many days since launch the answer is "keep measuring".
    guardrails
        Metric name → largest tolerated worsening (in the metric's units; positive = worse).
    direction
        ``"increase"`` when a higher primary metric is better, ``"decrease"`` when lower is
        better (e.g. cost per resolved ticket). ``min_effect`` is an improvement in that direction.
    value_basis
        Which end of the money interval the ROI bar and cost cap are tested on: ``"low"`` (the
        pessimistic end, the default) or ``"point"``.
    guardrails_lower_is_worse
        Guardrails for which a *decrease* is the worsening (e.g. a retention guardrail); every
        other guardrail worsens when it goes up (latency, cost, error rate).
    """

    min_effect: float = 0.0
    roi_bar: float = 1.0
    cost_cap: float = 0.5
    window_days: int = 90
    guardrails: Mapping[str, float] = field(default_factory=dict)
    direction: str = "increase"
    value_basis: str = "low"
    guardrails_lower_is_worse: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Normalise containers so that a spec read back from JSON equals the one written.
        object.__setattr__(self, "guardrails", dict(self.guardrails))
        object.__setattr__(self, "guardrails_lower_is_worse",
                           tuple(self.guardrails_lower_is_worse))


@dataclass(frozen=True)
class Launch:
    """A launch of a model or feature.

    Parameters
    ----------
    name
        Human name, e.g. ``"assistant-v2"``.
    start
        First treated day by unit (``{"north": "2026-03-02", ...}``); units not listed are never
        treated. Dates are normalised to ``datetime.date``.
    unit
        The column that holds the launch's units (e.g. ``"region"``).
    criteria
        Success criteria fixed before the launch.
    gate
        For a launch gated on a score: ``{"column": "score", "cutoff": 0.7}``.
    shape
        ``"holdout"``, ``"global"``, ``"regional"`` or ``"score_gate"``; derived from the other
        fields when omitted (see :mod:`causal_kit.core.shape`). It picks the design.
    arms
        For a randomized holdout: ``{"column": "arm", "treatment": "v2", "control": "v1",
        "split": {"v2": 0.9, "v1": 0.1}}`` (``split``, the planned shares, is optional).
    date
        The one launch date of a global launch, or the first day of a holdout.
    controls
        For a global launch, the series the launch did not touch: ``{"column": "platform",
        "launched": "app", "untouched": ["web"]}``.
    """

    name: str
    start: Mapping[Any, Any] = field(default_factory=dict)
    unit: str = "region"
    criteria: SuccessCriteria = field(default_factory=SuccessCriteria)
    gate: Mapping[str, Any] | None = None
    shape: LaunchShape | None = None
    arms: Mapping[str, Any] | None = None
    date: Any = None
    controls: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecificationError("Launch name must be a non-empty string.")
        norm: dict[Any, dt.date] = {}
        for unit, day in dict(self.start).items():
            try:
                norm[unit] = pd.Timestamp(day).date()
            except (ValueError, TypeError) as exc:
                raise SpecificationError(
                    f"Launch {self.name!r}: start date {day!r} for unit {unit!r} is not a date; "
                    "use ISO format like '2026-03-02'."
                ) from exc
        object.__setattr__(self, "start", norm)
        self._set_shape()

    def _set_shape(self) -> None:
        day = parse_date(self.name, self.date)
        arms = normalise_arms(self.name, self.arms)
        controls = normalise_controls(self.name, self.controls)
        shape = check_shape(self.name, self.shape, arms=arms, gate=self.gate, date=day,
                            start=self.start, controls=controls)
        for key, value in (("date", day), ("arms", arms), ("controls", controls),
                           ("shape", shape)):
            object.__setattr__(self, key, value)

    @property
    def first_start(self) -> dt.date | None:
        """The earliest start date (or the launch's ``date``), ``None`` when there is none."""
        dates = [*self.start.values(), *([self.date] if self.date is not None else [])]
        return min(dates) if dates else None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description (the format of ``launch.json``)."""
        return {
            "name": self.name,
            "unit": self.unit,
            "start": {str(k): v.isoformat() for k, v in self.start.items()},
            "gate": dict(self.gate) if self.gate else None,
            "shape": self.shape,
            **({"arms": dict(self.arms)} if self.arms else {}),
            **({"date": self.date.isoformat()} if self.date is not None else {}),
            **({"controls": dict(self.controls)} if self.controls else {}),
            "criteria": {
                "min_effect": self.criteria.min_effect,
                "roi_bar": self.criteria.roi_bar,
                "cost_cap": self.criteria.cost_cap,
                "window_days": self.criteria.window_days,
                "guardrails": dict(self.criteria.guardrails),
                "direction": self.criteria.direction,
                "value_basis": self.criteria.value_basis,
                "guardrails_lower_is_worse": list(self.criteria.guardrails_lower_is_worse),
            },
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Launch:
        """Build a launch from :meth:`to_dict`'s format.

        Raises
        ------
        SpecificationError
            If ``name`` is missing or a field is unknown (the valid ones are listed).
        """
        known = {"name", "unit", "start", "gate", "criteria", "shape", "arms", "date", "controls"}
        unknown = sorted(set(spec) - known)
        if unknown or "name" not in spec:
            raise SpecificationError(
                f"launch spec needs 'name' and takes only {sorted(known)}; got unknown {unknown}."
            )
        crit_spec = dict(spec.get("criteria") or {})
        valid = set(SuccessCriteria.__dataclass_fields__)
        bad = sorted(set(crit_spec) - valid)
        if bad:
            raise SpecificationError(f"unknown success criteria {bad}; valid: {sorted(valid)}.")
        return cls(
            name=spec["name"],
            start=dict(spec.get("start") or {}),
            unit=spec.get("unit", "region"),
            criteria=SuccessCriteria(**crit_spec),
            gate=spec.get("gate"),
            shape=spec.get("shape"),
            arms=spec.get("arms"),
            date=spec.get("date"),
            controls=spec.get("controls"),
        )


def load_launch(path: str | os.PathLike[str], *, name: str | None = None) -> Launch:
    """Read a launch from ``launch.json`` (or a folder holding it, or a simulator's ``truth.json``).

    Parameters
    ----------
    path
        A ``launch.json`` file, or a folder with ``launch.json`` or ``truth.json`` (whose
        ``"launch"`` entry is used).
    name
        Replace the launch's name (e.g. with the name a report is published under).

    Raises
    ------
    SpecificationError
        If no launch file exists there or it is not valid JSON of the launch format.
    """
    where = Path(path)
    candidates = [where] if where.is_file() else [where / "launch.json", where / "truth.json"]
    for file in candidates:
        if file.is_file():
            try:
                spec = json.loads(file.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise SpecificationError(f"{str(file)!r} is not valid JSON: {exc}") from exc
            if file.name == "truth.json":
                spec = spec.get("launch", {})
            launch = Launch.from_dict(spec)
            return replace(launch, name=name) if name else launch
    raise SpecificationError(
        f"no launch spec at {str(where)!r}: expected launch.json (name, unit, start, criteria) "
        "or a simulator's truth.json there."
    )
