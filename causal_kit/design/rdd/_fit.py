"""Local polynomial RD estimates with robust bias-corrected inference at given bandwidths.

The computations follow Calonico, Cattaneo and Titiunik (2014) and Calonico, Cattaneo, Farrell
and Titiunik (2019) as implemented in rdrobust: a conventional order-``p`` fit with bandwidth
``h``, a bias correction from an order-``q`` fit with bandwidth ``b``, and a variance of the
bias-corrected estimator that accounts for the estimated bias. Covariates enter linearly and
common to both sides; a fuzzy design is the ratio of the outcome and take-up jumps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from causal_kit.core.errors import DataError
from causal_kit.design.rdd._locpoly import (
    cached_nn,
    hc_residuals,
    inv_sym,
    kernel_weights,
    n_distinct,
    quad_variance,
    vander,
    window,
    wsum,
)
from causal_kit.design.rdd._sample import Sample


@dataclass(frozen=True)
class FitOptions:
    """Estimator settings shared by the main fit, the bandwidth search and the checks."""

    p: int = 1
    q: int = 2
    kernel: str = "triangular"
    vce: str = "nn"
    nnmatch: int = 3


@dataclass
class _Side:
    n_h: int
    n_b: int
    ell_p: np.ndarray
    ell_bc: np.ndarray
    res_h: np.ndarray
    res_b: np.ndarray
    beta_p: np.ndarray  # (p+1, k) in the running variable's units
    beta_bc0: np.ndarray  # (k,)
    u_p: np.ndarray  # R_p' W_h D, scaled basis
    zwd: np.ndarray  # Z' W_h D
    inv_gp: np.ndarray  # scaled basis
    cluster: np.ndarray | None
    n_clusters: int


@dataclass(frozen=True)
class RdFit:
    """What one RD fit returns (all on the outcome's scale; jumps are right minus left)."""

    tau: float
    tau_bc: float
    se: float
    se_rb: float
    h: tuple[float, float]
    b: tuple[float, float]
    n_h: tuple[int, int]
    n_b: tuple[int, int]
    tau_side: tuple[float, float]
    tau_bc_side: tuple[float, float]
    beta_p: tuple[np.ndarray, np.ndarray]
    first_stage: tuple[float, float, float, float] | None  # tau_T, tau_T_bc, se_T, se_T_rb
    gamma: np.ndarray | None
    n_clusters: tuple[int, int] | None


def _side(
    x: np.ndarray,
    d: np.ndarray,
    cl: np.ndarray | None,
    h: float,
    b: float,
    opt: FitOptions,
    left: bool,
    cache: dict,
) -> _Side:
    p, q = opt.p, opt.q
    sl = window(x, max(h, b), opt.kernel, left)
    xs, ds = x[sl], d[sl]
    wh = kernel_weights(xs, h, opt.kernel)
    wb = kernel_weights(xs, b, opt.kernel)
    n_h, n_b = int(np.count_nonzero(wh > 0)), int(np.count_nonzero(wb > 0))
    m_h, m_b = n_distinct(xs[wh > 0]), n_distinct(xs[wb > 0])
    if m_h < p + 1 or m_b < q + 1:
        name = "below" if left else "at or above"
        raise DataError(
            f"Only {m_h} distinct running-variable values {name} the cutoff within the "
            f"bandwidth h = {h:.6g} ({m_b} within b = {b:.6g}); a polynomial of order "
            f"p = {p} (bias order q = {q}) needs at least {p + 1} ({q + 1}). "
            "Use a wider bandwidth or a lower order."
        )
    u = xs / h
    rq = vander(u, q)
    rp = rq[:, : p + 1]
    rwp = rp * wh[:, None]
    inv_gp = inv_sym(rwp.T @ rp)
    rwq = rq * wb[:, None]
    inv_gq = inv_sym(rwq.T @ rq)
    lvec = rwp.T @ (u ** (p + 1))
    m = (rq @ inv_gq[p + 1, :]) * wb
    qq = rwp - np.outer(m, lvec)
    u_p = rwp.T @ ds
    beta_p_s = inv_gp @ u_p
    beta_q_s = inv_gq @ (rwq.T @ ds)
    ell_p = rwp @ inv_gp[:, 0]
    ell_bc = qq @ inv_gp[:, 0]
    beta_bc0 = wsum(ell_bc, ds)
    scale_p = h ** -np.arange(p + 1, dtype=float)
    beta_p = beta_p_s * scale_p[:, None]
    if opt.vce == "nn" and cl is None:
        key = ("left" if left else "right", sl.start, sl.stop, opt.nnmatch)
        res_h = cached_nn(cache, key, xs, ds, opt.nnmatch)
        res_b = res_h
    else:
        vce = "plain" if cl is not None else opt.vce
        hii_p = hii_q = None
        if vce in ("hc2", "hc3"):
            hii_p = np.einsum("ij,ij->i", rp @ inv_gp, rwp)
            hii_q = np.einsum("ij,ij->i", rq @ inv_gq, rwq)
        res_h = hc_residuals(ds, rp @ beta_p_s, vce, p + 1, hii_p)
        res_b = hc_residuals(ds, rq @ beta_q_s, vce, q + 1, hii_q)
    cls = None if cl is None else cl[sl]
    n_cl = 0 if cls is None else int(np.count_nonzero(np.bincount(cls[wh > 0])))
    return _Side(
        n_h=n_h, n_b=n_b, ell_p=ell_p, ell_bc=ell_bc, res_h=res_h, res_b=res_b,
        beta_p=beta_p, beta_bc0=beta_bc0, u_p=u_p,
        zwd=(ds * wh[:, None]).T @ ds if d.shape[1] > 1 else np.zeros((1, 1)),
        inv_gp=inv_gp, cluster=cls, n_clusters=n_cl,
    )


def covariate_gamma(sides: tuple[_Side, _Side], n_covs: int, n_lead: int) -> np.ndarray:
    """Coefficients of the covariates, common to both sides, after partialling out the fit."""
    cols_z = np.arange(n_lead, n_lead + n_covs)
    zwz = np.zeros((n_covs, n_covs))
    zwy = np.zeros((n_covs, n_lead))
    for s in sides:
        zwd = s.zwd[cols_z, :]
        uigu = s.u_p[:, cols_z].T @ s.inv_gp @ s.u_p
        zwz += zwd[:, cols_z] - uigu[:, cols_z]
        zwy += zwd[:, :n_lead] - uigu[:, :n_lead]
    return np.linalg.pinv(zwz) @ zwy


def fit(
    sample: Sample,
    h: tuple[float, float],
    b: tuple[float, float],
    opt: FitOptions,
) -> RdFit:
    """Estimate the RD jump at bandwidths ``h`` (estimation) and ``b`` (bias), left and right.

    Raises
    ------
    DataError
        If a side has too few distinct running-variable values inside its window.
    """
    cache = sample.nn_cache
    left = _side(sample.xl, sample.dl, sample.cl, h[0], b[0], opt, True, cache)
    right = _side(sample.xr, sample.dr, sample.cr, h[1], b[1], opt, False, cache)
    sides = (left, right)
    n_lead = 2 if sample.fuzzy else 1
    k = sample.dl.shape[1]
    gamma = covariate_gamma(sides, sample.n_covs, n_lead) if sample.n_covs else None

    def combine(row_l: np.ndarray, row_r: np.ndarray, sel: np.ndarray) -> tuple[float, ...]:
        return float(sel @ row_l), float(sel @ row_r), float(sel @ (row_r - row_l))

    sel_y = np.zeros(k)
    sel_y[0] = 1.0
    sel_t = np.zeros(k)
    if sample.fuzzy:
        sel_t[1] = 1.0
    if gamma is not None:
        sel_y[n_lead:] = -gamma[:, 0]
        if sample.fuzzy:
            sel_t[n_lead:] = -gamma[:, 1]
    bp0 = [s.beta_p[0] for s in sides]
    bb0 = [s.beta_bc0 for s in sides]
    y_cl_l, y_cl_r, y_cl = combine(bp0[0], bp0[1], sel_y)
    y_bc_l, y_bc_r, y_bc = combine(bb0[0], bb0[1], sel_y)
    first_stage = None
    if not sample.fuzzy:
        tau, tau_bc = y_cl, y_bc
        tau_side = (y_cl_l, y_cl_r)
        tau_bc_side = (y_bc_l, y_bc_r)
        s_var = sel_y
    else:
        t_cl = combine(bp0[0], bp0[1], sel_t)[2]
        t_bc = combine(bb0[0], bb0[1], sel_t)[2]
        tau = y_cl / t_cl
        grad = np.array([1 / t_cl, -y_cl / t_cl**2])
        tau_bc = tau - float(grad @ np.array([y_cl - y_bc, t_cl - t_bc]))
        tau_side = (y_cl_l, y_cl_r)
        tau_bc_side = (y_bc_l, y_bc_r)
        s_var = grad[0] * sel_y + grad[1] * sel_t
        v_t = sum(quad_variance(s.ell_p, s.res_h @ sel_t, s.cluster, opt.p + 1) for s in sides)
        v_t_rb = sum(quad_variance(s.ell_bc, s.res_b @ sel_t, s.cluster, opt.q + 1) for s in sides)
        first_stage = (t_cl, t_bc, math.sqrt(v_t), math.sqrt(v_t_rb))
    v_cl = sum(quad_variance(s.ell_p, s.res_h @ s_var, s.cluster, opt.p + 1) for s in sides)
    v_rb = sum(quad_variance(s.ell_bc, s.res_b @ s_var, s.cluster, opt.q + 1) for s in sides)
    return RdFit(
        tau=float(tau),
        tau_bc=float(tau_bc),
        se=math.sqrt(v_cl) if v_cl >= 0 else float("nan"),
        se_rb=math.sqrt(v_rb) if v_rb >= 0 else float("nan"),
        h=h,
        b=b,
        n_h=(left.n_h, right.n_h),
        n_b=(left.n_b, right.n_b),
        tau_side=tau_side,
        tau_bc_side=tau_bc_side,
        beta_p=(left.beta_p, right.beta_p),
        first_stage=first_stage,
        gamma=gamma,
        n_clusters=(left.n_clusters, right.n_clusters) if sample.clustered else None,
    )
