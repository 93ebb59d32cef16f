"""causal_kit: whether a launch moved retention and revenue, by how much, and what it is worth.

Data flows one way: source → metrics → design → evidence → business → analysis → presentation.

Public names load on first use (PEP 562): ``import causal_kit`` imports no dataframe, plotting or
notebook library, so the command line answers at once. To export a name, add it to ``_EXPORTS``
(name → module) and to the ``TYPE_CHECKING`` block below, which is what type checkers and IDEs read.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Every public name → the module that defines it.
_EXPORTS: dict[str, str] = {
    "CausalKitError": "causal_kit.core.errors",
    "CausalKitWarning": "causal_kit.core.errors",
    "ConvergenceError": "causal_kit.core.errors",
    "DataError": "causal_kit.core.errors",
    "ReportError": "causal_kit.core.errors",
    "SpecificationError": "causal_kit.core.errors",
    "Check": "causal_kit.core.estimate",
    "Estimate": "causal_kit.core.estimate",
    "Launch": "causal_kit.core.launch",
    "SuccessCriteria": "causal_kit.core.launch",
    "load_launch": "causal_kit.core.launch",
    "CostTarget": "causal_kit.core.launch",
    "LayerTarget": "causal_kit.core.launch",
    "Plan": "causal_kit.core.launch",
    "EventSource": "causal_kit.source",
    "open_events": "causal_kit.source",
    "demo_path": "causal_kit.source.paths",
    "project_root": "causal_kit.source.paths",
    "METRICS": "causal_kit.metrics",
    "Metric": "causal_kit.metrics",
    "build_panel": "causal_kit.metrics",
    "list_metrics": "causal_kit.metrics",
    "user_outcomes": "causal_kit.metrics",
    "did": "causal_kit.design.did",
    "rdd": "causal_kit.design.rdd",
    "synthetic_control": "causal_kit.design.synth",
    "Cascade": "causal_kit.evidence",
    "Scorecard": "causal_kit.evidence",
    "Segments": "causal_kit.evidence",
    "Triangulation": "causal_kit.evidence",
    "by_segment": "causal_kit.evidence",
    "cascade": "causal_kit.evidence",
    "scorecard": "causal_kit.evidence",
    "triangulate": "causal_kit.evidence",
    "CostPerOutcomeValue": "causal_kit.business",
    "Decision": "causal_kit.business",
    "Impact": "causal_kit.business",
    "PerUserValue": "causal_kit.business",
    "RetentionValue": "causal_kit.business",
    "RunningCost": "causal_kit.business",
    "ValueModel": "causal_kit.business",
    "decide": "causal_kit.business",
    "translate": "causal_kit.business",
    "Diagnosis": "causal_kit.business",
    "MdeFigure": "causal_kit.business",
    "PlanStatus": "causal_kit.business",
    "Power": "causal_kit.business",
    "diagnose": "causal_kit.business",
    "mde_flag": "causal_kit.business",
    "plan_status": "causal_kit.business",
    "power": "causal_kit.business",
    "register_plan": "causal_kit.business",
    "LaunchAnalysis": "causal_kit.analysis",
    "analyze_launch": "causal_kit.analysis",
    "build_summary": "causal_kit.analysis",
    "validate_summary": "causal_kit.analysis",
    "Simulation": "causal_kit.simulate",
    "load_simulation": "causal_kit.simulate",
    "make_demo": "causal_kit.simulate",
    "simulate": "causal_kit.simulate",
    "Report": "causal_kit.presentation.runner",
    "run_report": "causal_kit.presentation.runner",
    "table": "causal_kit.presentation.table",
    "ExperimentSet": "causal_kit.design.experiment",
    "experiment": "causal_kit.design.experiment",
    "its": "causal_kit.design.its",
    "surrogate_index": "causal_kit.design.surrogate",
    "AdoptionEffect": "causal_kit.evidence.adoption",
    "adoption_effect": "causal_kit.evidence.adoption",
    "Attribution": "causal_kit.evidence.attribution",
    "attribute_change": "causal_kit.evidence.attribution",
    "CascadeGraph": "causal_kit.evidence.graph",
    "cascade_graph": "causal_kit.evidence.graph",
    "Heterogeneity": "causal_kit.evidence.heterogeneity",
    "heterogeneity": "causal_kit.evidence.heterogeneity",
    "LeadingIndicators": "causal_kit.evidence.leading",
    "launch_effects": "causal_kit.evidence.leading",
    "leading_indicators": "causal_kit.evidence.leading",
    "Mediation": "causal_kit.evidence.mediation",
    "mediation": "causal_kit.evidence.mediation",
    "Refutations": "causal_kit.evidence.refute",
    "refute": "causal_kit.evidence.refute",
    "refute_panel": "causal_kit.evidence.refute",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from causal_kit.analysis import (
        LaunchAnalysis,
        analyze_launch,
        build_summary,
        validate_summary,
    )
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
    from causal_kit.core.estimate import (
        Check,
        Estimate,
    )
    from causal_kit.core.launch import (
        CostTarget,
        Launch,
        LayerTarget,
        Plan,
        SuccessCriteria,
        load_launch,
    )
    from causal_kit.design.did import (
        did,
    )
    from causal_kit.design.experiment import (
        ExperimentSet,
        experiment,
    )
    from causal_kit.design.its import (
        its,
    )
    from causal_kit.design.rdd import (
        rdd,
    )
    from causal_kit.design.surrogate import (
        surrogate_index,
    )
    from causal_kit.design.synth import (
        synthetic_control,
    )
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
    from causal_kit.evidence.adoption import (
        AdoptionEffect,
        adoption_effect,
    )
    from causal_kit.evidence.attribution import (
        Attribution,
        attribute_change,
    )
    from causal_kit.evidence.graph import (
        CascadeGraph,
        cascade_graph,
    )
    from causal_kit.evidence.heterogeneity import (
        Heterogeneity,
        heterogeneity,
    )
    from causal_kit.evidence.leading import (
        LeadingIndicators,
        launch_effects,
        leading_indicators,
    )
    from causal_kit.evidence.mediation import (
        Mediation,
        mediation,
    )
    from causal_kit.evidence.refute import (
        Refutations,
        refute,
        refute_panel,
    )
    from causal_kit.metrics import (
        METRICS,
        Metric,
        build_panel,
        list_metrics,
        user_outcomes,
    )
    from causal_kit.presentation.runner import (
        Report,
        run_report,
    )
    from causal_kit.presentation.table import (
        table,
    )
    from causal_kit.simulate import (
        Simulation,
        load_simulation,
        make_demo,
        simulate,
    )
    from causal_kit.source import (
        EventSource,
        open_events,
    )
    from causal_kit.source.paths import (
        demo_path,
        project_root,
    )

def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use, and keep the value."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'causal_kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """The module type of causal_kit: a public name is never replaced by a submodule.

    Importing the subpackage ``causal_kit.simulate`` binds it as the attribute ``simulate`` of
    this package, which would hide the function ``ck.simulate``; that binding is skipped (the
    subpackage stays importable through ``sys.modules``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
