"""Leading indicators, proven across launches rather than assumed.

A task or engagement metric earns the name *leading indicator* of a business metric when launches
that moved it more also moved the business metric more. Correlating raw metrics over time cannot
show that (both follow seasons, growth, marketing); comparing *effects* across finished launches
can: each launch is one experiment, and its estimated effects on the candidate and on the business
metric are two noisy measurements of one causal chain.

:func:`leading_indicators` runs, for each candidate metric, a random-effects meta-regression of
the launches' business effects on their effects on the candidate: weighted least squares with
weights ``1 / (se_business² + τ²)``, the between-launch variance ``τ²`` by the method of moments
(DerSimonian–Laird, as generalised to meta-regression by Thompson and Sharp 1999), the slope's
interval from Student's t with ``k − 2`` degrees of freedom. It reports how much of the
between-launch spread of business effects the candidate explains (Raudenbush's ``R²``), and how
well it predicts a launch left out (leave-one-launch-out error), and ranks candidates by the
latter. A candidate is *proven* when its slope's interval lies above zero.

The slope is attenuated towards zero by the sampling error of the candidate's own effects (errors
in variables), so it understates how strongly the business follows the candidate; ranking and the
sign test are not affected by that.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.estimate import json_safe
from causal_kit.core.frames import to_pandas
from causal_kit.core.render import Rendered, ShowsSummary

__all__ = ["LeadingIndicators", "launch_effects", "leading_indicators"]

MIN_LAUNCHES = 4
COLUMNS = ["metric", "level_name", "n_launches", "slope", "slope_se", "slope_low", "slope_high",
           "r2", "tau2", "loo_rmse", "proven", "rank"]


@dataclass(frozen=True)
class LeadingIndicators(ShowsSummary):
    """Candidate leading indicators of a business metric, ranked.

    Attributes
    ----------
    business
        The business metric predicted.
    scale
        ``"relative"`` (effects as shares of baseline) or ``"absolute"``.
    table
        One row per candidate: ``metric``, ``level_name``, ``n_launches``, ``slope`` with
        ``slope_se``/``slope_low``/``slope_high``, ``r2`` (share of the between-launch spread of
        business effects explained), ``tau2`` (what is left), ``loo_rmse`` (error predicting a
        launch left out), ``proven`` and ``rank`` (1 = best predictor).
    skipped
        Candidate → why it was not assessed (too few launches with both effects).
    level
        Confidence level of the slope intervals.
    """

    business: str
    scale: str
    table: pd.DataFrame
    skipped: dict[str, str]
    level: float

    @property
    def best(self) -> str | None:
        """The best-ranked proven leading indicator, or ``None`` when none is proven."""
        proven = self.table[self.table["proven"]]
        return None if proven.empty else str(proven.sort_values("rank").iloc[0]["metric"])

    def summary(self) -> Rendered:
        """Return the ranking as a printable view."""
        notes = [f"{m}: {why}" for m, why in self.skipped.items()]
        best = self.best
        notes.insert(0, f"Best proven leading indicator of {self.business}: {best}." if best else
                     f"No candidate is proven to lead {self.business} across these launches.")
        return Rendered(f"Leading indicators of {self.business}", [("scale", self.scale)],
                        [("candidates", self.table)], notes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description."""
        return {"business": self.business, "scale": self.scale, "level": self.level,
                "best": self.best, "candidates": json_safe(self.table.to_dict("records")),
                "skipped": dict(self.skipped)}


