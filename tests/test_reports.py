"""The attribution report, end to end: papermill runs of the real notebook on the demo data,
through ck.run_report and the causal-kit CLI, checked against the simulator's truth."""

from __future__ import annotations

import json
import re

import pytest
from conftest import make_demo_data

import causal_kit as ck
from causal_kit.presentation import cli
from causal_kit.presentation.runner import _publish

pytestmark = pytest.mark.slow

RUN_DATE = "2026-07-01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_data(tmp_path_factory, ("staggered", "broken_cascade", "score_gate"))


@pytest.fixture(scope="module")
def staggered_report(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    report = ck.run_report("attribution_report", output_root=out, run_date=RUN_DATE,
                           parameters={"data_dir": str(demo / "staggered")})
    return report, json.loads((demo / "staggered" / "truth.json").read_text())


def test_report_is_published_whole_where_promised(staggered_report):
    report, _ = staggered_report
    assert report.directory.name == RUN_DATE and report.directory.parent.name == "assistant-v2"
    assert sorted(p.name for p in report.directory.iterdir()) == [
        "report.html", "report.ipynb", "summary.json"]
    assert not [p for p in report.directory.parent.iterdir() if p.name.startswith(".")]
    ck.validate_summary(json.loads((report.directory / "summary.json").read_text()))


def test_summary_covers_the_simulated_truth(staggered_report):
    report, truth = staggered_report
    s = report.summary
    true_effect = truth["att"]["revenue"]["effect"]
    assert s["outcome"] == "revenue" and s["method"].startswith("did")
    assert s["ci_low"] <= true_effect <= s["ci_high"]
    # money: the truth's value over the same exposure (12 launched regions x 52 weeks)
    true_value = true_effect * len(truth["launch"]["start"]) * 52
    assert s["annual_value_low"] <= true_value <= s["annual_value_high"]
    assert s["decision"] in ("ship", "iterate", "roll back", "keep measuring")
    assert s["parameters"]["data_dir"].endswith("staggered")
    assert s["data_fingerprint"].startswith("sha256:")
    assert "pandas" in s["package_versions"]


def test_cascade_matches_the_simulated_chain(staggered_report):
    links = {(lk["from_level"], lk["to_level"]): lk["status"]
             for lk in staggered_report[0].summary["cascade"]["links"]}
    # v2 is slower per call but succeeds more often; success brings users back; they spend
    assert links == {("model", "task"): "trade-off", ("task", "engagement"): "holds",
                     ("engagement", "business"): "holds"}


def test_triangulation_and_scorecard(staggered_report):
    s = staggered_report[0].summary
    ran = [row for row in s["triangulation"]["concordance"]]
    assert len(ran) >= 2
    true_effect = staggered_report[1]["att"]["revenue"]["effect"]
    for row in ran:
        assert row["ci_low"] <= true_effect <= row["ci_high"], row
    assert s["scorecard"]["grade"] in ("high", "medium", "low")


def test_html_is_self_contained_tiered_and_has_no_user_rows(staggered_report):
    html = staggered_report[0].html.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    exec_at = html.index('id="executive-summary"')
    assert exec_at < html.index("Product view") < html.index("Engineering appendix")
    for section in ("Metric cascade", "Effect by segment", "Effect over time",
                    "Measurement window", "Decision rule", "Confidence:", "Designs compared",
                    "Specification", "Data provenance"):
        assert section in html, section
    assert "user_id" not in html
    rows_per_table = [t.count("<tr") for t in re.findall(r"<table.*?</table>", html, re.S)]
    assert max(rows_per_table) < 60
    assert "data:image/png;base64," in html
    assert "def " not in html and "import causal_kit" not in html  # code is hidden


def test_broken_cascade_launch_is_reported_as_broken_and_names_are_escaped(demo, tmp_path):
    name = "<script>alert('x')</script> & assistant"
    report = ck.run_report(parameters={"data_dir": str(demo / "broken_cascade"),
                                       "launch_name": name},
                           output_root=tmp_path, run_date=RUN_DATE)
    links = {(lk["from_level"], lk["to_level"]): lk["status"]
             for lk in report.summary["cascade"]["links"]}
    assert links[("task", "engagement")] == "broken"
    html = report.html.read_text()
    assert "is broken" in html and "workflow" in html
    assert "<script>" not in html and "&lt;script&gt;alert(" in html
    assert report.directory.parent.name == "script-alert-x-script-assistant"


def test_score_gated_launch_is_reported_by_regression_discontinuity(demo, tmp_path):
    report = ck.run_report(parameters={"data_dir": str(demo / "score_gate")},
                           output_root=tmp_path, run_date=RUN_DATE)
    s = report.summary
    truth = json.loads((demo / "score_gate" / "truth.json").read_text())
    true_effect = truth["gate"]["effect_at_cutoff"]["revenue_30d"]["effect"]
    assert s["method"].startswith("rdd") and s["outcome"] == "revenue_30d"
    assert s["ci_low"] <= true_effect <= s["ci_high"]


def test_failing_report_leaves_nothing_and_exits_1(tmp_path, capsys):
    code = cli.main(["report", "-p", "data_dir", str(tmp_path / "missing"),
                     "--output", str(tmp_path / "out"), "--run-date", RUN_DATE])
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    assert "failed in cell" in err and "no launch spec at" in err
    assert not any((tmp_path / "out").rglob("*.*"))  # not even a partial notebook


def test_config_runs_every_launch_even_when_one_fails(demo, tmp_path, capsys):
    config = tmp_path / "launches.json"
    config.write_text(json.dumps([
        {"parameters": {"data_dir": str(tmp_path / "nowhere"), "launch_name": "broken-one"}},
        {"parameters": {"data_dir": str(demo / "score_gate"), "launch_name": "gate"}},
    ]))
    code = cli.main(["report", "--config", str(config), "--output", str(tmp_path / "out"),
                     "--run-date", RUN_DATE])
    out = capsys.readouterr()
    assert code == cli.EXIT_FAILED
    assert (tmp_path / "out" / "gate" / RUN_DATE / "report.html").exists()
    assert not (tmp_path / "out" / "broken-one" / RUN_DATE).exists()
    assert "report written" in out.out and "broken-one" not in out.out


@pytest.mark.parametrize(("args", "message"), [
    (["-p", "colour", "blue"], r"no parameter 'colour'; its parameters are: launch_name, data_dir"),
    (["-p", "level", "high"], r"parameter 'level' must be float; got 'high'"),
    (["--notebook", "nope"], r"no report notebook 'nope'; available: \[.*'attribution_report'"),
])
def test_bad_command_exits_2_and_says_why(tmp_path, capsys, args, message):
    assert cli.main(["report", *args, "--output", str(tmp_path)]) == cli.EXIT_USAGE
    assert re.search(message, capsys.readouterr().err)
    assert not any(tmp_path.iterdir())


def test_parameters_are_listed_with_types_and_help(capsys):
    assert cli.main(["parameters"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert 'yearly_cost: float = 12000.0  # yearly cost of running the model' in out


def test_a_rerun_replaces_the_earlier_report_of_the_day(tmp_path):
    final = tmp_path / "launch" / RUN_DATE
    final.mkdir(parents=True)
    (final / "report.html").write_text("old")
    new = tmp_path / "launch" / ".partial"
    new.mkdir()
    (new / "report.html").write_text("new")
    _publish(new, final)
    assert (final / "report.html").read_text() == "new"
    assert [p.name for p in (tmp_path / "launch").iterdir()] == [RUN_DATE]


# --- the two launch shapes without regions to compare: a holdout and a launch to everyone ----

@pytest.fixture(scope="module")
def shape_reports(tmp_path_factory):
    demo = make_demo_data(tmp_path_factory, ("holdout", "global_launch"))
    out = tmp_path_factory.mktemp("shape-reports")
    reports = {}
    for scenario in ("holdout", "global_launch"):
        report = ck.run_report("attribution_report", output_root=out, run_date=RUN_DATE,
                               parameters={"data_dir": str(demo / scenario)})
        reports[scenario] = (report, json.loads((demo / scenario / "truth.json").read_text()))
    return reports


def test_holdout_is_reported_as_an_experiment_that_covers_its_truth(shape_reports):
    report, truth = shape_reports["holdout"]
    s = report.summary
    ck.validate_summary(s)
    assert s["method"] == "experiment:cuped" and s["outcome"] == "revenue_30d"
    att = truth["holdout"]["att"]["revenue_30d"]
    assert s["ci_low"] <= att <= s["ci_high"]
    # money: the v2 arm's users x the per-user 30-day effect, twelve-odd windows a year
    true_value = att * truth["holdout"]["n_by_arm"]["v2"] * 365 / 30
    assert s["annual_value_low"] <= true_value <= s["annual_value_high"]
    # past the 90-day window, the interval clears zero and the value clears the cost: ship
    assert s["ci_low"] > 0 and s["decision"] == "ship"
    srm = [c for c in s["scorecard"]["checks"] if c["check"] == "srm"]
    assert srm and srm[0]["passed"]  # the arms match the planned 80/20 split
    assert s["scorecard"]["grade"] == "high" and s["scorecard"]["design_strength"] == 2
    reasons = {r["design"]: r["reason"] for r in s["triangulation"]["eligibility"]}
    assert "not rolled out region by region" in reasons["did"]
    assert "forecast-only design is not needed" in reasons["its"]


def test_global_launch_is_reported_by_its_with_the_forecast_warning(shape_reports):
    report, truth = shape_reports["global_launch"]
    s = report.summary
    ck.validate_summary(s)
    assert s["method"].startswith("its") and s["outcome"] == "revenue"
    effect = truth["global"]["effect_per_day"]["revenue"]
    assert s["ci_low"] <= effect <= s["ci_high"]
    assert s["annual_value_low"] <= effect * 365 <= s["annual_value_high"]
    # the forecast's interval still reaches below zero: nothing to ship or roll back on yet
    assert s["ci_low"] < 0 < s["ci_high"] and s["decision"] == "keep measuring"
    ran = {row["design"] for row in s["triangulation"]["concordance"]}
    assert ran == {"its", "rdd"}  # ITS and RD in time
    assert s["scorecard"]["design_strength"] == 0
    assert any("forecast-only" in r for r in s["scorecard"]["reasons"])
    html = report.html.read_text()
    assert "Caution:" in html and "no untreated group" in html
    assert "Designs compared" in html and "interrupted time series" in html
