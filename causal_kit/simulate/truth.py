"""Ground truth: the realized effect of v2, from the same users with and without it.

The panel truth is computed at region x ISO-week grain with the panel rule of
:func:`causal_kit.build_panel`: only whole weeks inside the window; a region-week is treated when
the region's launch day falls on or before the week's Monday; a signup cohort's Dn retention is
kept only when every member's day n is inside the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.metrics.users import outcome_column
from causal_kit.simulate.block import (
    COMPONENTS,
    DAILY_COMPONENTS,
    GATE_BAND,
    GATE_LOOKBACK_DAYS,
    GATE_OUTCOMES,
    GATE_WINDOW_DAYS,
    LONG_TERM_DAYS,
    RETENTION_DAYS,
    SHORT_DAYS,
    BlockOutput,
    Context,
)
from causal_kit.simulate.truth_evidence import MechanismTruth
from causal_kit.simulate.world import REGIONS

Components = dict[str, np.ndarray]


def _ratio(num: str, den: str) -> Callable[[Components], np.ndarray]:
    def f(c: Components) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c[den] > 0, c[num] / np.where(c[den] > 0, c[den], 1.0), np.nan)

    return f


def _abandonment(c: Components) -> np.ndarray:
    started = c["tasks"] - c["task_retries"]
    failed = c["tasks"] - c["task_successes"] - c["task_retries"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(started > 0, failed / np.where(started > 0, started, 1.0), np.nan)


#: The panel metrics of the truth, by the names of :mod:`causal_kit.metrics`.
TRUTH_METRICS: dict[str, Callable[[Components], np.ndarray]] = {
    "active_users": lambda c: c["active_users"],
    "sessions": lambda c: c["sessions"],
    "sessions_per_user": _ratio("sessions", "active_users"),
    "revenue": lambda c: c["revenue"],
    "purchases": lambda c: c["purchases"],
    "revenue_per_active_user": _ratio("revenue", "active_users"),
    "tasks": lambda c: c["tasks"],
    "task_success_rate": _ratio("task_successes", "tasks"),
    "retry_rate": _ratio("task_retries", "tasks"),
    "abandonment_rate": _abandonment,
    "latency_ms": _ratio("latency_sum", "tasks"),
    "cost_per_call": _ratio("cost_sum", "tasks"),
    "model_cost": lambda c: c["cost_sum"],
    "cost_per_completed_task": _ratio("cost_sum", "task_successes"),
    "signups": lambda c: c["signups"],
    **{f"d{n}_retention": _ratio(f"retained_d{n}", "signups") for n in RETENTION_DAYS},
}


class _ShapeTruth:
    """Truth of the holdout and global launch scenarios (mixed into :class:`TruthAccumulator`)."""

    ctx: Context
    n_eligible: int
    arm_sums: dict[str, float]
    daily: np.ndarray | None
    long_sums: dict[str, float]

    def _add_holdout(self, g: dict[str, np.ndarray]) -> None:
        eligible = g["eligible"]
        v2 = eligible & (g["arm"] == 1)
        v1 = eligible & (g["arm"] == 0)
        self.n_eligible += int(eligible.sum())
        sums = {"n_v2": float(v2.sum()), "n_v1": float(v1.sum())}
        for o in GATE_OUTCOMES:
            sums[f"{o}_effect_v2"] = float((g[f"{o}_observed"] - g[f"{o}_no_v2"])[v2].sum())
            sums[f"{o}_v2"] = float(g[f"{o}_observed"][v2].sum())
            sums[f"{o}_v1"] = float(g[f"{o}_observed"][v1].sum())
        for k, v in sums.items():
            self.arm_sums[k] = self.arm_sums.get(k, 0.0) + v
        self._add_long(g, v2)

    def _add_long(self, g: dict[str, np.ndarray], kept: np.ndarray) -> None:
        """Add the revenue gains over the short and long horizons of the ``kept`` users."""
        if f"revenue_{LONG_TERM_DAYS}d_observed" not in g:  # the window ends before 90 days
            return
        self.long_sums["n"] = self.long_sums.get("n", 0.0) + float(kept.sum())
        for days in (SHORT_DAYS, LONG_TERM_DAYS):
            key = f"revenue_{days}d"
            gain = float((g[f"{key}_observed"] - g[f"{key}_no_v2"])[kept].sum())
            self.long_sums[key] = self.long_sums.get(key, 0.0) + gain

    def long_term(self) -> dict[str, Any]:
        """Return the true long-term effects on the users drawn into v2, by metric.

        ``revenue_90d``: mean over the holdout's v2 users of their revenue in the 90 days from the
        launch with v2 minus without (``horizon_days`` 90), beside ``revenue_14d`` over the first
        14 days (what an early read observes directly). For a regional rollout, the same over
        the users of regions launched at least 90 days before the window ends, from their
        region's launch. Empty when no launched user has 90 days in the window (a score gate, a
        launch to everyone, or a window that ends too soon).
        """
        s = self.long_sums
        if not s.get("n"):
            return {}
        population = (
            "the holdout's v2 users: signed up before it began and active in the 28 days before"
            if self.ctx.assignment.holdout_day >= 0 else
            "users of launched regions active in the 28 days before their region's launch, in "
            "regions launched at least 90 days before the window ends"
        )  # fmt: skip
        return {
            f"revenue_{days}d": {"effect": s[f"revenue_{days}d"] / s["n"], "horizon_days": days,
                                 "n_users": int(s["n"]), "population": population}
            for days in (SHORT_DAYS, LONG_TERM_DAYS)
        }

    def surrogacy(self) -> dict[str, Any]:
        """Return whether the first weeks' metrics carry the launch's long-term effect."""
        a = self.ctx.assignment
        if a.late_day >= 0:
            return {"holds": False, "why": f"from day {a.late_day} on v2 users buy more, a "
                    "channel the first weeks' metrics do not show"}
        if a.onboarding_days >= 0:
            return {"holds": True, "why": f"v2 acts on revenue only by keeping users during "
                    f"their first {a.onboarding_days} days on it; later revenue follows from who "
                    "is still there"}
        if a.broken or a.tau_scale == 0:
            return {"holds": True, "why": "v2 does not change revenue, so the first weeks miss "
                    "nothing of its long-term effect"}
        return {"holds": False, "why": "v2 raises task success, and through it purchases and "
                "the will to stay, for as long as a user is on it: most of its 90-day effect "
                "accrues after the first weeks, through a latent success rate their metrics "
                "measure only roughly"}

    def holdout(self) -> dict[str, Any] | None:
        """Return the holdout's truth: the average effect on the users drawn into v2 (ATT)."""
        a = self.ctx.assignment
        if a.holdout_day < 0:
            return None
        s = self.arm_sums
        n_v2, n_v1 = max(s.get("n_v2", 0.0), 1.0), max(s.get("n_v1", 0.0), 1.0)
        return {
            "arms": dict(a.launch.arms or {}),
            "launch_date": (self.ctx.world.start + dt.timedelta(days=a.holdout_day)).isoformat(),
            "window_days": GATE_WINDOW_DAYS,
            "lookback_days": GATE_LOOKBACK_DAYS,
            "population": "users who signed up before the holdout began and were active in the "
            f"{GATE_LOOKBACK_DAYS} days before it, in either arm",
            "n_users": self.n_eligible,
            "n_by_arm": {"v2": int(s.get("n_v2", 0)), "v1": int(s.get("n_v1", 0))},
            "att": {_gate_name(o): s.get(f"{o}_effect_v2", 0.0) / n_v2 for o in GATE_OUTCOMES},
            "observed_mean": {
                arm: {_gate_name(o): s.get(f"{o}_{arm}", 0.0) / n for o in GATE_OUTCOMES}
                for arm, n in (("v2", n_v2), ("v1", n_v1))
            },
        }

    def global_launch(self) -> dict[str, Any] | None:
        """Return the global launch's truth: the effect per post-launch day on the app."""
        a, daily = self.ctx.assignment, self.daily
        if a.global_day < 0 or daily is None:
            return None
        n_days = self.ctx.n_days
        comp = {name: daily[:, j].reshape(daily.shape[0], 2, n_days)
                for j, name in enumerate(DAILY_COMPONENTS)}
        with np.errstate(invalid="ignore", divide="ignore"):
            series = {
                "revenue": comp["revenue"],
                "active_users": comp["active_users"],
                "tasks": comp["tasks"],
                "task_success_rate": comp["task_successes"] / comp["tasks"],
                "latency_ms": comp["latency_sum"] / comp["tasks"],
            }
        post = slice(a.global_day, n_days)
        effect = {name: float(np.nanmean(v[0, 0, post] - v[1, 0, post]))
                  for name, v in series.items()}
        untouched = {name: float(np.nanmean(v[0, 1, post] - v[1, 1, post]))
                     for name, v in series.items()}
        return {
            **dict(a.launch.controls or {}),
            "launch_date": (self.ctx.world.start + dt.timedelta(days=a.global_day)).isoformat(),
            "grain": "platform-day",
            "n_post_days": n_days - a.global_day,
            "effect_per_day": effect,
            "untouched_effect_per_day": untouched,
            "observed_mean_per_day": {name: float(np.nanmean(v[0, 0, post]))
                                      for name, v in series.items()},
        }


