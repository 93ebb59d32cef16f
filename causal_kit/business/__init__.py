"""Layer: business — from an estimate to money and a decision."""

from causal_kit.business.decide import Decision, GuardrailResult, RuleStep, decide, next_step
from causal_kit.business.plan import (
    Diagnosis,
    MdeFigure,
    PlanStatus,
    diagnose,
    mde_flag,
    plan_status,
    register_plan,
    registered_launch,
)
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
    "Diagnosis",
    "GuardrailResult",
    "Impact",
    "MdeFigure",
    "PerUserValue",
    "PlanStatus",
    "Power",
    "RetentionValue",
    "RuleStep",
    "RunningCost",
    "ValueModel",
    "cost_per_outcome",
    "decide",
    "diagnose",
    "mde_flag",
    "money_interval",
    "next_step",
    "plan_status",
    "power",
    "register_plan",
    "registered_launch",
    "translate",
]
