"""The blocks of a launch report, as HTML that a notebook displays and the report keeps.

Every block shows what the layers below computed; nothing here estimates anything. Python
chooses the words and formats the numbers; the templates in ``templates/`` lay them out and
escape every string (launch names, metric labels, messages). Charts are inlined as PNG so the
page needs nothing from elsewhere. No block shows unit-level rows.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from causal_kit.analysis.launch import LaunchAnalysis
from causal_kit.business.decide import next_step
from causal_kit.core.plot import PALETTE
from causal_kit.core.render import money
from causal_kit.metrics import METRICS
from causal_kit.presentation.templating import Markup, render

#: Escapes text in HTML still assembled in Python (``figure_html``, the evidence and early-read
#: blocks); the templates escape on their own.
esc = html.escape

_ACTION_WORDS = {
    "ship": "Ship it",
    "iterate": "Iterate before shipping",
    "roll back": "Roll back",
    "keep measuring": "Keep measuring",
}


class Block:
    """An HTML fragment that renders in Jupyter (``_repr_html_``) and prints as plain text."""

    def __init__(self, html_text: str, text: str = "") -> None:
        self.html = html_text
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.text or self.html

    def __repr__(self) -> str:
        return str(self)


def figure_html(fig: Figure, alt: str) -> str:
    """Return ``fig`` as an inline PNG ``<img>`` with alternative text."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _num(value: float) -> str:
    return f"{value:+,.4g}"


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(
        index=False, escape=True, border=0, na_rep="–", float_format=lambda v: f"{v:,.4g}"
    )


def _frame(frame: pd.DataFrame) -> Markup:
    """Return :func:`_table` of ``frame`` marked safe, for a template."""
    return Markup(_table(frame))


def _figure(fig: Figure, alt: str) -> Markup:
    """Return :func:`figure_html` of ``fig`` marked safe, for a template."""
    return Markup(figure_html(fig, alt))


def value_chart(a: LaunchAnalysis) -> Figure:
    """Draw money per year with its interval beside the yearly cost (the executive chart)."""
    i = a.impact
    fig = Figure(figsize=(7.2, 2.6))
    ax = fig.subplots()
    low, high = i.annual_value_low, i.annual_value_high
    ax.barh(
        [1],
        [high - low],
        left=[low],
        height=0.42,
        color=PALETTE[0],
        alpha=0.35,
        label=f"{a.primary.level:.0%} range of value per year",
    )
    ax.plot([i.annual_value], [1], "o", color=PALETTE[0], ms=9, label="estimated value")
    cost = i.yearly_cost or 0.0
    if i.yearly_cost is not None:
        ax.barh(
            [0], [i.yearly_cost], height=0.42, color=PALETTE[3], alpha=0.75, label="cost per year"
        )
    ax.axvline(0, color="0.3", lw=0.8)
    # the whole interval, zero and the cost always fit, with a margin on both sides
    left, right = min(low, 0.0), max(high, cost, 0.0)
    pad = 0.08 * ((right - left) or max(abs(high), 1.0))
    ax.set_xlim(left - pad, right + pad)
    ax.set_yticks([0, 1], ["cost", "value"])
    ax.xaxis.set_major_formatter(lambda x, _: money(x, i.currency))
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)
    ax.set_title("What the launch is worth per year", loc="left", fontsize=11)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def _is_money(metric: str) -> bool:
    spec = METRICS.get(metric)
    return ("revenue" in metric) or (spec is not None and spec.unit.startswith("USD"))


def _per_user(a: LaunchAnalysis, value: float) -> str:
    v = a.per_user_week(value)
    if _is_money(a.outcome):
        sign = "+" if v >= 0 else "−"
        amount = (
            f"{a.impact.currency}{abs(v):,.2f}"
            if abs(v) < 100
            else money(abs(v), a.impact.currency)
        )
        return sign + amount
    return f"{v:+,.3g}"


def _pct(a: LaunchAnalysis, value: float) -> str | None:
    if a.baseline is None or not a.baseline > 0:
        return None
    return f"{value / a.baseline:+.1%}"


