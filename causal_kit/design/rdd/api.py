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

from causal_kit.core.errors import CausalKitWarning, SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.options import RddBandwidth, RddKernel, RddSide, RddVce, check_option
from causal_kit.design.rdd import _assemble as assemble
from causal_kit.design.rdd import _checks as ck_checks
from causal_kit.design.rdd._bins import rd_bins
from causal_kit.design.rdd._data import prepare
from causal_kit.design.rdd._engine import robust, run
from causal_kit.design.rdd._fit import FitOptions

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
    sensitivity = _factors(sensitivity)
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
    info = assemble.details(prep, main, opt, level, sign, cluster, donut, treated_side, method)
    check_list: list[Check] = []
    by_period = None
    mass = main.bandwidths.mass_points if main.bandwidths else assemble.mass_points(sample)
    if mass:
        warnings.warn(
            f"The running variable {running!r} has mass points (many repeated values); "
            "bandwidths are widened to hold at least 10 distinct values each side. Inference "
            "treats the values as continuous; with very few values consider local randomisation.",
            CausalKitWarning, stacklevel=2,
        )
    bins, curve = rd_bins(sample.xl, sample.dl[:, 0], sample.xr, sample.dr[:, 0], mass, level)
    info["rdplot_bins"] = assemble.to_units(bins, prep, ["bin_low", "bin_high", "x_mid", "x_mean"])
    info["rdplot_fit"] = assemble.to_units(curve, prep, ["x"])
    info["local_fit"] = assemble.to_units(assemble.local_curve(f), prep, ["x"])
    if prep.time_origin is not None:
        by_period = assemble.binned_means(info["rdplot_bins"])
    if checks:
        check_list = assemble.run_checks(prep, opt, main, method, level, sign, fs_sign, ci,
                                         float(sign * f.tau), sensitivity, placebo_cutoffs, info)
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
        details=info,
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


def _factors(value: Any) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        out = ()
    if not out or not all(math.isfinite(v) and v > 0 for v in out):
        raise SpecificationError(
            f"sensitivity={value!r} must be a non-empty list of positive bandwidth multiples, "
            "e.g. (0.5, 0.75, 1.0, 1.5, 2.0)."
        )
    return out


def _orders(p: Any, q: Any) -> tuple[int, int]:
    if not (isinstance(p, (int, np.integer)) and 0 <= p <= 4):
        raise SpecificationError(f"p= must be an integer from 0 to 4; got {p!r}.")
    q = p + 1 if q is None else q
    if not (isinstance(q, (int, np.integer)) and p < q <= 5):
        raise SpecificationError(f"q= must be an integer above p={p} and at most 5; got {q!r}.")
    return int(p), int(q)


def _check_takeup(sample: Any, treatment: str | None) -> None:
    from causal_kit.core.errors import DataError

    tl, tr = sample.dl[:, 1], sample.dr[:, 1]
    if np.var(tl) == 0 and np.var(tr) == 0 and abs(tl.mean() - tr.mean()) < 1e-8:
        raise DataError(
            f"The take-up column {treatment!r} is {tl.mean():g} on both sides of the cutoff: it "
            "does not jump, so the fuzzy design is not identified. Check the column, or omit "
            "treatment= for a sharp design."
        )
