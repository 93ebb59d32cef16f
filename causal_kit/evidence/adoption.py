"""The effect per adopter: the launch as an instrument for using the feature.

A launch that reaches everyone in a region but is used by 12% of them has a small average effect
(the intent-to-treat effect, ITT) and a possibly large one per user who actually used it. With
the exposure as an instrument for adoption, :func:`adoption_effect` estimates the **complier
average effect** (the local average treatment effect, LATE: the effect on users who adopt
because they were exposed) with EconML's ``OrthoIV`` (cross-fitted linear nuisances, so the
covariates only sharpen it), beside the ITT and the first stage (how much the exposure moved
adoption).

It rests on the instrument's assumptions: the exposure is as good as random given the
covariates, it moves the outcome only through adoption (exclusion: merely seeing the launch does
not change revenue), and nobody adopts *because* they were not exposed (monotonicity). Money is
computed on the ITT unless the plan says otherwise; the per-adopter effect says what the feature
is worth to a user who uses it — what more adoption would buy.

A weak first stage (F below 10) makes the per-adopter effect unreliable: a
:class:`~causal_kit.core.errors.CausalKitWarning` and a failed check say so; an exposure that
does not raise adoption at all is an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitWarning, DataError
from causal_kit.core.estimate import Check, json_safe
from causal_kit.core.render import Rendered, ShowsSummary, number
from causal_kit.core.stats import normal_ci

WEAK_F = 10.0


@dataclass(frozen=True)
class AdoptionEffect(ShowsSummary):
    """Intent-to-treat and per-adopter effects of a launch.

    Attributes
    ----------
    itt, itt_se, itt_ci
        Effect of exposure on the outcome, over every exposed user.
    adoption_rate, first_stage, first_stage_ci, first_stage_f
        Adoption among the exposed, the exposure's effect on adoption with its interval, and
        the first-stage F statistic.
    per_adopter, per_adopter_se, per_adopter_ci
        The complier average effect (EconML ``OrthoIV``).
    wald
        ITT ÷ first stage (the plain Wald ratio, for comparison).
    checks
        ``first_stage_strength`` (identifying).
    """

    outcome: str
    itt: float
    itt_se: float
    itt_ci: tuple[float, float]
    adoption_rate: float
    first_stage: float
    first_stage_ci: tuple[float, float]
    first_stage_f: float
    per_adopter: float
    per_adopter_se: float
    per_adopter_ci: tuple[float, float]
    wald: float
    level: float
    n_users: int
    n_exposed: int
    checks: tuple[Check, ...]

    def summary(self) -> Rendered:
        """Return the two effects and the first stage as a printable view."""
        def rng(v: float, ci: tuple[float, float]) -> str:
            return f"{number(v, 4)} [{number(ci[0], 4)}, {number(ci[1], 4)}]"

        rows = [("Outcome", self.outcome),
                ("Effect per exposed user (ITT)", rng(self.itt, self.itt_ci)),
                ("Adoption among the exposed", f"{self.adoption_rate:.1%}"),
                ("Exposure's effect on adoption", rng(self.first_stage, self.first_stage_ci)),
                ("First-stage F", number(self.first_stage_f, 3)),
                ("Effect per adopter (complier average)",
                 rng(self.per_adopter, self.per_adopter_ci))]  # fmt: skip
        notes = [c.message for c in self.checks]
        notes.append("Money is computed on the intent-to-treat effect; the per-adopter effect "
                     "says what each additional adopter is worth.")  # fmt: skip
        return Rendered("Per adopter", rows, (), notes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (the ``adoption`` key of ``summary.json``)."""
        return json_safe({
            "outcome": self.outcome, "level": self.level, "n_users": self.n_users,
            "n_exposed": self.n_exposed,
            "itt": {"estimate": self.itt, "se": self.itt_se, "ci": list(self.itt_ci)},
            "adoption_rate": self.adoption_rate,
            "first_stage": {"estimate": self.first_stage, "ci": list(self.first_stage_ci),
                            "f_statistic": self.first_stage_f},
            "per_adopter": {"estimate": self.per_adopter, "se": self.per_adopter_se,
                            "ci": list(self.per_adopter_ci), "method": "econml:OrthoIV"},
            "wald": self.wald,
            "checks": [c.to_dict() for c in self.checks],
        })  # fmt: skip


