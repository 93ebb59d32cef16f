"""Assemble an RD result: the ``details`` of the main fit, the checks, the data for the plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Check
from causal_kit.design.rdd import _checks as ck_checks
from causal_kit.design.rdd._bandwidth import MASS_SHARE
from causal_kit.design.rdd._data import Prepared
from causal_kit.design.rdd._density import density_curve, density_test
from causal_kit.design.rdd._engine import Run
from causal_kit.design.rdd._fit import FitOptions, RdFit
from causal_kit.design.rdd._sample import Sample


def mass_points(sample: Sample) -> bool:
    """Whether a side has at least 20% repeated running values (rdrobust's rule)."""
    m_l, m_r = sample.distinct
    return bool(1 - m_l / sample.n_left >= MASS_SHARE or 1 - m_r / sample.n_right >= MASS_SHARE)


def to_units(frame: pd.DataFrame, prep: Prepared, cols: list[str]) -> pd.DataFrame:
    """Return ``frame`` with centred running-variable columns back in the user's units."""
    out = frame.copy()
    for c in cols:
        if prep.time_origin is not None:
            out[c] = prep.time_origin + pd.to_timedelta(out[c], unit="D")
        else:
            out[c] = out[c] + float(prep.cutoff)
    return out


def local_curve(f: RdFit, points: int = 50) -> pd.DataFrame:
    """Return the fitted local polynomials inside the bandwidth, each side, on a grid."""
    parts = []
    for side, beta, h in (("left", f.beta_p[0], f.h[0]), ("right", f.beta_p[1], f.h[1])):
        grid = np.linspace(-h, 0.0, points) if side == "left" else np.linspace(0.0, h, points)
        parts.append(pd.DataFrame({"side": side, "x": grid,
                                   "fit": np.polyval(beta[::-1, 0], grid)}))
    return pd.concat(parts, ignore_index=True)


def binned_means(bins: pd.DataFrame) -> pd.DataFrame:
    """Return the RD plot's bins as a tidy ``by_period`` table (RD in time)."""
    return pd.DataFrame({
        "term": bins["x_mid"], "estimate": bins["y_mean"], "std_error": bins["y_se"],
        "statistic": np.nan, "p_value": np.nan, "conf_low": bins["conf_low"],
        "conf_high": bins["conf_high"], "side": bins["side"], "n": bins["n"],
    })


def details(
    prep: Prepared, main: Run, opt: FitOptions, level: float, sign: float,
    cluster: str | None, donut: float, treated_side: str, method: str,
) -> dict[str, Any]:
    """Return the main fit's ``details``: bandwidths, sample sizes, inference, settings."""
    f = main.fit
    s = prep.sample
    zc = float(stats.norm.ppf(0.5 + level / 2))
    z_cl = f.tau / f.se if f.se > 0 else float("nan")
    p_cl = float(2 * stats.norm.sf(abs(z_cl)))
    conv = sorted((sign * (f.tau - zc * f.se), sign * (f.tau + zc * f.se)))
    out: dict[str, Any] = {
        "design": "fuzzy" if s.fuzzy else "sharp",
        "cutoff": prep.cutoff,
        "treated_side": treated_side,
        "bandwidth": {"left": f.h[0], "right": f.h[1]},
        "bias_bandwidth": {"left": f.b[0], "right": f.b[1]},
        "bandwidth_method": method,
        "n_effective": {"left": f.n_h[0], "right": f.n_h[1]},
        "n_effective_bias": {"left": f.n_b[0], "right": f.n_b[1]},
        "n_obs": {"left": s.n_left, "right": s.n_right},
        "distinct_values": {"left": s.distinct[0], "right": s.distinct[1]},
        "estimate_bc": sign * f.tau_bc,
        "se_conventional": f.se,
        "se_robust": f.se_rb,
        "z_conventional": sign * z_cl,
        "ci_conventional": conv,
        "p_value_conventional": p_cl,
        "side_estimates": {"left": f.tau_side[0], "right": f.tau_side[1]},
        "kernel": opt.kernel,
        "p": opt.p,
        "q": opt.q,
        "vce": "cr1" if cluster else opt.vce,
        "nnmatch": opt.nnmatch,
        "cluster": cluster,
        "n_clusters": None if f.n_clusters is None else {"left": f.n_clusters[0],
                                                          "right": f.n_clusters[1]},
        "covariates": list(prep.covariates),
        "covariate_coefficients": None if f.gamma is None else dict(
            zip(prep.covariates, (f.gamma[:, 0]).tolist(), strict=True)),
        "donut": float(donut),
        "n_dropped_missing": prep.n_dropped,
        "mass_points": bool(main.bandwidths.mass_points) if main.bandwidths else mass_points(s),
        "pilot_bandwidth": main.bandwidths.pilot if main.bandwidths else None,
        "level": level,
    }
    if prep.time_origin is not None:
        out["time"] = {"origin": prep.time_origin, "unit": "days",
                       "cautions": "serial correlation, time trends, time-varying effects"}
    if f.first_stage is not None:
        fs_sign = -1.0 if treated_side == "below" else 1.0
        t, t_bc, se_t, se_t_rb = f.first_stage
        lo, hi = sorted((fs_sign * (t_bc - zc * se_t_rb), fs_sign * (t_bc + zc * se_t_rb)))
        out["first_stage"] = {"estimate": fs_sign * t, "estimate_bc": fs_sign * t_bc,
                              "se": se_t, "se_robust": se_t_rb, "ci_robust": [lo, hi],
                              "f_stat": ck_checks.first_stage_f(t, se_t)}
    return out


def run_checks(
    prep: Prepared, opt: FitOptions, main: Run, method: str, level: float, sign: float,
    fs_sign: float, ci: tuple[float, ...], estimate: float, sensitivity: Sequence[float],
    placebo_cutoffs: Sequence[Any] | None, details: dict[str, Any],
) -> list[Check]:
    """Run every check, store its table (and the plot data) in ``details``, return the checks."""
    alpha = 1 - level
    f, s = main.fit, prep.sample
    sel = method if method != "manual" else "mserd"
    out: list[Check] = []
    skipped: dict[str, str] = {}
    dens = density_test(prep.x_density, kernel=opt.kernel)
    details["density_test"] = {
        "statistic": dens.statistic, "p_value": dens.p_value,
        "bandwidth": {"left": dens.h[0], "right": dens.h[1]},
        "n_effective": {"left": dens.n_effective[0], "right": dens.n_effective[1]},
        "density": {"left": dens.density[0], "right": dens.density[1]},
        "se": {"left": dens.se[0], "right": dens.se[1]}, "p": dens.p, "q": dens.q,
    }
    curve = density_curve(prep.x_density, dens.h, kernel=opt.kernel)
    details["density_curve"] = to_units(pd.DataFrame({
        "side": np.where(curve["side"] == 0, "left", "right"), "x": curve["x"],
        "density": curve["density"], "se": curve["se"]}), prep, ["x"])
    details["density_hist"] = to_units(_histogram(prep.x_density, dens.h), prep,
                                        ["bin_low", "bin_high"])
    out.append(ck_checks.density_check(dens, alpha))
    if s.fuzzy:
        out.append(ck_checks.first_stage_check(f, fs_sign))
    if prep.balance:
        table = ck_checks.balance_table(s, prep.balance, opt, sel, level, fs_sign)
        details["covariate_balance"] = table
        out.append(ck_checks.balance_check(table, alpha))
    else:
        skipped["covariate_balance"] = "no covariates given (pass balance= or covariates=)"
    sens = ck_checks.sensitivity_table(s, opt, f, sensitivity, level, sign)
    details["bandwidth_sensitivity"] = sens
    out.append(ck_checks.sensitivity_check(sens, estimate, f.se_rb, level))
    cuts, labels = _placebo_points(prep, placebo_cutoffs)
    plac = ck_checks.placebo_table(s, opt, sel, cuts, level, fs_sign, labels)
    details["placebo_cutoffs"] = plac
    out.append(ck_checks.placebo_check(plac, alpha))
    if prep.time_origin is not None:
        sc = ck_checks.serial_correlation(s, alpha)
        if sc is None:
            skipped["serial_correlation"] = "fewer than 10 days on each side"
        else:
            out.append(sc)
        out.append(ck_checks.trend_check(s, opt, sel, f, (ci[0], ci[1]), sign))
    details["checks_skipped"] = skipped
    return out


def _placebo_points(prep: Prepared, given: Sequence[Any] | None) -> tuple[list[float], list[Any]]:
    if given is None:
        cuts = ck_checks.default_placebos(prep.sample)
    elif prep.time_origin is not None:
        cuts = [float((pd.Timestamp(c) - prep.time_origin) / pd.Timedelta(days=1)) for c in given]
    else:
        cuts = [float(c) - float(prep.cutoff) for c in given]
    if any(c == 0 for c in cuts):
        raise SpecificationError("placebo_cutoffs= must not contain the real cutoff.")
    if prep.time_origin is not None:
        labels: list[Any] = [prep.time_origin + pd.Timedelta(days=c) for c in cuts]
    else:
        labels = [c + float(prep.cutoff) for c in cuts]
    return cuts, labels


def _histogram(x: np.ndarray, h: tuple[float, float], bins: int = 20) -> pd.DataFrame:
    parts = []
    n = len(x)
    for side, lo, hi in (("left", -h[0], 0.0), ("right", 0.0, h[1])):
        edges = np.linspace(lo, hi, bins + 1)
        sub = x[(x >= lo) & (x < hi)] if side == "left" else x[(x >= lo) & (x <= hi)]
        counts, _ = np.histogram(sub, edges)
        width = edges[1] - edges[0]
        parts.append(pd.DataFrame({"side": side, "bin_low": edges[:-1], "bin_high": edges[1:],
                                   "count": counts, "density": counts / (n * width)}))
    return pd.concat(parts, ignore_index=True)
