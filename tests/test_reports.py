"""The attribution report, end to end: papermill runs of the real notebook on the demo data,
through ck.run_report and the causal-kit CLI, checked against the simulator's truth."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from conftest import make_demo_data

import causal_kit as ck
from causal_kit.presentation import cli
from causal_kit.presentation.publish import publish

pytestmark = pytest.mark.slow

RUN_DATE = "2026-07-01"


DECISION_DEMOS = ("clear_win", "harmful", "no_effect")
EXEC_FORBIDDEN = ("region-week", "p-value", "p=", "p_value", "F test", "F=", "cluster",
                  "Hotelling", "pre_trends", "pre-trend", "placebo", "RMSPE", "bootstrap",
                  "Wald", "t-stat")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_data(tmp_path_factory, ("staggered", "broken_cascade", "score_gate",
                                             *DECISION_DEMOS))


@pytest.fixture(scope="module")
def config_run(demo, tmp_path_factory):
    """One CLI run of a config: a launch that fails, then the three decision demos."""
    tmp = tmp_path_factory.mktemp("config")
    config = tmp / "launches.json"
    config.write_text(json.dumps([
        {"parameters": {"data_dir": str(tmp / "nowhere"), "launch_name": "broken-one"}},
        *({"parameters": {"data_dir": str(demo / name), "launch_name": name}}
          for name in DECISION_DEMOS),
    ]))
    code = cli.main(["report", "--config", str(config), "--output", str(tmp / "out"),
                     "--run-date", RUN_DATE])
    return code, tmp / "out"


def _published(out, name):
    folder = out / name / RUN_DATE
    return json.loads((folder / "summary.json").read_text()), (folder / "report.html").read_text()


def executive_text(html_text):
    start = html_text.index('id="executive-summary"')
    section = html_text[start:html_text.index("</section>", start)]
    return re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]*>", "", section))


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


def test_summary_has_baseline_relative_change_and_one_interval(staggered_report):
    s = staggered_report[0].summary
    assert s["baseline"] > 0
    assert s["relative_change"] == pytest.approx(s["estimate"] / s["baseline"])
    assert s["effect_per_user_per_week"] > 0 and s["local_effect"] is False
    assert 0.2 <= s["adoption"]["share"] <= 1 and "per_adopter" not in s
    assert s["plan"]["registered"] and s["plan"]["before_launch"] and not s["plan"]["changed"]
    row = next(r for r in s["triangulation"]["concordance"] if r["design"] == "did")
    assert (row["ci_low"], row["ci_high"]) == (s["ci_low"], s["ci_high"])
    levels = s["cascade"]["levels"]
    assert all(lv["relative_change"] is not None for lv in levels)
    html_text = staggered_report[0].html.read_text()
    assert "Launch plan" in html_text and "unchanged since" in html_text


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


def test_rollout_report_lists_its_design_native_refutations(staggered_report):
    report, _ = staggered_report
    s = report.summary
    refs = {r["name"]: r for r in s["refutations"]}
    assert sorted(refs) == ["leave_one_out", "placebo_dates", "placebo_units"]
    assert refs["placebo_units"]["passed"]  # the never-treated regions stayed together
    assert all(r["effect"] == pytest.approx(s["estimate"]) for r in refs.values())
    # a rollout has no per-user arm, so no instrument for adoption: left out, with the reason
    assert s["adoption"]["per_adopter"] is None and s["adoption"]["itt"] is None
    # who gains: on the change of each user's 30-day revenue, launched regions against the rest
    assert s["heterogeneity"]["design"] == "rollout"
    # what moved revenue in the regions launched last, from the 30 days before to after
    parts = s["attribution"]
    assert parts is not None and "30 days before the last launch date" in parts["sentence"]
    html = report.html.read_text()
    appendix = html[html.index('id="engineering-appendix"'):]
    assert "<h3>Refutations</h3>" in appendix and "placebo_units" in appendix
    assert "no per-user arm" in html
    # users of the launched regions against the others, from the last launch date: the task
    # link carries the effect on engagement (the truth: all of it)
    links = {(lk["mediator"], lk["outcome"]): lk for lk in s["mediation"]["links"]}
    task = links[("task_successes_30d", "retained_d30")]
    assert task["status"] == "carries" and task["share_low"] <= 1.0 <= task["share_high"]
    assert "<h3>Through what</h3>" in html and "Broken link(s)" not in html


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
    # the break is the point of this launch: it is in the executive sentences, not page 2
    exec_text = executive_text(html)
    assert "The chain from model to business breaks" in exec_text
    assert report.summary["diagnosis"]["finding"] == "business_flat"
    assert "revenue did not" in exec_text
    assert "<script>" not in html and "&lt;script&gt;alert(" in html
    assert report.directory.parent.name.startswith("script-alert-x-script-assistant-")
    # the users' mediation says the same: the task link carries nothing on to engagement
    links = {(lk["mediator"], lk["outcome"]): lk for lk in report.summary["mediation"]["links"]}
    assert links[("task_successes_30d", "retained_d30")]["status"] == "broken"
    assert "Broken link(s): task_successes_30d → retained_d30" in html


def test_score_gated_launch_is_reported_by_regression_discontinuity(demo, tmp_path):
    report = ck.run_report(parameters={"data_dir": str(demo / "score_gate")},
                           output_root=tmp_path, run_date=RUN_DATE)
    s = report.summary
    truth = json.loads((demo / "score_gate" / "truth.json").read_text())
    true_effect = truth["gate"]["effect_at_cutoff"]["revenue_30d"]["effect"]
    assert s["method"].startswith("rdd") and s["outcome"] == "revenue_30d"
    assert s["ci_low"] <= true_effect <= s["ci_high"]
    # an effect at the cutoff, turned into money for every exposed user, says it is local
    assert s["local_effect"] is True
    text = executive_text(report.html.read_text())
    assert "measured only at the cutoff" in text and "users at the score cutoff" in text


def test_plan_edited_after_launch_is_called_out_and_not_used(demo):
    from dataclasses import replace

    from causal_kit.presentation import views

    spec = ck.load_launch(demo / "staggered").to_dict()
    spec["criteria"]["min_effect"] = 1_000_000.0  # raised after launch: nothing would ship
    edited = ck.Launch.from_dict(spec)
    a = ck.analyze_launch(demo / "staggered" / "events", launch=edited,
                          users=demo / "staggered" / "users.parquet")
    assert a.plan.changed and a.plan.changes == ("criteria.min_effect: 0.0 → 1000000.0",)
    assert a.decision.inputs["min_effect"] == 0.0  # the registered value decides
    text = executive_text(views.executive_summary(a).html)
    assert "edited after registration (criteria.min_effect: 0.0 → 1000000.0)" in text
    assert "uses the registered values" in text
    assert a.to_summary()["plan"]["trusted"] is False
    # the value chart shows its whole interval, also when the low end is negative
    low = -3 * abs(a.impact.annual_value_high)
    fig = views.value_chart(replace(a, impact=replace(a.impact, annual_value_low=low)))
    left, right = fig.axes[0].get_xlim()
    assert left < low and right > a.impact.annual_value_high


def test_failing_report_leaves_nothing_and_exits_1(tmp_path, capsys):
    code = cli.main(["report", "-p", "data_dir", str(tmp_path / "missing"),
                     "--output", str(tmp_path / "out"), "--run-date", RUN_DATE])
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    assert "failed in cell" in err and "no launch spec at" in err
    # not even a partial notebook: only the index, which names the failed launch
    assert [p.name for p in (tmp_path / "out").rglob("*")] == ["index.html"]
    assert "no launch spec at" in (tmp_path / "out" / "index.html").read_text()


def test_config_runs_every_launch_even_when_one_fails(config_run, capsys):
    code, out = config_run
    assert code == cli.EXIT_FAILED
    for name in DECISION_DEMOS:
        assert (out / name / RUN_DATE / "report.html").exists()
    assert not (out / "broken-one" / RUN_DATE).exists()


def test_harmful_launch_is_rolled_back_for_harm(config_run, demo):
    s, html_text = _published(config_run[1], "harmful")
    truth = json.loads((demo / "harmful" / "truth.json").read_text())
    true_effect = truth["att"]["revenue"]["effect"]
    assert true_effect < 0 and s["ci_low"] <= true_effect <= s["ci_high"]
    assert (s["decision"], s["decision_rule"]) == ("roll back", "harm")
    assert s["next_step"] == "Roll back: the launch makes revenue worse."
    # the locked-set number says the model should never have reached users
    assert s["diagnosis"]["finding"] == "offline_missed"
    assert "should not have been tested" in executive_text(html_text)


def test_launch_with_no_effect_is_killed_by_the_ninety_day_rule(config_run, demo):
    s, html_text = _published(config_run[1], "no_effect")
    assert json.loads((demo / "no_effect" / "truth.json").read_text())["att"]["revenue"][
        "effect"] == 0.0
    assert s["ci_low"] <= 0.0 <= s["ci_high"]
    assert (s["decision"], s["decision_rule"]) == ("roll back", "ninety_day")
    assert s["decision_detail"]["inputs"]["days_since_launch"] > 90
    assert "kill or pivot" in s["decision_reason"].lower()
    assert "Kill or pivot" in executive_text(html_text)


def test_clear_win_ships_unless_the_checks_grade_it_low(config_run, demo):
    s, _ = _published(config_run[1], "clear_win")
    true_effect = json.loads((demo / "clear_win" / "truth.json").read_text())["att"][
        "revenue"]["effect"]
    assert 0 < s["ci_low"] <= true_effect <= s["ci_high"]  # measurable, and right
    assert s["plan"]["trusted"] and s["diagnosis"]["finding"] == "holds"
    # "ship" needs a confidence grade above "low"; while the designs' checks grade every run
    # low, the 90-day rule reads it as an impact that could not be measured
    if s["scorecard"]["grade"] == "low":
        assert (s["decision"], s["decision_rule"]) == ("roll back", "ninety_day")
    else:
        assert (s["decision"], s["decision_rule"]) == ("ship", "ship")


def test_executive_section_speaks_business(config_run, staggered_report, demo, tmp_path):
    pages = [_published(config_run[1], name)[1] for name in DECISION_DEMOS]
    pages.append(staggered_report[0].html.read_text())
    for page in pages:
        text = executive_text(page)
        for word in EXEC_FORBIDDEN:
            assert word not in text, word
        assert "per user per week" in text and "a year" in text and "%" in text
        assert 'href="#engineering-appendix"' in page and 'id="engineering-appendix"' in page


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


def test_a_rerun_of_the_day_gets_its_own_folder_and_keeps_the_earlier_one(tmp_path):
    final = tmp_path / "launch" / RUN_DATE
    final.mkdir(parents=True)
    (final / "report.html").write_text("old")
    new = tmp_path / "staged"
    new.mkdir()
    (new / "report.html").write_text("new")
    second = publish(new, tmp_path, "launch", RUN_DATE)
    assert (final / "report.html").read_text() == "old"
    assert (second / "report.html").read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "launch").iterdir()) == [RUN_DATE, f"{RUN_DATE}.2"]


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


def test_holdout_report_shows_through_what_who_gains_and_per_adopter(shape_reports):
    report, truth = shape_reports["holdout"]
    s, att = report.summary, truth["holdout"]["att"]
    refs = {r["name"]: r for r in s["refutations"]}
    assert sorted(refs) == ["data_subset", "placebo_treatment", "random_common_cause",
                            "unobserved_common_cause"]
    assert refs["placebo_treatment"]["passed"]  # permuting the arm removes the effect
    totals = {lk["outcome"]: (lk["total_low"], lk["total_high"])
              for lk in s["mediation"]["links"]}
    for metric in ("retained_d30", "revenue_30d"):  # the arm's total effects cover the truth
        assert totals[metric][0] <= att[metric] <= totals[metric][1], metric
    groups = {g["group"] for g in s["heterogeneity"]["groups"] if g["feature"] == "segment"}
    assert groups == {"casual", "power"}
    itt = s["adoption"]["itt"]["ci"]
    assert itt[0] <= att["revenue_30d"] <= itt[1]
    assert 0 < s["adoption"]["adoption_rate"] < 1
    per = s["adoption"]["per_adopter"]["ci"]  # the effect per adopter covers the truth
    assert per[0] <= truth["mechanisms"]["adoption"]["effect_per_adopter"]["revenue_30d"] <= per[1]
    html = report.html.read_text()
    for title in ("Through what", "Who gains", "Per adopter", "Refutations"):
        assert f"<h3>{title}</h3>" in html, title
    assert shape_reports["global_launch"][0].summary["refutations"] is None


def test_global_launch_is_reported_by_its_with_the_forecast_warning(shape_reports):
    report, truth = shape_reports["global_launch"]
    s = report.summary
    ck.validate_summary(s)
    assert s["method"].startswith("its") and s["outcome"] == "revenue"
    effect = truth["global"]["effect_per_day"]["revenue"]
    assert s["ci_low"] <= effect <= s["ci_high"]
    assert s["annual_value_low"] <= effect * 365 <= s["annual_value_high"]
    # past the 90-day window the forecast's interval still reaches below zero: the business
    # impact could not be measured in time, so the 90-day rule says kill or pivot
    assert s["ci_low"] < 0 < s["ci_high"]
    assert s["decision"] == "roll back" and s["decision_rule"] == "ninety_day"
    ran = {row["design"] for row in s["triangulation"]["concordance"]}
    assert ran == {"its", "rdd"}  # ITS and RD in time
    assert s["scorecard"]["design_strength"] == 0
    assert any("forecast-only" in r for r in s["scorecard"]["reasons"])
    html = report.html.read_text()
    assert "Caution:" in html and "no untreated group" in html
    assert "Designs compared" in html and "interrupted time series" in html


# --- an early read, then the same launch once its 90 days are in ------------------------------

@pytest.fixture(scope="module")
def early_reports(tmp_path_factory):
    """The early-read world read at 21 days, then again with the future's events (133 days)."""
    import shutil

    base = tmp_path_factory.mktemp("early")
    sim = ck.simulate("early_read", n_users=50_000, n_days=252, seed=0, out_dir=base / "early")
    matured = base / "matured"
    (matured / "events").mkdir(parents=True)
    for folder, prefix in ((sim.events, "a"), (sim.out_dir / "later" / "events", "b")):
        for part in sorted(folder.glob("*.parquet")):
            shutil.copy(part, matured / "events" / f"{prefix}-{part.name}")
    for name in ("users.parquet", "launch.json", "truth.json"):
        shutil.copy(sim.out_dir / name, matured / name)
    out = base / "reports"
    day = sim.launch.date
    runs = []
    for data, offset in ((sim.out_dir, 21), (matured, 126)):
        run_date = (day + dt.timedelta(days=offset)).isoformat()
        runs.append(ck.run_report("attribution_report", output_root=out, run_date=run_date,
                                  parameters={"data_dir": str(data)}))
    return sim, runs


