"""The shared contract: Estimate, Check, options, frames, panel validation."""

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

import causal_kit as ck
from causal_kit.core.estimate import TIDY_COLUMNS
from causal_kit.core.frames import to_pandas
from causal_kit.core.options import DidMethod, check_option
from causal_kit.core.panel import prepare_panel
from causal_kit.core.stats import normal_ci, tidy_table


def _estimate(**kw):
    bp = tidy_table([-1, 0, 1], np.array([0.1, 1.0, 2.0]), np.array([0.5, 0.5, 0.5]), 0.95)
    base = dict(method="did:test", outcome="revenue", estimate=1.5, se=0.5, ci=(0.52, 2.48),
                level=0.95, p_value=0.0027, n_units=10, n_treated=4, by_period=bp,
                checks=(ck.Check("pre_trends", True, 0.4, 0.53, "no <b>pre-trend</b> | ok"),),
                details={"weights": pd.DataFrame({"unit": ["a"], "w": [np.float64(1.0)]}),
                         "h": np.float64(np.inf)})
    base.update(kw)
    return ck.Estimate(**base)


def test_estimate_is_frozen():
    est = _estimate()
    with pytest.raises(AttributeError):
        est.estimate = 2.0  # type: ignore[misc]


def test_tidy_has_headline_and_periods():
    tidy = _estimate().tidy()
    assert list(tidy.columns) == TIDY_COLUMNS
    assert tidy["term"].tolist() == ["ATT", "-1", "0", "1"]
    assert tidy.loc[0, "statistic"] == pytest.approx(3.0)


def test_to_dict_is_json_safe_and_complete():
    d = _estimate().to_dict()
    text = json.dumps(d, allow_nan=False)  # non-finite numbers must have become null
    back = json.loads(text)
    assert back["details"]["h"] is None
    assert back["details"]["weights"] == [{"unit": "a", "w": 1.0}]
    assert back["by_period"][1]["estimate"] == 1.0
    assert back["checks"][0]["name"] == "pre_trends"


def test_summary_renders_text_html_markdown_and_escapes():
    s = _estimate().summary()
    assert "Effect on the treated" in str(s) and "1.5" in str(s)
    html = s._repr_html_()
    assert "&lt;b&gt;pre-trend&lt;/b&gt;" in html and "<b>pre-trend" not in html
    md = s.to_markdown()
    assert "| Effect on the treated | 1.5 |" in md
    assert "\\|" in md  # a pipe inside a message cannot break the table


def test_check_lookup_names_the_available_checks():
    with pytest.raises(KeyError, match="pre_trends"):
        _estimate().check("density")


def test_plot_returns_axes():
    ax = _estimate().plot()
    assert ax.get_ylabel() == "effect on revenue"
    assert len(ax.lines) >= 1


def test_check_option_lists_valid_values():
    assert check_option("method", "cs", DidMethod) == "cs"
    with pytest.raises(ck.SpecificationError, match=r"method='CS'.*'2x2', 'twfe', 'cs'"):
        check_option("method", "CS", DidMethod)


def test_normal_ci_matches_textbook():
    (lo, hi), p = normal_ci(1.0, 0.5, 0.95)
    assert lo == pytest.approx(1 - 1.959964 * 0.5, abs=1e-6)
    assert hi == pytest.approx(1 + 1.959964 * 0.5, abs=1e-6)
    assert p == pytest.approx(0.0455003, abs=1e-6)


def test_to_pandas_reads_polars_and_names_missing_columns():
    pl_df = pl.DataFrame({"a": [1, 2], "b": [3.0, 4.0]})
    out = to_pandas(pl_df, ["b"])
    assert list(out.columns) == ["b"] and out["b"].tolist() == [3.0, 4.0]
    with pytest.raises(ck.DataError, match=r"no column 'c'.*'a', 'b'"):
        to_pandas(pl_df, ["a", "c"])
    with pytest.raises(ck.DataError, match="must be a data frame"):
        to_pandas([1, 2, 3], ["a"])