class TruthAccumulator(_ShapeTruth):
    """Sum block outputs, then turn them into ``truth.json`` and the truth panel."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.cells = np.zeros((len(ctx.world_names), len(COMPONENTS), len(REGIONS) * ctx.n_weeks))
        self.band: list[dict[str, np.ndarray]] = []
        self.observed_sums: dict[str, float] = {}
        self.n_eligible = 0
        self.arm_sums: dict[str, float] = {}
        self.daily: np.ndarray | None = None
        self.long_sums: dict[str, float] = {}
        self.mechanism = MechanismTruth(ctx)

    def add(self, out: BlockOutput) -> None:
        """Add one block."""
        self.cells += out.cells
        if out.long is not None:
            self._add_long(out.long, out.long["eligible"])
        self.mechanism.add(out)
        if out.daily is not None:
            self.daily = out.daily if self.daily is None else self.daily + out.daily
        if out.gate is None:
            return
        if "arm" in out.gate:
            self._add_holdout(out.gate)
            return
        g = out.gate
        eligible = g["eligible"]
        self.n_eligible += int(eligible.sum())
        for o in GATE_OUTCOMES:
            key = f"{o}_observed"
            total = float(g[key][eligible].sum())
            self.observed_sums[key] = self.observed_sums.get(key, 0.0) + total
        near = eligible & (np.abs(g["score"] - self.ctx.assignment.cutoff) <= GATE_BAND)
        self.band.append({k: v[near] for k, v in g.items() if k != "eligible"})

    # ------------------------------------------------------------------------------------------
    def weeks(self) -> pd.DataFrame:
        """Whole weeks of the window: index, first and last day, Monday's date."""
        ctx = self.ctx
        starts = ctx.week_starts
        ends = np.r_[starts[1:], ctx.n_days] - 1
        whole = (ends - starts) == 6
        return pd.DataFrame(
            {
                "index": np.flatnonzero(whole),
                "first_day": starts[whole],
                "last_day": ends[whole],
                "week": [ctx.world.start + dt.timedelta(days=int(d)) for d in starts[whole]],
            }
        )

    def metric_cube(self) -> dict[str, np.ndarray]:
        """Metric values, shape ``(n_worlds, n_regions, n_whole_weeks)``; NaN = not observable."""
        weeks = self.weeks()
        n_w = self.ctx.n_weeks
        comps = {
            name: self.cells[:, j].reshape(len(self.ctx.world_names), len(REGIONS), n_w)[
                :, :, weeks["index"].to_numpy()
            ]
            for j, name in enumerate(COMPONENTS)
        }
        cube = {name: f(comps).astype(float) for name, f in TRUTH_METRICS.items()}
        for n in RETENTION_DAYS:
            seen = weeks["last_day"].to_numpy() + n <= self.ctx.n_days - 1
            cube[f"d{n}_retention"][:, :, ~seen] = np.nan
        return cube

    def treated(self) -> np.ndarray:
        """Return treated region-weeks (launch on or before the Monday), ``(regions, weeks)``."""
        start = self.ctx.assignment.region_start
        first = self.weeks()["first_day"].to_numpy()
        return (start[:, None] >= 0) & (first[None, :] >= start[:, None])

    def panel(self) -> pd.DataFrame:
        """Long truth panel: region, week, treated, metric, value in each world, effect."""
        cube, treated, weeks = self.metric_cube(), self.treated(), self.weeks()
        n_r, n_w = treated.shape
        frames = []
        for name, values in cube.items():
            frame = pd.DataFrame(
                {
                    "region": np.repeat(np.array(REGIONS, dtype=object), n_w),
                    "week": pd.to_datetime(np.tile(weeks["week"].to_numpy(), n_r)),
                    "treated": treated.ravel().astype(np.int64),
                    "metric": name,
                    **{w: values[k].ravel() for k, w in enumerate(self.ctx.world_names)},
                }
            )
            frames.append(frame.dropna(subset=["observed"]))
        out = pd.concat(frames, ignore_index=True)
        out["effect"] = out["observed"] - out["no_v2"]
        return out

    def att(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Average effect on treated region-weeks, and by weeks since launch."""
        cube, treated = self.metric_cube(), self.treated()
        first_treated = np.where(treated.any(axis=1), treated.argmax(axis=1), -1)
        event_week = np.arange(treated.shape[1])[None, :] - first_treated[:, None]
        att: dict[str, Any] = {}
        dynamic: dict[str, Any] = {}
        for name, values in cube.items():
            obs, cf = values[0], values[1]
            ok = treated & np.isfinite(obs) & np.isfinite(cf)
            if not ok.any():
                continue
            att[name] = {
                "effect": float(np.mean(obs[ok] - cf[ok])),
                "with_v2": float(np.mean(obs[ok])),
                "without_v2": float(np.mean(cf[ok])),
                "n_cells": int(ok.sum()),
            }
            rows = []
            for e in np.unique(event_week[ok]):
                sel = ok & (event_week == e)
                rows.append(
                    {
                        "event_week": int(e),
                        "effect": float(np.mean(obs[sel] - cf[sel])),
                        "n_units": int(sel.sum()),
                    }
                )
            dynamic[name] = rows
        return att, dynamic

    def gate(self) -> dict[str, Any] | None:
        """Effects at the cutoff of a score-gated launch (user level)."""
        if not self.band:
            return None
        a = self.ctx.assignment
        band = {k: np.concatenate([b[k] for b in self.band]) for k in self.band[0]}
        x = band["score"] - a.cutoff
        near = np.abs(x) <= 0.1
        design = np.column_stack([np.ones(near.sum()), x[near]])
        at_cutoff, above = {}, {}
        for o in GATE_OUTCOMES:
            diff = band[f"{o}_all_v2"] - band[f"{o}_no_v2"]
            coef, *_ = np.linalg.lstsq(design, diff[near], rcond=None)
            resid = diff[near] - design @ coef
            cov = np.linalg.pinv(design.T @ design) * resid.var(ddof=2)
            name = _gate_name(o)
            at_cutoff[name] = {"effect": float(coef[0]), "sampling_se": float(np.sqrt(cov[0, 0]))}
            above[name] = float(np.mean(diff[x >= 0]))
        n = max(self.n_eligible, 1)
        return {
            "column": "score",
            "cutoff": a.cutoff,
            "launch_date": (self.ctx.world.start + dt.timedelta(days=a.gate_day)).isoformat(),
            "window_days": GATE_WINDOW_DAYS,
            "lookback_days": GATE_LOOKBACK_DAYS,
            "population": "users who signed up before the launch date and were active in the "
            f"{GATE_LOOKBACK_DAYS} days before it",
            "n_users": self.n_eligible,
            "effect_at_cutoff": at_cutoff,
            "effect_above_cutoff_band": above,
            "band": GATE_BAND,
            "observed_mean": {
                _gate_name(o): self.observed_sums[f"{o}_observed"] / n for o in GATE_OUTCOMES
            },
        }


def _gate_name(outcome: str) -> str:
    """Column name of a user outcome over the gate's window, as ``user_outcomes`` names it."""
    return outcome_column(outcome, GATE_WINDOW_DAYS)

