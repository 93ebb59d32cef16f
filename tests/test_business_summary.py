"""summary.json: built from the business results, validated against the shipped JSON Schema."""

from __future__ import annotations

import copy
import datetime as dt
import json

import jsonschema
import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.analysis.summary import (
    build_summary,
    data_fingerprint,
    load_schema,
    validate_summary,
)


def est(point=2.0, low=1.0, high=3.0, outcome="revenue", method="did:cs", checks=()):
    return ck.Estimate(method=method, outcome=outcome, estimate=point, se=(high - low) / 3.92,
                       ci=(low, high), level=0.95, p_value=0.001, n_units=20, n_treated=8,
                       checks=tuple(checks),
                       by_period=pd.DataFrame({"term": [0, 1], "estimate": [1.9, 2.1],
                                               "std_error": [0.5, 0.5], "statistic": [3.8, 4.2],
                                               "p_value": [0.001, 0.001],
                                               "conf_low": [0.9, 1.1], "conf_high": [2.9, 3.1]}))


LAUNCH = ck.Launch("recsys-v2", start={"north": "2026-03-02"},
                   criteria=ck.SuccessCriteria(min_effect=0.5, guardrails={"latency_ms": 20.0}))
STAMP = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


def full_summary():
    e = est(checks=(ck.Check("pre_trends", True, 1.0, 0.6, "fine"),))
    impact = ck.translate(e, users=40_000, periods_per_year=52, cost=250_000, criteria=LAUNCH,
                          as_of="2026-07-01",
                          guardrails={"latency_ms": est(5, 0, 10, "latency_ms")})
    cascade = ck.cascade({"task": est(0.05, 0.03, 0.07, "task_success_rate"),
                          "business": e})
    segments = ck.by_segment({"power": est(-1, -2, -0.5), "casual": est(3, 2, 4)},
                             revenue_share={"power": 0.8, "casual": 0.2}, overall=e)
    return build_summary(launch=LAUNCH, estimate=e, impact=impact, cascade=cascade,
                         segments=segments, parameters={"weeks": 12},
                         data_fingerprint="abc123", generated_at=STAMP)


def test_schema_is_a_valid_json_schema_with_the_required_keys():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    required = set(schema["required"])
    assert {"estimate", "ci_low", "ci_high", "decision", "annual_value", "annual_value_low",
            "annual_value_high", "parameters", "data_fingerprint", "package_versions",
            "scorecard", "cascade", "triangulation", "launch", "generated_at"} <= required


def test_build_summary_carries_every_result():
    s = full_summary()
    json.dumps(s, allow_nan=False)
    assert s["decision"] == "ship" and s["decision_rule"] == "ship"
    assert s["estimate"] == 2.0 and (s["ci_low"], s["ci_high"]) == (1.0, 3.0)
    assert s["annual_value"] == pytest.approx(2.0 * 40_000 * 52)
    assert s["annual_value_low"] == pytest.approx(1.0 * 40_000 * 52)
    assert s["roi"] == pytest.approx(2.0 * 40_000 * 52 / 250_000)
    assert s["launch"]["name"] == "recsys-v2"
    assert s["launch"]["criteria"]["guardrails"] == {"latency_ms": 20.0}
    assert s["generated_at"] == "2026-07-01T12:00:00+00:00"
    assert s["scorecard"]["grade"] == "high"
    assert s["cascade"]["links"][0]["status"] == "holds"
    assert s["segments"]["loss_is_clear"] is True
    assert s["triangulation"] is None
    assert s["package_versions"]["pandas"] == pd.__version__
    assert s["decision_detail"]["inputs"]["days_since_launch"] == 121


def test_summary_without_money_uses_the_launch_criteria():
    s = build_summary(launch=LAUNCH, estimate=est(0.25, 0.1, 0.4), generated_at=STAMP)
    assert s["annual_value"] is None and s["impact"] is None
    # below the minimum effect 0.5 → iterate (the guardrail is unmeasured but tested later)
    assert (s["decision"], s["decision_rule"]) == ("iterate", "below_minimum")
    assert s["scorecard"]["grade"] == "medium"  # no checks on the estimate


def test_validate_summary_reports_every_problem_with_its_place():
    good = full_summary()
    validate_summary(good)
    bad = copy.deepcopy(good)
    bad["decision"] = "ship it"
    del bad["annual_value"]
    bad["scorecard"]["grade"] = "excellent"
    with pytest.raises(ck.ReportError) as info:
        validate_summary(bad)
    text = str(info.value)
    assert "'ship it' is not one of" in text
    assert "'annual_value' is a required property" in text
    assert "at 'scorecard/grade'" in text
    assert "Nothing was written" in text


def test_validate_summary_rejects_nan_and_disordered_intervals():
    bad = full_summary()
    bad["estimate"] = float("nan")
    bad["annual_value_low"], bad["annual_value_high"] = 5.0, 1.0
    with pytest.raises(ck.ReportError, match=r"at 'estimate': nan is not a finite number"):
        validate_summary(bad)
    with pytest.raises(ck.ReportError, match=r"'annual_value_low' \(5.0\) is above"):
        validate_summary(bad)
    with pytest.raises(ck.ReportError, match="must be a JSON object"):
        validate_summary([1, 2])  # type: ignore[arg-type]


def test_runner_overrides_still_validate():
    s = full_summary()
    s["parameters"] = {"data_path": "x.parquet", "weeks": 12}
    s["package_versions"] = {"python": "3.11.9", "causal_kit": "0.1.0"}
    s["data_fingerprint"] = None
    validate_summary(s)


def test_data_fingerprint_is_stable_and_sensitive():
    df = pd.DataFrame({"region": ["a", "b"], "week": [1, 2], "revenue": [1.0, 2.0]})
    before = df.copy()
    fp = data_fingerprint(df)
    assert fp == data_fingerprint(df.copy()) and len(fp) == 64
    pd.testing.assert_frame_equal(df, before)
    changed = df.assign(revenue=[1.0, 2.0000001])
    assert data_fingerprint(changed) != fp
    assert data_fingerprint(df.astype({"week": np.float64})) != fp


def test_build_summary_errors():
    with pytest.raises(ck.SpecificationError, match="Launch or its"):
        build_summary(launch="", estimate=est())
    with pytest.raises(ck.SpecificationError, match="not both"):
        e = est()
        build_summary(launch="x", estimate=e, impact=ck.translate(e, users=1),
                      decision=ck.decide(e))
