"""The batch layer on a real (small) simulated world: a 7-day backfill, idempotent re-runs,
exact agreement with an independent DuckDB computation, and gates that refuse bad nights."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ato import deltars
from ato.gates import GateFailed
from ato.nightly import date_range, run_nightly
from ato.settings import Settings
from tests.conftest import make_settings
from tests.digest import table_digest

pytestmark = pytest.mark.spark
FIRST, LAST = date(2026, 8, 1), date(2026, 8, 7)
BUILD = ("validate", "aggregates", "training", "gate", "publish")


def _settings(root: Path, geo_db: str, **extra: str) -> Settings:
    return make_settings(root, geo_db=Path(geo_db), ATO_BATCH__LABEL_MATURITY_DAYS="1", **extra)


def _table_hash(s: Settings, path: str) -> tuple[int, str]:
    """Order-independent content fingerprint of a gold table (`tests/digest.py`)."""
    return table_digest(deltars.read(s, "gold", Path(path).name))


def test_backfill_gives_one_snapshot_per_date_and_publishes_the_last(spark: Any, backfilled: tuple[Settings, Any]) -> None:
    from ato.online.snapshot.files import current, load

    s, summary = backfilled
    for table in ("account_features_daily", "ip_features_daily", "device_features_daily"):
        dates = {r[0] for r in spark.read.format("delta").load(s.table_path("gold", table)).select("as_of_date").distinct().collect()}
        assert dates == set(date_range(FIRST, LAST)), table
    ts = spark.read.format("delta").load(s.table_path("gold", "training_set"))
    assert {r[0] for r in ts.select("login_date").distinct().collect()} == set(date_range(FIRST, date(2026, 8, 6)))
    assert summary.training_rows == ts.count() > 0
    assert ts.where("label = 1").count() > 0, "the boosted world reports takeovers within a day"
    assert all(c.passed for c in summary.checks)
    assert (current(s) or {}).get("as_of") == LAST.isoformat()
    from ato.privacy import key_fingerprint
    assert (current(s) or {}).get("key_fingerprint") == key_fingerprint(s.hmac_key_bytes()), "serving checks it"
    acct = load(s, "account")
    last_rows = (spark.read.format("delta").load(s.table_path("gold", "account_features_daily"))
                 .where(f"as_of_date = '{LAST}'").count())
    assert len(acct) == last_rows > 0, "the published account file is the last snapshot, row for row"
    assert acct["account_id"].is_unique and {"logins_30d", "known_devices", "last_login_s"} <= set(acct.columns)


def test_account_columns_match_an_independent_duckdb_computation(spark: Any, backfilled: tuple[Settings, Any]) -> None:
    from ato.aggregates_sql import account_sql, entity_sql
    from ato.analyst import connect

    s, _ = backfilled
    con = connect(s.paths.lake_root)
    cols = ["account_id", "logins_30d", "failed_logins_30d", "distinct_devices_30d", "distinct_ips_30d",
            "distinct_countries_30d", "distinct_asns_30d", "days_active_30d"]
    gold = spark.read.format("delta").load(s.table_path("gold", "account_features_daily"))
    for as_of in (FIRST, date(2026, 8, 4), LAST):
        duck = sorted(tuple(r[:1] + r[2:]) for r in con.sql(account_sql(as_of)).fetchall())
        sp = sorted(tuple(r) for r in gold.where(f"as_of_date = DATE'{as_of}' AND logins_30d > 0").select(*cols).collect())
        assert len(sp) > 100 and sp == duck, as_of
        ip = spark.read.format("delta").load(s.table_path("gold", "ip_features_daily")).where(f"as_of_date = DATE'{as_of}'")
        sp_ip = sorted(tuple(r) for r in ip.select("ip_hash", "attempts_30d", "failures_30d", "distinct_accounts_30d",
                                                     "days_active_30d").collect())
        assert sp_ip == sorted(tuple(r[:1] + r[2:]) for r in con.sql(entity_sql("ip_hash", as_of)).fetchall())
    # Accounts seen only through sessions or payments have a row with zero logins.
    assert gold.where("logins_30d = 0 AND distinct_devices_30d > 0").count() == 0


def test_rerunning_a_date_leaves_every_gold_table_identical(spark: Any, backfilled: tuple[Settings, Any]) -> None:
    from ato.spark.gold import gold_tables

    s, _ = backfilled
    before = {t: _table_hash(s, t) for t in gold_tables(s)}
    run_nightly(s, [LAST], ("aggregates", "training"), spark_factory=lambda: spark)  # every step that writes gold
    assert {t: _table_hash(s, t) for t in gold_tables(s)} == before


def test_output_gate_counts_every_gold_expectation_and_runs_ge_on_a_sample(
        spark: Any, backfilled: tuple[Settings, Any]) -> None:
    from ato.spark.gold import output_checks
    from ato.spark.quality import load_suite_spec
    from ato.tables import SNAPSHOT_TABLES

    s, _ = backfilled
    checks = output_checks(spark, s, [LAST], [])
    for table in SNAPSHOT_TABLES.values():
        mine = [c for c in checks if c.name.startswith(f"{table}: ")]
        assert len(mine) == len(load_suite_spec(f"gold_{table}")) + 1, table
        ge = [c for c in mine if "Great Expectations on a" in c.name]
        assert len(ge) == 1 and ge[0].passed, table
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]


def test_a_failing_output_gate_restores_gold_keeps_a_concurrent_commit_and_publishes_nothing(
        spark: Any, backfilled: tuple[Settings, Any]) -> None:
    """A night whose output gate fails (a strict snapshot ratio): every gold table it wrote is
    restored to its contents before the night and nothing is published, except that a table another
    writer (delta-rs here, outside our lock) committed to between our build and the gate keeps its
    commits (ours stay there too, and are named); the failed checks are in the gate log."""
    from collections.abc import Iterator
    from contextlib import contextmanager

    from deltalake import DeltaTable

    from ato.online.snapshot.files import current
    from ato.progress import Progress
    from ato.spark import lake
    from ato.spark.gold import gold_tables

    s, _ = backfilled
    strict = make_settings(Path(s.paths.lake_root).parent, geo_db=Path(s.enrich.geo_db), ATO_BATCH__LABEL_MATURITY_DAYS="1",
                           ATO_ONLINE_DIR=s.online.snapshot_dir, ATO_GATES__SNAPSHOT_MIN_RATIO="50")
    target = s.table_path("gold", "account_features_daily")
    before = {t: _table_hash(s, t) for t in gold_tables(s)}
    start = lake.version(spark, target)
    assert start is not None

    class Meanwhile(Progress):
        @contextmanager
        def step(self, label: str) -> Iterator[None]:
            if label.startswith("gate"):  # after our snapshots are committed
                DeltaTable(target).alter.set_table_properties({"ato.test.concurrent": "kept"}, raise_if_not_exists=False)
            yield

    try:
        with pytest.raises(GateFailed, match="account_snapshot_rows_vs_previous_day") as failed:
            run_nightly(strict, [date(2026, 8, 8)], ("aggregates", "gate", "publish"), progress=Meanwhile(),
                        spark_factory=lambda: spark)
        assert failed.value.kept_tables == [target]  # type: ignore[attr-defined]
        assert DeltaTable(target).metadata().configuration.get("ato.test.concurrent") == "kept"
        assert (lake.version(spark, target) or 0) > start + 1, "our commit and the concurrent one, both kept"
        assert {t: _table_hash(s, t) for t in gold_tables(s) if t != target} == {
            t: h for t, h in before.items() if t != target}, "every other gold table restored"
        assert (current(s) or {}).get("as_of") == LAST.isoformat(), "nothing published"
        log = spark.read.format("delta").load(s.table_path("gold", "nightly_checks"))
        assert log.where("run = '2026-08-08' AND NOT passed").count() >= 1
    finally:
        lake.rollback(spark, target, start)  # the shared lake as it was
    assert {t: _table_hash(s, t) for t in gold_tables(s)} == before


def test_broken_input_day_trips_the_gate_before_anything_is_built(spark: Any, backfilled: tuple[Settings, Any],
                                                                  tmp_path: Path) -> None:
    from ato.online.snapshot.files import current
    from ato.spark.gold import versions
    from ato.spark.ingest import ingest
    from tests.builders import make_login, write_jsonl

    s, _ = backfilled
    day = "2026-08-09"
    rows = [make_login(event_time=f"{day}T{h:02d}:{m:02d}:00Z", account_id=f"acct_{m:07d}") for h in range(10) for m in range(40)]
    for r in rows[::2]:
        r["outcome"] = "hacked"  # a producer bug: half the day's logins are unusable
    write_jsonl(tmp_path / "spool" / "logins" / f"{day}.jsonl", rows)
    ingest(spark, s, tmp_path / "spool")
    v0 = versions(spark, s)
    with pytest.raises(GateFailed, match="quarantine_share_logins") as err:
        run_nightly(s, [date(2026, 8, 9)], BUILD, spark_factory=lambda: spark)
    share = next(c for c in err.value.checks if c.name == "quarantine_share_logins")
    assert share.observed == pytest.approx(0.5)
    assert versions(spark, s) == v0, "no gold table may change"
    assert (current(s) or {}).get("as_of") == LAST.isoformat(), "the previous snapshot stays live"


def _features(spark: Any, s: Settings, logins: Any, event_id: str, day: date) -> dict[str, Any]:
    """Training features of one login computed in memory from silver frames (no gold writes)."""
    from datetime import timedelta

    from ato.features.columns import FEATURES
    from ato.spark.gold import SILVER_INPUTS, _silver
    from ato.spark.partials import build_partials
    from ato.spark.ring_step import with_ring_features
    from ato.spark.snapshots import build_snapshots
    from ato.spark.training import training_rows

    silver = {st: _silver(spark, s, st) for st in SILVER_INPUTS} | {"logins": logins}
    partials = build_partials(silver, date_range(day - timedelta(days=30), day - timedelta(days=1)))
    snaps = build_snapshots(partials, [day - timedelta(days=1)])
    snaps["account"] = with_ring_features(spark, s, snaps["account"], [day - timedelta(days=1)])  # as gold's build does
    rows = training_rows(logins, snaps, _silver(spark, s, "labels"), [day], 1, dict(s.labels.weights))
    row = rows.where(f"event_id = '{event_id}'").select(*FEATURES).first()
    assert row is not None
    return dict(row.asDict())


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a)  # NaN equals NaN here


def test_features_are_point_in_time(spark: Any, world_lake: tuple[Settings, object]) -> None:
    """An event after a login leaves its features unchanged; one before it changes them."""
    from datetime import timedelta

    from pyspark.sql import functions as F

    s, _ = world_lake
    day = date(2026, 8, 5)
    logins = spark.read.format("delta").load(s.table_path("silver", "logins"))
    target = (logins.where(f"event_date = DATE'{day}' AND outcome = 'success' AND device_hash IS NOT NULL"
                           " AND hour(event_time) >= 1")  # 30 s earlier is the same day
              .orderBy("event_id").first().asDict())
    base = _features(spark, s, logins, target["event_id"], day)

    def plus(*events: tuple[str, timedelta]) -> Any:
        rows = [{**target, "event_id": e, "event_time": target["event_time"] + d,
                 "event_date": (target["event_time"] + d).date()} for e, d in events]
        return logins.unionByName(spark.createDataFrame(rows, logins.schema))

    after = _features(spark, s, plus(("pit_after", timedelta(seconds=30))), target["event_id"], day)
    assert _same(after, base), {k: (base[k], after[k]) for k in base if not _same({k: base[k]}, {k: after[k]})}
    # in one run, a login 30 s before (it moves the 5-minute counts and the gap) and one a day
    # before (it moves the 30-day count; the 5-minute counts show it is not within their window)
    earlier = _features(spark, s, plus(("pit_before", -timedelta(seconds=30)), ("pit_yesterday", -timedelta(days=1))),
                        target["event_id"], day)
    assert earlier["account_attempts_5m"] == base["account_attempts_5m"] + 1
    assert earlier["ip_attempts_5m"] == base["ip_attempts_5m"] + 1
    assert earlier["s_since_last_login"] == pytest.approx(30.0)
    assert earlier["logins_30d"] == (base["logins_30d"] or 0) + 1
    assert logins.where(F.col("event_id").startswith("pit_")).count() == 0  # nothing was written


def test_labels_follow_the_maturity_rule(spark: Any) -> None:
    from datetime import datetime

    from ato.spark.labels import login_labels

    t = datetime(2026, 8, 1, 10)
    logins = spark.createDataFrame(
        [("e1", "A", t, t.date()), ("e2", "A", t.replace(hour=12), t.date()), ("e3", "B", t, t.date()),
         ("e4", "C", t, t.date())], "event_id string, account_id string, event_time timestamp, login_date date")
    lab = spark.createDataFrame([
        ("B", "e3", "ato", "customer_report", datetime(2026, 8, 2), None, {"attack_type": "x"}),  # false report ...
        ("B", "e3", "legit", "analyst", datetime(2026, 8, 3), None, {}),                         # ... corrected
        ("A", None, "ato", "chargeback", datetime(2026, 8, 3), t.replace(hour=11), {"attack_type": "session_hijack"}),
        ("C", "e4", "ato", "analyst", datetime(2026, 8, 20), None, {}),                          # arrives too late
    ], "account_id string, login_event_id string, label string, source string, reported_at timestamp, "
       "attack_started_at timestamp, extra map<string,string>")
    got = {r["event_id"]: r.asDict() for r in login_labels(logins, lab, 7, {"account_window": 0.5, "analyst": 1.0}).collect()}
    assert got["e1"]["label"] == 0 and got["e1"]["label_source"] == "unreported"  # before the attack started
    assert (got["e2"]["label"], got["e2"]["label_source"], got["e2"]["attack_type"]) == (1, "account_window", "session_hijack")
    assert got["e2"]["label_weight"] == 0.5
    assert (got["e3"]["label"], got["e3"]["label_source"], got["e3"]["attack_type"]) == (0, "analyst", None)
    assert got["e4"]["label"] == 0 and str(got["e4"]["label_as_of"]) == "2026-08-08"


def test_snapshot_habits_equal_the_shared_feature_code(spark: Any, backfilled: tuple[Settings, Any]) -> None:
    """Spark's SQL for the usual hour is a second execution of ato.features.habits: hold them equal."""
    from ato.analyst import connect
    from ato.features.habits import circular_hour_stats

    s, _ = backfilled
    con = connect(s.paths.lake_root)
    hours = con.sql(f"""SELECT account_id, list(epoch(event_time) % 86400 / 3600.0) FROM silver_logins
        WHERE outcome = 'success' AND event_date BETWEEN DATE '{LAST}' - INTERVAL 29 DAY AND DATE '{LAST}'
        GROUP BY 1 ORDER BY 1 LIMIT 40""").fetchall()
    gold = {r[0]: (r[1], r[2]) for r in spark.read.format("delta").load(s.table_path("gold", "account_features_daily"))
            .where(f"as_of_date = DATE'{LAST}'").select("account_id", "hour_mean", "hour_spread").collect()}
    assert len(hours) == 40
    for acct, hs in hours:
        mean, spread = circular_hour_stats(hs)
        assert gold[acct][1] == pytest.approx(spread, abs=1e-6)
        if spread < 6:  # the mean of a near-uniform spread is numerically meaningless
            assert min(abs(gold[acct][0] - mean), 24 - abs(gold[acct][0] - mean)) == pytest.approx(0, abs=1e-6)