def _cash(value: float | None, currency: str) -> str:
    """Return a signed amount of money per user (``+$1.34``), ``n/a`` when missing."""
    if value is None:
        return "n/a"
    sign = "+" if value >= 0 else "−"
    return f"{sign}{currency}{abs(value):,.2f}"


def effect_words(a: LaunchAnalysis) -> str:
    """Return the effect in the business's units: per user per week, % of baseline, money."""
    e, i = a.primary, a.impact
    lo, hi = sorted(float(v) for v in e.ci)
    cur = i.currency
    who = "per user per week"
    if a.local:
        gate = dict(a.launch.gate or {})
        who = (
            f"per user per week for users at the {gate.get('column', 'score')} cutoff "
            f"({gate.get('cutoff', '?')})"
        )
    pct = _pct(a, e.estimate)
    share = (
        f", {pct} of what they would have spent without it"
        if pct and _is_money(a.outcome)
        else (f", {pct} of its level without the launch" if pct else "")
    )
    worth = (
        f"{money(i.annual_value, cur)} a year ({money(i.annual_value_low, cur)} to "
        f"{money(i.annual_value_high, cur)})"
    )
    measured = (
        f"{a.launch.name} changed {a.outcome} by {_per_user(a, e.estimate)} {who}{share} "
        f"(likely between {_per_user(a, lo)} and {_per_user(a, hi)})"
    )
    p = a.projection
    if p is not None and p.used:  # the money and the decision rest on the early read
        plo, phi = sorted(float(v) for v in p.estimate.ci)
        text = (
            f"{measured} over its first {a.period_days:.0f} days; the early read projects "
            f"{_cash(p.estimate.estimate, cur)} per user over {p.horizon_days} days (likely "
            f"between {_cash(plo, cur)} and {_cash(phi, cur)}), worth {worth}."
        )
    else:
        text = f"{measured}: worth {worth}."
    if a.local:
        text += (
            " The effect is measured only at the cutoff: the yearly value assumes every "
            "exposed user gains as much, and users far from the cutoff may gain more or "
            "less."
        )
    return text


def cascade_words(a: LaunchAnalysis) -> str | None:
    """Return the cascade's state in one sentence when a link breaks or trades off, else None."""
    c = a.cascade
    if c.broken_links:
        return f"The chain from model to business breaks: {c.broken_links[0]}"
    trade = c.links[c.links["status"] == "trade-off"]
    if len(trade):
        row = trade.iloc[0]
        return (
            f"The chain from model to business holds, with one trade-off: {row['upstream']} "
            f"got worse while {row['downstream']} improved."
        )
    return None


def executive_sentences(a: LaunchAnalysis) -> list[str]:
    """Return the executive sentences: next step, effect, then what could change the reading."""
    out = [next_step(a.decision), effect_words(a)]
    chain = cascade_words(a)
    if chain and a.projection is not None and a.projection.realised is None:
        chain += (f" That is over the first {a.period_days:.0f} days only; the early read below "
                  f"projects what the launch is worth over {a.projection.horizon_days} days.")
    if chain:
        out.append(chain)
    if a.diagnosis is not None and a.diagnosis.finding not in ("holds", "no_plan"):
        out.append(a.diagnosis.message)
    if a.plan is not None and not a.plan.trusted:
        out.append(a.plan.message)
    return out


