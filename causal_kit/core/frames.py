"""Turn whatever small frame a user holds into pandas, without touching the original."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import pandas as pd

from causal_kit.core.errors import DataError


def to_pandas(
    data: Any, columns: Sequence[str] | None = None, *, what: str = "data"
) -> pd.DataFrame:
    """Return a new pandas DataFrame holding ``columns`` of ``data``.

    Parameters
    ----------
    data
        A pandas, polars (eager or lazy), pyarrow or DuckDB frame, or anything narwhals reads.
    columns
        Columns to keep; every one must exist.
    what
        How to call ``data`` in error messages.

    Raises
    ------
    DataError
        If ``data`` is not a frame, or lacks one of ``columns`` (all missing ones are named).
    """
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        try:
            native = nw.from_native(data, eager_only=False)
        except TypeError as exc:
            raise DataError(
                f"{what} must be a data frame (pandas, polars, pyarrow or DuckDB); "
                f"got {type(data).__name__}."
            ) from exc
        if isinstance(native, nw.LazyFrame):
            if columns is not None:
                _require(list(native.collect_schema().names()), columns, what)
                native = native.select(list(dict.fromkeys(columns)))
            native = native.collect()
        frame = native.to_pandas()
    if columns is None:
        return frame.copy()
    _require(list(frame.columns), columns, what)
    twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]} & set(columns))
    if twice:
        raise DataError(
            f"{what} has more than one column named {', '.join(map(repr, twice))}; rename or "
            "drop the duplicates so each name means one column."
        )
    return frame.loc[:, list(dict.fromkeys(columns))].copy()


def _require(available: Sequence[Any], columns: Sequence[str], what: str) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in available]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        have = ", ".join(repr(str(c)) for c in list(available)[:20])
        raise DataError(
            f"{what} has no column {names}. Available columns: {have}. "
            "Pass the right column name or add the column."
        )
