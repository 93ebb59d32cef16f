"""The front door: what importing causal_kit loads, the CLI's help, paths and safe defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import causal_kit as ck

HEAVY = ("matplotlib.pyplot", "papermill", "nbformat", "jsonschema", "dowhy", "econml",
         "statsmodels", "sklearn", "pyspark")  # fmt: skip
DATAFRAMES = ("pandas", "polars", "duckdb", "pyarrow", "narwhals", "numpy")


def loaded_after(code: str) -> set[str]:
    """Run ``code`` in a fresh interpreter and return the top modules it left in sys.modules."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True).stdout  # fmt: skip
    return set(json.loads(out.splitlines()[-1]))


def test_import_causal_kit_loads_no_heavy_library():
    mods = loaded_after("import causal_kit")
    assert not mods & {*HEAVY, *DATAFRAMES}, sorted(mods & {*HEAVY, *DATAFRAMES})


def test_the_cli_help_loads_no_dataframe_library():
    code = (
        "import sys\nfrom causal_kit.presentation import cli\nsys.argv = ['causal-kit', '--help']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass"
    )
    mods = loaded_after(code)
    assert not mods & {*HEAVY, *DATAFRAMES}, sorted(mods & {*HEAVY, *DATAFRAMES})


def test_a_design_and_the_report_views_load_no_notebook_or_schema_library():
    mods = loaded_after("import causal_kit as ck\nck.did\nck.rdd\nck.synthetic_control\n"
                        "from causal_kit.presentation import views, save_summary, fingerprint")
    assert not mods & {"papermill", "nbformat", "jsonschema", "pyspark"}
    assert "causal_kit.design.did" in mods  # the names did load
    assert "matplotlib.pyplot" not in loaded_after("import causal_kit as ck\nck.did\nck.rdd")


def test_every_public_name_resolves_and_is_listed():
    assert set(ck.__all__) <= set(dir(ck))
    for name in ck.__all__:
        assert getattr(ck, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ck.nope  # noqa: B018


def test_project_root_and_demo_path_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ck.project_root() == ROOT
    assert ck.demo_path("staggered") == ROOT / "data" / "demo" / "staggered"
    monkeypatch.setenv("CAUSAL_KIT_ROOT", str(tmp_path))
    assert ck.project_root() == tmp_path.resolve()


def test_simulate_without_out_dir_leaves_the_demo_data_alone():
    demo = ROOT / "data" / "demo" / "staggered"
    before = demo.stat().st_mtime_ns if demo.exists() else None
    sim = ck.simulate("staggered", n_users=300, n_days=84, seed=3)
    assert not sim.out_dir.resolve().is_relative_to(ROOT)
    assert (sim.events).is_dir() and sim.n_events > 0
    assert (demo.stat().st_mtime_ns if demo.exists() else None) == before
    again = ck.simulate("staggered", n_users=300, n_days=84, seed=3)
    assert again.out_dir != sim.out_dir  # two calls never overwrite each other either


def test_the_package_is_importable_as_installed_files():
    assert Path(ck.__file__).parent.name == "causal_kit"


def test_make_lab_starts_as_root_and_from_any_directory(tmp_path):
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "lab"], capture_output=True, text=True,
                         cwd=tmp_path, check=True).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if "jupyter lab" in x)
    assert f"--notebook-dir={ROOT}/notebooks" in line
    assert ("--allow-root" in line) == (os.getuid() == 0)


def test_notebook_parameters_are_read_as_papermill_reads_them_without_loading_it():
    import papermill as pm

    from causal_kit.presentation.parameters import notebook_parameters

    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        theirs = {k: dict(v) for k, v in pm.inspect_notebook(str(notebook)).items()}
        assert notebook_parameters(notebook) == theirs, notebook.name
    loaded = loaded_after(
        "from causal_kit.presentation.cli import main; import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['parameters', "
        "'attribution_report'])"
    )
    assert not {"pandas", "papermill", "nbformat", "duckdb"} & loaded


def test_the_report_provenance_shows_no_absolute_server_path():
    from causal_kit.presentation.views import provenance_view

    block = provenance_view("abc", {"pandas": "3"}, {"data_dir": str(ROOT / "data/demo/x")},
                        notes=[f"read {ROOT}/data/demo/x/events"])
    assert str(ROOT) not in block.html and "data/demo/x" in block.html


def test_jsonschema_is_loaded_without_its_slow_iri_checker_and_stays_importable() -> None:
    code = (
        "import sys, importlib\n"
        "from causal_kit.core.imports import jsonschema, without\n"
        "js = jsonschema()\n"
        "print('rfc3987_syntax' in sys.modules)\n"
        "js.Draft202012Validator({'type': 'integer'}).validate(3)\n"
        "try:\n"
        "    js.Draft202012Validator({'type': 'integer'}).validate('x')\n"
        "    print('accepted')\n"
        "except js.ValidationError:\n"
        "    print('rejected')\n"
        "with without('json'):\n"
        "    print('json' in sys.modules)\n"  # already imported: left alone
        "with without('causal_kit_no_such_module'):\n"
        "    try:\n"
        "        importlib.import_module('causal_kit_no_such_module')\n"
        "    except ImportError:\n"
        "        print('blocked')\n"
        "print('causal_kit_no_such_module' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "rejected", "True", "blocked", "False"]
