"""The result types shared by every design: :class:`Estimate` and :class:`Check`."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.options import CheckKind, check_option
from causal_kit.core.plot import plot_estimate

TIDY_COLUMNS = ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]


@dataclass(frozen=True)
class Check:
    """The outcome of one diagnostic of a design's assumptions.

    Attributes
    ----------
    name
        Short identifier, e.g. ``"pre_trends"``.
    passed
        Whether the design's assumption survives the check.
    statistic
        The test statistic or measured quantity, if any.
    p_value
        The p-value of the test, if it is a test.
    message
        Plain-language sentence: what was checked, what was found, what to do.
    kind
        ``"identifying"`` when a failure means the estimate itself may be wrong (an assumption
        the design rests on, e.g. parallel pre-trends), ``"robustness"`` when the check measures
        how large a violation the conclusion survives (e.g. a breakdown value) — a low value
        there weakens confidence but does not say the assumption failed.
    """

    name: str
    passed: bool
    statistic: float | None = None
    p_value: float | None = None
    message: str = ""
    kind: CheckKind = "identifying"

    def __post_init__(self) -> None:
        check_option("kind", self.kind, CheckKind)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {
            "name": self.name,
            "passed": bool(self.passed),
            "statistic": _json_safe(self.statistic),
            "p_value": _json_safe(self.p_value),
            "message": self.message,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Estimate:
    """A causal effect estimate, the same type for every design.

    Attributes
    ----------
    method
        The estimator that produced it, e.g. ``"did:2x2"``, ``"did:cs"``, ``"sc"``, ``"rdd"``.
    outcome
        The outcome column.
    estimate
        The headline average effect on the treated, in the outcome's units.
    se
        Its standard error.
    ci
        ``(low, high)`` confidence interval at ``level``.
    level
        Confidence level of ``ci`` (e.g. 0.95).
    p_value
        Two-sided p-value of the null of no effect.
    n_units
        Units (or observations) used.
    n_treated
        Treated units (or observations) used.
    by_period
        Tidy per-period or event-time effects (columns :data:`TIDY_COLUMNS`, possibly more),
        or ``None``.
    checks
        Diagnostics of the design's assumptions.
    details
        Design-specific extras (donor weights, bandwidths, ATT(g,t) tables...).
    params
        The arguments the estimate was computed with.
    draws
        Optional bootstrap or placebo draws of the headline estimate, for propagating
        uncertainty into money.
    """

    method: str
    outcome: str
    estimate: float
    se: float
    ci: tuple[float, float]
    level: float
    p_value: float
    n_units: int
    n_treated: int
    by_period: pd.DataFrame | None = None
    checks: tuple[Check, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    draws: np.ndarray | None = None

    def tidy(self) -> pd.DataFrame:
        """Return the headline effect and the per-period effects as one tidy frame."""
        est, se = self.estimate, self.se
        stat = est / se if se and math.isfinite(se) and se > 0 else float("nan")
        head = pd.DataFrame(
            [["ATT", est, se, stat, self.p_value, self.ci[0], self.ci[1]]], columns=TIDY_COLUMNS
        )
        if self.by_period is None or self.by_period.empty:
            return head
        rest = self.by_period[TIDY_COLUMNS].copy()
        rest["term"] = rest["term"].astype(str)
        return pd.concat([head, rest], ignore_index=True)

    def check(self, name: str) -> Check:
        """Return the check called ``name``.

        Raises
        ------
        KeyError
            Listing the checks that exist.
        """
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check {name!r}; this estimate has {[c.name for c in self.checks]}")

    def summary(self) -> Summary:
        """Return a printable summary (text, HTML and Markdown)."""
        return Summary(self)

    def plot(self, ax: Any = None) -> Any:
        """Plot the per-period effects with their intervals; returns the Axes."""
        return plot_estimate(self, ax=ax)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary of everything in the estimate."""
        return {
            "method": self.method,
            "outcome": self.outcome,
            "estimate": _json_safe(self.estimate),
            "se": _json_safe(self.se),
            "ci": [_json_safe(self.ci[0]), _json_safe(self.ci[1])],
            "level": self.level,
            "p_value": _json_safe(self.p_value),
            "n_units": int(self.n_units),
            "n_treated": int(self.n_treated),
            "by_period": _json_safe(self.by_period),
            "checks": [c.to_dict() for c in self.checks],
            "details": _json_safe(dict(self.details)),
            "params": _json_safe(dict(self.params)),
        }

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        low, high = self.ci
        return (
            f"Estimate(method={self.method!r}, outcome={self.outcome!r}, "
            f"estimate={self.estimate:.6g}, se={self.se:.6g}, ci=({low:.6g}, {high:.6g}), "
            f"p_value={self.p_value:.4g})"
        )


class Summary:
    """A rendered view of an :class:`Estimate`: ``str()``, ``_repr_html_()``, ``to_markdown()``."""

    def __init__(self, estimate: Estimate) -> None:
        self.estimate = estimate

    def _rows(self) -> list[tuple[str, str]]:
        e = self.estimate
        pct = f"{e.level:.0%}"
        return [
            ("Method", e.method),
            ("Outcome", e.outcome),
            ("Effect on the treated", f"{e.estimate:.6g}"),
            ("Std. error", f"{e.se:.6g}"),
            (f"{pct} interval", f"[{e.ci[0]:.6g}, {e.ci[1]:.6g}]"),
            ("p-value", f"{e.p_value:.4g}"),
            ("Units (treated)", f"{e.n_units} ({e.n_treated})"),
        ]

    def _check_rows(self) -> list[tuple[str, str, str]]:
        return [
            (c.name, "pass" if c.passed else "FAIL", c.message) for c in self.estimate.checks
        ]

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        if self.estimate.checks:
            lines.append("Checks:")
            lines += [f"  [{s}] {n}: {m}" for n, s, m in self._check_rows()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def to_markdown(self) -> str:
        """Return the summary as a Markdown table (and a checks table)."""
        out = ["| | |", "|---|---|"] + [f"| {k} | {_md(v)} |" for k, v in self._rows()]
        if self.estimate.checks:
            out += ["", "| check | result | message |", "|---|---|---|"]
            out += [f"| {n} | {s} | {_md(m)} |" for n, s, m in self._check_rows()]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self._rows())
        out = f'<table class="ck-summary">{body}</table>'
        if self.estimate.checks:
            rows = "".join(
                f'<tr class="ck-{s.lower()}"><td>{esc(n)}</td><td>{esc(s)}</td>'
                f"<td>{esc(m)}</td></tr>"
                for n, s, m in self._check_rows()
            )
            out += (
                '<table class="ck-checks"><tr><th>check</th><th>result</th><th>message</th></tr>'
                f"{rows}</table>"
            )
        return out


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _json_safe(value: Any) -> Any:
    """Convert numpy/pandas values (recursively) into JSON-safe Python values."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, pd.DataFrame):
        return [_json_safe(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return _json_safe(value.to_dict())
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "to_dict"):
        return _json_safe(value.to_dict())
    return str(value)


json_safe = _json_safe
