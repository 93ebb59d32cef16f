"""Simulate one block of users in every world (with v2, without v2) from common random numbers.

Each block has its own random stream, seeded by ``(seed, block)``. Worlds differ only in who is on
v2 from which day; every random draw is shared, so the difference between worlds is the causal
effect of v2 on these very users (not a comparison of two samples).

Churn is a continuous-time hazard: a user stays alive while the hazard accumulated since signup is
below an exponential draw ``E`` (the same draw in every world), so v2 moves the churn day of a user
only through the hazard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from causal_kit.simulate.scenarios import ONBOARDING_HAZARD, Assignment
from causal_kit.simulate.world import BLOCK_USERS, CONSTANTS, World

#: Per region x week sums accumulated for the ground truth, per world.
COMPONENTS = (
    "active_users", "sessions", "tasks", "task_successes", "task_retries", "latency_sum",
    "cost_sum", "revenue", "purchases", "signups", "retained_d1", "retained_d7", "retained_d30",
)  # fmt: skip
RETENTION_DAYS = (1, 7, 30)
GATE_WINDOW_DAYS = 30
GATE_LOOKBACK_DAYS = 28
GATE_OUTCOMES = ("revenue", "sessions", "tasks", "active_days", "retained")
GATE_BAND = 0.2  # users kept around the cutoff for the truth at the cutoff
#: Long-term user outcome of the truth (revenue over this many days from the launch), recorded
#: when the simulated window covers it, beside the same revenue over the first SHORT_DAYS.
LONG_TERM_DAYS = 90
SHORT_DAYS = 14
#: Per platform x day sums of a global launch's truth, per world.
DAILY_COMPONENTS = ("revenue", "active_users", "tasks", "task_successes", "latency_sum")

EV_SESSION, EV_TASK, EV_PURCHASE = 0, 1, 2


@dataclass(frozen=True)
class Context:
    """What every block needs to know about the run."""

    seed: int
    n_users: int
    world: World
    assignment: Assignment
    week_of_day: np.ndarray  # week index (weeks start on Monday) of each day of the window
    week_starts: np.ndarray  # first day index of each (possibly partial) week

    @property
    def n_days(self) -> int:
        """Days in the window."""
        return self.world.n_days

    @property
    def n_weeks(self) -> int:
        """Weeks touched by the window, partial ones included."""
        return len(self.week_starts)

    @property
    def world_names(self) -> tuple[str, ...]:
        """Names of the simulated worlds; the first is the observed one."""
        if self.assignment.gate_day >= 0:
            return ("observed", "no_v2", "all_v2")
        return ("observed", "no_v2")


def make_context(seed: int, n_users: int, world: World, assignment: Assignment) -> Context:
    """Build the calendar of the window (weeks start on Monday)."""
    offset = world.start.weekday()
    week_of_day = (np.arange(world.n_days) + offset) // 7
    week_starts = np.flatnonzero(np.r_[True, np.diff(week_of_day) > 0])
    return Context(seed, n_users, world, assignment, week_of_day, week_starts)


@dataclass(frozen=True)
class BlockOutput:
    """One block's users, observed events, per-cell sums and gate outcomes."""

    users: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    cells: np.ndarray  # (n_worlds, n_components, n_regions * n_weeks)
    gate: dict[str, np.ndarray] | None
    daily: np.ndarray | None = None  # global launch: (n_worlds, n_daily, 2 * n_days)
    long: dict[str, np.ndarray] | None = None  # regional rollouts: per-user long-term revenue


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _by_segment(key: str, power: np.ndarray) -> np.ndarray:
    values = CONSTANTS[key]
    return np.where(power, values["power"], values["casual"])


