"""Refutations: DoWhy's refuters on user-level effects, the design-native ones on panels; a
placebo passes on clean data and fails when a fake effect is injected into control units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.simulate.truth_mechanisms import simulate_users


def _panel(seed: int = 0, n_units: int = 20, n_treated: int = 6, periods: int = 20,
           start: int = 12, effect: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat([f"u{i:02d}" for i in range(n_units)], periods)
    t = np.tile(np.arange(periods), n_units)
    fe = np.repeat(rng.normal(0, 1, n_units), periods)
    treated = (np.repeat(np.arange(n_units), periods) < n_treated) & (t >= start)
    y = 10 + fe + 0.1 * t + rng.normal(0, 0.3, len(t)) + effect * treated
    return pd.DataFrame({"unit": unit, "t": t, "treated": treated.astype(np.int64), "y": y})


def test_user_level_refuters_pass_on_the_demo():
    sim = simulate_users(1500, seed=1)
    r = ck.refute(sim.users, outcome="revenue", treatment="exposed",
                  covariates=["power", "pre_sessions"], n_simulations=3)
    assert [c.name for c in r.checks] == ["placebo_treatment", "random_common_cause",
                                          "data_subset", "unobserved_common_cause"]
    assert r.passed, str(r.summary())
    assert abs(r.check("placebo_treatment").statistic) < abs(r.effect) / 2
    assert r.check("placebo_treatment").kind == "identifying"
    assert r.check("data_subset").kind == "robustness"
    out = r.to_dict()
    assert out[0]["name"] == "placebo_treatment" and isinstance(out[0]["passed"], bool)
    assert out[0]["refuted_effect"] == pytest.approx(r.check("placebo_treatment").statistic)


def test_panel_refutations_pass_on_clean_data():
    r = ck.refute_panel(_panel(), outcome="y", unit="unit", time="t", treatment="treated")
    assert [c.name for c in r.checks] == ["placebo_dates", "placebo_units", "leave_one_out"]
    assert r.passed, str(r.summary())
    assert r.effect == pytest.approx(1.0, abs=0.3)
    from causal_kit.presentation.views_evidence import evidence_summary

    names = [x["name"] for x in evidence_summary(refutations=r)["refutations"]]
    assert names == ["placebo_dates", "placebo_units", "leave_one_out"]


def test_placebo_fails_when_a_fake_effect_is_injected_into_control_units():
    p = _panel()
    fake = p["unit"].isin(["u06", "u07", "u08", "u09"]) & (p["t"] >= 12)
    injected = p.assign(y=p["y"] + 1.0 * fake)
    r = ck.refute_panel(injected, outcome="y", unit="unit", time="t", treatment="treated")
    assert not r.check("placebo_units").passed
    assert "moved apart" in r.check("placebo_units").message
    assert r.check("placebo_dates").passed  # the pre-launch periods are untouched


def test_placebo_dates_fail_on_diverging_pre_trends():
    p = _panel()
    trend = p["unit"].isin([f"u0{i}" for i in range(6)]) * 0.15 * p["t"]
    r = ck.refute_panel(p.assign(y=p["y"] + trend), outcome="y", unit="unit", time="t",
                        treatment="treated")
    assert not r.check("placebo_dates").passed


def test_refute_bad_input():
    with pytest.raises(ck.DataError, match="4 never-treated"):
        ck.refute_panel(_panel(n_units=8, n_treated=6), outcome="y", unit="unit", time="t",
                        treatment="treated")
    with pytest.raises(ck.SpecificationError, match="'did', 'sc'"):
        ck.refute_panel(_panel(), outcome="y", unit="unit", time="t", treatment="treated",
                        design="rdd")
    sim = simulate_users(300, seed=1)
    with pytest.raises(ck.DataError, match="not numeric"):
        ck.refute(sim.users, outcome="revenue", treatment="exposed", covariates=["segment"])


def test_placebo_dates_false_alarm_rate_at_the_demo_shape():
    """At the staggered demo's shape (24 regions, 12 never launched, first launch in week 10)
    and parallel trends, a fake launch halfway through the pre-launch weeks fails at about the
    nominal 5%: a failure there is a chance draw unless the pre-trends say otherwise."""
    from causal_kit.design.did.calibration import did_panel
    from causal_kit.evidence.refute import _front_door, _placebo_dates

    fit = _front_door("did", "outcome", "region", "week", "treated", 0.95, {})
    failed = 0
    for r in range(40):
        p = did_panel(5000 + r, effect=0.5)
        ever = p.groupby("region")["treated"].max()
        first = p.loc[p["treated"] == 1, "week"].min()
        pre = np.sort(p["week"].unique())
        pre = pre[pre < first]
        treated = list(ever.index[ever == 1])
        check = _placebo_dates(p, fit, pre, treated, "region", "week", "treated")
        failed += not check.passed
    assert failed / 40 <= 0.125  # simulator draws (bench note in refute.py): 1 of 40
