"""Difference-in-differences: 2×2, TWFE event study and staggered heterogeneity-robust designs.

The front door is :func:`did`; it validates everything, then dispatches to one estimator module.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from causal_kit.core.errors import CausalKitWarning, DataError, SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.design.did._data import DidData, load_cross_sections, load_panel
from causal_kit.design.did._spec import DidSpec, build_spec
from causal_kit.design.did.cs_result import estimate_cs
from causal_kit.design.did.imputation import estimate_imputation
from causal_kit.design.did.sa import estimate_sa
from causal_kit.design.did.twfe import estimate_twfe
from causal_kit.design.did.twobytwo import estimate_2x2

__all__ = ["did"]


def did(
    data: Any,
    *,
    outcome: str,
    time: str,
    treatment: str,
    unit: str | None = None,
    group: str | None = None,
    method: str = "auto",
    covariates: Sequence[str] = (),
    control: str = "never",
    est_method: str = "dr",
    base_period: str = "varying",
    anticipation: int = 0,
    cluster: str | None = None,
    se: str = "cluster",
    bootstrap: str = "none",
    n_boot: int = 999,
    level: float = 0.95,
    seed: int | None = None,
    min_e: int | None = None,
    max_e: int | None = None,
    balance_e: int | None = None,
    sensitivity: bool = True,
    robustness: bool = True,
) -> Estimate:
    """Estimate the effect of a launch on the treated by difference-in-differences.

    Parameters
    ----------
    data
        Long frame (pandas, polars, pyarrow, DuckDB): a panel with one row per ``unit`` and
        ``time``, or repeated cross-sections with one row per observation and its ``group``.
        It is never modified.
    outcome
        Numeric outcome column.
    time
        Period column (integers or dates).
    treatment
        0/1 column, 1 for treated rows from the first treated period on (absorbing).
    unit
        Unit column of a panel. Give ``unit`` or ``group``, not both.
    group
        For repeated cross-sections: the column at whose level treatment is assigned (a 0/1
        treated-group flag, or e.g. a region); treatment must be constant within a group-period.
    method
        ``"2x2"``, ``"twfe"`` (kept as a comparison), ``"cs"`` (Callaway–Sant'Anna),
        ``"sa"`` (Sun–Abraham), ``"imputation"`` (Borusyak–Jaravel–Spiess / did2s) or
        ``"auto"``: ``"2x2"`` for repeated cross-sections with one launch date and for
        two-period panels, otherwise ``"cs"`` (heterogeneity-robust; also for cross-sections
        with staggered launches).
    covariates
        Columns to adjust for (linearly in ``"2x2"``, ``"twfe"``, ``"sa"``; through
        ``est_method`` in ``"cs"``; not available for ``"imputation"``).
    control
        Comparison units of ``"cs"``: ``"never"`` treated or ``"notyet"`` treated. (``"sa"``
        uses never-treated units, or the last-treated cohort when there are none.)
    est_method
        ``"dr"`` (doubly robust), ``"ipw"`` or ``"reg"`` (outcome regression), for ``"cs"``.
    base_period
        ``"varying"`` or ``"universal"`` pre-period comparisons, for ``"cs"``.
    anticipation
        Periods before the launch in which units may already react.
    cluster
        Column to cluster standard errors on; it must contain whole units (default: the unit;
        cross-sections without it: heteroskedasticity-robust).
    se
        ``"cluster"``, ``"hc1"`` or ``"classical"``, for the regression designs (``"2x2"``,
        ``"twfe"``, ``"sa"``); ``"cs"`` and ``"imputation"`` use influence-function SEs,
        clustered like ``"cluster"``.
    bootstrap
        ``"none"`` (analytic), ``"multiplier"`` or ``"wild"``. For ``"cs"``/``"imputation"``:
        influence-function multiplier bootstrap (Rademacher; Webb weights for ``"wild"``) with
        the uniform band's critical value; Gaussian multipliers drawn exactly from the
        covariance beyond 5e7 clusters × draws. For the regression designs: score bootstrap
        (``"multiplier"``) or wild cluster bootstrap-t with Webb weights (``"wild"``, for few
        clusters). Draws of the headline go to ``draws``.
    n_boot
        Bootstrap draws.
    level
        Confidence level.
    seed
        Seed of the bootstrap.
    min_e, max_e
        Event-time window of ``by_period`` (the headline still averages every treated
        unit-period).
    balance_e
        ``"cs"`` only: keep in the event study only cohorts observed at least this many periods
        after launch (balanced event time).
    sensitivity
        Staggered designs: run the HonestDiD sensitivity analysis (``details["honest"]`` and
        the ``sensitivity`` robustness check; a few seconds on long weekly event studies).
        ``False`` skips both, e.g. inside simulations.
    robustness
        Staggered designs: run the robustness checks (``no_anticipation``, ``bacon`` with its
        TWFE comparison, and ``sensitivity``). ``False`` skips them all, for refits that need
        only the effect and its interval (refutations); the identifying ``pre_trends`` check
        always runs.

    Returns
    -------
    Estimate
        ``estimate``: for the staggered designs the average effect over treated unit-periods
        (R's ``aggte(type="simple")``), for ``"2x2"`` the interaction coefficient, for
        ``"twfe"`` the static coefficient. ``by_period``: event-time effects (``term`` =
        periods since launch) with pointwise and uniform (``*_uniform``) bands. ``checks``:
        ``pre_trends``, and for staggered designs ``no_anticipation``, ``bacon`` (TWFE's
        forbidden-comparison weight) and ``sensitivity`` (breakdown value). ``details``: the
        ATT(g,t) table, cohort/calendar aggregations, Goodman-Bacon and sensitivity tables.

    Raises
    ------
    SpecificationError
        Unknown options (the valid ones are listed) or contradictory arguments.
    DataError
        Data that cannot support the design; the message names the culprit and the fix.
    """
    spec = build_spec(
        outcome=outcome,
        time=time,
        treatment=treatment,
        unit=unit,
        group=group,
        method=method,
        covariates=covariates,
        control=control,
        est_method=est_method,
        base_period=base_period,
        anticipation=anticipation,
        cluster=cluster,
        se=se,
        bootstrap=bootstrap,
        n_boot=n_boot,
        level=level,
        seed=seed,
        min_e=min_e,
        max_e=max_e,
        balance_e=balance_e,
        sensitivity=sensitivity,
        robustness=robustness,
    )
    dd = _load(data, spec)
    chosen = choose_method(dd, spec)
    _check_compatible(spec, chosen)
    if chosen == "2x2":
        return estimate_2x2(dd, spec)
    if chosen == "twfe":
        return estimate_twfe(dd, spec)
    if chosen == "cs":
        return estimate_cs(dd, spec)
    if chosen == "sa":
        return estimate_sa(dd, spec)
    return estimate_imputation(dd, spec)


def _check_compatible(spec: DidSpec, method: str) -> None:
    """Refuse options that the chosen method would otherwise ignore silently."""
    rules = [
        ("est_method", spec.est_method != "dr", ("cs",)),
        ("base_period", spec.base_period != "varying", ("cs",)),
        ("balance_e", spec.balance_e is not None, ("cs",)),
        ("control", spec.control != "never", ("cs",)),
        ("se", spec.se != "cluster", ("2x2", "twfe", "sa")),
    ]
    for name, changed, methods in rules:
        if changed and method not in methods:
            value = getattr(spec, name)
            allowed = " or ".join(repr(m) for m in methods)
            raise SpecificationError(
                f"{name}={value!r} applies to method={allowed}, not to method={method!r} "
                f"(chosen {'automatically' if spec.method == 'auto' else 'explicitly'}); "
                f"drop {name} or pick a method that uses it."
            )


def _load(data: Any, spec: DidSpec) -> DidData:
    common = dict(
        outcome=spec.outcome,
        time=spec.time,
        treatment=spec.treatment,
        covariates=spec.covariates,
        cluster=spec.cluster,
    )
    if spec.unit is not None:
        dd = load_panel(data, unit=spec.unit, **common)  # type: ignore[arg-type]
    else:
        dd = load_cross_sections(data, group=spec.group or "", **common)  # type: ignore[arg-type]
    for j, name in enumerate(dd.covariates):
        if np.ptp(dd.X[:, j]) == 0:
            raise DataError(
                f"covariate {name!r} takes the single value {dd.X[0, j]:g} in every row, so it "
                "cannot adjust anything; drop it from covariates."
            )
    _warn_small_cohorts(dd)
    return dd


def _warn_small_cohorts(dd: DidData) -> None:
    g = dd.unit_g
    cohorts, counts = np.unique(g[np.isfinite(g)], return_counts=True)
    single = cohorts[counts == 1]
    if len(single):
        labels = [dd.time_label(c) for c in single[:5]]
        who = "unit" if dd.kind == "panel" else "observation"
        warnings.warn(
            f"cohort(s) first treated at {labels} have a single {who}: their effects are "
            "estimated, but their standard errors cannot reflect the treated side's variability "
            "(it is taken as zero). Interpret those cohorts' intervals as too narrow.",
            CausalKitWarning,
            stacklevel=3,
        )


def choose_method(data: DidData, spec: DidSpec) -> str:
    """Resolve ``method="auto"``.

    ``"2x2"`` for repeated cross-sections with a single launch date and for two-period panels;
    otherwise the heterogeneity-robust staggered estimator.
    """
    if spec.method != "auto":
        return spec.method
    single = len(data.cohorts) == 1
    if (data.kind == "rcs" and single) or (data.kind == "panel" and data.n_periods == 2):
        return "2x2"
    return "cs"