def test_early_read_report_shows_the_projection_beside_the_14_day_effect(early_reports):
    sim, (early, _) = early_reports
    s = early.summary
    ck.validate_summary(s)
    p = s["projection"]
    assert s["outcome"] == "revenue_14d" and p["observed_days"] == 21
    assert p["metric"] == "revenue_90d" and p["horizon_days"] == 90 and p["realised"] is None
    truth = sim.truth["long_term"]["revenue_90d"]["effect"]
    assert p["ci_low"] <= truth <= p["ci_high"]  # seed 0 of the demo world: covered
    html = early.html.read_text()
    executive = html.split('id="engineering-appendix"')[0]
    assert "Early read: 90-day revenue, projected" in executive
    assert "This is a projection, not a measurement" in executive
    assert "measured effect on 14-day revenue per user" in executive
    assert "not yet observable" in executive


def test_a_later_run_sets_the_early_projection_against_the_realised_effect(early_reports):
    sim, (early, late) = early_reports
    s = late.summary
    assert s["outcome"] == "revenue_30d"  # the 30-day window is in: the usual holdout read
    p = s["projection"]
    start = dt.date.fromisoformat(sim.truth["start_date"])
    assert p["realised"] is not None
    assert p["observed_days"] == sim.truth["n_days"] - (sim.launch.date - start).days
    assert "surrogacy" in {c["name"] for c in p["checks"]}
    html = late.html.read_text()
    assert "Earlier early reads against what was realised" in html
    assert early.directory.name in html  # the earlier run, by its date
    truth = sim.truth["long_term"]["revenue_90d"]["effect"]
    realised = p["realised"]
    assert realised["ci_low"] <= truth <= realised["ci_high"]
