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
Hessian ``(G + ρI)_FF`` is carried from step to step (a bordering step when an index enters, a
rank-one update when one leaves) instead of a fresh ``O(k³)`` factorisation; the loop runs
compiled (:mod:`causal_kit.design.synth._kernel`), so a step costs its ``O(k²)`` arithmetic and
no interpreter overhead. Once the optimality conditions hold, the equality problem on the final
free set is solved once more from a fresh factorisation and the conditions are checked again, so
the returned weights are exactly those a factorise-every-step solver returns (the re-solve is
skipped when the last solve already came from a fresh factorisation of the final free set, as
after a good warm start); if the fresh solve disagrees (rounding in the updates on an
ill-conditioned problem), the loop continues from the fresh factorisation. ``start``
warm-starts the free set (SDID refits of the treated units start from the main fit's support);
without one the solver starts at the best vertex and brings indices in blocks that double while
they stick, so a dense optimum is reached in a few factorisations.
"""

from __future__ import annotations

import numpy as np

from causal_kit.core.errors import ConvergenceError, SpecificationError
from causal_kit.design.synth._kernel import SingularBlockError, active_set

_RIDGE_FLOOR = 1e-11  # relative ridge that keeps the reduced systems non-singular
_MAX_UPDATES = 40  # rank-one updates between fresh factorisations (bounds accumulated rounding)


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
        If the active set keeps changing past ``max_iter`` steps, or a block of ``G`` cannot be
        factorised (``G`` not positive semi-definite, or numerically singular beyond the ridge).
    SpecificationError
        If ``G`` or ``c`` holds a NaN or an infinite value.
    """
    n = c.shape[0]
    if n == 1:
        return np.ones(1)
    G = np.ascontiguousarray(G, dtype=float)
    c = np.ascontiguousarray(c, dtype=float)
    if not (np.isfinite(G).all() and np.isfinite(c).all()):
        raise SpecificationError(
            "the simplex weight problem has NaN or infinite entries; check the outcome for "
            "missing or infinite values in the pre-launch periods."
        )
    diag = np.diagonal(G)
    scale = max(float(np.max(np.abs(diag))), float(np.max(np.abs(c))), 1e-300)
    rho = float(ridge) + _RIDGE_FLOOR * scale
    max_iter = 20 * n + 100 if max_iter is None else max_iter
    first = np.empty(0, dtype=np.int64) if start is None else np.unique(
        np.asarray(start, dtype=np.int64))
    try:
        w, settled = active_set(G, c, rho, tol * scale, first, max_iter, _MAX_UPDATES)
    except SingularBlockError as exc:
        raise ConvergenceError(
            f"the simplex weight problem over {n} donors is numerically singular (a block of "
            "their Gram matrix cannot be factorised even with a ridge); some donors' outcomes "
            "are (nearly) exact copies or combinations of others, or differ in scale by many "
            "orders of magnitude — drop duplicated donors or rescale the outcome."
        ) from exc
    if not settled:
        raise ConvergenceError(
            f"the simplex weight problem over {n} donors did not settle after {max_iter} "
            "active-set steps; the donors' outcomes may be (nearly) collinear — drop duplicated "
            "donors."
        )
    return w