def simulate_block(ctx: Context, block: int) -> BlockOutput:
    """Simulate users ``block * BLOCK_USERS`` onward in every world."""
    c, w = CONSTANTS, ctx.world
    first = block * BLOCK_USERS
    n = min(BLOCK_USERS, ctx.n_users - first)
    n_days = ctx.n_days
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 1, block]))

    # --- users -----------------------------------------------------------------------------
    region = rng.choice(w.n_regions, size=n, p=w.weight)
    power = rng.random(n) < c["power_share"]
    score = np.where(power, rng.beta(4.0, 2.5, n), rng.beta(2.5, 3.5, n))
    pre = rng.random(n) < c["pre_window_share"]
    signup = np.where(
        pre, -rng.integers(1, c["pre_window_days"] + 1, n), rng.integers(0, n_days, n)
    )
    z = rng.standard_normal((5, n))
    budget = rng.exponential(1.0, n)  # churn when the accumulated hazard passes this
    centred = score - 0.5
    act_logit = (_by_segment("activity_logit", power) + w.activity[region]
                 + c["activity_score_slope"] * centred + c["activity_user_sd"] * z[0])  # fmt: skip
    succ_logit = (c["success_logit"] + w.success[region]
                  + c["success_score_slope"] * centred + c["success_user_sd"] * z[1])  # fmt: skip
    p0 = _sigmoid(succ_logit)
    p1 = _sigmoid(succ_logit + ctx.assignment.tau_scale * w.tau[region])
    log_h = (_by_segment("log_hazard", power) + c["hazard_score_slope"] * centred
             + c["hazard_user_sd"] * z[2])  # fmt: skip
    buy_logit = (_by_segment("purchase_logit", power) + c["purchase_score_slope"] * centred
                 + c["purchase_user_sd"] * z[3])  # fmt: skip
    rev_mu = np.log(_by_segment("revenue_median", power)) + 0.2 * z[4]
    lam_s = _by_segment("extra_sessions_per_active_day", power)
    lam_t = _by_segment("task_chains_per_active_day", power)

    # --- days ------------------------------------------------------------------------------
    days = np.arange(n_days)
    weekend = ((w.start.weekday() + days) % 7) >= 5
    p_act = _sigmoid(act_logit[:, None] + w.weekend[region][:, None] * weekend
                     + w.activity_shock[region] + w.trend[region][:, None] * days
                     + w.common)  # fmt: skip
    u_act = rng.random((n, n_days))
    age = days[None, :] - signup[:, None]
    signed = age >= 0
    early_days, boost = c["hazard_early_days"], c["hazard_early_boost"]
    early = (1.0 + boost * np.exp(-np.maximum(age, 0) / early_days)) * signed
    ages = np.arange(c["pre_window_days"] + 1)
    cum_early = np.r_[0.0, np.cumsum(1.0 + boost * np.exp(-ages / early_days))]
    link, ref = c["churn_success_link"], c["success_reference"]
    h0 = np.exp(log_h - link * (p0 - ref))
    hazard_pre = h0 * cum_early[np.maximum(-signup, 0)]
    a = ctx.assignment
    if a.onboarding_days >= 0:  # early-read worlds: v2 keeps users during their first weeks
        v2_hazard = np.full(n, ONBOARDING_HAZARD)
    else:
        v2_hazard = np.ones(n) if a.broken else np.exp(-link * (p1 - p0))

    shape = _shape_draws(ctx, block, n)
    starts = _treatment_starts(ctx, region, score, shape)
    active = []
    for t_start in starts:
        on_v2 = days[None, :] >= t_start[:, None]
        if a.onboarding_days >= 0:
            on_v2 &= days[None, :] < t_start[:, None] + a.onboarding_days
        h = h0[:, None] * early * np.where(on_v2, v2_hazard[:, None], 1.0)
        spent = hazard_pre[:, None] + np.cumsum(h, axis=1) - h
        alive = signed & (spent < budget[:, None])
        active.append(alive & ((u_act < p_act) | (age == 0)))

    # --- what active users do (drawn once for every user-day active in any world) ----------
    ui, di = np.nonzero(np.logical_or.reduce(active))
    m = len(ui)
    n_sess = 1 + rng.poisson(lam_s[ui])
    n_chain = rng.poisson(lam_t[ui])
    u_buy = rng.random(m)
    rev_z = rng.standard_normal(m)
    buy_sec = rng.integers(0, 86_400, m)
    sess_sec = rng.integers(0, 86_400, int(n_sess.sum()))
    n_chains = int(n_chain.sum())
    u_succ = rng.random((n_chains, 3))
    u_retry = rng.random((n_chains, 2))
    z_lat = rng.standard_normal((n_chains, 3))
    z_cost = rng.standard_normal((n_chains, 3))
    chain_sec = rng.integers(0, 86_400 - 120, n_chains)
    sess_of = np.repeat(np.arange(m), n_sess)
    chain_of = np.repeat(np.arange(m), n_chain)
    amount = np.round(np.exp(rev_mu[ui] + c["revenue_sdlog"] * rev_z), 2)
    region_m = region[ui]
    n_weeks = ctx.n_weeks
    cell_m = region_m * n_weeks + ctx.week_of_day[di]
    cell_c = cell_m[chain_of]
    n_cells = w.n_regions * n_weeks
    lat_mu = {v: np.log(c["latency_median_ms"][v]) + w.latency[region_m[chain_of]]
              for v in ("v1", "v2")}  # fmt: skip

    cells = np.zeros((len(starts), len(COMPONENTS), n_cells))
    gate_out: dict[str, np.ndarray] | None = None
    long: dict[str, np.ndarray] | None = None
    rollout = a.window_day < 0 and not shape and bool((a.region_start >= 0).any())
    daily: np.ndarray | None = None
    events: dict[str, np.ndarray] = {}
    for k, (t_start, act) in enumerate(zip(starts, active, strict=True)):
        act_m = act[ui, di]
        on_m = di >= t_start[ui]
        p_m = np.where(on_m, p1[ui], p0[ui])
        link_m = p0[ui] if a.broken or a.onboarding_days >= 0 else p_m
        late = a.late_lift * (di >= t_start[ui] + a.late_day) if a.late_day >= 0 else 0.0
        p_buy = _sigmoid(buy_logit[ui] + w.purchase_shock[region_m, di] + late
                         + c["purchase_success_link"] * (link_m - ref))  # fmt: skip
        buy = act_m & (u_buy < p_buy)
        chains = _task_chains(p_m[chain_of], act_m[chain_of], u_succ, u_retry)
        attempted, succeeded = chains
        on_c = on_m[chain_of]
        latency = np.round(np.exp(np.where(on_c, lat_mu["v2"], lat_mu["v1"])[:, None]
                                  + c["latency_sdlog"] * z_lat), 1)  # fmt: skip
        cost_med = np.where(on_c, c["cost_median_usd"]["v2"], c["cost_median_usd"]["v1"])
        cost = np.round(cost_med[:, None] * np.exp(c["cost_sdlog"] * z_cost), 7)

        agg = cells[k]
        weekly = np.logical_or.reduceat(act, ctx.week_starts, axis=1)
        agg[0] = np.bincount((region[:, None] * n_weeks + np.arange(n_weeks)).ravel(),
                             weights=weekly.ravel(), minlength=n_cells)  # fmt: skip
        agg[1] = np.bincount(cell_m, weights=n_sess * act_m, minlength=n_cells)
        agg[2] = np.bincount(cell_c, weights=attempted.sum(axis=1), minlength=n_cells)
        agg[3] = np.bincount(cell_c, weights=succeeded.sum(axis=1), minlength=n_cells)
        agg[4] = np.bincount(cell_c, weights=attempted[:, 1:].sum(axis=1), minlength=n_cells)
        agg[5] = np.bincount(cell_c, weights=(latency * attempted).sum(axis=1), minlength=n_cells)
        agg[6] = np.bincount(cell_c, weights=(cost * attempted).sum(axis=1), minlength=n_cells)
        agg[7] = np.bincount(cell_m, weights=amount * buy, minlength=n_cells)
        agg[8] = np.bincount(cell_m, weights=buy, minlength=n_cells)
        _retention(agg, act, signup, region, ctx)

        if k == 0:
            events = _observed_events(
                first, ui, di, on_m, act_m, n_sess, sess_of, sess_sec, buy, buy_sec, amount,
                chain_of, chain_sec, attempted, succeeded, latency, cost,
            )
        if ctx.assignment.window_day >= 0:
            gate_out = _gate_outcomes(gate_out, k, ctx, act, ui, di, act_m, n_sess, buy,
                                      amount, chain_of, attempted, signup, score)  # fmt: skip
            gate_out.update(shape)
        if rollout:
            long = _rollout_long_term(long, k, ctx, starts[0], act, ui, di, act_m, buy, amount,
                                      signup)
        if "platform" in shape:
            daily = _daily_platform(daily, k, ctx, shape["platform"], act, ui, di, buy, amount,
                                    chain_of, attempted, succeeded, latency)  # fmt: skip

    users = {
        "user_id": first + np.arange(n, dtype=np.int64),
        "region": region.astype(np.int8),
        "segment": power.astype(np.int8),
        "signup_day": signup.astype(np.int64),
        "score": np.round(score, 6),
    }
    events["region"] = region[events.pop("local_user")].astype(np.int8)
    events["segment"] = power[events["user_id"] - first].astype(np.int8)
    users.update(shape)
    if "platform" in shape:
        events["platform"] = shape["platform"][events["user_id"] - first]
    return BlockOutput(users, events, cells, gate_out, daily, long)


