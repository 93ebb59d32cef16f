"""Column checks on lazy frames: presence and type, with messages that list what is there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from causal_kit.core.errors import DataError

NUMERIC = ("revenue", "latency_ms", "cost_usd", "score")
BOOLEAN = ("task_success", "retried")
TEXT = ("event",)


def require(frame: nw.LazyFrame[Any], columns: Sequence[str], what: str) -> None:
    """Raise :class:`DataError` naming every column of ``columns`` missing from ``frame``."""
    names = list(frame.collect_schema().names())
    missing = [c for c in dict.fromkeys(columns) if c not in names]
    if missing:
        have = ", ".join(repr(c) for c in names)
        raise DataError(
            f"{what} has no column {', '.join(map(repr, missing))}. Available columns: {have}. "
            "Rename the column or choose other metrics."
        )


def check_types(frame: nw.LazyFrame[Any], columns: Sequence[str], what: str) -> None:
    """Raise :class:`DataError` if a known column has the wrong type (numbers, flags, text)."""
    schema = frame.collect_schema()
    for c in dict.fromkeys(columns):
        dtype = schema.get(c)
        if dtype is None:
            continue
        if c in NUMERIC and not dtype.is_numeric():
            raise DataError(f"{what}: column {c!r} must be numeric; it has type {dtype}.")
        if c in BOOLEAN and dtype != nw.Boolean:
            raise DataError(f"{what}: column {c!r} must be boolean (true/false); it has type "
                            f"{dtype}.")  # fmt: skip
        if c in TEXT and dtype not in (nw.String, nw.Categorical, nw.Enum):
            raise DataError(f"{what}: column {c!r} must be text such as 'session', 'task', "
                            f"'purchase'; it has type {dtype}.")  # fmt: skip
