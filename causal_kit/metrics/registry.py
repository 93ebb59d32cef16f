"""Named metrics of the cascade — model → task → engagement → business — and their definitions.

A metric is a formula over *components*: sums and distinct counts the engine computes per
``unit × period`` (or per signup cohort for retention). Only the components reach pandas, where the
ratios are taken; a ratio whose denominator is zero is undefined (NaN, and flagged by
:func:`causal_kit.build_panel`), never 0.

Event columns (see :func:`causal_kit.simulate.read_events_schema`): ``user_id``, the unit column,
``date`` (or ``ts``), ``event`` (``"session"``, ``"task"``, ``"purchase"``; any row counts as
activity), ``task_success`` and ``retried`` (booleans on task rows; a retry is an attempt that
follows a failed attempt of the same task), ``latency_ms`` and ``cost_usd`` (on rows that are model
calls), ``revenue`` (on purchase rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import narwhals as nw
import pandas as pd

from causal_kit.core.errors import SpecificationError

Direction = Literal["higher", "lower", "neutral"]
LEVELS = {1: "model", 2: "task", 3: "engagement", 4: "business"}
RETENTION_DAYS = (1, 7, 30)


@dataclass(frozen=True)
class Component:
    """An aggregate the engine computes per group.

    Attributes
    ----------
    name
        Column name of the aggregate.
    needs
        Event columns it reads.
    expr
        Builds the narwhals aggregation expression.
    empty
        Value of the aggregate over no rows (0 for counts and sums, NaN for quantiles).
    """

    name: str
    needs: tuple[str, ...]
    expr: Callable[[], nw.Expr]
    empty: float = 0.0


def _count(event: str) -> Callable[[], nw.Expr]:
    return lambda: (nw.col("event") == event).cast(nw.Int64).sum()


def _users_with_task() -> nw.Expr:
    # distinct users with a task row; the null that `when` gives other rows counts once in
    # n_unique, so it is taken off when the group has any non-task row
    is_task = (nw.col("event") == "task").fill_null(False)
    return (nw.when(is_task).then(nw.col("user_id")).n_unique()
            - (~is_task).cast(nw.Int64).max())


def _task_flag(column: str) -> Callable[[], nw.Expr]:
    return lambda: ((nw.col("event") == "task") & nw.col(column)).cast(nw.Int64).sum()


def _exact_sum(column: str, scale: float) -> Callable[[], nw.Expr]:
    """Sum ``column`` as integers of ``1/scale`` units: the same bits in any summation order.

    A parallel engine adds floats in whatever order its threads finish, so a float sum can
    differ in its last bits from run to run; an integer sum cannot. ``scale`` keeps far more
    precision than the metric has (micro-dollars of revenue, microseconds of latency) and
    leaves room for ~1e9 events per cell in 64 bits.
    """
    return lambda: (nw.col(column) * scale).round(0).cast(nw.Int64).sum() / scale


#: Event components, computed per ``unit × period`` in the engine.
COMPONENTS: Mapping[str, Component] = MappingProxyType(
    {
        c.name: c
        for c in (
            Component("active_users", ("user_id",), lambda: nw.col("user_id").n_unique()),
            Component("ai_users", ("user_id", "event"), _users_with_task),
            Component("sessions", ("event",), _count("session")),
            Component("tasks", ("event",), _count("task")),
            Component("task_successes", ("event", "task_success"), _task_flag("task_success")),
            Component("task_retries", ("event", "retried"), _task_flag("retried")),
            Component("purchases", ("event",), _count("purchase")),
            Component("revenue_sum", ("revenue",), _exact_sum("revenue", 1e6)),
            Component("calls", ("latency_ms",), lambda: nw.col("latency_ms").count()),
            Component("latency_sum", ("latency_ms",), _exact_sum("latency_ms", 1e3)),
            Component(
                "latency_p95",
                ("latency_ms",),
                lambda: nw.col("latency_ms").quantile(0.95, interpolation="linear"),
                float("nan"),
            ),
            Component("cost_calls", ("cost_usd",), lambda: nw.col("cost_usd").count()),
            Component("cost_sum", ("cost_usd",), _exact_sum("cost_usd", 1e8)),
        )
    }
)


@dataclass(frozen=True)
class Metric:
    """A named, documented metric.

    Attributes
    ----------
    name
        Identifier used in ``build_panel(metrics=[...])`` and as the panel's column name.
    level
        Cascade level: 1 model, 2 task, 3 engagement, 4 business.
    description
        What it measures, exactly.
    unit
        Unit of the value.
    direction
        ``"higher"`` or ``"lower"`` is better, or ``"neutral"``.
    components
        Engine aggregates it is computed from.
    formula
        Computes the metric from a frame of components.
    cohort_lag
        For retention: days after signup; ``None`` for event metrics.
    """

    name: str
    level: int
    description: str
    unit: str
    direction: Direction
    components: tuple[str, ...]
    formula: Callable[[pd.DataFrame], pd.Series]
    cohort_lag: int | None = None

    @property
    def level_name(self) -> str:
        """``"model"``, ``"task"``, ``"engagement"`` or ``"business"``."""
        return LEVELS[self.level]

    @property
    def needs(self) -> tuple[str, ...]:
        """Event columns the metric reads."""
        if self.cohort_lag is not None:
            return ("user_id",)
        cols = (c for name in self.components for c in COMPONENTS[name].needs)
        return tuple(dict.fromkeys(cols))


def ratio(num: str, den: str) -> Callable[[pd.DataFrame], pd.Series]:
    """Return ``num / den``, undefined (NaN) where ``den`` is zero."""

    def f(c: pd.DataFrame) -> pd.Series:
        d = c[den].astype(float)
        return (c[num].astype(float) / d.where(d != 0)).astype(float)

    return f


def column(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    """Return a component as it is."""
    return lambda c: c[name]


def _abandonment(c: pd.DataFrame) -> pd.Series:
    started = (c["tasks"] - c["task_retries"]).astype(float)
    failed = (c["tasks"] - c["task_successes"] - c["task_retries"]).astype(float)
    return failed / started.where(started != 0)


def _metrics() -> dict[str, Metric]:
    m = [
        # level 1: the model
        Metric("latency_ms", 1, "Mean latency of a model call (rows with latency_ms).", "ms",
               "lower", ("latency_sum", "calls"), ratio("latency_sum", "calls")),
        Metric("latency_p95_ms", 1, "95th percentile of model-call latency (linear "
               "interpolation).", "ms", "lower", ("latency_p95",), column("latency_p95")),
        Metric("cost_per_call", 1, "Mean model cost per call (rows with cost_usd).", "USD",
               "lower", ("cost_sum", "cost_calls"), ratio("cost_sum", "cost_calls")),
        Metric("model_cost", 1, "Total model cost (sum of cost_usd).", "USD", "lower",
               ("cost_sum",), column("cost_sum")),
        # level 2: the task
        Metric("tasks", 2, "Task attempts (task rows, retries included).", "attempts",
               "neutral", ("tasks",), column("tasks")),
        Metric("task_success_rate", 2, "Share of task attempts that succeeded.", "share",
               "higher", ("task_successes", "tasks"), ratio("task_successes", "tasks")),
        Metric("retry_rate", 2, "Share of task attempts that are retries of a failed attempt.",
               "share", "lower", ("task_retries", "tasks"), ratio("task_retries", "tasks")),
        Metric("abandonment_rate", 2, "Share of tasks (first attempts) whose last attempt failed: "
               "(failed attempts - retries) / (attempts - retries).", "share", "lower",
               ("tasks", "task_successes", "task_retries"), _abandonment),
        Metric("cost_per_completed_task", 2, "Model cost per successful task: sum of cost_usd / "
               "successful attempts.", "USD", "lower", ("cost_sum", "task_successes"),
               ratio("cost_sum", "task_successes")),
        # level 3: engagement
        Metric("active_users", 3, "Distinct users with any event in the period.", "users",
               "higher", ("active_users",), column("active_users")),
        Metric("sessions", 3, "Sessions (session rows).", "sessions", "higher", ("sessions",),
               column("sessions")),
        Metric("sessions_per_user", 3, "Sessions per active user.", "sessions per user",
               "higher", ("sessions", "active_users"), ratio("sessions", "active_users")),
        Metric("adoption", 3, "Share of active users who used the AI feature (ran at least one "
               "task) in the period; on launched units after launch, the share of exposed users "
               "who adopted it.", "share", "higher", ("ai_users", "active_users"),
               ratio("ai_users", "active_users")),
        Metric("signups", 3, "Users whose signup date falls in the period (the cohort size).",
               "users", "neutral", ("signups",), column("signups"), 0),
        # level 4: business
        Metric("revenue", 4, "Revenue (sum of the revenue column).", "USD", "higher",
               ("revenue_sum",), column("revenue_sum")),
        Metric("purchases", 4, "Purchases (purchase rows).", "purchases", "higher",
               ("purchases",), column("purchases")),
        Metric("revenue_per_active_user", 4, "Revenue per active user (ARPU over the period).",
               "USD per active user", "higher", ("revenue_sum", "active_users"),
               ratio("revenue_sum", "active_users")),
    ]  # fmt: skip
    for lag in RETENTION_DAYS:
        m.append(
            Metric(f"d{lag}_retention", 3, f"Share of the period's signup cohort active (any "
                   f"event) exactly {lag} day{'s' if lag > 1 else ''} after signing up.", "share",
                   "higher", ("signups", f"retained_d{lag}"),
                   ratio(f"retained_d{lag}", "signups"), lag)
        )
    return {x.name: x for x in m}


#: Every metric by name (read-only).
METRICS: Mapping[str, Metric] = MappingProxyType(_metrics())
REGISTRY = METRICS


def list_metrics() -> pd.DataFrame:
    """Return the metrics as a table: name, level, level_name, description, unit, direction."""
    rows = [
        {
            "name": m.name,
            "level": m.level,
            "level_name": m.level_name,
            "description": m.description,
            "unit": m.unit,
            "direction": m.direction,
        }
        for m in METRICS.values()
    ]
    return pd.DataFrame(rows).sort_values(["level", "name"], kind="stable", ignore_index=True)


def resolve(metrics: Any) -> list[Metric]:
    """Return the :class:`Metric` objects for ``metrics`` (a name or a list of names).

    Raises
    ------
    SpecificationError
        For an unknown name (the valid ones are listed) or an empty list.
    """
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise SpecificationError("metrics is empty; name at least one (see ck.list_metrics()).")
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise SpecificationError(
            f"unknown metric {', '.join(map(repr, unknown))}; valid metrics: "
            f"{', '.join(METRICS)}."
        )
    return [METRICS[n] for n in dict.fromkeys(names)]
