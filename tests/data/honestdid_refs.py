"""Write honestdid_medicaid.json: the HonestDiD README example (event study + printed bounds).

Run from the repository root: ``python tests/data/honestdid_refs.py``.
"""

import json

import numpy as np
import pandas as pd
import pyfixest as pf

df = pd.read_csv("tests/data/ehec.csv")
d = df[(df.year < 2016) & ((df.yexp2.isna()) | (df.yexp2 != 2015))].copy()
d["D"] = (d.yexp2 == 2014).astype(int)
fit = pf.feols("dins ~ i(year, D, ref=2013) | stfips + year", data=d, vcov={"CRV1": "stfips"})
out = {
    "source": (
        "HonestDiD README (github.com/asheshrambachan/HonestDiD, README.md, Medicaid example); "
        "betahat/sigma from pyfixest feols(dins ~ i(year, D, ref=2013) | stfips + year, "
        "CRV1 stfips) on ehec.csv, as the README's fixest call"
    ),
    "betahat": [float(x) for x in fit.coef().values],
    "sigma": np.asarray(fit._vcov).tolist(),
    "n_pre": 5,
    "n_post": 2,
    "relative_magnitudes": {
        "Mbar": [0.5, 1.0, 1.5, 2.0],
        "lb": [0.0241, 0.0171, 0.00859, -0.00107],
        "ub": [0.0673, 0.0720, 0.0796, 0.0883],
    },
    "smoothness": {
        "M": [0.0, 0.01, 0.02, 0.03, 0.04, 0.05],
        "lb": [0.0259, 0.0132, 0.00286, -0.00714, -0.0171, -0.0271],
        "ub": [0.0607, 0.0787, 0.0907, 0.101, 0.111, 0.121],
    },
}
json.dump(out, open("tests/data/honestdid_medicaid.json", "w"), indent=1)
