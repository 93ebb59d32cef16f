"""User-level data with known mechanisms: who adopts, who gains, and through what.

The event simulator records what v2 did to region-weeks. The questions of the evidence layer
(through which cascade link the money moved, which users gain, what the effect is per user who
actually used the feature) need per-user potential outcomes whose mechanisms are known in closed
form. :func:`simulate_users` draws them from one linear structural model of the cascade::

    exposure Z ──► adoption A ──► task success ──► sessions (engagement) ──► revenue (business)
                                        └──────────────────────────────────────────► revenue

Users carry a segment (20% ``power``), a tenure, pre-period activity (``pre_sessions``), a region
and its tier (1-3). Only adopters (``A = 1``) get the new model, which moves their task success by
``tau`` (larger in tier-1 regions, *negative* for power users: the segment that pays loses); the
launch moves sessions and revenue only through task success, so the exposure is a valid
instrument for adoption. In ``broken_cascade`` sessions do not respond to task success, so none
of the business effect flows through engagement.

Every truth is the realized one on these very users (their effect under exposure minus without,
with the same noise): the intent-to-treat effect, the adoption rate, the effect per adopter, the
effect by segment, region tier and tenure band, and the share of each metric's effect that flows
through each cascade link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.options import check_option

UserShape = Literal["holdout", "rollout", "score_gate"]

#: Coefficients of the structural model (documented in the truth).
MECHANISMS: dict[str, float] = {
    "power_share": 0.2,
    "adopt_base": 0.30,
    "adopt_power": 0.20,
    "adopt_activity": 0.05,
    "tau_task": 0.12,  # effect of using the feature on task success (casual, tier 2-3)
    "tau_task_tier1": 0.05,
    "tau_task_power": -0.20,
    "task_sd": 0.07,
    "sessions_per_task": 25.0,  # engagement's response to task success (0 when broken)
    "sessions_sd": 2.0,
    "revenue_per_session": 0.6,
    "revenue_per_task": 8.0,  # the direct task -> revenue link (purchases completed by the task)
    "revenue_sd": 3.0,
    "tier_trend": 0.8,  # rollout: revenue trend between periods in tier-1 regions
    "gate_cutoff": 0.7,
}
N_REGIONS = 24


@dataclass(frozen=True)
class UserSimulation:
    """Simulated users with their outcomes and the realized truths.

    Attributes
    ----------
    users
        One row per user: ``user_id, region, region_tier, segment, power, tenure_days,
        pre_sessions, score, exposed, adopted, task_success, sessions, revenue, revenue_pre``,
        and the truth columns ``true_effect`` (revenue effect of exposure on this user) and
        ``true_adopter`` (whether the user would adopt if exposed).
    truth
        ``itt``, ``adoption_rate``, ``effect_per_adopter``, ``by_segment``, ``by_region_tier``,
        ``by_tenure_band`` (effects of exposure on revenue, over the users the design targets),
        ``mediation`` (per link ``mediator -> outcome``: ``total``, ``indirect``, ``share``) and
        ``params``.
    """

    shape: str
    users: pd.DataFrame = field(repr=False)
    truth: dict[str, Any] = field(repr=False)


def simulate_users(
    n_users: int = 4000,
    *,
    shape: UserShape = "holdout",
    seed: int = 0,
    broken_cascade: bool = False,
    adoption: float = 1.0,
    power_share: float | None = None,
    launch_effect: bool = True,
) -> UserSimulation:
    """Draw users of one launch shape from the structural model of the cascade.

    Parameters
    ----------
    n_users
        Users (at least 200).
    shape
        ``"holdout"`` (each user exposed with probability 1/2), ``"rollout"`` (half the regions
        exposed, more often the tier-1 ones, with a pre-period outcome ``revenue_pre``; tier-1
        regions also trend up, so only parallel trends *given the tier* hold) or ``"score_gate"``
        (users with ``score >= 0.7`` exposed; the score raises every outcome).
    seed
        Random seed.
    broken_cascade
        Sessions do not respond to task success.
    adoption
        Multiplies the adoption probability (small values make a weak instrument).
    power_share
        Share of power users (default 0.2); a different value shifts the user mix.
    launch_effect
        Whether the new model changes task success at all.

    Returns
    -------
    UserSimulation
    """
    check_option("shape", shape, UserShape)
    if isinstance(n_users, bool) or not isinstance(n_users, int) or n_users < 200:
        raise SpecificationError(f"n_users={n_users!r} must be an integer >= 200.")
    if not 0.0 <= float(adoption) <= 1.0 / (MECHANISMS["adopt_base"] + 0.3):
        raise SpecificationError(f"adoption={adoption!r} must be in [0, 1.6].")
    c = MECHANISMS
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12]))
    n = n_users
    share = c["power_share"] if power_share is None else float(power_share)
    region = rng.integers(0, N_REGIONS, n)
    tier = 1 + region % 3
    power = rng.random(n) < share
    tenure = np.round(rng.exponential(300.0, n)).astype(np.int64)
    pre_sessions = rng.poisson(np.where(power, 14.0, 6.0))
    score = np.where(power, rng.beta(4.0, 2.5, n), rng.beta(2.5, 3.5, n))
    act = (pre_sessions - 8.0) / 5.0
    p_adopt = np.clip(c["adopt_base"] + c["adopt_power"] * power
                      + c["adopt_activity"] * np.clip(act, -2, 2), 0.0, 1.0) * adoption
    adopter = rng.random(n) < p_adopt
    tau = (c["tau_task"] + c["tau_task_tier1"] * (tier == 1) + c["tau_task_power"] * power)
    tau = tau * bool(launch_effect)
    exposed = _exposure(shape, rng, region, score)
    gate = 0.5 * (score - 0.5) if shape == "score_gate" else 0.0

    e_task, e_sess, e_rev, e_pre = rng.standard_normal((4, n))
    b_te = 0.0 if broken_cascade else c["sessions_per_task"]
    b_er, b_tr = c["revenue_per_session"], c["revenue_per_task"]

    def outcomes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        task = (0.55 + 0.05 * power + 0.03 * (tier == 1) + gate * 0.2 + a * tau
                + c["task_sd"] * e_task)
        sess = (6.0 + 8.0 * power + 0.3 * (pre_sessions - 8.0) + 4.0 * gate
                + b_te * (task - 0.55) + c["sessions_sd"] * e_sess)
        rev = (3.0 + 12.0 * power + 0.002 * np.minimum(tenure, 1000) + 6.0 * gate
               + b_er * sess + b_tr * (task - 0.55) + c["revenue_sd"] * e_rev)
        return task, sess, rev

    used = exposed & adopter
    task, sess, rev = outcomes(used.astype(float))
    task0, sess0, rev0 = outcomes(np.zeros(n))
    task1, sess1, rev1 = outcomes(adopter.astype(float))
    trend = c["tier_trend"] * (tier == 1) if shape == "rollout" else 0.0
    # the same user a period earlier: persistent parts kept, fresh revenue noise, no launch
    rev_pre = rev0 - trend + c["revenue_sd"] * (e_pre - e_rev)

    users = pd.DataFrame(
        {
            "user_id": np.arange(n, dtype=np.int64),
            "region": np.array([f"r{r:02d}" for r in region], dtype=object),
            "region_tier": tier.astype(np.int64),
            "segment": np.where(power, "power", "casual").astype(object),
            "power": power.astype(np.int64),
            "tenure_days": tenure,
            "pre_sessions": pre_sessions.astype(np.int64),
            "score": np.round(score, 6),
            "exposed": exposed.astype(np.int64),
            "adopted": used.astype(np.int64),
            "task_success": task,
            "sessions": sess,
            "revenue": rev,
            "revenue_pre": rev_pre,
            "true_effect": rev1 - rev0,
            "true_adopter": adopter.astype(np.int64),
        }
    )
    target = exposed if shape == "rollout" else np.ones(n, dtype=bool)
    if shape == "score_gate":
        target = np.abs(score - c["gate_cutoff"]) <= 0.15
    truth = _truth(users, target, (task1 - task0, sess1 - sess0, rev1 - rev0), b_te, b_er, b_tr)
    truth["params"] = {**c, "shape": shape, "seed": seed, "n_users": n, "adoption": adoption,
                       "broken_cascade": broken_cascade, "power_share_used": share,
                       "launch_effect": launch_effect}  # fmt: skip
    return UserSimulation(shape, users, truth)


def _exposure(shape: str, rng: np.random.Generator, region: np.ndarray,
              score: np.ndarray) -> np.ndarray:  # fmt: skip
    if shape == "holdout":
        return rng.random(len(region)) < 0.5
    if shape == "score_gate":
        return score >= MECHANISMS["gate_cutoff"]
    tier = 1 + np.arange(N_REGIONS) % 3
    p = np.where(tier == 1, 0.8, 0.35)
    treated = rng.random(N_REGIONS) < p
    treated[:2] = [True, False]  # both groups are never empty
    return treated[region]


def _truth(users: pd.DataFrame, target: np.ndarray, effects: tuple[np.ndarray, ...],
           b_te: float, b_er: float, b_tr: float) -> dict[str, Any]:  # fmt: skip
    d_task, d_sess, d_rev = (e[target] for e in effects)
    frame = users[target]
    adopter = frame["true_adopter"].to_numpy() == 1
    # Path-specific effects of exposure in the linear model (every path runs through task).
    via_task_on_sess = b_te * d_task
    via_sess_on_rev = b_er * d_sess

    def link(indirect: np.ndarray, total: np.ndarray) -> dict[str, float]:
        tot = float(total.mean())
        ind = float(indirect.mean())
        return {"total": tot, "indirect": ind, "share": ind / tot if tot else float("nan")}

    def by(col: Any) -> dict[str, float]:
        groups = pd.Series(d_rev).groupby(np.asarray(col))
        return {str(k): float(v) for k, v in groups.mean().items()}

    bands = pd.cut(frame["tenure_days"], [-1, 90, 365, np.inf], labels=["<90", "90-365", ">365"])
    return {
        "itt": float(d_rev.mean()),
        "adoption_rate": float(adopter.mean()),
        "effect_per_adopter": float(d_rev[adopter].mean()) if adopter.any() else float("nan"),
        "by_segment": by(frame["segment"]),
        "by_region_tier": by(frame["region_tier"]),
        "by_tenure_band": by(bands.astype(str)),
        "mediation": {
            "task_success -> sessions": link(via_task_on_sess, d_sess),
            "task_success -> revenue": link(d_rev, d_rev),
            "sessions -> revenue": link(via_sess_on_rev, d_rev),
        },
        "n_target": int(target.sum()),
    }
