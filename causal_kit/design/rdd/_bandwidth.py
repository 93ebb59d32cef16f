"""MSE- and CER-optimal bandwidths for the local polynomial RD estimator.

A port of rdrobust's ``rdbwselect`` (Calonico, Cattaneo and Farrell 2020; Calonico, Cattaneo and
Titiunik 2014): pilot bandwidths for the higher-order derivatives, then the bias bandwidth ``b``
and the main bandwidth ``h``, each from an estimated variance and squared-bias constant with a
regularisation term. Running variable and outcome are standardised first, as rdrobust does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from causal_kit.core.errors import DataError
from causal_kit.design.rdd._fit import FitOptions
from causal_kit.design.rdd._locpoly import (
    SQRT_EPS,
    cached_nn,
    hc_residuals,
    inv_sym,
    kernel_weights,
    n_distinct,
    poly_moments,
    quad_variance,
    vander,
    window,
    wsum,
)
from causal_kit.design.rdd._sample import Sample

_PILOT_CONSTANT = {"triangular": 2.576, "uniform": 1.843, "epanechnikov": 2.34}
MASS_SHARE = 0.2  # a side with at least this share of repeated values has mass points
BWCHECK_MASS = 10  # distinct values a pilot window must hold when there are mass points


@dataclass(frozen=True)
class Bandwidths:
    """Selected bandwidths in the running variable's units, and how they were chosen."""

    h: tuple[float, float]
    b: tuple[float, float]
    method: str
    mass_points: bool
    pilot: float


@dataclass
class _SideData:
    x: np.ndarray  # standardised running variable
    d: np.ndarray  # columns used, outcome standardised
    cl: np.ndarray | None
    left: bool
    n_lead: int
    n_covs: int
    x_raw: np.ndarray  # the sample's running variable and columns, for the shared
    d_raw: np.ndarray  # nearest-neighbour residuals (the same neighbours in either unit)
    keep: list[int]
    col_scale: np.ndarray
    cache: dict


def _type2_quantile(x: np.ndarray, prob: float) -> float:
    n = len(x)
    hh = n * prob
    j = math.floor(hh)
    if hh == j:
        return 0.5 * (float(x[j - 1]) + float(x[j]))
    return float(x[j])


def _residuals(
    sd: _SideData, sl: slice, ds: np.ndarray, cl: np.ndarray | None, r: np.ndarray,
    rw: np.ndarray, inv_g: np.ndarray, beta_s: np.ndarray, opt: FitOptions,
) -> np.ndarray:
    if opt.vce == "nn" and cl is None:
        key = ("left" if sd.left else "right", sl.start, sl.stop, opt.nnmatch)
        full = cached_nn(sd.cache, key, sd.x_raw[sl], sd.d_raw[sl], opt.nnmatch)
        return full[:, sd.keep] * sd.col_scale
    vce = "plain" if cl is not None else opt.vce
    hii = np.einsum("ij,ij->i", r @ inv_g, rw) if vce in ("hc2", "hc3") else None
    return hc_residuals(ds, r @ beta_s, vce, r.shape[1], hii)


def _select_vector(
    beta_s: np.ndarray, u_mat: np.ndarray | None, zwd: np.ndarray | None, inv_g: np.ndarray,
    side: _SideData, nu: int, h_v: float,
) -> np.ndarray:
    k = beta_s.shape[1]
    lead = side.n_lead
    s = np.zeros(k)
    s[0] = 1.0
    gamma = None
    if side.n_covs and u_mat is not None and zwd is not None:
        cz = np.arange(lead, k)
        uigu = u_mat[:, cz].T @ inv_g @ u_mat
        zwz = zwd[cz][:, cz] - uigu[:, cz]
        zwy = zwd[cz][:, :lead] - uigu[:, :lead]
        gamma = np.linalg.pinv(zwz) @ zwy
        s[lead:] = -gamma[:, 0]
    if lead == 2:
        coef = math.factorial(nu) * beta_s[nu] / h_v**nu
        if gamma is None:
            tau_y, tau_t = coef[0], coef[1]
            s = np.array([1 / tau_t, -tau_y / tau_t**2])
        else:
            s_t = np.concatenate([[1.0], -gamma[:, 1]])
            tau_y = float(s[[0, *range(lead, k)]] @ coef[[0, *range(lead, k)]])
            tau_t = float(s_t @ coef[[1, *range(lead, k)]])
            s = np.concatenate(
                [[1 / tau_t, -tau_y / tau_t**2],
                 -(1 / tau_t) * gamma[:, 0] + (tau_y / tau_t**2) * gamma[:, 1]]
            )
    return s


