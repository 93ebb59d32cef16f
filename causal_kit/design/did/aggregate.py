"""Aggregate ATT(g,t) into the simple, event-time, cohort and calendar summaries of R's ``aggte``.

Every aggregate is a *target*: weights over the cells plus, when its weights are estimated cohort
shares ``P(G = g)``, R's ``wif`` term, which depends on a unit only through its cohort. Targets
are evaluated by the influence-function store of the cells (dense or moments), so aggregating
never builds a ``units × cells`` temporary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causal_kit.design.did.cs import GroupTime


@dataclass(frozen=True)
class Family:
    """One aggregation: per-term effects and their targets, and the overall average."""

    name: str
    terms: np.ndarray
    att: np.ndarray
    W: np.ndarray  # cells × terms
    wif: np.ndarray  # groups × terms
    overall: float
    overall_w: np.ndarray  # cells
    overall_wif: np.ndarray  # groups

    def se(self, gt: GroupTime) -> np.ndarray:
        """Analytic standard errors of the terms."""
        return _se(gt, self.W, self.wif)


@dataclass(frozen=True)
class Aggregates:
    """The four aggregations of one set of ATT(g,t)."""

    simple: float
    simple_w: np.ndarray
    simple_wif: np.ndarray
    dynamic: Family
    group: Family
    calendar: Family

    def heads(self) -> tuple[np.ndarray, np.ndarray]:
        """Targets of the four overall numbers: simple, dynamic, group, calendar."""
        W = np.column_stack(
            [self.simple_w, self.dynamic.overall_w, self.group.overall_w, self.calendar.overall_w]
        )
        wif = np.column_stack(
            [
                self.simple_wif,
                self.dynamic.overall_wif,
                self.group.overall_wif,
                self.calendar.overall_wif,
            ]
        )
        return W, wif


def _se(gt: GroupTime, W: np.ndarray, wif: np.ndarray) -> np.ndarray:
    from causal_kit.design.did.inference import SE_FLOOR

    if W.shape[1] == 0:
        return np.zeros(0)
    se = np.sqrt(np.clip(np.diag(gt.store.cov(W, wif)), 0, None))
    return np.where(se <= SE_FLOOR, np.nan, se)


class _Weights:
    """Cohort shares of the cells' cohorts and the influence of estimating them."""

    def __init__(self, gt: GroupTime) -> None:
        self.cohorts = np.unique(gt.group)
        self.n_groups = len(gt.groups)
        pos = np.searchsorted(gt.groups, self.cohorts)
        self.pg = gt.counts[pos] / gt.n
        # code of each group (unit cohort) among the cells' cohorts; "other" = len(cohorts)
        code = np.full(self.n_groups, len(self.cohorts))
        code[pos] = np.arange(len(self.cohorts))
        self.group_code = code
        self.cell_code = np.searchsorted(self.cohorts, gt.group)

    def cell_pg(self) -> np.ndarray:
        return self.pg[self.cell_code]

    def wif(self, codes: np.ndarray, att: np.ndarray) -> np.ndarray:
        """Per-group value of ``wif @ att`` for kept entries of cohorts ``codes``."""
        pg = self.pg[codes]
        total = pg.sum()
        per = np.zeros(len(self.cohorts) + 1)
        np.add.at(per, codes, att)
        first = per / total - float(pg @ att) / total
        cnt = np.bincount(codes, minlength=len(self.cohorts) + 1).astype(float)
        second = (cnt - float(pg.sum())) * float(pg @ att) / total**2
        return (first - second)[self.group_code]


def _target(
    gt: GroupTime, keep: np.ndarray, w: np.ndarray, wts: _Weights | None
) -> tuple[float, np.ndarray, np.ndarray]:
    idx = np.flatnonzero(keep)
    att = gt.att[idx]
    W = np.zeros(len(gt.att))
    W[idx] = w
    wif = np.zeros(len(gt.groups)) if wts is None else wts.wif(wts.cell_code[idx], att)
    return float(att @ w), W, wif


