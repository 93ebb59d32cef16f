"""The history of published runs, read back from their summary.json files, and the pages built
from it: the portfolio index (three tabs) and a report's "over time" section."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from causal_kit.analysis.history import parse_run, read_history
from causal_kit.presentation.history_view import over_time, runs_table
from causal_kit.presentation.index import render_index, sparkline, write_index
from causal_kit.presentation.publish import slug, staging_root


def _summary(name, estimate, decision, *, days=40.0, relative=None, money=True):
    s = {
        "launch": {"name": name, "criteria": {"window_days": 90}},
        "decision": decision, "decision_rule": "window", "decision_reason": f"because {decision}",
        "decision_detail": {"inputs": {"days_since_launch": days}},
        "outcome": "revenue", "method": "did:cs", "estimate": estimate,
        "ci_low": estimate - 1.0, "ci_high": estimate + 1.0, "level": 0.95, "p_value": 0.2,
        "currency": "$", "yearly_cost": 12000.0,
        "scorecard": {"grade": "medium", "n_checks": 3, "n_failed": 1,
                      "checks": [{"design": "did:cs", "check": "pre_trends", "passed": False}]},
        "cascade": {"holds": False, "chain": "model -[broken]-> task", "levels": []},
        "segments": {"message": "the paying segment gains", "paying_segment_loses": False},
        "estimate_detail": {"n_units": 24, "n_treated": 12},
        "parameters": {"data_dir": "data/demo/x"}, "data_fingerprint": "sha256:abcdef0123456789",
        "package_versions": {"causal_kit": "0.1.0"},
    }
    if money:
        s |= {"annual_value": estimate * 1000, "annual_value_low": (estimate - 1) * 1000,
              "annual_value_high": (estimate + 1) * 1000}
    if relative is not None:
        s |= {"relative_change": relative, "relative_change_low": relative - 0.01,
              "relative_change_high": relative + 0.01}
    return s


def _publish(root, name, run, summary):
    folder = root / slug(name) / run
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "report.html").write_text("<p>report</p>")


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "reports"
    _publish(root, "assistant-v2", "2026-07-01", _summary("assistant-v2", 1.0, "keep measuring",
                                                          days=30, relative=0.02))
    _publish(root, "assistant-v2", "2026-07-01.2", _summary("assistant-v2", 1.5,
                                                            "keep measuring", days=30,
                                                            relative=0.025))
    _publish(root, "assistant-v2", "2026-07-01.10", _summary("assistant-v2", 2.0, "iterate",
                                                             days=30, relative=0.03))
    _publish(root, "assistant-v2", "2026-07-08", _summary("assistant-v2", 3.0, "ship", days=95,
                                                          relative=0.04))
    _publish(root, "gate <b>", "2026-07-08", _summary("gate <b>", -2.0, "roll back",
                                                      money=False))
    (root / "screenshots").mkdir()
    (root / "screenshots" / "shot.png").write_bytes(b"png")
    return root


def test_runs_are_read_in_order_with_decision_changes(root):
    history = read_history(root)
    runs = history.of("assistant-v2")
    assert list(runs["run"]) == ["2026-07-01", "2026-07-01.2", "2026-07-01.10", "2026-07-08"]
    assert list(runs["estimate"]) == [1.0, 1.5, 2.0, 3.0]
    assert list(runs["decision_changed"]) == [False, False, True, True]
    assert runs["previous_decision"].iloc[-1] == "iterate"
    assert runs["relative_change"].iloc[-1] == pytest.approx(0.04)
    latest = history.launches().set_index("slug")
    assert latest.loc["assistant-v2", "n_runs"] == 4
    assert latest.loc["assistant-v2", "decision"] == "ship"
    assert pd.isna(latest.loc[slug("gate <b>"), "annual_value"])  # no money: missing, no error
    assert history.of("assistant-v2", before=("2026-07-01", 10))["run"].tolist() == [
        "2026-07-01", "2026-07-01.2"]


def test_an_unreadable_summary_is_named_and_the_rest_still_read(root):
    bad = root / "broken" / "2026-07-01"
    bad.mkdir(parents=True)
    (bad / "summary.json").write_text("{not json")
    history = read_history(root)
    assert list(history.unreadable) == ["broken/2026-07-01/summary.json"]
    assert set(history.runs["slug"]) == {"assistant-v2", slug("gate <b>")}
    assert "broken/2026-07-01/summary.json" in render_index(history)


def test_an_empty_root_has_an_empty_history(tmp_path):
    history = read_history(tmp_path / "nowhere")
    assert history.runs.empty and history.launches().empty


def test_parse_run():
    assert parse_run("2026-07-01") == ("2026-07-01", 1)
    assert parse_run("2026-07-01.12") == ("2026-07-01", 12)
    assert parse_run("screenshots") is None and parse_run("2026-07-01-2") is None


def test_index_lists_every_launch_with_its_trend_links_and_tabs(root):
    page = (write_index(root, failures={"poisoned": "no launch spec at 'x'"})).read_text()
    for tab in ("Executive", "Product", "Engineering"):
        assert f'id="panel-{tab.lower()}"' in page
    assert "+4.0% of baseline" in page and "+3.0% to +5.0%" in page
    assert "-2 revenue" in page and "no value model" in page  # degrades without baseline/money
    assert "$3k a year" in page and "$2k to $4k" in page
    assert "95 of 90 days (window closed)" in page
    assert "changed: was iterate" in page
    for run in ("2026-07-01", "2026-07-01.2", "2026-07-01.10", "2026-07-08"):
        assert f'href="assistant-v2/{run}/report.html"' in page
    assert "gate &lt;b&gt;" in page and "gate <b>" not in page
    assert page.index("badge roll-back") < page.index("badge ship")  # the most urgent first
    assert "launch poisoned" in page and "no launch spec at" in page
    assert "failed: did:cs: pre_trends" in page and "12 of 24 units launched to" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert not (root / ".reports.staging").exists() and staging_root(root).is_dir()


def test_sparkline_draws_one_dot_per_run_and_rings_decision_changes():
    svg = sparkline([1.0, 2.0, 3.0], [0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [False, True, False])
    assert svg.count("<circle") == 3 and svg.count('class="dot changed"') == 1
    assert "<polyline" in svg and "<polygon" in svg
    ys = [float(y) for y in re.findall(r'cy="([\d.]+)"', svg)]
    assert ys[0] > ys[1] > ys[2]  # higher estimates are drawn higher
    assert sparkline([], [], []) == ""


def _analysis(name, estimate, decision):
    est = SimpleNamespace(estimate=estimate, ci=(estimate - 0.5, estimate + 0.5))
    return SimpleNamespace(launch=SimpleNamespace(name=name), primary=est, outcome="revenue",
                           days_since_launch=100.0, decision=SimpleNamespace(action=decision))


def test_over_time_shows_earlier_runs_and_calls_out_the_change(root):
    staging = staging_root(root) / "assistant-v2.abc"
    a = _analysis("assistant-v2", 3.2, "roll back")
    table = runs_table(a, output_dir=staging, run_date="2026-07-05")
    assert list(table["run"]) == ["2026-07-01", "2026-07-01.2", "2026-07-01.10",
                                  "2026-07-05 (this run)"]  # the later 07-08 run is left out
    block = over_time(a, output_dir=staging, run_date="2026-07-05")
    assert "3 earlier run(s)" in block.text
    assert "changed from keep measuring to iterate at 2026-07-01.10" in block.text
    assert "changed from iterate to roll back at 2026-07-05 (this run)" in block.text
    assert "<h3>Over time</h3>" in block.html and "data:image/png;base64," in block.html


def test_over_time_of_a_first_run(tmp_path):
    block = over_time(_analysis("new", 1.0, "ship"), output_dir=tmp_path / ".r.staging" / "x",
                      run_date="2026-07-01")
    assert "first published run" in block.text and "<img" not in block.html
