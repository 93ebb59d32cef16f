"""``rdd``: the regression discontinuity front door.

Identifying assumption: units just below and just above the cutoff are comparable — the expected
outcome without treatment is continuous in the running variable at the cutoff, and units cannot
sort precisely to one side. The estimate is then the effect for units *at* the cutoff (sharp), or
for compliers at the cutoff (fuzzy: the jump in the outcome divided by the jump in take-up).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.errors import CausalKitWarning, SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.options import RddBandwidth, RddKernel, RddSide, RddVce, check_option
from causal_kit.design.rdd import _checks as ck_checks
from causal_kit.design.rdd._bins import rd_bins
from causal_kit.design.rdd._data import Prepared, prepare
from causal_kit.design.rdd._density import density_curve, density_test
from causal_kit.design.rdd._engine import Run, robust, run
from causal_kit.design.rdd._fit import FitOptions, RdFit

SENSITIVITY = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
MIN_CLUSTERS = 10  # per side inside the bandwidth, below which clustered SEs are unreliable


def rdd(
    data: Any,
    *,
    outcome: str,
    running: str,
    cutoff: Any,
    treatment: str | None = None,
    covariates: str | Sequence[str] | None = None,
    cluster: str | None = None,
    p: int = 1,
    q: int | None = None,
    kernel: RddKernel = "triangular",
    bandwidth: RddBandwidth | float | tuple[float, float] = "mserd",
    bias_bandwidth: float | tuple[float, float] | None = None,
    vce: RddVce = "nn",
    nnmatch: int = 3,
    donut: float = 0.0,
    treated_side: RddSide = "above",
    balance: str | Sequence[str] | None = None,
    placebo_cutoffs: Sequence[Any] | None = None,
    sensitivity: Sequence[float] = SENSITIVITY,
    checks: bool = True,
    level: float = 0.95,
    seed: int | None = None,
) -> Estimate:
    """Estimate the effect of crossing a cutoff with a regression discontinuity design.

    Local polynomial estimation with robust bias-corrected inference (Calonico, Cattaneo and
    Titiunik 2014), matching the rdrobust package's numbers.

    Parameters
    ----------
    data
        Unit-level frame (pandas, polars, pyarrow, DuckDB), one row per user or account.
    outcome
        Outcome column (numeric or boolean), e.g. ``"retained_d30"`` or ``"revenue_30d"``.
    running
        Running variable (score) column. A date/datetime column makes an *RD in time*: it is
        measured in days from ``cutoff``, which must then be a date.
    cutoff
        Threshold; units with ``running >= cutoff`` are on the right (treated by default).
    treatment
        Take-up column for a *fuzzy* design (who actually got the treatment). The estimate is
        then the local Wald ratio: the outcome's jump divided by the take-up's jump.
    covariates
        Pre-treatment covariates added linearly for efficiency (text/categorical columns are
        one-hot encoded). They do not change what is estimated, only its precision.
    cluster
        Cluster column (e.g. household, account or day); the variance becomes CR1
        cluster-robust, as rdrobust's default with clusters.
    p, q
        Orders of the local polynomial (default 1, local linear) and of the bias correction
        (default ``p + 1``).
    kernel
        ``"triangular"`` (default), ``"uniform"`` or ``"epanechnikov"``.
    bandwidth
        ``"mserd"`` (one MSE-optimal bandwidth, default), ``"msetwo"`` (one per side),
        ``"cerrd"``/``"certwo"`` (coverage-error optimal), or a number or ``(left, right)``
        pair in the running variable's units (days for RD in time).
    bias_bandwidth
        Bias-correction bandwidth when ``bandwidth`` is a number; defaults to ``bandwidth``.
    vce
        ``"nn"`` (nearest-neighbour, default) or ``"hc0"``–``"hc3"`` heteroskedasticity-robust
        variance. With ``cluster=`` only ``"nn"``, ``"hc0"`` and ``"hc1"`` are accepted and all
        mean CR1.
    nnmatch
        Minimum number of neighbours for ``vce="nn"``.
    donut
        Drop observations with ``|running - cutoff| < donut`` (e.g. heaping or anticipation
        right at the cutoff); the fit extrapolates to the cutoff from outside the hole.
    treated_side
        ``"above"`` (default: ``running >= cutoff`` is treated) or ``"below"``. Effects are
        reported as treated side minus untreated side.
    balance
        Columns tested for a jump at the cutoff (covariate balance). Defaults to ``covariates``.
    placebo_cutoffs
        Placebo thresholds (running-variable units or dates); default: the terciles of the
        running variable on each side. Each uses only the observations on its own side.
    sensitivity
        Multiples of the selected bandwidth for the sensitivity check.
    checks
        Run the design's checks (density, balance, sensitivity, placebo, first stage, and for RD
        in time serial correlation and trend order). ``False`` returns the estimate alone.
    level
        Confidence level of the intervals.
    seed
        Accepted for a uniform interface; the RD estimate involves no randomness.

    Returns
    -------
    Estimate
        ``estimate`` is the conventional local polynomial estimate; ``ci``, ``se`` and
        ``p_value`` are the robust bias-corrected ones (rdrobust's recommended inference; the
        interval is centred on the bias-corrected estimate). ``details`` holds the bandwidths,
        effective sample sizes, bias-corrected estimate, conventional inference, the checks'
        tables and the data for :func:`plot_rd`, :func:`plot_density` and
        :func:`plot_bandwidth`. ``by_period`` is ``None``, or for RD in time the binned means.

    Raises
    ------
    DataError
        Missing or non-numeric columns, a cutoff outside the running variable's range, fewer
        than 20 observations or 5 distinct running values on a side, a take-up column that does
        not change at the cutoff.
    SpecificationError
        Unknown options or inconsistent arguments.

    Warns
    -----
    CausalKitWarning
        Rows dropped for missing values; mass points in the running variable (bandwidths are
        then widened to hold at least 10 distinct values, as rdrobust's ``masspoints="adjust"``);
        a weak first stage.
    """
    kernel = check_option("kernel", kernel, RddKernel)
    vce = check_option("vce", vce, RddVce)
    treated_side = check_option("treated_side", treated_side, RddSide)
    method, h, b = _bandwidth_spec(bandwidth, bias_bandwidth)
    p, q = _orders(p, q)
    if not (isinstance(level, float) and 0 < level < 1):
        raise SpecificationError(f"level= must be a number between 0 and 1; got {level!r}.")
    if not (isinstance(nnmatch, int) and nnmatch >= 1):
        raise SpecificationError(f"nnmatch= must be a positive integer; got {nnmatch!r}.")
    if cluster is not None and vce in ("hc2", "hc3"):
        raise SpecificationError(
            f"vce={vce!r} has no clustered version here; with cluster= the variance is CR1. "
            "Use vce='nn' (default) or 'hc1'."
        )
    prep = prepare(
        data, outcome=outcome, running=running, cutoff=cutoff, treatment=treatment,
        covariates=covariates, cluster=cluster,
        balance=balance if balance is not None else covariates, donut=float(donut), q=q,
    )
    opt = FitOptions(p=p, q=q, kernel=kernel, vce=vce, nnmatch=nnmatch)
    sample = prep.sample
    if sample.fuzzy:
        _check_takeup(sample, treatment)
    main = run(sample, opt, method, h, b)
    f = main.fit
    if f.n_clusters is not None and min(f.n_clusters) < MIN_CLUSTERS:
        warnings.warn(
            f"Only {f.n_clusters[0]} (below) and {f.n_clusters[1]} (at or above) clusters of "
            f"{cluster!r} fall inside the bandwidth; cluster-robust standard errors are "
            f"unreliable with fewer than {MIN_CLUSTERS} a side.", CausalKitWarning, stacklevel=2,
        )
    sign = -1.0 if treated_side == "below" and not sample.fuzzy else 1.0
    fs_sign = -1.0 if treated_side == "below" else 1.0
    _, p_rb, lo, hi = robust(f, level)
    ci = tuple(sorted((sign * lo, sign * hi)))
    details = _details(prep, main, opt, level, sign, cluster, donut, treated_side, method)
    check_list: list[Check] = []
    by_period = None
    mass = main.bandwidths.mass_points if main.bandwidths else _mass(sample)
    if mass:
        warnings.warn(
            f"The running variable {running!r} has mass points (many repeated values); "
            "bandwidths are widened to hold at least 10 distinct values each side. Inference "
            "treats the values as continuous; with very few values consider local randomisation.",
            CausalKitWarning, stacklevel=2,
        )
    bins, curve = rd_bins(sample.xl, sample.dl[:, 0], sample.xr, sample.dr[:, 0], mass, level)
    details["rdplot_bins"] = _to_units(bins, prep, ["bin_low", "bin_high", "x_mid", "x_mean"])
    details["rdplot_fit"] = _to_units(curve, prep, ["x"])
    details["local_fit"] = _to_units(_local_curve(f), prep, ["x"])
    if prep.time_origin is not None:
        by_period = _binned_means(details["rdplot_bins"])
    if checks:
        check_list = _run_checks(prep, opt, main, method, level, sign, fs_sign, ci,
                                 float(sign * f.tau), sensitivity, placebo_cutoffs, details)
    elif sample.fuzzy:
        check_list = [ck_checks.first_stage_check(f, fs_sign)]
    for c in check_list:
        if c.name == "first_stage" and not c.passed:
            warnings.warn(c.message, CausalKitWarning, stacklevel=2)
    design = "fuzzy" if sample.fuzzy else "sharp"
    return Estimate(
        method=f"rdd:{design}" + ("-in-time" if prep.time_origin is not None else ""),
        outcome=outcome,
        estimate=float(sign * f.tau),
        se=float(f.se_rb),
        ci=(float(ci[0]), float(ci[1])),
        level=level,
        p_value=p_rb,
        n_units=int(f.n_h[0] + f.n_h[1]),
        n_treated=int(f.n_h[1] if treated_side == "above" else f.n_h[0]),
        by_period=by_period,
        checks=tuple(check_list),
        details=details,
        params={
            "outcome": outcome, "running": running, "cutoff": prep.cutoff,
            "treatment": treatment, "covariates": covariates, "cluster": cluster, "p": p, "q": q,
            "kernel": kernel, "bandwidth": bandwidth, "bias_bandwidth": bias_bandwidth,
            "vce": vce, "nnmatch": nnmatch, "donut": donut, "treated_side": treated_side,
            "balance": balance, "placebo_cutoffs": placebo_cutoffs,
            "sensitivity": list(sensitivity), "checks": checks, "level": level, "seed": seed,
        },
    )


def _bandwidth_spec(
    bandwidth: Any, bias: Any
) -> tuple[str, tuple[float, float] | None, tuple[float, float] | None]:
    if isinstance(bandwidth, str):
        method = check_option("bandwidth", bandwidth, RddBandwidth)
        if bias is not None:
            raise SpecificationError(
                "bias_bandwidth= is only used with a numeric bandwidth=; it is selected together "
                f"with bandwidth={method!r}."
            )
        return method, None, None
    h = _pair(bandwidth, "bandwidth")
    b = _pair(bias, "bias_bandwidth") if bias is not None else h
    return "manual", h, b


def _pair(value: Any, name: str) -> tuple[float, float]:
    vals: list[Any] = [value] if np.isscalar(value) else list(value)
    ok = len(vals) in (1, 2) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        and math.isfinite(float(v)) and float(v) > 0 for v in vals
    )
    if not ok:
        raise SpecificationError(
            f"{name}={value!r} must be a positive number or a (left, right) pair of them, or "
            "one of 'mserd', 'msetwo', 'cerrd', 'certwo'."
        )
    return (float(vals[0]), float(vals[-1]))


def _orders(p: Any, q: Any) -> tuple[int, int]:
    if not (isinstance(p, (int, np.integer)) and 0 <= p <= 4):
        raise SpecificationError(f"p= must be an integer from 0 to 4; got {p!r}.")
    q = p + 1 if q is None else q
    if not (isinstance(q, (int, np.integer)) and p < q <= 5):
        raise SpecificationError(f"q= must be an integer above p={p} and at most 5; got {q!r}.")
    return int(p), int(q)


def _mass(sample: Any) -> bool:
    m_l, m_r = sample.distinct
    return bool(1 - m_l / sample.n_left >= 0.2 or 1 - m_r / sample.n_right >= 0.2)


def _check_takeup(sample: Any, treatment: str | None) -> None:
    from causal_kit.core.errors import DataError

    tl, tr = sample.dl[:, 1], sample.dr[:, 1]
    if np.var(tl) == 0 and np.var(tr) == 0 and abs(tl.mean() - tr.mean()) < 1e-8:
        raise DataError(
            f"The take-up column {treatment!r} is {tl.mean():g} on both sides of the cutoff: it "
            "does not jump, so the fuzzy design is not identified. Check the column, or omit "
            "treatment= for a sharp design."
        )


def _to_units(frame: pd.DataFrame, prep: Prepared, cols: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in cols:
        if prep.time_origin is not None:
            out[c] = prep.time_origin + pd.to_timedelta(out[c], unit="D")
        else:
            out[c] = out[c] + float(prep.cutoff)
    return out


def _local_curve(f: RdFit, points: int = 50) -> pd.DataFrame:
    parts = []
    for side, beta, h in (("left", f.beta_p[0], f.h[0]), ("right", f.beta_p[1], f.h[1])):
        grid = np.linspace(-h, 0.0, points) if side == "left" else np.linspace(0.0, h, points)
        parts.append(pd.DataFrame({"side": side, "x": grid,
                                   "fit": np.polyval(beta[::-1, 0], grid)}))
    return pd.concat(parts, ignore_index=True)


def _binned_means(bins: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "term": bins["x_mid"], "estimate": bins["y_mean"], "std_error": bins["y_se"],
        "statistic": np.nan, "p_value": np.nan, "conf_low": bins["conf_low"],
        "conf_high": bins["conf_high"], "side": bins["side"], "n": bins["n"],
    })


def _details(
    prep: Prepared, main: Run, opt: FitOptions, level: float, sign: float,
    cluster: str | None, donut: float, treated_side: str, method: str,
) -> dict[str, Any]:
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
        "mass_points": bool(main.bandwidths.mass_points) if main.bandwidths else _mass(s),
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
                              "f_stat": (t / se_t) ** 2 if se_t > 0 else float("nan")}
    return out


def _run_checks(
    prep: Prepared, opt: FitOptions, main: Run, method: str, level: float, sign: float,
    fs_sign: float, ci: tuple[float, ...], estimate: float, sensitivity: Sequence[float],
    placebo_cutoffs: Sequence[Any] | None, details: dict[str, Any],
) -> list[Check]:
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
    details["density_curve"] = _to_units(pd.DataFrame({
        "side": np.where(curve["side"] == 0, "left", "right"), "x": curve["x"],
        "density": curve["density"], "se": curve["se"]}), prep, ["x"])
    details["density_hist"] = _to_units(_histogram(prep.x_density, dens.h), prep,
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
