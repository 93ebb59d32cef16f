"""Several metrics of one experiment, with a stated multiple-testing rule."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.estimate import TIDY_COLUMNS, Estimate, json_safe
from causal_kit.core.options import MultipleTesting


def adjust(p: np.ndarray, rule: MultipleTesting) -> np.ndarray:
    """Return adjusted p-values: Holm (family-wise error), Benjamini–Hochberg (FDR) or none."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if rule == "none" or m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if rule == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adj = np.minimum.accumulate((m * ranked / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


@dataclass(frozen=True)
class ExperimentSet:
    """The estimates of several metrics of one experiment (frozen).

    Each :class:`Estimate` keeps its own p-value and interval; ``details["p_adjusted"]`` holds
    the p-value adjusted over all the metrics by ``multiple_testing`` (``"holm"`` controls the
    family-wise error rate, ``"bh"`` the false discovery rate). A metric is ``significant`` when
    its adjusted p-value is below ``1 - level``. Intervals are not adjusted.
    """

    estimates: tuple[Estimate, ...]
    multiple_testing: MultipleTesting
    level: float

    @classmethod
    def build(cls, estimates: list[Estimate], rule: MultipleTesting, level: float) -> ExperimentSet:
        """Adjust the estimates' p-values and record the adjusted values in their details."""
        adj = adjust(np.array([e.p_value for e in estimates]), rule)
        out = tuple(
            dataclasses.replace(e, details={**e.details, "p_adjusted": float(a),
                                            "multiple_testing": rule})
            for e, a in zip(estimates, adj, strict=True)
        )
        return cls(out, rule, level)

    @property
    def outcomes(self) -> list[str]:
        """The metrics, in the order given."""
        return [e.outcome for e in self.estimates]

    def __getitem__(self, outcome: str) -> Estimate:
        for e in self.estimates:
            if e.outcome == outcome:
                return e
        raise KeyError(f"no metric {outcome!r}; this experiment has {self.outcomes}")

    def __iter__(self) -> Iterator[Estimate]:
        return iter(self.estimates)

    def __len__(self) -> int:
        return len(self.estimates)

    def tidy(self) -> pd.DataFrame:
        """One row per metric: the tidy columns, relative lift, adjusted p-value, significance."""
        rows = []
        for e in self.estimates:
            row = e.tidy().iloc[0].to_dict()
            row["term"] = e.outcome
            row["lift_pct"] = e.details["relative_lift_pct"]
            row["p_adjusted"] = e.details["p_adjusted"]
            rows.append(row)
        out = pd.DataFrame(rows, columns=[*TIDY_COLUMNS, "lift_pct", "p_adjusted"])
        out["significant"] = out["p_adjusted"] < 1 - self.level
        return out

    def summary(self) -> ExperimentSetSummary:
        """Return a printable table (text, HTML and Markdown)."""
        return ExperimentSetSummary(self)

    def plot(self, ax: Any = None) -> Any:
        """Plot every metric's relative lift (percent) with its interval; returns the Axes."""
        import matplotlib.pyplot as plt

        from causal_kit.core.plot import PALETTE

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.6 * len(self) + 1.5))
        lift = np.array([e.details["relative_lift_pct"] for e in self.estimates])
        lo = np.array([e.details["relative_ci_pct"][0] for e in self.estimates])
        hi = np.array([e.details["relative_ci_pct"][1] for e in self.estimates])
        y = np.arange(len(self))
        ax.errorbar(lift, y, xerr=[lift - lo, hi - lift], fmt="o", color=PALETTE[0], capsize=4)
        ax.set_yticks(y, self.outcomes)
        ax.axvline(0, color="0.4", lw=0.8)
        ax.set_xlabel(f"lift, % of control ({self.level:.0%} intervals)")
        ax.set_title(f"{len(self)} metrics, p-values adjusted by {self.multiple_testing}")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {"multiple_testing": self.multiple_testing, "level": self.level,
                "estimates": [e.to_dict() for e in self.estimates],
                "table": json_safe(self.tidy())}

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


class ExperimentSetSummary:
    """A rendered view of an :class:`ExperimentSet`."""

    def __init__(self, results: ExperimentSet) -> None:
        self.results = results

    def _rows(self) -> list[list[str]]:
        t = self.results.tidy()
        return [[str(r.term), f"{r.estimate:.4g}", f"[{r.conf_low:.4g}, {r.conf_high:.4g}]",
                 f"{r.lift_pct:+.2f}%", f"{r.p_value:.3g}", f"{r.p_adjusted:.3g}",
                 "yes" if r.significant else "no"] for r in t.itertuples()]

    def _head(self) -> list[str]:
        return ["metric", "effect", f"{self.results.level:.0%} interval", "lift", "p",
                f"p ({self.results.multiple_testing})", "significant"]

    def __str__(self) -> str:
        rows = [self._head(), *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                         for r in rows)

    def to_markdown(self) -> str:
        """Return the table as Markdown."""
        head = self._head()
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in self._rows()])

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self._head())
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>"
                       for r in self._rows())
        return f'<table class="ck-summary"><tr>{head}</tr>{body}</table>'