def leading_indicators(
    effects: Any,
    *,
    business: str = "revenue",
    candidates: Sequence[str] | None = None,
    scale: str = "relative",
    level: float = 0.95,
) -> LeadingIndicators:
    """Rank task and engagement metrics by how well their effects predict the business effect.

    Parameters
    ----------
    effects
        Past launches' effects: a frame with columns ``launch``, ``metric``, ``estimate`` and
        ``se`` (or ``ci_low``/``ci_high``), optionally ``level_name`` and ``relative_change``
        with ``relative_se``; or a folder of published reports (see :func:`launch_effects`).
    business
        The business metric to predict.
    candidates
        Metrics to assess (default: every other metric in ``effects``).
    scale
        ``"relative"`` compares effects as shares of each launch's baseline (comparable across
        launches of different sizes; needs ``relative_change``), ``"absolute"`` in the metrics'
        units.
    level
        Confidence level of the slope intervals.

    Raises
    ------
    DataError
        If a column is missing, or ``business`` has no effects.
    SpecificationError
        If ``scale`` is not one of the two.
    """
    if scale not in ("relative", "absolute"):
        raise SpecificationError(f"scale={scale!r} is not a valid option; use one of "
                                 "'relative', 'absolute'.")
    if isinstance(effects, (str, os.PathLike)):
        effects = launch_effects(effects)
    frame = _effects_frame(effects, scale)
    y_rows = frame[frame["metric"] == business].set_index("launch")
    if y_rows.empty:
        raise DataError(f"no launch has an effect on {business!r}; metrics present: "
                        f"{sorted(frame['metric'].unique())}.")
    names = list(candidates) if candidates is not None else sorted(
        set(frame["metric"]) - {business})
    rows, skipped = [], {}
    for metric in names:
        x_rows = frame[frame["metric"] == metric].set_index("launch")
        both = y_rows.index.intersection(x_rows.index)
        if len(both) < MIN_LAUNCHES:
            skipped[metric] = (f"{len(both)} launch(es) with both effects; at least "
                               f"{MIN_LAUNCHES} are needed.")
            continue
        x = x_rows.loc[both, "effect"].to_numpy(float)
        y = y_rows.loc[both, "effect"].to_numpy(float)
        v = y_rows.loc[both, "se"].to_numpy(float) ** 2
        fit = _meta_regression(x, y, v, level)
        level_name = (x_rows["level_name"].dropna().iloc[0]
                      if "level_name" in x_rows and x_rows["level_name"].notna().any() else None)
        rows.append({"metric": metric, "level_name": level_name, "n_launches": len(both),
                     **fit, "loo_rmse": _loo_rmse(x, y, v, level)})
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    table["proven"] = table["slope_low"] > 0
    table["rank"] = table["loo_rmse"].rank(method="min").astype("Int64")
    return LeadingIndicators(business, scale, table.sort_values("rank").reset_index(drop=True),
                             skipped, level)


def launch_effects(reports: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
                   ) -> pd.DataFrame:
    """Read each launch's cascade effects from its latest published ``summary.json``.

    Parameters
    ----------
    reports
        The reports folder (``reports/``, searched recursively), or summary files.

    Returns
    -------
    pandas.DataFrame
        ``launch``, ``metric``, ``level_name``, ``estimate``, ``se``, ``relative_change``,
        ``relative_se``: one row per launch and cascade metric.
    """
    paths = (sorted(Path(reports).rglob("summary.json"))
             if isinstance(reports, (str, os.PathLike)) else [Path(p) for p in reports])
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in paths:
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{str(path)!r} is not a readable summary.json: {exc}") from exc
        name = (summary.get("launch") or {}).get("name")
        if not name or not summary.get("cascade"):
            continue
        stamp = str(summary.get("run_date") or summary.get("generated_at") or path)
        if name not in latest or stamp > latest[name][0]:
            latest[name] = (stamp, summary)
    rows = []
    for name, (_, summary) in sorted(latest.items()):
        for lvl in summary["cascade"]["levels"]:
            se = _se(lvl.get("ci_low"), lvl.get("ci_high"), summary.get("level", 0.95))
            rel = lvl.get("relative_change")
            est = lvl.get("estimate")
            ratio = rel / est if rel is not None and est else None
            rows.append({"launch": name, "metric": lvl["metric"],
                         "level_name": lvl.get("level_name"), "estimate": est, "se": se,
                         "relative_change": rel,
                         "relative_se": abs(ratio) * se if ratio is not None else None})
    return pd.DataFrame(rows, columns=["launch", "metric", "level_name", "estimate", "se",
                                       "relative_change", "relative_se"])


# --- the meta-regression ---------------------------------------------------------------------


