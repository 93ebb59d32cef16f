"""One RD run: select bandwidths (unless given) and fit; robust inference from the fit."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from causal_kit.design.rdd._bandwidth import Bandwidths, select
from causal_kit.design.rdd._fit import FitOptions, RdFit, fit
from causal_kit.design.rdd._sample import Sample


@dataclass(frozen=True)
class Run:
    """A fit with the bandwidth choice that produced it."""

    fit: RdFit
    bandwidths: Bandwidths | None


def run(
    sample: Sample,
    opt: FitOptions,
    method: str,
    h: tuple[float, float] | None = None,
    b: tuple[float, float] | None = None,
) -> Run:
    """Fit the RD at bandwidths ``h``/``b``, selecting them with ``method`` when not given."""
    bws = None
    if h is None:
        bws = select(sample, opt, method)
        h, b = bws.h, bws.b
    return Run(fit(sample, h, b if b is not None else h, opt), bws)


def robust(f: RdFit, level: float) -> tuple[float, float, float, float]:
    """Robust bias-corrected ``(z, p_value, ci_low, ci_high)`` of a fit."""
    z = f.tau_bc / f.se_rb
    crit = float(stats.norm.ppf(0.5 + level / 2))
    p = float(2 * stats.norm.sf(abs(z)))
    return float(z), p, f.tau_bc - crit * f.se_rb, f.tau_bc + crit * f.se_rb
