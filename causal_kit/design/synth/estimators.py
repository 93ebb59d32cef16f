"""The three estimators, each fitted on one treated trajectory against a donor matrix.

Notation: ``Yd`` is the donors' outcome matrix ``(J, T)``, ``y1`` the treated trajectory ``(T,)``
(the mean of a cohort's units), and the first ``T0`` periods are pre-launch. Every estimator
returns a :class:`Fit` whose ``gap`` is ``y1`` minus its synthetic path; the effect is the mean
post-launch gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from causal_kit.design.synth.solver import simplex_qp

QP = tuple[np.ndarray, np.ndarray]  # a precomputed (Gram, linear term) pair
# The outer V search: short Nelder–Mead runs (50 iterations per predictor), each restarted from the
# previous end point with a fresh simplex, until a restart gains less than 1e-9 of the loss (at
# most 30 runs per start). A restart re-expands a simplex that has collapsed on the kinks of the
# loss (the inner weights change support as V moves); long runs on a collapsed simplex only spend
# evaluations.
_NM_RESTARTS = 30
_NM_ITER = 50
_NM_GAIN = 1e-9


@dataclass(frozen=True)
class Fit:
    """One fitted synthetic trajectory.

    Attributes
    ----------
    weights
        Donor weights ``(J,)`` (convex for ``sc``/``sdid``; may be negative for ``asc``).
    synthetic
        The synthetic path ``(T,)`` including any intercept.
    gap
        ``y1 − synthetic``.
    T0
        Number of pre-launch periods.
    time_weights
        SDID's pre-period weights ``(T0,)``; ``None`` otherwise.
    extra
        Tuning values chosen by the fit (ridge penalty, regularisation, predictor weights).
    """

    weights: np.ndarray
    synthetic: np.ndarray
    gap: np.ndarray
    T0: int
    time_weights: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def att(self) -> float:
        """Mean post-launch gap."""
        return float(self.gap[self.T0 :].mean())

    @property
    def pre_rmspe(self) -> float:
        """Root mean squared pre-launch gap."""
        return float(np.sqrt(np.mean(self.gap[: self.T0] ** 2)))

    @property
    def post_rmspe(self) -> float:
        """Root mean squared post-launch gap."""
        return float(np.sqrt(np.mean(self.gap[self.T0 :] ** 2)))


# --------------------------------------------------------------------------- sc


def fit_sc(
    Yd: np.ndarray,
    y1: np.ndarray,
    T0: int,
    *,
    intercept: bool = False,
    qp: QP | None = None,
    predictors: Predictors | None = None,
) -> Fit:
    """Abadie-style synthetic control: convex weights matching the pre-launch path.

    Without predictors the weights minimise the pre-launch squared gap
    ``‖y1_pre − Yd_preᵀ w‖²`` (after removing each unit's pre-launch mean when
    ``intercept=True``). With predictors they minimise the ``V``-weighted distance between the
    standardised predictors of the treated unit and its synthetic twin.
    """
    pre = Yd[:, :T0]
    extra: dict[str, Any] = {}
    if predictors is not None:
        w, v = predictors.solve(pre, y1[:T0])
        extra["predictor_weights"] = v
        extra["predictor_names"] = list(predictors.names)
    elif qp is not None:
        w = simplex_qp(*qp)
    else:
        A, b = pre.T, y1[:T0]
        if intercept:
            A = A - A.mean(axis=0)
            b = b - b.mean()
        w = simplex_qp(A.T @ A, A.T @ b)
    synthetic = w @ Yd
    if intercept:
        synthetic = synthetic + (y1[:T0].mean() - synthetic[:T0].mean())
    return Fit(weights=w, synthetic=synthetic, gap=y1 - synthetic, T0=T0, extra=extra)


@dataclass(frozen=True)
class Predictors:
    """Abadie's predictor matching: standardised predictors and their importance weights ``V``.

    Attributes
    ----------
    X0
        Donors' predictors ``(k, J)``.
    x1
        Treated unit's predictors ``(k,)``.
    names
        Predictor names.
    v
        Fixed importance weights, or ``None`` to choose them by minimising the pre-launch
        squared gap of the outcome (Abadie, Diamond & Hainmueller 2010).
    """

    X0: np.ndarray
    x1: np.ndarray
    names: tuple[str, ...]
    v: np.ndarray | None = None

    def _scaled(self) -> tuple[np.ndarray, np.ndarray]:
        full = np.column_stack([self.X0, self.x1])
        sd = full.std(axis=1, ddof=1)
        sd = np.where(sd > 0, sd, 1.0)
        return self.X0 / sd[:, None], self.x1 / sd

    def weights_for(
        self, v: np.ndarray, scaled: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """Return the donor weights for importance weights ``v``.

        ``scaled`` passes the standardised predictors when they are already at hand.
        """
        X0, x1 = self._scaled() if scaled is None else scaled
        Xv = X0 * v[:, None]
        return simplex_qp(X0.T @ Xv, Xv.T @ x1)

    def solve(self, pre: np.ndarray, y1_pre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return donor weights and the importance weights used.

        Without fixed ``V``: the nested search of Abadie, Diamond & Hainmueller — the outer
        problem chooses ``V`` (on the simplex) to minimise the pre-launch outcome MSPE, the
        inner one solves the donor weights for that ``V`` exactly (:func:`simplex_qp`). The
        outer search is derivative-free (short Nelder–Mead runs, each restarted from the last
        end point, until a restart no longer improves the loss) from three starts: equal
        weights, the regression-based ``V`` of R ``Synth``, and inverse distances between the
        treated unit's and the donors' predictors; the best end point wins.
        """
        if self.v is not None:
            v = np.asarray(self.v, dtype=float)
            return self.weights_for(v), v
        scaled = self._scaled()
        X0, x1 = scaled
        k = X0.shape[0]

        def loss(theta: np.ndarray) -> float:
            v = np.abs(theta) / max(np.abs(theta).sum(), 1e-300)
            w = self.weights_for(v, scaled=scaled)
            r = y1_pre - w @ pre
            return float(r @ r / r.size)

        starts = [np.full(k, 1.0 / k), _inverse_spread_start(X0, x1)]
        regression = _regression_start(X0, x1, pre, y1_pre)
        if regression is not None:
            starts.append(regression)
        best: tuple[float, np.ndarray] | None = None
        for x0 in starts:
            # Nelder–Mead restarted from its own end point until a restart no longer improves:
            # a single run often stalls on a collapsed simplex short of the optimum.
            val, cand = loss(x0), x0
            for _restart in range(_NM_RESTARTS):
                res = minimize(
                    loss,
                    cand,
                    method="Nelder-Mead",
                    options={"maxiter": _NM_ITER * k, "xatol": 1e-8, "fatol": 1e-12},
                )
                new = np.abs(res.x) / max(np.abs(res.x).sum(), 1e-300)
                new_val = loss(new)
                if not new_val < val - _NM_GAIN * abs(val):
                    break
                val, cand = new_val, new
            if best is None or val < best[0]:
                best = (val, cand)
        assert best is not None
        v = best[1]
        return self.weights_for(v), v


