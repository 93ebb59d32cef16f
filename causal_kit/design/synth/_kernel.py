"""The compiled core of :func:`causal_kit.design.synth.solver.simplex_qp`.

An active-set step changes the free set by a few indices, so its work is ``O(k²)`` on a free set
of ``k`` weights; in numpy each step still cost tens of microseconds of call overhead, which was
most of a placebo study's time. Compiled with numba (already installed with DoWhy and EconML),
a step costs what its arithmetic costs. Compiled code is cached next to this file, so only the
first process after an install (or after this file changes) pays the compilation, about 15 s.

The state is the free set ``idx[:k]``, the lower Cholesky factor ``L[:k, :k]`` of
``(G + ρI)_FF`` and ``Y = L⁻¹ [c_F, 1]``, so each equality-constrained solve is one back
substitution. Indices enter by bordering (a forward substitution and a square root each), or,
when a block of many enters, by one fresh LAPACK factorisation; the index at position ``p``
leaves by deleting its row and column and restoring the trailing block with a rank-one Cholesky
update (Givens-style, backward stable). After ``max_updates`` updates, or when a bordering pivot
is not positive, the factor is rebuilt from scratch.
"""

from __future__ import annotations

import math

import numba
import numpy as np


class SingularBlockError(Exception):
    """A free block of ``G + ρI`` that a fresh Cholesky factorisation cannot factorise."""

_LAPACK_FROM = 24  # block size from which a fresh factorisation calls LAPACK
_REFACTOR_BLOCK = 8  # indices entering at once from which the factor is rebuilt, not bordered


@numba.njit(cache=True)
def _lapack_factor(G: np.ndarray, idx: np.ndarray, k: int, rho: float) -> np.ndarray:
    """Cholesky factor of ``(G + ρI)_FF`` by LAPACK (empty if not positive definite)."""
    K = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            K[i, j] = G[idx[i], idx[j]]
        K[i, i] += rho
    try:
        return np.linalg.cholesky(K)
    except Exception:  # numba cannot catch LinAlgError by name
        return np.empty((0, 0))


@numba.njit(cache=True)
def _factor(G: np.ndarray, idx: np.ndarray, k: int, rho: float, L: np.ndarray) -> bool:
    """Cholesky factor of ``(G + ρI)[idx[:k], idx[:k]]`` into ``L[:k, :k]``; False if not PD.

    Small blocks are factorised in place; from ``_LAPACK_FROM`` rows LAPACK's blocked
    factorisation is faster than the loop.
    """
    if k >= _LAPACK_FROM:
        F = _lapack_factor(G, idx, k, rho)
        if F.shape[0] == 0:
            return False
        L[:k, :k] = F
        return True
    for j in range(k):
        gj = idx[j]
        s = G[gj, gj] + rho
        for p in range(j):
            s -= L[j, p] * L[j, p]
        if not s > 0.0:
            return False
        d = math.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, k):
            t = G[idx[i], gj]
            for p in range(j):
                t -= L[i, p] * L[j, p]
            L[i, j] = t / d
    return True


@numba.njit(cache=True)
def _forward(c: np.ndarray, idx: np.ndarray, k: int, L: np.ndarray, Y: np.ndarray,
             first: int) -> None:
    """Rows ``first…k−1`` of ``Y = L⁻¹ [c_F, 1]`` by forward substitution."""
    for i in range(first, k):
        t0, t1 = c[idx[i]], 1.0
        for p in range(i):
            t0 -= L[i, p] * Y[p, 0]
            t1 -= L[i, p] * Y[p, 1]
        Y[i, 0] = t0 / L[i, i]
        Y[i, 1] = t1 / L[i, i]


@numba.njit(cache=True)
def _refactor(G: np.ndarray, c: np.ndarray, idx: np.ndarray, k: int, rho: float,
              L: np.ndarray, Y: np.ndarray) -> None:
    """Fresh factor and ``Y`` for the free set; :class:`SingularBlockError` if it is not PD."""
    if not _factor(G, idx, k, rho, L):
        raise SingularBlockError("a free block is not positive definite")
    _forward(c, idx, k, L, Y, 0)


