"""Refutations: whether the answer survives a placebo, a fake confounder, another sample.

Every refutation is a :class:`~causal_kit.core.estimate.Check` whose ``statistic`` is the
refuted effect, so the scorecard reads the same for every design.

* User-level estimates (:func:`refute`) run DoWhy's refuters on a backdoor linear regression of
  the outcome on the treatment and the covariates: ``placebo_treatment`` (the treatment
  permuted: the effect must vanish — identifying), ``random_common_cause`` (a random covariate
  added: the effect must not move — robustness), ``data_subset`` (80% subsamples: the effect
  must stay inside the original interval — robustness) and ``unobserved_common_cause`` (a
  simulated confounder flipping 2% of treatments and shifting the outcome by a tenth of its
  standard deviation: the conclusion must keep its sign — robustness).
* Panel estimates (:func:`refute_panel`) run the design-native equivalents through the design's
  own front door (``ck.did`` or ``ck.synthetic_control``): ``placebo_dates`` (a fake launch
  halfway through the pre-launch periods, on pre-launch data only — identifying),
  ``placebo_units`` (each never-treated unit in turn pretends to launch, against the other
  never-treated units: their effects may be no more than twice as dispersed as the same
  placebos at a fake pre-launch date — identifying) and
  ``leave_one_out`` (each treated unit dropped in turn: every estimate must stay inside the
  original interval — robustness).

``placebo_dates`` tests one fake date at the nominal level, so it fails by chance about once in
twenty launches whose pre-trends are parallel. Measured at the staggered demo's shape (the event
simulator, ``ck.simulate("staggered", n_users=20_000, seed=s)`` for s = 0..39, fake date at the
pre-window's middle, analytic cluster-robust interval): 1 failure in 40, the placebo's t-statistic
with mean 0.00 and standard deviation 0.95; on ``did_panel`` (24 regions, first launch in week 10)
2 in 40 (``tests/test_refute.py``). On the staggered demo (50,000 users, seed 0) the fake launch
of 2026-02-02 (4 weeks before it, 5 after, all before the first launch on 2026-03-09, where the
truth panel's effect is exactly 0) shows 325 with standard error 161 (t = 2.02, interval
[-7, 658]): a borderline chance draw, from one noisy base week (2026-01-26), not a pre-window
that is too short, a date inside the launch or a wrong standard error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.options import check_option
from causal_kit.core.render import Rendered, ShowsSummary, number

PanelDesign = Literal["did", "sc"]
USER_REFUTERS = ("placebo_treatment", "random_common_cause", "data_subset",
                 "unobserved_common_cause")  # fmt: skip
PANEL_REFUTERS = ("placebo_dates", "placebo_units", "leave_one_out")
PLACEBO_UNITS_RATIO = 2.0


@dataclass(frozen=True)
class Refutations(ShowsSummary):
    """The refutations of one estimate.

    Attributes
    ----------
    effect
        The estimate being refuted.
    checks
        One :class:`Check` per refutation (``statistic`` = the refuted effect).
    """

    effect: float
    se: float
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """Whether every refutation passed."""
        return all(c.passed for c in self.checks)

    def check(self, name: str) -> Check:
        """Return the refutation called ``name``."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no refutation {name!r}; there are {[c.name for c in self.checks]}")

    def summary(self) -> Rendered:
        """Return the refutations as a printable view."""
        table = pd.DataFrame([{"refutation": c.name, "kind": c.kind, "refuted_effect": c.statistic,
                               "passed": c.passed} for c in self.checks])  # fmt: skip
        rows = [("Effect", number(self.effect, 4)), ("Std. error", number(self.se, 4)),
                ("All passed", "yes" if self.passed else "no")]  # fmt: skip
        return Rendered("Refutations", rows, [("Refutations", table)],
                        [c.message for c in self.checks])  # fmt: skip

    def to_dict(self) -> list[dict[str, Any]]:
        """Return the ``refutations`` list of ``summary.json``."""
        return [{"name": c.name, "passed": bool(c.passed), "refuted_effect": _num(c.statistic),
                 "effect": _num(self.effect), "kind": c.kind, "message": c.message}
                for c in self.checks]  # fmt: skip


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def refute(
    users: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] = (),
    n_simulations: int = 20,
    level: float = 0.95,
    seed: int = 0,
) -> Refutations:
    """Run DoWhy's refuters on a user-level effect (backdoor linear regression).

    Parameters
    ----------
    users
        One row per user: outcome, 0/1 treatment, numeric covariates. Not modified.
    outcome, treatment, covariates
        Columns; the covariates are the common causes adjusted for.
    n_simulations
        Simulations per refuter.
    level
        Level of the interval the refutations are judged against.
    seed
        Seed of every refuter.

    Returns
    -------
    Refutations
    """
    import networkx as nx

    cols = [outcome, treatment, *covariates]
    missing = [c for c in cols if c not in users.columns]
    if missing:
        raise DataError(f"users lack column(s) {missing}; available: {list(users.columns)}.")
    data = users[cols].copy()
    if data.isna().any().any():
        raise DataError(f"columns {cols} have missing values; drop those users first.")
    if not data[treatment].isin([0, 1]).all() or data[treatment].nunique() < 2:
        raise DataError(f"treatment {treatment!r} must be 0/1 with both values present.")
    bad = [c for c in covariates if not pd.api.types.is_numeric_dtype(data[c])]
    if bad:
        raise DataError(f"covariate(s) {bad} are not numeric; encode them (0/1 columns) first.")
    data = data.astype(float)
    data[treatment] = data[treatment].astype(np.int64)
    g = nx.DiGraph([(treatment, outcome)] + [(c, treatment) for c in covariates]
                   + [(c, outcome) for c in covariates])  # fmt: skip
    from dowhy import CausalModel

    z = _z(level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=data, treatment=treatment, outcome=outcome, graph=g)
        estimand = model.identify_effect(proceed_when_unidentifiable=True)
        est = model.estimate_effect(estimand, method_name="backdoor.linear_regression",
                                    test_significance=True)  # fmt: skip
        effect = float(est.value)
        se = float(np.ravel(est.get_standard_error())[0])
        sd_y = float(data[outcome].std())
        common = dict(random_seed=seed, show_progress_bar=False)
        runs = {
            "placebo_treatment": model.refute_estimate(
                estimand, est, method_name="placebo_treatment_refuter", placebo_type="permute",
                num_simulations=n_simulations, **common),
            "random_common_cause": model.refute_estimate(
                estimand, est, method_name="random_common_cause",
                num_simulations=n_simulations, **common),
            "data_subset": model.refute_estimate(
                estimand, est, method_name="data_subset_refuter", subset_fraction=0.8,
                num_simulations=n_simulations, **common),
            "unobserved_common_cause": model.refute_estimate(
                estimand, est, method_name="add_unobserved_common_cause",
                confounders_effect_on_treatment="binary_flip",
                confounders_effect_on_outcome="linear", effect_strength_on_treatment=0.02,
                effect_strength_on_outcome=0.1 * sd_y),
        }  # fmt: skip
    new = {k: float(np.mean(np.ravel(r.new_effect))) for k, r in runs.items()}
    checks = (
        _judge("placebo_treatment", new["placebo_treatment"],
               abs(new["placebo_treatment"]) <= z * se, "identifying",
               f"with the treatment permuted the effect is {number(new['placebo_treatment'], 3)}",
               f"within {z:.2f} standard errors of 0",
               "the estimator finds an effect where there is none: look for leakage or a "
               "mis-specified model"),
        _judge("random_common_cause", new["random_common_cause"],
               abs(new["random_common_cause"] - effect) <= se, "robustness",
               f"with a random common cause added the effect is "
               f"{number(new['random_common_cause'], 3)}", "within one standard error of the "
               "estimate", "the estimate is fragile to an irrelevant covariate"),
        _judge("data_subset", new["data_subset"], abs(new["data_subset"] - effect) <= z * se,
               "robustness", f"on 80% subsamples the effect is {number(new['data_subset'], 3)}",
               "inside the original interval", "the estimate rests on a few users"),
        _judge("unobserved_common_cause", new["unobserved_common_cause"],
               np.sign(new["unobserved_common_cause"]) == np.sign(effect), "robustness",
               "with a simulated unobserved confounder (2% of treatments flipped, outcome "
               f"shifted by {number(0.1 * sd_y, 3)}) the effect is "
               f"{number(new['unobserved_common_cause'], 3)}", "the same sign as the estimate",
               "a modest hidden confounder would reverse the conclusion"),
    )  # fmt: skip
    return Refutations(effect, se, checks)


