"""Every option string of causal_kit, as exact ``Literal`` types validated in one place."""

from __future__ import annotations

from typing import Any, Literal, get_args

from causal_kit.core.errors import SpecificationError

DidMethod = Literal["auto", "2x2", "twfe", "cs", "sa", "imputation"]
DidControl = Literal["never", "notyet"]
DidEstMethod = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]
SeType = Literal["cluster", "hc1", "classical"]
Bootstrap = Literal["none", "multiplier", "wild"]
SynthMethod = Literal["sc", "asc", "sdid"]
SynthInference = Literal["auto", "placebo", "conformal", "jackknife", "bootstrap", "none"]
RddKernel = Literal["triangular", "uniform", "epanechnikov"]
RddBandwidth = Literal["mserd", "msetwo", "cerrd", "certwo"]
RddVce = Literal["nn", "hc0", "hc1", "hc2", "hc3"]
RddSide = Literal["above", "below"]
Grain = Literal["day", "week", "month"]
Decision = Literal["ship", "iterate", "roll back", "keep measuring"]
CheckKind = Literal["identifying", "robustness"]
Scenario = Literal["staggered", "single_market", "score_gate", "broken_cascade", "clear_win",
                   "harmful", "no_effect", "holdout", "global_launch", "early_read",
                   "surrogate_gap"]
# Launch shapes (see causal_kit.core.shape)
LaunchShape = Literal["holdout", "global", "regional", "score_gate"]


def check_option(name: str, value: Any, allowed: Any) -> Any:
    """Return ``value`` if it is one of the strings of the ``Literal`` ``allowed``.

    Parameters
    ----------
    name
        The argument's name, used in the error message.
    value
        What the caller passed.
    allowed
        A ``Literal[...]`` type (or a tuple of strings).

    Raises
    ------
    SpecificationError
        If ``value`` is not one of the allowed strings; the message lists them.
    """
    choices = get_args(allowed) if not isinstance(allowed, tuple) else allowed
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise SpecificationError(f"{name}={value!r} is not a valid option; use one of {valid}.")
    return value


# Business layer
Direction = Literal["increase", "decrease"]
ValueBasis = Literal["low", "point"]
IntervalSource = Literal["auto", "draws", "ci"]
RetentionMetric = Literal["retention", "churn"]
CascadeLevel = Literal["model", "task", "engagement", "business"]
Grade = Literal["high", "medium", "low"]
PowerDesign = Literal["experiment", "did", "sc"]
SurrogateDesign = Literal["experiment", "did", "rdd"]
SurrogateModel = Literal["linear", "boosting"]
#: Exceptions to the 90-day rule a plan may declare (none, or one of the named kinds).
RuleException = Literal["none", "platform", "long_sales_cycle", "timeboxed_bet"]
TriangulationDesign = Literal["did", "sc", "rdd", "experiment", "its"]

# Experiments
MultipleTesting = Literal["holm", "bh", "none"]
# Interrupted time series
ItsTrend = Literal["level", "drift", "trend"]
# Analysis layer
LaunchDesign = Literal["auto", "did", "sc", "rdd"]
