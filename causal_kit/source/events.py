"""Open event data wherever it lives as one lazy narwhals frame; nothing is read into pandas.

Files (parquet, CSV) and pandas/pyarrow frames are opened in an embedded DuckDB; polars frames stay
in polars; a DuckDB relation, a polars ``LazyFrame`` or any lazy frame narwhals knows (e.g. Spark)
is used where it is. The metric code downstream is written once against narwhals and runs inside
whichever engine holds the data.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import narwhals as nw
import pandas as pd
import pyarrow as pa

from causal_kit.core.errors import DataError, SpecificationError

PARQUET = (".parquet", ".pq")
CSV = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
DATABASE = (".duckdb", ".ddb", ".db")
SPARK = ("pyspark", "pyspark_connect")  # narwhals' names of Spark backends


@dataclass(frozen=True)
class EventSource:
    """A lazy table of events (or users) inside the engine that holds it.

    Attributes
    ----------
    frame
        The data as a narwhals ``LazyFrame``; nothing has been computed yet.
    backend
        ``"duckdb"``, ``"polars"`` or another narwhals backend name (e.g. ``"pyspark"``).
    description
        Where the data came from, for messages and report provenance.
    connection
        The DuckDB connection that owns ``frame`` when causal_kit opened it, else ``None``.
    """

    frame: nw.LazyFrame[Any]
    backend: str
    description: str
    connection: duckdb.DuckDBPyConnection | None = None

    @property
    def columns(self) -> list[str]:
        """Column names."""
        return list(self.frame.collect_schema().names())

    def date_bounds(self) -> tuple[dt.date | None, dt.date | None]:
        """Return the first and last day of the events (``date``, else the day of ``ts``).

        One scan in the engine; ``(None, None)`` when there are no events.
        """
        from causal_kit.source.dates import as_date, date_bounds

        return date_bounds(as_date(self.frame, "date", what="events", fallback="ts"), "date")

    def __repr__(self) -> str:
        return f"EventSource({self.description}, backend={self.backend!r}, columns={self.columns})"


def open_events(
    data: Any,
    *,
    table: str | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    what: str = "events",
) -> EventSource:
    """Open ``data`` as a lazy frame in the engine that should aggregate it.

    Parameters
    ----------
    data
        A path (parquet or CSV file, a folder of them, a glob such as ``"logs/*.parquet"``, or a
        DuckDB database file with ``table=``), a DuckDB connection (with ``table=``), a DuckDB
        relation, a pandas / pyarrow / polars frame, a polars ``LazyFrame``, a narwhals frame, or
        another lazy frame narwhals supports (e.g. a Spark DataFrame). An ``EventSource`` is
        returned unchanged.
    table
        Table name, when ``data`` is a DuckDB database file or connection.
    connection
        DuckDB connection to open files and pandas/pyarrow frames in (default: a new in-memory
        one). Pass the connection that holds another table you want to combine with these data.
    what
        How to call the data in error messages.

    Returns
    -------
    EventSource

    Raises
    ------
    DataError
        If a path does not exist or holds no parquet/CSV file, or ``data`` is not a table.
    SpecificationError
        If a database is given without ``table``.
    """
    if isinstance(data, EventSource):
        return data
    if isinstance(data, nw.DataFrame | nw.LazyFrame):
        data = nw.to_native(data)
    if isinstance(data, str | os.PathLike):
        return _open_path(Path(data), table, connection, what)
    if isinstance(data, duckdb.DuckDBPyConnection):
        if table is None:
            raise SpecificationError(f"{what}: a DuckDB connection needs table='<name>'.")
        return _wrap(_table(data, table, what), "duckdb", f"DuckDB table {table!r}", data)
    if isinstance(data, duckdb.DuckDBPyRelation):
        return _wrap(data, "duckdb", "DuckDB relation")
    con = connection if connection is not None else duckdb.connect()
    if isinstance(data, pd.DataFrame):
        return _wrap(con.from_df(data), "duckdb", "pandas DataFrame (registered in DuckDB)", con)
    if isinstance(data, pa.Table):
        return _wrap(con.from_arrow(data), "duckdb", "pyarrow Table (registered in DuckDB)", con)
    try:
        native = nw.from_native(data)
    except TypeError as exc:
        raise DataError(
            f"{what} must be a path, a DuckDB relation or a data frame (pandas, polars, pyarrow, "
            f"Spark...); got {type(data).__name__}."
        ) from exc
    lazy = native.lazy() if isinstance(native, nw.DataFrame) else native
    backend = lazy.implementation.name.lower()
    return _wrap(nw.to_native(lazy), backend, f"{type(data).__name__} ({backend})")


def align(data: Any, like: EventSource, *, what: str = "users") -> nw.LazyFrame[Any]:
    """Open a second table (e.g. users) in the engine of ``like`` so the two can be joined.

    Raises
    ------
    SpecificationError
        If the two cannot meet in one engine (e.g. events in a DuckDB relation of a connection
        causal_kit cannot reach, and users as a local frame).
    """
    if like.backend == "duckdb":
        con = like.connection
        if con is None:
            return nw.from_native(_into_relation_connection(data, like, what))
        if isinstance(data, duckdb.DuckDBPyRelation):
            data = data.to_arrow_table()
        other = open_events(data, connection=con, what=what)
        if other.backend != "duckdb":
            other = open_events(nw.from_native(other.frame).collect().to_arrow(), connection=con)
        return other.frame
    if like.backend == "polars":
        other = open_events(data, what=what)
        if other.backend == "polars":
            return other.frame
        import polars as pl

        table = other.frame.collect().to_arrow()
        return nw.from_native(pl.from_arrow(table).lazy())  # type: ignore[union-attr]
    if like.backend in SPARK:
        return nw.from_native(_into_spark(data, like, what)).lazy()
    other = open_events(data, what=what)
    if other.backend != like.backend:
        raise SpecificationError(
            f"{what} must live in the same engine as the events ({like.backend}); "
            f"got {other.description}."
        )
    return other.frame


def _into_spark(data: Any, like: EventSource, what: str) -> Any:
    """Return ``data`` as a DataFrame of the Spark session that holds ``like``'s events.

    A Spark DataFrame is used as it is; a path (parquet or CSV file, folder or glob) is read by
    that session, so a table on the cluster's storage never passes through this machine; a local
    frame (pandas, polars, pyarrow, DuckDB) is sent to the session.
    """
    session = nw.to_native(like.frame).sparkSession
    if isinstance(data, EventSource):
        data = data.frame
    if isinstance(data, nw.DataFrame | nw.LazyFrame):
        data = nw.to_native(data)
    if hasattr(data, "sparkSession"):  # a Spark DataFrame
        return data
    if isinstance(data, str | os.PathLike):
        files, kind = _files(Path(data), what)
        if kind == "parquet":
            return session.read.parquet(*files)
        return session.read.csv(files, header=True, inferSchema=True)
    local = open_events(data, what=what).frame.collect().to_pandas()
    return session.createDataFrame(local)


def _into_relation_connection(data: Any, like: EventSource, what: str) -> Any:
    """Copy a (small) table into the DuckDB connection of ``like``'s relation.

    DuckDB does not expose a relation's connection, but a query run from the relation executes
    in it, and DuckDB resolves an unknown table name to the Python object of that name in the
    calling scope (its replacement scan). The table is read once, as Arrow.
    """
    base = nw.to_native(like.frame)
    source = open_events(data, what=what).frame
    _ck_table = source.collect().to_arrow()  # read by DuckDB by its name below
    try:
        rel = base.query("_ck_base", "SELECT * FROM _ck_table")
    except duckdb.Error as exc:
        raise SpecificationError(
            f"{what} could not be brought into the DuckDB connection of the events ({exc}); "
            f"pass {what} as a relation of that connection (e.g. con.from_df({what}))."
        ) from exc
    return rel.set_alias(f"_ck_{what}_{id(rel)}")


def _wrap(native: Any, backend: str, description: str,
          con: duckdb.DuckDBPyConnection | None = None) -> EventSource:  # fmt: skip
    return EventSource(nw.from_native(native).lazy(), backend, description, con)


def _table(con: duckdb.DuckDBPyConnection, table: str, what: str) -> Any:
    try:
        return con.table(table)
    except duckdb.CatalogException as exc:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                 .fetchall()]  # fmt: skip
        raise DataError(f"{what}: no table {table!r} in the database; tables: {names}.") from exc


def _open_path(path: Path, table: str | None, connection: duckdb.DuckDBPyConnection | None,
               what: str) -> EventSource:  # fmt: skip
    text = str(path)
    name = path.name.lower()
    if name.endswith(DATABASE):
        if not path.is_file():
            raise DataError(f"{what}: database {text!r} does not exist.")
        if table is None:
            raise SpecificationError(f"{what}: {text!r} is a database; pass table='<name>'.")
        con = duckdb.connect(text, read_only=True)
        return _wrap(_table(con, table, what), "duckdb", f"DuckDB {text}::{table}", con)
    files, kind = _files(path, what)
    con = connection if connection is not None else duckdb.connect()
    rel = _readable(lambda: con.read_parquet(files) if kind == "parquet"
                    else con.read_csv(files), con, files, what)  # type: ignore[arg-type]
    desc = f"{kind} {text}" + (f" ({len(files)} files)" if len(files) > 1 else "")
    return _wrap(rel, "duckdb", desc, con)


def _files(path: Path, what: str) -> tuple[list[str], str]:
    """Return the parquet or CSV files behind a file, folder or glob, and which kind they are."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text, recursive=True))
    elif path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.name.lower().endswith(PARQUET))
        if not files:
            files = sorted(str(p) for p in path.rglob("*") if p.name.lower().endswith(CSV))
    elif path.is_file():
        files = [text]
    else:
        raise DataError(f"{what}: {text!r} does not exist. Pass a file, a folder or a glob.")
    if not files:
        raise DataError(f"{what}: {text!r} holds no parquet or CSV file.")
    if all(f.lower().endswith(PARQUET) for f in files):
        return files, "parquet"
    if all(f.lower().endswith(CSV) for f in files):
        return files, "CSV"
    raise DataError(
        f"{what}: {text!r} matches files that are neither all parquet nor all CSV: "
        f"{[Path(f).name for f in files[:5]]}."
    )


