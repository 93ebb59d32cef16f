"""Callaway & Sant'Anna (2021): group-time average treatment effects ATT(g,t).

Identifying assumption: for every cohort ``g`` (units first treated in period ``g``), had it not
been treated its outcome would have evolved like the comparison units' — never-treated units
(``control="never"``) or units not yet treated by the periods compared (``control="notyet"``) —
conditional on the covariates; and no unit reacts more than ``anticipation`` periods before its
launch.

Each ATT(g,t) is a 2×2 comparison of cohort ``g`` with its comparison units between period ``t``
and a base period: the last pre-launch period ``g - 1 - anticipation`` for post-launch cells, and
(``base_period="varying"``) the period just before ``t`` for pre-launch cells, or the same
``g - 1 - anticipation`` for every cell (``"universal"``). Without covariates the comparison is a
difference of mean changes; with covariates it is outcome regression, inverse probability
weighting or doubly robust (``est_method``).

The computation is vectorised over units: a balanced panel becomes a ``units × periods`` matrix
with cohorts in contiguous row blocks, so each cell reads slices; influence functions are
stored as one ``units × cells`` matrix (single precision above ``IF_FLOAT32_ABOVE`` entries).
Unbalanced panels and repeated cross-sections use the cross-section estimators on the rows
observed in the two periods; a panel's row influence functions are summed by unit.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitWarning, ConvergenceError, DataError
from causal_kit.design.did._data import DidData
from causal_kit.design.did._drdid import Logit, dr_panel_blocks, fit_logit, panel_att, rc_att
from causal_kit.design.did._ifstore import DenseIF, MomentIF
from causal_kit.design.did._spec import DidSpec

SMALL_SAMPLE_CLUSTERS = 50  # below this many clusters: unbiased cohort variances, t(G - 1)
IF_FLOAT32_ABOVE = 60_000_000  # units × cells beyond which influence functions use float32


@dataclass(frozen=True)
class Cell:
    """One planned ATT(g,t) comparison (period indices)."""

    g: int
    t: int
    base: int
    threshold: float  # comparison cohorts must start after this period index
    reference: bool  # the universal base period itself: ATT = 0 by construction


@dataclass(frozen=True)
class GroupTime:
    """Estimated ATT(g,t) cells and their influence functions.

    Attributes
    ----------
    group, time, base
        Cohort, period and base-period indices of each cell.
    att
        The estimates.
    n_treated, n_control
        Rows on each side of each comparison.
    reference
        Cells fixed at zero (the universal base period).
    store
        The cells' influence functions (rows: units, or observations of cross-sections), scaled
        so that ``se = sqrt(sum(inf**2)) / n``: dense, or through cohort moments.
    groups, counts
        The rows' cohorts (``inf`` never treated), ascending, and rows in each.
    sum_sq
        Column sums of squares of dense influence functions (``None`` for moments).
    dropped
        Human-readable reasons for cells that could not be estimated.
    """

    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray
    reference: np.ndarray
    store: DenseIF | MomentIF
    groups: np.ndarray
    counts: np.ndarray
    sum_sq: np.ndarray | None = None
    dropped: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Rows of the influence functions (units, or observations)."""
        return self.store.n

    @property
    def cluster(self) -> np.ndarray | None:
        """Cluster code of each row, or ``None`` (rows are their own clusters)."""
        return self.store.cluster

    def cov(self, W: np.ndarray, wif: np.ndarray | None = None) -> np.ndarray:
        """Covariance of the targets ``W`` (cells × m) plus cohort terms ``wif``."""
        if wif is None:
            wif = np.zeros((len(self.groups), W.shape[1]))
        return self.store.cov(W, wif)

    def se(self) -> np.ndarray:
        """Analytic standard errors of the cells (clustered when ``cluster`` is set)."""
        from causal_kit.design.did.inference import SE_FLOOR

        st = self.store
        if isinstance(st, MomentIF) and not st.small_sample:
            means_b = st.b + np.einsum("kgt,gt->kg", st.a, st.means)
            # Σ_g a_kg' C_g a_kg as a batched product (a three-operand einsum loops naively)
            quad = np.einsum("gks,kgs->k", np.matmul(st.a.transpose(1, 0, 2), st.centred), st.a)
            ss = quad + (means_b**2 * st.counts).sum(axis=1)
            se = np.sqrt(np.clip(ss, 0, None)) / st.n
        else:
            eye = np.eye(len(self.att))
            se = np.sqrt(
                np.clip(np.diag(st.cov(eye, np.zeros((len(self.groups), len(eye))))), 0, None)
            )
        return np.where(se <= SE_FLOOR, np.nan, se)


