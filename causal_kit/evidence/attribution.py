"""KPI-change attribution: how much of the business metric's change came from each mechanism.

In the launched units the business metric changed between before and after the launch. With the
cascade graph (:func:`causal_kit.cascade_graph`), :func:`attribute_change` fits one structural
causal model on the users before and one on the users after (DoWhy ``gcm``: an empirical
distribution for each covariate, a linear additive-noise model for every other node) and splits
the change of the metric's mean into Shapley contributions
(``dowhy.gcm.distribution_change_of_graphs``, Budhathoki et al. 2021): how much changed because
the *mechanism* of each node changed — adoption, task success, engagement, the business metric's
own response — and how much because the users themselves changed (the covariates' distribution:
the user mix). The contributions add up to the change in the mean, so "revenue rose 0.6: 0.5
through task success, 0.1 from the user mix" can be read off the table.

It is descriptive of two samples, seeded and deterministic; it attributes a change *given* the
graph (an edge left out is a mechanism assumed absent).

By default (``method="exact"``) the mean of the metric under each mix of old and new mechanisms
is computed from the fitted linear mechanisms (in a linear additive-noise model the mean of a
node is its mechanism applied to its parents' means), and DoWhy's exact Shapley estimator splits
the change: deterministic, and the contributions add up to the change. ``method="sampled"`` is
DoWhy's ``distribution_change_of_graphs``, which draws ``num_samples`` users from each mix: on
the demo holdout's revenue (heavy-tailed) its contributions still moved by about 0.3 between
seeds at 100,000 draws, for a difference of 2.9. Both run the Shapley evaluation in this
process (``n_jobs=1``): DoWhy's default starts worker processes, which cost 13 s on the first
call on a loaded 2-core machine for a computation of a few hundredths of a second.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.estimate import json_safe
from causal_kit.core.options import check_option
from causal_kit.core.render import Rendered, ShowsSummary, number
from causal_kit.evidence.graph import LEVEL_NAMES, CascadeGraph

AttributionMethod = Literal["exact", "sampled"]


@dataclass(frozen=True)
class Attribution(ShowsSummary):
    """The change of a metric split into contributions of mechanisms and user mix.

    Attributes
    ----------
    target
        The metric whose change is attributed.
    change
        Mean after minus mean before (observed).
    table
        One row per node: ``node``, ``role`` (``"user mix"``, ``"adoption"``, or the cascade
        level of the node's mechanism), ``contribution``, ``share`` (of the modelled change).
    labels
        What the two samples are (default ``("before", "after")``; e.g. the two arms of a
        holdout).
    """

    target: str
    change: float
    before: float
    after: float
    table: pd.DataFrame
    seed: int
    labels: tuple[str, str] = ("before", "after")

    @property
    def mix(self) -> float:
        """The part of the change due to who the users are (the covariates' distribution)."""
        return float(self.table.loc[self.table["role"] == "user mix", "contribution"].sum())

    def contribution(self, node: str) -> float:
        """Return the contribution of ``node``'s mechanism."""
        sel = self.table[self.table["node"] == node]
        if sel.empty:
            raise SpecificationError(f"no node {node!r}; nodes: {list(self.table['node'])}.")
        return float(sel["contribution"].iloc[0])

    def sentence(self) -> str:
        """Return the change in one line, largest contributions first."""
        by_role = self.table.groupby("role", sort=False)["contribution"].sum()
        parts = [f"{number(v, 3)} from {k}" for k, v in
                 by_role.reindex(by_role.abs().sort_values(ascending=False).index).items()]
        if self.labels == ("before", "after"):
            lead = f"{self.target} changed by {number(self.change, 3)}"
        else:
            lead = (f"{self.target} is {number(self.change, 3)} higher in {self.labels[1]} than "
                    f"in {self.labels[0]}")  # fmt: skip
        return f"{lead}: " + ", ".join(parts) + "."

    def summary(self) -> Rendered:
        """Return the contributions as a printable view."""
        rows = [("Metric", self.target), (self.labels[0].capitalize(), number(self.before, 4)),
                (self.labels[1].capitalize(), number(self.after, 4)),
                ("Change", number(self.change, 4))]  # fmt: skip
        return Rendered("KPI-change attribution", rows, [("Contributions", self.table)],
                        [self.sentence()])

    def plot(self, ax: Any = None) -> Any:
        """Waterfall-like bars of each contribution; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(self.table)))
        t = self.table
        colors = ["#55a868" if v >= 0 else "#c44e52" for v in t["contribution"]]
        ax.barh(np.arange(len(t)), t["contribution"], color=colors)
        ax.set_yticks(np.arange(len(t)), [f"{n} ({r})" for n, r in zip(t["node"], t["role"],
                                                                        strict=True)])
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_xlabel(f"contribution to the change in mean {self.target}")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (the ``attribution`` key of ``summary.json``)."""
        return {"target": self.target, "before": json_safe(self.before),
                "after": json_safe(self.after), "change": json_safe(self.change),
                "mix": json_safe(self.mix), "sentence": self.sentence(), "seed": self.seed,
                "labels": list(self.labels),
                "contributions": json_safe(self.table)}  # fmt: skip


def attribute_change(
    before: pd.DataFrame,
    after: pd.DataFrame,
    graph: CascadeGraph,
    *,
    target: str | None = None,
    num_samples: int = 2000,
    seed: int = 0,
    labels: tuple[str, str] = ("before", "after"),
    method: AttributionMethod = "exact",
) -> Attribution:
    """Attribute the change of a business metric in launched units to mechanisms and user mix.

    Parameters
    ----------
    before, after
        User-level rows of the launched units before and after the launch, with the graph's
        covariates, adoption (if any) and metrics as numeric columns. Not modified.
    graph
        The cascade graph; its exposure node is left out (it is constant within each sample:
        what the launch changed shows up as changed mechanisms).
    target
        The metric to attribute (default: the graph's highest-level metric).
    num_samples
        Samples drawn from each model for the Shapley evaluation (``method="sampled"``).
    seed
        Seed of the draws; the same seed gives the same numbers.
    labels
        What ``before`` and ``after`` are, for the sentence (e.g. ``("the v1 arm", "the v2
        arm")`` when the samples are a holdout's arms over the same window).
    method
        ``"exact"`` (the means under each mix of mechanisms from the fitted linear mechanisms)
        or ``"sampled"`` (DoWhy's ``distribution_change_of_graphs`` with ``num_samples`` draws).

    Returns
    -------
    Attribution
    """
    import networkx as nx

    check_option("method", method, AttributionMethod)
    target = target or graph.metrics[-1]
    if target not in graph.levels:
        raise SpecificationError(f"target {target!r} is not a metric of the graph "
                                 f"({graph.metrics}).")  # fmt: skip
    g = graph.to_networkx()
    g.remove_node(graph.exposure)
    keep = nx.ancestors(g, target) | {target}
    g = g.subgraph(keep).copy()
    nodes = list(nx.topological_sort(g))
    frames = []
    for name, frame in (("before", before), ("after", after)):
        missing = [c for c in nodes if c not in frame.columns]
        if missing:
            raise DataError(f"{name} lacks column(s) {missing}; available: {list(frame.columns)}.")
        sub = frame[nodes]
        bad = [c for c in nodes if not pd.api.types.is_numeric_dtype(sub[c]) or sub[c].isna().any()]
        if bad:
            raise DataError(f"{name}: column(s) {bad} are not numeric or have missing values; "
                            "encode categoricals as 0/1 columns and drop incomplete rows.")
        if len(sub) < 100:
            raise DataError(f"{name} has {len(sub)} rows; attribution needs at least 100 users.")
        frames.append(sub.astype(float))
    old, new = frames
    contributions = _shapley(g, old, new, target, num_samples, seed, method)
    rows = []
    for node in nodes:
        if g.in_degree(node) == 0 and node in graph.covariates:
            role = "user mix"
        elif node == graph.adoption:
            role = "adoption"
        elif node in graph.levels:
            role = LEVEL_NAMES[graph.levels[node] - 1]
        else:
            role = "user mix" if node in graph.covariates else "other"
        rows.append({"node": node, "role": role, "contribution": float(contributions[node])})
    table = pd.DataFrame(rows)
    modelled = table["contribution"].sum()
    table["share"] = table["contribution"] / modelled if modelled else np.nan
    b, a = float(old[target].mean()), float(new[target].mean())
    return Attribution(target, a - b, b, a, table, seed, (str(labels[0]), str(labels[1])))


def _shapley(g: Any, old: pd.DataFrame, new: pd.DataFrame, target: str, num_samples: int,
             seed: int, method: str) -> dict[str, float]:  # fmt: skip
    import networkx as nx
    from dowhy import gcm

    def model(data: pd.DataFrame) -> Any:
        scm = gcm.StructuralCausalModel(nx.DiGraph(g))  # a copy: mechanisms live on the graph
        for n in g.nodes:
            mech = (gcm.EmpiricalDistribution() if g.in_degree(n) == 0 else
                    gcm.AdditiveNoiseModel(gcm.ml.create_linear_regressor()))  # fmt: skip
            scm.set_causal_mechanism(n, mech)
        gcm.fit(scm, data)
        return scm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gcm.config.disable_progress_bars()
        gcm.util.general.set_random_seed(seed)
        m_old, m_new = model(old), model(new)
        if method == "exact":
            return _exact_shapley(g, (m_old, m_new), (old, new), target)
        out = gcm.distribution_change_of_graphs(
            m_old, m_new, target, num_samples=num_samples,
            difference_estimation_func=_mean_difference,
            shapley_config=gcm.shapley.ShapleyConfig(n_jobs=1))  # fmt: skip
    return {str(k): float(v) for k, v in out.items()}


def _exact_shapley(g: Any, models: tuple[Any, Any], frames: tuple[pd.DataFrame, pd.DataFrame],
                   target: str) -> dict[str, float]:  # fmt: skip
    """Shapley contributions to the change of the target's mean, from the means in closed form.

    The players are the nodes (sorted, as DoWhy orders them); a subset takes the new mechanism
    (or, for a root, the new sample's distribution) for its nodes and the old one for the rest.
    """
    import networkx as nx
    from dowhy.gcm.shapley import (
        ShapleyApproximationMethods,
        ShapleyConfig,
        estimate_shapley_values,
    )
    from dowhy.graph import get_ordered_predecessors

    players = sorted(g.nodes)
    order = list(nx.topological_sort(g))

    def mean(subset: np.ndarray) -> float:
        means: dict[str, float] = {}
        for node in order:
            k = int(subset[players.index(node)])
            if g.in_degree(node) == 0:
                means[node] = float(frames[k][node].mean())
                continue
            parents = get_ordered_predecessors(models[k].graph, node)
            x = np.array([[means[p] for p in parents]])
            prediction = models[k].causal_mechanism(node).prediction_model.predict(x)
            means[node] = float(np.ravel(prediction)[0])
        return means[target]

    base = mean(np.zeros(len(players)))
    values = estimate_shapley_values(
        lambda subset: mean(subset) - base, len(players),
        ShapleyConfig(approximation_method=ShapleyApproximationMethods.EXACT,
                      n_jobs=1))  # fmt: skip
    return {str(p): float(v) for p, v in zip(players, values, strict=True)}


def _mean_difference(old: np.ndarray, new: np.ndarray) -> float:
    return float(np.mean(new) - np.mean(old))