def _shape_draws(ctx: Context, block: int, n: int) -> dict[str, np.ndarray]:
    """Per-user draws of the holdout and global launch scenarios, from their own stream.

    ``arm`` (1 = v2, 0 = kept on v1) for a holdout; ``platform`` (0 = app, 1 = web) for a
    global launch; nothing otherwise (the other scenarios' streams are untouched).
    """
    a = ctx.assignment
    if a.holdout_day < 0 and a.global_day < 0:
        return {}
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 3, block]))
    if a.holdout_day >= 0:
        return {"arm": (rng.random(n) >= a.holdout_share).astype(np.int8)}
    return {"platform": (rng.random(n) < a.web_share).astype(np.int8)}


def _daily_platform(
    acc: np.ndarray | None, k: int, ctx: Context, platform: np.ndarray, act: np.ndarray,
    ui: np.ndarray, di: np.ndarray, buy: np.ndarray, amount: np.ndarray, chain_of: np.ndarray,
    attempted: np.ndarray, succeeded: np.ndarray, latency: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Platform x day sums of :data:`DAILY_COMPONENTS` in world ``k`` (global launch truth)."""
    n_days = ctx.n_days
    if acc is None:
        acc = np.zeros((len(ctx.world_names), len(DAILY_COMPONENTS), 2 * n_days))
    cell = platform[ui].astype(np.int64) * n_days + di
    cell_c = cell[chain_of]
    size = 2 * n_days
    acc[k, 0] = np.bincount(cell, weights=amount * buy, minlength=size)
    acc[k, 1] = np.r_[act[platform == 0].sum(axis=0), act[platform == 1].sum(axis=0)]
    acc[k, 2] = np.bincount(cell_c, weights=attempted.sum(axis=1), minlength=size)
    acc[k, 3] = np.bincount(cell_c, weights=succeeded.sum(axis=1), minlength=size)
    acc[k, 4] = np.bincount(cell_c, weights=(latency * attempted).sum(axis=1), minlength=size)
    return acc


def _treatment_starts(ctx: Context, region: np.ndarray, score: np.ndarray,
                      shape: dict[str, np.ndarray]) -> list[np.ndarray]:  # fmt: skip
    """First v2 day of every user in each world (``n_days`` means never)."""
    a, never = ctx.assignment, ctx.n_days
    none = np.full(len(region), never, dtype=np.int64)
    if "arm" in shape:  # randomized holdout: the v2 arm from the holdout day
        return [np.where(shape["arm"] == 1, a.holdout_day, never), none]
    if "platform" in shape:  # global launch: every app user from one day, web never
        return [np.where(shape["platform"] == 0, a.global_day, never), none]
    if a.gate_day >= 0:
        observed = np.where(score >= a.cutoff, a.gate_day, never)
        return [observed, none, np.full(len(region), a.gate_day, dtype=np.int64)]
    by_region = np.where(a.region_start >= 0, a.region_start, never)
    return [by_region[region], none]


def _task_chains(
    p: np.ndarray, act: np.ndarray, u_succ: np.ndarray, u_retry: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return attempts of each chain; a failed attempt is retried with a fixed probability."""
    q = CONSTANTS["retry_after_failure"]
    s1 = u_succ[:, 0] < p
    a2 = ~s1 & (u_retry[:, 0] < q)
    s2 = a2 & (u_succ[:, 1] < p)
    a3 = a2 & ~s2 & (u_retry[:, 1] < q)
    s3 = a3 & (u_succ[:, 2] < p)
    attempted = np.stack([np.ones_like(s1), a2, a3], axis=1) & act[:, None]
    succeeded = np.stack([s1, s2, s3], axis=1) & attempted
    return attempted, succeeded


def _retention(
    agg: np.ndarray, act: np.ndarray, signup: np.ndarray, region: np.ndarray, ctx: Context
) -> None:
    n_days, n_weeks = ctx.n_days, ctx.n_weeks
    n_cells = agg.shape[1]
    joined = np.flatnonzero(signup >= 0)
    cell = region[joined] * n_weeks + ctx.week_of_day[signup[joined]]
    agg[9] = np.bincount(cell, minlength=n_cells)
    for j, lag in enumerate(RETENTION_DAYS):
        day = signup[joined] + lag
        seen = day < n_days
        kept = np.zeros(len(joined), dtype=bool)
        kept[seen] = act[joined[seen], day[seen]]
        agg[10 + j] = np.bincount(cell, weights=kept, minlength=n_cells)


def _observed_events(
    first: int, ui: np.ndarray, di: np.ndarray, on_m: np.ndarray, act_m: np.ndarray,
    n_sess: np.ndarray, sess_of: np.ndarray, sess_sec: np.ndarray, buy: np.ndarray,
    buy_sec: np.ndarray, amount: np.ndarray, chain_of: np.ndarray, chain_sec: np.ndarray,
    attempted: np.ndarray, succeeded: np.ndarray, latency: np.ndarray, cost: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Rows of the observed world's event log (sorted by user, then time)."""
    s_idx = np.flatnonzero(act_m[sess_of])
    s_m = sess_of[s_idx]
    c_idx, attempt = np.nonzero(attempted)
    t_m = chain_of[c_idx]
    p_m = np.flatnonzero(buy)
    entry = np.concatenate([s_m, t_m, p_m])
    sec = np.concatenate([sess_sec[s_idx], chain_sec[c_idx] + 40 * attempt, buy_sec[p_m]])
    kind = np.repeat(np.array([EV_SESSION, EV_TASK, EV_PURCHASE], dtype=np.int8),
                     [len(s_m), len(t_m), len(p_m)])  # fmt: skip
    is_task = kind == EV_TASK
    n_rows = len(entry)
    success = np.zeros(n_rows, dtype=bool)
    success[is_task] = succeeded[c_idx, attempt]
    retried = np.zeros(n_rows, dtype=bool)
    retried[is_task] = attempt > 0
    lat = np.full(n_rows, np.nan)
    lat[is_task] = latency[c_idx, attempt]
    cst = np.full(n_rows, np.nan)
    cst[is_task] = cost[c_idx, attempt]
    rev = np.full(n_rows, np.nan)
    rev[kind == EV_PURCHASE] = amount[p_m]
    local = ui[entry]
    second = di[entry].astype(np.int64) * 86_400 + sec
    order = np.lexsort((kind, second, local))
    out = {
        "user_id": (first + local).astype(np.int64),
        "local_user": local,
        "day": di[entry].astype(np.int64),
        "second": second,
        "event": kind,
        "task_success": success,
        "retried": retried,
        "latency_ms": lat,
        "cost_usd": cst,
        "revenue": rev,
        "v2": on_m[entry],
    }
    return {k: v[order] for k, v in out.items()}


def _gate_outcomes(
    acc: dict[str, np.ndarray] | None, k: int, ctx: Context, act: np.ndarray, ui: np.ndarray,
    di: np.ndarray, act_m: np.ndarray, n_sess: np.ndarray, buy: np.ndarray, amount: np.ndarray,
    chain_of: np.ndarray, attempted: np.ndarray, signup: np.ndarray, score: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Per-user outcomes in the window after a gated launch, in world ``k``."""
    g = ctx.assignment.window_day
    n = act.shape[0]
    lo, hi = g, g + GATE_WINDOW_DAYS
    if acc is None:
        before = act[:, max(g - GATE_LOOKBACK_DAYS, 0) : g].any(axis=1)
        acc = {
            "eligible": (signup < g) & before,
            "score": score,
            **{f"{o}_{w}": np.zeros(n) for o in GATE_OUTCOMES for w in ctx.world_names},
        }
    name = ctx.world_names[k]
    inside = (di >= lo) & (di < hi) & act_m
    acc[f"revenue_{name}"] = np.bincount(ui, weights=amount * buy * inside, minlength=n)
    acc[f"sessions_{name}"] = np.bincount(ui, weights=n_sess * inside, minlength=n)
    per_chain = attempted.sum(axis=1) * inside[chain_of]
    acc[f"tasks_{name}"] = np.bincount(ui[chain_of], weights=per_chain, minlength=n)
    acc[f"active_days_{name}"] = act[:, lo:hi].sum(axis=1).astype(float)
    acc[f"retained_{name}"] = act[:, hi - 7 : hi].any(axis=1).astype(float)
    if g + LONG_TERM_DAYS <= ctx.n_days:
        _horizon_revenue(acc, name, g, ui, di, act_m, buy, amount, n)
    return acc


def _horizon_revenue(acc: dict[str, np.ndarray], name: str, start: int | np.ndarray,
                     ui: np.ndarray,
                     di: np.ndarray, act_m: np.ndarray, buy: np.ndarray, amount: np.ndarray,
                     n: int) -> None:  # fmt: skip
    """Store each user's revenue over the short and long horizons from ``start`` in world ``name``.

    ``start`` is one day (a holdout), or each active user-day's own exposure day (a rollout).
    """
    for horizon in (SHORT_DAYS, LONG_TERM_DAYS):
        span = (di >= start) & (di < start + horizon) & act_m
        acc[f"revenue_{horizon}d_{name}"] = np.bincount(ui, weights=amount * buy * span,
                                                        minlength=n)


def _rollout_long_term(
    acc: dict[str, np.ndarray] | None, k: int, ctx: Context, exposed: np.ndarray,
    act: np.ndarray, ui: np.ndarray, di: np.ndarray, act_m: np.ndarray, buy: np.ndarray,
    amount: np.ndarray, signup: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Per-user revenue over 14 and 90 days from the region's launch, in world ``k``.

    Kept for users of launched regions who signed up before their region's launch and were
    active in the 28 days before it, when the window holds the 90 days after it.
    """
    n = act.shape[0]
    if acc is None:
        days = np.arange(ctx.n_days)[None, :]
        before = (days >= exposed[:, None] - GATE_LOOKBACK_DAYS) & (days < exposed[:, None])
        acc = {"eligible": ((exposed + LONG_TERM_DAYS <= ctx.n_days) & (signup < exposed)
                            & (act & before).any(axis=1))}  # fmt: skip
    _horizon_revenue(acc, ctx.world_names[k], exposed[ui], ui, di, act_m, buy, amount, n)
    return acc


def calendar_dates(start: dt.date, days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of the window's day indices (for Arrow ``date32``)."""
    epoch = (start - dt.date(1970, 1, 1)).days
    return (epoch + days).astype(np.int32)


def block_count(n_users: int) -> int:
    """Return the number of blocks that hold ``n_users`` users."""
    return -(-n_users // BLOCK_USERS)

