"""Shared fixtures: demo data made once per test module that needs it."""

from __future__ import annotations

from pathlib import Path

import pytest

import causal_kit as ck

ROOT = Path(__file__).resolve().parents[1]


def make_demo_data(tmp_path_factory: pytest.TempPathFactory, scenarios: tuple[str, ...]) -> Path:
    """Write the default-size demo scenarios (seed 0, as `make demo` does) to a temp folder."""
    out = tmp_path_factory.mktemp("demo")
    ck.make_demo(out_dir=out, scenarios=scenarios)
    return out
