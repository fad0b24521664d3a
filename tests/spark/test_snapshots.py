"""30-day snapshots (ato.spark.snapshots) rolled up from hand-made partials: the window's edges
(D-29 in, D-30 out, D+1 out), two as-of dates in one job, every column computed by hand."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from ato.spark.snapshots import account_snapshot, entity_snapshot
from tests.builders import (
    ACCOUNT_PARTIALS,
    ENTITY_PARTIALS,
    account_partial,
    entity_partial,
    frame,
    ts,
)
from tests.spark.exact import assert_rows

pytestmark = pytest.mark.spark
AUG31, SEP1 = date(2026, 8, 31), date(2026, 9, 1)
DAY = 86_400.0
TO_HOURS = 24 / (2 * math.pi)


def _last_ok(time: str, lat: float, lon: float, country: str, asn: int) -> dict[str, Any]:
    return {"time": ts(time), "lat": lat, "lon": lon, "country": country, "asn": asn}


def _account_partials(spark: Any) -> Any:
    """A: Aug 1 (D-30 of Aug 31: out), Aug 2 (D-29: in), Aug 31 (D), Sep 1 (D+1); B: Aug 1 only."""
    return frame(spark, ACCOUNT_PARTIALS, [
        account_partial(event_date=date(2026, 8, 1), logins=5, failed_logins=5, devices=["d_old"], ips=["i_old"],
                        countries=["CN"], asns=[999]),
        account_partial(  # one successful login at 06:00 (angle pi/2)
            event_date=date(2026, 8, 2), logins=2, failed_logins=1, successful_logins=1, devices=["d1", "d2"],
            ips=["i1"], countries=["US"], asns=[100], ok_devices=["d1"], ok_ips=["i1"], ok_countries=["US"],
            ok_asns=[100], hour_sin=1.0, hour_cos=0.0, first_ok_login=ts("2026-08-02T06:00"),
            last_ok=_last_ok("2026-08-02T06:00", 40.0, -74.0, "US", 100),
            sessions=2, session_s_sum=100.0, session_s_sq_sum=40.0**2 + 60.0**2, sessions_ended=2, session_s_max=60,
            payments=1, payment_amount_sum=50.0, payment_amount_max=50.0, failed_payments=1,
            last_failed_payment=ts("2026-08-02T07:00"), account_changes=1),
        account_partial(  # successful logins at 00:00, 00:00 and 06:00
            event_date=AUG31, logins=3, successful_logins=3, devices=["d1", "d3"], ips=["i1", "i2"],
            countries=["FR", "US"], asns=[100, 200], ok_devices=["d1", "d3"], ok_ips=["i1", "i2"],
            ok_countries=["FR", "US"], ok_asns=[100, 200], hour_sin=1.0, hour_cos=2.0,
            first_ok_login=ts("2026-08-31T00:00"), last_ok=_last_ok("2026-08-31T06:00", 48.8, 2.3, "FR", 200),
            sessions=1, session_s_sum=200.0, session_s_sq_sum=200.0**2, sessions_ended=1, session_s_max=200,
            payments=2, payment_amount_sum=30.0, payment_amount_max=20.0),
        account_partial(  # one successful login at 00:00
            event_date=SEP1, logins=1, successful_logins=1, devices=["d9"], ips=["i9"], countries=["US"], asns=[100],
            ok_devices=["d9"], ok_ips=["i9"], ok_countries=["US"], ok_asns=[100], hour_sin=0.0, hour_cos=1.0,
            first_ok_login=ts("2026-09-01T00:00"), last_ok=_last_ok("2026-09-01T00:00", 40.0, -74.0, "US", 100)),
        account_partial(account_id="B", event_date=date(2026, 8, 1), logins=1, successful_logins=1),
    ])


def test_account_snapshot_of_two_as_of_dates(spark: Any) -> None:
    got = account_snapshot(_account_partials(spark), [AUG31, SEP1])
    last_aug31, last_sep1 = ts("2026-08-31T06:00"), ts("2026-09-01T00:00")
    assert_rows(got, [
        {"account_id": "A", "as_of_date": AUG31,  # partials of Aug 2 and Aug 31
         "logins_30d": 5, "failed_logins_30d": 1, "successful_logins_30d": 4, "failed_login_rate_30d": 0.2,
         "distinct_devices_30d": 3, "distinct_ips_30d": 2, "distinct_countries_30d": 2, "distinct_asns_30d": 2,
         "days_active_30d": 2,
         # mean (sin, cos) = (2/4, 2/4): angle pi/4 = 03:00, resultant length sqrt(1/2)
         "hour_mean": 3.0, "hour_spread": math.sqrt(math.log(2)) * TO_HOURS,
         "mean_s_between_logins_30d": 29 * DAY / 3,  # Aug 2 06:00 .. Aug 31 06:00 over 4 logins
         "sessions_30d": 3, "session_mean_s_30d": 100.0,
         "session_std_s_30d": math.sqrt((40.0**2 + 60.0**2 + 200.0**2) / 3 - 100.0**2), "session_max_s_30d": 200.0,
         "payments_30d": 3, "payment_amount_mean_30d": 80.0 / 3, "payment_amount_max_30d": 50.0,
         "failed_payments_30d": 1, "days_since_failed_payment": 29 + 17 / 24,  # Aug 2 07:00 .. Sep 1 00:00
         "account_changes_30d": 1,
         "known_devices": ["d1", "d3"], "known_ips": ["i1", "i2"], "known_countries": ["FR", "US"],
         "known_asns": [100, 200], "last_login_time": last_aug31, "last_login_s": last_aug31.timestamp(),
         "last_login_lat": 48.8, "last_login_lon": 2.3, "last_login_country": "FR", "last_login_asn": 200},
        {"account_id": "A", "as_of_date": SEP1,  # partials of Aug 31 and Sep 1 (Aug 2 has left)
         "logins_30d": 4, "failed_logins_30d": 0, "successful_logins_30d": 4, "failed_login_rate_30d": 0.0,
         "distinct_devices_30d": 3, "distinct_ips_30d": 3, "distinct_countries_30d": 2, "distinct_asns_30d": 2,
         "days_active_30d": 2,
         # mean (sin, cos) = (1/4, 3/4)
         "hour_mean": math.atan2(1, 3) * TO_HOURS, "hour_spread": math.sqrt(-math.log(0.625)) * TO_HOURS,
         "mean_s_between_logins_30d": DAY / 3,  # Aug 31 00:00 .. Sep 1 00:00 over 4 logins
         "sessions_30d": 1, "session_mean_s_30d": 200.0, "session_std_s_30d": 0.0, "session_max_s_30d": 200.0,
         "payments_30d": 2, "payment_amount_mean_30d": 15.0, "payment_amount_max_30d": 20.0,
         "failed_payments_30d": 0, "days_since_failed_payment": None, "account_changes_30d": 0,
         "known_devices": ["d1", "d3", "d9"], "known_ips": ["i1", "i2", "i9"], "known_countries": ["FR", "US"],
         "known_asns": [100, 200], "last_login_time": last_sep1, "last_login_s": last_sep1.timestamp(),
         "last_login_lat": 40.0, "last_login_lon": -74.0, "last_login_country": "US", "last_login_asn": 100},
        # B was last seen on Aug 1: outside both windows, no row
    ], order=("account_id", "as_of_date"))


def test_entity_snapshot_counts_the_window_but_first_seen_looks_further_back(spark: Any) -> None:
    partials = frame(spark, ENTITY_PARTIALS.format(key="ip_hash"), [
        entity_partial(ip_hash="iA", event_date=date(2026, 8, 1), attempts=4, failures=4, accounts=["A", "B"],
                       first_seen=ts("2026-08-01T01:00"), last_seen=ts("2026-08-01T02:00")),
        entity_partial(ip_hash="iA", event_date=date(2026, 8, 15), attempts=2, failures=1, accounts=["A", "C"],
                       first_seen=ts("2026-08-15T10:00"), last_seen=ts("2026-08-15T11:00")),
        entity_partial(ip_hash="iA", event_date=AUG31, attempts=3, failures=0, accounts=["A"],
                       first_seen=ts("2026-08-31T05:00"), last_seen=ts("2026-08-31T06:00")),
        entity_partial(ip_hash="iB", event_date=date(2026, 8, 1)),
    ])
    assert_rows(entity_snapshot(partials, "ip", [AUG31]), [
        {"ip_hash": "iA", "as_of_date": AUG31, "attempts_30d": 5, "failures_30d": 1, "failure_rate_30d": 0.2,
         "distinct_accounts_30d": 2, "days_active_30d": 2,  # A and C: B was only there on Aug 1
         "first_seen": ts("2026-08-01T01:00"), "last_seen": ts("2026-08-31T06:00"),
         "age_days": 30 + 23 / 24},  # Aug 1 01:00 .. Sep 1 00:00
    ], order=("ip_hash", "as_of_date"))
