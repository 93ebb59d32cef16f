"""Mediation: the cascade links through which the launch moved the business metric.

On user-level data, each metric of the cascade graph (:func:`causal_kit.cascade_graph`) is
regressed on its direct causes — the exposure, the metrics of lower levels and the user
covariates. In this linear structural model the effect of the exposure along a path is the
product of the coefficients on it, and the **natural indirect effect** of the exposure on an
outcome *through* a mediator is the sum over the paths that pass through the mediator (the
product-of-coefficients, or two-stage regression, estimator that DoWhy's
``mediation.two_stage_regression`` uses for one mediator; ``tests/test_mediation.py`` checks the
two agree). The share is the indirect effect over the total effect; the rest flows directly or
through other links. Intervals come from a bootstrap over users (or over clusters, e.g. regions,
when the launch was assigned by cluster), drawn as multinomial weights and solved for every draw
at once.

Identification rests on sequential ignorability: given the covariates, nothing unmeasured causes
both a mediator and the outcome, and the launch was as good as random (a holdout, or a rollout
conditional on the covariates). A link through which no share flows while the outcome moved, or
while the launch moved the mediator, is *broken* in the sense of
:mod:`causal_kit.evidence.cascade`: the upstream metric changed and the downstream one did not
follow through it. So is a link whose products of coefficients predict an indirect effect that
the outcome never shows (its total effect is nil and the rest of the effect cancels the path):
users who differ in the mediator differ in the outcome, but the launch's change in the mediator
did not carry through — the sign of a broken link when the mediator also reflects who the user
is (e.g. a user's usual task success drives both the tasks completed and the churn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.estimate import json_safe
from causal_kit.core.render import Rendered, ShowsSummary, number
from causal_kit.evidence.cascade import LEVELS
from causal_kit.evidence.graph import CascadeGraph, cascade_graph

COLUMNS = ["mediator", "outcome", "from_level", "to_level", "total", "total_low", "total_high",
           "indirect", "indirect_low", "indirect_high", "share", "share_low", "share_high",
           "status", "message"]  # fmt: skip


@dataclass(frozen=True)
class Mediation(ShowsSummary):
    """Indirect effects of a launch through each link of its cascade.

    Attributes
    ----------
    table
        One row per (mediator, outcome) pair with the mediator at a lower level: ``total``
        (effect of the exposure on the outcome), ``indirect`` (through the mediator),
        ``share`` (indirect ÷ total), each with ``*_low``/``*_high`` bootstrap bounds,
        ``status`` (``"carries"``, ``"broken"``, ``"no signal"``) and a ``message``.
    coefficients
        The structural coefficients: ``cause``, ``effect``, ``estimate``.
    graph
        The cascade graph the regressions follow.
    level, n_boot, n_users, cluster
        Interval level, bootstrap draws, users used, and the bootstrap's cluster column.
    """

    table: pd.DataFrame
    coefficients: pd.DataFrame
    graph: CascadeGraph
    level: float
    n_boot: int
    n_users: int
    cluster: str | None

    def share(self, mediator: str, outcome: str) -> float:
        """Return the share of ``outcome``'s effect that flows through ``mediator``."""
        row = self._row(mediator, outcome)
        return float(row["share"])

    def _row(self, mediator: str, outcome: str) -> pd.Series:
        sel = self.table[(self.table["mediator"] == mediator) & (self.table["outcome"] == outcome)]
        if sel.empty:
            pairs = [f"{a} -> {b}" for a, b in zip(self.table["mediator"], self.table["outcome"],
                                                   strict=True)]  # fmt: skip
            raise SpecificationError(f"no link {mediator} -> {outcome}; the links are {pairs}.")
        return sel.iloc[0]

    def summary(self) -> Rendered:
        """Return the shares with their intervals, and what each link says."""
        cols = ["mediator", "outcome", "total", "indirect", "share", "share_low", "share_high",
                "status"]  # fmt: skip
        rows = [("Exposure", self.graph.exposure), ("Users", str(self.n_users)),
                ("Bootstrap", f"{self.n_boot} draws over {self.cluster or 'users'}"),
                ("Interval level", f"{self.level:.0%}")]  # fmt: skip
        return Rendered("Through what: mediation along the cascade", rows,
                        [("Indirect effects", self.table[cols])],
                        [str(m) for m in self.table["message"]])  # fmt: skip

    def plot(self, ax: Any = None) -> Any:
        """Horizontal bars of each link's share with its interval; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.5 + 0.5 * len(self.table)))
        t = self.table
        y = np.arange(len(t))
        err = np.vstack([t["share"] - t["share_low"], t["share_high"] - t["share"]]).clip(0)
        ax.barh(y, t["share"], xerr=err, color="#4c72b0", capsize=3)
        ax.set_yticks(y, [f"{a} → {b}" for a, b in zip(t["mediator"], t["outcome"], strict=True)])
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_xlabel("share of the effect flowing through the link")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (the ``mediation`` key of ``summary.json``)."""
        return {
            "exposure": self.graph.exposure,
            "level": self.level,
            "n_boot": self.n_boot,
            "n_users": self.n_users,
            "cluster": self.cluster,
            "links": json_safe(self.table),
        }


