"""The Cattaneo–Jansson–Ma local polynomial density (manipulation) test at the cutoff.

A port of rddensity's defaults: unrestricted fits on each side (order ``p = 2`` for the bandwidth,
``q = p + 1`` for the test), jackknife variance, the ``comb`` bandwidth (median of the one-sided,
difference and sum bandwidths), mass-point and small-sample regularisation. The density on each
side is the slope of a local polynomial fit of the empirical distribution function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import hermite_e
from scipy import stats

from causal_kit.design.rdd._locpoly import horner, poly_moments

_CB = [25884.444444494150957, 3430865.4551236177795, 845007948.04262602329,
       330631733667.03808594, 187774809656037.3125, 145729502641999264,
       146013502974449876992]
_CC = [4.8000000000000246914, 548.57142857155463389, 100800.00000020420703,
       29558225.458100609481, 12896196859.612621307, 7890871468221.609375,
       6467911284037581]
_NMIN = 20  # rddensity's minimum local (and distinct) observations, before adding p + 1


@dataclass(frozen=True)
class DensityTest:
    """Result of the density test: densities each side, their difference's t-statistic."""

    statistic: float
    p_value: float
    h: tuple[float, float]
    n_effective: tuple[int, int]
    density: tuple[float, float]
    se: tuple[float, float]
    p: int
    q: int


def _kernel_moment(j: int, kernel: str) -> float:
    if kernel == "uniform":
        return 0.5 / (j + 1)
    if kernel == "epanechnikov":
        return 0.75 * (1 / (j + 1) - 1 / (j + 3))
    return 1 / (j + 1) - 1 / (j + 2)


def _kernel(u: np.ndarray, kernel: str) -> np.ndarray:
    if kernel == "uniform":
        return np.full_like(u, 0.5)
    if kernel == "epanechnikov":
        return 0.75 * (1 - u * u)
    return 1 - np.abs(u)


class _Ecdf:
    """Sorted, centred running variable with its (mass-point adjusted) empirical CDF."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        n = len(x)
        self.n = n
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(x[1:], x[:-1], out=new[1:])
        first = np.flatnonzero(new)
        last = np.append(first[1:] - 1, n - 1)
        self.freq = last - first + 1
        self.unique = x[first]
        self.mass = len(first) != n
        y = np.arange(n) / (n - 1)
        self.y = np.repeat(y[last], self.freq) if self.mass else y
        self.nl = int(np.searchsorted(x, 0.0, side="left"))
        self.nr = n - self.nl
        self.nlu = int(np.searchsorted(self.unique, 0.0, side="left"))
        self.nru = len(self.unique) - self.nlu

    def kth_left(self, k: int, unique: bool = False) -> float:
        """Return the ``k``-th smallest distance to the cutoff among values below it."""
        arr, nl = (self.unique, self.nlu) if unique else (self.x, self.nl)
        return abs(float(arr[nl - min(k, nl)]))

    def kth_right(self, k: int, unique: bool = False) -> float:
        """Return the ``k``-th smallest value at or above the cutoff."""
        arr, nl, nr = (self.unique, self.nlu, self.nru) if unique else (self.x, self.nl, self.nr)
        return float(arr[nl + min(k, nr) - 1])


def _side_fit(
    ecdf: _Ecdf, lo: int, hi: int, center: float, h: float, p: int, kernel: str
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted polynomial fit of the ECDF on ``(x - center) / h`` over rows ``lo:hi``.

    Returns the coefficients (running-variable units) and, for the jackknife, each row's
    ``X_p W`` projected on the density (slope) direction ``S^-1 e_1 / h``.
    """
    u = (ecdf.x[lo:hi] - center) / h
    w = _kernel(u, kernel) / h
    s_inv, xwy = poly_moments(u, w, ecdf.y[lo:hi], p)
    coef = (s_inv @ xwy) / h ** np.arange(p + 1)
    return coef, w * horner(s_inv[1] / h, u)


