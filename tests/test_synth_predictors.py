"""Synthetic control with predictors on a published case: Basque Country (Abadie & Gardeazabal)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import causal_kit as ck

DATA = Path(__file__).parent / "data"
BASQUE = "Basque Country (Pais Vasco)"
# Published / R Synth reference values (tests/data/PROVENANCE.md, basque.csv).
WEIGHTS = {"Cataluna": 0.850816306, "Madrid (Comunidad De)": 0.149183694}
SYNTH_LOSS = 0.008864544955047298
ATT_1975_1997 = -0.6995647842110987


def _basque_panel() -> tuple[pd.DataFrame, list[str]]:
    """1960–1997 panel with the Synth predictor spec as time-constant covariates."""
    df = pd.read_csv(DATA / "basque.csv")
    windows: dict[str, tuple[str, list[int]]] = {
        v: (v, list(range(1964, 1970)))
        for v in ["school.illit", "school.prim", "school.med", "school.high",
                  "school.post.high", "invest"]
    }
    windows["gdpcap 1960-69"] = ("gdpcap", list(range(1960, 1970)))
    for v in ["sec.agriculture", "sec.energy", "sec.industry", "sec.construction",
              "sec.services.venta", "sec.services.nonventa"]:
        windows[v] = (v, list(range(1961, 1970, 2)))
    windows["popdens 1969"] = ("popdens", [1969])
    panel = df.loc[df["year"] >= 1960, ["regionname", "year", "gdpcap"]].copy()
    names = []
    for name, (col, years) in windows.items():
        means = df[df["year"].isin(years)].groupby("regionname")[col].mean()
        panel[f"p: {name}"] = panel["regionname"].map(means)
        names.append(f"p: {name}")
    panel["treated"] = ((panel["regionname"] == BASQUE) & (panel["year"] >= 1970)).astype(int)
    return panel, names


@pytest.fixture(scope="module")
def basque() -> ck.Estimate:
    panel, names = _basque_panel()
    return ck.synthetic_control(panel, outcome="gdpcap", unit="regionname", time="year",
                                treatment="treated", method="sc", covariates=names,
                                inference="none", placebo_in_time=False, leave_one_out=False)


def test_basque_weights_match_the_published_ones(basque: ck.Estimate) -> None:
    w = basque.details["weights"].set_index("unit")["weight"]
    for unit, ref in WEIGHTS.items():
        assert w[unit] == pytest.approx(ref, abs=0.005)
    assert w.drop(list(WEIGHTS)).abs().max() < 0.005


def test_basque_v_search_is_no_worse_than_r_synth(basque: ck.Estimate) -> None:
    path = basque.details["path"]
    mspe = float((path.loc[~path["post"], "gap"] ** 2).mean())
    assert mspe <= SYNTH_LOSS * (1 + 1e-6)
    v = basque.details["predictor_weights"]["weight"].to_numpy()
    assert v.size == 14 and v.min() >= 0 and v.sum() == pytest.approx(1.0)


def test_basque_effect_matches_the_published_one(basque: ck.Estimate) -> None:
    path = basque.details["path"]
    late = path.loc[path["period"].between(1975, 1997), "gap"]
    assert late.mean() == pytest.approx(ATT_1975_1997, abs=0.01)