def _family(
    name: str,
    terms: np.ndarray,
    parts: list[tuple[float, np.ndarray, np.ndarray]],
    overall: tuple[float, np.ndarray, np.ndarray],
    n_cells: int,
    n_groups: int,
) -> Family:
    att = np.array([p[0] for p in parts])
    W = np.column_stack([p[1] for p in parts]) if parts else np.zeros((n_cells, 0))
    wif = np.column_stack([p[2] for p in parts]) if parts else np.zeros((n_groups, 0))
    return Family(name, terms, att, W, wif, overall[0], overall[1], overall[2])


def aggregate(
    gt: GroupTime,
    *,
    min_e: int | None = None,
    max_e: int | None = None,
    balance_e: int | None = None,
) -> Aggregates:
    """Compute the simple, dynamic, group and calendar aggregations.

    Parameters
    ----------
    gt
        Estimated ATT(g,t).
    min_e, max_e
        Event-time window of the dynamic aggregation.
    balance_e
        Keep in the dynamic aggregation only cohorts observed at least ``balance_e`` periods
        after launch (event times limited accordingly).
    """
    wts = _Weights(gt)
    g, t = gt.group, gt.time
    e = t - g
    post = g <= t
    pg = wts.cell_pg()
    n_cells, n_groups = len(g), len(gt.groups)
    simple = _target(gt, post, pg[post] / pg[post].sum(), wts)

    # dynamic (event study)
    balanced = np.ones(len(g), dtype=bool)
    terms = np.unique(e)
    if balance_e is not None:
        t_max, t_min = t.max(), t.min()
        balanced = (t_max - g) >= balance_e
        terms = np.unique(e[balanced])
        terms = terms[(terms >= balance_e - t_max + t_min) & (terms <= balance_e)]
    if min_e is not None:
        terms = terms[terms >= min_e]
    if max_e is not None:
        terms = terms[terms <= max_e]
    parts = []
    for term in terms:
        keep = (e == term) & balanced
        parts.append(_target(gt, keep, pg[keep] / pg[keep].sum(), wts))
    pos = terms >= 0
    if pos.any():
        sel = [p for p, ok in zip(parts, pos, strict=True) if ok]
        overall = (
            float(np.mean([p[0] for p in sel])),
            np.mean([p[1] for p in sel], axis=0),
            np.mean([p[2] for p in sel], axis=0),
        )
    else:
        overall = (float("nan"), np.zeros(n_cells), np.zeros(n_groups))
    dynamic = _family("dynamic", terms.astype(int), parts, overall, n_cells, n_groups)

    # group (cohort): equal weights within a cohort, cohort shares across cohorts
    g_parts, ok = [], []
    for cohort in wts.cohorts:
        keep = (g == cohort) & post
        ok.append(bool(keep.any()))
        if keep.any():
            g_parts.append(_target(gt, keep, np.full(int(keep.sum()), 1.0 / keep.sum()), None))
        else:
            g_parts.append((float("nan"), np.zeros(n_cells), np.zeros(n_groups)))
    ok_a = np.array(ok)
    g_att = np.array([p[0] for p in g_parts])
    wg = wts.pg[ok_a] / wts.pg[ok_a].sum()
    g_W = sum(
        (w * g_parts[j][1] for j, w in zip(np.flatnonzero(ok_a), wg, strict=True)),
        np.zeros(n_cells),
    )
    g_wif = wts.wif(np.flatnonzero(ok_a), g_att[ok_a])
    group = _family(
        "group", wts.cohorts, g_parts, (float(g_att[ok_a] @ wg), g_W, g_wif), n_cells, n_groups
    )

    # calendar
    c_terms = np.unique(t[t >= g.min()])
    c_parts = []
    for period in c_terms:
        keep = (t == period) & post
        c_parts.append(_target(gt, keep, pg[keep] / pg[keep].sum(), wts))
    c_overall = (
        float(np.mean([p[0] for p in c_parts])),
        np.mean([p[1] for p in c_parts], axis=0),
        np.mean([p[2] for p in c_parts], axis=0),
    )
    calendar = _family("calendar", c_terms, c_parts, c_overall, n_cells, n_groups)
    return Aggregates(simple[0], simple[1], simple[2], dynamic, group, calendar)
