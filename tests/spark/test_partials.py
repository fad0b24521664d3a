"""Daily partials (ato.spark.partials) on a few hand-made silver rows: two accounts (and one with
a payment only) over two days, every column of every row written out by hand."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from ato.settings import Settings
from ato.spark import gold, lake
from ato.spark.partials import build_partials
from tests.builders import (
    SILVER_CHANGES,
    SILVER_LOGINS,
    SILVER_PAYMENTS,
    SILVER_SESSIONS,
    account_partial,
    frame,
    silver_change,
    silver_login,
    silver_payment,
    silver_session,
    ts,
)
from tests.spark.exact import assert_rows

pytestmark = pytest.mark.spark
D1, D2, D3, D4 = date(2026, 8, 1), date(2026, 8, 2), date(2026, 8, 3), date(2026, 8, 4)
HALF_SQRT2 = math.sqrt(2) / 2


def _silver(spark: Any) -> dict[str, Any]:
    """Hours chosen for round angles: 00:00 -> 0, 03:00 -> pi/4, 06:00 -> pi/2, 18:00 -> 3pi/2."""
    logins = [
        silver_login(account_id="A", event_time="2026-08-01T00:00", device_hash="d1", ip_hash="i1"),
        silver_login(account_id="A", event_time="2026-08-01T12:00", outcome="bad_password", device_hash="d2",
                     ip_hash="i2", country="FR", asn=200, latitude=48.8, longitude=2.3),
        silver_login(account_id="A", event_time="2026-08-01T06:00", device_hash="d1", ip_hash="i3",
                     latitude=41.0, longitude=-73.0),
        silver_login(account_id="A", event_time="2026-08-02T18:00", device_hash="d3", ip_hash="i1"),
        silver_login(account_id="B", event_time="2026-08-01T09:00", outcome="unknown_account", device_hash=None,
                     ip_hash="i2", country=None, asn=None, latitude=None, longitude=None),
        silver_login(account_id="B", event_time="2026-08-02T03:00", device_hash="d4", ip_hash="i4", country="DE",
                     asn=300, latitude=52.5, longitude=13.4),
        silver_login(account_id="A", event_time="2026-08-03T08:00", device_hash="d_late", ip_hash="i_late"),
    ]
    sessions = [
        silver_session(account_id="A", started_at="2026-08-01T01:00", ended_at=ts("2026-08-01T01:01"), duration_s=60),
        silver_session(account_id="A", started_at="2026-08-01T02:00", ended_at=ts("2026-08-01T02:02"), duration_s=120),
        silver_session(account_id="A", started_at="2026-08-01T03:00"),  # still open: counted, not ended
        silver_session(account_id="A", started_at="2026-08-03T03:00", ended_at=ts("2026-08-03T04:00"), duration_s=3600),
    ]
    payments = [
        silver_payment(account_id="A", event_time="2026-08-01T13:00", amount=30.5, status="failed"),
        silver_payment(account_id="A", event_time="2026-08-01T14:00", amount=5.25, status="declined"),
        silver_payment(account_id="A", event_time="2026-08-01T15:00", amount=10.0, status="succeeded"),
        silver_payment(account_id="B", event_time="2026-08-02T10:00", amount=100.0),
        silver_payment(account_id="C", event_time="2026-08-02T11:00", amount=7.5, status="refunded"),
    ]
    return {"logins": frame(spark, SILVER_LOGINS, logins), "sessions": frame(spark, SILVER_SESSIONS, sessions),
            "payments": frame(spark, SILVER_PAYMENTS, payments),
            "account_changes": frame(spark, SILVER_CHANGES, [silver_change(account_id="B", event_time="2026-08-01T20:00")])}


def _last_ok(time: str, lat: float, lon: float, country: str, asn: int) -> dict[str, Any]:
    return {"time": ts(time), "lat": lat, "lon": lon, "country": country, "asn": asn}


def test_account_partials_count_union_and_keep_the_latest_login(spark: Any) -> None:
    got = build_partials(_silver(spark), [D1, D2])["account"]
    us = {"countries": ["US"], "asns": [100], "ok_countries": ["US"], "ok_asns": [100]}
    assert_rows(got, [
        account_partial(
            account_id="A", event_date=D1, logins=3, failed_logins=1, successful_logins=2,
            devices=["d1", "d2"], ips=["i1", "i2", "i3"], countries=["FR", "US"], asns=[100, 200],
            ok_devices=["d1"], ok_ips=["i1", "i3"], ok_countries=["US"], ok_asns=[100],
            hour_sin=1.0, hour_cos=1.0, first_ok_login=ts("2026-08-01T00:00"),
            last_ok=_last_ok("2026-08-01T06:00", 41.0, -73.0, "US", 100),
            sessions=3, session_s_sum=180.0, session_s_sq_sum=60.0**2 + 120.0**2, sessions_ended=2, session_s_max=120,
            payments=3, payment_amount_sum=45.75, payment_amount_max=30.5, failed_payments=2,
            last_failed_payment=ts("2026-08-01T14:00")),
        account_partial(
            account_id="A", event_date=D2, logins=1, successful_logins=1, devices=["d3"], ips=["i1"],
            ok_devices=["d3"], ok_ips=["i1"], **us, hour_sin=-1.0, hour_cos=0.0,
            first_ok_login=ts("2026-08-02T18:00"), last_ok=_last_ok("2026-08-02T18:00", 40.0, -74.0, "US", 100)),
        account_partial(account_id="B", event_date=D1, logins=1, failed_logins=1, ips=["i2"], account_changes=1),
        account_partial(
            account_id="B", event_date=D2, logins=1, successful_logins=1, devices=["d4"], ips=["i4"],
            countries=["DE"], asns=[300], ok_devices=["d4"], ok_ips=["i4"], ok_countries=["DE"], ok_asns=[300],
            hour_sin=HALF_SQRT2, hour_cos=HALF_SQRT2, first_ok_login=ts("2026-08-02T03:00"),
            last_ok=_last_ok("2026-08-02T03:00", 52.5, 13.4, "DE", 300),
            payments=1, payment_amount_sum=100.0, payment_amount_max=100.0),
        account_partial(account_id="C", event_date=D2, payments=1, payment_amount_sum=7.5, payment_amount_max=7.5),
    ], order=("account_id", "event_date"))


def test_ip_and_device_partials_name_the_accounts_behind_a_key(spark: Any) -> None:
    parts = build_partials(_silver(spark), [D1, D2])

    def e(key: str, k: str, day: date, attempts: int, failures: int, accounts: list[str], first: str, last: str) -> dict[str, Any]:
        return {key: k, "event_date": day, "attempts": attempts, "failures": failures, "accounts": accounts,
                "first_seen": ts(first), "last_seen": ts(last)}

    assert_rows(parts["ip"], [
        e("ip_hash", "i1", D1, 1, 0, ["A"], "2026-08-01T00:00", "2026-08-01T00:00"),
        e("ip_hash", "i1", D2, 1, 0, ["A"], "2026-08-02T18:00", "2026-08-02T18:00"),
        e("ip_hash", "i2", D1, 2, 2, ["A", "B"], "2026-08-01T09:00", "2026-08-01T12:00"),
        e("ip_hash", "i3", D1, 1, 0, ["A"], "2026-08-01T06:00", "2026-08-01T06:00"),
        e("ip_hash", "i4", D2, 1, 0, ["B"], "2026-08-02T03:00", "2026-08-02T03:00"),
    ], order=("ip_hash", "event_date"))
    assert_rows(parts["device"], [  # B's login without a device is no device's
        e("device_hash", "d1", D1, 2, 0, ["A"], "2026-08-01T00:00", "2026-08-01T06:00"),
        e("device_hash", "d2", D1, 1, 1, ["A"], "2026-08-01T12:00", "2026-08-01T12:00"),
        e("device_hash", "d3", D2, 1, 0, ["A"], "2026-08-02T18:00", "2026-08-02T18:00"),
        e("device_hash", "d4", D2, 1, 0, ["B"], "2026-08-02T03:00", "2026-08-02T03:00"),
    ], order=("device_hash", "event_date"))


def test_a_night_derives_missing_days_then_only_the_latest_two(spark: Any, settings: Settings) -> None:
    """gold.build_partials_for: every window day with silver logins but no partial, plus the last
    `rebuild_partials_days` (2) days that have logins; other streams may not exist yet."""
    assert settings.batch.rebuild_partials_days == 2
    logins = frame(spark, SILVER_LOGINS, [silver_login(event_time=f"2026-08-0{d}T10:00") for d in (1, 3, 4, 4)])
    lake.replace_where(logins, settings.table_path("silver", "logins"), "true", ["event_date"])
    assert gold.build_partials_for(spark, settings, [D4]) == [D1, D3, D4]  # no logins on D2: no partial
    assert gold.build_partials_for(spark, settings, [D4]) == [D3, D4]  # the night's day and the one before
    path = settings.table_path("gold", "account_activity_daily")
    assert lake.version(spark, path) == 1
    days = sorted((r["event_date"], r["logins"]) for r in lake.read(spark, path).collect())
    assert days == [(D1, 1), (D3, 1), (D4, 2)]


def test_exact_sum_gives_the_same_bits_whatever_the_order_and_partitioning(spark: Any) -> None:
    """Doubles added in different orders differ in the last bits; the fixed-point sum does not,
    and it stays within the rounding step of the true sum (math.fsum)."""
    import random

    from pyspark.sql import functions as F

    from ato.spark.partials import HOUR_SCALE, exact_sum

    rng = random.Random(7)
    values = [rng.uniform(-1, 1) for _ in range(2_000)]
    assert sum(values) != sum(reversed(values))  # plain double sums do depend on order
    df = spark.createDataFrame([(i % 3, v) for i, v in enumerate(values)], "k int, v double")
    sums = set()
    for parts, seed in ((1, 1), (4, 2), (7, 3)):
        shuffled = df.repartition(parts).orderBy(F.rand(seed)).repartition(parts)
        got = {r.k: r.s for r in shuffled.groupBy("k").agg(exact_sum("v", HOUR_SCALE).alias("s")).collect()}
        sums.add(tuple(sorted(got.items())))
        for k, s in got.items():
            assert s == pytest.approx(math.fsum(values[k::3]), abs=1e-12)
    assert len(sums) == 1
