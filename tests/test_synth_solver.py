"""The simplex QP: warm starts and factor updates leave the exact optimum unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit.design.synth.solver import guess_support, simplex_qp


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


@pytest.mark.parametrize("case", range(4))
def test_guessed_support_is_the_optimum_support_on_ridge_problems(case: int) -> None:
    # SDID-like unit-weight problems: a ridge makes the optimum dense; the primal-dual guess finds
    # its support, and the exact solver started there returns the cold-start optimum.
    rng = np.random.default_rng(100 + case)
    T, J = 30, 80
    A = rng.normal(size=(T, 2)).cumsum(axis=0) @ rng.uniform(0, 2, size=(2, J))
    A = A + rng.normal(0, 1, size=(T, J))
    A = A - A.mean(axis=0)
    b = A[:, :4].mean(axis=1) + rng.normal(0, 0.5, T)
    G, c = A.T @ A, A.T @ b
    ridge = [1e-3, 1e-2, 1e-1, 1.0][case] * np.trace(G) / J
    cold = simplex_qp(G, c, ridge)
    guess = guess_support(G, c, ridge)
    assert guess is not None
    np.testing.assert_array_equal(guess, np.flatnonzero(cold > 0))
    assert 1 < guess.size < J
    warm = simplex_qp(G, c, ridge, start=guess)
    assert np.abs(warm - cold).max() < 1e-12


def test_guess_gives_up_rather_than_cycle() -> None:
    # A step budget of one cannot settle from the full set on a sparse problem: no guess.
    rng = np.random.default_rng(7)
    A = rng.normal(size=(40, 30))
    b = A[:, 0] + 0.1 * rng.normal(size=40)
    assert guess_support(A.T @ A, A.T @ b, max_iter=1) is None