def _panel():
    rows = []
    for u, g in (("n", 2), ("s", 3), ("e", None), ("w", None)):
        for t in range(5):
            rows.append({"region": u, "week": t, "y": float(t + (g or 0)),
                         "treated": int(g is not None and t >= g)})
    return pd.DataFrame(rows)


def test_prepare_panel_derives_adoption_and_keeps_input():
    df = _panel()
    before = df.copy()
    p = prepare_panel(df, outcome="y", unit="region", time="week", treatment="treated")
    pd.testing.assert_frame_equal(df, before)
    adoption = dict(zip(p.units, p.adoption.to_numpy(), strict=True))
    assert adoption["n"] == 2 and adoption["s"] == 3 and np.isinf(adoption["e"])
    assert p.balanced and p.n_periods == 5
    assert set(p.treated_units) == {int(np.flatnonzero(p.units == "n")[0]),
                                    int(np.flatnonzero(p.units == "s")[0])}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.iloc[0:0], "no rows"),
        (lambda d: d.assign(y=d["y"].astype(str)), "outcome column 'y' must be numeric"),
        (lambda d: d.assign(y=d["y"].where(d.index != 3, np.inf)),
         r"missing or infinite.*region='n', week=3"),
        (lambda d: d.assign(region=d["region"].where(d.index != 2)), "unit column 'region' has 1"),
        (lambda d: pd.concat([d, d.iloc[[7]]]), r"duplicate rows for region='s', week=2"),
        (lambda d: d.assign(treated=d["treated"].replace(1, 2)), r"must be 0/1; found 2"),
        (lambda d: d.assign(treated=np.where((d.region == "n") & (d.week == 4), 0, d.treated)),
         r"switches off for region='n' at week=4"),
        (lambda d: d.assign(treated=0), "no treated units"),
        (lambda d: d.assign(treated=np.where(d.region == "e", (d.week >= 0).astype(int),
                                             d.treated)), r"\['e'\] have no pre-period"),
        (lambda d: d.assign(treated=(d.week >= 2).astype(int)), "no comparison units"),
    ],
)
def test_prepare_panel_bad_input(mutate, message):
    with pytest.raises(ck.DataError, match=message):
        prepare_panel(mutate(_panel()), outcome="y", unit="region", time="week",
                      treatment="treated")


def test_prepare_panel_missing_column_is_named():
    with pytest.raises(ck.DataError, match=r"no column 'revenue'"):
        prepare_panel(_panel(), outcome="revenue", unit="region", time="week",
                      treatment="treated")


def test_require_never_treated():
    df = _panel()
    df = df[df.region.isin(["n", "s"])]
    with pytest.raises(ck.DataError, match="no never-treated region"):
        prepare_panel(df, outcome="y", unit="region", time="week", treatment="treated",
                      require_never_treated=True)


def test_launch_normalises_dates_and_rejects_bad_ones():
    launch = ck.Launch("v2", {"north": "2026-03-02"})
    assert str(launch.start["north"]) == "2026-03-02"
    with pytest.raises(ck.SpecificationError, match="'soon' for unit 'north'"):
        ck.Launch("v2", {"north": "soon"})


def test_launch_round_trips_through_its_json_form():
    launch = ck.Launch("v2", {"north": "2026-03-02"}, criteria=ck.SuccessCriteria(
        min_effect=0.5, guardrails={"latency_ms": 50.0}))
    spec = json.loads(json.dumps(launch.to_dict()))
    assert ck.Launch.from_dict(spec) == launch
    with pytest.raises(ck.SpecificationError, match=r"unknown success criteria \['min_efect'\]"):
        ck.Launch.from_dict({"name": "v2", "criteria": {"min_efect": 1}})
    with pytest.raises(ck.SpecificationError, match=r"unknown \['starts'\]"):
        ck.Launch.from_dict({"name": "v2", "starts": {}})
