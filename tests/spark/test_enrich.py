"""Enrichment column expressions (ato.spark.enrich) on a few rows: the point-in-time,
longest-prefix reputation lookup, the keyed HMAC against the stdlib, /24 prefixes and user agents."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ato.privacy import ip_prefix, normalize_ip
from ato.spark.enrich import cidr_lookup, hmac_hex, with_hmac_pads, with_normal_ip, with_user_agent
from tests.builders import bronze_frame, frame, make_login, ts
from tests.spark.exact import assert_rows

pytestmark = pytest.mark.spark

FEED = pd.DataFrame({  # one /8 listed twice, a /16 and a /24 inside it, each known from `as_of`
    "network": ["10.0.0.0/8", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"],
    "category": ["hosting", "hosting", "proxy", "botnet"],
    "score": [0.3, 0.5, 0.6, 0.9],
    "as_of": pd.to_datetime(["2026-07-01T00:00Z", "2026-08-01T00:00Z", "2026-08-01T12:00Z", "2026-08-02T00:00Z"]),
})


def test_reputation_is_the_most_specific_network_known_at_event_time(spark: Any) -> None:
    cases = [  # id, ip, event time -> category, score
        ("a", "10.1.2.3", "2026-08-03T00:00", "botnet", 0.9),   # all known: the /24
        ("b", "10.1.2.3", "2026-08-02T00:00", "botnet", 0.9),   # the /24's very second
        ("c", "10.1.2.3", "2026-08-01T13:00", "proxy", 0.6),    # /24 not yet: the /16
        ("d", "10.1.2.3", "2026-08-01T06:00", "hosting", 0.5),  # only the /8, its latest listing
        ("e", "10.9.9.9", "2026-07-15T00:00", "hosting", 0.3),  # the /8 before its re-listing
        ("f", "10.1.2.3", "2026-06-01T00:00", None, None),      # nothing known yet
        ("g", "11.0.0.1", "2026-08-03T00:00", None, None),      # in no network
        ("h", None, "2026-08-03T00:00", None, None),
        ("i", "not-an-ip", "2026-08-03T00:00", None, None),
    ]
    events = frame(spark, "id string, ip string, event_time timestamp",
                   [{"id": i, "ip": ip, "event_time": ts(t)} for i, ip, t, _, _ in cases])
    got = cidr_lookup(events, "ip", FEED, {"category": "string", "score": "double"}, "event_time", "as_of")
    assert_rows(got, [{"id": i, "ip": ip, "event_time": ts(t), "category": c, "score": sc} for i, ip, t, c, sc in cases],
                order=("id",))


def test_a_lookup_without_time_takes_the_longest_prefix(spark: Any) -> None:
    geo = pd.DataFrame({"network": ["20.0.0.0/16", "20.0.1.0/24"], "city": ["Boston", "New York"]})
    ips = frame(spark, "ip string", [{"ip": "20.0.1.9"}, {"ip": "20.0.9.9"}, {"ip": "21.0.0.1"}])
    assert_rows(cidr_lookup(ips, "ip", geo, {"city": "string"}), [
        {"ip": "20.0.1.9", "city": "New York"}, {"ip": "20.0.9.9", "city": "Boston"}, {"ip": "21.0.0.1", "city": None},
    ], order=("ip",))


@pytest.mark.parametrize("key", [b"test-hmac-key", b"k" * 100], ids=["short-key", "key-over-one-block"])
def test_hmac_column(spark: Any, key: bytes) -> None:
    values = ["198.51.100.7", "", "dév-ice", "256.1.1.1", "2001:db8::1", "10.0.0", None]
    df = with_hmac_pads(frame(spark, "v string", [{"v": v} for v in values]), key)
    got = df.select("v", hmac_hex("v", 20).alias("hash"))
    assert_rows(got, [{"v": v, "hash": None if v is None else hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:20]}
                      for v in values], order=("v",))


def test_normal_ip_and_network_columns_as_serving_computes_them(spark: Any) -> None:
    values = ["198.51.100.7", "198.051.100.007", "::ffff:198.51.100.7", "2001:DB8:0:0:1::7", "[2001:db8::1]",
              "fe80::1%eth0", "256.1.1.1", "10.0.0", "", None]
    df = frame(spark, "i int, ip string", [{"i": i, "ip": v} for i, v in enumerate(values)])
    got = with_normal_ip(df, "ip", "net")
    assert_rows(got, [{"i": i, "ip": normalize_ip(v), "net": ip_prefix(normalize_ip(v))} for i, v in enumerate(values)],
                order=("i",))


def test_no_key_material_in_the_plans_of_silver(spark: Any, tmp_path: Path) -> None:
    """The HMAC pads reach Spark as data (a broadcast one-row frame), not as literals: neither the
    key nor its pads (hex or base64) appear in any plan of a silver build, which is what the
    Spark UI and the event log's plan descriptions show."""
    import base64

    from ato.privacy import hmac_pads
    from ato.spark.silver import transform
    from tests.conftest import make_settings

    s = make_settings(tmp_path)
    key = s.hmac_key_bytes()
    out = transform(spark, s, "logins", bronze_frame(spark, "logins", [make_login(event_id="e1")]))
    row = out.first()
    assert row is not None and row["ip_hash"]
    qe = out._jdf.queryExecution()
    plans = (qe.toString() + qe.executedPlan().toString()).lower()
    secrets = [key.decode(errors="ignore")]
    for pad in hmac_pads(key):
        secrets += [pad.hex()[:24], base64.b64encode(pad).decode()[:24]]
    assert "_hmac_ipad" in plans and not [x for x in secrets if x.lower() in plans]


def test_user_agents_are_parsed_into_columns(spark: Any) -> None:
    chrome = make_login()["user_agent"]
    df = frame(spark, "id string, user_agent string", [
        {"id": "1", "user_agent": chrome}, {"id": "2", "user_agent": "python-requests/2.31.0"},
        {"id": "3", "user_agent": chrome}])
    c = {"user_agent": chrome, "ua_family": "chrome", "ua_major": 128, "os_family": "windows",
         "device_class": "desktop", "is_automation_ua": False}
    assert_rows(with_user_agent(df), [
        {"id": "1", **c}, {"id": "3", **c},
        {"id": "2", "user_agent": "python-requests/2.31.0", "ua_family": "script", "ua_major": 2, "os_family": "other",
         "device_class": "bot", "is_automation_ua": True},
    ], order=("id",))
