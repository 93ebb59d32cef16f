"""The launch plan, registered before launch: targets per layer, when it was fixed, what changed.

A plan is the ``criteria`` and ``plan`` entries of ``launch.json`` (see
:class:`~causal_kit.core.launch.Plan`). :func:`register_plan` validates them, stamps the
registration time and a SHA-256 of their content, and keeps a copy of that content, so that any
later edit can be named: :func:`plan_status` says whether the plan was registered before the
launch date and whether it changed since, field by field. A criterion edited after registration
is never used silently: :func:`registered_launch` returns the launch with the criteria as they were
registered, which is what a report decides on, and the report shows the edit.

:func:`diagnose` reads the plan's layers for the two-metric diagnosis (offline target met, online
metric moved, business metric moved), and :func:`mde_flag` says when the business target is
smaller than what the launch can detect.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.core.launch import Launch, Plan, SuccessCriteria, load_launch


@cache
def _schemas() -> tuple[Any, Any]:
    """Return the pydantic models of the criteria and the plan, built on first use.

    pydantic is slow to import, and ``import causal_kit`` should stay fast.
    """
    import pydantic

    finite = pydantic.confloat(allow_inf_nan=False)

    class _Layer(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        metric: str = pydantic.Field(min_length=1)
        target: finite  # type: ignore[valid-type]
        direction: Literal["increase", "decrease"] = "increase"
        relative: bool = False
        how_measured: str = ""
        measured: finite | None = None  # type: ignore[valid-type]
        eval_set: str | None = None
        eval_fingerprint: str | None = None

    class _Cost(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        metric: Literal["cost_per_user", "cost_per_query"] = "cost_per_user"
        cap: pydantic.confloat(gt=0, allow_inf_nan=False) | None = None  # type: ignore[valid-type]
        share_of_value: pydantic.confloat(gt=0, le=1) = 0.5  # type: ignore[valid-type]
        how_measured: str = ""

    class _Plan(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        offline: _Layer | None = None
        online: _Layer | None = None
        business: _Layer | None = None
        cost: _Cost | None = None
        kill_criteria: list[str] = []
        early_read: pydantic.StrictBool = False

    class _Criteria(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        min_effect: finite = 0.0  # type: ignore[valid-type]
        roi_bar: pydantic.confloat(ge=0, allow_inf_nan=False) = 1.0  # type: ignore[valid-type]
        cost_cap: pydantic.confloat(gt=0, allow_inf_nan=False) = 0.5  # type: ignore[valid-type]
        window_days: pydantic.conint(ge=0) = 90  # type: ignore[valid-type]
        guardrails: dict[str, finite] = {}  # type: ignore[valid-type]
        direction: Literal["increase", "decrease"] = "increase"
        value_basis: Literal["low", "point"] = "low"
        guardrails_lower_is_worse: list[str] = []
        exception: Literal["none", "platform", "long_sales_cycle", "timeboxed_bet"] = "none"
        timebox_days: pydantic.conint(gt=0) | None = None  # type: ignore[valid-type]
        adoption_floor: pydantic.confloat(ge=0, le=1) = 0.20  # type: ignore[valid-type]

        @pydantic.model_validator(mode="after")
        def _timebox(self) -> Any:
            if self.exception == "timeboxed_bet" and self.timebox_days is None:
                raise ValueError("exception 'timeboxed_bet' needs timebox_days (its length)")
            if self.exception != "timeboxed_bet" and self.timebox_days is not None:
                raise ValueError("timebox_days is only used with exception 'timeboxed_bet'")
            return self

    return _Criteria, _Plan


def plan_content(launch: Launch) -> dict[str, Any]:
    """Return what a registration covers: the success criteria and the per-layer plan."""
    spec = launch.to_dict()
    return {"criteria": spec["criteria"], "plan": spec.get("plan")}


def content_hash(content: Mapping[str, Any]) -> str:
    """Return ``"sha256:<hex>"`` of the content as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate_plan(content: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``{"criteria": ..., "plan": ...}`` and return it with every default filled in.

    Raises
    ------
    SpecificationError
        Naming each field at fault and what it must be.
    """
    import pydantic

    criteria_model, plan_model = _schemas()
    try:
        crit = criteria_model.model_validate(dict(content.get("criteria") or {}))
        plan = (plan_model.model_validate(dict(content["plan"]))
                if content.get("plan") is not None else None)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'criteria'}: {e['msg']}"
            f" (got {e.get('input')!r})" for e in exc.errors()
        )
        raise SpecificationError(
            f"the launch plan is not valid: {problems}. Fix launch.json's 'criteria' / 'plan' "
            "entries (see ck.Plan and ck.SuccessCriteria)."
        ) from None
    return {"criteria": crit.model_dump(),
            "plan": plan.model_dump(exclude_none=True) if plan is not None else None}


@dataclass(frozen=True)
class MdeFigure:
    """What a launch can detect, as the power analysis reports it.

    Attributes
    ----------
    mde
        Minimum detectable effect, in the business metric's units.
    weeks
        Post-launch weeks the MDE was computed for.
    weeks_needed
        Weeks after which the business target becomes detectable (``None``: not reachable).
    more_units
        How many more treated units (regions…) would make it detectable in ``weeks``.
    unit_name
        What a unit is, in the plural (``"regions"``).
    baseline
        The business metric's baseline level, to turn a relative target into units.
    """

    mde: float
    weeks: int
    weeks_needed: int | None = None
    more_units: int | None = None
    unit_name: str = "regions"
    baseline: float | None = None


def business_target_effect(launch: Launch, baseline: float | None = None) -> float | None:
    """Return the business target as an effect in the metric's units (``None``: no target)."""
    target = launch.plan.business if launch.plan is not None else None
    if target is None:
        return launch.criteria.min_effect if launch.criteria.min_effect > 0 else None
    if target.relative:
        return None if baseline is None else abs(target.target * baseline)
    return abs(target.target)


def mde_flag(target: float | None, figure: MdeFigure) -> str | None:
    """Return the registration flag when the business target is below the MDE, else ``None``.

    Examples
    --------
    >>> mde_flag(100.0, MdeFigure(mde=250.0, weeks=12, weeks_needed=40, more_units=18))
    'this launch cannot show its business target in 12 weeks; you need 40 weeks or 18 more regions'
    """
    if target is None or not math.isfinite(figure.mde) or abs(target) >= figure.mde:
        return None
    options = []
    if figure.weeks_needed is not None:
        options.append(f"{figure.weeks_needed} weeks")
    if figure.more_units is not None:
        options.append(f"{figure.more_units} more {figure.unit_name}")
    need = f"; you need {' or '.join(options)}" if options else (
        "; no length or number of units within reach would show it")
    return f"this launch cannot show its business target in {figure.weeks} weeks{need}"


def register_plan(
    launch: Launch | str | os.PathLike[str],
    *,
    plan: Plan | Mapping[str, Any] | None = None,
    criteria: SuccessCriteria | Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    registered_at: dt.datetime | str | None = None,
    mde: MdeFigure | None = None,
) -> Launch:
    """Register a launch's plan: validate it, stamp the time and a content hash, write it.

    Parameters
    ----------
    launch
        A :class:`~causal_kit.Launch`, or a ``launch.json`` (or its folder) to register in place.
    plan, criteria
        Replace the launch's plan or success criteria before registering (objects or dicts).
    path
        Where to write ``launch.json`` (default: the file the launch was read from; required
        for a ``Launch`` object).
    registered_at
        Registration time (default: now, UTC).
    mde
        The power analysis' figure: when the business target is below its MDE the registration
        carries the flag (see :func:`mde_flag`).

    Returns
    -------
    Launch
        The launch as written, with ``registration`` set (``registered_at``, ``content_hash``,
        ``content``, ``flags``).
    """
    if isinstance(launch, Launch):
        if path is None:
            raise SpecificationError("register_plan(Launch, ...) needs path= (where to write).")
        current, target = launch, Path(path)
    else:
        where = Path(launch)
        target = Path(path) if path is not None else (where if where.is_file()
                                                     else where / "launch.json")
        current = load_launch(where)
    if plan is not None:
        current = replace(current, plan=plan if isinstance(plan, Plan) else Plan.from_dict(plan))
    if criteria is not None:
        crit = criteria if isinstance(criteria, SuccessCriteria) else SuccessCriteria(**criteria)
        current = replace(current, criteria=crit)
    content = validate_plan(plan_content(current))
    current = Launch.from_dict({**current.to_dict(), **content, "registration": None})
    flags = []
    if mde is not None:
        flag = mde_flag(business_target_effect(current, mde.baseline), mde)
        if flag:
            flags.append(flag)
    registration = {
        "registered_at": _stamp(registered_at),
        "content_hash": content_hash(plan_content(current)),
        "content": plan_content(current),
        "flags": flags,
    }
    current = replace(current, registration=registration)
    _write_atomic(target, json.dumps(current.to_dict(), indent=1, sort_keys=True) + "\n")
    return current


def _stamp(moment: dt.datetime | str | None) -> str:
    if moment is None:
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:
        ts = dt.datetime.fromisoformat(str(moment)) if not isinstance(moment, dt.datetime) \
            else moment
    except ValueError as exc:
        raise SpecificationError(
            f"registered_at={moment!r} is not a time; use ISO format like '2026-02-20T09:00'."
        ) from exc
    return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).isoformat(timespec="seconds")


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class PlanStatus:
    """Whether a launch's plan was fixed in advance and kept.

    Attributes
    ----------
    registered
        Whether a registration exists.
    registered_at
        Its time (ISO), or ``None``.
    before_launch
        Whether it was registered before the launch's first start date (``None`` when either
        is unknown).
    changed
        Whether the criteria or plan differ from what was registered (content hash).
    changes
        Each changed field, as ``"criteria.min_effect: 0 → 500"``.
    content_hash, current_hash
        The registered hash and the hash of the content as it is now.
    flags
        Flags raised at registration (a business target below the MDE).
    message
        One plain sentence for the report.
    """

    registered: bool
    registered_at: str | None
    before_launch: bool | None
    changed: bool
    changes: tuple[str, ...]
    content_hash: str | None
    current_hash: str
    flags: tuple[str, ...]
    message: str

    @property
    def trusted(self) -> bool:
        """Registered before launch and unchanged since."""
        return bool(self.registered and self.before_launch and not self.changed)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        out = dict(self.__dict__)
        out["changes"], out["flags"] = list(self.changes), list(self.flags)
        out["trusted"] = self.trusted
        return out


