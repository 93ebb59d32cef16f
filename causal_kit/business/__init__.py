"""Layer: business — from an estimate to money and a decision."""

from causal_kit.business.decide import Decision, GuardrailResult, RuleStep, decide
from causal_kit.business.power import Power, power
from causal_kit.business.translate import Impact, money_interval, translate
from causal_kit.business.value import (
    CostPerOutcomeValue,
    PerUserValue,
    RetentionValue,
    RunningCost,
    ValueModel,
    cost_per_outcome,
)

__all__ = [
    "CostPerOutcomeValue",
    "Decision",
    "GuardrailResult",
    "Impact",
    "PerUserValue",
    "Power",
    "RetentionValue",
    "RuleStep",
    "RunningCost",
    "ValueModel",
    "cost_per_outcome",
    "decide",
    "money_interval",
    "power",
    "translate",
]
