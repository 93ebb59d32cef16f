"""The simplex QP: warm starts and factor updates leave the exact optimum unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit.design.synth.solver import simplex_qp


def _kkt_gap(G: np.ndarray, c: np.ndarray, ridge: float, w: np.ndarray) -> float:
    grad = G @ w + ridge * w - c
    on = w > 0
    level = grad[on].mean()
    return max(float(np.ptp(grad[on])), float(level - grad[~on].min()) if (~on).any() else 0.0)


@pytest.mark.parametrize("case", range(6))
def test_warm_and_cold_starts_reach_the_same_optimum(case: int) -> None:
    rng = np.random.default_rng(case)
    T, J = (40, 120) if case % 2 else (120, 40)  # more donors than periods: singular Gram
    A = rng.normal(size=(T, 3)).cumsum(axis=0) @ rng.uniform(0, 2, size=(3, J))
    A = A + 50 + rng.normal(0, 1, size=(T, J))
    b = A[:, :5].mean(axis=1) + rng.normal(0, 0.5, T)
    G, c = A.T @ A, A.T @ b
    ridge = [0.0, 0.0, 1e-2 * np.trace(G) / J][case % 3]
    cold = simplex_qp(G, c, ridge)
    for start in (np.arange(J), rng.choice(J, J // 3, replace=False), np.flatnonzero(cold > 0)):
        warm = simplex_qp(G, c, ridge, start=start)
        assert np.abs(warm - cold).max() < 1e-9
    assert cold.min() >= 0 and cold.sum() == pytest.approx(1.0, abs=1e-12)
    assert _kkt_gap(G, c, ridge, cold) < 1e-7 * np.abs(c).max()


def test_bad_problems_get_clear_errors() -> None:
    from causal_kit.core.errors import ConvergenceError, SpecificationError

    G = np.eye(3)
    with pytest.raises(SpecificationError, match="NaN or infinite"):
        simplex_qp(G, np.array([1.0, np.nan, 0.0]))
    # not positive semi-definite: no block can be factorised
    with pytest.raises(ConvergenceError, match="numerically singular"):
        simplex_qp(-G, np.ones(3))


def test_dense_optimum_from_a_vertex_matches_a_dense_start() -> None:
    # SDID-like ridge problems have dense optima: the solver reaches them from a vertex in
    # growing blocks (one fresh factorisation each) and agrees with a start from every index.
    rng = np.random.default_rng(11)
    T, J = 30, 150
    A = rng.normal(size=(T, 2)).cumsum(axis=0) @ rng.uniform(0, 2, size=(2, J))
    A = A + rng.normal(0, 1, size=(T, J))
    b = A[:, :4].mean(axis=1) + rng.normal(0, 0.5, T)
    G, c = A.T @ A, A.T @ b
    ridge = 1.0 * np.trace(G) / J
    cold = simplex_qp(G, c, ridge)
    dense = simplex_qp(G, c, ridge, start=np.arange(J))
    assert (cold > 0).sum() > 100  # a dense optimum: many blocks entered
    assert np.abs(cold - dense).max() < 1e-10
    assert _kkt_gap(G, c, ridge, cold) < 1e-7 * np.abs(c).max()
