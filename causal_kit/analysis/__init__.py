"""Layer: analysis — one launch end to end, and the summaries a report publishes."""

from causal_kit.analysis.launch import LaunchAnalysis, analyze_launch
from causal_kit.analysis.summary import (
    build_summary,
    data_fingerprint,
    load_schema,
    validate_summary,
)

__all__ = [
    "LaunchAnalysis",
    "analyze_launch",
    "build_summary",
    "data_fingerprint",
    "load_schema",
    "validate_summary",
]
