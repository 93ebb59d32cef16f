"""ck.by_segment: a gain on average, a loss on the segment that pays, made visible."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck


def est(point, low, high, outcome="revenue"):
    return ck.Estimate(method="did:cs", outcome=outcome, estimate=point, se=(high - low) / 3.92,
                       ci=(low, high), level=0.95, p_value=0.01, n_units=20, n_treated=10)


def test_loss_on_the_paying_segment_is_flagged():
    overall = est(1.5, 0.5, 2.5)
    s = ck.by_segment({"power": est(-2.0, -3.0, -1.0), "casual": est(3.0, 2.0, 4.0)},
                      revenue_share={"power": 80, "casual": 20}, overall=overall)
    assert s.paying_segment == "power"
    assert s.paying_segment_loses and s.loss_is_clear
    assert s.table["revenue_share"].tolist() == pytest.approx([0.8, 0.2])
    assert s.table["moved"].tolist() == ["worsened", "improved"]
    assert s.message.startswith("On average the launch gains (1.5), but the segment that pays")
    assert "power, 80% of revenue" in s.message


def test_no_flag_when_the_paying_segment_gains():
    s = ck.by_segment({"power": est(2.0, 1.0, 3.0), "casual": est(-0.5, -1.0, 0.2)},
                      revenue_share={"power": 0.7, "casual": 0.3})
    assert not s.paying_segment_loses and not s.loss_is_clear
    assert "does not lose" in s.message


def test_lower_is_better_flips_the_loss():
    s = ck.by_segment({"enterprise": est(0.3, 0.1, 0.5, "cost_per_ticket"),
                       "smb": est(-0.2, -0.3, -0.1, "cost_per_ticket")},
                      revenue_share={"enterprise": 0.9, "smb": 0.1}, lower_is_better=True)
    assert s.paying_segment == "enterprise" and s.loss_is_clear


def _segment_panel(seed=0):
    """Regions × weeks × segment; the launch helps casual users and hurts power users."""
    rng = np.random.default_rng(seed)
    rows = []
    for seg, effect, level in (("power", -3.0, 50.0), ("casual", 2.0, 10.0)):
        for r in range(12):
            treated = r < 6
            base = level + rng.normal(0, 1)
            for w in range(8):
                d = int(treated and w >= 4)
                y = base + 0.3 * w + effect * d + rng.normal(0, 0.3)
                rows.append((seg, f"r{r}", w, d, y))
    return pd.DataFrame(rows, columns=["tier", "region", "week", "treated", "revenue"])


def test_by_segment_runs_a_design_per_segment():
    panel = _segment_panel()
    before = panel.copy()

    def mean_diff(part, *, outcome, treatment):
        # a tiny stand-in design: post-minus-pre difference of treated vs control means
        post = part["week"] >= 4
        ever = part.groupby("region")[treatment].transform("max") == 1
        g = part.groupby([ever, post])[outcome].mean()
        value = (g[(True, True)] - g[(True, False)]) - (g[(False, True)] - g[(False, False)])
        return est(float(value), float(value) - 0.5, float(value) + 0.5, outcome)

    s = ck.by_segment(panel, segment="tier", revenue="revenue", design=mean_diff,
                      outcome="revenue", treatment="treated")
    pd.testing.assert_frame_equal(panel, before)
    t = s.table.set_index("segment")
    assert t.loc["power", "estimate"] == pytest.approx(-3.0, abs=0.3)
    assert t.loc["casual", "estimate"] == pytest.approx(2.0, abs=0.3)
    # power users hold about 50 / (50 + 10) of revenue
    assert t.loc["power", "revenue_share"] == pytest.approx(
        panel.loc[panel.tier == "power", "revenue"].sum() / panel["revenue"].sum()
    )
    assert s.paying_segment == "power" and s.loss_is_clear


def test_by_segment_with_the_did_design():
    try:
        from causal_kit.design.did import did  # noqa: F401
    except ImportError:
        pytest.skip("the difference-in-differences design is not importable in this tree")
    panel = _segment_panel(1)
    s = ck.by_segment(panel, segment="tier", revenue="revenue", design="did",
                      outcome="revenue", unit="region", time="week", treatment="treated")
    t = s.table.set_index("segment")
    assert t.loc["power", "estimate"] == pytest.approx(-3.0, abs=0.5)
    assert t.loc["casual", "estimate"] == pytest.approx(2.0, abs=0.5)
    assert s.loss_is_clear


def test_segments_serialise():
    s = ck.by_segment({"a": est(1, 0.5, 1.5), "b": est(-1, -2, 0.5)},
                      revenue_share={"a": 1, "b": 3}, overall=est(0.1, -0.2, 0.4))
    d = s.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["paying_segment"] == "b" and d["paying_segment_loses"] and not d["loss_is_clear"]
    assert "may lose" in d["message"]
    assert "Effect by segment" in str(s) and "<table" in s._repr_html_()


def test_segment_errors():
    two = {"a": est(1, 0, 2), "b": est(1, 0, 2)}
    with pytest.raises(ck.SpecificationError, match="revenue_share"):
        ck.by_segment(two)
    with pytest.raises(ck.SpecificationError, match=r"missing \['b'\]"):
        ck.by_segment(two, revenue_share={"a": 1.0})
    with pytest.raises(ck.SpecificationError, match="two or more segments"):
        ck.by_segment({"a": est(1, 0, 2)}, revenue_share={"a": 1.0})
    with pytest.raises(ck.SpecificationError, match="pass segment="):
        ck.by_segment(pd.DataFrame({"x": [1]}))
    with pytest.raises(ck.DataError, match="no column 'tier'"):
        ck.by_segment(pd.DataFrame({"x": [1]}), segment="tier", revenue_share={})
    with pytest.raises(ck.SpecificationError, match="design='bogus'"):
        ck.by_segment(pd.DataFrame({"tier": ["a", "b"]}), segment="tier", design="bogus",
                      revenue_share={"a": 1, "b": 1})
