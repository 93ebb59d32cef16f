"""Synthetic control with predictors on a published case: German reunification.

Abadie, Diamond & Hainmueller (2015), "Comparative Politics and the Synthetic Control Method":
West Germany from 1990 against 16 OECD donors, predictors GDP per capita, trade openness,
inflation, industry share (means over 1981–1990), schooling (1980, 1985) and investment (1980).
The paper chooses ``V`` by cross-validation (predictors of 1971–1980 fitted to the outcome over
1981–1990) and then fits the weights with that ``V`` on 1960–1989. Data, published weights and
pysyncon's run of the same calls: tests/data/PROVENANCE.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck

DATA = Path(__file__).parent / "data"
TREATED = "West Germany"
# Table 2 of Abadie, Diamond & Hainmueller (2015); the other 11 donors get zero weight.
PUBLISHED = {"Austria": 0.42, "USA": 0.22, "Japan": 0.16, "Switzerland": 0.11, "Netherlands": 0.09}
FIT = (1960, 1989)  # the fitting years of the paper's second step (launch in 1990)


def _panel(first: int, school: list[int], invest: str, years: range, launch: int) -> pd.DataFrame:
    """Panel of ``gdp`` with the paper's predictors over ``first``…``first + 9`` as constants."""
    df = pd.read_csv(DATA / "germany.csv")
    window = list(range(first, first + 10))
    windows = {
        "gdp": ("gdp", window),
        "trade": ("trade", window),
        "infrate": ("infrate", window),
        "industry": ("industry", window),
        "schooling": ("schooling", school),
        invest: (invest, [1980]),
    }
    panel = df.loc[df["year"].isin(years), ["country", "year", "gdp"]].copy()
    for name, (col, when) in windows.items():
        means = df[df["year"].isin(when)].groupby("country")[col].mean()
        panel[f"p: {name}"] = panel["country"].map(means)
    panel["treated"] = ((panel["country"] == TREATED) & (panel["year"] >= launch)).astype(int)
    return panel


def _fit(panel: pd.DataFrame, v: np.ndarray | None = None) -> ck.Estimate:
    names = [c for c in panel.columns if c.startswith("p: ")]
    return ck.synthetic_control(
        panel,
        outcome="gdp",
        unit="country",
        time="year",
        treatment="treated",
        covariates=names,
        predictor_weights=None if v is None else list(v),
        inference="none",
        placebo_in_time=False,
        leave_one_out=False,
    )


def _pre_rmspe(est: ck.Estimate) -> float:
    path = est.details["path"]
    return float(np.sqrt((path.loc[~path["post"], "gap"] ** 2).mean()))


def _weights(est: ck.Estimate) -> pd.Series:
    return est.details["weights"].set_index("unit")["weight"]


def _gap_of(weights: dict[str, float]) -> pd.Series:
    """Treated minus synthetic GDP per year for given donor weights."""
    wide = pd.read_csv(DATA / "germany.csv").pivot(index="year", columns="country", values="gdp")
    return wide[TREATED] - sum(w * wide[unit] for unit, w in weights.items())


@pytest.fixture(scope="module")
def refs() -> dict:
    # Written by tests/data/germany_pysyncon_refs.py with pysyncon 1.7.0.
    return json.loads((DATA / "germany_pysyncon_refs.json").read_text())


@pytest.fixture(scope="module")
def main_panel() -> pd.DataFrame:
    return _panel(1981, [1980, 1985], "invest80", range(1960, 2004), 1990)


@pytest.fixture(scope="module")
def direct(main_panel: pd.DataFrame) -> ck.Estimate:
    return _fit(main_panel)


@pytest.fixture(scope="module")
def stage_one() -> ck.Estimate:
    # The paper's cross-validation step: predictors of the 1970s, outcome fitted over 1981–1990
    # (the panel ends in 1991 so that 1981–1990 are the pre-launch years).
    return _fit(_panel(1971, [1970, 1975], "invest70", range(1981, 1992), 1991))


@pytest.fixture(scope="module")
def cross_validated(main_panel: pd.DataFrame, stage_one: ck.Estimate) -> ck.Estimate:
    v = stage_one.details["predictor_weights"]["weight"].to_numpy()
    return _fit(main_panel, v)


def test_v_search_fits_the_pre_period_no_worse_than_the_published_weights(
    direct: ck.Estimate, refs: dict
) -> None:
    published = _gap_of(PUBLISHED).loc[FIT[0] : FIT[1]]
    published_rmspe = float(np.sqrt((published**2).mean()))
    assert _pre_rmspe(direct) <= published_rmspe
    # pysyncon's own nested search on the same problem (its loss is the pre-period MSPE)
    assert _pre_rmspe(direct) ** 2 <= refs["direct"]["loss_v"]
    v = direct.details["predictor_weights"]["weight"].to_numpy()
    assert v.size == 6 and v.min() >= 0 and v.sum() == pytest.approx(1.0)


def test_v_search_weights_solve_their_inner_problem(
    direct: ck.Estimate, main_panel: pd.DataFrame
) -> None:
    # For the V it chose, no other weights (the published ones included) match the treated
    # unit's standardised predictors more closely than the weights it returns.
    names = [c for c in main_panel.columns if c.startswith("p: ")]
    X = main_panel[main_panel["year"] == 1990].set_index("country")[names]
    sd = X.std(ddof=1).to_numpy()
    donors = [u for u in X.index if u != TREATED]
    X0, x1 = X.loc[donors].to_numpy() / sd, X.loc[TREATED].to_numpy() / sd
    v = direct.details["predictor_weights"]["weight"].to_numpy()

    def distance(w: np.ndarray) -> float:
        r = x1 - w @ X0
        return float(r @ (v * r))

    ours = _weights(direct).reindex(donors).to_numpy()
    published = pd.Series(PUBLISHED).reindex(donors).fillna(0.0).to_numpy()
    assert distance(ours) <= distance(published) + 1e-9


def test_cross_validated_v_is_found_at_least_as_well_as_by_pysyncon(
    stage_one: ck.Estimate, refs: dict
) -> None:
    assert _pre_rmspe(stage_one) ** 2 <= refs["stage1"]["loss_v"] * (1 + 1e-6)


def test_cross_validated_weights_match_the_published_ones(
    cross_validated: ck.Estimate, refs: dict
) -> None:
    # With the cross-validated V the treated unit's predictors lie outside the donors' hull, so
    # the weights are identified: they match the paper's two decimals and pysyncon's run.
    w = _weights(cross_validated)
    for unit, ref in PUBLISHED.items():
        assert w[unit] == pytest.approx(ref, abs=0.01)
        assert w[unit] == pytest.approx(refs["stage2"]["weights"][unit], abs=0.005)
    assert w.drop(list(PUBLISHED)).abs().max() < 0.005
    published = _gap_of(PUBLISHED).loc[FIT[0] : FIT[1]]
    assert _pre_rmspe(cross_validated) <= float(np.sqrt((published**2).mean()))


def test_cross_validated_effect_matches_the_published_weights(
    cross_validated: ck.Estimate,
) -> None:
    published = float(_gap_of(PUBLISHED).loc[1990:2003].mean())  # about −1,585 USD a year
    assert cross_validated.estimate == pytest.approx(published, rel=0.01)
    assert cross_validated.estimate < -1000
