"""The metric cascade: whether a model gain carries through to tasks, engagement and money.

Metrics sit at four levels: 1 model (quality, latency, cost per call), 2 task (success,
retries, abandonment), 3 engagement (active users, sessions, retention), 4 business (revenue,
lifetime value). For one launch, the effect on one or more metrics per level is chained from the
lowest level to the highest. A link between two consecutive levels:

* **holds** when both ends moved significantly (their intervals exclude zero) the same way
  (both improved, or both worsened: the harm carries through);
* is **broken** when the upstream metric improved but the downstream interval includes zero —
  the message says what that suggests (e.g. task success up and engagement flat points at the
  workflow or UX, not the model);
* is **reversed** when the upstream metric improved and the downstream one significantly
  worsened (a side effect);
* is a **trade-off** when a model-level metric worsened (e.g. a larger model is slower or
  costlier per call) while the task metric improved: the gain comes from the model's quality and
  is paid for in that metric, which belongs among the guardrails;
* has **no signal** when the upstream metric did not move, so the link cannot be judged.

The cascade holds when every link holds or is a trade-off.

The link strength is the elasticity (relative change downstream ÷ relative change upstream) when
the pre-launch levels of both metrics are given as ``baselines``, otherwise the ratio of their
z-statistics (how much of the upstream signal is still visible downstream).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Estimate, json_safe
from causal_kit.core.render import Rendered, ShowsSummary, number

LEVELS = ("model", "task", "engagement", "business")

_BROKEN = {
    ("model", "task"): (
        "the model metric improved but users do not complete more tasks: the offline metric "
        "may not measure what users need (wrong task, or an evaluation set unlike real use)"
    ),
    ("task", "engagement"): (
        "users succeed at more tasks but do not engage more: look at the workflow and UX "
        "(discoverability, trust, how the feature fits the way people work), not the model"
    ),
    ("engagement", "business"): (
        "users engage more but the business metric is flat: the extra engagement is not "
        "monetised, or comes from users who do not pay; check pricing and the paying segments"
    ),
    ("model", "engagement"): (
        "the model metric improved but engagement is flat: check the task metrics in between "
        "and whether the improvement is on cases users meet"
    ),
    ("model", "business"): (
        "the model metric improved but the business metric is flat: the improvement does not "
        "reach users or money; measure the task and engagement levels to find where it stops"
    ),
    ("task", "business"): (
        "users succeed at more tasks but the business metric is flat: the gain stops between "
        "the task and the money — look at the workflow and UX first (does success lead to more "
        "use?), then at monetisation; the model is not the bottleneck"
    ),
}


@dataclass(frozen=True)
class Cascade(ShowsSummary):
    """The effects of one launch along the metric cascade, and whether each link holds.

    Attributes
    ----------
    levels
        One row per metric: ``level``, ``level_name``, ``metric``, ``estimate``, ``ci_low``,
        ``ci_high``, ``p_value``, ``better`` (``"higher"``/``"lower"``), ``moved``
        (``"improved"``, ``"worsened"``, ``"flat"``), ``relative_change`` (when a baseline is
        given).
    links
        One row per link: ``upstream``, ``downstream``, ``from_level``, ``to_level``,
        ``status`` (``"holds"``, ``"broken"``, ``"reversed"``, ``"trade-off"``,
        ``"no signal"``), ``strength``, ``strength_basis``, ``message``.
    """

    levels: pd.DataFrame
    links: pd.DataFrame

    @property
    def holds(self) -> bool:
        """Whether every link holds (a model-level trade-off does not break the chain)."""
        ok = self.links["status"].isin(["holds", "trade-off"])
        return bool(len(self.links)) and bool(ok.all())

    @property
    def broken_links(self) -> list[str]:
        """Plain-language sentences for each broken or reversed link."""
        bad = self.links[self.links["status"].isin(["broken", "reversed"])]
        return [str(m) for m in bad["message"]]

    @property
    def chain(self) -> str:
        """The cascade as one line: ``task: success 0.04 (improved) -[holds]-> …``."""
        parts = [
            f"{lv}: {m} {number(float(e), 3)} ({mv})"
            for lv, m, e, mv in zip(
                self.levels["level_name"], self.levels["metric"], self.levels["estimate"],
                self.levels["moved"], strict=True,
            )
        ]
        text = parts[0] if parts else ""
        names = list(self.levels["metric"])
        for link in self.links.itertuples(index=False):
            i = names.index(link.downstream)
            text += f" -[{link.status}]-> {parts[i]}"
        return text

    def summary(self) -> Rendered:
        """Return the levels, links and messages as a printable view."""
        verdict = "every link holds" if self.holds else "the cascade breaks"
        lv = self.levels[["level_name", "metric", "estimate", "ci_low", "ci_high", "moved"]]
        lk = self.links[["upstream", "downstream", "status", "strength", "strength_basis"]]
        return Rendered(
            "Metric cascade",
            [("Verdict", verdict), ("Chain", self.chain)],
            [("Effect at each level", lv), ("Links", lk)],
            self.broken_links,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {
            "holds": self.holds,
            "chain": self.chain,
            "levels": json_safe(self.levels),
            "links": json_safe(self.links),
            "broken_links": self.broken_links,
        }


def _level_of(value: Any, where: str) -> int:
    if isinstance(value, str) and value in LEVELS:
        return LEVELS.index(value) + 1
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return value
    raise SpecificationError(
        f"{where}: {value!r} is not a cascade level; use one of {list(LEVELS)} or 1-4."
    )


def _registered(metric: str) -> Any:
    """Return the registered :class:`~causal_kit.metrics.registry.Metric`, or ``None``."""
    try:
        from causal_kit.metrics.registry import METRICS
    except ImportError:  # pragma: no cover - the registry ships with the package
        return None
    return METRICS.get(metric)


def _move(low: float, high: float, sign: float) -> str:
    lo, hi = sorted((sign * low, sign * high))
    if lo > 0:
        return "improved"
    if hi < 0:
        return "worsened"
    return "flat"


def cascade(
    estimates: Mapping[Any, Estimate],
    *,
    levels: Mapping[str, Any] | None = None,
    lower_is_better: Sequence[str] = (),
    baselines: Mapping[str, float] | None = None,
) -> Cascade:
    """Chain a launch's effects from model metrics to business metrics and test each link.

    Parameters
    ----------
    estimates
        Either level → estimate (keys ``"model"``, ``"task"``, ``"engagement"``,
        ``"business"`` or 1-4; the metric is the estimate's outcome), or metric name → estimate
        with ``levels`` giving each metric's level (registered metrics such as
        ``"task_success"`` or ``"revenue"`` need no ``levels``: the registry knows them).
    levels
        Metric name → level, when ``estimates`` is keyed by metric.
    lower_is_better
        Metrics (names, or the level keys) where a decrease is the improvement (latency,
        retries, abandonment, cost per outcome). Metrics of the registry
        (:data:`causal_kit.metrics.registry.METRICS`) marked "lower is better" are flipped
        without being listed.
    baselines
        Metric → its pre-launch level, to report relative changes and elasticities.

    Returns
    -------
    Cascade

    Raises
    ------
    SpecificationError
        Fewer than two metrics, an unknown level, a metric without a level.
    """
    if not isinstance(estimates, Mapping) or len(estimates) < 2:
        raise SpecificationError(
            "cascade needs a mapping of at least two estimates at different levels, e.g. "
            "{'task': est_success, 'business': est_revenue}."
        )
    rows = []
    for key, est in estimates.items():
        if not isinstance(est, Estimate):
            raise SpecificationError(
                f"cascade[{key!r}] must be an Estimate; got {type(est).__name__}."
            )
        if levels is not None:
            if key not in levels:
                raise SpecificationError(
                    f"metric {key!r} has no level in levels= ({sorted(map(str, levels))}); "
                    "add it."
                )
            lvl, metric = _level_of(levels[key], f"levels[{key!r}]"), str(key)
        elif key in LEVELS or (isinstance(key, int) and not isinstance(key, bool)):
            lvl, metric = _level_of(key, "cascade key"), est.outcome
        else:
            found = _registered(str(key))
            if found is None:
                raise SpecificationError(
                    f"cascade key {key!r} is neither a level ({list(LEVELS)}) nor a registered "
                    "metric; pass levels={...} giving each metric's level."
                )
            lvl, metric = _level_of(found.level, f"registry level of {key!r}"), str(key)
        registered = _registered(metric)
        flip = (
            key in lower_is_better
            or metric in lower_is_better
            or getattr(registered, "direction", None) == "lower"
        )
        rows.append((lvl, metric, est, -1.0 if flip else 1.0))
    if len({r[0] for r in rows}) < 2:
        raise SpecificationError("cascade needs metrics at two or more different levels.")
    names = [r[1] for r in rows]
    if len(set(names)) != len(names):
        raise SpecificationError(
            f"metric names repeat ({names}); key the estimates by metric name with levels=."
        )
    rows.sort(key=lambda r: r[0])
    base = dict(baselines or {})
    table = pd.DataFrame(
        [
            {
                "level": lvl,
                "level_name": LEVELS[lvl - 1],
                "metric": metric,
                "estimate": float(est.estimate),
                "ci_low": float(est.ci[0]),
                "ci_high": float(est.ci[1]),
                "p_value": float(est.p_value),
                "better": "lower" if sign < 0 else "higher",
                "moved": _move(est.ci[0], est.ci[1], sign),
                "z": sign * _z(est),
                "relative_change": (
                    sign * float(est.estimate) / base[metric] if base.get(metric) else None
                ),
            }
            for lvl, metric, est, sign in rows
        ]
    )
    links = []
    present = sorted(set(table["level"]))
    for a, b in itertools.pairwise(present):
        for up in table[table["level"] == a].itertuples(index=False):
            for down in table[table["level"] == b].itertuples(index=False):
                links.append(_link(up, down))
    return Cascade(levels=table, links=pd.DataFrame(links))


def _z(est: Estimate) -> float:
    se = float(est.se)
    if math.isfinite(se) and se > 0:
        return float(est.estimate) / se
    return math.nan


def _usable(value: Any) -> bool:
    return value is not None and math.isfinite(value)


def _link(up: Any, down: Any) -> dict[str, Any]:
    if _usable(up.relative_change) and _usable(down.relative_change) and up.relative_change:
        strength, basis = down.relative_change / up.relative_change, "elasticity"
    elif math.isfinite(up.z) and up.z != 0 and math.isfinite(down.z):
        strength, basis = down.z / up.z, "z ratio"
    else:
        strength, basis = None, "n/a"
    pair = (up.level_name, down.level_name)
    if up.moved == "improved" and down.moved == "improved":
        status, msg = "holds", f"{up.metric} → {down.metric}: both improved; the link holds."
    elif up.moved == "worsened" and down.moved == "worsened":
        status = "holds"
        msg = f"{up.metric} → {down.metric}: both worsened; the harm carries through."
    elif up.moved == "improved" and down.moved == "flat":
        status = "broken"
        msg = f"{up.metric} → {down.metric} is broken: {_BROKEN[pair]}."
    elif up.level_name == "model" and up.moved == "worsened" and down.moved == "improved":
        status = "trade-off"
        msg = (
            f"{up.metric} → {down.metric} is a trade-off: {up.metric} worsened while "
            f"{down.metric} improved, so the gain comes from the model's quality and is paid for "
            f"in {up.metric}; keep it as a guardrail."
        )
    elif up.moved == "improved" and down.moved == "worsened":
        status = "reversed"
        msg = (
            f"{up.metric} → {down.metric} is reversed: {up.metric} improved but {down.metric} "
            "worsened; look for a side effect (latency, cost, cannibalisation) before shipping."
        )
    else:
        status = "no signal"
        msg = f"{up.metric} did not improve, so the link to {down.metric} cannot be judged"
        if down.moved != "flat":
            msg += (
                f"; {down.metric} {down.moved} anyway, so the effect runs through another path "
                "(or the design picks up something else)"
            )
        msg += "."
    return {
        "upstream": up.metric,
        "downstream": down.metric,
        "from_level": up.level_name,
        "to_level": down.level_name,
        "status": status,
        "strength": strength,
        "strength_basis": basis,
        "message": msg,
    }
