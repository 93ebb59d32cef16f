"""Arrow tables and parquet files of the simulated users and events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from causal_kit.simulate.block import EV_PURCHASE, EV_TASK
from causal_kit.simulate.world import EVENTS, REGIONS, SEGMENTS, VERSIONS

EVENT_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("region", pa.string()),
        ("segment", pa.string()),
        ("ts", pa.timestamp("us")),
        ("date", pa.date32()),
        ("event", pa.string()),
        ("task_success", pa.bool_()),
        ("retried", pa.bool_()),
        ("latency_ms", pa.float64()),
        ("cost_usd", pa.float64()),
        ("revenue", pa.float64()),
        ("model_version", pa.string()),
    ]
)
USER_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("region", pa.string()),
        ("segment", pa.string()),
        ("signup_date", pa.date32()),
        ("score", pa.float64()),
    ]
)
ROW_GROUP_ROWS = 1_000_000
#: Columns only some scenarios have (code -> label): a holdout's ``arm`` (users) and a global
#: launch's ``platform`` (users and events), appended after the common columns.
SHAPE_COLUMNS: dict[str, tuple[str, ...]] = {"arm": ("v1", "v2"), "platform": ("app", "web")}


def with_shape_columns(schema: pa.Schema, names: tuple[str, ...]) -> pa.Schema:
    """Return ``schema`` with the scenario-specific string columns ``names`` appended."""
    for name in names:
        schema = schema.append(pa.field(name, pa.string()))
    return schema


def _shape_arrays(data: dict[str, np.ndarray]) -> list[pa.Array]:
    return [_labels(data[k], labels) for k, labels in SHAPE_COLUMNS.items() if k in data]


def _shape_names(data: dict[str, np.ndarray]) -> tuple[str, ...]:
    return tuple(k for k in SHAPE_COLUMNS if k in data)


def _labels(codes: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    dictionary = pa.array(list(names), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int8()), dictionary).cast(pa.string())


def _epoch_days(start: dt.date) -> int:
    return (start - dt.date(1970, 1, 1)).days


def events_table(ev: dict[str, np.ndarray], start: dt.date) -> pa.Table:
    """Return the observed events of a block as an Arrow table in :data:`EVENT_SCHEMA`."""
    epoch = _epoch_days(start)
    kind = ev["event"]
    not_task = kind != EV_TASK
    columns = [
        pa.array(ev["user_id"], pa.int64()),
        _labels(ev["region"], REGIONS),
        _labels(ev["segment"], SEGMENTS),
        pa.array((epoch * 86_400 + ev["second"]) * 1_000_000, pa.timestamp("us")),
        pa.array((epoch + ev["day"]).astype(np.int32), pa.date32()),
        _labels(kind, EVENTS),
        pa.array(ev["task_success"], pa.bool_(), mask=not_task),
        pa.array(ev["retried"], pa.bool_(), mask=not_task),
        pa.array(ev["latency_ms"], pa.float64(), mask=not_task),
        pa.array(ev["cost_usd"], pa.float64(), mask=not_task),
        pa.array(ev["revenue"], pa.float64(), mask=kind != EV_PURCHASE),
        _labels(ev["v2"].astype(np.int8), VERSIONS),
        *_shape_arrays(ev),
    ]
    return pa.Table.from_arrays(columns, schema=with_shape_columns(EVENT_SCHEMA, _shape_names(ev)))


def users_table(users: dict[str, np.ndarray], start: dt.date) -> pa.Table:
    """Return a block's users as an Arrow table in :data:`USER_SCHEMA`."""
    epoch = _epoch_days(start)
    columns = [
        pa.array(users["user_id"], pa.int64()),
        _labels(users["region"], REGIONS),
        _labels(users["segment"], SEGMENTS),
        pa.array((epoch + users["signup_day"]).astype(np.int32), pa.date32()),
        pa.array(users["score"], pa.float64()),
        *_shape_arrays(users),
    ]
    schema = with_shape_columns(USER_SCHEMA, _shape_names(users))
    return pa.Table.from_arrays(columns, schema=schema)


class BufferedParquet:
    """A parquet file written in row groups of about :data:`ROW_GROUP_ROWS` rows."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self._writer: pq.ParquetWriter | None = None
        self._buffer: list[pa.Table] = []
        self._rows = 0
        self.rows_written = 0

    def write(self, table: pa.Table) -> None:
        """Buffer ``table``; flush a row group when the buffer is large enough."""
        self._buffer.append(table)
        self._rows += table.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="snappy")
        self._writer.write_table(pa.concat_tables(self._buffer), row_group_size=10**9)
        self.rows_written += self._rows
        self._buffer, self._rows = [], 0

    def close(self) -> None:
        """Flush what is left and close the file (an empty file still gets the schema)."""
        self._flush()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="snappy")
        self._writer.close()
