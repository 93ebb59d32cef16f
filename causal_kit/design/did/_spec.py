"""The validated, frozen configuration of one ``ck.did`` call."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from causal_kit.core.errors import SpecificationError
from causal_kit.core.options import (
    BasePeriod,
    Bootstrap,
    DidControl,
    DidEstMethod,
    DidMethod,
    SeType,
    check_option,
)


@dataclass(frozen=True)
class DidSpec:
    """Every option of :func:`causal_kit.did`, checked."""

    outcome: str
    time: str
    treatment: str
    unit: str | None
    group: str | None
    method: str
    covariates: tuple[str, ...]
    control: str
    est_method: str
    base_period: str
    anticipation: int
    cluster: str | None
    se: str
    bootstrap: str
    n_boot: int
    level: float
    seed: int | None
    min_e: int | None
    max_e: int | None
    balance_e: int | None
    sensitivity: bool = True
    robustness: bool = True

    def as_params(self) -> dict[str, Any]:
        """Return the options as a plain dictionary (stored on the result)."""
        out = asdict(self)
        out["covariates"] = list(self.covariates)
        return out


def _name(value: Any, arg: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise SpecificationError(f"{arg} must be a column name (non-empty string); got {value!r}.")
    return value


def _flag(value: Any, arg: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise SpecificationError(f"{arg} must be True or False; got {value!r}.")
    return bool(value)


def _int(value: Any, arg: str, *, low: int | None = None, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecificationError(f"{arg} must be an integer; got {value!r}.")
    if low is not None and int(value) < low:
        raise SpecificationError(f"{arg} must be at least {low}; got {value!r}.")
    return int(value)


def build_spec(**kw: Any) -> DidSpec:
    """Check every option of a ``ck.did`` call and return the frozen :class:`DidSpec`.

    Raises
    ------
    SpecificationError
        Unknown option strings (listing the valid ones), wrong types, contradictions.
    """
    unit = _name(kw["unit"], "unit", optional=True)
    group = _name(kw["group"], "group", optional=True)
    if unit is None and group is None:
        raise SpecificationError(
            "pass unit= (the column identifying units followed over time, for a panel) or "
            "group= (the treated-group column, for repeated cross-sections)."
        )
    if unit is not None and group is not None:
        raise SpecificationError(
            "pass either unit= (panel) or group= (repeated cross-sections), not both; to cluster "
            "standard errors by a coarser level use cluster=."
        )
    covariates = kw["covariates"]
    if isinstance(covariates, str):
        covariates = (covariates,)
    if not isinstance(covariates, Sequence) or not all(
        isinstance(c, str) and c for c in covariates
    ):
        raise SpecificationError(f"covariates must be a list of column names; got {covariates!r}.")
    level = kw["level"]
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < float(level) < 1:
        raise SpecificationError(
            f"level must be a number between 0 and 1 (e.g. 0.95), not {level!r}."
        )
    min_e = _int(kw["min_e"], "min_e", optional=True)
    max_e = _int(kw["max_e"], "max_e", optional=True)
    if min_e is not None and max_e is not None and min_e > max_e:
        raise SpecificationError(f"min_e={min_e} is larger than max_e={max_e}; swap them.")
    spec = DidSpec(
        outcome=_name(kw["outcome"], "outcome") or "",
        time=_name(kw["time"], "time") or "",
        treatment=_name(kw["treatment"], "treatment") or "",
        unit=unit,
        group=group,
        method=check_option("method", kw["method"], DidMethod),
        covariates=tuple(dict.fromkeys(covariates)),
        control=check_option("control", kw["control"], DidControl),
        est_method=check_option("est_method", kw["est_method"], DidEstMethod),
        base_period=check_option("base_period", kw["base_period"], BasePeriod),
        anticipation=_int(kw["anticipation"], "anticipation", low=0) or 0,
        cluster=_name(kw["cluster"], "cluster", optional=True),
        se=check_option("se", kw["se"], SeType),
        bootstrap=check_option("bootstrap", kw["bootstrap"], Bootstrap),
        n_boot=_int(kw["n_boot"], "n_boot", low=19) or 0,
        level=float(level),
        seed=_int(kw["seed"], "seed", low=0, optional=True),
        min_e=min_e,
        max_e=max_e,
        balance_e=_int(kw["balance_e"], "balance_e", low=0, optional=True),
        sensitivity=_flag(kw.get("sensitivity", True), "sensitivity"),
        robustness=_flag(kw.get("robustness", True), "robustness"),
    )
    reserved = {spec.outcome, spec.time, spec.treatment, unit or group}
    clash = [c for c in spec.covariates if c in reserved]
    if clash:
        raise SpecificationError(
            f"covariates {clash} repeat the outcome, time, treatment or unit column; remove them."
        )
    return spec