def plan_cells(cohorts: np.ndarray, n_periods: int, spec: DidSpec) -> tuple[list[Cell], list[str]]:
    """List the ATT(g,t) comparisons R's ``did::att_gt`` makes, in its order."""
    universal = spec.base_period == "universal"
    tfac = 0 if universal else 1
    cells: list[Cell] = []
    dropped: list[str] = []
    for g in cohorts.astype(int):
        pre = [p for p in range(n_periods) if p < g - spec.anticipation]
        last_pre = pre[-1] if pre else None
        if last_pre is None:
            dropped.append(f"cohort {g}: no period before launch minus anticipation")
            continue
        for loop_t in range(n_periods - tfac):
            t = loop_t + tfac
            base = last_pre if (universal or g <= t) else loop_t
            if universal and base == t:
                cells.append(Cell(g, t, base, np.inf, True))
                continue
            threshold = max(loop_t, base) + tfac + spec.anticipation
            cells.append(Cell(g, t, base, threshold, False))
    return cells, dropped


def att_gt(data: DidData, spec: DidSpec, *, dense: bool = False) -> GroupTime:
    """Estimate every ATT(g,t) cell with its influence function.

    ``dense=True`` keeps the ``units × cells`` influence-function matrix even where cohort
    moments suffice (needed for a Rademacher bootstrap).
    """
    cohorts = data.cohorts
    cells, dropped = plan_cells(cohorts, data.n_periods, spec)
    if spec.control == "never" and not data.has_never_treated:
        who = "group" if data.kind == "rcs" else "unit"
        raise DataError(
            f"control='never' needs never-treated {who}s, but every {who} is eventually treated. "
            "Use control='notyet' (compare with units not yet treated) or add comparison units."
        )
    if not cells:
        raise DataError("no ATT(g,t) can be estimated: no cohort has a pre-launch period.")
    if data.kind == "panel" and data.balanced:
        est = _PanelEstimator(data, spec)
        if not dense and est.X is None and est.cluster is None:
            return est.run_moments(cells, dropped)
        return est.run(cells, dropped)
    return _RowsEstimator(data, spec).run(cells, dropped)


def _controls(unit_g: np.ndarray, cell: Cell, control: str) -> np.ndarray:
    """Boolean mask of comparison rows for ``cell``."""
    if control == "never":
        return np.isinf(unit_g)
    return (unit_g > cell.threshold) & (unit_g != cell.g)


