"""Hostile inputs a careful user tries: each class gets a CausalKitError (or a warning) that names
the culprit and the fix, never a raw exception or a silent number."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import causal_kit as ck


@pytest.fixture
def panel():
    rng = np.random.default_rng(0)
    rows = [{"unit": f"u{i}", "t": t, "y": rng.normal() + (i < 5) * (t >= 4),
             "d": int(i < 5 and t >= 4)} for i in range(10) for t in range(8)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("estimator", "message"), [
    (ck.did, r"outcome column 'y' is constant \(5 in every row\): there is no variation"),
    (ck.synthetic_control, r"outcome 'y' is constant \(5.0\) for every unit"),
])
def test_constant_outcome_is_refused_not_estimated_as_zero(panel, estimator, message):
    flat = panel.assign(y=5.0)
    with pytest.raises(ck.DataError, match=message):
        estimator(flat, outcome="y", unit="unit", time="t", treatment="d")


def test_treatment_as_its_own_outcome_is_refused(panel):
    with pytest.raises(ck.SpecificationError,
                       match="outcome and treatment are both column 'd'; each role needs its own"):
        ck.did(panel, outcome="d", unit="unit", time="t", treatment="d")


def test_duplicate_column_names_are_named(panel):
    doubled = pd.concat([panel, panel[["y"]]], axis=1)
    with pytest.raises(ck.DataError, match="more than one column named 'y'; rename or drop"):
        ck.did(doubled, outcome="y", unit="unit", time="t", treatment="d")


def test_unit_ids_mixing_int_and_str_are_refused(panel):
    mixed = panel.assign(unit=panel["unit"].str[1:].astype(object))
    ones = mixed.index[mixed["unit"] == "1"]
    mixed.loc[ones[::2], "unit"] = 1  # unit 1 spelled both 1 and '1'
    before = mixed.copy()
    with pytest.raises(ck.DataError, match=r"unit column 'unit' mixes value types int \(e\.g\. 1\)"
                                           r", str .*astype\(str\)"):
        ck.did(mixed, outcome="y", unit="unit", time="t", treatment="d")
    pd.testing.assert_frame_equal(mixed, before)  # the caller's data is untouched


def test_mixed_time_zone_aware_and_naive_times_are_refused(panel):
    days = pd.Timestamp("2026-01-05") + pd.to_timedelta(panel["t"] * 7, unit="D")
    times = pd.Series([d.tz_localize("UTC") if k % 2 else d for k, d in enumerate(days)],
                      dtype=object)
    with pytest.raises(ck.DataError, match="time column 't' mixes time-zone-aware and naive "
                                           r"times; convert it with pd.to_datetime\(column, utc"):
        ck.did(panel.assign(t=times), outcome="y", unit="unit", time="t", treatment="d")


def _events(n_days=28, regions=("a", "b")):
    day0 = dt.date.today() - dt.timedelta(days=n_days + 7)
    rows = [{"user_id": k, "region": r, "date": day0 + dt.timedelta(days=i), "revenue": 1.0}
            for k, r in enumerate(regions) for i in range(n_days)]
    return pd.DataFrame(rows)


def test_a_few_events_years_in_the_future_do_not_stretch_the_panel():
    events = _events(n_days=70)
    clean = ck.build_panel(events, unit="region", time="week", metrics=["revenue"])
    stray = pd.concat([events, events.iloc[[0]].assign(date=dt.date.today().replace(
        year=dt.date.today().year + 5))], ignore_index=True)
    with pytest.warns(ck.CausalKitWarning, match=r"1 of 141 events are dated after today .*"
                                                 "left out.*pass end="):
        panel = ck.build_panel(stray, unit="region", time="week", metrics=["revenue"])
    assert panel["week"].max() == clean["week"].max()
    assert len(panel) == len(clean)


def _parquet_folder(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    table = pa.Table.from_pandas(_events())
    pq.write_table(table, folder / "part-0.parquet")
    pq.write_table(table, folder / "part-1.parquet")
    return folder


@pytest.mark.parametrize("damage", ["empty", "truncated", "corrupted"])
def test_damaged_parquet_is_a_data_error_naming_the_file(tmp_path, damage):
    folder = _parquet_folder(tmp_path)
    bad = folder / "part-1.parquet"
    raw = bad.read_bytes()
    if damage == "empty":
        bad.write_bytes(b"")
        expected = r"part-1\.parquet' is an empty file \(0 bytes\); re-export or remove it"
    elif damage == "truncated":
        bad.write_bytes(raw[: len(raw) // 2])
        expected = r"cannot read '.*part-1\.parquet' \(truncated, corrupted.*Re-export or remove"
    else:
        bad.write_bytes(raw[:-12] + b"\x00" * 8 + raw[-4:])  # footer length and metadata broken
        expected = r"cannot read '.*part-1\.parquet'"
    with pytest.raises(ck.DataError, match=expected):
        ck.open_events(folder)


def test_launch_json_that_is_not_utf8_says_so(tmp_path):
    (tmp_path / "launch.json").write_bytes('{"name": "café"}'.encode("latin-1"))
    with pytest.raises(ck.SpecificationError,
                       match=r"launch\.json' is not UTF-8 text \(byte 13: b'\\xe9'\); save it as"):
        ck.load_launch(tmp_path)


@pytest.mark.parametrize(("start", "message"), [
    (["2026-03-02"], r"start must map each launched unit to its first day.*got a list"),
    ({"north": ["2026-03-02"]}, r"start date \['2026-03-02'\] for unit 'north' is not a date"),
])
def test_launch_start_that_is_a_list_says_what_it_should_be(tmp_path, start, message):
    (tmp_path / "launch.json").write_text(json.dumps({"name": "x", "start": start}))
    with pytest.raises(ck.SpecificationError, match=message):
        ck.load_launch(tmp_path)
    with pytest.raises(ck.SpecificationError, match=message):
        ck.Launch(name="x", start=start)


def test_launch_json_that_is_not_an_object(tmp_path):
    (tmp_path / "launch.json").write_text("[1, 2]")
    with pytest.raises(ck.SpecificationError, match=re.escape("must hold a JSON object")):
        ck.load_launch(tmp_path)
