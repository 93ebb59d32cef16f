"""Regenerate germany_pysyncon_refs.json: pysyncon's run of the German reunification case.

The calls are those of pysyncon's own example (``examples/germany.ipynb``, reproducing Abadie,
Diamond & Hainmueller 2015): a first ``Synth`` fit chooses ``V`` on the predictors of 1971–1980
to fit the outcome over 1981–1990; a second fit, with that ``V`` fixed, gives the donor weights
on the predictors of 1981–1990 and the fitting years 1960–1989. A third fit lets pysyncon choose
``V`` directly for the second problem (the nested search that ``causal_kit`` runs by default).

Run from the project root: ``.venv/bin/python tests/data/germany_pysyncon_refs.py``.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from pysyncon import Dataprep, Synth

HERE = Path(__file__).parent
DONORS = [
    "USA",
    "UK",
    "Austria",
    "Belgium",
    "Denmark",
    "France",
    "Italy",
    "Netherlands",
    "Norway",
    "Switzerland",
    "Japan",
    "Greece",
    "Portugal",
    "Spain",
    "Australia",
    "New Zealand",
]


def _dataprep(df: pd.DataFrame, first: int, school: list[int], invest: str, fit: range) -> Dataprep:
    window = range(first, first + 10)
    return Dataprep(
        foo=df,
        predictors=["gdp", "trade", "infrate"],
        predictors_op="mean",
        time_predictors_prior=window,
        special_predictors=[
            ("industry", window, "mean"),
            ("schooling", school, "mean"),
            (invest, [1980], "mean"),
        ],
        dependent="gdp",
        unit_variable="country",
        time_variable="year",
        treatment_identifier="West Germany",
        controls_identifier=DONORS,
        time_optimize_ssr=fit,
    )


def _fit(synth: Synth) -> dict[str, object]:
    return {
        "loss_v": float(synth.loss_V),
        "v": [float(x) for x in np.ravel(np.asarray(synth.V, dtype=float))],
        "weights": {k: float(v) for k, v in synth.weights(round=12).items()},
    }


def main() -> None:
    df = pd.read_csv(HERE / "germany.csv")
    train = _dataprep(df, 1971, [1970, 1975], "invest70", range(1981, 1991))
    main_prep = _dataprep(df, 1981, [1980, 1985], "invest80", range(1960, 1990))
    synth_train = Synth()
    synth_train.fit(dataprep=train)
    synth = Synth()
    synth.fit(dataprep=main_prep, custom_V=synth_train.V)
    direct = Synth()
    direct.fit(dataprep=main_prep)
    out = {
        "package": f"pysyncon {version('pysyncon')}",
        "stage1": {"call": "Synth().fit(dataprep=train)", **_fit(synth_train)},
        "stage2": {
            "call": "Synth().fit(dataprep=main, custom_V=stage1 V)",
            **_fit(synth),
            "att_1990_2003": float(synth.att(time_period=range(1990, 2004))["att"]),
        },
        "direct": {"call": "Synth().fit(dataprep=main)", **_fit(direct)},
    }
    (HERE / "germany_pysyncon_refs.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