@numba.njit(cache=True)
def _solution(idx: np.ndarray, k: int, L: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Equality-constrained optimum ``z = a + μb`` on the free set, ``μ = (1 − Σa) / Σb``.

    ``[a, b] = L⁻ᵀ Y`` with ``Y = L⁻¹ [c_F, 1]``: one back substitution.
    """
    a, b = np.empty(k), np.empty(k)
    for i in range(k - 1, -1, -1):
        t0, t1 = Y[i, 0], Y[i, 1]
        for p in range(i + 1, k):
            t0 -= L[p, i] * a[p]
            t1 -= L[p, i] * b[p]
        a[i] = t0 / L[i, i]
        b[i] = t1 / L[i, i]
    mu = (1.0 - a.sum()) / b.sum()
    return a + mu * b


@numba.njit(cache=True)
def _border(G: np.ndarray, idx: np.ndarray, k: int, j: int, rho: float,
            L: np.ndarray) -> bool:
    """Append index ``j`` as row ``k`` of ``L``; False if its pivot is not positive."""
    s = G[j, j] + rho
    for i in range(k):
        t = G[idx[i], j]
        for p in range(i):
            t -= L[i, p] * L[k, p]
        t /= L[i, i]
        L[k, i] = t
        s -= t * t
    if not s > 0.0:
        return False
    L[k, k] = math.sqrt(s)
    return True


@numba.njit(cache=True)
def _delete(L: np.ndarray, k: int, pos: int) -> None:
    """Remove row and column ``pos`` from the factor ``L[:k, :k]`` (a rank-one update)."""
    m = k - 1 - pos
    v = np.empty(m)
    for i in range(m):
        v[i] = L[pos + 1 + i, pos]
    for i in range(pos, k - 1):
        for p in range(pos):
            L[i, p] = L[i + 1, p]
        for p in range(pos, i + 1):
            L[i, p] = L[i + 1, p + 1]
    for jj in range(m):
        a = pos + jj
        r = math.sqrt(L[a, a] * L[a, a] + v[jj] * v[jj])
        cc = r / L[a, a]
        ss = v[jj] / L[a, a]
        L[a, a] = r
        for ii in range(jj + 1, m):
            b = pos + ii
            L[b, a] = (L[b, a] + ss * v[ii]) / cc
            v[ii] = cc * v[ii] - ss * L[b, a]


@numba.njit(cache=True)
def active_set(G: np.ndarray, c: np.ndarray, rho: float, thresh: float, start: np.ndarray,
               max_iter: int, max_updates: int) -> tuple[np.ndarray, bool]:
    """Primal active-set method for ``min ½wᵀ(G + ρI)w − cᵀw`` over the simplex.

    ``start`` holds sorted unique indices to start free (empty: the best single vertex).
    Returns the weights and whether they settled within ``max_iter`` steps. Raises
    :class:`SingularBlockError` when a fresh factorisation of a free block fails (the ridge floor
    makes every block positive definite in exact arithmetic, so only an extremely
    ill-conditioned or indefinite ``G`` can).
    """
    n = c.shape[0]
    L = np.zeros((n, n))
    Y = np.empty((n, 2))  # L⁻¹ [c_F, 1], carried with the factor
    idx = np.empty(n, dtype=np.int64)
    best = 0
    for i in range(n):
        if 0.5 * (G[i, i] + rho) - c[i] < 0.5 * (G[best, best] + rho) - c[best]:
            best = i
    if start.size == 0:
        idx[0] = best
        k = 1
        wf = np.ones(1)
        pending = False
    else:
        k = start.size
        idx[:k] = start
        wf = np.full(k, 1.0 / k)
        pending = True
    _refactor(G, c, idx, k, rho, L, Y)
    updates = 0
    verified = False
    fresh = False
    single = False
    block, dropped, dropped_before = 1, 0, 0
    grad = np.empty(n)
    for _ in range(max_iter):
        if not pending:
            for i in range(n):
                grad[i] = -c[i]
            for f in range(k):
                row, wv = idx[f], wf[f]
                for i in range(n):
                    grad[i] += wv * G[row, i]
                grad[row] += rho * wv
            mean = 0.0
            for f in range(k):
                mean += grad[idx[f]]
            mean /= k
            j, low = -1, 0.0
            for i in range(n):
                grad[i] -= mean
            for f in range(k):
                grad[idx[f]] = 0.0
            for i in range(n):
                if j < 0 or grad[i] < low:
                    j, low = i, grad[i]
            if low >= -thresh:
                if verified or fresh:
                    # `fresh`: the weights come from a fresh factorisation of this free set,
                    # exactly what the verifying re-solve would recompute.
                    w = np.zeros(n)
                    for f in range(k):
                        w[idx[f]] = wf[f] if wf[f] > 0.0 else 0.0
                    return w / w.sum(), True
                # Re-solve on the final free set from a fresh factorisation and check again.
                _refactor(G, c, idx, k, rho, L, Y)
                updates = 0
                verified = True
            else:
                # Bring in the `block` most negative reduced costs (the most negative first); the
                # block doubles while additions stick and halves when they have to be dropped.
                enter = np.argsort(grad)[:block] if block > 1 else np.array([j])
                added = 0
                for jj in enter:
                    if grad[jj] >= -thresh:
                        break
                    idx[k + added] = jj
                    added += 1
                if added >= _REFACTOR_BLOCK:  # one LAPACK factorisation is cheaper
                    _refactor(G, c, idx, k + added, rho, L, Y)
                    updates = 0
                else:
                    for m in range(added):
                        if not _border(G, idx, k + m, idx[k + m], rho, L):
                            _refactor(G, c, idx, k + m + 1, rho, L, Y)
                            updates = 0
                        else:
                            _forward(c, idx, k + m + 1, L, Y, k + m)
                            updates += 1
                k += added
                wf = np.concatenate((wf, np.zeros(added)))
                fresh = False
                verified = False
                single = added == 1
                dropped_before = dropped
        pending = False
        # Inner loop: move to the equality-constrained optimum on the free set, dropping weights
        # that would turn negative on the way.
        for _inner in range(2 * n + 2):
            if updates > max_updates:
                _refactor(G, c, idx, k, rho, L, Y)
                updates = 0
            z = _solution(idx, k, L, Y)
            if z.min() > 0.0:
                wf = z
                fresh = updates == 0
                block = min(2 * block, n) if dropped == dropped_before else max(1, block // 2)
                break
            verified = False
            alpha, first = np.inf, -1
            for f in range(k):
                if z[f] <= 0.0:
                    step = wf[f] / (wf[f] - z[f])
                    if step < alpha:
                        alpha, first = step, f
            if alpha <= 0.0 and updates > 0 and single:
                # A weight about to leave without moving: rule out rounding in the updates.
                _refactor(G, c, idx, k, rho, L, Y)
                updates = 0
                continue
            new = wf + alpha * (z - wf)
            drop = np.zeros(k, dtype=np.bool_)
            for f in range(k):
                drop[f] = z[f] <= 0.0 and new[f] <= 1e-15 + 1e-12 * abs(wf[f])
            drop[first] = True
            if drop.all():  # impossible for a feasible point; restart at the best vertex
                idx[0] = best
                k = 1
                _refactor(G, c, idx, k, rho, L, Y)
                updates = 0
                wf = np.ones(1)
                fresh = False
                break
            low = k
            for pos in range(k - 1, -1, -1):
                if drop[pos]:
                    _delete(L, k, pos)
                    for f in range(pos, k - 1):
                        idx[f] = idx[f + 1]
                    k -= 1
                    updates += 1
                    dropped += 1
                    low = pos
            _forward(c, idx, k, L, Y, low)
            wf = new[~drop]
    return np.zeros(n), False
