"""The structural time-series model of ITS: its specification, its fit and its joint forecast.

The model is statsmodels' ``UnobservedComponents``: a level (random walk, optionally with a
fixed drift or a random slope), deterministic trigonometric seasonalities and the control series
as regressors whose coefficients are *states* (``mle_regression=False``), so the Kalman filter
carries their uncertainty into the forecast. Only the variances are estimated by maximum
likelihood. Given those, the forecast of the post-launch path is exactly Gaussian; its mean and its
full covariance across periods are computed here from the state-space matrices, so cumulative and
average effects carry the forecast's joint uncertainty (the forecast errors of neighbouring
periods are strongly correlated: a level shock persists).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal_kit.core.errors import ConvergenceError

# statsmodels' names of the level/trend components of each ``trend=`` option
TREND_SPEC = {"level": "llevel", "drift": "lldtrend", "trend": "lltrend"}
HARMONICS_WEEK = 3  # a 7-day cycle has 3 harmonics: the full weekly pattern
HARMONICS_YEAR = 4  # a smooth yearly shape (four harmonics: peaks, troughs, shoulders)
PROPOSAL_DF = 4  # the importance proposal of the variances: a Student t on 4 df ...
PROPOSAL_INFLATION = 1.5  # ... 1.5 times as wide as the normal approximation


@dataclass(frozen=True)
class ModelSpec:
    """What the model contains.

    Attributes
    ----------
    trend
        ``"level"``, ``"drift"`` or ``"trend"`` (see :func:`causal_kit.design.its.its`).
    seasons
        Cycle lengths in periods (e.g. ``(7.0, 365.25)`` for daily data).
    k_controls
        Number of control series (regressors).
    """

    trend: str
    seasons: tuple[float, ...]
    k_controls: int

    @property
    def k_states(self) -> int:
        """Number of state variables of the model."""
        trend = {"level": 1, "drift": 2, "trend": 2}[self.trend]
        return trend + sum(2 * harmonics(s) for s in self.seasons) + self.k_controls


def harmonics(period: float) -> int:
    """Harmonics used for a cycle of ``period`` periods (all of them for a short cycle)."""
    return HARMONICS_WEEK if period <= 7 else min(HARMONICS_YEAR, int(period // 2))


@dataclass(frozen=True)
class Fit:
    """A fitted model and what the forecast needs from it."""

    result: Any
    spec: ModelSpec

    @property
    def params(self) -> dict[str, float]:
        """The estimated variances, by statsmodels' parameter name."""
        names = self.result.model.param_names
        values = np.asarray(self.result.params, dtype=float)
        return {str(n): float(v) for n, v in zip(names, values, strict=True)}

    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """Control coefficients and their standard errors, filtered to the last pre period."""
        k = self.spec.k_controls
        if k == 0:
            return np.zeros(0), np.zeros(0)
        mean = np.asarray(self.result.filtered_state)[-k:, -1]
        cov = np.asarray(self.result.filtered_state_cov)[-k:, -k:, -1]
        return mean, np.sqrt(np.clip(np.diag(cov), 0, None))


def fit_model(y: np.ndarray, controls: np.ndarray, spec: ModelSpec) -> Fit:
    """Fit the model to a pre-launch series by maximum likelihood.

    Parameters
    ----------
    y
        Outcome, one value per period.
    controls
        ``(len(y), k)`` control series (``k`` may be 0).
    spec
        The model's components.

    Raises
    ------
    ConvergenceError
        If the likelihood cannot be maximised to finite values.
    """
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    seasonal = [{"period": float(s), "harmonics": harmonics(s)} for s in spec.seasons]
    model = UnobservedComponents(
        np.asarray(y, dtype=float),
        level=TREND_SPEC[spec.trend],
        freq_seasonal=seasonal or None,
        stochastic_freq_seasonal=[False] * len(seasonal) if seasonal else None,
        exog=controls if spec.k_controls else None,
        mle_regression=False,
    )
    with warnings.catch_warnings():
        # statsmodels warns about optimiser details; a failed fit is caught below instead
        warnings.simplefilter("ignore")
        result = model.fit(disp=False, maxiter=200, cov_type="none")
        if not result.mle_retvals.get("converged", True):
            result = model.fit(disp=False, method="nm", maxiter=2000, cov_type="none",
                               start_params=result.params)
    if not np.all(np.isfinite(np.asarray(result.params))) or not np.isfinite(result.llf):
        raise ConvergenceError(
            "The time-series model could not be fitted to the pre-launch series: the likelihood "
            "is not finite. Check the outcome for extreme values or a constant stretch, or use "
            "trend='level'."
        )
    return Fit(result=result, spec=spec)


