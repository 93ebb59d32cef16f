"""Regenerate moderndid_mpdta_refs.json: moderndid 0.2.0 (a port of R's did) on mpdta.csv.

moderndid 0.2.0 needs scipy 1.16 or later, above the 1.15.3 that dowhy caps the project's lock at,
so it runs in a venv of its own (``python -m venv /tmp/md``, then
``/tmp/md/bin/pip install moderndid==0.2.0 pandas``) and then, from the project root,
``/tmp/md/bin/python tests/data/moderndid_refs.py``.
Analytic standard errors only (boot=False), so the file is deterministic.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import moderndid as md
import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SCENARIOS = {
    "never_varying": {},
    "never_varying_lpop_dr": {"xformla": "~lpop", "est_method": "dr"},
    "never_varying_lpop_ipw": {"xformla": "~lpop", "est_method": "ipw"},
    "never_varying_lpop_reg": {"xformla": "~lpop", "est_method": "reg"},
    "notyet_varying": {"control_group": "notyettreated"},
    "never_universal": {"base_period": "universal"},
    "notyet_universal_lpop_dr": {
        "control_group": "notyettreated",
        "base_period": "universal",
        "xformla": "~lpop",
    },
    "never_varying_anticipation1": {"anticipation": 1},
    "rcs_never_varying": {"panel": False},
    "rcs_never_varying_lpop_dr": {"panel": False, "xformla": "~lpop"},
    "rcs_notyet_varying_lpop_ipw": {
        "panel": False,
        "xformla": "~lpop",
        "est_method": "ipw",
        "control_group": "notyettreated",
    },
    "rcs_never_varying_lpop_reg": {"panel": False, "xformla": "~lpop", "est_method": "reg"},
    "unbalanced_never_varying": {"allow_unbalanced_panel": True, "drop_every": 7},
}


def _floats(x: object) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(x, dtype=float)]


def main() -> None:
    warnings.simplefilter("ignore")
    mpdta = pd.read_csv(HERE / "mpdta.csv")
    out: dict[str, object] = {"package": f"moderndid {md.__version__}", "data": "mpdta.csv"}
    for name, opts in SCENARIOS.items():
        opts = dict(opts)
        data = mpdta
        drop_every = opts.pop("drop_every", None)
        if drop_every:
            data = mpdta.iloc[[i for i in range(len(mpdta)) if i % drop_every != 3]]
        try:
            res = md.att_gt(
                data=data,
                yname="lemp",
                tname="year",
                idname="countyreal",
                gname="first.treat",
                boot=False,
                cband=False,
                **opts,
            )
        except (TypeError, ValueError) as exc:  # recorded, so a reader sees what was tried
            out[name] = {"options": opts, "error": f"{type(exc).__name__}: {exc}"}
            continue
        entry: dict[str, object] = {
            "options": opts | ({"drop_rows": f"row % {drop_every} == 3"} if drop_every else {}),
            "cell_group": _floats(res.groups),
            "cell_time": _floats(res.times),
            "att": _floats(res.att_gt),
            "se": _floats(res.se_gt),
            "wald_pvalue": None if res.wald_pvalue is None else float(res.wald_pvalue),
        }
        for kind in ("simple", "dynamic", "group", "calendar"):
            try:
                agg = md.aggte(res, type=kind)
            except ValueError as exc:  # moderndid 0.2.0 cannot aggregate cross-section fits
                entry[kind] = {"error": str(exc)}
                continue
            item: dict[str, object] = {"att": float(agg.overall_att), "se": float(agg.overall_se)}
            if kind != "simple":
                item |= {
                    "terms": _floats(agg.event_times),
                    "att_by": _floats(agg.att_by_event),
                    "se_by": _floats(agg.se_by_event),
                }
            entry[kind] = item
        if name == "never_varying":
            agg = md.aggte(res, type="dynamic", balance_e=1, min_e=-2, max_e=2)
            entry["dynamic_balance1_window"] = {
                "att": float(agg.overall_att),
                "se": float(agg.overall_se),
                "terms": _floats(agg.event_times),
                "att_by": _floats(agg.att_by_event),
                "se_by": _floats(agg.se_by_event),
            }
        out[name] = entry
    (HERE / "moderndid_mpdta_refs.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
