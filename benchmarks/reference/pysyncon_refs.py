"""Reference numbers for the synthetic control tests, computed once with pysyncon.

Run from the repository root with the project environment (pysyncon is a dev dependency):

    .venv/bin/python benchmarks/reference/pysyncon_refs.py

It fits pysyncon's ``Synth`` and ``AugSynth`` on California's Proposition 99 panel
(tests/data/california_prop99.csv, 38 donor states, 1970–1988 pre, 1989–2000 post) and writes
tests/data/prop99_pysyncon_refs.json. The tests compare causal_kit against the stored numbers.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from pysyncon import AugSynth, Dataprep, Synth

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "california_prop99.csv"
OUT = ROOT / "tests" / "data" / "prop99_pysyncon_refs.json"
PRE = list(range(1970, 1989))
POST = list(range(1989, 2001))
LAGS = [1975, 1980, 1988]


def main() -> None:
    df = pd.read_csv(DATA, sep=";")
    wide = df.pivot(index="Year", columns="State", values="PacksPerCapita")
    controls = [s for s in wide.columns if s != "California"]
    Z0, Z1 = wide[controls], wide["California"]
    Z0pre, Z1pre = Z0.loc[PRE], Z1.loc[PRE]
    out: dict[str, object] = {
        "provenance": {
            "package": f"pysyncon {version('pysyncon')}",
            "data": "tests/data/california_prop99.csv (synthdid R package data, via PyPI "
            "synthdid-py 0.1.0)",
            "script": "benchmarks/reference/pysyncon_refs.py",
        }
    }

    # 1. Outcome-path SC: predictors are the 19 pre-period outcomes. pysyncon divides each
    #    predictor by its standard deviation across units; passing V = sd² undoes that, so the
    #    weights minimise the plain pre-period squared gap.
    sd2 = pd.concat([Z0pre, Z1pre], axis=1).std(axis=1).to_numpy() ** 2
    sc = Synth()
    sc.fit(X0=Z0pre, X1=Z1pre, Z0=Z0pre, Z1=Z1pre, custom_V=sd2)
    gaps = Z1.to_numpy() - Z0.to_numpy() @ sc.W
    out["sc_outcome_path"] = {
        "call": "Synth().fit(X0=Z0pre, X1=Z1pre, Z0=Z0pre, Z1=Z1pre, custom_V=sd(X rows)**2)",
        "att": float(gaps[len(PRE):].mean()),
        "pre_mspe": float(np.mean(gaps[: len(PRE)] ** 2)),
        "weights": dict(zip(controls, map(float, sc.W), strict=True)),
        "gaps": dict(zip(map(int, wide.index), map(float, gaps), strict=True)),
    }

    # 2. Predictor SC: outcome in 1975, 1980, 1988 as predictors; V by Nelder-Mead (default).
    X0 = Z0.loc[LAGS]
    X1 = Z1.loc[LAGS]
    scp = Synth()
    scp.fit(X0=X0, X1=X1, Z0=Z0pre, Z1=Z1pre)
    gaps = Z1.to_numpy() - Z0.to_numpy() @ scp.W
    out["sc_predictors_optimized_v"] = {
        "call": "Synth().fit(X0=outcome at 1975/1980/1988, X1=..., Z0=Z0pre, Z1=Z1pre)",
        "att": float(gaps[len(PRE):].mean()),
        "loss_v": float(scp.loss_V),
        "v": list(map(float, scp.V)),
        "weights": dict(zip(controls, map(float, scp.W), strict=True)),
    }
    scf = Synth()
    scf.fit(X0=X0, X1=X1, Z0=Z0pre, Z1=Z1pre, custom_V=np.array([0.5, 0.3, 0.2]))
    gaps = Z1.to_numpy() - Z0.to_numpy() @ scf.W
    out["sc_predictors_fixed_v"] = {
        "call": "Synth().fit(X0=..., custom_V=[0.5, 0.3, 0.2])",
        "att": float(gaps[len(PRE):].mean()),
        "weights": dict(zip(controls, map(float, scf.W), strict=True)),
    }

    # 3. Augmented SC with ridge outcome model, lambda by cross-validation.
    dp = Dataprep(
        foo=df,
        predictors=[],
        predictors_op="mean",
        dependent="PacksPerCapita",
        unit_variable="State",
        time_variable="Year",
        treatment_identifier="California",
        controls_identifier=controls,
        time_predictors_prior=PRE,
        time_optimize_ssr=PRE,
    )
    asc = AugSynth()
    asc.fit(dataprep=dp, use_covariates=False)
    gaps = Z1.to_numpy() - Z0.to_numpy() @ asc.W
    out["asc_ridge"] = {
        "call": "AugSynth().fit(dataprep, use_covariates=False)  # lambda by CV",
        "lambda": float(asc.lambda_),
        "att": float(gaps[len(PRE):].mean()),
        "weights": dict(zip(controls, map(float, asc.W), strict=True)),
        "gaps": dict(zip(map(int, wide.index), map(float, gaps), strict=True)),
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v.get("att") for k, v in out.items() if isinstance(v, dict)}, indent=1))


if __name__ == "__main__":
    main()
