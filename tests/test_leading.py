"""ck.leading_indicators: which metric's effects predict the business effect across launches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.evidence.leading import _tau2

Z = 1.959963984540054  # normal 97.5% quantile


def _history(seed: int, k: int = 30) -> pd.DataFrame:
    """Past launches: revenue follows task success (slope 0.5); sessions are unrelated noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(k):
        task = rng.normal(0.03, 0.02)
        sessions = rng.normal(0.01, 0.02)
        revenue = 0.5 * task + rng.normal(0, 0.002)  # a little heterogeneity beyond the link
        for metric, level, true, se in (("task_success_rate", "task", task, 0.002),
                                        ("sessions", "engagement", sessions, 0.003),
                                        ("revenue", "business", revenue, 0.004)):
            rows.append({"launch": f"launch-{i}", "metric": metric, "level_name": level,
                         "relative_change": true + rng.normal(0, se), "relative_se": se})
    return pd.DataFrame(rows)


def test_the_metric_that_leads_is_ranked_first_and_proven() -> None:
    result = ck.leading_indicators(_history(1), business="revenue")
    table = result.table.set_index("metric")
    assert result.best == "task_success_rate"
    assert table.loc["task_success_rate", "rank"] == 1
    assert table.loc["task_success_rate", "slope_low"] <= 0.5 <= table.loc[
        "task_success_rate", "slope_high"]
    assert table.loc["task_success_rate", "r2"] > 0.7
    assert not table.loc["sessions", "proven"]
    assert table.loc["sessions", "r2"] < 0.3
    assert "task_success_rate" in str(result)
    assert result.to_dict()["best"] == "task_success_rate"


def test_slope_interval_covers_over_seeds() -> None:
    # honest intervals: 40 seeded histories of 12 launches
    covered = 0
    for s in range(40):
        t = ck.leading_indicators(_history(s, k=12), business="revenue",
                                  candidates=["task_success_rate"]).table.iloc[0]
        covered += t["slope_low"] <= 0.5 <= t["slope_high"]
    assert covered >= 35


def test_between_launch_variance_matches_statsmodels() -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    rng = np.random.default_rng(4)
    y = rng.normal(0.02, 0.01, 15)
    v = rng.uniform(1e-5, 4e-5, 15)
    ours = _tau2(np.ones((15, 1)), y, v)
    theirs = combine_effects(y, v, method_re="chi2")  # DerSimonian–Laird
    assert ours == pytest.approx(theirs.tau2, rel=1e-8)


def test_reads_the_latest_run_of_each_launch_from_published_summaries(tmp_path: Path) -> None:
    hist = _history(2, k=6)
    for i, (name, rows) in enumerate(hist.groupby("launch")):
        for day, shift in (("2026-05-01", 1.0), ("2026-06-01", 0.0)):
            levels = [{"metric": r.metric, "level_name": r.level_name, "level": 2,
                       "estimate": (r.relative_change + shift) * 100,
                       "ci_low": (r.relative_change + shift - Z * r.relative_se) * 100,
                       "ci_high": (r.relative_change + shift + Z * r.relative_se) * 100,
                       "relative_change": r.relative_change + shift, "moved": "flat"}
                      for r in rows.itertuples()]
            folder = tmp_path / f"l{i}" / day
            folder.mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps(
                {"launch": {"name": name}, "run_date": day, "level": 0.95,
                 "cascade": {"levels": levels}}))
    effects = ck.launch_effects(tmp_path)
    assert sorted(effects["launch"].unique()) == sorted(hist["launch"].unique())
    merged = effects.merge(hist, on=["launch", "metric"], suffixes=("", "_true"))
    np.testing.assert_allclose(merged["relative_change"], merged["relative_change_true"])
    np.testing.assert_allclose(merged["relative_se"], merged["relative_se_true"], rtol=1e-9)
    result = ck.leading_indicators(tmp_path, business="revenue")
    assert set(result.table["metric"]) == {"task_success_rate", "sessions"}


def test_bad_input_is_named() -> None:
    hist = _history(3, k=3)
    few = ck.leading_indicators(hist, business="revenue")
    assert few.table.empty and "at least 4" in few.skipped["sessions"]
    with pytest.raises(ck.DataError, match="no launch has an effect on 'arpu'"):
        ck.leading_indicators(hist, business="arpu")
    with pytest.raises(ck.DataError, match="needs relative_se"):
        ck.leading_indicators(hist.drop(columns="relative_se"), business="revenue")
    with pytest.raises(ck.DataError, match="two rows for launch 'launch-0'"):
        ck.leading_indicators(pd.concat([hist, hist.head(1)]), business="revenue")
    with pytest.raises(ck.SpecificationError, match="scale='log'"):
        ck.leading_indicators(hist, scale="log")
