"""Layer: presentation — report notebooks' views, the report runner and the CLI.

Nothing here computes a statistic; it shows what the layers below returned. Names load on first
use, so the ``causal-kit`` command starts without importing papermill or pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from causal_kit.presentation.index import write_index
    from causal_kit.presentation.provenance import fingerprint, package_versions
    from causal_kit.presentation.runner import Report, run_report
    from causal_kit.presentation.summary import save_summary

_HOMES = {
    "Report": "runner", "run_report": "runner", "fingerprint": "provenance",
    "package_versions": "provenance", "save_summary": "summary", "write_index": "index",
}

__all__ = ["Report", "fingerprint", "package_versions", "run_report", "save_summary", "write_index"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"causal_kit.presentation.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'causal_kit.presentation' has no attribute {name!r}")
