"""The cascade as a causal graph: exposure → model → task → engagement → business.

:func:`cascade_graph` turns a launch and the metrics measured for it into a directed acyclic
graph. Each metric's level comes from the metric registry (:mod:`causal_kit.metrics.registry`)
or from ``levels=``. Edges run from the exposure to every metric (a launch may act at any level
directly), and from every metric to every metric at a higher level (the cascade's links, skipped
levels included); user covariates are common causes of the exposure and of every metric. The
graph is what mediation (:mod:`causal_kit.evidence.mediation`), KPI-change attribution
(:mod:`causal_kit.evidence.attribution`) and DoWhy's refuters read.

A user may pass their own graph instead (a ``networkx.DiGraph`` or a list of edges); it must be
acyclic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from causal_kit.core.errors import SpecificationError
from causal_kit.core.launch import Launch
from causal_kit.core.render import Rendered, ShowsSummary

LEVEL_NAMES = ("model", "task", "engagement", "business")
EXPOSURE = "exposure"


@dataclass(frozen=True)
class CascadeGraph(ShowsSummary):
    """A launch's cascade as a DAG.

    Attributes
    ----------
    launch
        The launch's name.
    exposure
        The exposure node (the column that says who the launch reached).
    levels
        Metric → level (1 model, 2 task, 3 engagement, 4 business).
    covariates
        User covariates, common causes of the exposure and of every metric.
    edges
        ``(cause, effect)`` pairs.
    adoption
        The adoption node (who used the feature) between the exposure and the metrics, or
        ``None``.
    """

    launch: str
    exposure: str
    levels: Mapping[str, int]
    covariates: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    adoption: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def nodes(self) -> list[str]:
        """Every node: covariates, the exposure (and adoption), then metrics by level."""
        metrics = sorted(self.levels, key=lambda m: (self.levels[m], m))
        head = [self.exposure] + ([self.adoption] if self.adoption else [])
        return [*self.covariates, *head, *metrics]

    @property
    def metrics(self) -> list[str]:
        """The metric nodes, from the lowest level to the highest."""
        return sorted(self.levels, key=lambda m: (self.levels[m], m))

    def to_networkx(self) -> Any:
        """Return the graph as a ``networkx.DiGraph`` (node attribute ``level``: 0 = cause)."""
        import networkx as nx

        g = nx.DiGraph()
        for node in self.nodes:
            g.add_node(node, level=self.levels.get(node, 0))
        g.add_edges_from(self.edges)
        return g

    def parents(self, node: str) -> list[str]:
        """Direct causes of ``node``, in node order."""
        causes = {a for a, b in self.edges if b == node}
        return [n for n in self.nodes if n in causes]

    def paths(self, source: str, target: str) -> list[list[str]]:
        """Every directed path from ``source`` to ``target``."""
        import networkx as nx

        return [list(p) for p in nx.all_simple_paths(self.to_networkx(), source, target)]

    def summary(self) -> Rendered:
        """Return the levels and links as a printable view."""
        import pandas as pd

        links = [(a, b) for a, b in self.edges if a not in self.covariates]
        table = pd.DataFrame(links, columns=["cause", "effect"])
        rows = [("Launch", self.launch), ("Exposure", self.exposure),
                ("Common causes", ", ".join(self.covariates) or "none")]  # fmt: skip
        rows += [(LEVEL_NAMES[lv - 1], ", ".join(m for m in self.metrics if self.levels[m] == lv))
                 for lv in sorted(set(self.levels.values()))]  # fmt: skip
        return Rendered("Cascade graph", rows, [("Links", table)], list(self.notes))

    def plot(self, ax: Any = None) -> Any:
        """Draw the graph in layers (causes left, business right); returns the Axes."""
        import matplotlib.pyplot as plt
        import networkx as nx

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5))
        g = self.to_networkx()
        for n in g.nodes:
            g.nodes[n]["layer"] = (0 if n in self.covariates else 1 if n == self.exposure
                                   else 1.5 if n == self.adoption else 1 + self.levels[n])
        pos = nx.multipartite_layout(g, subset_key="layer")
        colors = ["#bbbbbb" if n in self.covariates else "#4c72b0" for n in g.nodes]
        nx.draw_networkx(g, pos, ax=ax, node_color=colors, node_size=900, font_size=7,
                         edge_color="#999999", arrowsize=10)  # fmt: skip
        ax.set_title(f"{self.launch}: the cascade as a causal graph")
        ax.axis("off")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {
            "launch": self.launch,
            "exposure": self.exposure,
            "adoption": self.adoption,
            "covariates": list(self.covariates),
            "levels": dict(self.levels),
            "edges": [list(e) for e in self.edges],
        }


def _level(metric: str, levels: Mapping[str, Any] | None) -> int:
    value: Any = None
    if levels is not None and metric in levels:
        value = levels[metric]
    else:
        from causal_kit.metrics.registry import METRICS

        if metric in METRICS:
            value = METRICS[metric].level
    if isinstance(value, str) and value in LEVEL_NAMES:
        return LEVEL_NAMES.index(value) + 1
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return value
    if value is None:
        raise SpecificationError(
            f"metric {metric!r} has no cascade level: it is not in the metric registry "
            f"(ck.list_metrics()); pass levels={{{metric!r}: 'task'}} (or 'model', "
            "'engagement', 'business')."
        )
    raise SpecificationError(
        f"levels[{metric!r}]={value!r} is not a cascade level; use one of {list(LEVEL_NAMES)} "
        "or 1-4."
    )


def cascade_graph(
    launch: Launch | str,
    metrics: Sequence[str],
    *,
    covariates: Sequence[str] = (),
    levels: Mapping[str, Any] | None = None,
    exposure: str = EXPOSURE,
    adoption: str | None = None,
    graph: Any = None,
) -> CascadeGraph:
    """Build the causal graph of a launch's metric cascade.

    Parameters
    ----------
    launch
        The launch (or its name).
    metrics
        Metrics measured for the launch (at least two levels), e.g. ``["task_success_rate",
        "sessions", "revenue"]``; user-level columns not in the registry need ``levels``.
    covariates
        User covariates (segment, tenure, pre-period activity...), common causes of the exposure
        and of every metric.
    levels
        Metric → level (``"model"``, ``"task"``, ``"engagement"``, ``"business"`` or 1-4), for
        metrics the registry does not know or to override it.
    exposure
        Name of the exposure node (the 0/1 column of who the launch reached).
    adoption
        Name of an adoption node (who used the feature), placed between the exposure and the
        metrics; ``None`` leaves it out.
    graph
        Your own graph instead of the default edges: a ``networkx.DiGraph`` or ``(cause,
        effect)`` pairs over the same nodes. It must be acyclic.

    Returns
    -------
    CascadeGraph

    Raises
    ------
    SpecificationError
        A metric without a level, fewer than two levels, a name used twice, or a cycle in
        ``graph`` (the message names it).
    """
    name = launch.name if isinstance(launch, Launch) else str(launch)
    metrics = list(dict.fromkeys([metrics] if isinstance(metrics, str) else metrics))
    lv = {m: _level(m, levels) for m in metrics}
    if len(set(lv.values())) < 2:
        raise SpecificationError(
            f"the cascade graph needs metrics at two or more levels; {metrics} are all at level "
            f"{LEVEL_NAMES[next(iter(lv.values()), 1) - 1]!r}."
        )
    covs = tuple(dict.fromkeys(covariates))
    heads = [exposure] + ([adoption] if adoption else [])
    clash = set(covs) & set(lv) | set(heads) & (set(covs) | set(lv))
    if clash or len(set(heads)) != len(heads):
        raise SpecificationError(
            f"{sorted(clash) or heads} appear twice among the exposure, adoption, covariates and "
            "metrics; give each node one role."
        )
    if graph is not None:
        edges = _user_edges(graph)
        known = set(covs) | set(lv) | set(heads)
        unknown = sorted({n for e in edges for n in e} - known)
        if unknown:
            raise SpecificationError(
                f"graph has node(s) {unknown} that are neither the exposure, covariates nor "
                "metrics; add them to metrics=/covariates= or drop them from the graph."
            )
        notes: tuple[str, ...] = ("edges given by the user",)
    else:
        edges = _default_edges(lv, covs, exposure, adoption)
        notes = ("exposure → every metric; every metric → every higher-level metric; "
                 "covariates → exposure and every metric",)  # fmt: skip
    _check_acyclic(edges)
    return CascadeGraph(name, exposure, lv, covs, tuple(edges), adoption, notes)


def _default_edges(lv: Mapping[str, int], covs: Sequence[str], exposure: str,
                   adoption: str | None) -> list[tuple[str, str]]:  # fmt: skip
    first = adoption or exposure
    edges = [(exposure, adoption)] if adoption else []
    edges += [(first, m) for m in lv]
    edges += [(a, b) for a in lv for b in lv if lv[a] < lv[b]]
    targets = [exposure] + ([adoption] if adoption else []) + list(lv)
    edges += [(c, t) for c in covs for t in targets]
    return edges


def _user_edges(graph: Any) -> list[tuple[str, str]]:
    if hasattr(graph, "edges") and callable(graph.edges):
        pairs: Iterable[Any] = graph.edges()
    elif isinstance(graph, str):
        raise SpecificationError(
            "graph must be a networkx.DiGraph or a list of (cause, effect) pairs, not a string."
        )
    else:
        pairs = graph
    out = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise SpecificationError(f"graph edge {pair!r} is not a (cause, effect) pair.")
        out.append((str(pair[0]), str(pair[1])))
    return out


def _check_acyclic(edges: Sequence[tuple[str, str]]) -> None:
    import networkx as nx

    g = nx.DiGraph(list(edges))
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    loop = " → ".join([str(a) for a, _ in cycle] + [str(cycle[0][0])])
    raise SpecificationError(
        f"the graph has a cycle ({loop}); a causal graph must be acyclic — remove the edge that "
        "points back to an earlier level."
    )
