"""Silver (ato.spark.silver) from hand-made bronze rows: deduplicated by key (first ingested wins),
keyed HMAC instead of raw IPs and device ids, geo from the event or the offline DB, reputation
known at event time, parsed user agents; re-running a date replaces exactly that date."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ato.privacy import key_fingerprint
from ato.settings import Settings
from ato.spark import lake
from ato.spark.silver import build_silver, transform
from tests.builders import (
    bronze_frame,
    frame,
    make_label,
    make_login,
    make_payment,
    make_session,
    ts,
    write_csv,
)
from tests.conftest import TEST_KEY, make_settings
from tests.spark.exact import assert_rows, rows

pytestmark = pytest.mark.spark
D1, D2 = date(2026, 8, 1), date(2026, 8, 2)
CHROME = make_login()["user_agent"]


def h(value: str) -> str:
    """The keyed HMAC as the stdlib computes it (Spark builds it from SHA-256 by hand)."""
    return hmac.new(TEST_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def test_silver_logins_dedup_hash_and_enrich(spark: Any, tmp_path: Path) -> None:
    geo = write_csv(tmp_path / "geo.csv", [
        {"network": "20.0.0.0/16", "country": "US", "city": "Boston", "latitude": 42.3, "longitude": -71.0, "asn": 20002},
        {"network": "20.0.1.0/24", "country": "US", "city": "New York", "latitude": 40.7, "longitude": -74.0, "asn": 20001},
    ])
    s = make_settings(tmp_path, geo_db=geo)
    rep = frame(spark, "network string, category string, score double, as_of timestamp, event_date date", [
        {"network": "20.0.1.0/24", "category": "hosting", "score": 0.4, "as_of": ts("2026-07-01T00:00"), "event_date": date(2026, 7, 1)},
        {"network": "198.51.100.0/24", "category": "botnet", "score": 0.9, "as_of": ts("2026-08-05T00:00"), "event_date": date(2026, 8, 5)},
    ])
    lake.replace_where(rep, s.table_path("silver", "ip_reputation"), "true", ["event_date"])
    e1 = make_login(event_id="e1", event_time="2026-08-01T10:00:00Z", ip="20.0.1.10", device_id="dev-1",
                    session_id="ss-1", extra={"tenant": "eu-1"})
    bronze = bronze_frame(spark, "logins", [
        {**e1, "outcome": "bad_password", "_ingested_at": ts("2026-08-03T00:00")},  # a later copy: dropped
        e1,
        make_login(event_id="e2", event_time="2026-08-01T11:00:00Z", ip="::ffff:20.0.2.20", device_id=None, country=None,
                   city=None, latitude=None, longitude=None, asn=None, user_agent="python-requests/2.31.0",
                   channel="api", session_id=None),
        make_login(event_id="e3", event_time="2026-08-02T12:00:00Z", ip="2001:DB8:0:1:0:0:0:9", device_id="dev-3",
                   outcome="bad_mfa", country=None, city=None, latitude=None, longitude=None, asn=None,
                   session_id=None),
    ])
    chrome = {"ua_family": "chrome", "ua_major": 128, "os_family": "windows",  # no raw user agent in silver
              "device_class": "desktop", "is_automation_ua": False}
    common = {"account_id": "acct_0000001", "extra": {}, "_ingest_id": "ing_test", "ip_rep_category": None,
              "ip_rep_score": None, "key_id": key_fingerprint(TEST_KEY.encode()), **chrome}  # the key's id
    assert_rows(transform(spark, s, "logins", bronze), [
        {**common, "event_id": "e1", "event_time": ts("2026-08-01T10:00"), "event_date": D1, "outcome": "success",
         "channel": "web", "session_id": "ss-1", "extra": {},  # "tenant" stays in bronze: not allow-listed
         "country": "US", "city": "New York", "latitude": 40.7, "longitude": -74.0, "asn": 20001,
         "geo_source": "event", "ip_rep_category": "hosting", "ip_rep_score": 0.4,
         "ip_hash": h("20.0.1.10"), "ip_prefix_hash": h("20.0.1.0/24"), "device_hash": h("dev-1")},
        {**common, "event_id": "e2", "event_time": ts("2026-08-01T11:00"), "event_date": D1, "outcome": "success",
         "channel": "api", "session_id": None,
         "country": "US", "city": "Boston", "latitude": 42.3, "longitude": -71.0, "asn": 20002,  # the /16
         "geo_source": "lookup", "ua_family": "script", "ua_major": 2,  # IPv4-mapped: normalized, then looked up
         "os_family": "other", "device_class": "bot", "is_automation_ua": True,
         "ip_hash": h("20.0.2.20"), "ip_prefix_hash": h("20.0.2.0/24"), "device_hash": None},
        {**common, "event_id": "e3", "event_time": ts("2026-08-02T12:00"), "event_date": D2, "outcome": "bad_mfa",
         "channel": "web", "session_id": None,
         "country": None, "city": None, "latitude": None, "longitude": None, "asn": None,
         "geo_source": None,  # no geo for IPv6 (the offline database is IPv4)
         "ip_hash": h("2001:db8:0:1::9"), "ip_prefix_hash": h("2001:db8:0:1::/64"), "device_hash": h("dev-3")},
    ], order=("event_id",))


def test_silver_sessions_labels_and_payments(spark: Any, settings: Settings) -> None:
    sessions = bronze_frame(spark, "sessions", [
        make_session(session_id="s1", started_at="2026-08-01T10:00:00Z", ended_at="2026-08-01T10:02:05Z"),
        make_session(session_id="s2", started_at="2026-08-01T11:00:00Z", ended_at=None),
    ])
    assert [(r["session_id"], r["duration_s"]) for r in rows(transform(spark, settings, "sessions", sessions),
                                                           ("session_id",))] == [("s1", 125), ("s2", None)]
    label = make_label(login_event_id=None, reported_at="2026-08-03T09:00:00Z",
                       extra={"attack_type": "mimicry", "agent_email": "jane@example.com"})
    got = rows(transform(spark, settings, "labels", bronze_frame(spark, "labels", [label, label])), ("label_id",))
    key = "\x01".join(["acct_0000001", "", "ato", "customer_report", "2026-08-03 09:00:00"])
    assert [r["label_id"] for r in got] == [hashlib.sha256(key.encode()).hexdigest()]  # one row: deduplicated
    assert got[0]["extra"] == {"attack_type": "mimicry"}  # privacy.silver_extra_keys: the rest stays in bronze
    pays = bronze_frame(spark, "payments", [make_payment(event_id="p1", ip=None, device_id="dev-9"),
                                            make_payment(event_id="p2", ip="010.0.0.1")])
    p, p2 = rows(transform(spark, settings, "payments", pays), ("event_id",))
    assert (p["ip_hash"], p["device_hash"]) == (None, h("dev-9"))
    assert (p["payee_hash"], p["payment_method_hash"]) == (h("payee_1"), h("pm_1"))  # pseudonymized like devices
    assert p2["ip_hash"] == h("10.0.0.1")
    assert not {"ip", "device_id", "payee_id", "payment_method_id", "_source_file", "_row_id", "_ingested_at"} & set(p)


def test_rebuilding_a_date_replaces_that_date_only(spark: Any, settings: Settings) -> None:
    bronze_path, silver_path = settings.table_path("bronze", "payments"), settings.table_path("silver", "payments")
    first = [make_payment(event_id="p1", event_time="2026-08-01T10:00:00Z"),
             make_payment(event_id="p2", event_time="2026-08-02T10:00:00Z")]
    lake.replace_where(bronze_frame(spark, "payments", first), bronze_path, "true", ["event_date"])
    build_silver(spark, settings, "payments", [D1, D2])
    late = [make_payment(event_id="p3", event_time="2026-08-02T23:00:00Z", _ingest_id="ing_late"),
            make_payment(event_id="p1", event_time="2026-08-01T10:00:00Z", _ingest_id="ing_late", amount=99.0)]
    bronze_frame(spark, "payments", late).write.format("delta").mode("append").save(bronze_path)
    build_silver(spark, settings, "payments", [D2])
    build_silver(spark, settings, "payments", [D2])  # a re-run changes nothing
    got = sorted((r["event_id"], r["event_date"], r["amount"], r["_ingest_id"])
                 for r in lake.read(spark, silver_path).collect())
    # p1's late copy is in bronze but D1 was not rebuilt; p3 arrived late for D2
    assert got == [("p1", D1, 42.5, "ing_test"), ("p2", D2, 42.5, "ing_test"), ("p3", D2, 42.5, "ing_late")]
    assert lake.version(spark, silver_path) == 2
