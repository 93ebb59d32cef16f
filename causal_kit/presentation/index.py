"""``reports/index.html``: every launch on one self-contained page, from the published summaries.

Three tabs of the same rows, one per reader: **executive** (the decision, the effect as a share of
its baseline, the money with its range, confidence, days against the measurement window, the
estimate's trend over runs, the cost), **product** (the metric cascade, segments, adoption) and
**engineering** (checks, data provenance, failures). The tabs switch with CSS alone; the page
loads nothing from elsewhere and runs no script.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from causal_kit.analysis.history import History, read_history
from causal_kit.core.render import money
from causal_kit.presentation.publish import locked, write_atomic
from causal_kit.presentation.templating import TEMPLATES, render


def write_index(root: str | Path, *, failures: Mapping[str, str] | None = None) -> Path:
    """Rebuild ``<root>/index.html`` from every published ``summary.json`` under ``root``.

    Parameters
    ----------
    root
        The output root (``reports``).
    failures
        Launch name → error of the launches that failed in the batch that rebuilds the page;
        shown in the engineering tab (a failed launch publishes nothing else).

    Returns
    -------
    pathlib.Path
        The page written (atomically: a reader sees the old page or the new one).
    """
    base = Path(root)
    with locked(base, "index"):
        page = render_index(read_history(base), failures=failures)
        return write_atomic(base, "index.html", page)


def render_index(history: History, *, failures: Mapping[str, str] | None = None) -> str:
    """Return the portfolio page of ``history`` as HTML text."""
    rows = [_row(history, latest) for _, latest in history.launches().iterrows()]
    rows.sort(key=lambda r: (r["sort"], r["name"].lower()))
    problems = [{"what": f"launch {name}", "error": err} for name, err in (failures or {}).items()]
    problems += [{"what": f"summary {path}", "error": err}
                 for path, err in history.unreadable.items()]
    return render("index.html.j2", rows=rows, problems=problems, n_runs=len(history.runs),
                  css=(TEMPLATES / "index.css").read_text(encoding="utf-8"))


_ORDER = {"roll back": 0, "iterate": 1, "keep measuring": 2, "ship": 3}


def _row(history: History, latest: pd.Series) -> dict[str, Any]:
    runs = history.of(str(latest["slug"]))
    changed = bool(latest["decision_changed"])
    days, window = _num(latest["days_since_launch"]), _num(latest["window_days"])
    return {
        "name": str(latest["launch"]),
        "sort": _ORDER.get(str(latest["decision"]), 9),
        "decision": str(latest["decision"]),
        "decision_class": str(latest["decision"]).replace(" ", "-"),
        "reason": str(latest["decision_reason"] or ""),
        "changed": f"was {latest['previous_decision']}" if changed else "",
        "effect": _effect(latest),
        "money": _money_range(latest),
        "cost": money(_num(latest["yearly_cost"]), str(latest["currency"])),
        "cost_per_outcome": _cost_per_outcome(latest.get("cascade_json")),
        "confidence": str(latest["confidence"] or "n/a"),
        "days": _days(days, window),
        "window_share": min(1.0, days / window) if days is not None and window else 0.0,
        "trend": sparkline(runs["estimate"].tolist(), runs["ci_low"].tolist(),
                           runs["ci_high"].tolist(), runs["decision_changed"].tolist()),
        "trend_text": " → ".join(f"{v:+.3g}" for v in runs["estimate"].tolist()[-6:]),
        "runs": [{"href": f"{p}/report.html", "label": r, "latest": i == len(runs) - 1}
                 for i, (p, r) in enumerate(zip(runs["path"], runs["run"], strict=True))],
        "n_runs": len(runs),
        "cascade": _cascade(latest),
        "segments": str(latest["segments_message"] or "not measured")
        if _present(latest["segments_message"]) else "not measured",
        "segments_alarm": bool(latest["paying_segment_loses"] is True),
        "adoption": _adoption(latest),
        "method": str(latest["method"]),
        "checks": _checks(latest),
        "failed_checks": _failed_checks(latest.get("scorecard_json")),
        "provenance": _provenance(latest),
    }


def sparkline(estimates: Sequence[float], lows: Sequence[float], highs: Sequence[float],
              changed: Sequence[bool] = (), width: int = 120, height: int = 28) -> str:
    """Return a small inline SVG of the estimate over runs: a line, its interval band, zero.

    Runs where the decision changed are drawn as hollow rings. The SVG is markup-safe text.
    """
    values = [float(v) for v in (*estimates, *lows, *highs) if _num(v) is not None]
    if not values:
        return ""
    lo, hi = min(*values, 0.0), max(*values, 0.0)
    span = (hi - lo) or 1.0
    n = len(estimates)
    pad = 4.0

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (hi - v) / span

    band = line = ""
    if n > 1 and all(_num(v) is not None for v in (*lows, *highs)):
        upper = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(highs))
        lower = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(lows))))
        band = f"{upper} {lower}"
    if n > 1:
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(estimates))
    flags = list(changed) + [False] * (n - len(changed))
    dots = [{"x": f"{x(i):.1f}", "y": f"{y(v):.1f}", "css": "dot changed" if flags[i] else "dot"}
            for i, v in enumerate(estimates)]
    return render("sparkline.svg.j2", width=width, height=height, n=n, zero=f"{y(0):.1f}",
                  band=band, line=line, dots=dots)


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _effect(row: pd.Series) -> dict[str, str]:
    """Return the effect as a share of its baseline when known, else in its units."""
    rel = _num(row.get("relative_change"))
    if rel is not None:
        low, high = _num(row.get("relative_change_low")), _num(row.get("relative_change_high"))
        band = f"{low:+.1%} to {high:+.1%}" if low is not None and high is not None else ""
        return {"mid": f"{rel:+.1%} of baseline", "range": band}
    est, low, high = (_num(row[k]) for k in ("estimate", "ci_low", "ci_high"))
    if est is None:
        return {"mid": "n/a", "range": ""}
    band = f"{low:+.3g} to {high:+.3g}" if low is not None and high is not None else ""
    return {"mid": f"{est:+.3g} {row['outcome']}", "range": band}


def _money_range(row: pd.Series) -> dict[str, str]:
    cur = str(row["currency"])
    mid, low, high = (_num(row[k]) for k in ("annual_value", "annual_value_low",
                                              "annual_value_high"))
    if mid is None:
        return {"mid": "no value model", "range": ""}
    return {"mid": f"{money(mid, cur)} a year", "range": f"{money(low, cur)} to {money(high, cur)}"}


def _days(days: float | None, window: float | None) -> str:
    if days is None:
        return "n/a"
    if window is None:
        return f"{days:.0f} days"
    left = "window closed" if days >= window else f"{window - days:.0f} to go"
    return f"{days:.0f} of {window:.0f} days ({left})"


def _cost_per_outcome(cascade: Any) -> str:
    levels = cascade.get("levels", []) if isinstance(cascade, Mapping) else []
    for level in levels:
        if str(level.get("metric", "")).startswith("cost_per") and _num(level.get("estimate")):
            return f"{level['metric']}: {float(level['estimate']):+.3g}"
    return "not measured"


def _cascade(row: pd.Series) -> dict[str, str]:
    holds = row["cascade_holds"]
    if not _present(row["cascade_chain"]):
        return {"status": "one level measured", "cls": "neutral", "chain": ""}
    ok = bool(holds) if _present(holds) else False
    return {"status": "holds" if ok else "broken", "cls": "good" if ok else "bad",
            "chain": str(row["cascade_chain"])}


def _adoption(row: pd.Series) -> str:
    treated, units = _num(row["n_treated"]), _num(row["n_units"])
    if treated is None or units is None:
        return "n/a"
    return f"{treated:.0f} of {units:.0f} units launched to"


def _checks(row: pd.Series) -> str:
    total, failed = _num(row["n_checks"]), _num(row["n_failed"])
    if total is None:
        return "n/a"
    return f"{total - (failed or 0):.0f} of {total:.0f} passed"


def _failed_checks(scorecard: Any) -> list[str]:
    checks = scorecard.get("checks", []) if isinstance(scorecard, Mapping) else []
    return [f"{c.get('design')}: {c.get('check')}" for c in checks if not c.get("passed")]


def _provenance(row: pd.Series) -> str:
    fp = str(row["data_fingerprint"] or "")
    short = fp.split(":")[-1][:12] if fp else "unknown"
    source = row["data_dir"] if _present(row["data_dir"]) else "inputs"
    return f"{source} · sha256 {short} · causal_kit {row['causal_kit_version']}"
