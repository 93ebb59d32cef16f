"""ck.power: the textbook MDE for holdouts, simulation on the history for panel designs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causal_kit as ck


@pytest.fixture(scope="module")
def users() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 12_001
    pre = rng.gamma(2.0, 5.0, n)
    sessions = rng.poisson(4, n).astype(float)
    revenue = 0.6 * pre + 0.8 * sessions + rng.normal(0, 4, n)
    day = rng.integers(0, 30, n)
    return pd.DataFrame({"revenue": revenue, "pre_revenue": pre, "pre_sessions": sessions,
                         "first_day": day})


def _textbook(sigma: float, n: int, share: float, level: float = 0.95, pw: float = 0.8) -> float:
    z = stats.norm.ppf(1 - (1 - level) / 2) + stats.norm.ppf(pw)
    return float(z * sigma * math.sqrt(1 / (share * n) + 1 / ((1 - share) * n)))


@pytest.mark.parametrize(("share", "level", "pw"), [(0.5, 0.95, 0.8), (0.1, 0.9, 0.9)])
def test_experiment_mde_is_the_textbook_formula(users: pd.DataFrame, share: float, level: float,
                                                pw: float) -> None:
    p = ck.power(users, design="experiment", outcome="revenue", treated_share=share,
                 level=level, power=pw)
    expected = _textbook(float(users["revenue"].std(ddof=1)), len(users), share, level, pw)
    assert p.mde == pytest.approx(expected, rel=1e-3)
    assert p.n == len(users)
    assert p.power_at(p.mde) == pytest.approx(pw, abs=1e-3)
    assert p.curve["power"].is_monotonic_increasing
    assert p.mde_relative == pytest.approx(p.mde / users["revenue"].mean())


def test_cuped_shrinks_sigma_by_its_factor(users: pd.DataFrame) -> None:
    covs = ["pre_revenue", "pre_sessions"]
    p = ck.power(users, design="experiment", outcome="revenue", covariates=covs)
    X = np.column_stack([np.ones(len(users)), users[covs].to_numpy()])
    y = users["revenue"].to_numpy()
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    r2 = 1 - resid.var() / y.var()
    expected = _textbook(float(y.std(ddof=1)) * math.sqrt(1 - r2), len(users), 0.5)
    assert p.mde == pytest.approx(expected, rel=1e-3)
    assert p.details["cuped_factor"] < 0.8  # the covariates explain a good part of revenue
    assert p.users_needed(p.mde) == pytest.approx(len(users), rel=1e-3)


def test_experiment_periods_needed_follows_the_arrival_rate(users: pd.DataFrame) -> None:
    p = ck.power(users, design="experiment", outcome="revenue", time="first_day")
    # half the effect needs four times the users: four times the 30 days at the same rate
    assert p.periods_needed(p.mde / 2) == pytest.approx(120, abs=1)
    with pytest.raises(ck.SpecificationError, match="time="):
        ck.power(users, design="experiment", outcome="revenue").periods_needed(1.0)


def _panel(seed: int, units: int = 24, periods: int = 36) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    grid = pd.MultiIndex.from_product([range(units), range(periods)], names=["region", "week"])
    df = grid.to_frame(index=False)
    level = rng.normal(100, 10, units)[df["region"]]
    season = np.sin(df["week"].to_numpy() / 4.0) * 2
    df["revenue"] = level + season + rng.normal(0, 4, len(df))
    return df


@pytest.mark.parametrize("design", ["did", "sc"])
def test_designs_are_equivariant_to_an_injected_effect(design: str) -> None:
    # the premise of the simulation: a constant effect on the treated shifts estimate and
    # interval by exactly that much
    df = _panel(3, units=14, periods=20)
    df["treated"] = ((df["region"] < 3) & (df["week"] >= 14)).astype(int)
    front = ck.did if design == "did" else ck.synthetic_control
    base = front(df, outcome="revenue", unit="region", time="week", treatment="treated")
    shifted = df.assign(revenue=df["revenue"] + 7.5 * df["treated"])
    moved = front(shifted, outcome="revenue", unit="region", time="week", treatment="treated")
    assert moved.estimate == pytest.approx(base.estimate + 7.5, abs=1e-6)
    assert moved.ci[0] == pytest.approx(base.ci[0] + 7.5, abs=1e-6)
    assert moved.ci[1] == pytest.approx(base.ci[1] + 7.5, abs=1e-6)


def test_simulated_did_mde_is_detected_eighty_percent_of_the_time() -> None:
    history = _panel(5)
    opts = {"method": "twfe"}
    p = ck.power(history, design="did", outcome="revenue", unit="region", time="week",
                 treated_units=6, periods=8, n_sims=300, seed=1, progress=False,
                 design_options=opts)
    assert math.isfinite(p.mde) and p.mde > 0
    # a second, independent simulation that really injects the MDE into the data
    rng = np.random.default_rng(2024)
    T, hits, runs = 36, 0, 300
    t_min = p.details["min_pre_periods"]
    for _ in range(runs):
        start = int(rng.integers(t_min, T - 8 + 1))
        chosen = rng.choice(24, size=6, replace=False)
        data = history[history["week"] < start + 8].copy()
        data["treated"] = (data["region"].isin(chosen) & (data["week"] >= start)).astype(int)
        data["revenue"] = data["revenue"] + p.mde * data["treated"]
        est = ck.did(data, outcome="revenue", unit="region", time="week", treatment="treated",
                     **opts)
        hits += est.ci[0] > 0 or est.ci[1] < 0
    assert abs(hits / runs - 0.80) <= 0.06


def test_panel_power_answers_the_planning_questions() -> None:
    history = _panel(7)
    p = ck.power(history, design="did", outcome="revenue", unit="region", time="week",
                 treated_units=4, periods=6, n_sims=60, seed=3, progress=False,
                 design_options={"method": "twfe"})
    units = p.units_needed(p.mde * 0.9)
    assert units is not None and units > 4
    assert p.shortfall(p.mde * 2) is None
    sentence = p.shortfall(p.mde * 0.9, unit_name="regions")
    assert sentence is not None
    assert "business target in 6 weeks" in sentence and f"{units - 4} more regions" in sentence
    figure = p.mde_figure(p.mde * 0.9)
    assert figure.mde == p.mde and figure.more_units == units - 4 and figure.weeks == 6
    d = p.to_dict()
    assert d["mde"] == pytest.approx(p.mde) and len(d["curve"]) == len(p.curve)
    fig = p.plot()
    assert fig.axes and fig.axes[0].get_lines()


def test_power_refuses_bad_plans(users: pd.DataFrame) -> None:
    history = _panel(1, units=10, periods=20)
    with pytest.raises(ck.SpecificationError, match="design='geo' is not a valid option"):
        ck.power(users, design="geo", outcome="revenue")
    with pytest.raises(ck.SpecificationError, match="needs unit=, time=, treated_units="):
        ck.power(history, design="did", outcome="revenue")
    with pytest.raises(ck.SpecificationError, match="between 1 and 8 can launch"):
        ck.power(history, design="did", outcome="revenue", unit="region", time="week",
                 treated_units=9, periods=4)
    with pytest.raises(ck.DataError, match="periods=15 after it does not fit"):
        ck.power(history, design="did", outcome="revenue", unit="region", time="week",
                 treated_units=3, periods=15, progress=False)
    with pytest.raises(ck.DataError, match="not units of the history's 'region'"):
        ck.power(history, design="did", outcome="revenue", unit="region", time="week",
                 treated_units=["mars"], periods=4)
    with pytest.raises(ck.SpecificationError, match=r"power=1\.2 must be a probability"):
        ck.power(users, design="experiment", outcome="revenue", power=1.2)
    with pytest.raises(ck.SpecificationError, match="treated_share=1"):
        ck.power(users, design="experiment", outcome="revenue", treated_share=1)
    with pytest.raises(ck.DataError, match="'revenue' does not vary"):
        ck.power(users.assign(revenue=1.0), design="experiment", outcome="revenue")
    with pytest.raises(ck.DataError, match="'revenue' must be numeric"):
        ck.power(users.assign(revenue="a"), design="experiment", outcome="revenue")
    frozen = users.copy()
    ck.power(users, design="experiment", outcome="revenue", covariates=["pre_revenue"])
    pd.testing.assert_frame_equal(users, frozen)


def test_cli_prints_the_mde_and_flags_a_target_out_of_reach(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    from causal_kit.presentation.cli import main

    history = _panel(9, units=16, periods=24)
    path = tmp_path / "history.csv"
    history.to_csv(path, index=False)
    launch = tmp_path / "launch.json"
    launch.write_text('{"name": "tiny", "criteria": {"min_effect": 0.01}}')
    code = main(["plan", "power", str(path), "--design", "did", "--outcome", "revenue",
                 "--unit", "region", "--time", "week", "--treated-units", "4", "--periods", "6",
                 "--n-sims", "30", "--launch", str(launch)])
    out = capsys.readouterr().out
    assert code == 0
    expected = ck.power(history, design="did", outcome="revenue", unit="region", time="week",
                        treated_units=4, periods=6, n_sims=30, seed=0, progress=False)
    assert f"{expected.mde:.4g}" in out
    assert "warning: this launch cannot show its business target in 6 weeks" in out
    assert main(["plan", "power", str(tmp_path / "none.csv"), "--design", "did",
                 "--outcome", "revenue"]) == 2
    assert "is not a file" in capsys.readouterr().err
