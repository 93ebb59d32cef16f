"""Opening events: every kind of input lands lazily in one engine, with clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import duckdb
import narwhals as nw
import pandas as pd
import polars as pl
import pytest
from test_metrics import hand_events, hand_users

import causal_kit as ck
from causal_kit.source import align, as_date


def test_local_frames_open_lazily_in_duckdb_and_polars_stays_polars() -> None:
    ev = hand_events()
    src = ck.open_events(ev)
    assert src.backend == "duckdb" and isinstance(src.frame, nw.LazyFrame)
    assert src.connection is not None and "pandas" in src.description
    assert src.columns == list(ev.columns)
    assert ck.open_events(src) is src
    assert ck.open_events(pl.from_pandas(ev)).backend == "polars"
    assert ck.open_events(pl.from_pandas(ev).lazy()).backend == "polars"
    assert ck.open_events(nw.from_native(pl.from_pandas(ev))).backend == "polars"
    rel = duckdb.connect().from_df(ev)
    opened = ck.open_events(rel)
    assert opened.backend == "duckdb" and opened.connection is None
    assert "EventSource(" in repr(opened)


def test_paths_folders_globs_and_databases(tmp_path: Path) -> None:
    ev = hand_events()
    (tmp_path / "logs").mkdir()
    ev.iloc[:8].to_parquet(tmp_path / "logs" / "a.parquet")
    ev.iloc[8:].to_parquet(tmp_path / "logs" / "b.parquet")
    for data in (tmp_path / "logs", str(tmp_path / "logs" / "*.parquet")):
        src = ck.open_events(data)
        assert "2 files" in src.description
        assert len(src.frame.collect()) == len(ev)
    db = tmp_path / "app.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE events AS SELECT * FROM ev")
    assert len(ck.open_events(db, table="events").frame.collect()) == len(ev)
    with duckdb.connect(str(db), read_only=True) as con:
        assert len(ck.open_events(con, table="events").frame.collect()) == len(ev)
        with pytest.raises(ck.SpecificationError, match="needs table="):
            ck.open_events(con)


def test_source_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ck.DataError, match="does not exist"):
        ck.open_events(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ck.DataError, match="holds no parquet or CSV"):
        ck.open_events(tmp_path / "empty")
    with pytest.raises(ck.DataError, match="holds no parquet or CSV"):
        ck.open_events(str(tmp_path / "*.parquet"))
    hand_events().to_parquet(tmp_path / "x.parquet")
    hand_events().to_csv(tmp_path / "y.csv", index=False)
    with pytest.raises(ck.DataError, match="neither all parquet nor all CSV"):
        ck.open_events(str(tmp_path / "[xy].*"))
    db = tmp_path / "app.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE logs AS SELECT 1 AS user_id")
    with pytest.raises(ck.SpecificationError, match="is a database; pass table="):
        ck.open_events(db)
    with pytest.raises(ck.DataError, match=r"no table 'events' in the database.*\['logs'\]"):
        ck.open_events(db, table="events")
    with pytest.raises(ck.DataError, match="got int"):
        ck.open_events(42)


def test_users_meet_the_events_in_one_engine() -> None:
    ev, users = hand_events(), hand_users()
    for src in (ck.open_events(ev), ck.open_events(pl.from_pandas(ev))):
        frame = align(users, src)
        joined = src.frame.join(frame, on="user_id", how="inner").collect()
        assert len(joined) == len(ev)
    # a relation of the caller's own connection: users are copied into that connection
    foreign = ck.open_events(duckdb.connect().from_df(ev).filter("user_id > 0"))
    joined = foreign.frame.join(align(users, foreign), on="user_id", how="inner").collect()
    assert len(joined) == len(ev)
    con = duckdb.connect()
    ok = ck.build_panel(con.from_df(ev), metrics=["d1_retention"], users=con.from_df(users),
                        end="2026-01-12")  # fmt: skip
    assert ok["d1_retention"].tolist() == [0.5, 1.0]
    # a slice of an opened source (a narwhals frame over a relation) still meets local users
    part = ck.open_events(ev).frame.filter(nw.col("region") == "a")
    sliced = ck.build_panel(part, metrics=["d1_retention"], users=users, end="2026-01-12")
    assert sliced["d1_retention"].tolist() == [0.5]


def test_dates_from_timestamps_or_text() -> None:
    ev = hand_events()
    stamped = ev.drop(columns="date").assign(ts=ev["date"] + pd.Timedelta(hours=23, minutes=59))
    pd.testing.assert_frame_equal(ck.build_panel(stamped, metrics=["sessions"]),
                                  ck.build_panel(ev, metrics=["sessions"]))  # fmt: skip
    text = stamped.assign(ts=stamped["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    pd.testing.assert_frame_equal(ck.build_panel(text, metrics=["sessions"]),
                                  ck.build_panel(ev, metrics=["sessions"]))  # fmt: skip
    with pytest.raises(ck.DataError, match="no column 'date' or 'ts'"):
        as_date(ck.open_events(ev.drop(columns="date")).frame, "date", what="events",
                fallback="ts")  # fmt: skip
    with pytest.raises(ck.DataError, match="'user_id' has type Int64; it must be a date"):
        as_date(ck.open_events(ev).frame, "user_id", what="events")
