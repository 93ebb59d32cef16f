"""The index: a cross-fitted regression of the long-term outcome on the surrogates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from causal_kit.core.errors import DataError

Predictor = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class IndexFit:
    """A fitted index.

    Attributes
    ----------
    predict
        Features → predicted long-term outcome (the model fitted on the whole reference sample).
    r2_oos
        Out-of-fold R² on the reference sample.
    folds
        Cross-fitting folds.
    cov
        Linear index: the heteroskedasticity-robust (HC1) covariance of the slopes (the
        intercept drops out of any effect); ``None`` for a boosted index.
    bootstrap
        ``bootstrap(n, seed)`` yields predictors refitted on resampled reference users.
    """

    predict: Predictor
    r2_oos: float
    folds: int
    cov: np.ndarray | None
    bootstrap: Callable[[int, int | None], Iterator[Predictor]]


def fit_index(X: np.ndarray, y: np.ndarray, *, model: str, folds: int,
              seed: int | None) -> IndexFit:
    """Fit the index of ``y`` on ``X`` and measure its out-of-fold fit."""
    n = len(y)
    if n < 5 * folds:
        raise DataError(f"the reference sample has {n} users; {folds}-fold cross-fitting needs "
                        f"at least {5 * folds}. Use older cohorts or fewer folds.")
    if np.ptp(y) == 0:
        raise DataError("the long-term outcome does not vary in the reference sample; there is "
                        "nothing for the surrogates to predict.")
    rng = np.random.default_rng(np.random.SeedSequence([seed or 0, 15]))
    fold = rng.permutation(n) % folds
    fitter = _linear if model == "linear" else _boosting
    if model == "linear":
        out = _linear_out_of_fold(X, y, fold, folds)
    else:
        out = np.empty(n)
        for k in range(folds):
            test = fold == k
            out[test] = fitter(X[~test], y[~test], seed)[0](X[test])
    r2 = 1.0 - float(np.sum((y - out) ** 2) / np.sum((y - y.mean()) ** 2))
    predict, cov = fitter(X, y, seed)

    def bootstrap(n_boot: int, boot_seed: int | None) -> Iterator[Predictor]:
        g = np.random.default_rng(np.random.SeedSequence([boot_seed or 0, 16]))
        for _ in range(n_boot):
            idx = g.integers(0, n, n)
            yield fitter(X[idx], y[idx], seed)[0]

    return IndexFit(predict, r2, folds, cov, bootstrap)


def _linear_out_of_fold(X: np.ndarray, y: np.ndarray, fold: np.ndarray,
                        folds: int) -> np.ndarray:
    """Out-of-fold least-squares predictions from each fold's Gram matrix, in two passes."""
    Z = np.column_stack([np.ones(len(y)), X])
    p = Z.shape[1]
    gram = np.zeros((folds, p, p))
    cross = np.zeros((folds, p))
    for k in range(folds):  # a handful of folds, each a vectorised pass
        w = (fold == k).astype(float)
        gram[k] = (Z * w[:, None]).T @ Z
        cross[k] = Z.T @ (w * y)
    total_g, total_c = gram.sum(axis=0), cross.sum(axis=0)
    betas = np.stack([np.linalg.pinv(total_g - gram[k]) @ (total_c - cross[k])
                      for k in range(folds)])
    return np.einsum("ij,ij->i", Z, betas[fold])


def _linear(X: np.ndarray, y: np.ndarray, seed: int | None) -> tuple[Predictor, np.ndarray]:
    Z = np.column_stack([np.ones(len(y)), X])
    ZtZ_inv = np.linalg.pinv(Z.T @ Z)  # p is a handful of surrogates: tiny
    beta = ZtZ_inv @ (Z.T @ y)
    resid = y - Z @ beta
    meat = (Z * resid[:, None] ** 2).T @ Z
    n, k = Z.shape
    cov = ZtZ_inv @ meat @ ZtZ_inv * n / max(n - k, 1)

    def predict(A: np.ndarray) -> np.ndarray:
        return beta[0] + A @ beta[1:]

    return predict, cov[1:, 1:]


def _boosting(X: np.ndarray, y: np.ndarray, seed: int | None) -> tuple[Predictor, None]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                          early_stopping=False, random_state=seed or 0)
    # one OpenMP thread: small fits repeated many times lose more to thread start-up and to
    # busy-waiting on a shared machine than they gain from parallel histograms
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(X, y)

    def predict(A: np.ndarray) -> np.ndarray:
        with threadpool_limits(limits=1, user_api="openmp"):
            return np.asarray(model.predict(A))

    return predict, None
