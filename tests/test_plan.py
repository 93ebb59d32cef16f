"""The launch plan: registration with a timestamp and a content hash, edits named, old files."""

from __future__ import annotations

import json

import pytest

import causal_kit as ck
from causal_kit.business.plan import content_hash, plan_content, registered_launch

PLAN = {
    "offline": {"metric": "recall", "target": 0.90, "measured": 0.93,
                "eval_set": "golden-100", "eval_fingerprint": "sha256:ab12",
                "how_measured": "locked eval set of 100 contracts"},
    "online": {"metric": "task_success_rate", "target": 0.05, "how_measured": "events"},
    "business": {"metric": "revenue", "target": 0.02, "relative": True,
                 "how_measured": "revenue per region-week, 90 days"},
    "cost": {"metric": "cost_per_user", "cap": 0.40, "share_of_value": 0.5},
    "kill_criteria": ["revenue does not move within 90 days: roll back or pivot"],
}


def old_launch_file(tmp_path):
    path = tmp_path / "launch.json"
    path.write_text(json.dumps({"name": "assistant-v2", "unit": "region",
                                "start": {"north": "2026-03-02", "south": "2026-03-16"},
                                "criteria": {"min_effect": 50.0, "window_days": 90}}))
    return path


def test_old_launch_files_keep_working(tmp_path):
    launch = ck.load_launch(old_launch_file(tmp_path))
    assert launch.plan is None and launch.registration is None
    assert launch.criteria.exception == "none" and launch.criteria.adoption_floor == 0.20
    assert ck.Launch.from_dict(launch.to_dict()) == launch
    status = ck.plan_status(launch)
    assert not status.registered and not status.trusted
    assert "not fixed in advance" in status.message


def test_register_writes_timestamp_hash_and_content(tmp_path):
    path = old_launch_file(tmp_path)
    launch = ck.register_plan(path, plan=PLAN, registered_at="2026-02-20T09:00:00")
    spec = json.loads(path.read_text())
    reg = spec["registration"]
    assert reg["registered_at"] == "2026-02-20T09:00:00+00:00"
    assert reg["content_hash"] == content_hash(plan_content(launch))
    assert reg["content_hash"].startswith("sha256:") and len(reg["content_hash"]) == 71
    assert spec["plan"]["offline"]["eval_set"] == "golden-100"
    assert spec["plan"]["cost"]["share_of_value"] == 0.5
    read = ck.load_launch(path)
    assert read == launch and read.plan is not None and read.plan.business.relative
    status = ck.plan_status(read)
    assert status.registered and status.before_launch and not status.changed and status.trusted
    assert status.message == "Plan registered on 2026-02-20 before the launch (2026-03-02), " \
        "unchanged since."


def test_a_criterion_edited_after_registration_is_named_and_not_used(tmp_path):
    path = old_launch_file(tmp_path)
    ck.register_plan(path, plan=PLAN, registered_at="2026-02-20T09:00:00")
    spec = json.loads(path.read_text())
    spec["criteria"]["min_effect"] = 5.0  # lowered after seeing the data
    path.write_text(json.dumps(spec))
    edited = ck.load_launch(path)
    status = ck.plan_status(edited)
    assert status.changed and not status.trusted
    assert status.changes == ("criteria.min_effect: 50.0 → 5.0",)
    assert "edited after registration (criteria.min_effect: 50.0 → 5.0)" in status.message
    assert "uses the registered values" in status.message
    assert registered_launch(edited).criteria.min_effect == 50.0
    assert status.current_hash != status.content_hash


def test_registered_after_launch_is_called_out(tmp_path):
    path = old_launch_file(tmp_path)
    ck.register_plan(path, plan=PLAN, registered_at="2026-04-01T00:00:00")
    status = ck.plan_status(ck.load_launch(path))
    assert status.before_launch is False and not status.trusted
    assert "after the launch (2026-03-02): its criteria were not fixed in advance" in \
        status.message