def _later_sums(ecdf: _Ecdf, lo: int, hi: int, v: np.ndarray) -> np.ndarray:
    """Return rddensity's jackknife scores projected on one direction.

    For each row, the sum of ``v`` over later rows (rows after its first tie when there are
    mass points), divided by ``n - 1``.
    """
    rev = np.cumsum(v[::-1])
    later = np.empty_like(v)
    later[-1] = 0.0
    later[:-1] = rev[-2::-1]
    if ecdf.mass:
        xs = ecdf.x[lo:hi]
        new = np.empty(len(xs), dtype=bool)
        new[0] = True
        np.not_equal(xs[1:], xs[:-1], out=new[1:])
        first = np.flatnonzero(new)
        later = np.repeat(later[first], np.diff(np.append(first, len(xs))))
    return later / (ecdf.n - 1)


def _fv(ecdf: _Ecdf, hl: float, hr: float, p: int, s: int, kernel: str) -> dict[str, np.ndarray]:
    """Densities (and the order-``s`` coefficients) each side with jackknife variances.

    Rows of the returned arrays: left, right, difference, sum. The jackknife variance is
    rddensity's ``A L'L A'`` evaluated only in the two directions that give the densities.
    """
    x = ecdf.x
    lo = int(np.searchsorted(x, -hl, side="left"))
    mid = ecdf.nl
    hi = int(np.searchsorted(x, hr, side="right"))
    coef_l, proj_l = _side_fit(ecdf, lo, mid, 0.0, hl, p, kernel)
    coef_r, proj_r = _side_fit(ecdf, mid, hi, 0.0, hr, p, kernel)
    v_l = np.zeros(hi - lo)
    v_r = np.zeros(hi - lo)
    v_l[: mid - lo] = proj_l
    v_r[mid - lo :] = proj_r
    a = _later_sums(ecdf, lo, hi, v_l)
    b = _later_sums(ecdf, lo, hi, v_r)
    vll = float(np.einsum("i,i->", a, a))
    vrr = float(np.einsum("i,i->", b, b))
    vlr = float(np.einsum("i,i->", a, b))
    hat = np.array([coef_l[1], coef_r[1], coef_r[1] - coef_l[1], coef_r[1] + coef_l[1]])
    jk = np.array([vll, vrr, vll + vrr - 2 * vlr, vll + vrr + 2 * vlr])
    jk = np.where(jk < 0, np.nan, jk)
    sc = np.array([coef_l[s], coef_r[s], coef_r[s] - coef_l[s], coef_r[s] + coef_l[s]])
    return {"hat": hat, "jk": jk, "s": sc, "n": np.array([mid - lo, hi - mid])}


def _bandwidth(ecdf: _Ecdf, p: int, kernel: str) -> tuple[float, float]:
    """Return rdbwdensity's ``comb`` bandwidths (left, right)."""
    x, n = ecdf.x, ecdf.n
    mu = float(np.mean(x))
    sd = float(np.std(x, ddof=1))
    z = mu / sd
    herm = lambda order: float(hermite_e.hermeval(z, [0] * order + [1]))  # noqa: E731
    fb = 1 / (herm(p + 2) ** 2 * stats.norm.pdf(z))
    fc = 1 / (herm(p) ** 2 * stats.norm.pdf(z))
    bn = ((2 * p + 1) / 4 * fb * _CB[p - 1] / n) ** (1 / (2 * p + 5)) * sd
    cn = (1 / (2 * p) * fc * _CC[p - 1] / n) ** (1 / (2 * p + 1)) * sd
    umax = float(np.max(np.abs(ecdf.unique)))
    bn, cn = min(bn, umax), min(cn, umax)
    for uniq in (False, True):
        bn = max(bn, ecdf.kth_left(_NMIN + p + 3, uniq), ecdf.kth_right(_NMIN + p + 3, uniq))
        cn = max(cn, ecdf.kth_left(_NMIN + p + 1, uniq), ecdf.kth_right(_NMIN + p + 1, uniq))
    fb_ = _fv(ecdf, bn, bn, p + 2, p + 1, kernel)
    fc_ = _fv(ecdf, cn, cn, p, 1, kernel)
    var = n * cn * fc_["jk"]
    s_mat = np.array([[_kernel_moment(i + j, kernel) for j in range(p + 1)] for i in range(p + 1)])
    c_vec = np.array([_kernel_moment(i + p + 1, kernel) for i in range(p + 1)])
    bias_const = float((np.linalg.inv(s_mat) @ c_vec)[1])
    bl = fb_["s"][0] * bias_const * (-1) ** p
    br = fb_["s"][1] * bias_const
    bias2 = np.array([bl, br, br - bl, br + bl]) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        hn = (1 / (2 * p) * var / bias2 / n) ** (1 / (2 * p + 1))
    hn = np.where(np.isnan(var) | np.isnan(hn), 0.0, hn)
    left_range, right_range = abs(float(ecdf.unique[0])), float(ecdf.unique[-1])
    widest = max(left_range, right_range)
    hn = np.minimum(hn, [left_range, right_range, widest, widest])
    nloc = _NMIN + p + 1
    for uniq in (False, True):
        hlmin, hrmin = ecdf.kth_left(nloc, uniq), ecdf.kth_right(nloc, uniq)
        hn = np.maximum(hn, [hlmin, hrmin, max(hlmin, hrmin), max(hlmin, hrmin)])
    hl = float(np.median([hn[0], hn[2], hn[3]]))
    hr = float(np.median([hn[1], hn[2], hn[3]]))
    return hl, hr


