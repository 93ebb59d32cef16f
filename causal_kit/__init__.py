"""causal_kit: whether a launch moved retention and revenue, by how much, and what it is worth.

Data flows one way: source → metrics → design → evidence → business → analysis → presentation.
"""

from causal_kit.analysis import LaunchAnalysis, analyze_launch, build_summary, validate_summary
from causal_kit.business import (
    CostPerOutcomeValue,
    Decision,
    Diagnosis,
    Impact,
    MdeFigure,
    PerUserValue,
    PlanStatus,
    Power,
    RetentionValue,
    RunningCost,
    ValueModel,
    decide,
    diagnose,
    mde_flag,
    plan_status,
    power,
    register_plan,
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
from causal_kit.core.launch import (
    CostTarget,
    Launch,
    LayerTarget,
    Plan,
    SuccessCriteria,
    load_launch,
)
from causal_kit.design.did import did
from causal_kit.design.experiment import ExperimentSet, experiment
from causal_kit.design.its import its
from causal_kit.design.rdd import rdd
from causal_kit.design.surrogate import surrogate_index
from causal_kit.design.synth import synthetic_control
from causal_kit.evidence import (
    Cascade,
    Scorecard,
    Segments,
    Triangulation,
    by_segment,
    cascade,
    scorecard,
    triangulate,
)
from causal_kit.evidence.adoption import AdoptionEffect, adoption_effect
from causal_kit.evidence.attribution import Attribution, attribute_change
from causal_kit.evidence.graph import CascadeGraph, cascade_graph
from causal_kit.evidence.heterogeneity import Heterogeneity, heterogeneity
from causal_kit.evidence.leading import LeadingIndicators, launch_effects, leading_indicators
from causal_kit.evidence.mediation import Mediation, mediation
from causal_kit.evidence.refute import Refutations, refute, refute_panel
from causal_kit.metrics import METRICS, Metric, build_panel, list_metrics, user_outcomes
from causal_kit.simulate import Simulation, load_simulation, make_demo, simulate
from causal_kit.source import EventSource, open_events

__all__ = [
    "METRICS",
    "AdoptionEffect",
    "Attribution",
    "Cascade",
    "CascadeGraph",
    "CausalKitError",
    "CausalKitWarning",
    "Check",
    "ConvergenceError",
    "CostPerOutcomeValue",
    "CostTarget",
    "DataError",
    "Decision",
    "Diagnosis",
    "Estimate",
    "EventSource",
    "ExperimentSet",
    "Heterogeneity",
    "Impact",
    "Launch",
    "LaunchAnalysis",
    "LayerTarget",
    "LeadingIndicators",
    "MdeFigure",
    "Mediation",
    "Metric",
    "PerUserValue",
    "Plan",
    "PlanStatus",
    "Power",
    "Refutations",
    "Report",
    "ReportError",
    "RetentionValue",
    "RunningCost",
    "Scorecard",
    "Segments",
    "Simulation",
    "SpecificationError",
    "SuccessCriteria",
    "Triangulation",
    "ValueModel",
    "adoption_effect",
    "analyze_launch",
    "attribute_change",
    "build_panel",
    "build_summary",
    "by_segment",
    "cascade",
    "cascade_graph",
    "decide",
    "diagnose",
    "did",
    "experiment",
    "heterogeneity",
    "its",
    "launch_effects",
    "leading_indicators",
    "list_metrics",
    "load_launch",
    "load_simulation",
    "make_demo",
    "mde_flag",
    "mediation",
    "open_events",
    "plan_status",
    "power",
    "rdd",
    "refute",
    "refute_panel",
    "register_plan",
    "run_report",
    "scorecard",
    "simulate",
    "surrogate_index",
    "synthetic_control",
    "translate",
    "triangulate",
    "user_outcomes",
    "validate_summary",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The report runner pulls in papermill and nbconvert; load it only when it is asked for.
    if name in ("Report", "run_report"):
        from causal_kit import presentation

        return getattr(presentation, name)
    raise AttributeError(f"module 'causal_kit' has no attribute {name!r}")
