"""The simulated product's structure: regions, users' behaviour, the model's true effects.

Everything here is drawn once per seed (independently of the scenario and of how users are
chunked), so the four scenarios share one population and differ only in who gets the new model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

REGIONS = (
    "amsterdam", "athens", "austin", "bangalore", "berlin", "bogota", "cairo", "chicago",
    "dublin", "helsinki", "istanbul", "jakarta", "lagos", "lima", "lisbon", "madrid",
    "manila", "melbourne", "mexico-city", "nairobi", "osaka", "paris", "seoul", "toronto",
)  # fmt: skip
SEGMENTS = ("casual", "power")
EVENTS = ("session", "task", "purchase")
VERSIONS = ("v1", "v2")

# Users are simulated in fixed blocks with their own random stream, so that the output does not
# depend on how many users are written per file.
BLOCK_USERS = 2048

#: Structural constants of the behaviour model (documented in ``truth.json``).
CONSTANTS: dict[str, Any] = {
    "power_share": 0.2,
    "pre_window_share": 0.4,  # share of users who signed up before the simulated window
    "pre_window_days": 120,
    # daily activity: logit of P(active | alive) = base[segment] + region + score + user noise
    "activity_logit": {"casual": -1.0, "power": 0.6},
    "activity_score_slope": 0.8,
    "activity_user_sd": 0.5,
    "activity_shock_sd": 0.05,  # region x day AR(1) innovation
    "activity_shock_rho": 0.8,
    "extra_sessions_per_active_day": {"casual": 0.3, "power": 0.9},  # Poisson, plus one
    "task_chains_per_active_day": {"casual": 0.6, "power": 1.3},  # Poisson
    # task success: logit = base + region + score + user noise (+ tau if on v2)
    "success_logit": 0.45,
    "success_score_slope": 1.2,
    "success_user_sd": 0.3,
    "success_region_sd": 0.15,
    "tau_mean": 0.55,  # v2's effect on the log-odds of task success, by region ~ N(mean, sd)
    "tau_sd": 0.12,
    "retry_after_failure": 0.5,
    "max_attempts": 3,
    # churn: daily hazard = exp(log_hazard[segment] + score + noise - link*(p_success - p_ref))
    #        * (1 + early_boost * exp(-age / early_days))
    "log_hazard": {"casual": float(np.log(0.02)), "power": float(np.log(0.005))},
    "hazard_score_slope": -0.8,
    "hazard_user_sd": 0.3,
    "hazard_early_boost": 2.0,
    "hazard_early_days": 4.0,
    "churn_success_link": 2.0,
    "success_reference": 0.6,
    # purchases: logit of P(buy | active day) = base[segment] + score + noise
    #            + link*(p_success - p_ref) + region x day shock
    "purchase_logit": {"casual": float(np.log(0.012 / 0.988)), "power": float(np.log(0.07 / 0.93))},
    "purchase_score_slope": 1.0,
    "purchase_user_sd": 0.3,
    "purchase_success_link": 1.5,
    "purchase_shock_sd": 0.08,
    "purchase_shock_rho": 0.7,
    "revenue_median": {"casual": 12.0, "power": 28.0},
    "revenue_sdlog": 0.55,
    # model calls
    "latency_median_ms": {"v1": 850.0, "v2": 1050.0},
    "latency_sdlog": 0.35,
    "latency_region_sd": 0.08,
    "cost_median_usd": {"v1": 0.0021, "v2": 0.0034},
    "cost_sdlog": 0.3,
}


@dataclass(frozen=True)
class World:
    """Region-level parameters and shocks for one seed and window.

    Attributes
    ----------
    start
        First simulated day.
    n_days
        Number of simulated days.
    weight
        Share of users in each region.
    activity
        Region shift of the activity log-odds.
    weekend
        Region shift of the activity log-odds on Saturdays and Sundays.
    trend
        Region trend of the activity log-odds per day.
    success
        Region shift of the task-success log-odds.
    tau
        v2's effect on the task-success log-odds in each region.
    latency
        Region factor on model latency (log scale).
    activity_shock, purchase_shock
        Region x day shocks, shape ``(n_regions, n_days)``.
    common
        Product-wide daily shift of the activity log-odds, shape ``(n_days,)``.
    """

    start: dt.date
    n_days: int
    weight: np.ndarray
    activity: np.ndarray
    weekend: np.ndarray
    trend: np.ndarray
    success: np.ndarray
    tau: np.ndarray
    latency: np.ndarray
    activity_shock: np.ndarray
    purchase_shock: np.ndarray
    common: np.ndarray

    @property
    def n_regions(self) -> int:
        """Number of regions."""
        return len(REGIONS)

    def to_dict(self) -> dict[str, Any]:
        """Return the region parameters as JSON-safe records (shocks left out)."""
        rows = []
        for r, name in enumerate(REGIONS):
            rows.append(
                {
                    "region": name,
                    "weight": round(float(self.weight[r]), 6),
                    "activity_logit_shift": round(float(self.activity[r]), 6),
                    "weekend_logit_shift": round(float(self.weekend[r]), 6),
                    "activity_trend_per_day": round(float(self.trend[r]), 8),
                    "success_logit_shift": round(float(self.success[r]), 6),
                    "tau_success_logit": round(float(self.tau[r]), 6),
                    "latency_log_factor": round(float(self.latency[r]), 6),
                }
            )
        return {"constants": CONSTANTS, "regions": rows}


def make_world(seed: int, start: dt.date, n_days: int) -> World:
    """Draw the region parameters and shocks for ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    n_regions = len(REGIONS)
    raw = rng.lognormal(0.0, 0.6, n_regions)
    weight = 0.4 / n_regions + 0.6 * raw / raw.sum()
    weight = weight / weight.sum()
    activity = rng.normal(0.0, 0.25, n_regions)
    weekend = rng.normal(-0.35, 0.1, n_regions)
    trend = rng.normal(0.0, 0.0008, n_regions)
    success = rng.normal(0.0, CONSTANTS["success_region_sd"], n_regions)
    tau = rng.normal(CONSTANTS["tau_mean"], CONSTANTS["tau_sd"], n_regions)
    latency = rng.normal(0.0, CONSTANTS["latency_region_sd"], n_regions)
    # a shock path longer than the window, so the first days are already stationary
    act_shock = _ar1(rng, n_regions, n_days, CONSTANTS["activity_shock_rho"],
                     CONSTANTS["activity_shock_sd"])  # fmt: skip
    buy_shock = _ar1(rng, n_regions, n_days, CONSTANTS["purchase_shock_rho"],
                     CONSTANTS["purchase_shock_sd"])  # fmt: skip
    days = np.arange(n_days)
    common = 0.1 * np.sin(2 * np.pi * days / 150.0) + rng.normal(0.0, 0.02, n_days)
    return World(start, n_days, weight, activity, weekend, trend, success, tau, latency,
                 act_shock, buy_shock, common)  # fmt: skip


def _ar1(rng: np.random.Generator, rows: int, n: int, rho: float, sd: float) -> np.ndarray:
    burn = 30
    eps = rng.normal(0.0, sd, (rows, n + burn))
    out = np.empty_like(eps)
    out[:, 0] = eps[:, 0] / np.sqrt(1 - rho**2)
    for t in range(1, n + burn):
        out[:, t] = rho * out[:, t - 1] + eps[:, t]
    return out[:, burn:]
