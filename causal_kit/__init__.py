"""causal_kit: did this launch move retention and revenue, by how much, and what is it worth?

Data flows one way: source → metrics → design → business → presentation.
"""

from causal_kit.business import (
    CostPerOutcomeValue,
    Decision,
    Impact,
    PerUserValue,
    RetentionValue,
    RunningCost,
    ValueModel,
    decide,
    translate,
)
from causal_kit.core.errors import (
    CausalKitError,
    CausalKitWarning,
    ConvergenceError,
    DataError,
    ReportError,
    SpecificationError,
)
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.launch import Launch, SuccessCriteria
from causal_kit.design.did import did

__all__ = [
    "CausalKitError",
    "CausalKitWarning",
    "Check",
    "ConvergenceError",
    "DataError",
    "Estimate",
    "ReportError",
    "SpecificationError",
    "Launch",
    "SuccessCriteria",
    "CostPerOutcomeValue",
    "Decision",
    "Impact",
    "PerUserValue",
    "RetentionValue",
    "RunningCost",
    "ValueModel",
    "decide",
    "translate",
    "did",
]
__version__ = "0.1.0"
