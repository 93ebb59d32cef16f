"""The confidence scorecard: every design's checks rolled up into one grade with its reasons.

The rule (printed with every scorecard):

* a failed check costs what its ``kind`` says it means: 3 points when it tests an
  **identifying** assumption (parallel trends, no anticipation, manipulation of the running
  variable, pre-period fit, the first stage of a fuzzy discontinuity — a failure means the
  estimate itself may be wrong, so one is enough for a low grade), 1 point when it measures
  **robustness** (a breakdown value, a comparison with another estimator — a weak value lowers
  confidence but says no assumption failed);
* an estimate that ran no checks at all costs 1 point (nothing vouches for it);
* designs that disagree cost 2 points (1 when they agree on the direction but not the size);
* the headline design's strength: a randomized experiment ranks first (0 points), a
  quasi-experiment (difference-in-differences, synthetic control, regression discontinuity)
  second (0 points), a forecast-only interrupted time series last (2 points: with no untreated
  group it is at best medium); :attr:`Scorecard.rank` orders scorecards by grade, then design;
* grade: **high** with 0 points, **medium** with 1-2, **low** with 3 or more.

Every point comes with a reason in plain language, so a reader sees what lowered the grade.

Calibration (``benchmarks/bench_checks.py``; seeded DiD panels at the product's shape — 24
regions, 26 weeks, 12 never launched, cohorts of 3 — built with numpy, 200 panels per row):
with parallel trends and a clear effect (0.5 outcome SD) the grade is not "low" in the share
printed there (target at least 70%); with a linear divergence of 0.2 SD per week the pre-trend
check fails or the grade is "low" in the share printed there (target at least 70%). The
figures of the last run are in ``docs/checks.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Estimate, json_safe
from causal_kit.core.options import Grade
from causal_kit.core.render import Rendered, ShowsSummary

if TYPE_CHECKING:
    from causal_kit.evidence.triangulate import Triangulation

KEY_ASSUMPTION_CHECKS = (
    "pre_trend",
    "pretrend",
    "parallel",
    "anticipation",
    "density",
    "manipulation",
    "pre_fit",
    "prefit",
    "pre_period_fit",
    "first_stage",
)
IDENTIFYING_WEIGHT = 3
ROBUSTNESS_WEIGHT = 1
GRADE_RULE = (
    "3 points per failed identifying check (an assumption the estimate rests on: parallel "
    "trends, no anticipation, manipulation, pre-period fit, first stage), 1 point per weak "
    "robustness check (how large a violation the conclusion survives); 1 point for an "
    "estimate without checks; "
    "2 points when designs disagree (1 when only their sizes differ); 2 points for a "
    "forecast-only headline design (interrupted time series); high = 0 points, "
    "medium = 1-2, low = 3 or more"
)
#: Headline design → (strength: 2 randomized, 1 quasi-experimental, 0 forecast-only, points, why).
DESIGN_STRENGTH = {
    "experiment": (2, 0, "randomized experiment: the arms differ only by chance, so the "
                   "estimate rests on no untestable assumption beyond a clean randomization"),
    "its": (0, 2, "forecast-only design (interrupted time series): with no untreated group the "
            "counterfactual is a forecast from the pre-launch period, and anything else that "
            "changed on the launch date is counted as the launch's effect"),
}
QUASI = (1, 0, "quasi-experiment: the estimate rests on an identifying assumption the checks can "
         "test only in part (parallel trends, a good synthetic match, no manipulation at a cutoff)")
GRADE_ORDER = {"high": 2, "medium": 1, "low": 0}


@dataclass(frozen=True)
class Scorecard(ShowsSummary):
    """How much to trust the estimates, as one grade with the reasons that lowered it.

    Attributes
    ----------
    grade
        ``"high"``, ``"medium"`` or ``"low"``.
    points
        The points lost (see :data:`GRADE_RULE`).
    reasons
        One sentence per lost point source, in order of importance.
    checks
        Every check of every design: ``design``, ``check``, ``passed``, ``statistic``,
        ``p_value``, ``weight``, ``message``.
    """

    grade: Grade
    points: int
    reasons: tuple[str, ...]
    checks: pd.DataFrame
    design_strength: int = 1
    design_basis: str = QUASI[2]

    @property
    def rank(self) -> tuple[int, int, int]:
        """Sort key, higher = more trustworthy: grade, then design strength, then fewer points."""
        return (GRADE_ORDER[self.grade], self.design_strength, -self.points)

    @property
    def n_failed(self) -> int:
        """Number of failed checks."""
        return int((~self.checks["passed"].astype(bool)).sum()) if len(self.checks) else 0

    def summary(self) -> Rendered:
        """Return the grade, reasons and checks as a printable view."""
        n = len(self.checks)
        table = self.checks[["design", "check", "passed", "p_value", "message"]]
        return Rendered(
            f"Confidence: {self.grade.upper()}",
            [
                ("Grade", self.grade),
                ("Checks passed", f"{n - self.n_failed} of {n}"),
                ("Points lost", str(self.points)),
                ("Design", self.design_basis),
                ("Rule", GRADE_RULE),
            ],
            [("Checks", table)],
            list(self.reasons) or ["Nothing lowered the grade."],
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {
            "grade": self.grade,
            "points": self.points,
            "reasons": list(self.reasons),
            "rule": GRADE_RULE,
            "design_strength": self.design_strength,
            "design_basis": self.design_basis,
            "n_checks": len(self.checks),
            "n_failed": self.n_failed,
            "checks": json_safe(self.checks),
        }


def _is_key(name: str) -> bool:
    low = name.lower()
    return any(k in low for k in KEY_ASSUMPTION_CHECKS)


def _weight(check: Any) -> int:
    """Points a failed check costs, by its ``kind``.

    ``kind`` defaults to ``"identifying"``, so a check counts as identifying only when its
    name also says it tests an assumption (:data:`KEY_ASSUMPTION_CHECKS`); any other check
    weighs as robustness.
    """
    identifying = getattr(check, "kind", "identifying") == "identifying" and _is_key(check.name)
    return IDENTIFYING_WEIGHT if identifying else ROBUSTNESS_WEIGHT


def _collect(results: Any) -> tuple[dict[str, Estimate], Triangulation | None]:
    from causal_kit.evidence.triangulate import Triangulation

    if isinstance(results, Triangulation):
        return dict(results.estimates), results
    if isinstance(results, Estimate):
        return {results.method: results}, None
    if isinstance(results, Mapping):
        items = list(results.items())
    elif isinstance(results, Sequence) and not isinstance(results, str):
        items = [
            (e.method if isinstance(e, Estimate) else str(i), e) for i, e in enumerate(results)
        ]
    else:
        raise SpecificationError(
            "scorecard needs an Estimate, a list or dict of Estimates, or a Triangulation; got "
            f"{type(results).__name__}."
        )
    out: dict[str, Estimate] = {}
    for name, est in items:
        if not isinstance(est, Estimate):
            raise SpecificationError(
                f"scorecard entry {name!r} is a {type(est).__name__}, not an Estimate."
            )
        key, k = str(name), 2
        while key in out:
            key, k = f"{name} ({k})", k + 1
        out[key] = est
    return out, None


def scorecard(results: Any, *, triangulation: Triangulation | None = None,
              primary: Estimate | None = None) -> Scorecard:
    """Roll the checks of every design that ran up into one confidence grade.

    Parameters
    ----------
    results
        An :class:`~causal_kit.Estimate`, a list or dict of them (name → estimate), or a
        :class:`~causal_kit.evidence.triangulate.Triangulation` (its estimates and verdict).
    triangulation
        A triangulation whose agreement verdict should count (when ``results`` is not one).
    primary
        The headline estimate whose design sets the design term (default: the first estimate).

    Returns
    -------
    Scorecard
    """
    estimates, tri = _collect(results)
    tri = tri if triangulation is None else triangulation
    if not estimates:
        raise SpecificationError("scorecard needs at least one estimate; none ran.")
    rows = []
    reasons: list[tuple[int, str]] = []
    points = 0
    for design, est in estimates.items():
        if not est.checks:
            points += 1
            reasons.append(
                (1, f"{design}: no diagnostics ran, so nothing vouches for its assumptions.")
            )
        for c in est.checks:
            weight = _weight(c)
            rows.append(
                {
                    "design": design,
                    "check": c.name,
                    "passed": bool(c.passed),
                    "statistic": c.statistic,
                    "p_value": c.p_value,
                    "kind": "identifying" if weight == IDENTIFYING_WEIGHT else "robustness",
                    "weight": weight,
                    "message": c.message,
                }
            )
            if not c.passed:
                points += weight
                kind = (
                    "identifying assumption" if weight == IDENTIFYING_WEIGHT else "robustness check"
                )
                reasons.append((weight, f"{design}: {kind} '{c.name}' failed — {c.message}"))
    if tri is not None and tri.verdict in ("disagree", "same direction, different size"):
        cost = 2 if tri.verdict == "disagree" else 1
        points += cost
        reasons.append((cost, f"designs: {tri.verdict_message}"))
    strength, cost, basis = _design_term(primary or next(iter(estimates.values())))
    if cost:
        points += cost
        reasons.append((cost, f"design: {basis}."))
    grade: Grade = "high" if points == 0 else ("medium" if points <= 2 else "low")
    reasons.sort(key=lambda r: -r[0])
    columns = ["design", "check", "passed", "statistic", "p_value", "kind", "weight", "message"]
    return Scorecard(
        grade=grade,
        points=points,
        reasons=tuple(r for _, r in reasons),
        checks=pd.DataFrame(rows, columns=columns),
        design_strength=strength,
        design_basis=basis,
    )


def _design_term(est: Estimate) -> tuple[int, int, str]:
    """Return the headline design's strength, points and sentence (:data:`DESIGN_STRENGTH`)."""
    family = est.method.split(":", 1)[0]
    return DESIGN_STRENGTH.get(family, QUASI)