def density_test(x: np.ndarray, p: int = 2, kernel: str = "triangular") -> DensityTest:
    """Test for a jump in the running variable's density at the cutoff.

    Parameters
    ----------
    x
        The running variable minus the cutoff, sorted ascending, at least 2 values each side.
    p
        Polynomial order of the bandwidth fits (the test uses ``p + 1``).
    kernel
        Kernel name.
    """
    ecdf = _Ecdf(x)
    hl, hr = _bandwidth(ecdf, p, kernel)
    q = p + 1
    fq = _fv(ecdf, hl, hr, q, 1, kernel)
    t = float(fq["hat"][2] / math.sqrt(fq["jk"][2]))
    pv = float(2 * stats.norm.sf(abs(t)))
    return DensityTest(
        statistic=t, p_value=pv, h=(hl, hr),
        n_effective=(int(fq["n"][0]), int(fq["n"][1])),
        density=(float(fq["hat"][0]), float(fq["hat"][1])),
        se=(math.sqrt(fq["jk"][0]), math.sqrt(fq["jk"][1])), p=p, q=q,
    )


def density_curve(
    x: np.ndarray, h: tuple[float, float], p: int = 2, kernel: str = "triangular",
    points: int = 12,
) -> dict[str, np.ndarray]:
    """Local polynomial density estimates on a grid each side of the cutoff, for the plot.

    Each side uses only its own observations, so the two curves may differ at the cutoff.
    Intervals use the same jackknife variance as the test.
    """
    ecdf = _Ecdf(x)
    rows: dict[str, list[float]] = {"x": [], "density": [], "se": [], "side": []}
    for side, hh in (("left", h[0]), ("right", h[1])):
        grid = np.linspace(-hh, 0.0, points) if side == "left" else np.linspace(0.0, hh, points)
        s_lo, s_hi = (0, ecdf.nl) if side == "left" else (ecdf.nl, ecdf.n)
        for e in grid:
            lo = max(s_lo, int(np.searchsorted(x, e - hh, side="left")))
            hi = min(s_hi, int(np.searchsorted(x, e + hh, side="right")))
            if hi - lo < p + 2:
                continue
            coef, proj = _side_fit(ecdf, lo, hi, e, hh, p, kernel)
            later = _later_sums(ecdf, lo, hi, proj)
            var = float(np.einsum("i,i->", later, later))
            rows["x"].append(float(e))
            rows["density"].append(float(coef[1]))
            rows["se"].append(math.sqrt(var) if var >= 0 else float("nan"))
            rows["side"].append(0.0 if side == "left" else 1.0)
    return {k: np.asarray(v) for k, v in rows.items()}
