"""An exact active-set solver for the small quadratic programs over the simplex.

Every weight problem of the synthetic control family has the form

    minimise  ½ wᵀ (G + ρ I) w − cᵀ w    subject to  w ≥ 0,  Σ w = 1,

with ``G = AᵀA`` and ``c = Aᵀb`` for a least-squares fit ``‖A w − b‖²``. The solver works on the
Gram matrix ``G`` only, so placebo refits that share the same outcomes reuse one Gram matrix and
differ only in which rows and columns they take. It is a primal active-set method in the style of
Lawson and Hanson's NNLS: it keeps a set of free (positive) weights, solves the
equality-constrained problem on that set exactly, and moves weights in or out until the
Karush–Kuhn–Tucker conditions hold. It terminates in finitely many steps with the exact optimum
(up to floating point), unlike first-order methods that stop at a tolerance.

Speed. A step changes the free set by a few indices, so the Cholesky factor of the reduced
Hessian ``(G + ρI)_FF`` is carried from step to step (a bordering step when indices enter, a
refactorisation of the trailing block only when one leaves) instead of a fresh ``O(k³)``
factorisation, in a handful of direct LAPACK calls. Once the optimality conditions hold, the
equality problem on the final free set is solved once more from a fresh Cholesky factorisation
and the conditions are checked again, so the returned weights are exactly those a
factorise-every-step solver returns (the re-solve is skipped when the last solve already came from
a fresh factorisation of the final free set, as after a good warm start); if the fresh solve
disagrees (rounding in the updates on an ill-conditioned problem), the loop continues from the
fresh factorisation. ``start`` warm-starts the free set: SDID refits of the treated units start
from the main fit's support, placebo and bootstrap refits from the support that
:func:`guess_support` finds with primal–dual active-set steps.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotrs as _potrs
from scipy.linalg.lapack import dtrtrs as _trtrs

from causal_kit.core.errors import ConvergenceError

_RIDGE_FLOOR = 1e-11  # relative ridge that keeps the reduced systems non-singular
_MAX_UPDATES = 40  # rank-one updates between fresh factorisations (bounds accumulated rounding)


class _Reduced:
    """The free set ``F`` with the Cholesky factor ``L`` of ``(G + ρI)_FF`` and ``L⁻¹[c_F, 1]``.

    Buffers hold the first ``k`` entries. Adding indices appends rows to ``L`` (a bordering
    step: one triangular solve and a small factorisation; a square root for a single index);
    dropping the index at position ``i`` removes its row and column and refactorises only the
    trailing block, which absorbs the removed column as a rank-one update. Both are backward
    stable, unlike updates of an inverse. The triangular solves and factorisations call LAPACK
    directly: the systems are small, so the wrappers' checks would cost more than the work.
    """

    def __init__(self, G: np.ndarray, c: np.ndarray, rho: float, free: np.ndarray) -> None:
        self.G, self.c, self.rho = G, c, rho
        n = c.shape[0]
        self.L = np.zeros((n, n))
        self.idx = np.empty(n, dtype=np.intp)
        self.y = np.empty((n, 2))  # L⁻¹ c_F and L⁻¹ 1
        self.k = 0
        self.dense: np.ndarray | None = None  # (G + ρI)_FF when it could not be factorised
        self.updates = 0
        self.refresh(free)

    def refresh(self, free: np.ndarray) -> None:
        """Factorise ``(G + ρI)_FF`` from scratch."""
        free = np.asarray(free, dtype=np.intp)
        k = self.k = free.size
        self.idx[:k] = free
        self.updates = 0
        K = self.G.take(free, 0).take(free, 1)
        K.flat[:: k + 1] += self.rho
        try:
            L = np.linalg.cholesky(K)
        except np.linalg.LinAlgError:
            self.dense = K
            return
        self.dense = None
        self.L[:] = 0.0
        self.L[:k, :k] = L
        rhs = np.empty((k, 2))
        rhs[:, 0] = self.c.take(free)
        rhs[:, 1] = 1.0
        self.y[:k] = _lower_solve(L, rhs)

    @property
    def free(self) -> np.ndarray:
        """The free indices (a view)."""
        return self.idx[: self.k]

    def solution(self) -> np.ndarray:
        """Equality-constrained optimum ``z = a + μ b`` on the free set, ``μ = (1 − Σa) / Σb``."""
        k = self.k
        if self.dense is not None:
            ab = np.linalg.lstsq(
                self.dense, np.column_stack([self.c[self.free], np.ones(k)]), rcond=None
            )[0]
        else:
            ab = _upper_solve(self.L[:k, :k], self.y[:k])
        a, b = ab[:, 0], ab[:, 1]
        return a + ((1.0 - a.sum()) / b.sum()) * b

    def add(self, js: np.ndarray) -> None:
        """Bring the indices ``js`` into the free set: ``L ← [[L, 0], [L21, L22]]``."""
        k, m = self.k, js.size
        if self.dense is not None:
            self.refresh(np.concatenate([self.idx[:k], js]))
            return
        if m == 1:
            self._add_one(int(js[0]))
            return
        F = self.idx[:k]
        G = self.G
        L21 = _lower_solve(self.L[:k, :k], G.take(F, 0).take(js, 1)).T  # (m, k)
        S = G.take(js, 0).take(js, 1) - L21 @ L21.T
        S.flat[:: m + 1] += self.rho
        try:
            L22 = np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            self.refresh(np.concatenate([F, js]))
            return
        end = k + m
        self.L[k:end, :k] = L21
        self.L[k:end, k:end] = L22
        rhs = np.empty((m, 2))
        rhs[:, 0] = self.c.take(js)
        rhs[:, 1] = 1.0
        self.y[k:end] = _lower_solve(L22, rhs - L21 @ self.y[:k])
        self.idx[k:end] = js
        self.k = end
        self.updates += 1

    def _add_one(self, j: int) -> None:
        k = self.k
        G = self.G
        if k:
            l21 = _lower_solve(self.L[:k, :k], G[self.idx[:k], j])
            s = G[j, j] - float(l21 @ l21) + self.rho
        else:
            l21 = np.empty(0)
            s = G[j, j] + self.rho
        if not s > 0.0:
            self.refresh(np.append(self.idx[:k], j))
            return
        d = float(np.sqrt(s))
        self.L[k, :k] = l21
        self.L[k, k] = d
        ly = l21 @ self.y[:k]
        self.y[k, 0] = (self.c[j] - ly[0]) / d
        self.y[k, 1] = (1.0 - ly[1]) / d
        self.idx[k] = j
        self.k = k + 1
        self.updates += 1

    def drop(self, pos: int) -> None:
        """Remove the index at position ``pos`` of the free set."""
        k = self.k
        if self.dense is not None:
            self.refresh(np.delete(self.idx[:k], pos))
            return
        L = self.L
        if pos < k - 1:
            lcol = L[pos + 1 : k, pos].copy()
            T = L[pos + 1 : k, pos + 1 : k]
            T2 = np.linalg.cholesky(T @ T.T + np.outer(lcol, lcol))
            y3 = _lower_solve(T2, T @ self.y[pos + 1 : k] + np.outer(lcol, self.y[pos]))
            L[pos : k - 1, :pos] = L[pos + 1 : k, :pos]
            L[pos : k - 1, pos : k - 1] = T2
            self.y[pos : k - 1] = y3
            self.idx[pos : k - 1] = self.idx[pos + 1 : k]
        L[k - 1, :k] = 0.0
        L[:k, k - 1] = 0.0
        self.k = k - 1
        self.updates += 1


def _lower_solve(L: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``L x = rhs`` for lower-triangular ``L`` (as ``Lᵀ`` transposed, like scipy)."""
    return _trtrs(L.T, rhs, lower=0, trans=1)[0]


