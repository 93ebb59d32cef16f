"""Find the design front doors (``did``, ``synthetic_control``, ``rdd``, ``experiment``...)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from causal_kit.core.errors import SpecificationError

FRONT_DOORS = {
    "did": ("causal_kit.design.did", "did"),
    "sc": ("causal_kit.design.synth", "synthetic_control"),
    "rdd": ("causal_kit.design.rdd", "rdd"),
    "experiment": ("causal_kit.design.experiment", "experiment"),
    "its": ("causal_kit.design.its", "its"),
}
NAMES = {
    "did": "difference-in-differences",
    "sc": "synthetic control",
    "rdd": "regression discontinuity",
    "experiment": "randomized experiment",
    "its": "interrupted time series",
}


def design_function(name: str) -> Callable[..., Any]:
    """Return the front door of design ``name`` (``"did"``, ``"sc"`` or ``"rdd"``).

    Raises
    ------
    SpecificationError
        If the name is unknown or the design is not installed in this version of causal_kit.
    """
    if name not in FRONT_DOORS:
        raise SpecificationError(
            f"design={name!r} is not a valid option; use one of {list(FRONT_DOORS)} or a function."
        )
    module, attr = FRONT_DOORS[name]
    try:
        fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise SpecificationError(
            f"the {NAMES[name]} design ({module}.{attr}) is not available in this installation."
        ) from exc
    return fn


def available(name: str) -> bool:
    """Whether design ``name`` can be imported."""
    try:
        design_function(name)
    except SpecificationError:
        return False
    return True