class _Pilots:
    """The variance/bias constants of one side, with the pilot fits cached by ``(o, nu)``."""

    def __init__(self, side: _SideData, h_v: float, opt: FitOptions) -> None:
        self.side = side
        self.h_v = h_v
        self.opt = opt
        self.cache: dict[tuple[int, int], tuple[float, float, np.ndarray]] = {}

    def _vfit(self, o: int, nu: int) -> tuple[float, float, np.ndarray]:
        key = (o, nu)
        if key in self.cache:
            return self.cache[key]
        sd, opt, h_v = self.side, self.opt, self.h_v
        sl = window(sd.x, h_v, opt.kernel, sd.left)
        xs, ds = sd.x[sl], sd.d[sl]
        if n_distinct(xs) < o + 1:
            out: tuple[float, float, np.ndarray] = (float("nan"), float("nan"), np.ones(1))
            self.cache[key] = out
            return out
        w = kernel_weights(xs, h_v, opt.kernel)
        u = xs / h_v
        r = vander(u, o)
        rw = r * w[:, None]
        inv_g = inv_sym(rw.T @ r)
        u_mat = rw.T @ ds
        beta_s = inv_g @ u_mat
        zwd = (ds * w[:, None]).T @ ds if sd.n_covs else None
        s = _select_vector(beta_s, u_mat, zwd, inv_g, sd, nu, h_v)
        cl = None if sd.cl is None else sd.cl[sl]
        res = _residuals(sd, sl, ds, cl, r, rw, inv_g, beta_s, opt)
        v_s = quad_variance(rw @ inv_g[:, nu], res @ s, cl, o + 1)
        v_v = v_s / h_v ** (2 * nu)
        b_const = float((inv_g @ wsum(u ** (o + 1), rw))[nu])
        out = (v_v, b_const, s)
        self.cache[key] = out
        return out

    def constants(
        self, o: int, nu: int, o_b: int, h_b: float, scale: float
    ) -> tuple[float, float, float, float]:
        """Return ``(V, B, R, rate)`` as rdrobust's ``rdrobust_bw``."""
        nan = (float("nan"), float("nan"), float("nan"), 1 / (2 * o + 3))
        v_v, b_const, s = self._vfit(o, nu)
        if not math.isfinite(v_v) or not (math.isfinite(h_b) and h_b > 0):
            return nan
        sd, opt = self.side, self.opt
        sl = window(sd.x, h_b, opt.kernel, sd.left)
        xs, ds = sd.x[sl], sd.d[sl]
        if n_distinct(xs) < o_b + 1:
            return nan
        w = kernel_weights(xs, h_b, opt.kernel)
        u = xs / h_b
        bw_reg = 0.0
        if scale > 0:
            r = vander(u, o_b)
            rw = r * w[:, None]
            inv_g = inv_sym(rw.T @ r)
            beta_s = inv_g @ (rw.T @ ds)
            cl = None if sd.cl is None else sd.cl[sl]
            res = _residuals(sd, sl, ds, cl, r, rw, inv_g, beta_s, opt)
            v_b = quad_variance(rw @ inv_g[:, -1], res @ s, cl, o_b + 1) / h_b ** (2 * o_b)
            bw_reg = 3 * b_const**2 * v_b
        else:
            inv_g, rwd = poly_moments(u, w, ds, o_b)
            beta_s = inv_g @ rwd
        beta_top = beta_s[-1, :] / h_b**o_b
        bias = math.sqrt(2 * (o + 1 - nu)) * b_const * float(s @ beta_top)
        var = (2 * nu + 1) * self.h_v ** (2 * nu + 1) * v_v
        reg = scale * (2 * (o + 1 - nu)) * bw_reg
        return var, bias, reg, 1 / (2 * o + 3)


def _ratio(num: float, den: float, rate: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(num / den) ** rate) if den != 0 else float("inf")


