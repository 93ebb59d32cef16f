"""causal_kit: did this launch move retention and revenue, by how much, and what is it worth?

Data flows one way: source → metrics → design → business → presentation.
"""

from causal_kit.business import (
    Cascade,
    CostPerOutcomeValue,
    Decision,
    Impact,
    PerUserValue,
    RetentionValue,
    RunningCost,
    Scorecard,
    Segments,
    Triangulation,
    ValueModel,
    by_segment,
    cascade,
    decide,
    scorecard,
    translate,
    triangulate,
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
from causal_kit.design.rdd import rdd
from causal_kit.design.synth import synthetic_control

__all__ = [
    "Cascade",
    "CausalKitError",
    "CausalKitWarning",
    "Check",
    "ConvergenceError",
    "CostPerOutcomeValue",
    "DataError",
    "Decision",
    "Estimate",
    "Impact",
    "Launch",
    "PerUserValue",
    "ReportError",
    "RetentionValue",
    "RunningCost",
    "Scorecard",
    "Segments",
    "SpecificationError",
    "SuccessCriteria",
    "Triangulation",
    "ValueModel",
    "by_segment",
    "cascade",
    "decide",
    "did",
    "rdd",
    "scorecard",
    "synthetic_control",
    "translate",
    "triangulate",
]
__version__ = "0.1.0"
