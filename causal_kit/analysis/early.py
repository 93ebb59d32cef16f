"""Early reads: a holdout's 90-day revenue effect projected from its first 14 days.

Before the business metric can be observed, :func:`early_projection` reads it from the leading
metrics with the surrogate index (:func:`causal_kit.surrogate_index`):

* **Surrogates** — each user's revenue, sessions, active days and whether they were still active
  in the last week, over the first :data:`SHORT_DAYS` days from the launch (the engagement and
  business levels of the cascade).
* **Reference** — the same users one quarter earlier: their surrogates over the 14 days from
  :data:`REFERENCE_LAG_DAYS` before the launch and their realised revenue over the 90 days from
  then (which end the day before the launch), so the index learns how the first weeks of this
  product's users lead their quarter. Built by the engine from the same events.
* **Design** — the holdout's difference in means on the predicted 90-day revenue, with CUPED on
  the users' pre-period revenue and activity.

Once the launch's users have 90 days of data, the realised 90-day effect is measured directly
beside the projection and the ``surrogacy`` check compares the two. A decision rests on the
projection only when the plan registered ``early_read`` and every check of the projection
passes; the report labels it a projection either way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.business.translate import Impact
from causal_kit.core.errors import CausalKitError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.launch import Launch
from causal_kit.design.experiment import experiment
from causal_kit.design.surrogate import surrogate_index
from causal_kit.metrics import user_outcomes

SHORT_DAYS = 14
HORIZON_DAYS = 90
REFERENCE_LAG_DAYS = 91  # 13 weeks: the reference quarter ends the day before the launch
LOOKBACK_DAYS = 28
SURROGATES = ("revenue_14d", "sessions_14d", "active_days_14d", "retained_d14")
COVARIATES = ("pre_revenue", "pre_active_days")
METRIC = "revenue_90d"
_OUTCOMES = ("revenue", "sessions", "active_days", "retained")


@dataclass(frozen=True)
class Projection:
    """The projected long-term effect of a launch, and what it rests on.

    Attributes
    ----------
    metric
        The long-term metric projected (``"revenue_90d"``: revenue per user over 90 days).
    horizon_days
        Days over which the long-term metric is defined (90).
    observed_days
        Days of data after the launch when the projection was made.
    estimate
        The surrogate-index estimate (:func:`causal_kit.surrogate_index`), per user.
    short_term
        The directly measured effect on revenue over the first 14 days, per user.
    realised
        The directly measured effect on 90-day revenue, once the launch's users have 90 days of
        data; ``None`` before (not yet observable).
    allowed
        Whether the registered plan lets a decision rest on a projection (``plan.early_read``).
    used
        Whether the decision rests on the projection: allowed, every check passed, and the
        business metric not yet observable.
    impact
        Money and decision from the projection (per year), or ``None`` when not computed.
    reference_date
        First day of the reference users' 90 days.
    reference_n
        Users in the reference sample.
    """

    metric: str
    horizon_days: int
    observed_days: int
    estimate: Estimate
    short_term: Estimate
    realised: Estimate | None
    allowed: bool
    used: bool = False
    impact: Impact | None = field(default=None, repr=False)
    reference_date: str = ""
    reference_n: int = 0

    @property
    def checks(self) -> tuple[Check, ...]:
        """The projection's checks (index fit, surrogacy, stability, reference drift)."""
        return self.estimate.checks

    @property
    def passed(self) -> bool:
        """Whether every check that could run passed."""
        return all(c.passed is not False for c in self.checks)

    @property
    def surrogacy_tested(self) -> bool:
        """Whether users had matured, so the projection could be compared with the realised."""
        return any(c.name == "surrogacy" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Return the ``projection`` entry of ``summary.json``."""
        e, s = self.estimate, self.short_term
        out: dict[str, Any] = {
            "metric": self.metric, "horizon_days": self.horizon_days,
            "observed_days": self.observed_days, "estimate": _num(e.estimate),
            "ci_low": _num(e.ci[0]), "ci_high": _num(e.ci[1]), "level": e.level,
            "checks": [{"name": c.name, "passed": c.passed, "detail": c.message}
                       for c in self.checks],
            "short_term": {"metric": s.outcome, "estimate": _num(s.estimate),
                           "ci_low": _num(s.ci[0]), "ci_high": _num(s.ci[1])},
            "realised": None if self.realised is None else {
                "estimate": _num(self.realised.estimate), "ci_low": _num(self.realised.ci[0]),
                "ci_high": _num(self.realised.ci[1])},
            "allowed_by_plan": self.allowed, "used_for_decision": self.used,
            "surrogates": list(e.details.get("surrogates", SURROGATES)),
            "reference": {"start": self.reference_date, "n_users": self.reference_n},
            "assumptions": str(e.details.get("assumptions", "")),
        }  # fmt: skip
        if self.impact is not None:
            out["annual_value"] = _num(self.impact.annual_value)
            out["annual_value_low"] = _num(self.impact.annual_value_low)
            out["annual_value_high"] = _num(self.impact.annual_value_high)
        return out


def early_projection(source: Any, launch: Launch, users: Any, *, arm: str, treatment: str,
                     last_day: dt.date, first_day: dt.date | None = None,
                     short: pd.DataFrame | None = None, allowed: bool = False,
                     level: float = 0.95,
                     seed: int = 0) -> tuple[Projection | None, str | None]:
    """Project a holdout's 90-day revenue effect from its first 14 days.

    Parameters
    ----------
    source
        The launch's events, opened (:func:`causal_kit.open_events`).
    launch
        The holdout (its ``date`` or single start date is the launch day).
    users
        One row per user with the arm column.
    arm, treatment
        The arm column and the arm that got the launch.
    last_day, first_day
        Last and first day of the data (the first is read from ``source`` when omitted).
    short
        The launch's users with their 14-day outcomes (:data:`SURROGATES`, the covariates and
        the arm), when the caller has them already; built from ``source`` otherwise.
    allowed
        Whether the registered plan lets a decision rest on the projection.
    level, seed
        Confidence level; seed of the index's folds.

    Returns
    -------
    tuple
        The projection, or ``None`` with a note that says why it was not made.
    """
    day = launch.date or launch.first_start
    if day is None:
        return None, "projection skipped: the launch has no single launch day."
    observed = (last_day - day).days + 1
    if observed < SHORT_DAYS:
        return None, f"projection skipped: {observed} day(s) after the launch, fewer than 14."
    ref_day = day - dt.timedelta(days=REFERENCE_LAG_DAYS)
    first = first_day if first_day is not None else source.date_bounds()[0]
    if first is None or ref_day - dt.timedelta(days=LOOKBACK_DAYS) < first:
        return None, (f"projection skipped: a reference quarter needs events from "
                      f"{ref_day - dt.timedelta(days=LOOKBACK_DAYS)} (the data start on "
                      f"{first}).")
    try:
        ref = _window(source, launch, users, ref_day, with_long=True)
        data = _window(source, launch, users, day, with_long=observed >= HORIZON_DAYS,
                       short=short)
        data["_treated"] = (data[arm].astype(str) == str(treatment)).astype(np.int64)
        covs = [c for c in COVARIATES if data[c].std() > 0 and ref[c].std() > 0]
        est = surrogate_index(
            data, reference=ref, surrogates=list(SURROGATES), long_term=METRIC,
            treatment="_treated", design="experiment", covariates=covs, level=level, seed=seed,
            design_options={"covariates": covs or None})
        measured = experiment(data, outcome="revenue_14d", arm="_treated", treatment=1,
                              control=0, covariates=covs or None, level=level)
        realised = (experiment(data, outcome=METRIC, arm="_treated", treatment=1, control=0,
                               covariates=covs or None, level=level)
                    if METRIC in data else None)  # fmt: skip
    except CausalKitError as exc:
        return None, f"projection skipped: {exc}"
    return Projection(metric=METRIC, horizon_days=HORIZON_DAYS, observed_days=observed,
                      estimate=est, short_term=measured, realised=realised, allowed=allowed,
                      reference_date=ref_day.isoformat(), reference_n=len(ref)), None


def _window(source: Any, launch: Launch, users: Any, day: dt.date, with_long: bool,
            short: pd.DataFrame | None = None) -> pd.DataFrame:
    if short is None:
        short = user_outcomes(source, launch=launch, users=users, date=day,
                              window_days=SHORT_DAYS, outcomes=_OUTCOMES,
                              lookback_days=LOOKBACK_DAYS)
    else:
        short = short.copy()  # the caller's frame stays as it is
    if not with_long:
        return short
    long = user_outcomes(source, launch=launch, users=users, date=day,
                         window_days=HORIZON_DAYS, outcomes=("revenue",),
                         lookback_days=LOOKBACK_DAYS)
    return short.merge(long[["user_id", METRIC]], on="user_id", how="left", validate="1:1")


def _num(value: Any) -> float | None:
    v = float(value)
    return v if np.isfinite(v) else None
