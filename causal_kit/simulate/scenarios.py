"""Who gets the new model, and when, in each scenario."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace

import numpy as np

from causal_kit.core.launch import CostTarget, Launch, LayerTarget, Plan, SuccessCriteria
from causal_kit.simulate.world import CONSTANTS, REGIONS, World

LAUNCH_NAME = "assistant-v2"
GATE_CUTOFF = 0.7
STAGGER_FRACTIONS = (0.35, 0.45, 0.55, 0.65)
#: v2's effect on task success, relative to the world's, in each scenario (1 when not listed).
TAU_SCALE = {"clear_win": 2.0, "harmful": -1.0, "no_effect": 0.0}
#: Share of the window before the single launch date of these scenarios.
LAUNCH_FRACTION = {"clear_win": 0.45, "harmful": 0.5, "no_effect": 0.3}
HOLDOUT_SHARE = 0.2  # share of users kept on v1 in the holdout scenario
#: Early-read scenarios: the launch's first Monday at or after this day, so that a 28-day lookback
#: and a 90-day outcome of a pre-launch reference cohort fit before it.
EARLY_LAUNCH_DAY = 119
EARLY_HORIZON_DAYS = 120  # post-launch days these scenarios simulate (a matured 90-day outcome)
EARLY_OBSERVED_DAYS = 21  # post-launch days of events "early_read" writes to events/
ONBOARDING_DAYS = 14  # days after a user's first v2 day during which v2 acts on churn
ONBOARDING_HAZARD = 0.4  # churn hazard multiplier of v2 during those days (early-read worlds)
LATE_DAY = 30  # "surrogate_gap": from this day after exposure v2 users buy more ...
LATE_LIFT = 0.3  # ... by this much on the log-odds of a purchase, unseen in the first weeks
WEB_SHARE = 0.3  # share of users on the untouched platform in the global launch
PLATFORMS = ("app", "web")


@dataclass(frozen=True)
class Assignment:
    """The launch as the simulator applies it.

    Attributes
    ----------
    scenario
        Scenario name.
    region_start
        First v2 day (index into the window) per region; ``-1`` when never treated.
    gate_day
        For a score-gated launch, the first v2 day; else ``-1``.
    cutoff
        Score cutoff of a gated launch (users with ``score >= cutoff`` get v2); else ``nan``.
    broken
        Whether v2's extra task success fails to reach engagement and revenue.
    tau_scale
        Multiplier of v2's effect on task success: 2 in ``"clear_win"`` (a better model), -1 in
        ``"harmful"`` (tasks fail more often), 0 in ``"no_effect"``, 1 elsewhere.
    launch
        The public :class:`~causal_kit.core.launch.Launch`.
    holdout_day
        For a randomized holdout, the first v2 day of the users drawn into v2; else ``-1``.
    holdout_share
        Share of users kept on v1 in a holdout (randomized at user level); else ``nan``.
    global_day
        For a launch to everyone, the day every app user gets v2 (web users never do); else
        ``-1``.
    web_share
        Share of users on the untouched web platform of a global launch; else ``nan``.
    onboarding_days
        Early-read worlds: v2 acts on churn only during a user's first ``onboarding_days`` on it
        (hazard times :data:`ONBOARDING_HAZARD`) and never on purchases, so whatever v2 does to
        revenue after those days runs through who is still there; ``-1`` elsewhere (v2 acts on
        churn and purchases through task success for as long as the user is on it).
    late_day, late_lift
        ``"surrogate_gap"``: from ``late_day`` days after a user's first v2 day, the log-odds of a
        purchase rise by ``late_lift`` (a channel the first weeks do not show); ``-1`` / 0
        elsewhere.
    observed_days
        Days of the window whose events are written to ``events/`` (the rest, the future of an
        early read, go to ``later/events/``); ``-1`` writes every day to ``events/``.
    """

    scenario: str
    region_start: np.ndarray
    gate_day: int
    cutoff: float
    broken: bool
    launch: Launch
    tau_scale: float = 1.0
    holdout_day: int = -1
    holdout_share: float = float("nan")
    global_day: int = -1
    web_share: float = float("nan")
    onboarding_days: int = -1
    late_day: int = -1
    late_lift: float = 0.0
    observed_days: int = -1

    @property
    def window_day(self) -> int:
        """First day of the per-user outcome window (score gate or holdout); ``-1`` if none."""
        return self.gate_day if self.gate_day >= 0 else self.holdout_day


def first_monday(start: dt.date) -> int:
    """Day index of the first Monday on or after ``start``."""
    return (7 - start.weekday()) % 7


def complete_weeks(start: dt.date, n_days: int) -> int:
    """Return the number of whole ISO weeks (Monday to Sunday) inside the window."""
    return max((n_days - first_monday(start)) // 7, 0)


def assign(scenario: str, world: World, seed: int) -> Assignment:
    """Return the launch of ``scenario`` for ``world``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    order = rng.permutation(len(REGIONS))
    middle = np.argsort(world.weight)[len(REGIONS) // 4 : 3 * len(REGIONS) // 4]
    market = int(rng.choice(middle))
    n_weeks = complete_weeks(world.start, world.n_days)
    monday = first_monday(world.start)

    def week_day(fraction: float) -> int:
        week = int(np.clip(round(fraction * n_weeks), 2, max(n_weeks - 2, 2)))
        return monday + 7 * week

    if scenario in ("early_read", "surrogate_gap"):
        return _early_assignment(scenario, world)
    if scenario in ("holdout", "global_launch"):
        return _shape_assignment(scenario, world, week_day(0.5 if scenario == "holdout" else 0.45))
    region_start = np.full(len(REGIONS), -1, dtype=np.int64)
    gate_day, cutoff, gate = -1, float("nan"), None
    if scenario in ("staggered", "broken_cascade"):
        treated = order[: len(REGIONS) // 2]
        for k, group in enumerate(np.array_split(treated, len(STAGGER_FRACTIONS))):
            region_start[group] = week_day(STAGGER_FRACTIONS[k])
    elif scenario in ("clear_win", "harmful", "no_effect"):
        # half the regions, on one date: the null launch early (a long stretch past the 90-day
        # window), the win with a longer pre-launch history and still past the window
        treated = order[: len(REGIONS) // 2]
        region_start[treated] = week_day(LAUNCH_FRACTION[scenario])
    elif scenario == "single_market":
        region_start[market] = week_day(0.6)
    elif scenario == "score_gate":
        gate_day, cutoff = week_day(0.5), GATE_CUTOFF
        region_start[:] = gate_day
        gate = {"column": "score", "cutoff": GATE_CUTOFF}
    else:  # pragma: no cover - validated by the caller
        raise AssertionError(scenario)
    start = {
        REGIONS[r]: (world.start + dt.timedelta(days=int(region_start[r]))).isoformat()
        for r in np.flatnonzero(region_start >= 0)
    }
    plan, criteria = demo_plan(scenario, world, TAU_SCALE.get(scenario, 1.0))
    launch = Launch(name=LAUNCH_NAME, start=start, unit="region", gate=gate, plan=plan,
                    criteria=criteria)
    return Assignment(scenario, region_start, gate_day, cutoff,
                      scenario == "broken_cascade", launch,
                      TAU_SCALE.get(scenario, 1.0))  # fmt: skip


OFFLINE_TARGET = 0.70  # task success of the new model on the locked evaluation set


def offline_success(world: World, tau_scale: float) -> float:
    """Return the new model's task success on a locked evaluation set (its mean probability).

    The set is drawn like the users (region weights, average user), so the number a team would
    measure before launch follows from the world's true effect: a model that does not improve
    tasks does not clear the offline target.
    """
    logit = CONSTANTS["success_logit"] + world.success + tau_scale * world.tau
    return float(np.round(np.sum(world.weight / (1.0 + np.exp(-logit))), 3))


def demo_plan(scenario: str, world: World, tau_scale: float) -> tuple[Plan, SuccessCriteria]:
    """Return the plan registered before each demo launch (the same targets for every scenario).

    Offline: task success on the locked set at least 0.70; online: task success +0.05; business:
    revenue +2% at 90 days; cost: under half the value; guardrail: mean latency at most 300 ms
    slower (panel launches; a score gate's user outcomes carry no latency). The early-read
    scenarios target 90-day revenue and let a passing projection from the first 14 days decide
    (``early_read``).
    """
    early = scenario in ("early_read", "surrogate_gap")  # read at 14 days, judged at 90
    gated = early or scenario in ("score_gate", "holdout")  # per-user outcomes
    fingerprint = hashlib.sha256(f"golden-tasks-500:{scenario}".encode()).hexdigest()[:16]
    plan = Plan(
        offline=LayerTarget("task_success_offline", OFFLINE_TARGET,
                            how_measured="locked evaluation set of 500 labelled tasks",
                            measured=offline_success(world, tau_scale),
                            eval_set="golden-tasks-500", eval_fingerprint=f"sha256:{fingerprint}"),
        online=LayerTarget("task_success_rate_14d" if early else
                           "task_success_rate_30d" if gated else "task_success_rate", 0.05,
                           how_measured="task events of exposed users"),
        business=LayerTarget("revenue_90d" if early else "revenue_30d" if gated else "revenue",
                             0.02, relative=True,
                             how_measured="revenue of exposed users, 90 days after launch"),
        cost=CostTarget("cost_per_query", cap=0.005, share_of_value=0.5,
                        how_measured="model cost per call"),
        kill_criteria=("revenue not measurably up 90 days after launch: roll back or pivot",
                       "fewer than 20% of exposed users use the feature after 90 days"),
        early_read=early,
    )
    guardrails = {} if gated else {"latency_ms": 300.0}
    return plan, SuccessCriteria(guardrails=guardrails)


def _shape_assignment(scenario: str, world: World, day: int) -> Assignment:
    """Return a randomized holdout or a launch to everyone, on ``day`` (no region is 'treated').

    * ``holdout``: from ``day`` every user is on v2 except a random :data:`HOLDOUT_SHARE` kept
      on v1, drawn per user (the ``arm`` column of ``users.parquet``).
    * ``global_launch``: from ``day`` every user of the app is on v2; the users of the web
      platform (:data:`WEB_SHARE` of users, the ``platform`` column of users and events) never
      are: their series is the untouched control of the interrupted time series.
    """
    none = np.full(len(REGIONS), -1, dtype=np.int64)
    date = (world.start + dt.timedelta(days=day)).isoformat()
    if scenario in ("holdout", "early_read", "surrogate_gap"):
        arms = {"column": "arm", "treatment": "v2", "control": "v1",
                "split": {"v2": 1.0 - HOLDOUT_SHARE, "v1": HOLDOUT_SHARE}}
        plan, criteria = demo_plan(scenario, world, 1.0)
        launch = Launch(name=f"{LAUNCH_NAME}-holdout", unit="region", arms=arms, date=date,
                        plan=plan, criteria=criteria)
        return Assignment(scenario, none, -1, float("nan"), False, launch,
                          holdout_day=day, holdout_share=HOLDOUT_SHARE)
    controls = {"column": "platform", "launched": PLATFORMS[0], "untouched": [PLATFORMS[1]]}
    plan, criteria = demo_plan(scenario, world, 1.0)
    launch = Launch(name=f"{LAUNCH_NAME}-global", unit="region", date=date, controls=controls,
                    plan=plan, criteria=criteria)
    return Assignment(scenario, none, -1, float("nan"), False, launch,
                      global_day=day, web_share=WEB_SHARE)


def early_launch_day(start: dt.date) -> int:
    """Return the launch day of the early-read scenarios (a Monday, at least day 119)."""
    return EARLY_LAUNCH_DAY + (7 - (start.weekday() + EARLY_LAUNCH_DAY) % 7) % 7


def _early_assignment(scenario: str, world: World) -> Assignment:
    """Return a randomized holdout whose business effect the first weeks must forecast.

    * ``early_read``: v2 keeps more users during their first two weeks on it (the churn hazard
      times :data:`ONBOARDING_HAZARD`), which is all it does to revenue: later revenue follows
      from who is still there, so the first weeks' engagement and revenue carry the whole
      long-term effect (surrogacy holds). Events are written for the first
      :data:`EARLY_OBSERVED_DAYS` days after the launch; the rest is the future, under
      ``later/``.
    * ``surrogate_gap``: the same, plus a channel the first weeks cannot show: from
      :data:`LATE_DAY` days on v2, users buy more (surrogacy fails). Every day is observed, so
      the launch's 90-day outcome has matured and the surrogacy check can run.
    """
    base = _shape_assignment(scenario, world, early_launch_day(world.start))
    gap = scenario == "surrogate_gap"
    observed = -1 if gap else base.holdout_day + EARLY_OBSERVED_DAYS
    return replace(base, scenario=scenario, onboarding_days=ONBOARDING_DAYS,
                   late_day=LATE_DAY if gap else -1, late_lift=LATE_LIFT if gap else 0.0,
                   observed_days=observed,
                   launch=replace(base.launch, name=f"{LAUNCH_NAME}-{scenario.replace('_', '-')}"))
