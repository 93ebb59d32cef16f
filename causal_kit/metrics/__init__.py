"""Layer: metrics — named metrics of the cascade, ``build_panel`` and ``user_outcomes``."""

from causal_kit.metrics.panel import DEFAULT_METRICS, build_panel
from causal_kit.metrics.registry import (
    COMPONENTS,
    LEVELS,
    METRICS,
    REGISTRY,
    Metric,
    list_metrics,
)
from causal_kit.metrics.users import USER_OUTCOMES, outcome_column, user_outcomes

__all__ = [
    "COMPONENTS",
    "DEFAULT_METRICS",
    "LEVELS",
    "METRICS",
    "REGISTRY",
    "USER_OUTCOMES",
    "Metric",
    "build_panel",
    "list_metrics",
    "outcome_column",
    "user_outcomes",
]