def predictive(
    fit: Fit, controls: np.ndarray, steps: int, *, n_param_draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast mean and covariance of the next ``steps`` outcomes, parameter uncertainty included.

    The mean is the forecast at the maximum-likelihood variances. The covariance averages the
    exact forecast covariance over the variances' uncertainty (law of total covariance: the
    weighted mean of the forecast covariances plus the weighted covariance of the forecast means).
    The variances are importance-sampled: proposals from a Student t (4 df, 1.5 times the width of
    the normal approximation at the maximum) on statsmodels' unconstrained scale, the standard
    deviations, weighted by likelihood over proposal density, i.e. a posterior under a flat prior
    on the standard deviations. That reaches the long right tail of a random-walk variance that
    the normal approximation misses when the estimate sits near zero. Plug-in variances give 95%
    intervals that cover 88–91% on a few months of history (``benchmarks/bench_its.py``).

    Parameters
    ----------
    fit
        The fitted pre-period model.
    controls
        ``(steps, k)`` control series over the forecast periods.
    steps
        Number of periods to forecast.
    n_param_draws
        Draws of the variances (0: plug-in only).
    rng
        Source of the draws.
    """
    model = fit.result.model
    best = np.asarray(fit.result.params, dtype=float)
    mean, cov = _moments(model, best, controls, steps)
    if n_param_draws <= 0:
        return mean, cov
    u_hat = np.asarray(model.untransform_params(best), dtype=float)
    k = len(u_hat)
    scale = PROPOSAL_INFLATION * _draw_scale(model, u_hat)
    x = rng.standard_normal((n_param_draws, k))
    x /= np.sqrt(rng.chisquare(PROPOSAL_DF, (n_param_draws, 1)) / PROPOSAL_DF)
    log_q = -(PROPOSAL_DF + k) / 2 * np.log1p((x**2).sum(axis=1) / PROPOSAL_DF)
    means = np.empty((n_param_draws, steps))
    covs = np.empty((n_param_draws, steps, steps))
    log_lik = np.empty(n_param_draws)
    for p in range(n_param_draws):
        theta = np.asarray(model.transform_params(u_hat + scale @ x[p]))
        means[p], covs[p], log_lik[p] = _moments(model, theta, controls, steps, loglike=True)
    model.update(best)  # leave the model at the estimate
    log_w = log_lik - log_q
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    centre = w @ means
    dev = means - centre
    spread = (dev * w[:, None]).T @ dev
    return mean, np.einsum("p,pij->ij", w, covs) + spread


def _draw_scale(model: Any, u_hat: np.ndarray) -> np.ndarray:
    """Square root of the inverse observed information on the unconstrained scale."""
    k = len(u_hat)
    step = 1e-4 * np.maximum(np.abs(u_hat), 1.0)
    hess = np.empty((k, k))

    def ll(u: np.ndarray) -> float:
        return float(model.loglike(u, transformed=False))

    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step[i], np.eye(k)[j] * step[j]
            val = (ll(u_hat + ei + ej) - ll(u_hat + ei - ej) - ll(u_hat - ei + ej)
                   + ll(u_hat - ei - ej)) / (4 * step[i] * step[j])
            hess[i, j] = hess[j, i] = val
    info = -hess
    vals, vecs = np.linalg.eigh((info + info.T) / 2)
    vals = np.maximum(vals, 1e-6 * max(float(vals.max()), 1e-12))
    return vecs @ np.diag(1 / np.sqrt(vals))


def _moments(
    model: Any, params: np.ndarray, controls: np.ndarray, steps: int, *, loglike: bool = False
) -> Any:
    """Exact Gaussian forecast mean and covariance of the next ``steps`` outcomes at ``params``.

    With ``loglike=True`` the pre-period log-likelihood at ``params`` is returned third.
    """
    kf = model.filter(params, low_memory=True, return_ssm=True)
    T = _matrix(model["transition"])
    R = _matrix(model["selection"])
    Q = _matrix(model["state_cov"])
    H = float(np.asarray(model["obs_cov"]).ravel()[0])
    k = controls.shape[1]
    Z = np.tile(_matrix(model["design"])[0], (steps, 1))
    if k:
        Z[:, -k:] = controls
    a = np.asarray(kf.predicted_state)[:, -1].copy()
    V = np.asarray(kf.predicted_state_cov)[:, :, -1].copy()
    RQR = R @ Q @ R.T
    mean = np.empty(steps)
    cov = np.empty((steps, steps))
    M = np.zeros((T.shape[0], steps))  # column j: Cov(state now, y_j) for the past j
    for i in range(steps):
        if i:
            a = T @ a
            V = T @ V @ T.T + RQR
            M[:, :i] = T @ M[:, :i]
        z = Z[i]
        mean[i] = z @ a
        cov[i, :i] = z @ M[:, :i]
        cov[:i, i] = cov[i, :i]
        Vz = V @ z
        cov[i, i] = z @ Vz + H
        M[:, i] = Vz
    if loglike:
        return mean, cov, float(kf.llf)
    return mean, cov


def _matrix(value: Any) -> np.ndarray:
    arr = np.asarray(value)
    return arr[:, :, 0] if arr.ndim == 3 else arr
