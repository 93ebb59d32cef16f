"""Who gains: effects that vary by user, the users to launch to, and what targeting is worth.

:func:`heterogeneity` estimates conditional effects by user features (segment, tenure,
pre-period activity, region tier...) with EconML and turns them into decisions:

* **CATE model** — EconML's ``LinearDRLearner`` (doubly robust, effect linear in the features,
  honest intervals) with fast cross-fitted linear nuisance models by default;
  ``method="forest"`` uses ``CausalForestDML`` for non-linear effects (much slower).
* **Group effects** — each segment's (and each band of a numeric feature's) effect is the mean
  of cross-fitted doubly robust scores of its users, so its interval does not rest on the CATE
  model being right; beside it, the segment's share of the outcome (e.g. of revenue), so that a
  loss in the segment that pays is not hidden by the average.
* **Quintiles of predicted gain** — users ranked by the CATE model (fitted on the other half of
  the users), with the effect of the top and bottom fifth from the scores.
* **Policy tree** — EconML's ``SingleTreePolicyInterpreter`` (a shallow tree: "launch to these,
  hold back those"), learned on one half and valued on the other (and vice versa), against
  launching to everyone.

The assumption depends on the launch's shape, and is stated in the result:

* ``"holdout"`` — the arm is randomized: the propensity is the arm's share.
* ``"rollout"`` — the outcome is first-differenced (after minus ``pre_outcome``) and the
  propensity of being in a launched region is modelled from the features: *conditional parallel
  trends* (given the features, launched and other users would have trended alike).
* ``"score_gate"`` — users within ``bandwidth`` of the cutoff, the score among the controls:
  near the cutoff, who is above is as good as random given the score.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitWarning, DataError, SpecificationError
from causal_kit.core.estimate import TIDY_COLUMNS, json_safe
from causal_kit.core.options import check_option
from causal_kit.core.render import Rendered, ShowsSummary, number
from causal_kit.core.stats import normal_ci

HeteroDesign = Literal["holdout", "rollout", "score_gate"]
HeteroMethod = Literal["linear", "forest"]
ASSUMPTIONS = {
    "holdout": "the arm was randomized, so the propensity is the arm's share",
    "rollout": "conditional parallel trends: given the features, users in launched and other "
               "regions would have changed alike (outcome first-differenced)",
    "score_gate": "near the cutoff (within the bandwidth), being above it is as good as random "
                  "given the score",
}  # fmt: skip


@dataclass(frozen=True)
class Heterogeneity(ShowsSummary):
    """Conditional effects, group effects, quintiles of gain and a targeting policy.

    Attributes
    ----------
    table
        Tidy rows (:data:`~causal_kit.core.estimate.TIDY_COLUMNS` plus ``kind``, ``feature``,
        ``group``, ``n_users``, ``outcome_share``): the average effect, each group of each
        feature, each quintile of predicted gain.
    policy
        The targeting policy: ``rules`` (one sentence per leaf), ``share_launched``,
        ``value_all`` / ``value_targeted`` / ``gain`` (per user, with ``*_low``/``*_high``),
        ``total_all`` / ``total_targeted`` (times ``population``).
    cate
        Each user's predicted effect (aligned with the input rows used).
    design, method, outcome, features, level, assumption, n_users
        How it was estimated.
    """

    table: pd.DataFrame
    policy: dict[str, Any]
    cate: np.ndarray = field(repr=False)
    design: str = "holdout"
    method: str = "linear"
    outcome: str = ""
    features: tuple[str, ...] = ()
    level: float = 0.95
    assumption: str = ""
    n_users: int = 0

    def tidy(self) -> pd.DataFrame:
        """Return the table (a copy)."""
        return self.table.copy()

    def quintile(self, which: Literal["top", "bottom"]) -> pd.Series:
        """Return the row of the top or bottom quintile of predicted gain."""
        rows = self.table[self.table["kind"] == "quintile"]
        return rows.iloc[-1] if which == "top" else rows.iloc[0]

    def summary(self) -> Rendered:
        """Return the effects by group and the targeting policy as a printable view."""
        p = self.policy
        rows = [("Outcome", self.outcome), ("Design", self.design),
                ("Assumption", self.assumption), ("Users", str(self.n_users)),
                ("Launch to", f"{p['share_launched']:.0%} of users"),
                ("Value per user, launch to all", _range(p, "value_all")),
                ("Value per user, targeted", _range(p, "value_targeted")),
                ("Gain of targeting per user", _range(p, "gain"))]  # fmt: skip
        cols = ["kind", "feature", "group", "estimate", "conf_low", "conf_high", "n_users",
                "outcome_share"]  # fmt: skip
        return Rendered("Who gains", rows, [("Effects by group", self.table[cols])],
                        list(p["rules"]))  # fmt: skip

    def plot(self, ax: Any = None) -> Any:
        """Plot group and quintile effects with their intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        t = self.table[self.table["kind"] != "average"]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.4 + 0.35 * len(t)))
        y = np.arange(len(t))
        err = np.vstack([t["estimate"] - t["conf_low"], t["conf_high"] - t["estimate"]])
        ax.errorbar(t["estimate"], y, xerr=err, fmt="o", color="#4c72b0", capsize=3)
        ax.set_yticks(y, [f"{f}: {g}" for f, g in zip(t["feature"], t["group"], strict=True)])
        ax.axvline(0, color="#333333", lw=0.8)
        ate = self.table.iloc[0]["estimate"]
        ax.axvline(ate, color="#dd8452", ls="--", lw=1, label="average")
        ax.set_xlabel(f"effect on {self.outcome}")
        ax.legend(loc="best")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (the ``heterogeneity`` key of ``summary.json``)."""
        return {
            "outcome": self.outcome,
            "design": self.design,
            "method": self.method,
            "assumption": self.assumption,
            "features": list(self.features),
            "level": self.level,
            "n_users": self.n_users,
            "groups": json_safe(self.table),
            "policy": json_safe(self.policy),
        }


def _range(p: dict[str, Any], key: str) -> str:
    return f"{number(p[key], 4)} [{number(p[key + '_low'], 4)}, {number(p[key + '_high'], 4)}]"


def _features(users: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Validate the features and encode them as floats (categoricals one-hot)."""
    parts: list[Any] = []
    for col in features:
        s = users[col]
        n_bad = int(s.isna().sum())
        if n_bad:
            raise DataError(
                f"feature {col!r} has {n_bad} missing value(s); impute it (e.g. a 'missing' "
                "category or the median) or drop those users before estimating who gains."
            )
        if s.nunique() < 2:
            raise DataError(
                f"feature {col!r} is constant ({s.iloc[0]!r}); it cannot say who gains — drop it "
                "from features."
            )
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            parts.append(s.astype(float).rename(col))
        else:
            parts.append(pd.get_dummies(s.astype(str), prefix=col, drop_first=True, dtype=float))
    return pd.concat(parts, axis=1)