def plan_status(launch: Launch) -> PlanStatus:
    """Say whether the launch's plan was registered before launch and whether it changed since."""
    now = plan_content(launch)
    current = content_hash(now)
    reg = dict(launch.registration or {})
    if not reg:
        return PlanStatus(False, None, None, False, (), None, current, (),
                          "No plan was registered for this launch: its success criteria were "
                          "not fixed in advance, so the decision rests on criteria that could "
                          "have been chosen after seeing the data.")
    stamp = str(reg.get("registered_at", ""))
    try:
        when: dt.date | None = dt.datetime.fromisoformat(stamp).date()
    except ValueError:
        when = None
    first = launch.first_start
    before = None if when is None or first is None else when < first
    registered = dict(reg.get("content") or {})
    changes = tuple(_diff(registered, now))
    stated = reg.get("content_hash")
    changed = current != stated or bool(changes)
    parts = [f"Plan registered on {when.isoformat() if when else 'an unknown date'}"]
    if before is True:
        parts.append(f"before the launch ({first.isoformat() if first else '?'})")
    elif before is False:
        parts.append(f"after the launch ({first.isoformat() if first else '?'}): its criteria "
                     "were not fixed in advance")
    sentence = " ".join(parts[:2]) if before is not False else ", ".join(parts[:2])
    if changed:
        listed = "; ".join(changes) if changes else "the content no longer matches its hash"
        sentence += (f". It was edited after registration ({listed}); the decision uses the "
                     "registered values.")
    else:
        sentence += ", unchanged since."
    return PlanStatus(True, stamp or None, before, changed, changes, stated, current,
                      tuple(reg.get("flags") or ()), sentence)


