"""Every notebook in notebooks/ is executed with papermill and what it produced is checked.

They run as JupyterLab runs them: the kernel starts in ``notebooks/``, and the data folder is
given relative to the repository root (as the notebooks' defaults are), so a notebook that read
it relative to its working directory would fail here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from conftest import ROOT, make_demo_data

pytestmark = pytest.mark.slow

REPORTS = {"attribution_report"}  # run through the report runner in test_reports.py


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_data(tmp_path_factory, ("staggered", "single_market", "score_gate"))


def run(name: str, out: Path, **parameters) -> nbformat.NotebookNode:
    target = out / f"{name}.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(target),
                        parameters=parameters, progress_bar=False, cwd=str(ROOT / "notebooks"))
    return nbformat.read(target, as_version=4)


def from_root(path: Path) -> str:
    """``path`` relative to the repository root, as the notebooks' defaults are written."""
    return os.path.relpath(path, ROOT)


def outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if kind in o.get("data", {})]


def results(nb) -> dict:
    cell = next(c for c in nb.cells if "results" in c.metadata.get("tags", []))
    return json.loads("".join(o["text"] for o in cell.outputs if o.get("name") == "stdout"))


def test_every_notebook_is_covered():
    names = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert names - REPORTS == {"quickstart", "score_gate_rd"}


def test_quickstart_tours_three_designs_and_recovers_their_truth(demo, tmp_path):
    nb = run("quickstart", tmp_path, data_dir=from_root(demo))
    found = results(nb)
    assert set(found) == {"staggered revenue", "single-market revenue",
                          "score-gate revenue_30d at the cutoff"}
    for name, row in found.items():
        assert row["covered"], (name, row)
    assert len(outputs(nb, "image/png")) >= 5  # seaborn line plot, event study, SC, RD
    html = "".join(o["data"]["text/html"] for o in outputs(nb, "text/html"))
    assert "Effect on the treated" in html and "task_success_rate" in html
    assert html.count("ck-table-wrap") == 1 and "SC, single market" in html  # ck.table


def test_rd_notebook_beats_the_naive_comparison(demo, tmp_path):
    nb = run("score_gate_rd", tmp_path, data_dir=from_root(demo / "score_gate"))
    found = results(nb)
    rev = found["revenue_30d"]
    assert rev["ci"][0] <= rev["truth"] <= rev["ci"][1]
    # the score drives spending on its own: the naive gap is far off, the RD is not
    assert abs(found["naive_gap"] - rev["truth"]) > 3 * abs(rev["estimate"] - rev["truth"])
    assert found["checks"]["density"] is True
    assert len(outputs(nb, "image/png")) >= 3
