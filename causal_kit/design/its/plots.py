"""Picture of an ITS estimate: observed against the forecast counterfactual, and the effects."""

from __future__ import annotations

from typing import Any

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Estimate


def plot_its(est: Estimate, ax: Any = None) -> Any:
    """Observed outcome and counterfactual forecast with its band, launch marked; effects below.

    Parameters
    ----------
    est
        An estimate from :func:`causal_kit.its`.
    ax
        Axes to draw the top panel on; when ``None`` a new figure with two panels is made
        (series, then the pointwise and cumulative effects).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (never shown).
    """
    import matplotlib.pyplot as plt

    from causal_kit.core.plot import PALETTE, plot_counterfactual

    if "counterfactual_path" not in est.details or est.by_period is None:
        raise SpecificationError(
            f"{est.method} has no counterfactual path to plot; it was not produced by ck.its."
        )
    if ax is not None:
        plot_counterfactual(est, ax)
        return ax.figure
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    plot_counterfactual(est, top)
    bp = est.by_period
    x = bp["term"]
    bottom.fill_between(x, bp["conf_low"], bp["conf_high"], color=PALETTE[0], alpha=0.2,
                        label=f"{est.level:.0%} interval")
    bottom.plot(x, bp["estimate"], color=PALETTE[0], lw=1.5, label="effect per period")
    bottom.axhline(0, color="0.4", lw=0.8)
    bottom.axvline(x.iloc[0], color=PALETTE[3], ls="--", lw=1)
    bottom.set_ylabel(f"effect on {est.outcome}")
    cum = est.details["cumulative"]
    bottom.set_title(
        f"average {est.estimate:.4g} [{est.ci[0]:.4g}, {est.ci[1]:.4g}] per period; cumulative "
        f"{cum['estimate']:.4g} [{cum['conf_low']:.4g}, {cum['conf_high']:.4g}]", fontsize="small"
    )
    bottom.legend(frameon=False, fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
