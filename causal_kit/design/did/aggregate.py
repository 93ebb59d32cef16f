"""Aggregate ATT(g,t) into the simple, event-time, cohort and calendar summaries of R's ``aggte``.

Weights are cohort shares ``P(G = g)``; their estimation adds a term to each aggregate's influence
function (R's ``wif``). That term depends on a row only through its cohort, so it is computed per
cohort and broadcast — no ``units × cells`` temporaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causal_kit.design.did.cs import GroupTime
from causal_kit.design.did.inference import analytic_se


@dataclass(frozen=True)
class Family:
    """One aggregation: per-term effects and analytic SEs, and their overall average.

    ``inf`` (``n × terms``) is kept for the event-time family only (bootstrap bands, covariance);
    the others keep ``None`` to save memory.
    """

    name: str
    terms: np.ndarray
    att: np.ndarray
    se: np.ndarray
    inf: np.ndarray | None
    overall: float
    overall_inf: np.ndarray  # (n,)


@dataclass(frozen=True)
class Aggregates:
    """The four aggregations of one set of ATT(g,t)."""

    simple: float
    simple_inf: np.ndarray
    dynamic: Family
    group: Family
    calendar: Family


class _Weights:
    """Cohort shares and the influence of estimating them."""

    def __init__(self, gt: GroupTime) -> None:
        self.cohorts = np.unique(gt.group)
        rows = gt.unit_g
        self.n = len(rows)
        code = np.searchsorted(self.cohorts, rows)
        code[(code >= len(self.cohorts)) | ~np.isin(rows, self.cohorts)] = len(self.cohorts)
        self.row_code = code  # index into cohorts; len(cohorts) = not a treated cohort
        self.pg = np.bincount(code, minlength=len(self.cohorts) + 1)[:-1] / self.n
        self.cell_code = np.searchsorted(self.cohorts, gt.group)

    def cell_pg(self, cells: np.ndarray) -> np.ndarray:
        return self.pg[self.cell_code[cells]]

    def wif(self, codes: np.ndarray, att: np.ndarray) -> np.ndarray:
        """``wif @ att`` for kept entries belonging to cohorts ``codes``, as a row vector."""
        pg = self.pg[codes]
        total = pg.sum()
        # per-cohort value of sum_i att_i * (1{G=g_i} - pg_i) / total
        per = np.zeros(len(self.cohorts) + 1)
        np.add.at(per, codes, att)
        first = per / total - float(pg @ att) / total
        # minus [sum_k (1{G=g_k} - pg_k)] * sum_i pg_i att_i / total^2
        cnt = np.bincount(codes, minlength=len(self.cohorts) + 1).astype(float)
        second = (cnt - float(pg.sum())) * float(pg @ att) / total**2
        return (first - second)[self.row_code]


def _combine(
    gt: GroupTime, keep: np.ndarray, w: np.ndarray, W: _Weights | None
) -> tuple[float, np.ndarray]:
    idx = np.flatnonzero(keep)
    att = gt.att[idx]
    est = float(att @ w)
    inf = np.zeros(gt.n)
    tmp = np.empty(gt.n)
    for j, wj in zip(idx, w, strict=True):  # contiguous columns: one pass each
        np.multiply(gt.inf[:, j], wj, out=tmp)
        inf += tmp
    if W is not None:
        inf = inf + W.wif(W.cell_code[idx], att)
    return est, inf


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
    W = _Weights(gt)
    g, t = gt.group, gt.time
    e = t - g
    post = g <= t
    pg = W.cell_pg(np.arange(len(g)))

    simple, simple_inf = _combine(gt, post, pg[post] / pg[post].sum(), W)

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
    d_att_a = np.zeros(len(terms))
    d_inf_a = np.zeros((W.n, len(terms)), dtype=gt.inf.dtype, order="F")
    for j, term in enumerate(terms):
        keep = (e == term) & balanced
        w = pg[keep] / pg[keep].sum()
        d_att_a[j], d_inf_a[:, j] = _combine(gt, keep, w, W)
    pos = terms >= 0
    if pos.any():
        d_overall = float(d_att_a[pos].mean())
        d_overall_inf = d_inf_a[:, pos].mean(axis=1)
    else:
        d_overall, d_overall_inf = float("nan"), np.zeros(W.n)
    dynamic = Family(
        "dynamic",
        terms.astype(int),
        d_att_a,
        analytic_se(d_inf_a, gt.cluster),
        d_inf_a,
        d_overall,
        d_overall_inf,
    )

    # group (cohort)
    g_terms = W.cohorts
    g_att, g_se = np.full(len(g_terms), np.nan), np.full(len(g_terms), np.nan)
    g_overall_inf = np.zeros(W.n)
    parts = []
    for j, cohort in enumerate(g_terms):
        keep = (g == cohort) & post
        if not keep.any():
            continue
        a, f = _combine(gt, keep, np.full(int(keep.sum()), 1.0 / keep.sum()), None)
        g_att[j] = a
        g_se[j] = analytic_se(f[:, None], gt.cluster)[0]
        parts.append((j, f))
    ok = np.isfinite(g_att)
    wg = W.pg[ok] / W.pg[ok].sum()
    g_overall = float(g_att[ok] @ wg)
    for (_, f), wj in zip(parts, wg, strict=True):
        g_overall_inf += wj * f
    g_overall_inf += W.wif(np.flatnonzero(ok), g_att[ok])
    group = Family("group", g_terms, g_att, g_se, None, g_overall, g_overall_inf)

    # calendar
    c_terms = np.unique(t[t >= g.min()])
    c_att, c_se = np.zeros(len(c_terms)), np.zeros(len(c_terms))
    c_overall_inf = np.zeros(W.n)
    for j, period in enumerate(c_terms):
        keep = (t == period) & post
        w = pg[keep] / pg[keep].sum()
        c_att[j], f = _combine(gt, keep, w, W)
        c_se[j] = analytic_se(f[:, None], gt.cluster)[0]
        c_overall_inf += f / len(c_terms)
    calendar = Family("calendar", c_terms, c_att, c_se, None, float(c_att.mean()), c_overall_inf)
    return Aggregates(simple, simple_inf, dynamic, group, calendar)