def _z(level: float) -> float:
    if not 0.5 < level < 1:
        raise SpecificationError(f"level={level!r} must be between 0.5 and 1.")
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _judge(name: str, value: float, ok: Any, kind: Any, found: str, want: str,
           fail: str) -> Check:  # fmt: skip
    verdict = f"passes ({want})" if ok else f"FAILS (not {want}): {fail}"
    return Check(name, bool(ok), statistic=float(value), kind=kind, message=f"{found}; {verdict}.")


def refute_panel(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    design: PanelDesign = "did",
    level: float = 0.95,
    **options: Any,
) -> Refutations:
    """Run the design-native refutations of a panel estimate.

    Parameters
    ----------
    panel
        Long panel, as for :func:`causal_kit.did`. Not modified.
    outcome, unit, time, treatment
        Columns, as for the design.
    design
        ``"did"`` (:func:`causal_kit.did`) or ``"sc"`` (:func:`causal_kit.synthetic_control`).
    level
        Interval level.
    **options
        Passed to the design's front door (e.g. ``method="cs"``).

    Returns
    -------
    Refutations
    """
    check_option("design", design, PanelDesign)
    _z(level)
    missing = [c for c in (outcome, unit, time, treatment) if c not in panel.columns]
    if missing:
        raise DataError(f"panel lacks column(s) {missing}; available: {list(panel.columns)}.")
    fit = _front_door(design, outcome, unit, time, treatment, level, options)
    base = fit(panel)
    ever = panel.groupby(unit)[treatment].max()
    treated, never = list(ever.index[ever == 1]), list(ever.index[ever == 0])
    periods = np.sort(panel[time].unique())
    first = panel.loc[panel[treatment] == 1, time].min()
    pre = periods[periods < first]
    if len(pre) < 4 or len(never) < 4:
        raise DataError(
            f"refutations need at least 4 pre-launch periods and 4 never-treated units; the panel "
            f"has {len(pre)} and {len(never)}."
        )
    checks = [_placebo_dates(panel, fit, pre, treated, unit, time, treatment),
              _placebo_units(panel, fit, never, first, pre, unit, time, treatment),
              _leave_one_out(panel, fit, base, treated, unit)]  # fmt: skip
    return Refutations(float(base.estimate), float(base.se), tuple(checks))