def _inverse_spread_start(X0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Return a starting ``V`` favouring predictors on which the treated unit is typical."""
    d = np.abs(X0 - x1[:, None]).mean(axis=1)
    v = 1.0 / np.maximum(d, 1e-12 * max(float(d.max()), 1e-300))
    return v / v.sum()


def _regression_start(
    X0: np.ndarray, x1: np.ndarray, pre: np.ndarray, y1_pre: np.ndarray
) -> np.ndarray | None:
    """Return a starting ``V`` from regressing pre-launch outcomes on predictors (Synth)."""
    X = np.column_stack([X0, x1]).T
    X = np.column_stack([np.ones(X.shape[0]), X])
    Z = np.vstack([pre, y1_pre])
    try:
        beta = np.linalg.lstsq(X, Z, rcond=None)[0][1:]
    except np.linalg.LinAlgError:
        return None
    d = np.einsum("ij,ij->i", beta, beta)
    if not np.isfinite(d).all() or d.sum() <= 0:
        return None
    return d / d.sum()


# --------------------------------------------------------------------------- asc


def ridge_lambdas(B: np.ndarray, n_lambda: int = 20, min_ratio: float = 1e-8) -> np.ndarray:
    """Return the ridge penalty grid of augsynth: ``s₁² · r^(k−1)``, ``k = 0…n_lambda``."""
    s1 = np.linalg.svd(B, compute_uv=False)[0]
    scaler = min_ratio ** (1.0 / n_lambda)
    return s1**2 * scaler ** (np.arange(0, n_lambda + 1) - 1.0)


def choose_lambda(B: np.ndarray, x: np.ndarray) -> tuple[float, dict[str, Any]]:
    """Choose the ridge penalty by leave-one-pre-period-out cross-validation (augsynth).

    ``B`` is the donors' pre-launch outcomes centred on the donor mean ``(T0, J)`` and ``x`` the
    treated trajectory centred the same way. Fold ``i`` holds out period ``i``
    (``i = 0…T0−2``), fits SC weights plus the ridge correction on the rest and scores the
    held-out period. The largest penalty within one standard error of the minimum wins.
    """
    T0 = B.shape[0]
    lambdas = ridge_lambdas(B)
    G, c = B.T @ B, B.T @ x
    # One eigendecomposition of BᵀB serves every fold and penalty: dropping period i is a rank-one
    # downdate, handled by Sherman–Morrison. With M = BᵀB + λI, the held-out correction
    # b_iᵀ(M − b_i b_iᵀ)⁻¹ B₋ᵢᵀ r equals α / (1 − β), α = b_iᵀM⁻¹B₋ᵢᵀr, β = b_iᵀM⁻¹b_i.
    s2, V = np.linalg.eigh(G)
    s2 = np.clip(s2, 0.0, None)
    inv = 1.0 / (s2[:, None] + lambdas[None, :])  # (J, L)
    errors = np.empty((T0 - 1, lambdas.size))
    for i in range(T0 - 1):
        bi = B[i]
        w = simplex_qp(G - np.outer(bi, bi), c - bi * x[i])
        r = x - B @ w
        r[i] = 0.0
        b_hat = V.T @ bi
        z_hat = V.T @ (B.T @ r)
        alpha = (b_hat * z_hat) @ inv
        beta = (b_hat * b_hat) @ inv
        corr = alpha / (1.0 - beta)
        errors[i] = (x[i] - bi @ w - corr) ** 2
    means = errors.mean(axis=0)
    ses = errors.std(axis=0, ddof=1) / np.sqrt(T0 - 1)
    k = int(np.argmin(means))
    lam = float(lambdas[means <= means[k] + ses[k]].max())
    return lam, {"lambdas": lambdas, "cv_error": means, "cv_se": ses}


def fit_asc(
    Yd: np.ndarray,
    y1: np.ndarray,
    T0: int,
    *,
    lam: float | None = None,
    qp: QP | None = None,
) -> Fit:
    """Augmented synthetic control with a ridge outcome model (Ben-Michael, Feller & Rothstein).

    SC weights on the pre-launch path are corrected by the ridge regression of the remaining
    imbalance on the donors' centred pre-launch outcomes:
    ``w = w_sc + Bᵀ(BBᵀ + λI)⁻¹(x − B w_sc)``. The correction sums to zero, so ``w`` still sums
    to one but may be negative. ``λ`` is cross-validated unless given.
    """
    pre = Yd[:, :T0]
    m = pre.mean(axis=0)
    B = (pre - m).T
    x = y1[:T0] - m
    extra: dict[str, Any] = {}
    if lam is None:
        lam, cv = choose_lambda(B, x)
        extra["cv"] = cv
    w_sc = simplex_qp(*qp) if qp is not None else simplex_qp(B.T @ B, B.T @ x)
    w = w_sc + ridge_correction(B, x - B @ w_sc, lam)
    extra.update(ridge_penalty=lam, sc_weights=w_sc)
    synthetic = w @ Yd
    return Fit(weights=w, synthetic=synthetic, gap=y1 - synthetic, T0=T0, extra=extra)


def ridge_correction(B: np.ndarray, residual: np.ndarray, lam: float) -> np.ndarray:
    """``Bᵀ(BBᵀ + λI)⁻¹ r``, computed through the smaller of the two Gram matrices."""
    T0, J = B.shape
    if T0 <= J:
        return B.T @ np.linalg.solve(B @ B.T + lam * np.eye(T0), residual)
    return np.linalg.solve(B.T @ B + lam * np.eye(J), B.T @ residual)


# --------------------------------------------------------------------------- sdid


@dataclass(frozen=True)
class Moments:
    """Sums over the donors' pre-launch outcomes ``P`` (donors × periods) that SDID needs.

    ``gram`` is ``(P − 1sᵀ)ᵀ(P − 1sᵀ)`` (periods × periods) for a per-period ``shift`` ``s`` close
    to the donors' mean (so that centring on that mean later cancels no large numbers); ``d1``
    and ``d2`` are the sum and the sum of squares of the first differences along periods, over
    ``n_diffs`` differences. Refits on other donor sets get them by adding and removing units'
    shares from a panel-wide total (:meth:`causal_kit.design.synth.engine.Engine.moments`, with
    the mean of all units as the shift) instead of recomputing them.
    """

    gram: np.ndarray
    shift: np.ndarray
    d1: float
    d2: float
    n_diffs: int

    @classmethod
    def of(cls, pre: np.ndarray) -> Moments:
        """Compute the moments of ``pre`` directly (shifted by its own mean)."""
        diffs = np.diff(pre, axis=1)
        shift = pre.mean(axis=0)
        centred = pre - shift
        return cls(centred.T @ centred, shift, float(diffs.sum()), float((diffs**2).sum()),
                   int(diffs.size))

    def centred_gram(self, mean: np.ndarray, n: int) -> np.ndarray:
        """``(P − 1mᵀ)ᵀ(P − 1mᵀ)`` for the donors' mean ``m`` over ``n`` donors."""
        d = mean - self.shift
        return self.gram - n * np.outer(d, d)

    @property
    def noise_level(self) -> float:
        """Standard deviation (``ddof=1``) of the first differences."""
        n = self.n_diffs
        if n < 2:
            return 0.0
        return float(np.sqrt(max(self.d2 - self.d1**2 / n, 0.0) / (n - 1)))


def fit_sdid(
    Yd: np.ndarray,
    y1: np.ndarray,
    T0: int,
    n_treated: int,
    *,
    qp_omega: QP | None = None,
    eta_lambda: float = 1e-6,
    omega_start: np.ndarray | None = None,
    lambda_start: np.ndarray | None = None,
    moments: Moments | None = None,
) -> Fit:
    """Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager).

    Unit weights ``ω`` solve ``min ‖Ã ω − b̃‖² + T0 ζ_ω² ‖ω‖²`` over the simplex, with ``Ã``
    the donors' pre-launch outcomes and ``b̃`` the treated pre-launch path, both centred over
    time (a free intercept); ``ζ_ω = (N1·T1)^¼ σ`` with ``σ`` the standard deviation of the
    donors' first differences. Time weights ``λ`` solve the transposed problem (pre periods
    predicting the donors' post-launch mean, centred over donors) with ``ζ_λ = 10⁻⁶ σ``.
    The effect is the weighted double difference. ``omega_start`` and ``lambda_start`` warm-start
    the two weight problems (indices of donors / pre-launch periods expected to carry weight,
    e.g. the main fit's supports in a placebo refit); they change the work, not the solution.
    ``moments`` gives the donors' pre-launch period Gram matrix and first-difference sums when a
    caller has them from shared work (refits); otherwise they are computed here.
    """
    pre, post = Yd[:, :T0], Yd[:, T0:]
    J, T1 = Yd.shape[0], Yd.shape[1] - T0
    if moments is None:
        moments = Moments.of(pre)
    sigma = moments.noise_level
    zeta_omega = (n_treated * T1) ** 0.25 * sigma
    zeta_lambda = eta_lambda * sigma
    if qp_omega is None:
        A = pre.T - pre.T.mean(axis=0)
        b = y1[:T0] - y1[:T0].mean()
        qp_omega = (A.T @ A, A.T @ b)
    ridge = T0 * zeta_omega**2
    if omega_start is None:
        omega_start = np.arange(J)
    omega = simplex_qp(*qp_omega, ridge=ridge, start=omega_start)
    # λ's problem on the pre periods centred over donors
    bl = post.mean(axis=1)
    bl = bl - bl.mean()
    lam = simplex_qp(moments.centred_gram(pre.mean(axis=0), J), pre.T @ bl,
                     ridge=J * zeta_lambda**2, start=lambda_start)
    offset = lam @ y1[:T0] - omega @ pre @ lam
    synthetic = omega @ Yd + offset
    return Fit(
        weights=omega,
        synthetic=synthetic,
        gap=y1 - synthetic,
        T0=T0,
        time_weights=lam,
        extra={"noise_level": sigma, "zeta_omega": zeta_omega, "zeta_lambda": zeta_lambda},
    )
