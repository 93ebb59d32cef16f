"""Triangulation: run every design the launch's shape allows and compare their answers.

Which designs apply:

* **difference-in-differences** — a panel (unit × period) with a 0/1 treatment, treated units
  with a pre-period, and comparison units (never treated, or treated later);
* **synthetic control** — the same panel with at least two never-treated donor units and at least
  three pre-launch periods for every treated unit, to fit the pre-period;
* **regression discontinuity** — the launch was gated on a score: a running variable and a
  cutoff, with observations on both sides of it; for a launch to everyone, **RD in time** on the
  daily series (days just before the launch date against days just after);
* **randomized experiment** — the launch drew an arm per user (a holdout): both arms hold users;
* **interrupted time series** — one launch date and a series with at least two weekly cycles
  before it; not run when the launch left an untreated comparison group.

Each design that does not apply says why. The concordance table puts the estimates and intervals
side by side; the verdict is **agree** when every pair of intervals overlaps and the estimates
share a sign, **same direction, different size** when the signs agree but some intervals do not
overlap, **disagree** otherwise, and **single design** when only one ran. A regression
discontinuity estimates the effect at the cutoff and the panel designs the average effect on the
treated, so a gap between them can be real heterogeneity rather than a failed design.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitError, DataError, SpecificationError
from causal_kit.core.estimate import Estimate, json_safe
from causal_kit.core.frames import to_pandas
from causal_kit.core.launch import Launch
from causal_kit.core.options import TriangulationDesign, check_option
from causal_kit.core.panel import prepare_panel
from causal_kit.core.render import Rendered, ShowsSummary
from causal_kit.evidence._designs import NAMES, design_function
from causal_kit.evidence._eligibility import (
    experiment_eligible,
    its_eligible,
    no_untreated_reason,
    not_rolled_out_reason,
    rdd_in_time_eligible,
)

MIN_DONORS = 2
MIN_PRE_PERIODS_SC = 3
MIN_PER_SIDE_RD = 10


@dataclass(frozen=True)
class Triangulation(ShowsSummary):
    """Every eligible design's estimate, why the others were not run, and whether they agree.

    Attributes
    ----------
    eligibility
        One row per requested design: ``design``, ``name``, ``eligible``, ``ran``, ``reason``.
    estimates
        Design → :class:`Estimate`, for the designs that ran.
    concordance
        ``design``, ``method``, ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``agrees``.
    verdict
        ``"agree"``, ``"same direction, different size"``, ``"disagree"``, ``"single design"``
        or ``"no design"``.
    verdict_message
        The verdict in a sentence.
    """

    eligibility: pd.DataFrame
    estimates: Mapping[str, Estimate]
    concordance: pd.DataFrame
    verdict: str
    verdict_message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> Rendered:
        """Return the eligibility, the concordance table and the verdict as a printable view."""
        return Rendered(
            "Triangulation",
            [("Verdict", self.verdict), ("In words", self.verdict_message)],
            [("Concordance", self.concordance), ("Which designs apply", self.eligibility)],
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {
            "verdict": self.verdict,
            "verdict_message": self.verdict_message,
            "eligibility": json_safe(self.eligibility),
            "concordance": json_safe(self.concordance),
            "params": json_safe(dict(self.params)),
        }


def triangulate(
    data: Any = None,
    *,
    outcome: str,
    unit: str | None = None,
    time: str | None = None,
    treatment: str | None = None,
    users: Any = None,
    running: str | None = None,
    cutoff: float | None = None,
    rdd_outcome: str | None = None,
    launch: Launch | None = None,
    designs: Sequence[TriangulationDesign] = ("did", "sc", "rdd"),
    options: Mapping[str, Mapping[str, Any]] | None = None,
    level: float = 0.95,
    seed: int | None = None,
    series: Any = None,
    series_time: str | None = None,
    estimates: Mapping[str, Estimate] | None = None,
) -> Triangulation:
    """Run every design eligible for the launch's shape and compare the estimates.

    Parameters
    ----------
    data
        The ``unit × time`` panel for difference-in-differences and synthetic control.
    outcome
        The outcome column of the panel.
    unit, time, treatment
        The panel's columns (see :func:`causal_kit.did`).
    users
        Unit-level data for regression discontinuity (one row per user); the panel is used when
        omitted.
    running, cutoff
        The score and threshold of a score-gated launch.
    rdd_outcome
        Outcome column of ``users`` (default ``outcome``).
    launch
        The launch: when given, its ``unit`` fills ``unit=`` and its score gate
        (``{"column": ..., "cutoff": ...}``) fills ``running=`` and ``cutoff=`` when those are not
        passed.
    designs
        Which designs to consider: ``"did"``, ``"sc"``, ``"rdd"``, ``"experiment"`` (needs
        ``users`` and a launch with ``arms``), ``"its"`` (needs ``series``).
    options
        Extra arguments per design, e.g. ``{"did": {"method": "cs"}, "sc": {"method": "sdid"}}``.
    level
        Confidence level of every interval.
    seed
        Seed passed to every design.
    series, series_time
        A daily (or weekly) series with ``outcome`` and its date column, for the interrupted time
        series and, on a launch to everyone, RD in time.
    estimates
        Designs already run (design → estimate), e.g. the headline; used as they are.

    Returns
    -------
    Triangulation

    Raises
    ------
    SpecificationError
        An unknown design name, or options for a design not requested.
    """
    if launch is not None:
        if not isinstance(launch, Launch):
            raise SpecificationError(f"launch must be a Launch; got {type(launch).__name__}.")
        unit = unit if unit is not None else launch.unit
        gate = dict(launch.gate or {})
        running = running if running is not None else gate.get("column")
        cutoff = cutoff if cutoff is not None else gate.get("cutoff")
    chosen = [check_option("designs", d, TriangulationDesign) for d in designs]
    if not chosen:
        raise SpecificationError("designs is empty; pass e.g. designs=('did', 'sc', 'rdd').")
    opts = {k: dict(v) for k, v in (options or {}).items()}
    unknown = [k for k in opts if k not in chosen]
    if unknown:
        raise SpecificationError(
            f"options given for {unknown}, which are not in designs={chosen}."
        )
    common = {"level": level, "seed": seed}
    panel_args = {"outcome": outcome, "unit": unit, "time": time, "treatment": treatment}
    rows, done = [], dict(estimates or {})
    estimates = {}
    for name in chosen:
        if name in done:
            estimates[name] = done[name]
            rows.append({"design": name, "name": NAMES[name], "eligible": True, "ran": True,
                         "reason": "the headline design for this launch's shape."})
            continue
        global_launch = launch is not None and launch.shape == "global"
        if name == "rdd" and global_launch and running is None:
            ok, reason = rdd_in_time_eligible(series, series_time, launch, outcome)
            call_data = series
            args = {"outcome": outcome, "running": series_time,
                    "cutoff": launch.date if launch is not None else None}
        elif name == "rdd":
            ok, reason = _rdd_eligible(users if users is not None else data,
                                       rdd_outcome or outcome, running, cutoff)
            call_data = users if users is not None else data
            args = {"outcome": rdd_outcome or outcome, "running": running, "cutoff": cutoff}
        elif name == "experiment":
            ok, reason = experiment_eligible(users, launch, rdd_outcome or outcome)
            arms = dict(launch.arms or {}) if launch is not None else {}
            call_data = users
            args = {"outcome": rdd_outcome or outcome, "arm": arms.get("column"),
                    "treatment": arms.get("treatment"), "control": arms.get("control"),
                    "expected_split": arms.get("split")}
        elif name == "its":
            ok, reason = its_eligible(series, series_time, launch, outcome)
            call_data = series
            args = {"outcome": outcome, "time": series_time,
                    "launch_date": launch.date if launch is not None else None}
        elif global_launch and launch is not None:
            ok, reason, call_data, args = False, no_untreated_reason(launch), None, {}
        elif launch is not None and launch.shape == "holdout" and data is None:
            ok, reason, call_data, args = False, not_rolled_out_reason(launch), None, {}
        else:
            ok, reason = _panel_eligible(name, data, unit, time, treatment, outcome)
            call_data, args = data, dict(panel_args)
        ran = False
        if ok:
            try:
                fn = design_function(name)
                extra = {k: v for k, v in common.items() if not (name == "its" and v is None)}
                estimates[name] = fn(call_data, **args, **extra, **opts.get(name, {}))
                ran = True
            except CausalKitError as exc:
                reason = f"eligible, but the design stopped: {exc}"
        rows.append({"design": name, "name": NAMES[name], "eligible": ok, "ran": ran,
                     "reason": reason})
    concordance, verdict, message = _concordance(estimates)
    return Triangulation(
        eligibility=pd.DataFrame(rows, columns=["design", "name", "eligible", "ran", "reason"]),
        estimates=estimates,
        concordance=concordance,
        verdict=verdict,
        verdict_message=message,
        params={"outcome": outcome, "unit": unit, "time": time, "treatment": treatment,
                "running": running, "cutoff": cutoff, "designs": chosen, "level": level,
                "seed": seed, "options": opts},
    )


def _panel_eligible(
    name: str, data: Any, unit: str | None, time: str | None, treatment: str | None, outcome: str
) -> tuple[bool, str]:
    if data is None or unit is None or time is None or treatment is None:
        return False, "needs a panel with unit=, time= and treatment= columns; not given."
    try:
        panel = prepare_panel(data, outcome=outcome, unit=unit, time=time, treatment=treatment)
    except DataError as exc:
        return False, f"the panel does not support it: {exc}"
    g = panel.adoption.to_numpy()
    never = int(np.sum(~np.isfinite(g)))
    if name == "did":
        comparison = "never-treated" if never else "not-yet-treated"
        treated = panel.n_units - never
        return True, f"panel with {treated} treated and {comparison} comparison units."
    if never < MIN_DONORS:
        return False, (
            f"synthetic control needs at least {MIN_DONORS} never-treated donor {unit}s; the panel "
            f"has {never}."
        )
    first = panel.frame.groupby("unit")["t"].min().to_numpy()
    pre = (g - first)[np.isfinite(g)]
    if pre.min() < MIN_PRE_PERIODS_SC:
        return False, (
            f"synthetic control needs at least {MIN_PRE_PERIODS_SC} pre-launch periods per treated "
            f"{unit} to fit the pre-period; the shortest has {int(pre.min())}."
        )
    return True, f"{never} donor {unit}s and at least {int(pre.min())} pre-launch periods."


def _rdd_eligible(
    data: Any, outcome: str, running: str | None, cutoff: float | None
) -> tuple[bool, str]:
    if running is None or cutoff is None:
        return False, "the launch was not gated on a score: no running= and cutoff= given."
    if data is None:
        return False, "needs unit-level data (users=) with the score; not given."
    try:
        frame = to_pandas(data, [running, outcome], what="users")
    except DataError as exc:
        return False, str(exc)
    x = pd.to_numeric(frame[running], errors="coerce").to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    below, above = int(np.sum(x < cutoff)), int(np.sum(x >= cutoff))
    if min(below, above) < MIN_PER_SIDE_RD:
        return False, (
            f"needs at least {MIN_PER_SIDE_RD} observations on each side of the cutoff {cutoff:g}; "
            f"{running!r} has {below} below and {above} at or above."
        )
    return True, f"{below} observations below and {above} at or above the cutoff {cutoff:g}."


def _concordance(estimates: Mapping[str, Estimate]) -> tuple[pd.DataFrame, str, str]:
    cols = ["design", "method", "estimate", "ci_low", "ci_high", "p_value", "agrees"]
    if not estimates:
        return pd.DataFrame(columns=cols), "no design", "No design could run on this launch."
    first = next(iter(estimates.values())).outcome
    other = [n for n in estimates if estimates[n].outcome != first]
    if other:  # a design on another outcome (e.g. region-week revenue beside per-user revenue)
        table, verdict, message = _concordance(
            {n: e for n, e in estimates.items() if e.outcome == first})
        extra = pd.DataFrame({"design": other, "method": [estimates[n].method for n in other],
                              "estimate": [float(estimates[n].estimate) for n in other],
                              "ci_low": [min(estimates[n].ci) for n in other],
                              "ci_high": [max(estimates[n].ci) for n in other],
                              "p_value": [float(estimates[n].p_value) for n in other],
                              "agrees": [None] * len(other)}, columns=cols)
        table = pd.concat([table.astype({"agrees": object}), extra], ignore_index=True)
        note = " ".join(f"{NAMES[n]} measures {estimates[n].outcome!r}, not {first!r}, so it is "
                        "shown but not compared." for n in other)
        return table, verdict, f"{message} {note}"
    names = list(estimates)
    est = np.array([float(estimates[n].estimate) for n in names])
    lo = np.array([min(estimates[n].ci) for n in names], dtype=float)
    hi = np.array([max(estimates[n].ci) for n in names], dtype=float)
    overlap = (lo[:, None] <= hi[None, :]) & (lo[None, :] <= hi[:, None])
    majority = np.sign(np.median(est)) if np.median(est) != 0 else np.sign(est.sum())
    same_sign = np.sign(est) == majority
    agrees = overlap.all(axis=1) & same_sign
    table = pd.DataFrame(
        {
            "design": names,
            "method": [estimates[n].method for n in names],
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": [float(estimates[n].p_value) for n in names],
            "agrees": agrees if len(names) > 1 else [True],
        },
        columns=cols,
    )
    if len(names) == 1:
        return table, "single design", f"Only {NAMES[names[0]]} ran; nothing to compare it with."
    listed = ", ".join(
        f"{n} {e:.4g} [{a:.4g}, {b:.4g}]" for n, e, a, b in zip(names, est, lo, hi, strict=True)
    )
    caveat = (
        " Regression discontinuity measures the effect at the cutoff, the panel designs the "
        "average on the treated; some gap can be real."
        if "rdd" in names
        else ""
    )
    if overlap.all() and same_sign.all():
        return table, "agree", f"The designs agree: {listed}.{caveat}"
    if same_sign.all():
        return table, "same direction, different size", (
            f"The designs agree on the direction but not the size: {listed}.{caveat}"
        )
    return table, "disagree", f"The designs disagree: {listed}.{caveat}"
