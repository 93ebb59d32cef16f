"""Spark gives exactly DuckDB's panel: ``build_panel`` and ``user_outcomes`` on a local session.

One small Spark session (``local[1]``) is shared by the whole test session. Skipped only when
Java is missing (pyspark is in the lock). Marked slow: a JVM and a dozen Spark jobs.
"""

from __future__ import annotations

import os
import shutil
import warnings

import pandas as pd
import pytest

import causal_kit as ck

PANEL_METRICS = ["active_users", "sessions", "revenue", "revenue_per_active_user",
                 "task_success_rate", "latency_p95_ms", "abandonment_rate", "signups",
                 "d1_retention", "d7_retention"]  # fmt: skip
COUNTS = ["active_users", "sessions", "signups"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed: the Spark tests need a JVM (e.g. openjdk-17-jre).")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("causal_kit-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    out = tmp_path_factory.mktemp("spark")
    return {s: ck.simulate(s, n_users=800, n_days=84, seed=4, out_dir=out / s)
            for s in ("staggered", "score_gate")}  # fmt: skip


def panels(events, users, sim, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        return ck.build_panel(events, metrics=PANEL_METRICS, launch=sim.launch, users=users, **kw)


def assert_same(ours: pd.DataFrame, duck: pd.DataFrame, exact: list[str]) -> None:
    assert list(ours.columns) == list(duck.columns) and len(ours) == len(duck)
    for c in ours.columns:
        if c in exact or not pd.api.types.is_float_dtype(duck[c]):
            pd.testing.assert_series_equal(ours[c], duck[c], check_exact=True, obj=c)
        else:  # sums of doubles: equal up to the order the engine adds them in
            pd.testing.assert_series_equal(ours[c], duck[c], rtol=1e-12, atol=1e-9, obj=c)


def test_build_panel_on_spark_equals_duckdb(spark, sims):
    sim = sims["staggered"]
    duck = panels(sim.events, sim.users, sim)
    events = spark.read.parquet(str(sim.events))
    ours = panels(events, spark.read.parquet(str(sim.users)), sim)
    assert_same(ours, duck, COUNTS)
    # every event lands in a week: Sunday events used to fall out of the Spark panel
    raw = pd.read_parquet(sim.events, columns=["date", "event"])
    days = pd.to_datetime(raw["date"])
    inside = (days >= ours["week"].min()) & (days <= ours["week"].max() + pd.Timedelta(days=6))
    assert ours["sessions"].sum() == ((raw["event"] == "session") & inside).sum()
    assert (ours["week"].dt.day_of_week == 0).all()
    # users as a path: read by the events' Spark session
    assert_same(panels(events, str(sim.users), sim), duck, COUNTS)


def test_day_and_month_grains_on_spark_equal_duckdb(spark, sims):
    sim = sims["staggered"]
    events = spark.read.parquet(str(sim.events))
    for grain in ("day", "month"):
        kw = dict(unit="region", time=grain, metrics=["active_users", "revenue"])
        duck = ck.build_panel(sim.events, **kw)
        assert_same(ck.build_panel(events, **kw), duck, ["active_users"])


def test_user_outcomes_on_spark_equal_duckdb(spark, sims):
    sim = sims["score_gate"]
    duck = ck.user_outcomes(sim.events, launch=sim.launch, users=sim.users)
    events = spark.read.parquet(str(sim.events))
    for users in (spark.read.parquet(str(sim.users)), str(sim.users)):
        ours = ck.user_outcomes(events, launch=sim.launch, users=users)
        assert_same(ours[duck.columns.tolist()], duck, ["tasks_30d", "retained_d30"])
