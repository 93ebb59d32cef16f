"""Dates inside the engine: a ``Date`` column from dates, timestamps or ISO strings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import narwhals as nw
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError

DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def as_date(
    frame: nw.LazyFrame[Any], column: str, *, what: str, fallback: str | None = None
) -> nw.LazyFrame[Any]:
    """Return ``frame`` with ``column`` as a ``Date`` (derived from ``fallback`` if absent).

    Parameters
    ----------
    frame
        A lazy frame.
    column
        The date column, e.g. ``"date"``. Dates are kept, timestamps truncated to their day, and
        strings parsed as ``YYYY-MM-DD``.
    what
        How to call ``frame`` in error messages.
    fallback
        A timestamp column to derive ``column`` from when ``column`` is missing (e.g. ``"ts"``).

    Raises
    ------
    DataError
        If neither column exists, the type is not a date, or a string is not a date.
    """
    schema = frame.collect_schema()
    source = column if column in schema else fallback
    if source is None or source not in schema:
        wanted = repr(column) + (f" or {fallback!r}" if fallback else "")
        have = ", ".join(repr(c) for c in schema.names())
        raise DataError(f"{what} has no column {wanted}. Available columns: {have}.")
    dtype = schema[source]
    expr = nw.col(source)
    if dtype == nw.Date:
        return frame if source == column else frame.with_columns(expr.alias(column))
    if dtype == nw.Datetime:
        return frame.with_columns(expr.cast(nw.Date).alias(column))
    if dtype == nw.String:
        fmt = DATE_FORMAT if source == column else TIMESTAMP_FORMAT
        parsed = expr.str.to_date(fmt) if fmt == DATE_FORMAT else expr.str.to_datetime(fmt)
        try:  # parse once on a tiny aggregate, so a bad value fails here with a clear message
            frame.select(parsed.min()).collect()
        except Exception as exc:  # the engine's own parse error (DuckDB, polars, Spark...)
            sample = frame.select(expr).head(3).collect().to_pandas()[source].tolist()
            raise DataError(
                f"{what}: column {source!r} holds text that is not a date in {fmt!r} format "
                f"(first values: {sample}). Convert it to a date or timestamp type."
            ) from exc
        return frame.with_columns(parsed.cast(nw.Date).alias(column))
    raise DataError(f"{what}: column {source!r} has type {dtype}; it must be a date or timestamp.")


def date_bounds(frame: nw.LazyFrame[Any], column: str) -> tuple[dt.date | None, dt.date | None]:
    """Return the first and last date of ``column`` (``None`` when there are no rows)."""
    row = frame.select(lo=nw.col(column).min(), hi=nw.col(column).max()).collect().to_pandas()
    lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
    if pd.isna(lo) or pd.isna(hi):
        return None, None
    return pd.Timestamp(lo).date(), pd.Timestamp(hi).date()


def parse_day(value: Any, name: str) -> dt.date | None:
    """Return ``value`` as a date (``None`` stays ``None``)."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise SpecificationError(
            f"{name}={value!r} is not a date; use ISO format like '2026-03-02'."
        ) from exc