def _readable(read: Any, con: duckdb.DuckDBPyConnection, files: list[str], what: str) -> Any:
    """Open ``files`` with ``read``; a file DuckDB cannot read becomes a DataError naming it.

    Parquet footers are read up front (metadata only), so a zero-byte, truncated or corrupted
    file is caught here rather than half-way through an aggregation.
    """
    empty = [f for f in files if os.path.getsize(f) == 0]
    if empty:
        raise DataError(f"{what}: {empty[0]!r} is an empty file (0 bytes); re-export or remove it.")
    try:
        rel = read()
        if files[0].lower().endswith(PARQUET):
            con.execute("SELECT count(*) FROM parquet_metadata(?)", [files]).fetchall()
        return rel
    except duckdb.Error as exc:
        culprit = _first_unreadable(con, files) or files[0]
        raise DataError(
            f"{what}: cannot read {culprit!r} (truncated, corrupted or not the format its name "
            f"says): {str(exc).splitlines()[0].rstrip('.')}. Re-export or remove the file."
        ) from exc


def _first_unreadable(con: duckdb.DuckDBPyConnection, files: list[str]) -> str | None:
    for f in files:
        try:
            if f.lower().endswith(PARQUET):
                con.execute("SELECT count(*) FROM parquet_metadata(?)", [f]).fetchall()
            else:
                con.read_csv(f).limit(1).fetchall()
        except duckdb.Error:
            return f
    return None