def executive_summary(a: LaunchAnalysis) -> Block:
    """Show the ten-second view: the next step, the effect in business units, one chart."""
    e, i, d = a.primary, a.impact, a.decision
    action = d.action
    lo, hi = sorted(float(v) for v in e.ci)
    pct, cur = _pct(a, e.estimate), i.currency
    value = (
        f"{money(i.annual_value, cur)} "
        f"({money(i.annual_value_low, cur)} to {money(i.annual_value_high, cur)})"
    )
    # (label, value, extra class of the value) of each tile
    tiles = [
        (
            "Recommendation",
            _ACTION_WORDS.get(action, action),
            f"ck-decision-{action.replace(' ', '-')}",
        ),
        ("Effect per user per week", _per_user(a, e.estimate) + (f" ({pct})" if pct else ""), ""),
        ("Likely range", f"{_per_user(a, lo)} to {_per_user(a, hi)}", ""),
        ("Value per year (projected)" if a.projection is not None and a.projection.used
         else "Value per year", value, ""),
        ("Confidence", a.scorecard.grade, ""),
    ]
    first, *rest = executive_sentences(a)
    body = render(
        "executive_summary.html.j2",
        launch_name=a.launch.name,
        first=first,
        rest=rest,
        tiles=tiles,
        warning=str(e.details["warning"]) if "warning" in e.details else None,
        plan_message=a.plan.message if a.plan is not None and a.plan.trusted else None,
        chart=_figure(value_chart(a), "value per year with its range, and the yearly cost"),
    )
    return Block(body, " ".join([first, *rest]))


def plan_view(a: LaunchAnalysis) -> Block:
    """Show the registered plan: its registration, each layer's target and what was found."""
    status, plan = a.plan, a.launch.plan
    head = status.message if status is not None else "No plan status."
    cls = "ck-pass" if status is not None and status.trusted else "ck-fail"
    rows = []
    found = {layer: st for layer, _, st in (a.diagnosis.layers if a.diagnosis else ())}
    if plan is not None:
        for layer in ("offline", "online", "business"):
            t = getattr(plan, layer)
            if t is not None:
                sign = ">=" if t.direction == "increase" else "<="
                target = (
                    f"change {sign} {t.target:+.0%}"
                    if t.relative
                    else f"{sign} {t.target:g}"
                    if layer == "offline"
                    else f"change {sign} {t.target:+g}"
                )
                rows.append(
                    (layer, t.metric, target, t.how_measured, found.get(layer, "not measured"))
                )
        if plan.cost is not None:
            cap = f"under {plan.cost.cap:g}" if plan.cost.cap is not None else "no unit cap"
            rows.append(
                (
                    "cost",
                    plan.cost.metric,
                    f"{cap}; under {plan.cost.share_of_value:.0%} of the value",
                    plan.cost.how_measured,
                    "see the decision rule",
                )
            )
    table = (
        _frame(pd.DataFrame(rows, columns=["layer", "metric", "target", "how measured", "found"]))
        if rows
        else None
    )
    body = render(
        "plan.html.j2",
        head=head,
        css_class=cls,
        table=table,
        changes=list(status.changes) if status is not None else [],
        flags=list(status.flags) if status is not None else [],
        diagnosis=a.diagnosis.message if a.diagnosis is not None else None,
        kill_criteria=list(plan.kill_criteria) if plan is not None else [],
    )
    return Block(body, head)


def effect_over_time(a: LaunchAnalysis) -> Block:
    """Show the effect by period since launch (or the headline effect alone)."""
    fig = Figure(figsize=(7.2, 3.4))
    ax = fig.subplots()
    a.primary.plot(ax=ax)
    text = "Effect over time since launch" if a.primary.by_period is not None else "Effect"
    return Block(render("effect_over_time.html.j2", title=text, chart=_figure(fig, text)), text)


def measurement_window(a: LaunchAnalysis) -> Block:
    """Show where the launch stands against its measurement window (the 90-day rule by default)."""
    window = a.launch.criteria.window_days
    days = a.days_since_launch
    if days is None:
        status = "The launch date is unknown, so the measurement window cannot be checked."
    elif days < window:
        status = (
            f"{days:.0f} of {window} days measured: too early for a final call; the "
            "recommendation is provisional until the window closes."
        )
    else:
        status = (
            f"{days:.0f} days since launch: the {window}-day measurement window has "
            "closed, so the launch is judged now (the 90-day rule: an impact that still "
            "cannot be measured means kill or pivot)."
        )
    ends = a.decision.inputs.get("window_ends")
    if a.adoption is not None:
        floor = a.launch.criteria.adoption_floor
        status += f" {a.adoption:.0%} of exposed users used the feature (the floor is {floor:.0%})."
    rows = pd.DataFrame(
        {
            "data from": [a.data_window[0]],
            "data to": [a.data_window[1]],
            "days since launch": [days],
            "window (days)": [window],
            "window ends": [ends],
            "adoption": [a.adoption],
        }
    )
    return Block(render("measurement_window.html.j2", status=status, table=_frame(rows)), status)


