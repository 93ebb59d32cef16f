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
"""

from __future__ import annotations

import numpy as np

from causal_kit.core.errors import ConvergenceError

_RIDGE_FLOOR = 1e-11  # relative ridge that keeps the reduced systems non-singular


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
        Indices of the weights to start free (a warm start, e.g. all of them for a
        ridge-regularised problem whose solution is dense). Default: the best single donor.

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
    diag = np.diagonal(G)
    scale = max(float(np.max(np.abs(diag))), float(np.max(np.abs(c))), 1e-300)
    rho = float(ridge) + _RIDGE_FLOOR * scale
    max_iter = 20 * n + 100 if max_iter is None else max_iter
    w = np.zeros(n)
    if start is None or len(start) == 0:
        first = int(np.argmin(0.5 * (diag + rho) - c))
        free = [first]
        w[first] = 1.0
        pending = False
    else:
        free = sorted({int(k) for k in start})
        w[free] = 1.0 / len(free)
        pending = True
    thresh = tol * scale
    for _ in range(max_iter):
        if not pending:
            grad = G @ w + rho * w - c
            level = float(np.mean(grad[free]))
            reduced = grad - level
            reduced[free] = 0.0
            j = int(np.argmin(reduced))
            if reduced[j] >= -thresh:
                return _clean(w)
            free.append(j)
        pending = False
        # Inner loop: move to the equality-constrained optimum on the free set, dropping weights
        # that would turn negative on the way.
        for _inner in range(n + 1):
            idx = np.asarray(free)
            z = _equality_solve(G[np.ix_(idx, idx)], c[idx], rho)
            if np.all(z > 0.0):
                w[:] = 0.0
                w[idx] = z
                break
            cur = w[idx]
            neg = z <= 0.0
            steps = cur[neg] / (cur[neg] - z[neg])
            alpha = float(np.min(steps))
            new = cur + alpha * (z - cur)
            drop = neg & (new <= 1e-15 + 1e-12 * np.abs(cur))
            drop[np.flatnonzero(neg)[int(np.argmin(steps))]] = True
            new[drop] = 0.0
            w[:] = 0.0
            w[idx] = new
            free = [int(k) for k, d in zip(idx, drop, strict=True) if not d]
            if not free:  # numerically impossible for a feasible point; restart at the best vertex
                k = int(np.argmin(0.5 * (diag + rho) - c))
                free = [k]
                w[:] = 0.0
                w[k] = 1.0
                break
    raise ConvergenceError(
        f"the simplex weight problem over {n} donors did not settle after {max_iter} active-set "
        "steps; the donors' outcomes may be (nearly) collinear — drop duplicated donors."
    )


def _equality_solve(H: np.ndarray, c: np.ndarray, rho: float) -> np.ndarray:
    """Solve ``min ½ zᵀ(H + ρI)z − cᵀz`` subject to ``Σ z = 1`` (no sign constraint)."""
    k = c.shape[0]
    if k == 1:
        return np.ones(1)
    K = H + rho * np.eye(k)
    try:
        L = np.linalg.cholesky(K)
        a = _chol_solve(L, c)
        b = _chol_solve(L, np.ones(k))
    except np.linalg.LinAlgError:
        a = np.linalg.lstsq(K, c, rcond=None)[0]
        b = np.linalg.lstsq(K, np.ones(k), rcond=None)[0]
    mu = (1.0 - a.sum()) / b.sum()
    return a + mu * b


def _chol_solve(L: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    y = solve_triangular(L, rhs, lower=True, check_finite=False)
    return solve_triangular(L.T, y, lower=False, check_finite=False)


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