def select(
    sample: Sample,
    opt: FitOptions,
    method: str,
    *,
    bwcheck: int | None = None,
    use_takeup: bool = True,
) -> Bandwidths:
    """Select ``h`` and ``b`` for ``sample`` with ``method`` (mserd, msetwo, cerrd, certwo).

    Raises
    ------
    DataError
        If the running variable has too little variation for the pilot fits.
    """
    p, q = opt.p, opt.q
    x_all = np.concatenate([sample.xl, sample.xr])
    y_all = np.concatenate([sample.dl[:, 0], sample.dr[:, 0]])
    n_l, n_r = sample.n_left, sample.n_right
    n = n_l + n_r
    x_sd = float(np.std(x_all, ddof=1))
    y_sd = float(np.std(y_all, ddof=1))
    if not (x_sd > 0 and y_sd > 0):
        raise DataError("The running variable or the outcome does not vary; no RD can be fitted.")
    xs_sorted = x_all  # already sorted: left side then right side, both ascending
    iqr = _type2_quantile(xs_sorted, 0.75) - _type2_quantile(xs_sorted, 0.25)
    bw_p = min(1.0, (iqr / x_sd) / 1.349)
    lead = 2 if sample.fuzzy else 1
    keep = list(range(sample.dl.shape[1]))
    if sample.fuzzy and (
        not use_takeup or np.var(sample.dl[:, 1]) == 0 or np.var(sample.dr[:, 1]) == 0
    ):
        keep.remove(1)
        lead = 1
    scale_cols = np.ones(len(keep))
    scale_cols[0] = 1 / y_sd
    sides = []
    for x, d, cl, is_left in ((sample.xl, sample.dl, sample.cl, True),
                              (sample.xr, sample.dr, sample.cr, False)):
        sides.append(_SideData(x / x_sd, d[:, keep] * scale_cols, cl, is_left, lead,
                               sample.n_covs, x, d, keep, scale_cols, sample.nn_cache))
    m_l, m_r = sample.distinct
    range_l = abs(float(sample.xl[0])) / x_sd
    range_r = abs(float(sample.xr[-1])) / x_sd
    bw_max = max(range_l, range_r)
    c_bw = _PILOT_CONSTANT[opt.kernel] * bw_p * (m_l + m_r) ** (-1 / 5)
    c_bw = min(c_bw, bw_max)
    mass = (1 - m_l / n_l) >= MASS_SHARE or (1 - m_r / n_r) >= MASS_SHARE
    if mass and bwcheck is None:
        bwcheck = BWCHECK_MASS
    bw_min_l = bw_min_r = 0.0
    if bwcheck is not None:
        ul = np.unique(np.abs(sides[0].x))
        ur = np.unique(sides[1].x)
        bw_min_l = float(ul[min(bwcheck, m_l) - 1]) * (1 + SQRT_EPS)
        bw_min_r = float(ur[min(bwcheck, m_r) - 1]) * (1 + SQRT_EPS)
        c_bw = max(c_bw, bw_min_l, bw_min_r)
    pl, pr = _Pilots(sides[0], c_bw, opt), _Pilots(sides[1], c_bw, opt)
    pad = 1 + SQRT_EPS
    cd_l = pl.constants(q + 1, q + 1, q + 2, range_l * pad, 0.0)
    cd_r = pr.constants(q + 1, q + 1, q + 2, range_r * pad, 0.0)
    if method in ("msetwo", "certwo"):
        d_l = min(_ratio(cd_l[0], cd_l[1] ** 2, cd_l[3]), range_l)
        d_r = min(_ratio(cd_r[0], cd_r[1] ** 2, cd_r[3]), range_r)
        if bwcheck is not None:
            d_l, d_r = max(d_l, bw_min_l), max(d_r, bw_min_r)
        cb_l = pl.constants(q, p + 1, q + 1, d_l, 1.0)
        cb_r = pr.constants(q, p + 1, q + 1, d_r, 1.0)
        b_l = min(_ratio(cb_l[0], cb_l[1] ** 2 + cb_l[2], cb_l[3]), range_l)
        b_r = min(_ratio(cb_r[0], cb_r[1] ** 2 + cb_r[2], cb_r[3]), range_r)
        ch_l = pl.constants(p, 0, q, b_l, 1.0)
        ch_r = pr.constants(p, 0, q, b_r, 1.0)
        h_l = min(_ratio(ch_l[0], ch_l[1] ** 2 + ch_l[2], ch_l[3]), range_l)
        h_r = min(_ratio(ch_r[0], ch_r[1] ** 2 + ch_r[2], ch_r[3]), range_r)
    else:
        d_d = min(_ratio(cd_l[0] + cd_r[0], (cd_r[1] - cd_l[1]) ** 2, cd_l[3]), bw_max)
        if bwcheck is not None:
            d_d = max(d_d, bw_min_l, bw_min_r)
        cb_l = pl.constants(q, p + 1, q + 1, d_d, 1.0)
        cb_r = pr.constants(q, p + 1, q + 1, d_d, 1.0)
        b_d = min(
            _ratio(cb_l[0] + cb_r[0], (cb_r[1] - cb_l[1]) ** 2 + cb_r[2] + cb_l[2], cb_l[3]),
            bw_max,
        )
        ch_l = pl.constants(p, 0, q, b_d, 1.0)
        ch_r = pr.constants(p, 0, q, b_d, 1.0)
        h_d = min(
            _ratio(ch_l[0] + ch_r[0], (ch_r[1] - ch_l[1]) ** 2 + ch_r[2] + ch_l[2], ch_l[3]),
            bw_max,
        )
        h_l = h_r = h_d
        b_l = b_r = b_d
    if method.startswith("cer"):
        if sample.cl is not None and sample.cr is not None:
            g = n_clusters(sample.cl) + n_clusters(sample.cr)
        else:
            g = n
        factor = g ** (-(p / ((3 + p) * (3 + 2 * p))))
        h_l, h_r = h_l * factor, h_r * factor
    out = np.array([h_l, h_r, b_l, b_r]) * x_sd
    if not (np.all(np.isfinite(out)) and np.all(out > 0)):
        raise DataError(
            "The running variable has too little variation near the cutoff to select a bandwidth "
            f"({m_l} distinct values below, {m_r} at or above). Pass bandwidth= explicitly, "
            "or use a design for a discrete running variable."
        )
    return Bandwidths(
        h=(float(out[0]), float(out[1])), b=(float(out[2]), float(out[3])), method=method,
        mass_points=bool(mass), pilot=float(c_bw * x_sd),
    )


def n_clusters(codes: np.ndarray) -> int:
    """Count the distinct cluster codes."""
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0
