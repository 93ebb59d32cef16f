"""``experiment``: randomized holdouts and A/B tests with users as the unit of randomization.

Identifying assumption: the arm was assigned at random, independently of the users' potential
outcomes, and every user stayed in the arm drawn (no user in two arms, no arm losing users for
reasons the treatment caused). The difference in arm means is then an unbiased estimate of the
average effect of assignment. The checks test what can be tested of that: the arms' sizes
against the plan (``srm``), pre-period covariate balance (``balance``), exposure by arm
(``exposure``) and a fading effect (``novelty``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack, overload

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.options import MultipleTesting, check_option
from causal_kit.design.experiment import _checks
from causal_kit.design.experiment._data import ExperimentData, load
from causal_kit.design.experiment._estimate import Spec, estimate_metric
from causal_kit.design.experiment._moments import arm_moments
from causal_kit.design.experiment._multi import ExperimentSet, adjust

__all__ = ["ExperimentSet", "adjust", "experiment"]


class Options(TypedDict, total=False):
    """The optional keywords of :func:`experiment` (for its typed overloads)."""

    covariates: str | Sequence[str] | None
    denominator: str | Mapping[str, str] | None
    user: str | None
    exposure: str | None
    covariates_measured_at: Any
    expected_split: Mapping[Any, float] | Sequence[float] | None
    sequential: bool
    sequential_tuning: float
    multiple_testing: MultipleTesting
    checks: bool
    level: float
    seed: int | None


@overload
def experiment(data: Any, *, outcome: str, arm: str, treatment: Any, control: Any,
               **options: Unpack[Options]) -> Estimate: ...


@overload
def experiment(data: Any, *, outcome: Sequence[str], arm: str, treatment: Any, control: Any,
               **options: Unpack[Options]) -> ExperimentSet: ...


def experiment(
    data: Any,
    *,
    outcome: str | Sequence[str],
    arm: str,
    treatment: Any,
    control: Any,
    covariates: str | Sequence[str] | None = None,
    denominator: str | Mapping[str, str] | None = None,
    user: str | None = None,
    exposure: str | None = None,
    covariates_measured_at: Any = None,
    expected_split: Mapping[Any, float] | Sequence[float] | None = None,
    sequential: bool = False,
    sequential_tuning: float = 5000.0,
    multiple_testing: MultipleTesting = "holm",
    checks: bool = True,
    level: float = 0.95,
    seed: int | None = None,
) -> Estimate | ExperimentSet:
    """Estimate the effect of a randomized experiment (A/B test or holdout) on user-level data.

    The estimate is the difference in means, treatment minus control, over every assigned user
    (intent to treat). Inference is Welch's unequal-variance t test: statistic, p-value and
    interval equal ``scipy.stats.ttest_ind(equal_var=False)``. The relative lift (percent of the
    control mean) has a delta-method interval.

    Parameters
    ----------
    data
        One row per user (pandas, polars, pyarrow, DuckDB), e.g. from :func:`ck.user_outcomes`
        with an arm column. Never modified.
    outcome
        Outcome column (numeric or boolean), or a list of them: several metrics are then
        analysed together and an :class:`ExperimentSet` is returned (see
        ``multiple_testing``).
    arm
        Column of the arm each user was assigned to.
    treatment, control
        The arm column's values of the two arms compared; any other value is an error.
    covariates
        Pre-period covariates for **CUPED** (Deng, Xu, Kohavi & Walker 2013): the outcome is
        adjusted by ``theta' (x - mean(x))`` with ``theta`` the pooled least-squares slope of the
        outcome on the centred covariates over both arms (with one covariate,
        ``cov(y, x) / var(x)``), then compared by Welch's test. ``details`` reports ``theta``,
        the unadjusted standard error and the ``variance_reduction``. Method
        ``"experiment:cuped"``.
    denominator
        Denominator column of a **ratio metric** (e.g. revenue per session: ``outcome=
        "revenue"``, ``denominator="sessions"``), or a mapping outcome → denominator. The ratio
        of arm sums is compared by the delta method with users as the unit of randomization
        (Welch degrees of freedom on the linearised per-user variances). Method
        ``"experiment:ratio"``. Not combined with ``covariates``.
    user
        User id column: checks that no user is in both arms and that each has one row.
    exposure
        First-exposure time of each user (datetime; missing = assigned but never exposed) or a
        boolean exposed flag. Adds the ``exposure`` check; with times also ``by_period`` (the
        cumulative effect over the users exposed by each day, each day a look) and the
        ``novelty`` check (trend of the effect in days since first exposure, by exposure-day
        cohort; the cohort table is ``details["novelty"]``).
    covariates_measured_at
        When the covariates were measured (the end of their window): a date, a datetime column,
        or a mapping covariate → either. Needs ``exposure`` times; a covariate measured after a
        user's first exposure is an error.
    expected_split
        Planned shares of the arms, as ``{treatment: 0.9, control: 0.1}`` or a
        ``(treatment, control)`` pair summing to 1. Default: equal.
    sequential
        Always-valid inference for teams that look every day: the normal-mixture confidence
        sequence of Howard et al. (2021), i.e. the mixture sequential probability ratio test of
        Johari, Pekelis & Walsh (2017), as GrowthBook runs it. The interval covers the effect at
        every look at once, and the p-value may be checked at every look without inflating the
        false-positive rate.
    sequential_tuning
        Its tuning parameter ``n_star``: the total number of users at which the sequence is
        tightest (GrowthBook's default, 5000). Intervals are valid for any value.
    multiple_testing
        With several outcomes: ``"holm"`` (default, family-wise error rate), ``"bh"``
        (Benjamini–Hochberg false discovery rate) or ``"none"``; the adjusted p-values are in
        each estimate's ``details["p_adjusted"]`` and in ``ExperimentSet.tidy()``.
    checks
        Run the checks; ``False`` returns the estimate alone.
    level
        Confidence level.
    seed
        Accepted for a uniform interface; nothing here is random.

    Returns
    -------
    Estimate or ExperimentSet
        ``estimate`` is treatment minus control in the outcome's units; ``details`` holds the
        arm means, ``relative_lift_pct`` with ``relative_se_pct`` and ``relative_ci_pct``, the
        degrees of freedom and the CUPED terms. Checks: ``srm`` (chi-square against the planned
        split; fails at p < 0.001, the conventional threshold for sample ratio mismatch),
        ``balance`` (covariate means, Bonferroni, fails at p < 0.001), ``exposure``, ``novelty``.

    Raises
    ------
    DataError
        Missing or non-numeric values, arm values other than the two declared, an arm with
        fewer than 2 users, a user in both arms or on two rows, a covariate measured after
        exposure, a constant outcome or covariate.
    SpecificationError
        Unknown options, a planned split that does not sum to 1, inconsistent arguments.
    """
    multiple_testing = check_option("multiple_testing", multiple_testing, MultipleTesting)
    if not (isinstance(level, float) and 0 < level < 1):
        raise SpecificationError(f"level= must be a number between 0 and 1; got {level!r}.")
    if not (isinstance(sequential_tuning, (int, float)) and sequential_tuning > 0):
        raise SpecificationError(
            f"sequential_tuning= must be a positive number of users; got {sequential_tuning!r}."
        )
    outcomes = [outcome] if isinstance(outcome, str) else _names(outcome, "outcome")
    if not outcomes:
        raise SpecificationError("outcome= names no column; pass a column name or a list.")
    covs = tuple(_names(covariates, "covariates"))
    denoms = _denominators(denominator, outcomes)
    if covs and any(denoms.values()):
        raise SpecificationError(
            "covariates= (CUPED) and denominator= (a ratio metric) cannot be combined here; "
            "analyse the ratio metric without covariates, or the numerator with them."
        )
    share_t = _split(expected_split, treatment, control)
    measured = _measured(covariates_measured_at, covs)
    numeric = {o: "outcome" for o in outcomes}
    numeric.update({c: "covariate" for c in covs})
    numeric.update({d: "denominator" for d in denoms.values() if d})
    data_ = load(data, arm=arm, treatment=treatment, control=control, numeric=numeric,
                 user=user, exposure=exposure, measured_at=measured)
    params = {
        "outcome": outcome, "arm": arm, "treatment": treatment, "control": control,
        "covariates": list(covs), "denominator": denominator, "user": user,
        "exposure": exposure, "covariates_measured_at": covariates_measured_at,
        "expected_split": share_t, "sequential": sequential,
        "sequential_tuning": sequential_tuning, "multiple_testing": multiple_testing,
        "checks": checks, "level": level, "seed": seed,
    }
    spec = Spec(covs, level, bool(sequential), float(sequential_tuning),
                _shared_checks(data_, covs, share_t, (str(treatment), str(control)), checks),
                checks, params)
    estimates = [estimate_metric(data_, o, denoms[o], spec) for o in outcomes]
    if isinstance(outcome, str):
        return estimates[0]
    return ExperimentSet.build(estimates, multiple_testing, level)


def _shared_checks(data: ExperimentData, covs: tuple[str, ...], share_t: float,
                   labels: tuple[str, str], run: bool) -> tuple[Check, ...]:
    if not run:
        return ()
    n_t = int(data.arm.sum())
    out = [_checks.srm(n_t, data.arm.size - n_t, share_t, labels)]
    if covs:
        cols = [data.values[c] for c in covs]
        out.append(_checks.balance(arm_moments(cols, data.arm), list(covs)))
    return tuple(out)


def _names(value: str | Sequence[str] | None, arg: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    names = list(value)
    if not all(isinstance(v, str) for v in names):
        raise SpecificationError(f"{arg}= must be a column name or a list of column names.")
    if len(set(names)) != len(names):
        raise SpecificationError(f"{arg}= names a column twice: {names}.")
    return names


def _denominators(value: Any, outcomes: list[str]) -> dict[str, str | None]:
    if value is None or isinstance(value, str):
        return {o: value for o in outcomes}
    if not isinstance(value, Mapping):
        raise SpecificationError(
            "denominator= must be a column name or a mapping outcome → denominator column."
        )
    unknown = [k for k in value if k not in outcomes]
    if unknown:
        raise SpecificationError(
            f"denominator= names outcome(s) {unknown} that are not in outcome={outcomes}."
        )
    return {o: value.get(o) for o in outcomes}


def _split(value: Any, treatment: Any, control: Any) -> float:
    if value is None:
        return 0.5
    if isinstance(value, Mapping):
        keys = set(value)
        if keys != {treatment, control}:
            raise SpecificationError(
                f"expected_split= has arms {sorted(map(str, keys))}; give exactly the shares of "
                f"treatment={treatment!r} and control={control!r}, e.g. "
                f"{{{treatment!r}: 0.9, {control!r}: 0.1}}."
            )
        shares = (value[treatment], value[control])
    else:
        shares = tuple(value)
        if len(shares) != 2:
            raise SpecificationError(
                f"expected_split={value!r} must be (treatment share, control share) or a "
                "mapping arm → share."
            )
    try:
        s_t, s_c = float(shares[0]), float(shares[1])
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"expected_split={value!r} must hold numbers.") from exc
    if not (0 < s_t < 1 and 0 < s_c < 1):
        raise SpecificationError(
            f"expected_split={value!r}: each arm's planned share must be between 0 and 1."
        )
    if not math.isclose(s_t + s_c, 1.0, abs_tol=1e-9):
        raise SpecificationError(
            f"expected_split={value!r} sums to {s_t + s_c:g}, not 1. Give the planned shares of "
            f"the two arms compared, e.g. {{{treatment!r}: {s_t / (s_t + s_c):.3g}, "
            f"{control!r}: {s_c / (s_t + s_c):.3g}}} (rescaled to sum to 1)."
        )
    return s_t


def _measured(value: Any, covs: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not covs:
        raise SpecificationError("covariates_measured_at= is given but covariates= is empty.")
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in covs]
        if unknown:
            raise SpecificationError(
                f"covariates_measured_at= names {unknown}, which are not in "
                f"covariates={list(covs)}."
            )
        return dict(value)
    return {c: value for c in covs}
