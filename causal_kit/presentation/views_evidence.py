"""Product-view blocks for the evidence layer: through what, who gains, per adopter, refutations.

Each block shows a result computed below (:mod:`causal_kit.evidence`); nothing here estimates.
:func:`evidence_summary` gathers the results' ``to_dict()`` under the ``summary.json`` keys
``mediation``, ``attribution``, ``heterogeneity``, ``adoption`` (the measured adoption share beside
the effect per adopter) and ``refutations``, and
:func:`validate_evidence` checks them against ``summary_schema_evidence.json``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from causal_kit.core.errors import ReportError
from causal_kit.presentation.templating import Markup, render
from causal_kit.presentation.views import Block, figure_html

SCHEMA = Path(__file__).with_name("summary_schema_evidence.json")
KEYS = ("mediation", "attribution", "heterogeneity", "adoption", "refutations")


Part = dict[str, Any]


def _section(title: str, parts: list[Part]) -> Block:
    return Block(render("evidence_section.html.j2", title=title, parts=parts), title)


def _html(fragment: str) -> Part:
    """Wrap a fragment rendered elsewhere (a results table, a chart) to keep it as it is."""
    return {"kind": "html", "html": Markup(fragment)}


def _plot(result: Any, alt: str, height: float = 3.0) -> Part:
    fig = Figure(figsize=(7.2, height))
    result.plot(ax=fig.subplots())
    return _html(figure_html(fig, alt))


def through_what_view(mediation: Any = None, attribution: Any = None, graph: Any = None) -> Block:
    """Return the "through what" block: the cascade graph, mediated shares, KPI attribution."""
    parts: list[Part] = []
    if graph is not None:
        parts.append(_plot(graph, "the cascade as a causal graph", 3.2))
    if mediation is not None:
        broken = mediation.table[mediation.table["status"] == "broken"]
        if len(broken):
            links = ", ".join(f"{a} → {b}" for a, b in zip(broken["mediator"], broken["outcome"],
                                                            strict=True))  # fmt: skip
            parts.append({"kind": "broken", "links": links})
        parts += [_html(mediation.summary()._repr_html_()),
                  _plot(mediation, "mediated shares", 2.4)]
    if attribution is not None:
        parts += [{"kind": "sentence", "text": attribution.sentence()},
                  _html(attribution.summary()._repr_html_())]
    return _section("Through what",
                    parts or [{"kind": "sentence", "text": "No user-level cascade data."}])


def who_gains_view(heterogeneity: Any) -> Block:
    """Return the "who gains" block: group effects, quintiles, the targeting policy."""
    h = heterogeneity
    p = h.policy
    lead = {"kind": "policy", "share": f"{p['share_launched']:.0%}",
            "targeted": f"{p['value_targeted']:,.4g}", "all": f"{p['value_all']:,.4g}",
            "outcome": h.outcome, "assumption": h.assumption}
    return _section("Who gains", [lead, _html(h.summary()._repr_html_()),
                                  _plot(h, "effects by group", 0.6 + 0.3 * len(h.table))])


def per_adopter_view(adoption: Any) -> Block:
    """Return the "per adopter" block: ITT beside the complier average effect."""
    return _section("Per adopter", [_html(adoption.summary()._repr_html_())])


def refutations_view(refutations: Any) -> Block:
    """Return the refutations table (for the scorecard's neighbourhood)."""
    return _section("Refutations", [_html(refutations.summary()._repr_html_())])


def _skipped(analysis: Any, title: str, *words: str) -> Block:
    """Return a block titled ``title`` that gives the analysis' reason for leaving it out."""
    reasons = [n for n in analysis.notes if "skipped" in n and any(w in n for w in words)]
    text = reasons[0] if reasons else "not computed for this launch."
    return _section(title, [{"kind": "note", "text": text}])


def launch_through_what(analysis: Any) -> Block:
    """Return the "through what" block of a :class:`~causal_kit.LaunchAnalysis` (or why not)."""
    a = analysis
    if a.mediation is None and a.attribution is None:
        return _skipped(a, "Through what", "mediation")
    graph = a.mediation.graph if a.mediation is not None else None
    return through_what_view(a.mediation, a.attribution, graph)


def launch_who_gains(analysis: Any) -> Block:
    """Return the "who gains" block of a launch analysis (or why it was left out)."""
    if analysis.heterogeneity is None:
        return _skipped(analysis, "Who gains", "heterogeneity")
    return who_gains_view(analysis.heterogeneity)


def launch_per_adopter(analysis: Any) -> Block:
    """Return the "per adopter" block of a launch analysis (or why it was left out)."""
    if analysis.per_adopter is None:
        return _skipped(analysis, "Per adopter", "per-adopter")
    return per_adopter_view(analysis.per_adopter)


def launch_refutations(analysis: Any) -> Block:
    """Return the refutations of a launch's headline as checks (or why there are none)."""
    if analysis.refutations is None:
        return _skipped(analysis, "Refutations", "refutations")
    return refutations_view(analysis.refutations)


def evidence_summary(*, adoption_share: float | None = None, **results: Any) -> dict[str, Any]:
    """Return the ``summary.json`` evidence keys from the results given (``None`` if absent).

    Parameters
    ----------
    adoption_share
        Measured share of exposed users who used the feature: the ``share`` of the
        ``adoption`` object, beside the per-adopter effect's fields.
    **results
        Any of ``mediation``, ``attribution``, ``heterogeneity``, ``adoption`` (the
        per-adopter effect), ``refutations`` (a result with ``to_dict()``).
    """
    from causal_kit.evidence.adoption import adoption_summary

    unknown = sorted(set(results) - set(KEYS))
    if unknown:
        raise ReportError(f"unknown evidence key(s) {unknown}; use {list(KEYS)}.")
    out = {k: (results[k].to_dict() if results.get(k) is not None else None) for k in KEYS}
    if results.get("adoption") is not None or adoption_share is not None:
        out["adoption"] = adoption_summary(adoption_share, results.get("adoption"))
    validate_evidence(out)
    return out


@cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


def validate_evidence(summary: dict[str, Any]) -> None:
    """Validate the evidence keys of a summary against ``summary_schema_evidence.json``.

    Raises
    ------
    ReportError
        Naming the first key and path that do not match.
    """
    from causal_kit.core.imports import jsonschema as _load

    jsonschema = _load()

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(summary), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.path)
        raise ReportError(f"summary evidence does not match its schema at {where!r}: {e.message}")
