"""The evidence a report adds to its headline: refutations, mediation, who gains, per adopter.

:func:`analyze_launch` calls :func:`panel_evidence` on a rollout's panel and
:func:`user_evidence` on a holdout's (or a score gate's) per-user outcomes. Each piece runs only
where the launch's data allow it; otherwise it is left out with a one-line reason, which the
analysis keeps in its notes. A piece that fails on the data is also left out with its reason:
the report never dies for the evidence.

Cost is kept to a few seconds per launch: the DoWhy refuters run ``N_SIMULATIONS`` simulations
and the mediation bootstrap ``N_BOOT`` draws; the refuters and the EconML fits (heterogeneity,
per adopter) use a seeded subsample of at most ``MAX_USERS`` users. On the demo holdout (13,428
users, all kept) the evidence adds about 1 s to :func:`analyze_launch` once DoWhy and EconML are
imported (refuters 1 s, mediation 0.2 s, heterogeneity 0.1 s, per adopter 0.2 s); the first
call in a fresh process also pays their import, about 5-8 s on a loaded 2-core machine. A
rollout's refutations refit its design once per placebo unit and per treated unit: about 2.5 s
on the demo's 24 regions. A 3,000-user subsample was tried first and left the group effects'
intervals three times wider for a saving of under a second, hence the larger cap.

The KPI-change attribution of a holdout compares its two arms over the same window (the arm kept
off the launch stands in for "before": same weeks, same kind of users, so the user mix should
contribute little), with the means of each mix of mechanisms in closed form
(:func:`causal_kit.evidence.attribution.attribute_change`, ``method="exact"``): about 0.6-0.9 s
on the demo holdout's 13,428 users (each arm capped at ``ATTRIBUTION_USERS``), deterministic, and
the contributions add up to the difference. DoWhy's sampled estimate was tried first: 0.7 s at
20,000 draws per mix, but its contributions moved by 0.3-0.5 between seeds (1 at 2,000 draws) on
the demo's revenue difference of 2.9. The 25 s measured earlier was mostly DoWhy starting
worker processes for the Shapley evaluation (13 s on the first call here); it now runs in
process.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitError, CausalKitWarning

N_SIMULATIONS = 5
N_BOOT = 50
MAX_USERS = 20_000
#: Metric → cascade level of the per-user outcomes of a holdout or a score gate.
USER_LEVELS = {"task_successes_30d": "task", "retained_d30": "engagement",
               "revenue_30d": "business"}  # fmt: skip


@dataclass(frozen=True)
class Evidence:
    """The evidence computed for one launch, and why the rest was left out.

    Attributes
    ----------
    refutations
        :class:`causal_kit.evidence.refute.Refutations`, or ``None``.
    mediation
        :class:`causal_kit.evidence.mediation.Mediation`, or ``None``.
    attribution
        KPI-change attribution, or ``None`` (see ``notes``).
    heterogeneity
        :class:`causal_kit.evidence.heterogeneity.Heterogeneity`, or ``None``.
    per_adopter
        :class:`causal_kit.evidence.adoption.AdoptionEffect`, or ``None``.
    notes
        One line per piece left out, saying why.
    """

    refutations: Any = None
    mediation: Any = None
    attribution: Any = None
    heterogeneity: Any = None
    per_adopter: Any = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _attempt(name: str, notes: list[str], run: Any) -> Any:
    """Run one piece; on a data or specification problem keep the reason and return ``None``.

    The piece's own warnings (e.g. a weak first stage) are kept in ``notes``; the libraries'
    are silenced.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", CausalKitWarning)
            result = run()
        notes.extend(f"{name}: {w.message}" for w in caught
                     if issubclass(w.category, CausalKitWarning))  # fmt: skip
        return result
    except (CausalKitError, ValueError, np.linalg.LinAlgError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        notes.append(f"{name} skipped: {first}")
        return None


ATTRIBUTION_NOTE = ("attribution skipped: KPI-change attribution compares the users the launch "
                    "reached with users it did not over the same window (a holdout's arms); "
                    "this launch has none in the report — run "
                    "causal_kit.evidence.attribution.attribute_change on the launched users "
                    "before and after the launch.")  # fmt: skip
#: Users per arm kept for the KPI-change attribution (seeded subsample beyond it).
ATTRIBUTION_USERS = 50_000


def panel_evidence(panel: pd.DataFrame, *, outcome: str, unit: str, time: str, design: str,
                   options: Mapping[str, Any] | None = None, level: float = 0.95) -> Evidence:
    """Return the design-native refutations of a rollout's headline (see the module notes).

    Parameters
    ----------
    panel
        The launch's long panel with the 0/1 ``treated`` column. Not modified.
    outcome, unit, time
        Columns of the headline.
    design
        ``"did"`` or ``"sc"``.
    options
        Options of the design's front door (e.g. the synthetic-control variant).
    level
        Interval level.
    """
    from causal_kit.evidence.refute import refute_panel

    notes: list[str] = []
    ref = _attempt("refutations", notes, lambda: refute_panel(
        panel, outcome=outcome, unit=unit, time=time, treatment="treated",
        design=design,  # type: ignore[arg-type]
        level=level, **dict(options or {})))
    notes.append("per-adopter effect skipped: a regional rollout has no per-user arm to "
                 "compare users within, so its exposure is no instrument for adoption.")
    return Evidence(refutations=ref, notes=tuple(notes))


def rollout_change(before: pd.DataFrame, after: pd.DataFrame, *, unit: str,
                   launched: Collection[str], last_cohort: Collection[str],
                   segment: str | None = "segment", covariates: tuple[str, ...] = (),
                   level: float = 0.95, seed: int = 0) -> tuple[dict[str, Any], list[str]]:
    """Return a rollout's KPI-change attribution and who gains, from its users' 30-day windows.

    * **Attribution** — the change of 30-day revenue in the units launched on the last date,
      from the 30 days before that date to the 30 days after it, split into the cascade's
      mechanisms and the change in who the users are
      (:func:`causal_kit.evidence.attribution.attribute_change`).
    * **Who gains** — conditional effects by segment and pre-launch activity on the change in
      each user's 30-day revenue from before to after, launched units against the others
      (``design="rollout"``: the rollout's parallel trends, conditional on those features),
      with intervals that resample units.

    Parameters
    ----------
    before, after
        Per-user 30-day outcomes over the 30 days before and after the last launch date, with
        the ``unit`` column.
    unit
        The column of the unit launched to.
    launched, last_cohort
        Every unit launched to by the last date, and those launched on it.
    segment, covariates, level, seed
        The segment column, pre-launch covariates, interval level and seed.

    Returns
    -------
    tuple
        ``{"attribution": ..., "heterogeneity": ...}`` (``None`` where not computed) and notes.
    """
    need = ("tasks_30d", "task_success_rate_30d", "retained_d30", "revenue_30d", unit)
    missing = [c for c in need if c not in before or c not in after]
    if missing:
        return {}, [f"attribution and heterogeneity skipped: the user outcomes lack {missing}."]
    notes: list[str] = []
    out: dict[str, Any] = {}
    covs = _usable(after, covariates)
    cohort = {str(u) for u in last_cohort}
    before_cohort, after_cohort = (x[x[unit].astype(str).isin(cohort)] for x in (before, after))
    out["attribution"] = _attribute(
        before_cohort, after_cohort, "revenue_30d", covs, seed, notes,
        labels=("the 30 days before the last launch date", "the 30 days after it"))
    pre = before[["user_id", "revenue_30d"]].rename(columns={"revenue_30d": "_pre_revenue_30d"})
    users = after.merge(pre, on="user_id", how="inner", validate="1:1")
    users["_treated"] = users[unit].astype(str).isin({str(u) for u in launched}).astype(np.int64)
    seg = [segment] if segment and segment in users else []
    features = [*seg, *[c for c in ("pre_active_days",) if c in covs]]
    if users["_treated"].nunique() < 2 or not features:
        notes.append("heterogeneity skipped: no unit left unlaunched, or no feature to split by.")
        return out, notes
    from causal_kit.evidence.heterogeneity import heterogeneity

    small = _capped(users, MAX_USERS, seed)
    out["heterogeneity"] = _attempt("heterogeneity", notes, lambda: heterogeneity(
        small, outcome="revenue_30d", treatment="_treated", features=features,
        design="rollout", pre_outcome="_pre_revenue_30d", cluster=unit, level=level,
        seed=seed))
    return out, notes


def rollout_mediation(frame: pd.DataFrame, *, exposed: pd.Series, unit: str,
                      covariates: tuple[str, ...] = (), level: float = 0.95,
                      seed: int = 0) -> tuple[Any, list[str]]:
    """Return the mediation of a rollout's users over 30 days from its last launch date.

    Users of every launched unit (all on v2 through the window) are compared with users of the
    units never launched to, adjusting for their pre-launch revenue and activity; the bootstrap
    resamples whole units, since exposure was assigned by unit. Assumes that, given those, the
    launched units' users would have behaved like the others (the rollout's parallel-trends
    assumption, at the user level).

    Parameters
    ----------
    frame
        Per-user 30-day outcomes from the last launch date (:func:`causal_kit.user_outcomes`).
    exposed
        Whether each user's unit was launched to.
    unit
        The column of the unit launched to (the bootstrap's cluster).
    covariates
        Pre-launch user attributes.
    level, seed
        Interval level and bootstrap seed.

    Returns
    -------
    tuple
        The :class:`~causal_kit.evidence.mediation.Mediation` (or ``None``) and notes.
    """
    users = frame.assign(_treated=np.asarray(exposed, dtype=np.int64))
    if users["_treated"].nunique() < 2:
        return None, ["mediation skipped: every unit was launched to, so no user is left to "
                      "compare with."]
    notes: list[str] = []
    found = _mediation(_capped(users, MAX_USERS, seed), _usable(users, covariates), level, seed,
                       notes, cluster=unit)
    return found, notes


def user_evidence(frame: pd.DataFrame, *, outcome: str, treated: pd.Series,
                  design: str = "holdout", covariates: tuple[str, ...] = (),
                  segment: str | None = "segment", running: str | None = None,
                  cutoff: float | None = None, bandwidth: float | None = None,
                  level: float = 0.95,
                  seed: int = 0) -> Evidence:
    """Return the user-level evidence of a holdout or a score gate (see the module notes).

    Parameters
    ----------
    frame
        Per-user outcomes (:func:`causal_kit.metrics.user_outcomes`). Not modified.
    outcome
        The headline metric.
    treated
        0/1 (or boolean) per row of ``frame``: the launch reached the user.
    design
        ``"holdout"`` or ``"score_gate"``.
    covariates
        Pre-period numeric columns adjusted for (e.g. ``pre_revenue``).
    segment
        Categorical feature column for who gains (skipped when absent).
    running, cutoff, bandwidth
        Score gate: the score column, its cutoff and the half-width kept around it (the
        headline's bandwidth).
    level, seed
        Interval level; seed of every draw.
    """
    notes: list[str] = []
    users = frame.copy()
    users["_treated"] = np.asarray(treated, dtype=np.int64)
    covs = _usable(users, covariates)
    small = _capped(users, MAX_USERS, seed)
    out: dict[str, Any] = {}
    if outcome in users and users[outcome].notna().all():
        from causal_kit.evidence.refute import refute

        out["refutations"] = _attempt("refutations", notes, lambda: refute(
            small, outcome=outcome, treatment="_treated", covariates=covs,
            n_simulations=N_SIMULATIONS, level=level, seed=seed))
    else:
        notes.append(f"refutations skipped: outcome {outcome!r} is missing for some users.")
    if design == "holdout":
        out["mediation"] = _mediation(users, covs, level, seed, notes)
        out["attribution"] = _attribution(users, outcome, covs, seed, notes)
    else:
        notes.append("mediation skipped: above a score gate exposure is not randomized, so the "
                     "mediator paths are not identified.")
        notes.append("attribution skipped: above a score gate the users differ from those below "
                     "by their score, so their difference is no change the launch made.")
    seg = [segment] if segment and segment in users else []
    features = [*seg, *[c for c in ("pre_active_days",) if c in covs]]
    if features and outcome in users:
        from causal_kit.evidence.heterogeneity import heterogeneity

        gated = design == "score_gate"
        out["heterogeneity"] = _attempt("heterogeneity", notes, lambda: heterogeneity(
            small.dropna(subset=[outcome]), outcome=outcome, treatment="_treated",
            features=features, design=design,  # type: ignore[arg-type]
            running=running if gated else None, cutoff=cutoff if gated else None,
            bandwidth=bandwidth if gated else None, level=level, seed=seed))
    else:
        notes.append("heterogeneity skipped: no segment or pre-period activity to split by.")
    if design != "holdout":
        notes.append("per-adopter effect skipped: above a score gate the exposure is not "
                     "randomized, so it is no instrument for adoption.")
    elif "tasks_30d" in users:
        from causal_kit.evidence.adoption import adoption_effect

        small = small.assign(_adopted=((small["_treated"] == 1)
                                       & (small["tasks_30d"] > 0)).astype(np.int64))
        out["per_adopter"] = _attempt("per-adopter effect", notes, lambda: adoption_effect(
            small, outcome=outcome, exposure="_treated", adopted="_adopted", covariates=covs,
            level=level, seed=seed))
    else:
        notes.append("per-adopter effect skipped: no usage signal (tasks) among the exposed "
                     "users to tell adopters from the rest.")
    return Evidence(**out, notes=tuple(notes))


def _successes(users: pd.DataFrame) -> pd.DataFrame:
    """Add successful tasks per user: 0 for a user without tasks (the rate alone is undefined)."""
    return users.assign(task_successes_30d=(users["tasks_30d"]
                                            * users["task_success_rate_30d"].fillna(0.0)))


def _attribution(users: pd.DataFrame, outcome: str, covs: list[str], seed: int,
                 notes: list[str]) -> Any:
    """Split the arms' difference in the business metric into cascade mechanisms and user mix."""
    if outcome != "revenue_30d":
        notes.append(f"attribution skipped: the cascade's business metric is revenue_30d, not "
                     f"{outcome!r}.")
        return None
    return _attribute(users[users["_treated"] == 0], users[users["_treated"] == 1], outcome,
                      covs, seed, notes, labels=("the arm kept off the launch", "the launched arm"),
                      exposure="_treated")


def _attribute(before: pd.DataFrame, after: pd.DataFrame, outcome: str, covs: list[str],
               seed: int, notes: list[str], *, labels: tuple[str, str],
               exposure: str | None = None) -> Any:
    """Attribute the change of ``outcome`` from ``before`` to ``after`` (each capped, seeded)."""
    need = ("tasks_30d", "task_success_rate_30d", "retained_d30", outcome)
    missing = [c for c in need if c not in before or c not in after]
    if missing:
        notes.append(f"attribution skipped: the user outcomes lack {missing}.")
        return None
    from causal_kit.evidence.attribution import attribute_change
    from causal_kit.evidence.graph import cascade_graph

    pair = [_capped(_successes(x), ATTRIBUTION_USERS, seed) for x in (before, after)]
    graph = cascade_graph("launch", list(USER_LEVELS), covariates=covs, levels=USER_LEVELS,
                          **({"exposure": exposure} if exposure else {}))  # fmt: skip
    return _attempt("attribution", notes, lambda: attribute_change(
        pair[0], pair[1], graph, target=outcome, seed=seed, labels=labels))


def _usable(frame: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    """Return the covariates present in ``frame``, complete and not constant."""
    return [c for c in covariates
            if c in frame and frame[c].notna().all() and frame[c].std() > 0]  # fmt: skip


def _capped(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Return ``frame``, or a seeded sample of ``n`` of its rows when it has more."""
    return frame.sample(n, random_state=seed) if len(frame) > n else frame


def _mediation(users: pd.DataFrame, covs: list[str], level: float, seed: int,
               notes: list[str], cluster: str | None = None) -> Any:
    need = ("tasks_30d", "task_success_rate_30d", "retained_d30", "revenue_30d")
    missing = [c for c in need if c not in users]
    if missing:
        notes.append(f"mediation skipped: the user outcomes lack {missing}.")
        return None
    from causal_kit.evidence.mediation import mediation

    data = _successes(users)
    return _attempt("mediation", notes, lambda: mediation(
        data, exposure="_treated", metrics=list(USER_LEVELS), covariates=covs,
        levels=USER_LEVELS, cluster=cluster, n_boot=N_BOOT, level=level, seed=seed))
