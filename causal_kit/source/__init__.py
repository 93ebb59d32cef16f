"""Layer: source — event data opened lazily inside the engine that holds it.

Paths and local frames open in an embedded DuckDB, polars frames stay in polars, and other lazy
frames narwhals knows (DuckDB relations, Spark) are used in place. Raw events never reach pandas.
"""

from causal_kit.source.dates import as_date, date_bounds, parse_day
from causal_kit.source.events import EventSource, align, open_events
from causal_kit.source.paths import demo_path, project_root

__all__ = [
    "EventSource",
    "align",
    "as_date",
    "date_bounds",
    "demo_path",
    "open_events",
    "parse_day",
    "project_root",
]