def _warn_dropped(dropped: list[str]) -> None:
    if dropped:
        head = "; ".join(dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        warnings.warn(
            f"{len(dropped)} ATT(g,t) comparison(s) could not be estimated and are left out: "
            f"{head}. They are listed in details['dropped_cells'].",
            CausalKitWarning,
            stacklevel=4,
        )


def _alloc(n: int, k: int) -> np.ndarray:
    """Zeroed ``n × k`` influence-function matrix, column-major so each cell is contiguous."""
    dtype = np.float32 if n * k > IF_FLOAT32_ABOVE else np.float64
    return np.zeros((n, k), dtype=dtype, order="F")


def _cells_or_raise(results: list[tuple[Cell, float, int, int, float]], dropped: list[str]) -> None:
    _warn_dropped(dropped)
    if not results:
        raise DataError(
            "no ATT(g,t) could be estimated: every comparison lacked treated or comparison units. "
            f"Reasons: {'; '.join(dropped[:5])}."
        )


def _finish(
    results: list[tuple[Cell, float, int, int, float]],
    store: DenseIF | MomentIF,
    groups: np.ndarray,
    counts: np.ndarray,
    dropped: list[str],
) -> GroupTime:
    return GroupTime(
        group=np.array([c.g for c, *_ in results], dtype=float),
        time=np.array([c.t for c, *_ in results], dtype=float),
        base=np.array([c.base for c, *_ in results], dtype=float),
        att=np.array([r[1] for r in results], dtype=float),
        n_treated=np.array([r[2] for r in results], dtype=np.int64),
        n_control=np.array([r[3] for r in results], dtype=np.int64),
        reference=np.array([c.reference for c, *_ in results], dtype=bool),
        store=store,
        groups=groups,
        counts=counts,
        sum_sq=None if isinstance(store, MomentIF) else np.array([r[4] for r in results]),
        dropped=dropped,
    )


def _dense(
    results: list[tuple[Cell, float, int, int, float]],
    inf: np.ndarray,
    row_g: np.ndarray,
    cluster: np.ndarray | None,
    dropped: list[str],
) -> GroupTime:
    _cells_or_raise(results, dropped)
    groups, row_group, counts = np.unique(row_g, return_inverse=True, return_counts=True)
    store = DenseIF(inf=inf, row_group=row_group, cluster=cluster)
    return _finish(results, store, groups, counts.astype(float), dropped)


class _PanelEstimator:
    """Balanced panel: a units × periods matrix with cohorts in contiguous row blocks."""

    def __init__(self, data: DidData, spec: DidSpec) -> None:
        self.spec = spec
        n, T = data.n_units, data.n_periods
        unit_g = data.unit_g
        self.order = np.argsort(unit_g, kind="stable")
        self.unit_g = unit_g[self.order]
        # rows are sorted by unit then period, so the panel reshapes without copying
        self.wide = data.y.reshape(n, T)
        self.X: np.ndarray | None = None
        self.x_static = True
        if data.covariates:
            Xw = data.X.reshape(n, T, -1)  # a view: rows are unit-major
            self.x_static = bool(np.all(Xw == Xw[:, :1, :]))
            self.X = Xw[self.order, :1, :] if self.x_static else Xw[self.order]
        self.cluster = None
        if data.cluster is not None:
            cl = data.cluster.reshape(n, T)
            if not np.all(cl == cl[:, :1]):
                raise DataError(
                    "the cluster column changes within a unit; cluster at a level that contains "
                    "whole units (e.g. region), or leave cluster=None to cluster by unit."
                )
            self.cluster = cl[self.order, 0]
        self.n = n
        cut = np.flatnonzero(self.unit_g[1:] != self.unit_g[:-1]) + 1
        starts = np.r_[0, cut]
        stops = np.r_[cut, n]
        self.blocks = {
            float(self.unit_g[s]): (int(s), int(e)) for s, e in zip(starts, stops, strict=True)
        }
        self._ps_cache: dict[tuple[Any, ...], Logit] = {}
        self.covariates = data.covariates
        self.time_label = data.time_label

    def _rows(self, cell: Cell) -> tuple[tuple[int, int], list[tuple[int, int]]]:
        treat = self.blocks[float(cell.g)]
        if self.spec.control == "never":
            ctrl = [self.blocks[np.inf]] if np.inf in self.blocks else []
        else:
            ctrl = [b for c, b in self.blocks.items() if c > cell.threshold and c != cell.g]
        return treat, ctrl

    @functools.cached_property
    def sorted_y(self) -> np.ndarray:
        """Outcomes in cohort order, column-major so every period is one contiguous slice."""
        out = np.empty(self.wide.shape, order="F")
        for p in range(self.wide.shape[1]):
            np.take(self.wide[:, p], self.order, out=out[:, p])
        return out

    def run_moments(self, cells: list[Cell], dropped: list[str]) -> GroupTime:
        """Cells from cohort moments: one pass over the data, no influence-function matrix."""
        groups = np.array(list(self.blocks))  # ascending, never treated last
        index = {v: i for i, v in enumerate(groups)}
        T = self.wide.shape[1]
        counts = np.array([e - s for s, e in self.blocks.values()], dtype=float)
        means = np.zeros((len(groups), T))
        centred = np.zeros((len(groups), T, T))
        for i, (s, e) in enumerate(self.blocks.values()):
            block = self.wide[self.order[s:e]]
            means[i] = block.mean(axis=0)
            dev = block - means[i]
            centred[i] = dev.T @ dev
        n = self.n
        results: list[tuple[Cell, float, int, int, float]] = []
        a_rows, b_rows = [], []
        for cell in cells:
            a = np.zeros((len(groups), T))
            b = np.zeros(len(groups))
            if cell.reference:
                results.append((cell, 0.0, 0, 0, 0.0))
                a_rows.append(a)
                b_rows.append(b)
                continue
            gi = index[float(cell.g)]
            ctrl = [index[c] for c in self._control_groups(cell)]
            n_t = int(counts[gi])
            n_c = int(counts[ctrl].sum()) if ctrl else 0
            if n_c == 0:
                dropped.append(f"{self._label(cell)}: no comparison units")
                continue
            if self.spec.est_method != "reg" and n_t / (n_t + n_c) >= 0.995:
                dropped.append(
                    f"{self._label(cell)}: the cohort is over 99.5% of the comparison (no overlap)"
                )
                continue
            change = means[:, cell.t] - means[:, cell.base]
            mu_t = change[gi]
            mu_c = float(counts[ctrl] @ change[ctrl]) / n_c
            a[gi, cell.t], a[gi, cell.base] = n / n_t, -n / n_t
            b[gi] = -(n / n_t) * mu_t
            a[ctrl, cell.t], a[ctrl, cell.base] = -n / n_c, n / n_c
            b[ctrl] = (n / n_c) * mu_c
            results.append((cell, float(mu_t - mu_c), n_t, n_c, 0.0))
            a_rows.append(a)
            b_rows.append(b)
        _cells_or_raise(results, dropped)
        store = MomentIF(
            a=np.array(a_rows),
            b=np.array(b_rows),
            centred=centred,
            means=means,
            counts=counts,
            n=n,
            small_sample=n < SMALL_SAMPLE_CLUSTERS,
        )
        return _finish(results, store, groups, counts, dropped)

    def _control_groups(self, cell: Cell) -> list[float]:
        if self.spec.control == "never":
            return [np.inf] if np.inf in self.blocks else []
        return [c for c in self.blocks if c > cell.threshold and c != cell.g]

    def run(self, cells: list[Cell], dropped: list[str]) -> GroupTime:
        inf = _alloc(self.n, len(cells))
        slots: list[tuple[Cell, float, int, int, float] | None] = [None] * len(cells)
        batches: dict[tuple[Any, ...], list[int]] = {}
        for j, cell in enumerate(cells):
            if cell.reference:
                slots[j] = (cell, 0.0, 0, 0, 0.0)
                continue
            treat, ctrl = self._rows(cell)
            n_t = treat[1] - treat[0]
            n_c = sum(e - s for s, e in ctrl)
            if n_t == 0 or n_c == 0:
                dropped.append(f"{self._label(cell)}: no comparison units")
                continue
            if self.X is None:
                try:
                    att, ss = self._mean_cell(cell, treat, ctrl, n_t, n_c, inf[:, j])
                except DataError as exc:
                    dropped.append(f"{self._label(cell)}: {exc}")
                    continue
                slots[j] = (cell, att, n_t, n_c, ss)
            else:
                key = (cell.g, tuple(ctrl), self._cov_period(cell))
                batches.setdefault(key, []).append(j)
        for (g, ctrl_key, period), js in batches.items():
            treat = self.blocks[float(g)]
            ctrl = list(ctrl_key)
            try:
                atts, sss = self._covariate_batch(
                    [cells[j] for j in js], treat, ctrl, period, [inf[:, j] for j in js]
                )
            except (DataError, ConvergenceError) as exc:
                dropped.extend(f"{self._label(cells[j])}: {exc}" for j in js)
                continue
            n_t = treat[1] - treat[0]
            n_c = sum(e - s for s, e in ctrl)
            for j, att, ss in zip(js, atts, sss, strict=True):
                slots[j] = (cells[j], float(att), n_t, n_c, float(ss))
        keep = [j for j, slot in enumerate(slots) if slot is not None]
        for new, old in enumerate(keep):  # compact the estimated columns to the left
            if new != old:
                inf[:, new] = inf[:, old]
        results = [slot for slot in slots if slot is not None]
        return _dense(results, inf[:, : len(results)], self.unit_g, self.cluster, dropped)

    def _label(self, cell: Cell) -> str:
        return f"g={self.time_label(cell.g)}, t={self.time_label(cell.t)}"

    def _cov_period(self, cell: Cell) -> int:
        """Period whose covariates enter the comparison (the earlier of base and period - 1)."""
        if self.x_static:
            return 0
        loop_t = cell.t - (0 if self.spec.base_period == "universal" else 1)
        return min(cell.base, loop_t)

    def _mean_cell(
        self,
        cell: Cell,
        treat: tuple[int, int],
        ctrl: list[tuple[int, int]],
        n_t: int,
        n_c: int,
        col: np.ndarray,
    ) -> tuple[float, float]:
        """Difference of mean changes; write the influence function into ``col``."""
        Y, n = self.sorted_y, self.n
        if self.spec.est_method != "reg" and n_t / (n_t + n_c) >= 0.995:
            raise DataError("the cohort is over 99.5% of the comparison (no overlap)")
        s, e = treat
        dy_t = Y[s:e, cell.t] - Y[s:e, cell.base]
        mu_t = dy_t.mean()
        dy_c = [Y[s2:e2, cell.t] - Y[s2:e2, cell.base] for s2, e2 in ctrl]
        mu_c = sum(float(v.sum()) for v in dy_c) / n_c
        part = (n / n_t) * (dy_t - mu_t)
        col[s:e] = part
        ss = float(np.einsum("i,i->", part, part))
        for (s2, e2), v in zip(ctrl, dy_c, strict=True):
            part = -(n / n_c) * (v - mu_c)
            col[s2:e2] = part
            ss += float(np.einsum("i,i->", part, part))
        return float(mu_t - mu_c), ss

    def _covariate_batch(
        self,
        batch: list[Cell],
        treat: tuple[int, int],
        ctrl: list[tuple[int, int]],
        period: int,
        cols: list[np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Estimate the cells sharing cohort, comparison units and covariates in one pass."""
        assert self.X is not None
        segments = [treat, *ctrl]
        idx = np.concatenate([np.arange(s, e) for s, e in segments])
        n1 = len(idx)
        n_t = treat[1] - treat[0]
        d = np.zeros(n1)
        d[:n_t] = 1.0
        Y = self.sorted_y
        DY = np.empty((n1, len(batch)), order="F")
        for j, c in enumerate(batch):
            offset = 0
            for s, e in segments:
                np.subtract(Y[s:e, c.t], Y[s:e, c.base], out=DY[offset : offset + e - s, j])
                offset += e - s
        X = np.empty((n1, self.X.shape[2] + 1))
        X[:, 0] = 1.0
        X[:, 1:] = self.X[idx, period, :]
        ps = None
        if self.spec.est_method != "reg":
            key = (float(batch[0].g), tuple(ctrl), period)
            ps = self._ps_cache.get(key)
            if ps is None:
                ps = fit_logit(d, X)
                self._ps_cache[key] = ps
        if self.spec.est_method == "dr":
            assert ps is not None
            atts, IF = dr_panel_blocks(DY, n_t, X, ps, scale=self.n / n1)
        else:
            atts, IF = panel_att(DY, d, X, self.spec.est_method, ps)
            IF *= self.n / n1
        sss = np.zeros(len(batch))  # cell variances come from the store's cross-products
        for k, col in enumerate(cols):
            offset = 0
            for s, e in segments:
                col[s:e] = IF[offset : offset + e - s, k]
                offset += e - s
        return atts, sss


class _RowsEstimator:
    """Repeated cross-sections and unbalanced panels: two-period cross-section comparisons."""

    def __init__(self, data: DidData, spec: DidSpec) -> None:
        self.data = data
        self.spec = spec
        self.panel = data.kind == "panel"
        if self.panel:
            warnings.warn(
                "the panel is unbalanced: each ATT(g,t) uses every row observed in its two "
                "periods (cross-section estimator) and influence functions are summed by unit, "
                "as R's did with allow_unbalanced_panel=TRUE.",
                CausalKitWarning,
                stacklevel=4,
            )

    def run(self, cells: list[Cell], dropped: list[str]) -> GroupTime:
        dd, spec = self.data, self.spec
        n_rows = len(dd.y)
        n_out = dd.n_units if self.panel else n_rows
        inf = _alloc(n_out, len(cells))
        results: list[tuple[Cell, float, int, int, float]] = []
        X_all = np.column_stack([np.ones(n_rows), dd.X])
        for cell in cells:
            if cell.reference:
                results.append((cell, 0.0, 0, 0, 0.0))
                continue
            in_t = (dd.t == cell.t) | (dd.t == cell.base)
            treat = in_t & (dd.g == cell.g)
            ctrl = in_t & _controls(dd.g, cell, spec.control)
            rows = np.flatnonzero(treat | ctrl)
            post = (dd.t[rows] == cell.t).astype(float)
            d = treat[rows].astype(float)
            label = f"g={dd.time_label(cell.g)}, t={dd.time_label(cell.t)}"
            counts = [
                (d == 1) & (post == 1),
                (d == 1) & (post == 0),
                (d == 0) & (post == 1),
                (d == 0) & (post == 0),
            ]
            if not all(c.any() for c in counts):
                dropped.append(f"{label}: a treated or comparison group is empty in one period")
                continue
            try:
                att, inf_r = rc_att(dd.y[rows], post, d, X_all[rows], spec.est_method)
            except (DataError, ConvergenceError) as exc:
                dropped.append(f"{label}: {exc}")
                continue
            j = len(results)
            if self.panel:
                scaled = (n_out / len(rows)) * inf_r
                inf[:, j] = np.bincount(dd.unit[rows], weights=scaled, minlength=n_out)
                n_t = len(np.unique(dd.unit[rows][d == 1]))
                n_c = len(np.unique(dd.unit[rows][d == 0]))
            else:
                inf[rows, j] = (n_out / len(rows)) * inf_r
                n_t, n_c = int(d.sum()), int((1 - d).sum())
            ss = float(np.sum(np.asarray(inf[:, j], dtype=np.float64) ** 2))
            results.append((cell, att, n_t, n_c, ss))
        if self.panel:
            unit_g = dd.unit_g
            cluster = None
            if dd.cluster is not None:
                cluster = np.zeros(n_out, dtype=np.int64)
                cluster[dd.unit] = dd.cluster
        else:
            unit_g, cluster = dd.g, dd.cluster
        return _dense(results, inf[:, : len(results)], unit_g, cluster, dropped)


def cell_table(gt: GroupTime, data: DidData, level: float) -> pd.DataFrame:
    """Return the full ATT(g,t) table with analytic standard errors and pointwise intervals."""
    from causal_kit.core.stats import tidy_table

    se = gt.se()
    se = np.where(gt.reference, np.nan, se)
    labels = [
        f"{data.time_label(g)}:{data.time_label(t)}" for g, t in zip(gt.group, gt.time, strict=True)
    ]
    out = tidy_table(labels, gt.att, se, level)
    out.insert(1, "group", [data.time_label(g) for g in gt.group])
    out.insert(2, "time", [data.time_label(t) for t in gt.time])
    out.insert(3, "event_time", (gt.time - gt.group).astype(int))
    out["base_period"] = [data.time_label(b) for b in gt.base]
    out["n_treated"] = gt.n_treated
    out["n_control"] = gt.n_control
    return out