def registered_launch(launch: Launch) -> Launch:
    """Return the launch with the criteria and plan as registered (itself when unregistered)."""
    content = dict((launch.registration or {}).get("content") or {})
    if not content:
        return launch
    spec = {**launch.to_dict(), "criteria": content.get("criteria") or {},
            "plan": content.get("plan")}
    return Launch.from_dict(spec)


def _diff(old: Any, new: Any, where: str = "") -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _diff(old.get(key), new.get(key), f"{where}.{key}".lstrip("."))
        return out
    if old != new:
        return [f"{where}: {_short(old)} → {_short(new)}"]
    return []


def _short(value: Any) -> str:
    return "not set" if value is None else json.dumps(value, sort_keys=True)


Finding = Literal["offline_missed", "workflow", "business_flat", "holds", "no_plan"]


@dataclass(frozen=True)
class Diagnosis:
    """The two-metric diagnosis: where along offline → online → business the launch stopped.

    Attributes
    ----------
    finding
        ``"offline_missed"`` (the model missed its offline target: it should not have been
        tested), ``"workflow"`` (offline met, the online metric did not move: workflow or UX,
        not the model), ``"business_flat"`` (users changed behaviour, the business metric did
        not move), ``"holds"`` (each layer met or moved) or ``"no_plan"``.
    message
        The finding in one plain sentence.
    layers
        Per layer: ``(layer, metric, status)`` with status ``"met"``, ``"missed"``, ``"moved"``,
        ``"flat"`` or ``"not measured"``.
    """

    finding: Finding
    message: str
    layers: tuple[tuple[str, str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {"finding": self.finding, "message": self.message,
                "layers": [list(x) for x in self.layers]}


def moved(estimate: Estimate, direction: str = "increase") -> bool:
    """Whether the interval of the effect lies wholly on the good side of zero."""
    low, high = sorted(float(v) for v in estimate.ci)
    return low > 0 if direction == "increase" else high < 0


def diagnose(launch: Launch, estimates: Mapping[str, Estimate]) -> Diagnosis:
    """Read the registered plan's layers against the estimates of their metrics.

    Parameters
    ----------
    launch
        The launch with its plan (``launch.plan``).
    estimates
        Metric name → estimate of the launch's effect on it; the plan's online and business
        metrics are looked up here by name.
    """
    plan = launch.plan
    if plan is None:
        return Diagnosis("no_plan", "No per-layer plan was registered, so the two-metric "
                         "diagnosis cannot be made.", ())
    layers: list[tuple[str, str, str]] = []
    off = plan.offline
    if off is not None:
        status = ("not measured" if off.measured is None
                  else ("met" if off.met(off.measured) else "missed"))
        layers.append(("offline", off.metric, status))
    state = {}
    for name in ("online", "business"):
        target = getattr(plan, name)
        if target is None:
            continue
        est = estimates.get(target.metric)
        status = ("not measured" if est is None
                  else ("moved" if moved(est, target.direction) else "flat"))
        state[name] = status
        layers.append((name, target.metric, status))
    if off is not None and off.measured is not None and not off.met(off.measured):
        sign = "≥" if off.direction == "increase" else "≤"
        where = f" on {off.eval_set}" if off.eval_set else ""
        return Diagnosis("offline_missed", (
            f"The model missed its offline target ({off.metric} {off.measured:g} vs {sign} "
            f"{off.target:g}{where}): it should not have been tested on users. Fix the model "
            "first."), tuple(layers))
    offline_met = off is not None and off.measured is not None
    if state.get("online") == "flat":
        online = plan.online.metric if plan.online else "the online metric"
        if offline_met:
            text = (f"The model met its offline target but {online} did not move: the problem "
                    "is the workflow or the user experience, not the model.")
        else:
            text = (f"{online} did not move; with no offline result registered, the model "
                    "cannot be ruled out.")
        return Diagnosis("workflow", text, tuple(layers))
    if state.get("online") == "moved" and state.get("business") == "flat":
        online = plan.online.metric if plan.online else "the online metric"
        business = plan.business.metric if plan.business else "the business metric"
        return Diagnosis("business_flat", (
            f"Users changed behaviour ({online} moved) but {business} did not: the path from "
            "behaviour to the business outcome does not hold yet."), tuple(layers))
    return Diagnosis("holds", "Every layer of the plan that was measured met or moved as "
                     "planned.", tuple(layers))
