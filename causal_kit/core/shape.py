"""The shape of a launch: who got the new model, and how — the fact that picks the design.

Four shapes, each with the fields it needs on :class:`~causal_kit.core.launch.Launch`:

* ``"holdout"`` — a randomized experiment or holdout: each user was drawn into an arm.
  ``arms={"column": "arm", "treatment": "v2", "control": "v1", "split": {"v2": 0.9, "v1": 0.1}}``
  (``split``, the planned shares, is optional; without it the arms are planned equal) and
  ``date=`` the first day of the experiment (or ``start=`` by unit when it was also staggered).
  Analysed by :func:`causal_kit.experiment`.
* ``"global"`` — a launch to everyone on one date: ``date=``, and optionally
  ``controls={"column": "platform", "launched": "app", "untouched": ["web"]}``: the events of
  ``column == launched`` got the launch; those of each ``untouched`` value are control series
  the launch cannot have touched. Analysed by :func:`causal_kit.its` (and RD in time).
* ``"regional"`` — a rollout by unit (region, market), staggered or not: ``start=`` by unit.
  Analysed by :func:`causal_kit.did` / :func:`causal_kit.synthetic_control`.
* ``"score_gate"`` — users at or above a score cutoff got it: ``gate={"column", "cutoff"}``.
  Analysed by :func:`causal_kit.rdd`.

When ``shape`` is not given it is derived: ``arms`` → holdout, ``gate`` → score gate, ``date``
alone → global, otherwise regional (the shape of every ``launch.json`` written before shapes).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.options import LaunchShape, check_option

SPLIT_TOLERANCE = 1e-6


def derive_shape(*, arms: Any, gate: Any, date: Any, start: Mapping[Any, Any]) -> LaunchShape:
    """Return the shape the given fields describe (see the module docstring)."""
    if arms:
        return "holdout"
    if gate:
        return "score_gate"
    if date is not None and not start:
        return "global"
    return "regional"


def parse_date(name: str, value: Any, field: str = "date") -> dt.date | None:
    """Return ``value`` as a ``datetime.date`` (``None`` stays ``None``)."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise SpecificationError(
            f"Launch {name!r}: {field}={value!r} is not a date; use ISO format like "
            "'2026-03-02'."
        ) from exc


def check_shape(name: str, shape: Any, *, arms: Any, gate: Any, date: dt.date | None,
                start: Mapping[Any, Any], controls: Any) -> LaunchShape:
    """Validate that the launch has the fields its shape needs and none that contradict it.

    Raises
    ------
    SpecificationError
        An unknown shape, or a field missing or out of place; the message names the field and
        the fix.
    """
    derived = derive_shape(arms=arms, gate=gate, date=date, start=start)
    chosen: LaunchShape = derived if shape is None else check_option("shape", shape, LaunchShape)
    where = f"Launch {name!r} (shape {chosen!r})"
    if chosen == "holdout" and not arms:
        raise SpecificationError(
            f"{where} needs arms={{'column': 'arm', 'treatment': 'v2', 'control': 'v1'}}: "
            "the user column holding each user's arm and the two arm values."
        )
    if chosen != "holdout" and arms:
        raise SpecificationError(
            f"{where} has arms=, which only a randomized holdout has; drop arms= or use "
            "shape='holdout'."
        )
    if chosen == "score_gate" and not gate:
        raise SpecificationError(
            f"{where} needs gate={{'column': 'score', 'cutoff': 0.7}}: the score and threshold."
        )
    if chosen in ("global", "regional") and gate:
        raise SpecificationError(
            f"{where} has gate=, which only a score-gated launch has; drop it or use "
            "shape='score_gate'."
        )
    if chosen == "global":
        if date is None:
            raise SpecificationError(
                f"{where} needs date='YYYY-MM-DD': the one day the launch reached everyone."
            )
        if start:
            raise SpecificationError(
                f"{where} lists start dates by unit ({', '.join(map(str, list(start)[:3]))}); a "
                "launch to everyone has one date=. Drop start=, or use shape='regional'."
            )
    if chosen in ("regional", "score_gate") and date is not None:
        raise SpecificationError(
            f"{where} has date=, which only a holdout or a global launch takes; give start= by "
            "unit instead."
        )
    if controls and chosen != "global":
        raise SpecificationError(
            f"{where} has controls=, the untouched series of a launch to everyone; drop it or "
            "use shape='global'."
        )
    if chosen == "holdout" and date is None and not start:
        raise SpecificationError(
            f"{where} needs date='YYYY-MM-DD' (the experiment's first day) or start= by unit."
        )
    return chosen