def _front_door(design: str, outcome: str, unit: str, time: str, treatment: str, level: float,
                options: dict[str, Any]) -> Callable[[pd.DataFrame], Estimate]:  # fmt: skip
    def fit(frame: pd.DataFrame) -> Estimate:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if design == "did":
                from causal_kit.design.did import did

                # a refit needs its effect and interval only: no robustness checks
                opts = {"robustness": False, **options}
                return did(frame, outcome=outcome, unit=unit, time=time, treatment=treatment,
                           level=level, **opts)  # fmt: skip
            from causal_kit.design.synth import synthetic_control

            opts = {"placebo_in_time": False, "leave_one_out": False, **options}
            return synthetic_control(frame, outcome=outcome, unit=unit, time=time,
                                     treatment=treatment, level=level, **opts)  # fmt: skip

    return fit


def _covers_zero(est: Estimate) -> bool:
    return bool(est.ci[0] <= 0 <= est.ci[1])


def _placebo_dates(panel: pd.DataFrame, fit: Callable[[pd.DataFrame], Estimate],
                   pre: np.ndarray, treated: list[Any], unit: str, time: str,
                   treatment: str) -> Check:  # fmt: skip
    fake = pre[len(pre) // 2]
    sub = panel[panel[time].isin(pre)].copy()
    sub[treatment] = (sub[unit].isin(treated) & (sub[time] >= fake)).astype(np.int64)
    est = fit(sub)
    ok = _covers_zero(est)
    return _judge("placebo_dates", est.estimate, ok, "identifying",
                  f"a fake launch at {fake} (pre-launch data only) shows an effect of "
                  f"{number(est.estimate, 3)} [{number(est.ci[0], 3)}, {number(est.ci[1], 3)}]",
                  "an interval that includes 0", "treated and control units already diverged "
                  "before the launch")  # fmt: skip


def _placebo_units(panel: pd.DataFrame, fit: Callable[[pd.DataFrame], Estimate],
                   never: list[Any], first: Any, pre: np.ndarray, unit: str, time: str,
                   treatment: str) -> Check:  # fmt: skip
    """Each never-treated unit pretends to launch at the launch date, against the others.

    Their placebo effects are compared with the same placebo run at a fake date inside the
    pre-launch periods (each scaled by the noise of a 2x2 effect with its window's lengths): if
    the controls stayed parallel after the launch, the post-launch placebo effects are no more
    dispersed than the pre-launch ones. With independent units the squared ratio is roughly
    F(n, n); exceeding 2 happens about 1% of the time with 14 controls.
    """
    controls = panel[panel[unit].isin(never)]
    before = controls[controls[time].isin(pre)]
    fake = pre[len(pre) // 2]

    def placebo(frame: pd.DataFrame, u: Any, date: Any) -> float:
        sub = frame.copy()
        sub[treatment] = ((sub[unit] == u) & (sub[time] >= date)).astype(np.int64)
        return float(fit(sub).estimate)

    post = np.array([placebo(controls, u, first) for u in never])
    ref = np.array([placebo(before, u, fake) for u in never])
    rms_post, rms_ref = float(np.sqrt(np.mean(post**2))), float(np.sqrt(np.mean(ref**2)))
    # a unit's 2x2 effect has noise ∝ sqrt(1/periods before + 1/periods after): put both on it
    periods = np.sort(controls[time].unique())
    n_after = int((periods >= first).sum())
    noise_post = np.sqrt(1 / len(pre) + 1 / n_after)
    noise_ref = np.sqrt(1 / int((pre < fake).sum()) + 1 / int((pre >= fake).sum()))
    ratio = (rms_post / noise_post) / (rms_ref / noise_ref) if rms_ref > 0 else float("inf")
    ok = ratio <= PLACEBO_UNITS_RATIO
    return _judge("placebo_units", rms_post, ok, "identifying",
                  f"each of the {len(never)} never-treated units pretending to launch shows a "
                  f"typical (root-mean-square) effect of {number(rms_post, 3)}, "
                  f"{number(ratio, 3)} times what the same placebo shows before the launch "
                  "(per unit of noise)",
                  f"at most {PLACEBO_UNITS_RATIO:g} times", "some control units moved apart "
                  "from the others after the launch date: spill-overs onto them or shocks of "
                  "their own")  # fmt: skip


def _leave_one_out(panel: pd.DataFrame, fit: Callable[[pd.DataFrame], Estimate], base: Estimate,
                   treated: list[Any], unit: str) -> Check:  # fmt: skip
    if len(treated) < 2:
        return Check("leave_one_out", True, statistic=float(base.estimate), kind="robustness",
                     message="one treated unit: nothing to leave out.")  # fmt: skip
    effects = np.array([fit(panel[panel[unit] != u]).estimate for u in treated])
    ok = bool(((effects >= base.ci[0]) & (effects <= base.ci[1])).all())
    worst = float(effects[np.argmax(np.abs(effects - base.estimate))])
    return _judge("leave_one_out", worst, ok, "robustness",
                  f"dropping one treated unit at a time gives {number(effects.min(), 3)} to "
                  f"{number(effects.max(), 3)}", "every estimate inside the original interval",
                  "one unit drives the result")  # fmt: skip
