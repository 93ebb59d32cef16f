"""Layer: analysis — one launch end to end, the summaries a report publishes, their history.

Names load on first use, so a module that needs one part (the summary's schema, the history)
does not import every design.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from causal_kit.analysis.history import History, read_history
    from causal_kit.analysis.launch import LaunchAnalysis, analyze_launch
    from causal_kit.analysis.summary import (
        build_summary,
        data_fingerprint,
        load_schema,
        validate_summary,
    )

_HOMES = {
    "History": "history", "read_history": "history", "LaunchAnalysis": "launch",
    "analyze_launch": "launch", "build_summary": "summary", "data_fingerprint": "summary",
    "load_schema": "summary", "validate_summary": "summary",
}

__all__ = [
    "History",
    "LaunchAnalysis",
    "analyze_launch",
    "build_summary",
    "data_fingerprint",
    "load_schema",
    "read_history",
    "validate_summary",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"causal_kit.analysis.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'causal_kit.analysis' has no attribute {name!r}")