def test_register_a_launch_object_needs_a_path_and_validates(tmp_path):
    launch = ck.Launch(name="x", start={"north": "2026-03-02"})
    with pytest.raises(ck.SpecificationError, match="needs path="):
        ck.register_plan(launch)
    with pytest.raises(ck.SpecificationError, match=r"offline\.target: .*finite"):
        ck.register_plan(launch, path=tmp_path / "l.json",
                         plan={"offline": {"metric": "recall", "target": float("nan")}})
    with pytest.raises(ck.SpecificationError, match=r"timeboxed_bet' needs timebox_days"):
        ck.register_plan(launch, path=tmp_path / "l.json",
                         criteria={"exception": "timeboxed_bet"})
    with pytest.raises(ck.SpecificationError, match=r"unknown fields \['goal'\]"):
        ck.register_plan(launch, path=tmp_path / "l.json",
                         plan={"online": {"metric": "x", "target": 1, "goal": 2}})
    assert not (tmp_path / "l.json").exists()
    out = ck.register_plan(launch, path=tmp_path / "l.json",
                           criteria={"exception": "timeboxed_bet", "timebox_days": 60})
    assert out.criteria.timebox_days == 60 and (tmp_path / "l.json").is_file()


def test_mde_flag_hook_at_registration(tmp_path):
    fig = ck.MdeFigure(mde=250.0, weeks=12, weeks_needed=40, more_units=18, baseline=3000.0)
    assert ck.mde_flag(100.0, fig) == ("this launch cannot show its business target in 12 "
                                       "weeks; you need 40 weeks or 18 more regions")
    assert ck.mde_flag(300.0, fig) is None
    path = old_launch_file(tmp_path)
    # revenue +2% of a 3,000 baseline is 60 < MDE 250: flagged and kept in the registration
    launch = ck.register_plan(path, plan=PLAN, mde=fig, registered_at="2026-02-01")
    assert launch.registration["flags"] == [ck.mde_flag(60.0, fig)]
    assert ck.plan_status(launch).flags == (ck.mde_flag(60.0, fig),)


def _est(point, low, high, outcome):
    return ck.Estimate(method="did:cs", outcome=outcome, estimate=point, se=1.0, ci=(low, high),
                       level=0.95, p_value=0.5, n_units=24, n_treated=12)


@pytest.mark.parametrize(("measured", "online", "business", "finding", "words"), [
    (0.93, (0.0, -0.02, 0.02), (1.0, -5, 7), "workflow", "workflow or the user experience"),
    (0.93, (0.1, 0.05, 0.15), (1.0, -5, 7), "business_flat", "revenue did not"),
    (0.84, (0.1, 0.05, 0.15), (9.0, 5, 13), "offline_missed", "should not have been tested"),
    (0.93, (0.1, 0.05, 0.15), (9.0, 5, 13), "holds", "met or moved"),
])
def test_two_metric_diagnosis_reads_the_plan(measured, online, business, finding, words):
    plan = ck.Plan.from_dict({**PLAN, "offline": {**PLAN["offline"], "measured": measured}})
    launch = ck.Launch(name="x", start={"north": "2026-03-02"}, plan=plan)
    d = ck.diagnose(launch, {"task_success_rate": _est(*online, "task_success_rate"),
                             "revenue": _est(*business, "revenue")})
    assert d.finding == finding and words in d.message
    if finding == "offline_missed":
        assert "recall 0.84 vs ≥ 0.9 on golden-100" in d.message
    # the plan's metric names are read, not fixed ones
    renamed = ck.Plan.from_dict({**PLAN, "online": {"metric": "sessions", "target": 1.0}})
    other = ck.diagnose(ck.Launch(name="x", plan=renamed), {"revenue": _est(*business, "revenue")})
    assert ("online", "sessions", "not measured") in other.layers


def test_cli_plan_register(tmp_path, capsys):
    from causal_kit.presentation import cli

    path = old_launch_file(tmp_path)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"plan": PLAN}))
    code = cli.main(["plan", "register", str(tmp_path), "--plan", str(plan_file),
                     "--at", "2026-02-20T09:00:00"])
    out = capsys.readouterr().out
    assert code == 0
    launch = ck.load_launch(path)
    assert f"registered at 2026-02-20T09:00:00+00:00: {launch.registration['content_hash']}" in out
    assert ck.plan_status(launch).trusted
    plan_file.write_text(json.dumps({"plan": PLAN, "extra": 1}))
    assert cli.main(["plan", "register", str(path), "--plan", str(plan_file)]) == 2
    assert "takes only 'criteria' and 'plan'; got ['extra']" in capsys.readouterr().err
    assert ck.load_launch(path) == launch  # nothing written