def _design(users: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """Intercept plus each column (categoricals one-hot); also each column's width."""
    parts, widths = [np.ones((len(users), 1))], []
    for col in columns:
        s = users[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            part = pd.get_dummies(s.astype(str), drop_first=True, dtype=float).to_numpy()
        else:
            part = s.to_numpy(dtype=float)[:, None]
        parts.append(part)
        widths.append(part.shape[1])
    return np.hstack(parts), widths


def _solve(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares for every row of ``w`` at once: shape ``(draws, columns)``."""
    xtwx = np.einsum("bn,np,nq->bpq", w, x, x, optimize=True)
    xtwy = np.einsum("bn,np,n->bp", w, x, y, optimize=True)
    ridge = 1e-10 * np.eye(x.shape[1])
    return np.linalg.solve(xtwx + ridge, xtwy[..., None])[..., 0]


def _check(users: Any, cols: Sequence[str]) -> pd.DataFrame:
    if not isinstance(users, pd.DataFrame):
        raise DataError(f"users must be a pandas DataFrame; got {type(users).__name__}.")
    missing = [c for c in cols if c not in users.columns]
    if missing:
        raise DataError(f"users lack column(s) {missing}; available: {list(users.columns)}.")
    frame = users[list(cols)]
    for c in cols:
        n_bad = int(frame[c].isna().sum())
        if n_bad:
            raise DataError(
                f"column {c!r} has {n_bad} missing value(s); drop those users or impute the "
                "column before estimating mediation."
            )
    return frame


def mediation(
    users: pd.DataFrame,
    *,
    exposure: str,
    metrics: Sequence[str],
    covariates: Sequence[str] = (),
    levels: Mapping[str, Any] | None = None,
    graph: CascadeGraph | None = None,
    cluster: str | None = None,
    n_boot: int = 199,
    level: float = 0.95,
    seed: int = 0,
    launch: Any = "launch",
) -> Mediation:
    """Estimate how much of each metric's effect flows through each lower cascade level.

    Parameters
    ----------
    users
        One row per user: the 0/1 ``exposure``, the metrics and the covariates. Not modified.
    exposure
        0/1 column: whether the launch reached the user.
    metrics
        User-level metric columns at two or more cascade levels, e.g. ``["task_success",
        "sessions", "revenue"]`` with ``levels`` for those the registry does not know.
    covariates
        Common causes of the metrics (categorical columns are one-hot encoded).
    levels
        Metric → cascade level, as for :func:`causal_kit.cascade_graph`.
    graph
        A :class:`CascadeGraph` to follow instead of the default one.
    cluster
        Resample clusters (e.g. ``"region"``) instead of users in the bootstrap.
    n_boot
        Bootstrap draws.
    level
        Interval level.
    seed
        Seed of the bootstrap.
    launch
        The launch or its name (labels the graph).

    Returns
    -------
    Mediation

    Raises
    ------
    DataError
        Missing columns or values, an exposure that is not 0/1 or has one arm only.
    SpecificationError
        Bad levels, a cyclic graph, too few bootstrap draws.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 50:
        raise SpecificationError(f"n_boot={n_boot!r} must be an integer >= 50.")
    if not 0.5 < level < 1:
        raise SpecificationError(f"level={level!r} must be between 0.5 and 1.")
    g = graph or cascade_graph(launch, metrics, covariates=covariates, levels=levels,
                               exposure=exposure)  # fmt: skip
    cols = [*g.covariates, g.exposure, *g.metrics] + ([cluster] if cluster else [])
    frame = _check(users, list(dict.fromkeys(cols)))
    z = frame[g.exposure]
    if not z.isin([0, 1]).all() or z.nunique() < 2:
        raise DataError(
            f"exposure {g.exposure!r} must be 0/1 with both values present; got "
            f"{sorted(z.unique().tolist())[:5]}."
        )
    n = len(frame)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 21]))
    weights = _boot_weights(frame, cluster, n_boot, rng)
    coefs: dict[tuple[str, str], np.ndarray] = {}
    for node in g.metrics:
        parents = g.parents(node)
        x, widths = _design(frame, parents)
        if np.linalg.matrix_rank(x) < x.shape[1]:
            raise DataError(
                f"the regression of {node!r} on {parents} is rank deficient: a covariate is "
                "constant or duplicates another; drop it."
            )
        b = _solve(x, frame[node].to_numpy(dtype=float), weights)
        offset = 1
        for p, width in zip(parents, widths, strict=True):
            if p not in g.covariates:
                coefs[(p, node)] = b[:, offset]
            offset += width
    table = _paths(g, coefs, level)
    coef_rows = [{"cause": a, "effect": b, "estimate": float(v[0])} for (a, b), v in coefs.items()]
    return Mediation(table, pd.DataFrame(coef_rows), g, level, n_boot, n, cluster)


