"""Layer: business — from an estimate to money, a decision, and the evidence behind it."""

from causal_kit.business.analysis import LaunchAnalysis, analyze_launch
from causal_kit.business.cascade import Cascade, cascade
from causal_kit.business.decide import Decision, GuardrailResult, RuleStep, decide
from causal_kit.business.scorecard import Scorecard, scorecard
from causal_kit.business.segments import Segments, by_segment
from causal_kit.business.summary import (
    build_summary,
    data_fingerprint,
    load_schema,
    validate_summary,
)
from causal_kit.business.translate import Impact, money_interval, translate
from causal_kit.business.triangulate import Triangulation, triangulate
from causal_kit.business.value import (
    CostPerOutcomeValue,
    PerUserValue,
    RetentionValue,
    RunningCost,
    ValueModel,
    cost_per_outcome,
)

__all__ = [
    "Cascade",
    "CostPerOutcomeValue",
    "Decision",
    "GuardrailResult",
    "Impact",
    "LaunchAnalysis",
    "PerUserValue",
    "RetentionValue",
    "RuleStep",
    "RunningCost",
    "Scorecard",
    "Segments",
    "Triangulation",
    "ValueModel",
    "analyze_launch",
    "build_summary",
    "by_segment",
    "cascade",
    "cost_per_outcome",
    "data_fingerprint",
    "decide",
    "load_schema",
    "money_interval",
    "scorecard",
    "translate",
    "triangulate",
    "validate_summary",
]
