"""One launch, analysed end to end: the panel, the designs, the cascade, money and a decision.

:func:`analyze_launch` is what a report calls. It aggregates the events in the engine, runs the
primary design on the primary metric and on one metric per cascade level, triangulates with every
other eligible design, estimates the effect by segment, and carries the primary estimate to money
and a recommendation against the launch's pre-registered criteria.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import narwhals as nw
import pandas as pd

from causal_kit.analysis.evidence import (
    ATTRIBUTION_NOTE,
    Evidence,
    panel_evidence,
    user_evidence,
)
from causal_kit.analysis.summary import build_summary
from causal_kit.business.decide import Decision
from causal_kit.business.plan import (
    Diagnosis,
    PlanStatus,
    diagnose,
    plan_status,
    registered_launch,
)
from causal_kit.business.translate import Impact, translate
from causal_kit.business.value import PerUserValue
from causal_kit.core.errors import CausalKitWarning, SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.core.launch import Launch
from causal_kit.core.options import Grain, check_option
from causal_kit.core.render import money
from causal_kit.design.did import did
from causal_kit.design.rdd import rdd
from causal_kit.design.synth import synthetic_control
from causal_kit.evidence.cascade import Cascade, cascade
from causal_kit.evidence.scorecard import Scorecard, scorecard
from causal_kit.evidence.segments import Segments, by_segment
from causal_kit.evidence.triangulate import Triangulation, triangulate
from causal_kit.metrics import METRICS, build_panel, user_outcomes
from causal_kit.source import open_events

if TYPE_CHECKING:
    from causal_kit.analysis.early import Projection
    from causal_kit.evidence.adoption import AdoptionEffect
    from causal_kit.evidence.attribution import Attribution
    from causal_kit.evidence.heterogeneity import Heterogeneity
    from causal_kit.evidence.mediation import Mediation
    from causal_kit.evidence.refute import Refutations

PERIODS_PER_YEAR = {"day": 365.0, "week": 52.0, "month": 12.0}
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
LOOKBACK_DAYS = 28  # users active this long before a window are the users it could reach
PANEL_CASCADE = {"model": "latency_ms", "task": "task_success_rate",
                 "engagement": "active_users", "business": "revenue"}
GATE_CASCADE = {"task": "task_success_rate_30d", "engagement": "retained_d30",
                "business": "revenue_30d"}
GATE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class LaunchAnalysis:
    """Everything a launch report shows, computed once.

    Attributes
    ----------
    launch
        The launch analysed.
    outcome
        The primary metric.
    design
        ``"did"``, ``"sc"``, ``"rdd"``, ``"experiment"`` or ``"its"``: the design behind the
        headline.
    grain
        What one unit of the effect is per: ``"region-week"``…, or ``"user over 30 days"``
        for a score-gated launch.
    primary
        The headline estimate.
    impact
        Money, ROI and the recommendation.
    cascade
        The effect at each cascade level and whether each link holds.
    cascade_estimates
        Metric → estimate behind the cascade.
    guardrails
        Guardrail metric → estimate.
    triangulation
        Every eligible design side by side.
    scorecard
        The confidence grade with its reasons.
    segments
        Effects by segment with revenue shares (``None`` without a segment column).
    days_since_launch
        Days from the first launch date to the end of the data (or ``as_of``).
    data_window
        First and last day of the data analysed.
    exposed
        How many units (regions, users) the launch reached.
    notes
        The warnings raised along the way (dropped periods, handled data issues), once each.
    plan
        Whether the plan was registered before launch and whether it changed since; the
        decision uses the criteria as registered.
    diagnosis
        The two-metric diagnosis of the registered plan's layers.
    adoption
        Share of exposed users who used the AI feature (the ``adoption`` metric over the launched
        units after launch; for a score gate, users above the cutoff with a task), or ``None``.
    baseline
        The primary metric without the launch, on what was launched to (the treated cells'
        mean minus the effect; for a score gate, the untreated side at the cutoff).
    users_per_unit
        Active users per unit and period behind one unit of the effect (1 for a per-user
        effect), to state the effect per user.
    period_days
        Days in one period of the effect (7 for a week, 30 for a score gate's window).
    refutations
        The refutations of the headline (a rollout's placebo dates, placebo units and
        leave-one-out; a holdout's or a score gate's DoWhy refuters), or ``None``.
    mediation
        How much of each cascade level's effect flows through the level below (holdout), or
        ``None``.
    attribution
        What moved the KPI between before and after the launch, or ``None`` (see ``notes``).
    heterogeneity
        Who gains and which users the launch should reach (holdout, score gate), or ``None``.
    per_adopter
        The intent-to-treat effect beside the effect per adopter (holdout), or ``None``.
    projection
        A holdout's 90-day revenue effect projected from its first 14 days (the surrogate
        index, :mod:`causal_kit.analysis.early`), or ``None``. When the plan allows an early
        read and every check passes, ``impact`` and the decision rest on it.
    Whatever is ``None`` says why in ``notes`` (see :mod:`causal_kit.analysis.evidence`).
    """

    launch: Launch
    outcome: str
    design: str
    grain: str
    primary: Estimate
    impact: Impact
    cascade: Cascade
    cascade_estimates: Mapping[str, Estimate]
    guardrails: Mapping[str, Estimate]
    triangulation: Triangulation
    scorecard: Scorecard
    segments: Segments | None
    days_since_launch: float | None
    data_window: tuple[str, str]
    exposed: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    plan: PlanStatus | None = None
    diagnosis: Diagnosis | None = None
    adoption: float | None = None
    baseline: float | None = None
    users_per_unit: float = 1.0
    period_days: float = 7.0
    refutations: Refutations | None = None
    mediation: Mediation | None = None
    attribution: Attribution | None = None
    heterogeneity: Heterogeneity | None = None
    per_adopter: AdoptionEffect | None = None
    projection: Projection | None = None

    @property
    def relative_change(self) -> float | None:
        """The effect as a share of the baseline (``None`` without a positive baseline)."""
        if self.baseline is None or not self.baseline > 0:
            return None
        return float(self.primary.estimate) / self.baseline

    @property
    def local(self) -> bool:
        """Whether the effect holds only near a cutoff (regression discontinuity)."""
        return self.design == "rdd"

    @property
    def decision(self) -> Decision:
        """The recommendation and the rule that fired."""
        return self.impact.decision

    def per_user_week(self, value: float) -> float:
        """Return an effect (in the outcome's units per unit and period) per user per week."""
        return float(value) / self.users_per_unit * 7.0 / self.period_days

    def headline(self) -> str:
        """One sentence: the effect, the money range, the recommendation and the confidence."""
        e, i = self.primary, self.impact
        pct = f"{e.level:.0%}"
        cur = i.currency
        return (
            f"{self.launch.name} changed {self.outcome} by {e.estimate:+,.4g} per "
            f"{self.grain} ({pct} interval {e.ci[0]:+,.4g} to {e.ci[1]:+,.4g}), worth "
            f"{money(i.annual_value, cur)} a year ({money(i.annual_value_low, cur)} to "
            f"{money(i.annual_value_high, cur)}). Recommendation: {self.decision.action}. "
            f"Confidence: {self.scorecard.grade}."
        )

    def to_summary(self, *, parameters: Mapping[str, Any] | None = None,
                   data_fingerprint: str | None = None,
                   package_versions: Mapping[str, str] | None = None,
                   generated_at: str | None = None) -> dict[str, Any]:
        """Return the validated ``summary.json`` content of this analysis."""
        return build_summary(
            launch=self.launch, estimate=self.primary, impact=self.impact,
            scorecard=self.scorecard, cascade=self.cascade, triangulation=self.triangulation,
            segments=self.segments, parameters=parameters, data_fingerprint=data_fingerprint,
            package_versions=package_versions, plan=self.plan, diagnosis=self.diagnosis,
            adoption=self.adoption, baseline=self.baseline,
            users_per_unit=self.users_per_unit, period_days=self.period_days,
            local=self.local, generated_at=generated_at, refutations=self.refutations,
            mediation=self.mediation, attribution=self.attribution,
            heterogeneity=self.heterogeneity, per_adopter=self.per_adopter,
            projection=self.projection,
        )


def analyze_launch(
    events: Any,
    *,
    launch: Launch,
    outcome: str | None = None,
    users: Any = None,
    time: Grain = "week",
    design: str = "auto",
    cascade_metrics: Mapping[str, str] | None = None,
    guardrail_metrics: Sequence[str] = ("latency_ms",),
    segment: str | None = "segment",
    value_per_unit: float = 1.0,
    exposed: int | None = None,
    yearly_cost: float | None = None,
    upfront_cost: float = 0.0,
    as_of: Any = None,
    level: float = 0.95,
    seed: int = 0,
) -> LaunchAnalysis:
    """Analyse one launch from raw events to a recommendation.

    Parameters
    ----------
    events
        The event log: a path, a folder of parquet files, or a frame (see
        :func:`causal_kit.open_events`). Aggregated in the engine.
    launch
        Units, start dates, success criteria and, for a score-gated launch, ``gate``.
    outcome
        The primary metric (default ``"revenue"``; ``"revenue_30d"`` for a score gate).
    users
        User table (``user_id``, ``signup_date``, ``score``, ``segment``…), for retention and
        score-gated launches.
    time
        Panel period for panel designs: ``"day"``, ``"week"`` or ``"month"``.
    design
        ``"auto"``, ``"did"``, ``"sc"``, ``"rdd"``, ``"experiment"`` or ``"its"``. ``"auto"``
        picks from the launch's shape: the randomized experiment for a holdout (per-user 30-day
        outcomes, CUPED on pre-period activity, ``srm`` against the planned split), the
        interrupted time series for a launch to everyone (the daily series of the launched
        product with the untouched series as controls), regression discontinuity for a
        score-gated launch, and for a regional rollout synthetic control when one unit was
        launched to (a single treated cluster leaves difference-in-differences without honest
        standard errors) and difference-in-differences otherwise. Triangulation runs every
        other design that applies and says why the rest do not.
    cascade_metrics
        Level → metric for the cascade (defaults: latency, task success, active users, revenue;
        for a score gate the per-user 30-day outcomes).
    guardrail_metrics
        Metrics whose worsening beyond ``launch.criteria.guardrails`` blocks shipping.
    segment
        Column of the events (or users) holding the user segment, or ``None``.
    value_per_unit
        Money per unit of the primary metric (1.0 when the metric is already money).
    exposed
        Units the launch reaches in a year (default: the treated units in the data).
    yearly_cost, upfront_cost
        Yearly running cost and one-off cost of the launch.
    as_of
        Date the decision is taken (default: the end of the data).
    level
        Confidence level.
    seed
        Seed for bootstrap and placebo draws.

    Returns
    -------
    LaunchAnalysis
    """
    design = check_option("design", design, ("auto", "did", "sc", "rdd", "experiment", "its"))
    if design == "auto":
        design = auto_design(launch)
    if design == "experiment" and launch.shape != "holdout":
        raise SpecificationError(
            f"launch {launch.name!r} is {launch.shape!r}, not randomized; design='experiment' "
            "needs Launch(arms={'column': ..., 'treatment': ..., 'control': ...}). Use "
            "design='auto'."
        )
    if design == "its" and launch.shape != "global":
        raise SpecificationError(
            f"launch {launch.name!r} is {launch.shape!r}; design='its' needs a launch to "
            "everyone, Launch(date=...). Use design='auto'."
        )
    if design == "rdd" and not launch.gate:
        raise SpecificationError(
            f"launch {launch.name!r} has no score gate; design='rdd' needs "
            "Launch(gate={'column': ..., 'cutoff': ...}). Use design='did' or 'sc'."
        )
    check_option("time", time, Grain)
    source = open_events(events)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CausalKitWarning)
        if design in ("experiment", "its"):
            result = _analyze_shape(source, launch, outcome, users, time, design,
                                    cascade_metrics, guardrail_metrics, segment, value_per_unit,
                                    exposed, yearly_cost, upfront_cost, as_of, level, seed)
        elif design == "rdd":
            result = _analyze_gate(source, launch, outcome or "revenue_30d", users,
                                   cascade_metrics, segment, value_per_unit, exposed,
                                   yearly_cost, upfront_cost, as_of, level, seed)
        else:
            result = _analyze_panel(source, launch, outcome or "revenue", users, time, design,
                                    cascade_metrics, guardrail_metrics, segment, value_per_unit,
                                    exposed, yearly_cost, upfront_cost, as_of, level, seed)
    notes = tuple(dict.fromkeys(
        ([str(result.primary.details["warning"])] if "warning" in result.primary.details else [])
        + [str(w.message) for w in caught if issubclass(w.category, CausalKitWarning)]
        + list(result.notes)))
    for w in caught:
        if not issubclass(w.category, CausalKitWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return replace(result, notes=notes)


def auto_design(launch: Launch) -> str:
    """Return the design a launch's shape picks (see :func:`analyze_launch`)."""
    if launch.shape == "holdout":
        return "experiment"
    if launch.shape == "global":
        return "its"
    if launch.shape == "score_gate":
        return "rdd"
    return "sc" if len(launch.start) == 1 else "did"


def _analyze_shape(source: Any, launch: Launch, outcome: str | None, users: Any, time: Grain,
                   design: str, cascade_metrics: Mapping[str, str] | None,
                   guardrail_metrics: Sequence[str], segment: str | None,
                   value_per_unit: float, exposed: int | None, yearly_cost: float | None,
                   upfront_cost: float, as_of: Any, level: float, seed: int) -> LaunchAnalysis:
    from causal_kit.analysis.shapes import (
        CUPED_COVARIATES,
        EARLY_WINDOW_DAYS,
        global_parts,
        holdout_frame,
        holdout_parts,
        holdout_window,
    )

    frame = None
    span = 0  # days of a holdout's per-user window
    first_day, last_day = source.date_bounds()
    if design == "experiment":
        panel, n_treated = None, 0
        if len(set(launch.start.values())) > 1:  # a holdout also rolled out by region
            panel = build_panel(source, unit=launch.unit, time=time, metrics=["revenue"],
                                launch=launch, users=users)
            n_treated = int(panel.loc[panel["treated"] == 1, launch.unit].nunique())
        span = holdout_window(launch, last_day)
        name = outcome or f"revenue_{span}d"
        frame = holdout_frame(source, launch, users, span)
        parts = holdout_parts(source, launch, name, users, time, cascade_metrics, segment,
                              exposed, level, seed, panel, synth_options(n_treated), frame,
                              span)
    else:
        name = outcome or "revenue"
        parts = global_parts(source, launch, name, cascade_metrics, guardrail_metrics, segment,
                             exposed, level, seed)
    primary, chain, chain_est, guards, tri, segs, window, n_exposed, per_year, grain = parts
    if as_of is None and design == "experiment":  # the holdout runs on after the 30-day window
        as_of = last_day
    planned_est = {m: chain_est[m] for m in _plan_metrics(launch) if m in chain_est}
    baselines = {m: b for m, e in {**chain_est, **planned_est}.items()
                 if (b := _counterfactual_level(e)) is not None}
    adoption = None
    if frame is not None:
        arms = dict(launch.arms or {})
        adoption = _task_share(frame, frame[str(arms["column"])].astype(str) ==
                               str(arms["treatment"]), f"tasks_{span}d")  # fmt: skip
    result = _finish(launch, name, design, grain, primary, chain, chain_est, guards, tri, segs,
                     window, n_exposed, value_per_unit, per_year, yearly_cost, upfront_cost,
                     as_of, adoption, baselines, planned_est)
    if frame is not None:
        early = frame if span == EARLY_WINDOW_DAYS else None  # its 14 days are the surrogates'
        result = _with_projection(result, source, users, early, (first_day, last_day),
                                  n_exposed, value_per_unit, yearly_cost, upfront_cost, level,
                                  seed)
        result = replace(result, period_days=float(span))
    if frame is None:
        found = Evidence(notes=("refutations, mediation, heterogeneity and per-adopter effects "
                                "skipped: a launch to everyone leaves no untreated users or units "
                                "to compare with.", ATTRIBUTION_NOTE))  # fmt: skip
    else:
        arms = dict(launch.arms or {})
        found = user_evidence(frame, outcome=name,
                              treated=frame[str(arms["column"])].astype(str) ==
                              str(arms["treatment"]), covariates=CUPED_COVARIATES,
                              segment=segment, level=level, seed=seed)  # fmt: skip
    return _with_evidence(result, found)


def _task_share(frame: pd.DataFrame, exposed: pd.Series, tasks: str) -> float | None:
    """Return the share of exposed users who ran a task in the window (the adoption share)."""
    if tasks not in frame or not exposed.any():
        return None
    return float((frame.loc[exposed, tasks] > 0).mean())


def _with_projection(result: LaunchAnalysis, source: Any, users: Any,
                     short: pd.DataFrame | None, days: tuple[Any, Any], n_exposed: int,
                     value_per_unit: float, yearly_cost: float | None, upfront_cost: float,
                     level: float, seed: int) -> LaunchAnalysis:
    """Add a holdout's early read; let it decide when the plan allows it and its checks pass.

    ``short`` is the holdout's 14-day user frame when it was read early (reused as the
    surrogates), ``days`` the first and last day of the events.
    """
    from causal_kit.analysis.early import HORIZON_DAYS, early_projection

    launch = result.launch
    arms = dict(launch.arms or {})
    decided_on = registered_launch(launch)  # an early_read switched on after launch counts not
    allowed = bool(decided_on.plan is not None and decided_on.plan.early_read)
    first, last = days
    if last is None:
        return result
    proj, note = early_projection(source, launch, users, arm=str(arms["column"]),
                                  treatment=str(arms["treatment"]), last_day=last,
                                  first_day=first, short=short, allowed=allowed, level=level,
                                  seed=seed)
    if proj is None:
        return replace(result, notes=(*result.notes, note) if note else result.notes)
    model = PerUserValue(users=n_exposed, value_per_unit=value_per_unit,
                         periods_per_year=365.0 / HORIZON_DAYS, unit_name="users")
    impact = translate(proj.estimate, value_model=model, cost=yearly_cost,
                       upfront_cost=upfront_cost, criteria=decided_on,
                       days_since_launch=result.days_since_launch, confidence=result.scorecard)
    used = allowed and proj.passed and proj.observed_days < HORIZON_DAYS
    proj = replace(proj, impact=impact, used=used)
    return replace(result, projection=proj, impact=impact if used else result.impact)


def _with_rollout_evidence(found: Evidence, source: Any, launch: Launch, users: Any,
                           end: dt.date, level: float, seed: int) -> Evidence:
    """Add a rollout's user-level evidence, from its users around the last launch date.

    Mediation over the 30 days after that date (launched units against the rest), and, when 58
    days of data precede it, the KPI-change attribution and who gains (30 days before against
    30 days after); see :mod:`causal_kit.analysis.evidence`.
    """
    from causal_kit.analysis.evidence import rollout_change, rollout_mediation
    from causal_kit.analysis.shapes import CUPED_COVARIATES, WINDOW_DAYS

    skipped = "mediation, attribution and heterogeneity skipped"
    last = max(launch.start.values()) if launch.start else None
    if last is None or users is None:
        return _noted(found, f"{skipped}: they need the users table and a launch date.")
    if (end - last).days + 1 < WINDOW_DAYS:
        return _noted(found, f"{skipped}: they compare users over the 30 days after the last "
                             "launch date, which the data do not cover yet.")
    outcomes = ("revenue", "retained", "tasks", "task_success_rate")
    after = user_outcomes(source, launch=launch, users=users, date=last,
                          window_days=WINDOW_DAYS, outcomes=outcomes)
    if launch.unit not in after:
        return _noted(found, f"{skipped}: the users carry no {launch.unit!r} column.")
    exposed = after[launch.unit].astype(str).isin({str(u) for u in launch.start})
    med, notes = rollout_mediation(after, exposed=exposed, unit=launch.unit,
                                   covariates=CUPED_COVARIATES, level=level, seed=seed)
    found = replace(found, mediation=med, notes=(*found.notes, *notes))
    before_day = last - dt.timedelta(days=WINDOW_DAYS)
    first = source.date_bounds()[0]
    if first is None or before_day - dt.timedelta(days=LOOKBACK_DAYS) < first:
        return _noted(found, "attribution and heterogeneity skipped: they need "
                             f"{WINDOW_DAYS + LOOKBACK_DAYS} days of data before the last "
                             "launch date.")
    before = user_outcomes(source, launch=launch, users=users, date=before_day,
                           window_days=WINDOW_DAYS, outcomes=outcomes,
                           lookback_days=LOOKBACK_DAYS)
    cohort = [u for u, d in launch.start.items() if d == last]
    parts, more = rollout_change(before, after, unit=launch.unit, launched=list(launch.start),
                                 last_cohort=cohort, covariates=CUPED_COVARIATES, level=level,
                                 seed=seed)
    return replace(found, attribution=parts.get("attribution"),
                   heterogeneity=parts.get("heterogeneity"), notes=(*found.notes, *more))


def _noted(found: Evidence, note: str) -> Evidence:
    return replace(found, notes=(*found.notes, note))


def _with_evidence(result: LaunchAnalysis, found: Evidence) -> LaunchAnalysis:
    return replace(result, refutations=found.refutations, mediation=found.mediation,
                   attribution=found.attribution, heterogeneity=found.heterogeneity,
                   per_adopter=found.per_adopter, notes=(*result.notes, *found.notes))


def synth_options(n_treated: int) -> dict[str, str]:
    """Choose the synthetic-control variant for a launch's shape.

    One treated unit: Abadie's weights with placebo-in-space inference. Several (possibly
    staggered) treated units: synthetic difference-in-differences with the variance its front
    door picks (``"auto"``: placebo variance with few treated units, the bootstrap with many),
    which covers at its nominal rate where the jackknife does not.
    """
    if n_treated <= 1:
        return {"method": "sc", "inference": "placebo"}
    return {"method": "sdid", "inference": "auto"}


def _panel_estimator(design: str, unit: str, time: str, level: float, seed: int,
                     n_treated: int) -> Any:
    def run(panel: pd.DataFrame, metric: str, draws: bool = False) -> Estimate:
        if design == "sc":
            return synthetic_control(panel, outcome=metric, unit=unit, time=time,
                                     treatment="treated", level=level, seed=seed,
                                     **synth_options(n_treated))  # type: ignore[arg-type]
        # the headline gets the event-study draws and the HonestDiD sensitivity; the cascade's
        # and guardrails' metrics need only their effects and intervals
        return did(panel, outcome=metric, unit=unit, time=time, treatment="treated", level=level,
                   seed=seed, bootstrap="multiplier" if draws else "none", sensitivity=draws)
    return run


def _analyze_panel(source: Any, launch: Launch, outcome: str, users: Any, time: Grain,
                   design: str, cascade_metrics: Mapping[str, str] | None,
                   guardrail_metrics: Sequence[str], segment: str | None,
                   value_per_unit: float, exposed: int | None, yearly_cost: float | None,
                   upfront_cost: float, as_of: Any, level: float, seed: int) -> LaunchAnalysis:
    unit = launch.unit
    chain = dict(cascade_metrics or PANEL_CASCADE)
    chain["business"] = chain.get("business", outcome)
    planned = _plan_metrics(launch)
    metrics = list(dict.fromkeys([outcome, *chain.values(), *guardrail_metrics, *planned,
                                  "adoption", "active_users"]))
    panel = build_panel(source, unit=unit, time=time, metrics=metrics, launch=launch,
                        users=users)
    n_treated = int(panel.loc[panel["treated"] == 1, unit].nunique())
    run = _panel_estimator(design, unit, time, level, seed, n_treated)
    primary = run(panel, outcome, draws=True)
    chain_est = {m: (primary if m == outcome else run(panel, m)) for m in chain.values()}
    guards = {m: chain_est.get(m) or run(panel, m) for m in guardrail_metrics}
    planned_est = {m: chain_est.get(m) or run(panel, m) for m in planned}
    treated = panel[panel["treated"] == 1]
    weights = treated["active_users"].astype(float)
    adoption = (float((treated["adoption"] * weights).sum() / weights.sum())
                if weights.sum() > 0 else None)
    baselines = {m: float(treated[m].mean()) - float(e.estimate)
                 for m, e in {**chain_est, **planned_est}.items() if m in treated}
    tri = _with_primary(
        triangulate(panel, outcome=outcome, unit=unit, time=time, treatment="treated",
                    launch=launch, designs=("did", "sc"), level=level, seed=seed,
                    options={"sc": synth_options(n_treated)}), design, primary)
    segs = None
    if segment and segment in source.columns:
        segs = _panel_segments(source, launch, outcome, users, time, segment, run, primary)
    times = pd.to_datetime(panel[time])
    end = (times.max() + pd.Timedelta(days=PERIOD_DAYS[time] - 1)).date()
    n_exposed = exposed if exposed is not None else n_treated
    result = _finish(launch, outcome, design, f"{unit}-{time}", primary, chain,
                     chain_est, guards, tri, segs, (times.min().date(), end), n_exposed,
                     value_per_unit, PERIODS_PER_YEAR[time], yearly_cost, upfront_cost, as_of,
                     adoption, baselines, planned_est)
    found = panel_evidence(panel, outcome=outcome, unit=unit, time=time, design=design,
                           options=synth_options(n_treated) if design == "sc" else {},
                           level=level)  # fmt: skip
    found = _with_rollout_evidence(found, source, launch, users, end, level, seed)
    return replace(_with_evidence(result, found),
                   users_per_unit=float(treated["active_users"].mean()),
                   period_days=float(PERIOD_DAYS[time]))


def _panel_segments(source: Any, launch: Launch, outcome: str, users: Any, time: Grain,
                    segment: str, run: Any, primary: Estimate) -> Segments:
    frame = source.frame
    revenue = frame.group_by(segment).agg(nw.col("revenue").sum()).collect()
    total = float(sum(revenue["revenue"].to_list())) or 1.0
    shares = {str(s): float(r) / total for s, r in
              zip(revenue[segment].to_list(), revenue["revenue"].to_list(), strict=True)}
    estimates = {}
    for name in sorted(shares):
        part = frame.filter(nw.col(segment) == name)
        panel = build_panel(part, unit=launch.unit, time=time, metrics=[outcome], launch=launch,
                            users=users)
        estimates[name] = run(panel, outcome)
    return by_segment(estimates, revenue_share=shares, overall=primary,
                      lower_is_better=_lower_is_better(outcome))


def _lower_is_better(metric: str) -> bool:
    spec = METRICS.get(metric)
    return bool(spec is not None and getattr(spec, "direction", "higher") == "lower")


def _analyze_gate(source: Any, launch: Launch, outcome: str, users: Any,
                  cascade_metrics: Mapping[str, str] | None, segment: str | None,
                  value_per_unit: float, exposed: int | None, yearly_cost: float | None,
                  upfront_cost: float, as_of: Any, level: float, seed: int) -> LaunchAnalysis:
    gate = dict(launch.gate or {})
    running, cutoff = str(gate["column"]), float(gate["cutoff"])
    frame = user_outcomes(source, launch=launch, users=users, window_days=GATE_WINDOW_DAYS)

    def run(metric: str, data: pd.DataFrame = frame) -> Estimate:
        return rdd(data.dropna(subset=[metric]), outcome=metric, running=running, cutoff=cutoff,
                   level=level)

    chain = dict(cascade_metrics or GATE_CASCADE)
    chain["business"] = chain.get("business", outcome)
    primary = run(outcome)
    chain_est = {m: (primary if m == outcome else run(m)) for m in chain.values()}
    planned_est = {m: chain_est.get(m) or run(m) for m in _plan_metrics(launch)
                   if m in frame.columns}
    adoption = _task_share(frame, frame[running] >= cutoff, "tasks_30d")
    baselines = {m: b for m, e in {**chain_est, **planned_est}.items()
                 if (b := _untreated_side(e)) is not None}
    tri = triangulate(None, outcome=outcome, users=frame, launch=launch, designs=("rdd",),
                      level=level, seed=seed)
    segs = None
    if segment and segment in frame.columns:
        shares = frame.groupby(segment)[outcome].sum()
        total = float(shares.sum()) or 1.0
        segs = by_segment({str(s): run(outcome, g) for s, g in frame.groupby(segment)},
                          revenue_share={str(k): float(v) / total for k, v in shares.items()},
                          overall=primary, lower_is_better=_lower_is_better(outcome))
    start = launch.first_start or dt.date.today()
    window = (start, start + dt.timedelta(days=GATE_WINDOW_DAYS - 1))
    n_exposed = exposed if exposed is not None else int((frame[running] >= cutoff).sum())
    result = _finish(launch, outcome, "rdd", f"user over {GATE_WINDOW_DAYS} days", primary,
                     chain, chain_est, {}, tri, segs, window, n_exposed, value_per_unit,
                     365.0 / GATE_WINDOW_DAYS, yearly_cost, upfront_cost, as_of, adoption,
                     baselines, planned_est)
    found = user_evidence(frame, outcome=outcome, treated=frame[running] >= cutoff,
                          design="score_gate", covariates=(running, "pre_revenue",
                                                           "pre_active_days"),
                          segment=segment, running=running, cutoff=cutoff,
                          bandwidth=_bandwidth(primary), level=level, seed=seed)  # fmt: skip
    return replace(_with_evidence(result, found), period_days=float(GATE_WINDOW_DAYS))


def _bandwidth(est: Estimate) -> float | None:
    """Return the half-width a regression discontinuity kept (the narrower side's), or None."""
    value = dict(est.details or {}).get("bandwidth")
    if isinstance(value, Mapping):  # one half-width per side (or per use): keep the narrower
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        value = min((float(v) for v in value if isinstance(v, (int, float))), default=None)
    return float(value) if isinstance(value, (int, float)) else None


def _plan_metrics(launch: Launch) -> list[str]:
    """Return the registered plan's online and business metrics that the registry knows."""
    plan = registered_launch(launch).plan
    if plan is None:
        return []
    names = [t.metric for t in (plan.online, plan.business) if t is not None]
    return [m for m in dict.fromkeys(names) if m in METRICS]


def _counterfactual_level(est: Estimate) -> float | None:
    """Return the level without the launch: a holdout's control mean, or ITS's forecast mean."""
    details = dict(est.details or {})
    if "control_mean" in details:
        return float(details["control_mean"])
    path = details.get("counterfactual_path")
    if isinstance(path, pd.DataFrame) and "counterfactual" in path:
        return float(path["counterfactual"].mean())
    by_period = est.by_period
    if by_period is not None and "counterfactual" in by_period:
        return float(by_period["counterfactual"].mean())
    return None


def _untreated_side(est: Estimate) -> float | None:
    """Return the untreated side's fit at the cutoff of a regression discontinuity."""
    details = dict(est.details or {})
    sides = details.get("side_estimates") or {}
    side = "left" if details.get("treated_side", "above") == "above" else "right"
    value = sides.get(side)
    return float(value) if value is not None else None


def _with_primary(tri: Triangulation, design: str, primary: Estimate) -> Triangulation:
    """Show the headline estimate, with its own interval, as its design's row of the comparison.

    The headline carries bootstrap draws for the money interval, so its interval can differ a
    little from the analytic one triangulation computes; one estimate must show one interval.
    """
    if design not in tri.estimates:
        return tri
    table = tri.concordance.copy()
    row = table["design"] == design
    lo, hi = sorted(float(v) for v in primary.ci)
    for column, value in (("method", primary.method), ("estimate", float(primary.estimate)),
                          ("ci_low", lo), ("ci_high", hi), ("p_value", primary.p_value)):
        table[column] = table[column].where(~row, value)
    return replace(tri, concordance=table, estimates={**tri.estimates, design: primary})


def _finish(launch: Launch, outcome: str, design: str, grain: str, primary: Estimate,
            chain: Mapping[str, str], chain_est: Mapping[str, Estimate],
            guards: Mapping[str, Estimate], tri: Triangulation, segs: Segments | None,
            window: tuple[dt.date, dt.date], n_exposed: int, value_per_unit: float,
            periods_per_year: float, yearly_cost: float | None, upfront_cost: float,
            as_of: Any, adoption: float | None, baselines: Mapping[str, float],
            planned: Mapping[str, Estimate]) -> LaunchAnalysis:
    status = plan_status(launch)
    decided_on = registered_launch(launch)  # never the criteria edited after registration
    end = pd.Timestamp(as_of).date() if as_of is not None else window[1]
    days = float((end - launch.first_start).days) if launch.first_start else None
    if days is not None and days < 0:
        raise SpecificationError(
            f"launch {launch.name!r} starts on {launch.first_start}, after the end of the data "
            f"({end}); check the launch's start dates or as_of."
        )
    score = scorecard(list(tri.estimates.values()) or [primary], triangulation=tri,
                      primary=primary)
    model = PerUserValue(users=n_exposed, value_per_unit=value_per_unit,
                         periods_per_year=periods_per_year,
                         unit_name="users" if grain.startswith("user") else
                         "launched product(s)" if launch.shape == "global" else
                         f"{launch.unit}(s) launched to")
    impact = translate(primary, value_model=model, cost=yearly_cost,
                       upfront_cost=upfront_cost, criteria=decided_on, days_since_launch=days,
                       guardrails={m: e for m, e in guards.items()
                                   if m in decided_on.criteria.guardrails},
                       confidence=score, adoption=adoption)
    metric_levels = {m: level for level, m in chain.items()}
    casc = cascade({m: chain_est[m] for m in chain.values()}, levels=metric_levels,
                   baselines={m: b for m, b in baselines.items()
                              if m in metric_levels and b > 0})
    return LaunchAnalysis(
        launch=launch, outcome=outcome, design=design, grain=grain, primary=primary,
        impact=impact, cascade=casc, cascade_estimates=dict(chain_est), guardrails=dict(guards),
        triangulation=tri, scorecard=score, segments=segs, days_since_launch=days,
        data_window=(window[0].isoformat(), window[1].isoformat()), exposed=n_exposed,
        plan=status, diagnosis=diagnose(decided_on, {**chain_est, **planned}),
        adoption=adoption, baseline=baselines.get(outcome),
    )