def _ols_predict(x: np.ndarray, y: np.ndarray, fit: np.ndarray, out: np.ndarray) -> np.ndarray:
    a = np.column_stack([np.ones(fit.sum()), x[fit]])
    coef, *_ = np.linalg.lstsq(a, y[fit], rcond=None)
    return np.column_stack([np.ones(out.sum()), x[out]]) @ coef


def _dr_scores(x: np.ndarray, y: np.ndarray, t: np.ndarray, e: np.ndarray,
               folds: np.ndarray) -> np.ndarray:  # fmt: skip
    """Cross-fitted AIPW scores with per-arm linear outcome models."""
    psi = np.empty(len(y))
    for k in (0, 1):
        out, train = folds == k, folds != k
        mu = {a: _ols_predict(x, y, train & (t == a), out) for a in (0, 1)}
        tt, yy, ee = t[out], y[out], e[out]
        psi[out] = (mu[1] - mu[0] + tt * (yy - mu[1]) / ee
                    - (1 - tt) * (yy - mu[0]) / (1 - ee))  # fmt: skip
    return psi


def _mean_ci(psi: np.ndarray, clusters: np.ndarray | None, level: float) -> tuple[float, ...]:
    m = float(psi.mean())
    if clusters is None:
        se = float(psi.std(ddof=1) / np.sqrt(len(psi)))
    else:
        codes, _ = pd.factorize(clusters)
        sums = np.bincount(codes, weights=psi - m)
        g = len(sums)
        se = float(np.sqrt(g / max(g - 1, 1) * np.sum(sums**2)) / len(psi))
    (lo, hi), p = normal_ci(m, se, level)
    return m, se, lo, hi, p


