"""The leadership report never shows where files sit on the server."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT

from causal_kit.presentation.provenance import package_versions, public_path, without_server_paths


def test_paths_inside_the_repository_become_relative():
    assert public_path(ROOT / "data" / "demo" / "staggered") == "data/demo/staggered"
    assert public_path(str(ROOT)) == "."
    assert public_path("data/demo") == "data/demo"  # relative paths are kept


def test_paths_elsewhere_keep_only_their_last_two_parts(tmp_path):
    shown = public_path(tmp_path / "demo" / "events")
    assert shown == ".../demo/events"
    assert public_path(Path.home() / "logs" / "x.parquet") == "~/logs/x.parquet"


def test_every_absolute_path_in_parameters_and_notes_is_replaced(tmp_path):
    params = {"data_dir": str(ROOT / "data/demo/staggered"), "seed": 0, "level": 0.95,
              "notes": [f"read parquet {tmp_path}/demo/events (3 files)",
                        "see https://example.org/a/b for 1/2 of it"]}  # fmt: skip
    out = without_server_paths(params)
    assert out["data_dir"] == "data/demo/staggered" and out["seed"] == 0
    assert out["notes"][0] == "read parquet .../demo/events (3 files)"
    assert out["notes"][1] == params["notes"][1]  # URLs and ratios are not paths
    assert str(tmp_path) not in repr(out) and str(ROOT) not in repr(out)
    assert params["data_dir"].startswith("/")  # the input is not modified


def test_package_versions_carry_no_path():
    assert not any("/" in v for v in package_versions().values())