def _upper_solve(L: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``Lᵀ x = rhs`` for lower-triangular ``L``."""
    if L.flags.c_contiguous:
        return _trtrs(L.T, rhs, lower=0, trans=0)[0]
    return _trtrs(L, rhs, lower=1, trans=1)[0]


def simplex_qp(
    G: np.ndarray,
    c: np.ndarray,
    ridge: float = 0.0,
    *,
    tol: float = 1e-11,
    max_iter: int | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Minimise ``½ wᵀ(G + ridge·I)w − cᵀw`` over the probability simplex.

    Parameters
    ----------
    G
        Symmetric positive semi-definite ``(n, n)`` matrix.
    c
        Linear term, shape ``(n,)``.
    ridge
        Non-negative ridge added to the diagonal.
    tol
        Relative tolerance on the optimality conditions.
    max_iter
        Cap on active-set changes (default ``20 n + 100``).
    start
        Indices of the weights to start free (a warm start: all of them for a
        ridge-regularised problem whose solution is dense, or the support of a related fit).
        Default: the best single donor. The optimum does not depend on it.

    Returns
    -------
    numpy.ndarray
        The optimal weights (non-negative, summing to one).

    Raises
    ------
    ConvergenceError
        If the active set keeps changing past ``max_iter`` steps.
    """
    n = c.shape[0]
    if n == 1:
        return np.ones(1)
    G = np.asarray(G, dtype=float)
    c = np.asarray(c, dtype=float)
    diag = np.diagonal(G)
    scale = max(float(np.max(np.abs(diag))), float(np.max(np.abs(c))), 1e-300)
    rho = float(ridge) + _RIDGE_FLOOR * scale
    max_iter = 20 * n + 100 if max_iter is None else max_iter
    if start is None or len(start) == 0:
        first = np.array([int(np.argmin(0.5 * (diag + rho) - c))])
        red = _Reduced(G, c, rho, first)
        wf = np.ones(1)
        pending = False
    else:
        red = _Reduced(G, c, rho, np.unique(np.asarray(start, dtype=np.intp)))
        wf = np.full(red.k, 1.0 / red.k)
        pending = True
    thresh = tol * scale
    verified = fresh = False
    block, dropped, dropped_before, single = 1, 0, 0, False
    for _ in range(max_iter):
        if not pending:
            idx = red.free
            grad = wf @ G.take(idx, 0)
            grad[idx] += rho * wf
            grad -= c
            reduced = grad - float(grad.take(idx).sum() / idx.size)
            reduced[idx] = 0.0
            j = int(np.argmin(reduced))
            if reduced[j] >= -thresh:
                if verified or fresh:
                    # `fresh`: the weights already come from a fresh factorisation of this free
                    # set, exactly what the verifying re-solve would recompute.
                    return _clean(_scatter(n, idx, wf))
                # Re-solve on the final free set from a fresh factorisation and check again.
                red.refresh(idx.copy())
                verified = True
            else:
                # Bring in the `block` most negative reduced costs (the most negative first); the
                # block doubles while additions stick and halves when they have to be dropped.
                if block > 1:
                    cand = np.argpartition(reduced, block - 1)[:block]
                    cand = cand[reduced[cand] < -thresh]
                    js = np.concatenate([[j], cand[cand != j]])
                else:
                    js = np.array([j])
                red.add(js)
                fresh = False
                single = js.size == 1
                wf = np.concatenate([wf, np.zeros(red.k - wf.size)])
                verified = False
                dropped_before = dropped
        pending = False
        # Inner loop: move to the equality-constrained optimum on the free set, dropping weights
        # that would turn negative on the way.
        for _inner in range(2 * n + 2):
            if red.updates > _MAX_UPDATES:
                red.refresh(red.free.copy())
            z = red.solution()
            if z.min() > 0.0:
                wf = z
                fresh = red.updates == 0
                block = min(2 * block, n) if dropped == dropped_before else max(1, block // 2)
                break
            verified = False
            neg = z <= 0.0
            steps = wf[neg] / (wf[neg] - z[neg])
            alpha = float(np.min(steps))
            if alpha <= 0.0 and red.updates and single:
                # A weight about to leave without moving: rule out rounding in the updates.
                red.refresh(red.free.copy())
                continue
            new = wf + alpha * (z - wf)
            drop = neg & (new <= 1e-15 + 1e-12 * np.abs(wf))
            drop[np.flatnonzero(neg)[int(np.argmin(steps))]] = True
            if drop.all():  # impossible for a feasible point; restart at the best vertex
                red.refresh(np.array([int(np.argmin(0.5 * (diag + rho) - c))]))
                wf = np.ones(1)
                fresh = False
                break
            for pos in np.flatnonzero(drop)[::-1]:
                dropped += 1
                red.drop(int(pos))
            new = new[~drop]
            wf = new
    raise ConvergenceError(
        f"the simplex weight problem over {n} donors did not settle after {max_iter} active-set "
        "steps; the donors' outcomes may be (nearly) collinear — drop duplicated donors."
    )


def guess_support(
    G: np.ndarray,
    c: np.ndarray,
    ridge: float = 0.0,
    *,
    start: np.ndarray | None = None,
    tol: float = 1e-11,
    max_iter: int = 25,
) -> np.ndarray | None:
    """Guess the support of :func:`simplex_qp`'s optimum by primal–dual active-set steps.

    Each step solves the equality-constrained problem on the current free set ``F`` and moves to
    ``F ← {i ∈ F: wᵢ > 0} ∪ {i ∉ F: reduced cost < 0}``, so many indices change at once (the
    primal–dual active-set method of Hintermüller, Ito & Kunisch, 2002). On ridge-regularised
    problems with dense solutions it settles in a handful of steps where the exact active-set
    method of :func:`simplex_qp` adds indices a block at a time. The method can cycle, so this
    is only a warm start: it returns the free set at which the optimality conditions hold, or
    ``None`` when it cycles, fails to factorise or runs out of steps. Pass the result as
    ``start`` to :func:`simplex_qp`, which verifies it and returns the exact optimum.
    """
    n = c.shape[0]
    diag = np.diagonal(G)
    scale = max(float(np.max(np.abs(diag))), float(np.max(np.abs(c))), 1e-300)
    rho = float(ridge) + _RIDGE_FLOOR * scale
    thresh = tol * scale
    free = np.arange(n) if start is None else np.unique(np.asarray(start, dtype=np.intp))
    seen: set[bytes] = set()
    for _ in range(max_iter):
        k = free.size
        if k == 0:
            return None
        K = G.take(free, 0)
        grad_rows = K
        K = K.take(free, 1)
        K.flat[:: k + 1] += rho
        L, info = _potrf(K, lower=1)
        if info != 0:
            return None
        rhs = np.empty((k, 2))
        rhs[:, 0] = c.take(free)
        rhs[:, 1] = 1.0
        ab = _potrs(L, rhs, lower=1)[0]
        a, b = ab[:, 0], ab[:, 1]
        z = a + ((1.0 - a.sum()) / b.sum()) * b
        grad = z @ grad_rows
        grad[free] += rho * z
        grad -= c
        reduced = grad - float(grad.take(free).sum() / k)
        reduced[free] = 0.0
        keep = free[z > 0.0]
        enter = np.flatnonzero(reduced < -thresh)
        if keep.size == k and enter.size == 0:
            return free
        free = np.union1d(keep, enter)
        key = free.tobytes()
        if key in seen:
            return None
        seen.add(key)
    return None


def _scatter(n: int, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(n)
    out[idx] = values
    return out


def _clean(w: np.ndarray) -> np.ndarray:
    w = np.where(w > 0.0, w, 0.0)
    return w / w.sum()


def least_squares_simplex(
    A: np.ndarray, b: np.ndarray, ridge: float = 0.0, *, intercept: bool = False
) -> np.ndarray:
    """Return the simplex weights minimising ``‖A w − b‖² + ridge·‖w‖²``.

    With ``intercept=True`` a free constant is fitted too (columns and ``b`` are centred over
    rows first).
    """
    if intercept:
        A = A - A.mean(axis=0)
        b = b - b.mean()
    return simplex_qp(A.T @ A, A.T @ b, ridge)
