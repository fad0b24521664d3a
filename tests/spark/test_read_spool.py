"""Reading a spool (ato.spark.read_spool) and checking it against the contract: a JSONL file and
a flat CSV file of logins, with an unknown field (-> `extra`), bad rows (-> reasons, then
quarantine) and a malformed line; ingest writes exactly those rows to bronze and quarantine."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ato.ingest.discover import discover
from ato.settings import Settings
from ato.spark import lake
from ato.spark.ingest import ingest
from ato.spark.read_spool import read_stream
from ato.spark.validate import apply_contract
from tests.builders import make_login, ts, write_csv
from tests.spark.exact import assert_rows, rows

pytestmark = pytest.mark.spark
BROKEN = '{"event_id": "broken", "event_time": "2026-08-01T09:'


def _spool(root: Path) -> tuple[Path, Path, Path]:
    spool = root.resolve() / "spool"  # files are named by their resolved path
    jsonl = spool / "logins" / "part-1.jsonl"
    jsonl.parent.mkdir(parents=True)
    jsonl.write_text("\n".join([
        json.dumps(make_login(event_id="j1", tenant="eu-1")),
        BROKEN,
        json.dumps(make_login(event_id="j2", outcome="maybe", event_time="2026-08-02T07:00:00Z")),
    ]) + "\n")
    csv = write_csv(spool / "logins-0801.csv", [
        make_login(event_id="c1", device_id=None, latitude=40.5, tenant="eu-2"),
        make_login(event_id="c2", latitude="north", tenant=None),
    ])
    return spool, jsonl, csv


def test_read_stream_then_the_contract(spark: Any, tmp_path: Path) -> None:
    spool, jsonl, csv = _spool(tmp_path)
    files = discover(spool)
    assert sorted((f.stream, f.fmt) for f in files) == [("logins", "csv"), ("logins", "jsonl")]
    raw = read_stream(spark, files)
    got = {(r["source_file"], r["fields"]["event_id"] if r["fields"] else None): r for r in rows(raw, ("raw",))}
    assert set(got) == {(str(jsonl), "j1"), (str(jsonl), None), (str(jsonl), "j2"), (str(csv), "c1"), (str(csv), "c2")}
    broken = got[(str(jsonl), None)]
    assert broken["raw"] == BROKEN and broken["fields"] is None
    assert broken["_row_id"] == hashlib.sha256(f"{jsonl}\x01{BROKEN}".encode()).hexdigest()
    j1 = got[(str(jsonl), "j1")]  # JSON values as text, JSON null as null
    assert j1["fields"]["latitude"] == "40.7" and j1["fields"]["asn"] == "20001" and j1["fields"]["tenant"] == "eu-1"
    c1 = got[(str(csv), "c1")]  # CSV: every header column, an empty field is null
    assert c1["fields"]["device_id"] is None and c1["fields"]["latitude"] == "40.5"
    assert json.loads(c1["raw"])["event_id"] == "c1"

    checked = apply_contract(raw, "logins").select("event_id", "event_time", "device_id", "latitude", "extra", "reasons")
    at = {"j1": "2026-08-01T10:00", "j2": "2026-08-02T07:00", "c1": "2026-08-01T10:00", "c2": "2026-08-01T10:00"}
    assert_rows(checked, [
        {"event_id": "j1", "event_time": ts(at["j1"]), "device_id": "dev-1", "latitude": 40.7,
         "extra": {"tenant": "eu-1"}, "reasons": []},
        {"event_id": "j2", "event_time": ts(at["j2"]), "device_id": "dev-1", "latitude": 40.7,
         "extra": {}, "reasons": ["unknown value: outcome"]},
        {"event_id": "c1", "event_time": ts(at["c1"]), "device_id": None, "latitude": 40.5,
         "extra": {"tenant": "eu-2"}, "reasons": []},
        {"event_id": "c2", "event_time": ts(at["c2"]), "device_id": "dev-1", "latitude": None,
         "extra": {}, "reasons": ["invalid number: latitude"]},  # empty tenant: not an extra
        {"event_id": None, "event_time": None, "device_id": None, "latitude": None,
         "extra": {}, "reasons": ["malformed record"]},
    ], order=("event_id",))


def test_ingest_sends_good_rows_to_bronze_and_bad_ones_to_quarantine(spark: Any, settings: Settings, tmp_path: Path) -> None:
    spool, jsonl, csv = _spool(tmp_path)
    ingest(spark, settings, spool)
    bronze = lake.read(spark, settings.table_path("bronze", "logins")).select("event_id", "extra", "event_date", "_source_file")
    assert_rows(bronze, [
        {"event_id": "j1", "extra": {"tenant": "eu-1"}, "event_date": date(2026, 8, 1), "_source_file": str(jsonl)},
        {"event_id": "c1", "extra": {"tenant": "eu-2"}, "event_date": date(2026, 8, 1), "_source_file": str(csv)},
    ], order=("event_id",))
    q = lake.read(spark, settings.table_path("bronze", "quarantine")).select(
        "stream", "reason", "reasons", "event_date", "_source_file")
    assert_rows(q, [  # event_date: the first date in the raw record, for the input gate
        {"stream": "logins", "reason": "unknown value: outcome", "reasons": ["unknown value: outcome"],
         "event_date": date(2026, 8, 2), "_source_file": str(jsonl)},
        {"stream": "logins", "reason": "invalid number: latitude", "reasons": ["invalid number: latitude"],
         "event_date": date(2026, 8, 1), "_source_file": str(csv)},
        {"stream": "logins", "reason": "malformed record", "reasons": ["malformed record"],
         "event_date": date(2026, 8, 1), "_source_file": str(jsonl)},
    ], order=("reason",))