def _meta_regression(x: np.ndarray, y: np.ndarray, v: np.ndarray,
                     level: float) -> dict[str, float]:
    k = len(x)
    X = np.column_stack([np.ones(k), x])
    tau2 = _tau2(X, y, v)
    w = 1.0 / (v + tau2)
    XtWX = X.T @ (X * w[:, None])
    cov = np.linalg.pinv(XtWX)
    beta = cov @ (X.T @ (w * y))
    se = math.sqrt(max(cov[1, 1], 0.0))
    crit = float(stats.t.ppf(0.5 + level / 2, k - 2))
    null_tau2 = _tau2(X[:, :1], y, v)
    r2 = max(0.0, 1.0 - tau2 / null_tau2) if null_tau2 > 0 else (1.0 if tau2 == 0 else 0.0)
    return {"slope": float(beta[1]), "slope_se": se, "slope_low": float(beta[1] - crit * se),
            "slope_high": float(beta[1] + crit * se), "r2": float(r2), "tau2": float(tau2)}


def _tau2(X: np.ndarray, y: np.ndarray, v: np.ndarray) -> float:
    """Method-of-moments between-launch variance of a weighted regression."""
    k, p = X.shape
    w = 1.0 / v
    P = X.T @ (X * w[:, None])
    inv = np.linalg.pinv(P)
    resid = y - X @ (inv @ (X.T @ (w * y)))
    Q = float(np.sum(w * resid**2))
    trace = float(np.sum(w)) - float(np.trace(inv @ (X.T @ (X * (w**2)[:, None]))))
    return max(0.0, (Q - (k - p)) / trace) if trace > 0 else 0.0


def _loo_rmse(x: np.ndarray, y: np.ndarray, v: np.ndarray, level: float) -> float:
    errors = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        fit = _meta_regression(x[keep], y[keep], v[keep], level)
        intercept = _intercept(x[keep], y[keep], v[keep], fit)
        errors.append(y[i] - (intercept + fit["slope"] * x[i]))
    return float(np.sqrt(np.mean(np.square(errors))))


def _intercept(x: np.ndarray, y: np.ndarray, v: np.ndarray, fit: dict[str, float]) -> float:
    w = 1.0 / (v + fit["tau2"])
    return float(np.sum(w * (y - fit["slope"] * x)) / np.sum(w))


def _effects_frame(effects: Any, scale: str) -> pd.DataFrame:
    frame = to_pandas(effects, None, what="effects")
    need = ["launch", "metric"] + (["relative_change"] if scale == "relative" else ["estimate"])
    missing = [c for c in need if c not in frame]
    if missing:
        raise DataError(f"effects has no column {', '.join(map(repr, missing))}; give launch, "
                        "metric, estimate and se (or ci_low/ci_high) per launch and metric.")
    if scale == "relative":
        if "relative_se" not in frame:
            raise DataError("scale='relative' needs relative_se beside relative_change, or use "
                            "scale='absolute'.")
        frame = frame.assign(effect=frame["relative_change"], se=frame["relative_se"])
    else:
        if "se" not in frame:
            if not {"ci_low", "ci_high"} <= set(frame):
                raise DataError("effects needs se, or ci_low and ci_high, for every effect.")
            frame["se"] = [_se(lo, hi, 0.95)
                           for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)]
        frame = frame.assign(effect=frame["estimate"])
    frame = frame.dropna(subset=["effect", "se"])
    if frame.duplicated(["launch", "metric"]).any():
        dup = frame.loc[frame.duplicated(["launch", "metric"]), ["launch", "metric"]].iloc[0]
        raise DataError(f"effects has two rows for launch {dup['launch']!r} and metric "
                        f"{dup['metric']!r}; keep one effect per launch and metric.")
    if (frame["se"] <= 0).any():
        raise DataError("every effect needs a positive standard error.")
    return frame


def _se(low: Any, high: Any, level: float) -> float:
    if low is None or high is None:
        return math.nan
    return (float(high) - float(low)) / (2 * float(stats.norm.ppf(0.5 + level / 2)))
