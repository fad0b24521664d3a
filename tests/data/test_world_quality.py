"""Data tests: a simulated world ingested into real Delta tables, checked with GE and read
back without a JVM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ato.analyst import connect
from ato.settings import Settings
from ato.spark import lake
from ato.spark.quality import load_suite_spec, run_suite

pytestmark = [pytest.mark.data, pytest.mark.spark]


def test_nothing_lost_and_exactly_the_spoilt_rows_quarantined(spark: Any, world_lake: tuple[Settings, Any], small_world: Any) -> None:
    s, summary = world_lake
    _, _, sim = small_world
    ledger = lake.read(spark, s.table_path("bronze", "_ingest_log")).collect()
    assert len(ledger) == sim.files
    assert all(r["rows_in"] == r["rows_bronze"] + r["rows_quarantined"] and r["rows_erased"] == 0 for r in ledger)
    q = lake.read(spark, s.table_path("bronze", "quarantine"))
    by_table = {r["stream"]: r["count"] for r in q.groupBy("stream").count().collect()}
    assert by_table == {k: v for k, v in sim.malformed.items() if v}
    assert sim.malformed["logins"] > 0
    for stream, n in sim.rows.items():
        assert summary.bronze_rows[stream] == n - sim.malformed.get(stream, 0)
        assert lake.read(spark, s.table_path("silver", stream)).count() == n - sim.malformed.get(stream, 0)


@pytest.mark.parametrize("stream", ["logins", "sessions", "payments", "account_changes", "labels", "ip_reputation"])
def test_bronze_suites_pass_on_real_tables(spark: Any, world_lake: tuple[Settings, Any], stream: str) -> None:
    s, _ = world_lake
    df = lake.read(spark, s.table_path("bronze", stream))
    spec = load_suite_spec(f"bronze_{stream}")
    assert run_suite(df, f"bronze_{stream}", spec).success


def test_suite_catches_a_bad_table(spark: Any, world_lake: tuple[Settings, Any]) -> None:
    from pyspark.sql import functions as F

    s, _ = world_lake
    df = lake.read(spark, s.table_path("bronze", "payments")).withColumn("currency", F.lit("dollars"))
    res = run_suite(df, "bronze_payments", load_suite_spec("bronze_payments"))
    assert not res.success
    assert "expectation failed: expect_column_values_to_match_regex(currency)" in res.failed


def test_silver_logins_are_enriched(spark: Any, world_lake: tuple[Settings, Any]) -> None:
    s, _ = world_lake
    con = connect(s.paths.lake_root)
    geo = dict(con.sql("SELECT geo_source, count(*) FROM silver_logins GROUP BY 1").fetchall())
    assert geo.get("lookup", 0) > 0 and geo.get("event", 0) > 0 and None not in geo
    cats = {r[0] for r in con.sql("SELECT DISTINCT ip_rep_category FROM silver_logins").fetchall()}
    assert {"hosting", "botnet"} <= cats
    fams = {r[0] for r in con.sql("SELECT DISTINCT ua_family FROM silver_logins").fetchall()}
    assert {"chrome", "safari", "app"} <= fams


def test_analysts_read_every_table_without_a_jvm(spark: Any, world_lake: tuple[Settings, Any]) -> None:
    """The README recipe: delta-rs (ato.deltars) + DuckDB give the same counts as Spark."""
    import duckdb

    from ato import deltars

    s, _ = world_lake
    root = Path(s.paths.lake_root)
    logins = deltars.dataset(s, "silver", "logins")  # noqa: F841 (used by DuckDB)
    rel = duckdb.sql("SELECT count(*) FROM logins")
    assert rel is not None
    n = rel.fetchall()[0]
    assert n is not None and n[0] == lake.read(spark, s.table_path("silver", "logins")).count()
    con = connect(str(root), raw=True)
    for layer in ("bronze", "silver"):
        for t in ("logins", "payments", "labels"):
            got = con.sql(f"SELECT count(*) FROM {layer}_{t}").fetchall()[0]
            assert got is not None and got[0] == lake.read(spark, s.table_path(layer, t)).count()


def test_parity_python_and_spark_validation(spark: Any) -> None:
    """`ato.validate.check_row` (serving) and the Spark compilation (ingest) agree row by row."""
    from ato.spark.validate import apply_contract
    from ato.validate import as_text, check_row
    from tests.builders import make_login

    rows = [
        make_login(), make_login(event_time="2026-02-30T00:00:00Z"), make_login(event_time="2026-08-01T10:00:00.1234567Z"),
        make_login(event_time="2026-08-01 10:00:00+05:30"), make_login(asn="12a"), make_login(asn="-5"),
        make_login(latitude="1e400"), make_login(latitude="NaN"), make_login(longitude="-180"), make_login(outcome=""),
        make_login(channel="WEB"), make_login(account_id=None, outcome="x", latitude="y"), make_login(extra_field="z"),
    ]
    data = [({k: as_text(v) for k, v in r.items()},) for r in rows]
    df = spark.createDataFrame(data, "fields map<string,string>")
    got = [list(r["reasons"]) for r in apply_contract(df, "logins").collect()]
    want = [check_row("logins", r).reasons for r in rows]
    assert got == want
