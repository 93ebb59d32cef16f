"""Seeded DiD panels for measuring how often the checks raise false alarms, and their power.

The shape defaults to the product's regional rollouts: 24 regions observed for 26 weeks, 12 never
launched, the rest in cohorts of 3 regions launching every third week from week 10. Outcomes are
``unit effect + week effect + AR(1) noise`` (unit standard deviation 1, so effects and trend
violations are in outcome standard deviations), built directly with numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def did_panel(
    seed: int,
    *,
    n_units: int = 24,
    n_periods: int = 26,
    n_never: int = 12,
    cohort_size: int = 3,
    first_launch: int = 10,
    spacing: int = 3,
    effect: float = 0.0,
    divergence: float = 0.0,
    rho: float = 0.3,
) -> pd.DataFrame:
    """Return a long ``region × week`` panel with a staggered launch.

    Parameters
    ----------
    seed
        Seed of the noise.
    n_units, n_periods, n_never, cohort_size
        Regions, weeks, never-launched regions and regions per launch cohort.
    first_launch, spacing
        Week of the first launch and weeks between cohorts.
    effect
        Effect of the launch on the outcome from launch on (outcome standard deviations).
    divergence
        Violation of parallel trends: launched regions drift away from the others by this much
        per week over the whole panel (0 = parallel trends hold).
    rho
        Autocorrelation of the weekly noise.

    Returns
    -------
    pandas.DataFrame
        Columns ``region``, ``week``, ``outcome``, ``treated``, ``first_week``.
    """
    rng = np.random.default_rng(seed)
    n_treated = n_units - n_never
    n_cohorts = -(-n_treated // cohort_size)
    starts = first_launch + spacing * np.arange(n_cohorts)
    first = np.full(n_units, np.inf)
    first[:n_treated] = np.repeat(starts, cohort_size)[:n_treated]
    weeks = np.arange(n_periods)
    noise = np.empty((n_units, n_periods))
    noise[:, 0] = rng.standard_normal(n_units)
    innov = rng.standard_normal((n_units, n_periods)) * np.sqrt(1 - rho**2)
    for t in range(1, n_periods):
        noise[:, t] = rho * noise[:, t - 1] + innov[:, t]
    y = rng.normal(0, 2, n_units)[:, None] + np.cumsum(rng.normal(0, 0.3, n_periods))[None, :]
    y = y + noise
    treated = weeks[None, :] >= first[:, None]
    ever = np.isfinite(first)[:, None]
    y = y + effect * treated + divergence * weeks[None, :] * ever
    return pd.DataFrame(
        {
            "region": np.repeat(np.arange(n_units), n_periods),
            "week": np.tile(weeks, n_units),
            "outcome": y.ravel(),
            "treated": treated.ravel().astype(int),
            "first_week": np.repeat(first, n_periods),
        }
    )


def fifteen_clusters(seed: int, **kw: float) -> pd.DataFrame:
    """Return the same design with 15 regions: 6 never launched, 3 cohorts of 3."""
    return did_panel(seed, n_units=15, n_never=6, **kw)  # type: ignore[arg-type]