def _boot_weights(frame: pd.DataFrame, cluster: str | None, n_boot: int,
                  rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Row 0 is the sample itself; rows 1.. are multinomial bootstrap counts."""
    n = len(frame)
    if cluster is None:
        draws = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    else:
        codes, uniques = pd.factorize(frame[cluster])
        if len(uniques) < 10:
            raise DataError(
                f"cluster {cluster!r} has {len(uniques)} value(s); a cluster bootstrap needs at "
                "least 10 — bootstrap over users instead (cluster=None)."
            )
        k = len(uniques)
        draws = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)[:, codes].astype(float)
    return np.vstack([np.ones(n), draws])


def _paths(g: CascadeGraph, coefs: Mapping[tuple[str, str], np.ndarray],
           level: float) -> pd.DataFrame:  # fmt: skip
    """Total effects of the exposure and effects through each mediator, per bootstrap draw."""
    metrics = g.metrics
    draws = next(iter(coefs.values())).shape[0]
    total = {g.exposure: np.ones(draws)}
    for m in metrics:  # topological: metrics are sorted by level
        total[m] = sum((coefs[(p, m)] * total[p] for p in g.parents(m) if (p, m) in coefs),
                       np.zeros(draws))  # fmt: skip

    def reach(src: str, dst: str) -> np.ndarray:
        """Total effect of ``src`` on ``dst`` through the metrics."""
        if src == dst:
            return np.ones(draws)
        out = np.zeros(draws)
        for p in g.parents(dst):
            if (p, dst) in coefs and p in metrics and g.levels[p] >= g.levels[src]:
                out = out + coefs[(p, dst)] * reach(src, p)
        return out

    alpha = (1 - level) / 2
    rows = []
    for med in metrics:
        for out in metrics:
            if g.levels[med] >= g.levels[out]:
                continue
            tot, ind = total[out], total[med] * reach(med, out)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = ind / tot
            row: dict[str, Any] = {"mediator": med, "outcome": out,
                                   "from_level": LEVELS[g.levels[med] - 1],
                                   "to_level": LEVELS[g.levels[out] - 1]}  # fmt: skip
            for name, v in (("total", tot), ("indirect", ind), ("share", share)):
                lo, hi = np.nanquantile(v[1:], [alpha, 1 - alpha])
                row |= {name: float(v[0]), f"{name}_low": float(lo), f"{name}_high": float(hi)}
            lo, hi = np.nanquantile(total[med][1:], [alpha, 1 - alpha])
            rest = np.nanquantile((tot - ind)[1:], [alpha, 1 - alpha])
            offset = bool(rest[1] < 0 if ind[0] > 0 else rest[0] > 0)
            row["status"], row["message"] = _status(
                row, moved=bool(lo > 0 or hi < 0), offset=offset
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _status(r: Mapping[str, Any], *, moved: bool, offset: bool) -> tuple[str, str]:
    """Say whether the link carries the effect.

    ``moved``: the launch moved the mediator itself. ``offset``: the effect left after the path
    through the mediator is of the opposite sign to it, beyond its interval.
    """
    outcome_moved = r["total_low"] > 0 or r["total_high"] < 0
    flows = r["indirect_low"] > 0 or r["indirect_high"] < 0
    link = f"{r['mediator']} → {r['outcome']}"
    share = (f"{r['share']:.0%} of the effect on {r['outcome']} "
             f"[{r['share_low']:.0%}, {r['share_high']:.0%}]")  # fmt: skip
    indirect = (
        f"indirect {number(r['indirect'], 3)}, interval "
        f"[{number(r['indirect_low'], 3)}, {number(r['indirect_high'], 3)}] includes 0"
    )
    total = (f"{number(r['total'], 3)} [{number(r['total_low'], 3)}, "
             f"{number(r['total_high'], 3)}]")  # fmt: skip
    if flows and not outcome_moved and offset:
        # users with more of the mediator do better, but the launch's change in it did not
        # carry through: the products of coefficients predict an effect the outcome never shows
        return "broken", (
            f"{link} is broken: users with more {r['mediator']} have more {r['outcome']}, but "
            f"the launch's change in {r['mediator']} did not carry through — {r['outcome']} did "
            f"not move ({total}) and the rest of the effect cancels the path through "
            f"{r['mediator']} (indirect {number(r['indirect'], 3)}): the share that flowed is "
            "near zero."
        )
    if flows:
        return "carries", f"{link}: {share} flows through {r['mediator']}."
    if outcome_moved:
        return "broken", (
            f"{link} is broken: {r['outcome']} moved ({number(r['total'], 3)}) but not through "
            f"{r['mediator']} ({indirect})."
        )
    if moved:
        return "broken", (
            f"{link} is broken: the launch moved {r['mediator']} but {r['outcome']} did not "
            f"respond through it ({indirect}): no measurable part of the effect flows through it."
        )
    return "no signal", (
        f"{link}: neither {r['outcome']} nor the part through {r['mediator']} moved "
        f"(indirect {number(r['indirect'], 3)} [{number(r['indirect_low'], 3)}, "
        f"{number(r['indirect_high'], 3)}]); the link cannot carry an effect that is not there."
    )