def normalise_arms(name: str, arms: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate a holdout's ``arms`` and return a plain copy (split as floats).

    Raises
    ------
    SpecificationError
        Missing ``column``/``treatment``/``control``, equal arm names, unknown keys, or a split
        that names other arms, has a share outside (0, 1) or does not sum to 1.
    """
    if arms is None:
        return None
    if not isinstance(arms, Mapping):
        raise SpecificationError(
            f"Launch {name!r}: arms must be a mapping like {{'column': 'arm', 'treatment': 'v2', "
            f"'control': 'v1'}}; got {type(arms).__name__}."
        )
    valid = {"column", "treatment", "control", "split"}
    unknown = sorted(set(arms) - valid)
    missing = [k for k in ("column", "treatment", "control") if arms.get(k) in (None, "")]
    if unknown or missing:
        raise SpecificationError(
            f"Launch {name!r}: arms needs 'column', 'treatment' and 'control' (optional 'split'); "
            f"missing {missing}, unknown {unknown}."
        )
    out = {"column": str(arms["column"]), "treatment": arms["treatment"],
           "control": arms["control"]}
    if out["treatment"] == out["control"]:
        raise SpecificationError(
            f"Launch {name!r}: arms treatment and control are both {out['treatment']!r}; name "
            "two different arm values."
        )
    split = arms.get("split")
    if split is not None:
        out["split"] = _split(name, split, out["treatment"], out["control"])
    return out


def _split(name: str, split: Any, treatment: Any, control: Any) -> dict[str, float]:
    if not isinstance(split, Mapping):
        raise SpecificationError(
            f"Launch {name!r}: arms split must map each arm to its planned share, e.g. "
            f"{{{treatment!r}: 0.9, {control!r}: 0.1}}; got {split!r}."
        )
    keys = {str(k) for k in split}
    want = {str(treatment), str(control)}
    if keys != want:
        raise SpecificationError(
            f"Launch {name!r}: arms split names {sorted(keys)}, but the arms are "
            f"{sorted(want)}; give one share per arm."
        )
    shares: dict[str, float] = {}
    for k, v in split.items():
        try:
            share = float(v)
        except (TypeError, ValueError) as exc:
            raise SpecificationError(
                f"Launch {name!r}: planned share of arm {k!r} is {v!r}, not a number."
            ) from exc
        if not (math.isfinite(share) and 0 < share < 1):
            raise SpecificationError(
                f"Launch {name!r}: planned share of arm {k!r} is {v!r}; each share must be "
                "between 0 and 1."
            )
        shares[str(k)] = share
    total = sum(shares.values())
    if abs(total - 1.0) > SPLIT_TOLERANCE:
        raise SpecificationError(
            f"Launch {name!r}: the planned split {shares} sums to {total:g}, not 1; fix the "
            "shares (e.g. 0.9 and 0.1)."
        )
    return shares


def normalise_controls(name: str, controls: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate a global launch's control series and return a plain copy.

    Raises
    ------
    SpecificationError
        Missing ``column``/``launched``/``untouched``, unknown keys, or an untouched value equal
        to the launched one.
    """
    if controls is None:
        return None
    if not isinstance(controls, Mapping):
        raise SpecificationError(
            f"Launch {name!r}: controls must be a mapping like {{'column': 'platform', "
            f"'launched': 'app', 'untouched': ['web']}}; got {type(controls).__name__}."
        )
    valid = {"column", "launched", "untouched"}
    unknown = sorted(set(controls) - valid)
    missing = sorted(k for k in valid if controls.get(k) in (None, "", [], ()))
    if unknown or missing:
        raise SpecificationError(
            f"Launch {name!r}: controls needs 'column', 'launched' and 'untouched'; missing "
            f"{missing}, unknown {unknown}."
        )
    untouched = controls["untouched"]
    values = [untouched] if isinstance(untouched, str) else list(untouched)
    if controls["launched"] in values:
        raise SpecificationError(
            f"Launch {name!r}: {controls['launched']!r} is both the launched series and an "
            "untouched control; a control must be a series the launch did not reach."
        )
    return {"column": str(controls["column"]), "launched": controls["launched"],
            "untouched": values}