def cascade_view(a: LaunchAnalysis) -> Block:
    """Show the metric cascade from model to business, with each link's status."""
    c = a.cascade
    lv = c.levels[["level_name", "metric", "estimate", "ci_low", "ci_high", "moved"]]
    lk = c.links[["upstream", "downstream", "status", "message"]]
    trade = bool((c.links["status"] == "trade-off").any())
    verdict = (
        "the cascade breaks"
        if not c.holds
        else "the chain holds, with a trade-off"
        if trade
        else "every link holds"
    )
    body = render(
        "cascade.html.j2",
        verdict=verdict,
        chain=c.chain,
        levels=_frame(lv),
        links=_frame(lk),
        broken=list(c.broken_links),
    )
    return Block(body, c.chain)


def segments_view(a: LaunchAnalysis) -> Block:
    """Show effects by segment beside each segment's share of revenue."""
    if a.segments is None:
        return Block(render("segments.html.j2", message=None), "no segments")
    s = a.segments
    cls = "ck-fail" if s.paying_segment_loses else "ck-pass"
    body = render("segments.html.j2", message=s.message, css_class=cls, table=_frame(s.table))
    return Block(body, s.message)


def scorecard_view(a: LaunchAnalysis) -> Block:
    """Show the confidence grade, the reasons that lowered it, and every check."""
    sc = a.scorecard
    body = render(
        "scorecard.html.j2", grade=sc.grade, reasons=list(sc.reasons), checks=_frame(sc.checks)
    )
    return Block(body, sc.grade)


def triangulation_view(a: LaunchAnalysis) -> Block:
    """Show every eligible design side by side, and why the others do not apply."""
    t = a.triangulation
    body = render(
        "triangulation.html.j2",
        verdict=t.verdict,
        message=t.verdict_message,
        concordance=_frame(t.concordance),
        eligibility=_frame(t.eligibility[["name", "eligible", "ran", "reason"]]),
    )
    return Block(body, t.verdict)


def decision_view(a: LaunchAnalysis) -> Block:
    """Show the decision rule with every input and which test fired."""
    return Block(a.impact.summary()._repr_html_(), str(a.impact.summary()))


def specification_view(a: LaunchAnalysis) -> Block:
    """Show how the headline estimate was computed (design, options, sample)."""
    e = a.primary
    rows = [
        ("design", e.method),
        ("outcome", e.outcome),
        ("units", str(e.n_units)),
        ("treated units", str(e.n_treated)),
        ("confidence level", f"{e.level:.0%}"),
    ]
    rows += [
        (str(k), str(v))
        for k, v in e.params.items()
        if not isinstance(v, (pd.DataFrame, dict, list))
    ]
    return Block(render("specification.html.j2", rows=rows), e.method)


def provenance_view(
    fingerprint: str | None,
    versions: Mapping[str, str],
    parameters: Mapping[str, Any],
    notes: Sequence[str] = (),
) -> Block:
    """Show where the numbers came from: inputs' fingerprint, parameters and package versions.

    Absolute server paths in the parameters and notes are shown relative (see
    :func:`~causal_kit.presentation.provenance.without_server_paths`).
    """
    from causal_kit.presentation.provenance import without_server_paths

    parameters, notes = without_server_paths(dict(parameters)), without_server_paths(list(notes))
    body = render(
        "provenance.html.j2",
        fingerprint=str(fingerprint),
        parameters=[(str(k), repr(v)) for k, v in parameters.items()],
        versions=[(str(k), str(v)) for k, v in versions.items()],
        notes=list(notes),
    )
    return Block(body, str(fingerprint))