def _ols(y: np.ndarray, x: np.ndarray, clusters: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Coefficients and robust (HC1 or cluster) standard errors."""
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    u = (y - x @ beta)[:, None] * x
    n, k = x.shape
    if clusters is None:
        meat = u.T @ u * n / max(n - k, 1)
    else:
        codes, uniq = pd.factorize(clusters)
        sums = np.zeros((len(uniq), k))
        np.add.at(sums, codes, u)
        g = len(uniq)
        meat = sums.T @ sums * g / max(g - 1, 1)
    cov = xtx_inv @ meat @ xtx_inv
    return beta, np.sqrt(np.diag(cov))


def adoption_effect(
    users: pd.DataFrame,
    *,
    outcome: str,
    exposure: str,
    adopted: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> AdoptionEffect:
    """Estimate the intent-to-treat effect and the effect per adopter of a launch.

    Parameters
    ----------
    users
        One row per user. Not modified.
    outcome
        Outcome column.
    exposure
        0/1: whether the launch reached the user (the instrument).
    adopted
        0/1: whether the user used the feature (from events, e.g. any call to the new model).
    covariates
        Numeric or categorical columns that sharpen the estimates (and make the exposure as good
        as random when it was not randomized).
    cluster
        Cluster column (e.g. ``"region"``) for the ITT and first-stage standard errors.
    level
        Interval level.
    seed
        Seed of EconML's cross-fitting.

    Returns
    -------
    AdoptionEffect

    Raises
    ------
    DataError
        Missing columns or values, non-0/1 columns, an exposure that does not raise adoption.

    Warns
    -----
    CausalKitWarning
        When the first stage is weak (F < 10).
    """
    cols = [outcome, exposure, adopted, *covariates] + ([cluster] if cluster else [])
    missing = [c for c in dict.fromkeys(cols) if c not in users.columns]
    if missing:
        raise DataError(f"users lack column(s) {missing}; available: {list(users.columns)}.")
    frame = users[list(dict.fromkeys(cols))]
    bad = [c for c in frame.columns if frame[c].isna().any()]
    if bad:
        raise DataError(f"column(s) {bad} have missing values; drop those users or impute them.")
    for c in (exposure, adopted):
        if not frame[c].isin([0, 1]).all():
            values = sorted(frame[c].unique())[:5]
            raise DataError(f"column {c!r} must be 0/1; got values {values}.")
    z = frame[exposure].to_numpy(dtype=float)
    d = frame[adopted].to_numpy(dtype=float)
    y = frame[outcome].to_numpy(dtype=float)
    if z.min() == z.max():
        raise DataError(f"exposure {exposure!r} has one value only; both groups are needed.")
    w = _covariates(frame, covariates)
    x = np.column_stack([np.ones(len(z)), z, w])
    clusters = frame[cluster].to_numpy() if cluster else None
    b_y, se_y = _ols(y, x, clusters)
    b_d, se_d = _ols(d, x, clusters)
    itt, itt_se, fs, fs_se = float(b_y[1]), float(se_y[1]), float(b_d[1]), float(se_d[1])
    f_stat = (fs / fs_se) ** 2 if fs_se > 0 else float("inf")
    if fs <= 0 or not np.isfinite(fs_se):
        raise DataError(
            f"the exposure does not raise adoption ({adopted!r}: {fs:+.4f} exposed vs not); there "
            "is no per-adopter effect to estimate — check the adoption column, or report the "
            "intent-to-treat effect only."
        )
    weak = f_stat < WEAK_F
    if weak:
        warnings.warn(
            f"weak first stage: the exposure moves adoption by {fs:.4f} (F = {f_stat:.1f} < "
            f"{WEAK_F:g}); the per-adopter effect is unreliable — report the intent-to-treat "
            "effect, or wait for more adopters.",
            CausalKitWarning, stacklevel=2,
        )
    late, late_se = _orthoiv(y, d, z, w, seed)
    itt_ci, _ = normal_ci(itt, itt_se, level)
    fs_ci, _ = normal_ci(fs, fs_se, level)
    late_ci, _ = normal_ci(late, late_se, level)
    check = Check(
        "first_stage_strength", not weak, statistic=f_stat, p_value=None, kind="identifying",
        message=(f"the exposure raises adoption by {fs:.1%} (F = {f_stat:.1f}); "
                 + ("strong enough for the per-adopter effect." if not weak else
                    "too weak: the per-adopter effect is unreliable, use the ITT.")),
    )  # fmt: skip
    exposed = z == 1
    return AdoptionEffect(
        outcome, itt, itt_se, itt_ci, float(d[exposed].mean()), fs, fs_ci, f_stat, late,
        late_se, late_ci, itt / fs, level, len(y), int(exposed.sum()), (check,),
    )


def _covariates(frame: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    parts = []
    for c in covariates:
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            parts.append(s.to_numpy(dtype=float)[:, None])
        else:
            parts.append(pd.get_dummies(s.astype(str), drop_first=True, dtype=float).to_numpy())
    keep = [p for p in parts if p.shape[1] and np.ptp(p, axis=0).min() > 0]
    return np.hstack(keep) if keep else np.empty((len(frame), 0))


def _orthoiv(y: np.ndarray, d: np.ndarray, z: np.ndarray, w: np.ndarray,
             seed: int) -> tuple[float, float]:  # fmt: skip
    from econml.iv.dml import OrthoIV
    from sklearn.linear_model import LinearRegression, LogisticRegression

    est = OrthoIV(model_y_xw=LinearRegression(), model_t_xw=LogisticRegression(max_iter=500),
                  model_z_xw=LogisticRegression(max_iter=500), projection=False,
                  discrete_treatment=True, discrete_instrument=True, cv=2,
                  random_state=seed)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(y, d.astype(int), Z=z.astype(int), W=w if w.size else None)
        inf = est.ate_inference()
    return float(inf.mean_point), float(inf.stderr_mean)


#: Fields of the ``adoption`` object of ``summary.json`` beside ``share`` (``null`` when the
#: per-adopter effect was not computed).
IV_FIELDS = ("outcome", "level", "n_users", "n_exposed", "itt", "adoption_rate", "first_stage",
             "per_adopter", "wald", "checks")  # fmt: skip


def adoption_summary(share: float | None, effect: Any = None) -> dict[str, Any]:
    """Return the ``adoption`` object of ``summary.json``: the measured share beside the IV fields.

    Parameters
    ----------
    share
        Share of exposed users who used the feature (what :func:`causal_kit.decide` reads as
        ``adoption=``), or ``None`` when unknown.
    effect
        The :class:`AdoptionEffect` (anything with ``to_dict()``), or ``None`` when the effect
        per adopter was not computed: its fields are then ``null``.
    """
    fields = effect.to_dict() if effect is not None else {}
    return json_safe({"share": share, **{k: fields.get(k) for k in IV_FIELDS}})
