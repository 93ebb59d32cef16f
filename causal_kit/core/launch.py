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
    exception
        The launch's exception to the 90-day rule (past the window, a business impact that still
        cannot be measured means kill or pivot): ``"none"`` (the default), ``"platform"`` (a
        capability other teams build on, judged by their adoption), ``"long_sales_cycle"``
        (judged by pipeline velocity or NPS while revenue lags) or ``"timeboxed_bet"`` (an
        explicit bet, decided when ``timebox_days`` are up).
    timebox_days
        Length of a timeboxed bet, in days since launch (only with ``"timeboxed_bet"``).
    adoption_floor
        Smallest share of exposed users who used the feature, past the window, for the launch
        to count as alive (0.20 by default: under it the feature is dead on arrival).
    """

    min_effect: float = 0.0
    roi_bar: float = 1.0
    cost_cap: float = 0.5
    window_days: int = 90
    guardrails: Mapping[str, float] = field(default_factory=dict)
    direction: str = "increase"
    value_basis: str = "low"
    guardrails_lower_is_worse: tuple[str, ...] = ()
    exception: str = "none"
    timebox_days: int | None = None
    adoption_floor: float = 0.20

    def __post_init__(self) -> None:
        # Normalise containers so that a spec read back from JSON equals the one written.
        object.__setattr__(self, "guardrails", dict(self.guardrails))
        object.__setattr__(self, "guardrails_lower_is_worse",
                           tuple(self.guardrails_lower_is_worse))


@dataclass(frozen=True)
class LayerTarget:
    """The target of one layer of a launch plan, fixed before launch.

    Attributes
    ----------
    metric
        What is measured, e.g. ``"recall"``, ``"task_time"``, ``"revenue"``.
    target
        The number to reach: an absolute level (``relative=False``, e.g. recall 0.90) or a
        change relative to the baseline (``relative=True``, e.g. -0.30 for task time -30%).
    direction
        ``"increase"`` when reaching the target means at least ``target``, ``"decrease"`` when
        it means at most ``target``.
    relative
        Whether ``target`` is a share of the baseline (a lift) rather than a level or an effect
        in the metric's units.
    how_measured
        Where the number comes from (eval set, time tracking, CRM…), in words.
    measured
        The measured value, when it is already known (the offline metric on its locked set).
    eval_set, eval_fingerprint
        Name and fingerprint of the locked evaluation set (offline layer).
    """

    metric: str
    target: float
    direction: str = "increase"
    relative: bool = False
    how_measured: str = ""
    measured: float | None = None
    eval_set: str | None = None
    eval_fingerprint: str | None = None

    def met(self, value: float) -> bool:
        """Whether ``value`` (a level, or a lift when ``relative``) reaches the target."""
        return value >= self.target if self.direction == "increase" else value <= self.target

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (only the fields that are set)."""
        out: dict[str, Any] = {"metric": self.metric, "target": self.target,
                               "direction": self.direction, "relative": self.relative}
        for key in ("how_measured", "measured", "eval_set", "eval_fingerprint"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        return out


@dataclass(frozen=True)
class CostTarget:
    """The cost layer of a launch plan.

    Attributes
    ----------
    metric
        ``"cost_per_user"`` or ``"cost_per_query"`` (infrastructure cost per unit).
    cap
        Most the feature may cost per user or query (``None``: no cap on the unit cost).
    share_of_value
        The feature's yearly cost must stay under this share of the value it unlocks.
    how_measured
        Where the cost comes from.
    """

    metric: str = "cost_per_user"
    cap: float | None = None
    share_of_value: float = 0.5
    how_measured: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {"metric": self.metric, "cap": self.cap, "share_of_value": self.share_of_value,
                "how_measured": self.how_measured}


@dataclass(frozen=True)
class Plan:
    """The launch plan: one target per layer of the metric cascade, and when to stop.

    Attributes
    ----------
    offline
        A model metric on a locked evaluation set (must be met before anything is tested).
    online
        A user-behaviour metric (the launch should move it).
    business
        A quarterly KPI at 90 days (the launch should move it).
    cost
        Infrastructure cost per user or query, and the cost's share of the value.
    kill_criteria
        When to roll back or pivot, in words.
    early_read
        Whether a decision may rest on the business effect projected from the first weeks (the
        surrogate index, see :func:`causal_kit.surrogate_index`) before the business metric is
        observable, when every check of the projection passes. Off by default: without it the
        projection is shown but the decision waits for the business metric.
    """

    offline: LayerTarget | None = None
    online: LayerTarget | None = None
    business: LayerTarget | None = None
    cost: CostTarget | None = None
    kill_criteria: tuple[str, ...] = ()
    early_read: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kill_criteria", tuple(self.kill_criteria))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (the ``"plan"`` entry of ``launch.json``)."""
        out: dict[str, Any] = {
            layer: target.to_dict()
            for layer in ("offline", "online", "business", "cost")
            if (target := getattr(self, layer)) is not None
        }
        out["kill_criteria"] = list(self.kill_criteria)
        if self.early_read:  # written only when set, so plans registered without it keep their hash
            out["early_read"] = True
        return out

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Plan:
        """Build a plan from :meth:`to_dict`'s format (validate it with ``ck.register_plan``)."""
        known = {"offline", "online", "business", "cost", "kill_criteria", "early_read"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise SpecificationError(f"unknown plan entries {unknown}; valid: {sorted(known)}.")
        layers: dict[str, Any] = {}
        for layer in ("offline", "online", "business", "cost"):
            entry = spec.get(layer)
            if entry is None:
                continue
            kind: Any = CostTarget if layer == "cost" else LayerTarget
            valid = set(kind.__dataclass_fields__)
            bad = sorted(set(entry) - valid)
            if bad:
                raise SpecificationError(
                    f"plan.{layer} has unknown fields {bad}; valid: {sorted(valid)}."
                )
            layers[layer] = kind(**entry)
        early = spec.get("early_read", False)
        if not isinstance(early, bool):
            raise SpecificationError(f"plan.early_read={early!r} must be true or false.")
        return cls(**layers, kill_criteria=tuple(spec.get("kill_criteria") or ()),
                   early_read=early)


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
    plan
        The per-layer targets and kill criteria (``None`` for a launch without a plan).
    registration
        When the plan was registered and the content it was registered with (``registered_at``,
        ``content_hash``, ``content``), as :func:`causal_kit.register_plan` writes it; ``None``
        when it was never registered.
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
    plan: Plan | None = None
    registration: Mapping[str, Any] | None = None
    shape: LaunchShape | None = None
    arms: Mapping[str, Any] | None = None
    date: Any = None
    controls: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecificationError("Launch name must be a non-empty string.")
        if not isinstance(self.start, Mapping):
            raise SpecificationError(
                f"Launch {self.name!r}: start must map each launched unit to its first day, "
                f"e.g. {{'north': '2026-03-02'}}; got a {type(self.start).__name__}: "
                f"{str(self.start)[:80]}."
            )
        norm: dict[Any, dt.date] = {}
        for unit, day in dict(self.start).items():
            try:
                norm[unit] = pd.Timestamp(day).date()
            except (ValueError, TypeError, OverflowError) as exc:
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
                "exception": self.criteria.exception,
                "timebox_days": self.criteria.timebox_days,
                "adoption_floor": self.criteria.adoption_floor,
            },
            **({"plan": self.plan.to_dict()} if self.plan is not None else {}),
            **({"registration": dict(self.registration)} if self.registration else {}),
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Launch:
        """Build a launch from :meth:`to_dict`'s format.

        Raises
        ------
        SpecificationError
            If ``name`` is missing or a field is unknown (the valid ones are listed).
        """
        known = {"name", "unit", "start", "gate", "criteria", "plan", "registration", "shape",
                 "arms", "date", "controls"}
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
            start=spec.get("start") or {},
            unit=spec.get("unit", "region"),
            criteria=SuccessCriteria(**crit_spec),
            gate=spec.get("gate"),
            plan=Plan.from_dict(spec["plan"]) if spec.get("plan") is not None else None,
            registration=spec.get("registration"),
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
            except UnicodeDecodeError as exc:
                raise SpecificationError(
                    f"{str(file)!r} is not UTF-8 text (byte {exc.start}: "
                    f"{exc.object[exc.start:exc.start + 1]!r}); save it as UTF-8 JSON."
                ) from exc
            except json.JSONDecodeError as exc:
                raise SpecificationError(f"{str(file)!r} is not valid JSON: {exc}") from exc
            if file.name == "truth.json":
                spec = spec.get("launch", {}) if isinstance(spec, dict) else spec
            if not isinstance(spec, Mapping):
                raise SpecificationError(
                    f"{str(file)!r} must hold a JSON object (name, unit, start, criteria); got "
                    f"a JSON {type(spec).__name__}."
                )
            launch = Launch.from_dict(spec)
            return replace(launch, name=name) if name else launch
    raise SpecificationError(
        f"no launch spec at {str(where)!r}: expected launch.json (name, unit, start, criteria) "
        "or a simulator's truth.json there."
    )
