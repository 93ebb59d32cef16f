"""Truths of the evidence layer on the demo launches: who gains, per adopter, through what.

The evidence modules (:mod:`causal_kit.evidence`) read per-user outcomes over the 30 days from a
holdout's first day. :class:`MechanismTruth` sums, block by block, the same users' outcomes with
and without v2 (the two worlds of :mod:`causal_kit.simulate.block`, from common random numbers)
and turns them into the ``mechanisms`` key of ``truth.json``:

* ``by_segment``: the mean effect of v2 on each 30-day outcome among the v2 arm's users of each
  segment (the heterogeneity module's groups);
* ``adoption``: the share of the v2 arm's users who used the feature (ran a task in the window,
  ``tasks_30d > 0``, as the report measures it), the mean effect among them and among the rest,
  and the instrumental-variable estimand ``att / share`` (the effect per adopter when the launch
  does nothing to users who do not use it);
* ``mediation``: the share of each outcome's effect that flows through task success.

The mediated share follows from the simulator's structure rather than from a draw: v2 changes
only the task success probability of a user's calls (latency and cost reach no outcome), and the
churn hazard and the purchase probability respond to that probability. So every effect of v2 on
engagement and revenue flows through task success (indirect = total, share 1), except in
``broken_cascade``, where neither responds: the effect on engagement and revenue is exactly zero,
and so is the indirect effect through task success. Rollouts have no per-user window in the
simulator, so only their mediation truth (from the region-week truth) is recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_kit.metrics.users import outcome_column
from causal_kit.simulate.block import GATE_OUTCOMES, GATE_WINDOW_DAYS, BlockOutput, Context
from causal_kit.simulate.world import SEGMENTS

#: Region-week metrics of a rollout whose effect the task success link carries.
PANEL_LINKS = {"engagement": ("active_users", "sessions"), "business": ("revenue",)}
#: Per-user outcomes of a holdout, by cascade level.
USER_LINKS = {"engagement": ("retained", "active_days", "sessions"), "business": ("revenue",)}
STRUCTURE = (
    "v2 changes only the task success probability; the churn hazard and the purchase "
    "probability respond to it and nothing else of v2 reaches engagement or revenue, so "
    "the whole effect flows through task success"
)
BROKEN = (
    "broken cascade: churn and purchases do not respond to task success, so v2 leaves "
    "engagement and revenue unchanged and nothing flows through task success"
)


def _name(outcome: str) -> str:
    """Column of a 30-day user outcome, as :func:`causal_kit.user_outcomes` names it."""
    return outcome_column(outcome, GATE_WINDOW_DAYS)


class MechanismTruth:
    """Sum the v2 arm's per-user effects by segment and adoption, block by block."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sums: dict[str, float] = {}

    def _acc(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value

    def add(self, out: BlockOutput) -> None:
        """Add one block (only a holdout's blocks carry per-user outcomes with an arm)."""
        g = out.gate
        if g is None or "arm" not in g:
            return
        v2 = g["eligible"] & (g["arm"] == 1)
        adopter = v2 & (g["tasks_observed"] > 0)
        groups = {"all": v2, "adopter": adopter, "non_adopter": v2 & ~adopter}
        segment = np.asarray(out.users["segment"])
        for k, label in enumerate(SEGMENTS):
            groups[f"segment:{label}"] = v2 & (segment == k)
        for group, sel in groups.items():
            self._acc(f"n|{group}", float(sel.sum()))
            for o in GATE_OUTCOMES:
                effect = g[f"{o}_observed"] - g[f"{o}_no_v2"]
                self._acc(f"{o}|{group}", float(effect[sel].sum()))

    def _mean(self, outcome: str, group: str) -> float | None:
        n = self.sums.get(f"n|{group}", 0.0)
        return self.sums.get(f"{outcome}|{group}", 0.0) / n if n > 0 else None

    def mechanisms(self, att: dict[str, Any]) -> dict[str, Any] | None:
        """Return the ``mechanisms`` key of ``truth.json`` (``None`` for a launch without it).

        Parameters
        ----------
        att
            The region-week truth of :meth:`causal_kit.simulate.truth.TruthAccumulator.att`
            (used for a rollout's mediation).
        """
        a = self.ctx.assignment
        if a.holdout_day >= 0:
            return self._holdout()
        if a.gate_day >= 0 or a.global_day >= 0 or not att:
            return None
        effects = {
            m: float(att[m]["effect"]) for ms in PANEL_LINKS.values() for m in ms if m in att
        }
        return {
            "population": "treated region-weeks (the att key)",
            "mediation": _links("task_success_rate", effects, a.broken),
            "mediation_rule": BROKEN if a.broken else STRUCTURE,
            "by_segment": None,
            "adoption": None,
            "note": "a rollout has no per-user window in the simulator: effects by segment and "
            "per adopter are recorded for the holdout only",
        }

    def _holdout(self) -> dict[str, Any]:
        n_v2 = self.sums.get("n|all", 0.0)
        share = self.sums.get("n|adopter", 0.0) / n_v2 if n_v2 > 0 else None
        outcomes = {_name(o): o for o in GATE_OUTCOMES}
        itt = {name: self._mean(o, "all") for name, o in outcomes.items()}
        linked = [_name(o) for ms in USER_LINKS.values() for o in ms]
        effects = {name: v for name in linked if (v := itt[name]) is not None}
        return {
            "population": "the v2 arm's users of the holdout truth (signed up before it, active "
            "in the lookback), over the 30-day window",
            "by_segment": {
                name: {label: self._mean(o, f"segment:{label}") for label in SEGMENTS}
                for name, o in outcomes.items()
            },
            "n_by_segment": {
                label: int(self.sums.get(f"n|segment:{label}", 0.0)) for label in SEGMENTS
            },
            "adoption": {
                "definition": f"a v2-arm user with at least one task in the window (tasks_"
                f"{GATE_WINDOW_DAYS}d > 0)",
                "share": share,
                "n_adopters": int(self.sums.get("n|adopter", 0.0)),
                "effect_per_adopter": {n: self._mean(o, "adopter") for n, o in outcomes.items()},
                "effect_per_non_adopter": {
                    n: self._mean(o, "non_adopter") for n, o in outcomes.items()
                },
                "iv_estimand": {
                    n: (v / share if v is not None and share else None) for n, v in itt.items()
                },
            },
            "mediation": _links("task_success", effects, self.ctx.assignment.broken),
            "mediation_rule": BROKEN if self.ctx.assignment.broken else STRUCTURE,
        }


def _links(mediator: str, effects: dict[str, float], broken: bool) -> dict[str, Any]:
    """Per ``mediator -> outcome`` link: total effect, indirect effect and share (see above).

    The share is 1 where the structure routes everything through task success and the total is
    not zero; 0 in a broken cascade (nothing flows, and the total is zero too).
    """
    out: dict[str, Any] = {}
    for outcome, total in effects.items():
        share = 0.0 if broken else (1.0 if total != 0 else None)
        out[f"{mediator} -> {outcome}"] = {
            "total": total,
            "indirect": 0.0 if broken else total,
            "share": share,
        }
    return out
