"""Every metric's definition, pinned on a hand-made event table whose answers are worked out here.

The table: regions a and b, ISO weeks starting Monday 2026-01-05 (W1) and 2026-01-12 (W2).

region a, W1   user 1: session 01-05; task fail (100 ms, $0.01); its retry succeeds (300 ms,
                       $0.02); session and a $10 purchase 01-06
               user 2: session 01-07; task fail (200 ms, $0.01) not retried (abandoned);
                       another task succeeds (400 ms, $0.03)
region a, W2   user 1: session 01-12; task succeeds (250 ms, $0.02)
region b, W1   user 3: session 01-09; purchases $25 and $5 on 01-09
region b, W2   user 3: session 01-13;  user 4: session and a task that succeeds (500 ms, $0.05)
               on 01-18 (the last day of the data)

Signups: users 1 and 2 on 01-05 (a), user 3 on 01-08 (b), user 4 on 01-14 (b).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.metrics import COMPONENTS, LEVELS


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def hand_events() -> pd.DataFrame:
    rows = [
        # user, region, date, event, success, retried, latency, cost, revenue
        (1, "a", "2026-01-05", "session", None, None, None, None, None),
        (1, "a", "2026-01-05", "task", False, False, 100.0, 0.01, None),
        (1, "a", "2026-01-05", "task", True, True, 300.0, 0.02, None),
        (1, "a", "2026-01-06", "session", None, None, None, None, None),
        (1, "a", "2026-01-06", "purchase", None, None, None, None, 10.0),
        (2, "a", "2026-01-07", "session", None, None, None, None, None),
        (2, "a", "2026-01-07", "task", False, False, 200.0, 0.01, None),
        (2, "a", "2026-01-07", "task", True, False, 400.0, 0.03, None),
        (1, "a", "2026-01-12", "session", None, None, None, None, None),
        (1, "a", "2026-01-12", "task", True, False, 250.0, 0.02, None),
        (3, "b", "2026-01-09", "session", None, None, None, None, None),
        (3, "b", "2026-01-09", "purchase", None, None, None, None, 25.0),
        (3, "b", "2026-01-09", "purchase", None, None, None, None, 5.0),
        (3, "b", "2026-01-13", "session", None, None, None, None, None),
        (4, "b", "2026-01-18", "session", None, None, None, None, None),
        (4, "b", "2026-01-18", "task", True, False, 500.0, 0.05, None),
    ]
    cols = ["user_id", "region", "date", "event", "task_success", "retried", "latency_ms",
            "cost_usd", "revenue"]  # fmt: skip
    ev = pd.DataFrame(rows, columns=cols)
    ev["date"] = pd.to_datetime(ev["date"])
    ev["task_success"] = ev["task_success"].astype("boolean")
    ev["retried"] = ev["retried"].astype("boolean")
    for c in ("latency_ms", "cost_usd", "revenue"):
        ev[c] = ev[c].astype(float)
    return ev


def hand_users() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "region": ["a", "a", "b", "b"],
            "signup_date": pd.to_datetime(
                ["2026-01-05", "2026-01-05", "2026-01-08", "2026-01-14"]
            ),
            "score": [0.9, 0.4, 0.75, 0.2],
        }
    )


# (metric, region, week) -> value computed by hand from the table above
EXPECTED = {
    "active_users": {("a", 1): 2, ("a", 2): 1, ("b", 1): 1, ("b", 2): 2},
    "sessions": {("a", 1): 3, ("a", 2): 1, ("b", 1): 1, ("b", 2): 2},
    "sessions_per_user": {("a", 1): 1.5, ("a", 2): 1.0, ("b", 1): 1.0, ("b", 2): 1.0},
    "revenue": {("a", 1): 10.0, ("a", 2): 0.0, ("b", 1): 30.0, ("b", 2): 0.0},
    "purchases": {("a", 1): 1, ("a", 2): 0, ("b", 1): 2, ("b", 2): 0},
    "revenue_per_active_user": {("a", 1): 5.0, ("a", 2): 0.0, ("b", 1): 30.0, ("b", 2): 0.0},
    "tasks": {("a", 1): 4, ("a", 2): 1, ("b", 1): 0, ("b", 2): 1},
    "task_success_rate": {("a", 1): 0.5, ("a", 2): 1.0, ("b", 2): 1.0},
    "retry_rate": {("a", 1): 0.25, ("a", 2): 0.0, ("b", 2): 0.0},
    # (failed 2 - retries 1) / (attempts 4 - retries 1)
    "abandonment_rate": {("a", 1): 1 / 3, ("a", 2): 0.0, ("b", 2): 0.0},
    "latency_ms": {("a", 1): 250.0, ("a", 2): 250.0, ("b", 2): 500.0},
    # sorted 100, 200, 300, 400: position 0.95 * 3 = 2.85 -> 300 + 0.85 * 100
    "latency_p95_ms": {("a", 1): 385.0, ("a", 2): 250.0, ("b", 2): 500.0},
    "cost_per_call": {("a", 1): 0.0175, ("a", 2): 0.02, ("b", 2): 0.05},
    "model_cost": {("a", 1): 0.07, ("a", 2): 0.02, ("b", 1): 0.0, ("b", 2): 0.05},
    "cost_per_completed_task": {("a", 1): 0.035, ("a", 2): 0.02, ("b", 2): 0.05},
    "signups": {("a", 1): 2, ("a", 2): 0, ("b", 1): 1, ("b", 2): 1},
}
# b has no task in W1: the task ratios are undefined there
UNDEFINED = {"task_success_rate", "retry_rate", "abandonment_rate", "latency_ms",
             "latency_p95_ms", "cost_per_call", "cost_per_completed_task"}  # fmt: skip


def _value(panel: pd.DataFrame, metric: str, region: str, week: int) -> float:
    monday = pd.Timestamp("2026-01-05") + pd.Timedelta(days=7 * (week - 1))
    row = panel[(panel["region"] == region) & (panel["week"] == monday)]
    assert len(row) == 1
    return float(row[metric].iloc[0])


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_metric_definition_on_hand_table(metric: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = ck.build_panel(hand_events(), unit="region", time="week", metrics=[metric],
                               users=hand_users())  # fmt: skip
    assert len(panel) == 4 and list(panel.columns) == ["region", "week", metric]
    for (region, week), want in EXPECTED[metric].items():
        assert _value(panel, metric, region, week) == pytest.approx(want, rel=1e-12)
    if metric in UNDEFINED:
        assert np.isnan(_value(panel, metric, "b", 1))
        assert any("b / 2026-01-05" in str(w.message) for w in caught)
        assert panel.attrs["undefined_cells"] == {metric: 1}
    else:
        assert panel[metric].notna().all()


def test_retention_by_signup_cohort_on_hand_table() -> None:
    # user 1 (signup 01-05): active 01-06 (d1) and 01-12 (d7); user 2 (01-05): active 01-07 only;
    # user 3 (01-08): active 01-09 (d1), not 01-15 (d7). W2's cohort cannot be seen 1 or 7 days
    # after its last day (01-18 is the data's last day), so W2 is dropped with a warning.
    with pytest.warns(ck.CausalKitWarning, match="d7_retention.*2026-01-12.*dropped"):
        panel = ck.build_panel(hand_events(), metrics=["d1_retention", "d7_retention", "signups"],
                               users=hand_users())  # fmt: skip
    assert list(panel["week"].dt.date) == [day("2026-01-05")] * 2
    assert panel.attrs["dropped_periods"] == ["2026-01-12"]
    assert _value(panel, "d1_retention", "a", 1) == 0.5
    assert _value(panel, "d7_retention", "a", 1) == 0.5
    assert _value(panel, "d1_retention", "b", 1) == 1.0
    assert _value(panel, "d7_retention", "b", 1) == 0.0
    assert _value(panel, "signups", "a", 1) == 2


def test_retention_with_signup_dates_on_the_events() -> None:
    ev = hand_events().merge(hand_users()[["user_id", "signup_date"]], on="user_id")
    with pytest.warns(ck.CausalKitWarning):
        panel = ck.build_panel(ev, metrics=["d1_retention"])
    assert _value(panel, "d1_retention", "a", 1) == 0.5


def test_retention_without_signup_dates_is_refused() -> None:
    with pytest.raises(ck.SpecificationError, match=r"signup dates.*users="):
        ck.build_panel(hand_events(), metrics=["d7_retention"])


def test_registry_levels_units_and_listing() -> None:
    table = ck.list_metrics()
    assert list(table.columns) == ["name", "level", "level_name", "description", "unit",
                                   "direction"]  # fmt: skip
    assert set(table["name"]) == set(ck.METRICS) and len(table) >= 19
    assert table["level"].is_monotonic_increasing
    level = dict(zip(table["name"], table["level"], strict=True))
    assert level["latency_ms"] == 1 and level["cost_per_call"] == 1
    assert level["task_success_rate"] == 2 and level["abandonment_rate"] == 2
    assert level["active_users"] == 3 and level["d30_retention"] == 3
    assert level["revenue"] == 4 and level["revenue_per_active_user"] == 4
    assert ck.METRICS["retry_rate"].direction == "lower"
    assert ck.METRICS["revenue_per_active_user"].unit == "USD per active user"
    assert set(LEVELS.values()) == {"model", "task", "engagement", "business"}
    for m in ck.METRICS.values():
        assert m.description and m.level in LEVELS
        assert all(c in COMPONENTS or c.startswith(("signups", "retained_d"))
                   for c in m.components)  # fmt: skip
    with pytest.raises(TypeError):
        ck.METRICS["x"] = ck.METRICS["revenue"]  # type: ignore[index]


def test_unknown_metric_lists_the_valid_ones() -> None:
    with pytest.raises(ck.SpecificationError, match=r"unknown metric 'arpu'.*revenue_per_active"):
        ck.build_panel(hand_events(), metrics=["revenue", "arpu"])
    with pytest.raises(ck.SpecificationError, match="metrics is empty"):
        ck.build_panel(hand_events(), metrics=[])
