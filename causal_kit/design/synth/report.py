"""Assemble the tidy tables of a synthetic control result (``Estimate.details``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causal_kit.design.synth.checks import effective_donors
from causal_kit.design.synth.data import SynthData
from causal_kit.design.synth.engine import Result
from causal_kit.design.synth.inference import Draws

INFERENCE_NOTES = {
    "placebo": "Placebo-in-space: p_value is the rank of the treated post/pre RMSPE ratio among "
    "the placebo units' (exact with one treated unit: smallest attainable 1/(J+1)); se is the "
    "standard deviation of the placebo estimates and ci the normal interval with it.",
    "conformal": "Conformal inference (Chernozhukov, Wüthrich & Zhu 2021): per-period intervals "
    "by test inversion with refits under each null; the headline interval inverts the test of a "
    "constant effect over the post-launch window (moving-block permutations); se is the "
    "interval's half-width over the normal critical value.",
    "jackknife": "Jackknife variance with fixed weights (Arkhangelsky et al. 2021, Algorithm 3).",
    "bootstrap": "Unit bootstrap with re-estimated weights (Arkhangelsky et al. 2021, "
    "Algorithm 2).",
    "none": "No inference requested.",
}


def build_details(
    panel: SynthData,
    main: Result,
    donors: np.ndarray,
    groups: list[tuple[int, np.ndarray]],
    draws: Draws | None,
    time_draws: Draws | None,
    loo_rows: np.ndarray,
    loo_est: np.ndarray,
    conformal_info: dict[str, Any] | None,
    *,
    single: bool,
    inference: str,
) -> dict[str, Any]:
    """Return the ``details`` mapping of the estimate."""
    label = panel.time_label
    names = np.array([panel.unit_label(int(r)) for r in donors], dtype=object)
    weights, time_weights, cohorts, paths = [], [], [], []
    total = sum(c.unit_periods for c in main.cohorts)
    for c in main.cohorts:
        cl = label(c.start)
        weights.append(pd.DataFrame({"cohort": cl, "unit": names, "weight": c.fit.weights}))
        if c.fit.time_weights is not None:
            time_weights.append(pd.DataFrame({
                "cohort": cl,
                "period": [label(t) for t in range(c.start)],
                "weight": c.fit.time_weights,
            }))
        T = c.fit.gap.size
        treated = panel.Y[c.rows].mean(axis=0)[:T]
        paths.append(pd.DataFrame({
            "cohort": cl,
            "period": [label(t) for t in range(T)],
            "event_time": np.arange(T) - c.start,
            "treated": treated,
            "synthetic": c.fit.synthetic,
            "gap": c.fit.gap,
            "post": np.arange(T) >= c.start,
        }))
        cohorts.append({
            "cohort": cl,
            "n_units": c.n_units,
            "units": ", ".join(str(panel.unit_label(int(r))) for r in c.rows),
            "n_pre": c.start,
            "n_post": c.n_post,
            "weight": c.unit_periods / total,
            "att": c.fit.att,
            "pre_rmspe": c.fit.pre_rmspe,
            "post_rmspe": c.fit.post_rmspe,
            "effective_donors": effective_donors(c.fit.weights),
        })
    w = pd.concat(weights, ignore_index=True)
    w = w.sort_values(["cohort", "weight"], ascending=[True, False], kind="stable")
    details: dict[str, Any] = {
        "weights": w.reset_index(drop=True),
        "cohorts": pd.DataFrame(cohorts),
        "path": pd.concat(paths, ignore_index=True),
        "pre_rmspe": main.pre_rmspe,
        "post_rmspe": main.post_rmspe,
        "rmspe_ratio": main.ratio,
        "effective_donors": min(effective_donors(c.fit.weights) for c in main.cohorts),
        "n_donors": int(donors.size),
        "inference": INFERENCE_NOTES[inference],
    }
    if time_weights:
        details["time_weights"] = pd.concat(time_weights, ignore_index=True)
    extra = main.cohorts[0].fit.extra
    for key in ("ridge_penalty", "noise_level", "zeta_omega", "zeta_lambda"):
        if key in extra:
            details[key] = float(extra[key]) if len(main.cohorts) == 1 else {
                str(label(c.start)): float(c.fit.extra[key]) for c in main.cohorts
            }
    if "predictor_weights" in extra:
        details["predictor_weights"] = pd.concat([
            pd.DataFrame({"cohort": label(c.start), "predictor": c.fit.extra["predictor_names"],
                          "weight": c.fit.extra["predictor_weights"]})
            for c in main.cohorts
        ], ignore_index=True)
    if draws is not None:
        details[draws.kind] = _draw_table(draws, main)
        if draws.paths is not None:
            details[f"{draws.kind}_gaps"] = _gap_table(draws, main, panel, groups, single)
    if time_draws is not None:
        details["placebo_time"] = _draw_table(time_draws, None)
    if loo_rows.size:
        loo_w = {int(r): max(float(abs(c.fit.weights[list(donors).index(r)]))
                             for c in main.cohorts) for r in loo_rows}
        details["leave_one_out"] = pd.DataFrame({
            "unit": [panel.unit_label(int(r)) for r in loo_rows],
            "weight": [loo_w[int(r)] for r in loo_rows],
            "estimate": loo_est,
            "change": loo_est - main.att,
        })
    if conformal_info is not None:
        details["conformal"] = {
            "low": conformal_info["low"], "high": conformal_info["high"],
            "p_value": conformal_info["p_value"],
        }
    return details


def _draw_table(draws: Draws, main: Result | None) -> pd.DataFrame:
    table = pd.DataFrame({
        "draw": draws.labels,
        "estimate": draws.att,
        "pre_rmspe": draws.pre_rmspe,
        "post_rmspe": draws.post_rmspe,
        "rmspe_ratio": draws.ratio,
    })
    if main is not None and draws.kind == "placebo":
        table["exceeds_treated"] = draws.ratio >= main.ratio * (1 - 1e-12)
    return table


def _gap_table(
    draws: Draws, main: Result, panel: SynthData, groups: list[tuple[int, np.ndarray]],
    single: bool,
) -> pd.DataFrame:
    assert draws.paths is not None
    treated = main.gap_path(single)
    n = treated.size
    if single:
        terms = [panel.time_label(t) for t in range(n)]
        event = np.arange(n) - groups[0][0]
    else:
        lead = max(start for start, _ in groups)
        event = np.arange(n) - lead
        terms = list(event)
    labels = ["treated", *draws.labels]
    gaps = np.vstack([treated, draws.paths])
    return pd.DataFrame({
        "draw": np.repeat(labels, n),
        "is_treated": np.repeat([True] + [False] * len(draws.labels), n),
        "term": terms * len(labels),
        "event_time": np.tile(event, len(labels)),
        "gap": gaps.ravel(),
        "pre_rmspe": np.repeat(np.r_[main.pre_rmspe, draws.pre_rmspe], n),
    })
