"""Goodman-Bacon (2021) decomposition of the static TWFE coefficient under staggered adoption.

On a balanced panel, TWFE is a weighted average of every 2×2 DiD between timing groups:
treated vs never treated, earlier- vs later-treated (before the later group starts: clean), and
later- vs earlier-treated (after the earlier group started: the already-treated act as
controls — a *forbidden* comparison that biases TWFE when effects change over time). Weights
follow the paper's Theorem 1 (group sizes × variance of treatment within each pair).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_kit.core.estimate import Check
from causal_kit.design.did._data import DidData

FORBIDDEN = "later vs earlier treated"


def bacon_decomposition(data: DidData) -> pd.DataFrame | None:
    """Return the 2×2 comparisons, estimates and weights, or ``None`` if not a balanced panel.

    Columns: ``comparison``, ``treated``, ``control`` (cohort labels or ``"never"``),
    ``estimate``, ``weight`` (summing to one).
    """
    if data.kind != "panel" or not data.balanced:
        return None
    T = data.n_periods
    unit_g = data.unit_g
    groups = np.unique(unit_g)  # cohorts ascending, inf (never) last
    code = np.searchsorted(groups, unit_g)
    n_g = np.bincount(code, minlength=len(groups)).astype(float)
    share = n_g / n_g.sum()
    wide = data.y.reshape(len(unit_g), T)  # balanced panels are stored unit-major
    sums = np.column_stack(
        [np.bincount(code, weights=wide[:, p], minlength=len(groups)) for p in range(T)]
    )
    means = sums / n_g[:, None]
    dbar = np.where(np.isfinite(groups), (T - np.minimum(groups, T)) / T, 0.0)
    rows: list[tuple[str, float, float, float, float]] = []

    def did(treat: int, ctrl: int, lo: int, hi: int, start: int) -> float:
        pre, post = slice(lo, start), slice(start, hi)
        return float(
            (means[treat, post].mean() - means[treat, pre].mean())
            - (means[ctrl, post].mean() - means[ctrl, pre].mean())
        )

    never = np.isinf(groups)
    treated_idx = np.flatnonzero(~never)
    for k in map(int, treated_idx):
        gk = int(groups[k])
        for u in map(int, np.flatnonzero(never)):
            nk = share[k] / (share[k] + share[u])
            w = (share[k] + share[u]) ** 2 * nk * (1 - nk) * dbar[k] * (1 - dbar[k])
            rows.append(("treated vs never treated", groups[k], groups[u], did(k, u, 0, T, gk), w))
        for m in map(int, treated_idx[treated_idx > k]):
            gm = int(groups[m])
            nkl = share[k] / (share[k] + share[m])
            base = (share[k] + share[m]) ** 2 * nkl * (1 - nkl)
            w_early = (
                base
                * (1 - dbar[m]) ** 2
                * ((dbar[k] - dbar[m]) / (1 - dbar[m]))
                * ((1 - dbar[k]) / (1 - dbar[m]))
            )
            rows.append(
                ("earlier vs later treated", groups[k], groups[m], did(k, m, 0, gm, gk), w_early)
            )
            w_late = base * dbar[k] ** 2 * (dbar[m] / dbar[k]) * ((dbar[k] - dbar[m]) / dbar[k])
            rows.append((FORBIDDEN, groups[m], groups[k], did(m, k, gk, T, gm), w_late))
    table = pd.DataFrame(rows, columns=["comparison", "treated", "control", "estimate", "weight"])
    table["weight"] = table["weight"] / table["weight"].sum()
    table["treated"] = [data.time_label(g) for g in table["treated"]]
    table["control"] = [
        "never" if not np.isfinite(c) else data.time_label(c) for c in table["control"]
    ]
    return table


def bacon_check(table: pd.DataFrame | None, twfe: float, robust: float, robust_se: float) -> Check:
    """Build the ``"bacon"`` :class:`Check`: how much TWFE weight falls on forbidden comparisons.

    A robustness check: it compares the robust estimate with TWFE and tests no assumption of
    the robust design.
    """
    if table is None:
        return Check(
            name="bacon",
            passed=True,
            kind="robustness",
            message=(
                "Goodman-Bacon decomposition not computed: it needs a balanced panel. "
                f"TWFE gives {twfe:.4g} against {robust:.4g} for the heterogeneity-robust estimate."
            ),
        )
    share = float(table.loc[table["comparison"] == FORBIDDEN, "weight"].sum())
    bias = twfe - robust
    big = abs(bias) > 2 * robust_se if np.isfinite(robust_se) else False
    passed = share < 0.1 and not big
    verdict = (
        "TWFE and the robust estimate agree"
        if not big
        else "TWFE differs from the robust estimate by more than two standard errors — do not "
        "report TWFE"
    )
    return Check(
        name="bacon",
        passed=bool(passed),
        kind="robustness",
        statistic=share,
        message=(
            f"Static TWFE puts {share:.0%} of its weight on forbidden comparisons (already-treated "
            f"units as controls). TWFE = {twfe:.4g} vs robust {robust:.4g} "
            f"(difference {bias:+.3g}): {verdict}."
        ),
    )