def heterogeneity(
    users: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    features: Sequence[str],
    design: HeteroDesign = "holdout",
    pre_outcome: str | None = None,
    running: str | None = None,
    cutoff: float | None = None,
    bandwidth: float | None = None,
    cluster: str | None = None,
    share_of: str | None = None,
    method: HeteroMethod = "linear",
    max_depth: int = 2,
    min_leaf: int | None = None,
    cost: float = 0.0,
    population: int | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> Heterogeneity:
    """Estimate who gains from a launch and which users it should reach.

    Parameters
    ----------
    users
        One row per user. Not modified.
    outcome
        Outcome column (e.g. revenue in the window after the launch).
    treatment
        0/1 column: the arm (holdout), being in a launched region (rollout) or above the cutoff
        (score gate).
    features
        User features the effect may vary with (categoricals are one-hot encoded; numeric ones
        are also summarised in three bands).
    design
        ``"holdout"``, ``"rollout"`` or ``"score_gate"`` (see the module notes).
    pre_outcome
        Rollout: the same outcome before the launch; the effect is on the difference.
    running, cutoff, bandwidth
        Score gate: the score column, the cutoff, and the half-width kept around it.
    cluster
        Cluster column (e.g. ``"region"``) for the intervals of group effects; a rollout should
        give its regions.
    share_of
        Column whose total each group's share is reported of (default ``outcome``).
    method
        ``"linear"`` (``LinearDRLearner``, fast) or ``"forest"`` (``CausalForestDML``).
    max_depth, min_leaf
        Depth of the policy tree and fewest users per leaf (default: 5% of the users, at least
        50).
    cost
        Cost per launched user, in the outcome's units, charged to the policy.
    population
        Users the policy's total is scaled to (default: the users given).
    level
        Interval level.
    seed
        Seed of the folds and the models.

    Returns
    -------
    Heterogeneity

    Raises
    ------
    DataError
        Missing columns or values, constant features, a treatment that is not 0/1, too few users.
    SpecificationError
        Unknown options, a design without its columns, too few users per leaf.
    """
    check_option("design", design, HeteroDesign)
    check_option("method", method, HeteroMethod)
    needed = [outcome, treatment, *features]
    needed += [c for c in (pre_outcome, running, cluster, share_of) if c is not None]
    missing = [c for c in dict.fromkeys(needed) if c not in users.columns]
    if missing:
        raise DataError(f"users lack column(s) {missing}; available: {list(users.columns)}.")
    if not features:
        raise SpecificationError("features is empty; name the user features to split by.")
    frame = _select(users, design, pre_outcome, running, cutoff, bandwidth)
    n = len(frame)
    t = frame[treatment].to_numpy()
    if not np.isin(t, [0, 1]).all() or len(np.unique(t)) < 2:
        raise DataError(f"treatment {treatment!r} must be 0/1 with both values among the users.")
    t = t.astype(np.int64)
    leaf = max(50, n // 20) if min_leaf is None else int(min_leaf)
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 1 <= max_depth <= 4:
        raise SpecificationError(f"max_depth={max_depth!r} must be an integer from 1 to 4.")
    if n < leaf * 2**max_depth or min(t.sum(), n - t.sum()) < 20:
        raise SpecificationError(
            f"too few users per leaf: {n} users ({int(t.sum())} treated) cannot fill "
            f"{2**max_depth} leaves of at least {leaf} users; lower max_depth or min_leaf, or "
            "give more users."
        )
    y = frame[outcome].to_numpy(dtype=float)
    if pre_outcome is not None:
        y = y - frame[pre_outcome].to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise DataError(f"outcome {outcome!r} has missing or infinite values; drop those users.")
    xf = _features(frame, features)
    x = xf.to_numpy()
    w = frame[[running]].to_numpy(dtype=float) if running else None
    xw = x if w is None else np.column_stack([x, w])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    folds = rng.permutation(np.arange(n) % 2)
    e = _propensity(design, xw, t, folds)
    psi = _dr_scores(xw, y, t, e, folds)
    clusters = frame[cluster].to_numpy() if cluster else None
    cate, models = _cate(method, design, y, t, x, w, folds, seed)

    total = frame[share_of or outcome].to_numpy(dtype=float)
    rows = [_row("average", "all", "all", psi, clusters, level, total, np.ones(n, bool))]
    for col in features:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > 5:
            groups = pd.qcut(s.rank(method="first"), 3, labels=["low", "middle", "high"])
            groups = groups.astype(str)
        else:
            groups = s.astype(str)
        for g in sorted(groups.unique()):
            sel = (groups == g).to_numpy()
            rows.append(_row("group", col, g, psi, clusters, level, total, sel))
    ranks = pd.qcut(pd.Series(cate).rank(method="first"), 5, labels=False).to_numpy()
    for q in range(5):
        rows.append(_row("quintile", "predicted gain", f"Q{q + 1}", psi, clusters, level, total,
                         ranks == q))  # fmt: skip
    table = pd.DataFrame(rows)
    small = table[(table["kind"] == "group") & (table["n_users"] < 30)]
    if len(small):
        warnings.warn(
            f"groups with fewer than 30 users ({', '.join(small['term'])}): their effects are "
            "noisy; merge them or give more users.",
            CausalKitWarning, stacklevel=2,
        )
    dummies = {name: (col, name[len(col) + 1:]) for col in features
               for name in xf.columns if name != col and name.startswith(f"{col}_")}
    policy = _policy(models, x, list(xf.columns), dummies, psi, folds, clusters, cost,
                     max_depth, leaf, level, population or n, seed)  # fmt: skip
    return Heterogeneity(table, policy, cate, design, method, outcome, tuple(features), level,
                         ASSUMPTIONS[design], n)  # fmt: skip


def _select(users: pd.DataFrame, design: str, pre: str | None, running: str | None,
            cutoff: float | None, bandwidth: float | None) -> pd.DataFrame:  # fmt: skip
    if design == "rollout" and pre is None:
        raise SpecificationError(
            "design='rollout' needs pre_outcome= (the outcome before the launch) to difference."
        )
    if design != "score_gate":
        return users
    if running is None or cutoff is None or bandwidth is None or bandwidth <= 0:
        raise SpecificationError(
            "design='score_gate' needs running=, cutoff= and a positive bandwidth= (e.g. the "
            "bandwidth ck.rdd chose: est.details['bandwidth'])."
        )
    score = users[running].astype(float)
    return users[(score - cutoff).abs() <= bandwidth]


def _propensity(design: str, xw: np.ndarray, t: np.ndarray, folds: np.ndarray) -> np.ndarray:
    if design == "holdout":
        return np.full(len(t), t.mean())
    e = np.empty(len(t))
    for k in (0, 1):
        model = _classifier(design).fit(xw[folds != k], t[folds != k])
        e[folds == k] = model.predict_proba(xw[folds == k])[:, 1]
    lo = float(min(e.min(), 1 - e.max()))
    if lo < 0.02:
        warnings.warn(
            f"some users have a propensity within {lo:.3f} of 0 or 1: the features almost "
            "decide who was launched to; effects there are extrapolated (clipped to [0.02, 0.98]).",
            CausalKitWarning, stacklevel=3,
        )
    return np.clip(e, 0.02, 0.98)


def _cate(method: str, design: str, y: np.ndarray, t: np.ndarray, x: np.ndarray,
          w: np.ndarray | None, folds: np.ndarray,
          seed: int) -> tuple[np.ndarray, list[Any]]:  # fmt: skip
    """Predicted effect of each user from the model fitted on the other half; the models."""
    cate = np.empty(len(y))
    models = []
    for k in (0, 1):
        train = folds != k
        model = _fit(method, design, y[train], t[train], x[train],
                     None if w is None else w[train], seed)
        cate[folds == k] = np.ravel(model.effect(x[folds == k]))
        models.append(model)
    return cate, models


def _classifier(design: str) -> Any:
    """Return the propensity model: the arm's share for a holdout, else a scaled logistic model."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if design == "holdout":
        return DummyClassifier(strategy="prior")
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))


def _fit(method: str, design: str, y: np.ndarray, t: np.ndarray, x: np.ndarray,
         w: np.ndarray | None, seed: int) -> Any:  # fmt: skip
    from sklearn.linear_model import LinearRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "forest":
            from econml.dml import CausalForestDML
            from sklearn.ensemble import HistGradientBoostingRegressor

            est: Any = CausalForestDML(
                model_y=HistGradientBoostingRegressor(max_iter=50), discrete_treatment=True,
                model_t=_classifier(design), n_estimators=200,
                min_samples_leaf=20, cv=2, random_state=seed)  # fmt: skip
        else:
            from econml.dr import LinearDRLearner

            est = LinearDRLearner(model_regression=LinearRegression(),
                                  model_propensity=_classifier(design), cv=2,
                                  random_state=seed)  # fmt: skip
        est.fit(y, t, X=x, W=w)
    return est


def _row(kind: str, feature: str, group: str, psi: np.ndarray, clusters: np.ndarray | None,
         level: float, total: np.ndarray, sel: np.ndarray) -> dict[str, Any]:  # fmt: skip
    m, se, lo, hi, p = _mean_ci(psi[sel], None if clusters is None else clusters[sel], level)
    stat = m / se if se > 0 else float("nan")
    share = float(total[sel].sum() / total.sum()) if total.sum() else float("nan")
    return dict(zip(TIDY_COLUMNS, [f"{feature}={group}", m, se, stat, p, lo, hi], strict=True)) | {
        "kind": kind, "feature": feature, "group": group, "n_users": int(sel.sum()),
        "outcome_share": share}  # fmt: skip


def _policy(models: list[Any], x: np.ndarray, names: list[str],
            dummies: dict[str, tuple[str, str]], psi: np.ndarray,
            folds: np.ndarray, clusters: np.ndarray | None, cost: float, depth: int, leaf: int,
            level: float, population: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """Learn the tree on one half, apply it to the other (both ways); value it by DR scores."""
    from econml.cate_interpreter import SingleTreePolicyInterpreter

    treat = np.zeros(len(psi), dtype=bool)
    trees = []
    for k in (0, 1):
        train = folds != k
        tree = SingleTreePolicyInterpreter(max_depth=depth, min_samples_leaf=leaf // 2,
                                           random_state=seed)  # fmt: skip
        tree.interpret(models[k], x[train], sample_treatment_costs=cost)
        treat[folds == k] = np.asarray(tree.treat(x[folds == k])).ravel() == 1
        trees.append(tree)
    net = psi - cost
    out: dict[str, Any] = {"share_launched": float(treat.mean()), "cost_per_user": cost,
                           "population": population}  # fmt: skip
    for key, values in (("value_all", net), ("value_targeted", net * treat),
                        ("gain", -net * ~treat)):  # fmt: skip
        m, _, lo, hi, _ = _mean_ci(values, clusters, level)
        out |= {key: m, f"{key}_low": lo, f"{key}_high": hi}
    out["total_all"] = out["value_all"] * population
    out["total_targeted"] = out["value_targeted"] * population
    # the tree of the whole sample, for the rules people read
    final = SingleTreePolicyInterpreter(max_depth=depth, min_samples_leaf=leaf,
                                        random_state=seed)  # fmt: skip
    final.interpret(models[0], x, sample_treatment_costs=cost)
    out["rules"] = _rules(final, x, names, dummies)
    return out


def _rules(interp: Any, x: np.ndarray, names: list[str],
           dummies: dict[str, tuple[str, str]]) -> list[str]:  # fmt: skip
    tree = interp.tree_model_.tree_
    launch = np.asarray(interp.treat(x)).ravel() == 1
    leaves = interp.tree_model_.apply(x)
    rules = []

    def walk(node: int, conds: list[str]) -> None:
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:  # a leaf
            sel = leaves == node
            verdict = "launch to" if launch[sel].mean() > 0.5 else "hold back"
            who = " and ".join(conds) or "everyone"
            rules.append(f"{verdict} users with {who} ({sel.mean():.0%} of users)")
            return
        name, thr = names[tree.feature[node]], tree.threshold[node]
        if name in dummies:  # a one-hot column splits at 0.5: "is" / "is not"
            col, value = dummies[name]
            walk(left, [*conds, f"{col} other than {value}"])
            walk(right, [*conds, f"{col} = {value}"])
        else:
            walk(left, [*conds, f"{name} <= {thr:.3g}"])
            walk(right, [*conds, f"{name} > {thr:.3g}"])

    walk(0, [])
    return rules
