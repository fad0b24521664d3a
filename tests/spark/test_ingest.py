"""Ingest on real Delta tables with the shared local Spark session."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from ato.ingest.discover import TruncatedFileError, UnknownStreamError
from ato.privacy import pseudonymize
from ato.settings import Settings
from ato.spark import lake
from ato.spark.ingest import ingest
from tests.builders import make_login, make_payment, make_reputation, write_csv, write_jsonl
from tests.conftest import TEST_KEY, make_settings

pytestmark = pytest.mark.spark


def _count(spark: Any, s: Settings, layer: str, table: str) -> int:
    path = s.table_path(layer, table)
    return lake.read(spark, path).count() if lake.exists(spark, path) else 0


def _versions(spark: Any, s: Settings) -> dict[str, int | None]:
    return {f"{layer}/{t}": lake.version(spark, s.table_path(layer, t))
            for layer in ("bronze", "silver") for t in ("logins", "payments", "quarantine", "_ingest_log")}


def _contents(spark: Any, s: Settings) -> dict[str, list[str] | None]:
    """Every row of every table, sorted (None for a table that does not exist)."""
    out: dict[str, list[str] | None] = {}
    for layer in ("bronze", "silver"):
        for t in ("logins", "payments", "quarantine", "_ingest_log"):
            path = s.table_path(layer, t)
            out[f"{layer}/{t}"] = sorted(map(str, lake.read(spark, path).collect())) if lake.exists(spark, path) else None
    return out


def test_malformed_rows_are_quarantined_exactly(spark: Any, tmp_path: Path) -> None:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, ATO_INGEST__MAX_QUARANTINE_FRACTION="0.4")
    good = [make_login() for _ in range(6)]
    bad = [
        make_login(event_time="2026-08-01 25:99"),
        make_login(outcome="maybe"),
        make_login(account_id=None),
        make_login(latitude="north"),
    ]
    write_jsonl(tmp_path / "spool" / "logins" / "part-1.jsonl", good + bad, extra_lines=['{"event_id": "broken", '])
    summary = ingest(spark, settings, tmp_path / "spool")
    assert _count(spark, settings, "bronze", "logins") == 6
    q = lake.read(spark, settings.table_path("bronze", "quarantine"))
    reasons = sorted(r["reason"] for r in q.collect())
    assert reasons == sorted([
        "invalid timestamp: event_time", "unknown value: outcome", "missing required field: account_id",
        "invalid number: latitude", "malformed record",
    ])
    assert {r["stream"] for r in q.collect()} == {"logins"}
    ledger = lake.read(spark, settings.table_path("bronze", "_ingest_log")).first()
    assert ledger is not None
    assert (ledger["rows_in"], ledger["rows_bronze"], ledger["rows_quarantined"]) == (11, 6, 5)
    assert summary.quarantined["logins: malformed record"] == 1
    assert summary.quarantine_share["logins"] == pytest.approx(5 / 11)
    assert summary.alerts == ["logins: 45.5% of rows quarantined (limit 40%)"]


def test_foreign_csv_and_jsonl_ingest_typed(spark: Any, settings: Settings, tmp_path: Path) -> None:
    """The README's example files, as another tool would write them (copied: a scan writes its
    hash memo into the spool, never into the checkout)."""
    spool = shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "spool", tmp_path / "spool")
    ingest(spark, settings, spool)
    logins = {r["event_id"]: r for r in lake.read(spark, settings.table_path("bronze", "logins")).collect()}
    assert len(logins) == 3
    r = logins["ext-0001"]
    assert r["asn"] == 7922 and r["latitude"] == pytest.approx(40.71) and r["device_id"] is None
    assert r["event_time"].isoformat().startswith("2026-08-01T08:15:00")
    assert r["extra"] == {"tenant": "eu-1"}
    pays = lake.read(spark, settings.table_path("bronze", "payments")).collect()
    assert [p["amount"] for p in pays] == [129.99]
    assert _count(spark, settings, "bronze", "quarantine") == 0


def test_reingest_adds_nothing(spark: Any, tmp_path: Path) -> None:
    """A second run adds nothing and reads no file again (their stat is unchanged: hash memo); a file
    rewritten in place with its size and mtime put back is read again and ingested."""
    settings = make_settings(tmp_path, ATO_INGEST__HASH_MEMO_SETTLE_S="0")
    logins = write_jsonl(tmp_path / "spool" / "logins" / "a.jsonl", [make_login() for _ in range(5)])
    write_csv(tmp_path / "spool" / "payments-1.csv", [make_payment(), make_payment(amount="x")])
    first = ingest(spark, settings, tmp_path / "spool")
    assert (first.files, first.unread_files) == (2, 0)
    tables = [(layer, t) for layer in ("bronze", "silver") for t in ("logins", "payments", "quarantine")]
    before = {f"{layer}/{t}": _count(spark, settings, layer, t) for layer, t in tables}
    again = ingest(spark, settings, tmp_path / "spool")
    assert (again.files, again.skipped_files, again.unread_files) == (0, 2, 2)
    after = {f"{layer}/{t}": _count(spark, settings, layer, t) for layer, t in tables}
    assert before == after
    st = os.stat(logins)
    lines = logins.read_text().splitlines(keepends=True)
    time.sleep(0.05)  # past the clock tick of the first write, so the rewrite's ctime is a later one
    logins.write_text("".join(reversed(lines)))  # other content, same size
    os.utime(logins, ns=(st.st_atime_ns, st.st_mtime_ns))
    third = ingest(spark, settings, tmp_path / "spool")
    assert (third.files, third.skipped_files, third.unread_files) == (1, 1, 1), "the rewritten file was read"
    assert _count(spark, settings, "bronze", "_ingest_log") == 3
    assert _count(spark, settings, "bronze", "logins") == before["bronze/logins"] + 5


def test_truncated_or_unknown_files_change_no_table(spark: Any, settings: Settings, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "ok" / "logins" / "a.jsonl", [make_login() for _ in range(3)])
    ingest(spark, settings, tmp_path / "ok")
    before = _versions(spark, settings)
    p = write_jsonl(tmp_path / "bad" / "logins" / "b.jsonl", [make_login() for _ in range(3)])
    p.write_bytes(p.read_bytes()[:-25])
    with pytest.raises(TruncatedFileError):
        ingest(spark, settings, tmp_path / "bad")
    write_jsonl(tmp_path / "odd" / "clicks" / "c.jsonl", [make_login()])
    with pytest.raises(UnknownStreamError):
        ingest(spark, settings, tmp_path / "odd")
    assert _versions(spark, settings) == before


def test_failed_batch_restores_every_table_and_can_be_rerun(spark: Any, settings: Settings, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "logins" / "a.jsonl", [make_login() for _ in range(4)])
    ingest(spark, settings, tmp_path / "a")
    before = _contents(spark, settings)
    counts = _count(spark, settings, "bronze", "logins")
    write_jsonl(tmp_path / "b" / "logins" / "b.jsonl", [make_login() for _ in range(3)] + [make_login(outcome="?")])
    write_jsonl(tmp_path / "b" / "payments" / "b.jsonl", [make_payment()])
    with pytest.raises(RuntimeError, match="injected failure"):
        ingest(spark, settings, tmp_path / "b", _fail_after_writes=3)
    assert _contents(spark, settings) == before
    assert _count(spark, settings, "bronze", "logins") == counts
    assert not lake.exists(spark, settings.table_path("bronze", "payments"))  # created, then removed
    ingest(spark, settings, tmp_path / "b")
    assert _count(spark, settings, "bronze", "logins") == counts + 3
    assert _count(spark, settings, "silver", "payments") == 1


def test_silver_dedups_and_pseudonymizes(spark: Any, settings: Settings, tmp_path: Path) -> None:
    dup = make_login(event_id="same", ip="20.0.1.77", device_id="phone-9")
    write_jsonl(tmp_path / "s" / "logins" / "a.jsonl", [dup, make_login()])
    write_jsonl(tmp_path / "s" / "logins" / "b.jsonl", [dup])
    ingest(spark, settings, tmp_path / "s")
    assert _count(spark, settings, "bronze", "logins") == 3
    silver = lake.read(spark, settings.table_path("silver", "logins"))
    assert silver.count() == 2
    assert "ip" not in silver.columns and "device_id" not in silver.columns
    row = silver.where("event_id = 'same'").first()
    assert row is not None
    key = TEST_KEY.encode()
    assert row["ip_hash"] == pseudonymize(key, "20.0.1.77")
    assert row["device_hash"] == pseudonymize(key, "phone-9")
    assert row["ip_prefix_hash"] == pseudonymize(key, "20.0.1.0/24")
    assert (row["ua_family"], row["ua_major"], row["device_class"]) == ("chrome", 128, "desktop")


def test_reputation_is_point_in_time_and_geo_fills_gaps(spark: Any, tmp_path: Path) -> None:
    from tests.conftest import make_settings

    geo = write_csv(tmp_path / "geo.csv", [{"network": "20.5.0.0/16", "country": "DE", "city": "Berlin",
                                            "latitude": 52.5, "longitude": 13.4, "asn": 20051}])
    s = make_settings(tmp_path, geo_db=geo)
    write_csv(tmp_path / "sp" / "ip_reputation" / "feed.csv", [
        make_reputation(network="20.5.7.0/24", category="proxy", score=0.7, as_of="2026-08-01T12:00:00Z"),
        make_reputation(network="20.5.0.0/16", category="hosting", score=0.3, as_of="2026-07-01T00:00:00Z"),
    ])
    write_jsonl(tmp_path / "sp" / "logins" / "a.jsonl", [
        make_login(event_id="before", ip="20.5.7.9", event_time="2026-08-01T11:00:00Z", country=None, asn=None),
        make_login(event_id="after", ip="20.5.7.9", event_time="2026-08-01T13:00:00Z"),
        make_login(event_id="clean", ip="20.9.1.1"),
    ])
    ingest(spark, s, tmp_path / "sp")
    rows = {r["event_id"]: r for r in lake.read(spark, s.table_path("silver", "logins")).collect()}
    assert (rows["before"]["ip_rep_category"], rows["before"]["ip_rep_score"]) == ("hosting", 0.3)
    assert (rows["after"]["ip_rep_category"], rows["after"]["ip_rep_score"]) == ("proxy", 0.7)
    assert rows["clean"]["ip_rep_category"] is None
    assert (rows["before"]["country"], rows["before"]["asn"], rows["before"]["geo_source"]) == ("DE", 20051, "lookup")
    assert (rows["after"]["country"], rows["after"]["geo_source"]) == ("US", "event")


def test_rows_failing_a_ge_expectation_are_quarantined(spark: Any, settings: Settings, tmp_path: Path) -> None:
    """Contract-valid rows that break a Great Expectations suite go to quarantine, by row."""
    write_csv(tmp_path / "g" / "payments-1.csv", [
        make_payment(event_id="ok"), make_payment(event_id="tiny", amount=0.001),
        make_payment(event_id="lower", currency="usd"),
        make_payment(event_id="future", event_time="2031-01-01T00:00:00Z"),
    ])
    summary = ingest(spark, settings, tmp_path / "g")
    assert [r["event_id"] for r in lake.read(spark, settings.table_path("bronze", "payments")).collect()] == ["ok"]
    assert summary.quarantined == {
        "payments: expectation failed: expect_column_values_to_be_between(amount)": 1,
        "payments: expectation failed: expect_column_values_to_match_regex(currency)": 1,
        "payments: expectation failed: expect_column_values_to_be_between(event_time)": 1,
    }


def test_a_spool_file_still_being_written_is_ingested_whole_once_closed(spark: Any, settings: Settings,
                                                                       tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ato.online.decide.appender import JsonlAppender

    api = JsonlAppender(tmp_path / "spool" / "logins", "api", close_idle_s=3600)  # as /v1/events appends
    at = datetime(2026, 8, 1, 10, tzinfo=UTC)
    for _ in range(3):
        api.append(make_login(), now=at)
    first = ingest(spark, settings, tmp_path / "spool")
    assert first.files == 0 and not lake.exists(spark, settings.table_path("bronze", "logins"))
    api.append(make_login(), now=at)  # it grew meanwhile
    api.close()
    second = ingest(spark, settings, tmp_path / "spool")
    assert second.files == 1 and _count(spark, settings, "bronze", "logins") == 4
    assert ingest(spark, settings, tmp_path / "spool").files == 0


def test_events_of_an_erased_account_dated_up_to_its_erasure_go_nowhere(spark: Any, tmp_path: Path) -> None:
    """A file arriving after `ato forget` (a next-day export) with the erased account's events: those
    dated up to the erasure, or undated, go neither to bronze nor to quarantine, only into the
    ledger's count; its later login, and every other account's rows, are ingested as ever."""
    import json

    from ato.privacy.erased import RECORDS, folder
    from ato.privacy.forget import Erasure, subject

    settings = make_settings(tmp_path, ATO_INGEST__MAX_QUARANTINE_FRACTION="0.9")
    gone, kept = "acct_0000042", "acct_0000007"
    record = Erasure(subject(settings, gone), "erasure request", "2026-08-01T11:59:00+00:00",
                     finished_at="2026-08-01T12:00:00+00:00")
    folder(settings).mkdir(parents=True)
    (folder(settings) / RECORDS).write_text(json.dumps(record.as_dict()) + "\n")
    at = "2026-08-01T{}:00:00Z".format
    write_jsonl(tmp_path / "spool" / "logins" / "export.jsonl", [
        make_login(account_id=gone, event_time=at(10)),
        make_login(account_id=gone, event_time=at(11), latitude="north"),  # would be quarantined
        make_login(account_id=gone, event_time="2026-08-01 25:99"),  # undated
        make_login(account_id=gone, event_time=at(14)),  # after the erasure: new activity
        make_login(account_id=kept, event_time=at(10)),
        make_login(account_id=kept, event_time=at(11)),
        make_login(account_id=kept, event_time=at(11), latitude="north"),
    ])
    write_jsonl(tmp_path / "spool" / "payments" / "export.jsonl",
                [make_payment(account_id=gone), make_payment(account_id=kept)])
    summary = ingest(spark, settings, tmp_path / "spool")

    def rows(layer: str, table: str) -> list[tuple[str, int]]:
        got = lake.read(spark, settings.table_path(layer, table)).select("account_id", "event_time").collect()
        return sorted((r[0], r[1].hour) for r in got)

    assert rows("bronze", "logins") == rows("silver", "logins") == [(kept, 10), (kept, 11), (gone, 14)]
    assert [r[0] for r in rows("bronze", "payments")] == [kept]
    quarantine = lake.read(spark, settings.table_path("bronze", "quarantine")).collect()
    assert len(quarantine) == 1 and kept in quarantine[0]["raw"] and not [q for q in quarantine if gone in q["raw"]]
    ledger = {r["stream"]: r for r in lake.read(spark, settings.table_path("bronze", "_ingest_log")).collect()}
    counts = ("rows_in", "rows_bronze", "rows_quarantined", "rows_erased")
    assert tuple(ledger["logins"][c] for c in counts) == (7, 3, 1, 3)
    assert tuple(ledger["payments"][c] for c in counts) == (2, 1, 0, 1)
    assert summary.erased_rows == 4 and summary.quarantined_rows == 1
    assert summary.quarantine_share["logins"] == pytest.approx(1 / 7), "erased rows are not quarantined ones"
