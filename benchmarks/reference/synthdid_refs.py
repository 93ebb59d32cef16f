"""Reference numbers for the synthetic difference-in-differences tests, computed once.

PyPI ``synthdid`` 0.10.1 pins pandas 1.5.3 / scipy 1.10.1 / numpy 1.23.5, so it lives in its own
environment, never in the project's:

    .venv/bin/uv venv --python 3.11 .venv-ref
    .venv/bin/uv pip install --python .venv-ref/bin/python synthdid==0.10.1
    .venv-ref/bin/python benchmarks/reference/synthdid_refs.py

(synthdid 0.10.1 downloads its example data at run time; this script reads the identical file
shipped in tests/data instead.) It writes tests/data/synthdid_refs.json with:

* California Proposition 99 (one treated state, 38 donors): the SDID estimate, unit and time
  weights (synthdid's Frank–Wolfe solver with its default sparsification);
* a simulated staggered panel written to tests/data/synth_staggered_sim.csv (seeded; two
  adoption cohorts), with synthdid's per-cohort estimates and their aggregate weighted by
  treated unit-periods, and its jackknife standard error.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from synthdid.synthdid import Synthdid

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def staggered_panel(seed: int = 20240601) -> pd.DataFrame:
    """30 never-treated units, 4 units adopting at t=12, 3 at t=16; T=20; effects 2 and 3."""
    rng = np.random.default_rng(seed)
    n_never, n_a, n_b, T = 30, 4, 3, 20
    n = n_never + n_a + n_b
    factors = rng.normal(size=(T, 2)).cumsum(axis=0) * 0.5
    loadings = rng.normal(1.0, 0.5, size=(n, 2))
    alpha = rng.normal(10.0, 2.0, size=n)
    y = alpha[:, None] + loadings @ factors.T + rng.normal(0.0, 0.5, size=(n, T))
    start = np.r_[np.full(n_never, np.inf), np.full(n_a, 12.0), np.full(n_b, 16.0)]
    effect = np.r_[np.zeros(n_never), np.full(n_a, 2.0), np.full(n_b, 3.0)]
    t = np.arange(T)
    d = (t[None, :] >= start[:, None]).astype(int)
    y = y + d * effect[:, None]
    units = [f"u{i:02d}" for i in range(n)]
    return pd.DataFrame(
        {
            "unit": np.repeat(units, T),
            "time": np.tile(t + 2000, n),
            "y": np.round(y.ravel(), 6),
            "treated": d.ravel(),
        }
    )


def main() -> None:
    out: dict[str, object] = {
        "provenance": {
            "package": f"synthdid {version('synthdid')} (PyPI)",
            "script": "benchmarks/reference/synthdid_refs.py",
        }
    }
    prop = pd.read_csv(DATA / "california_prop99.csv", sep=";")
    fit = Synthdid(prop, unit="State", time="Year", treatment="treated",
                   outcome="PacksPerCapita").fit()
    info = fit.att_info
    units = list(fit.Y_units[0])
    omega = dict(zip(units[: len(fit.weights["omega"][0])], map(float, fit.weights["omega"][0]),
                     strict=True))
    lam = dict(zip(range(1970, 1989), map(float, fit.weights["lambda"][0]), strict=True))
    out["prop99"] = {
        "call": "Synthdid(prop99, unit='State', time='Year', treatment='treated', "
        "outcome='PacksPerCapita').fit()",
        "att": float(info["att_time"].iloc[0]),
        "att_rounded_by_package": float(fit.att),
        "omega": omega,
        "lambda": lam,
    }

    stag = staggered_panel()
    stag.to_csv(DATA / "synth_staggered_sim.csv", index=False)
    fit = Synthdid(stag, unit="unit", time="time", treatment="treated", outcome="y").fit()
    info = fit.att_info
    jk = fit.vcov(method="jackknife").se
    out["staggered_sim"] = {
        "call": "Synthdid(sim, unit='unit', time='time', treatment='treated', outcome='y').fit()",
        "data": "tests/data/synth_staggered_sim.csv (written by this script, seed 20240601)",
        "truth": {"cohort_2012": 2.0, "cohort_2016": 3.0, "att": (4 * 8 * 2.0 + 3 * 4 * 3.0) / 44},
        "att": float(np.dot(info["att_time"], info["att_wt"])),
        "att_rounded_by_package": float(fit.att),
        "cohorts": {
            str(int(t)): {"att": float(a), "weight": float(w), "N1": int(n1), "T1": int(t1)}
            for t, a, w, n1, t1 in zip(info["time"], info["att_time"], info["att_wt"],
                                       info["N1"], info["T1"], strict=True)
        },
        "jackknife_se_package": float(jk),
        "jackknife_note": "synthdid 0.10.1 drops a unit without renormalising the remaining "
        "unit weights, unlike the R package (which renormalises); compare loosely.",
    }
    (DATA / "synthdid_refs.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v.get("att") for k, v in out.items() if isinstance(v, dict)}, indent=1))


if __name__ == "__main__":
    main()
