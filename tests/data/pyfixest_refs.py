"""Regenerate pyfixest_refs.json: pyfixest 0.60.0 reference fits used by the DiD tests.

Run from the project root: ``.venv/bin/python tests/data/pyfixest_refs.py``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf

HERE = Path(__file__).parent


def _series(coef: pd.Series, se: pd.Series) -> dict[str, list[float]]:
    terms = [float(name.split("::")[1].rstrip("]")) for name in coef.index]
    return {"terms": terms, "coef": coef.tolist(), "se": se.tolist()}


def main() -> None:
    warnings.simplefilter("ignore")
    out: dict[str, object] = {"package": f"pyfixest {pf.__version__}"}
    het = pd.read_csv(HERE / "pyfixest_df_het.csv")
    het["D"] = het["treat"].astype(int)
    static = pf.did2s(
        het,
        yname="dep_var",
        first_stage="~0|unit+year",
        second_stage="~D",
        treatment="D",
        cluster="unit",
    )
    out["df_het_did2s_static"] = {
        "coef": float(static.coef().iloc[0]),
        "se": float(static.se().iloc[0]),
    }
    het["relp"] = np.where(
        (het["g"] > 0) & (het["year"] >= het["g"]), het["year"] - het["g"], -1000.0
    )
    ev = pf.did2s(
        het,
        yname="dep_var",
        first_stage="~0|unit+year",
        second_stage="~i(relp, ref=-1000.0)",
        treatment="D",
        cluster="unit",
    )
    out["df_het_did2s_event"] = _series(ev.coef(), ev.se())
    mp = pd.read_csv(HERE / "mpdta.csv")
    mp["rel"] = np.where(mp["first.treat"] > 0, mp["year"] - mp["first.treat"], -1)
    es = pf.feols("lemp ~ i(rel, ref=-1) | countyreal + year", data=mp, vcov={"CRV1": "countyreal"})
    out["mpdta_twfe_event"] = _series(es.coef(), es.se())
    kiel = pd.read_csv(HERE / "wooldridge_kielmc.csv")
    fml = "rprice ~ nearinc + y81 + y81nrinc + age + agesq"
    out["kielmc_hc1"] = {
        "coef": float(pf.feols(fml, data=kiel, vcov="hetero").coef()["y81nrinc"]),
        "se": float(pf.feols(fml, data=kiel, vcov="hetero").se()["y81nrinc"]),
    }
    cl = pf.feols(fml, data=kiel, vcov={"CRV1": "nbh"})
    out["kielmc_crv1_nbh"] = {
        "coef": float(cl.coef()["y81nrinc"]),
        "se": float(cl.se()["y81nrinc"]),
    }
    (HERE / "pyfixest_refs.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
