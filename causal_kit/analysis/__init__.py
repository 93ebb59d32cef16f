"""Layer: analysis — one launch end to end, the summaries a report publishes, their history."""

from causal_kit.analysis.history import History, read_history
from causal_kit.analysis.launch import LaunchAnalysis, analyze_launch
from causal_kit.analysis.summary import (
    build_summary,
    data_fingerprint,
    load_schema,
    validate_summary,
)

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
