"""The real-time layer's pure parts: the one-pass recount of a login's window features equals the
batch function's (the speed layer's own tests are in test_speed_layer.py), IP parsing equals the vectorised one, the breaker's states, the request-only vector,
the audit file's day."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ato.enrich.cidr import ipv4_to_int
from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.features.speed import (
    SPEED_KEYS,
    live_window_features,
    speed_feature_names,
    window_features,
)
from ato.online.decide.appender import JsonlAppender
from ato.online.decide.breaker import Breaker
from ato.online.decide.enrich import Enriched, ip_int
from ato.online.decide.vector import request_vector

pytestmark = pytest.mark.unit


def test_live_window_features_equal_the_batch_window_features_on_random_events() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        events: dict[str, tuple[list[float], list[int], list[str]] | None] = {}
        for k in SPEED_KEYS:
            n = int(rng.integers(0, 30))
            ts = sorted((rng.random(n) * 2 * 86400).round(3).tolist())
            events[k] = (ts, rng.integers(0, 2, n).tolist(), [f"a{x}" for x in rng.integers(0, 6, n)])
        if rng.random() < 0.3:
            events["device"] = None
        at = float(rng.random() * 2 * 86400)
        live = live_window_features(events, at)
        for k, ev in events.items():
            if ev is None:
                assert all(np.isnan(live[n]) for n in speed_feature_names(k))
                continue
            ref = window_features(k, np.array(ev[0]), np.array(ev[1]), np.array(ev[2], dtype=object), np.array([at]))
            assert {n: live[n] for n in ref} == {n: float(v[0]) for n, v in ref.items()}


@pytest.mark.parametrize("ip", ["20.0.1.7", "255.255.255.255", "0.0.0.0", "256.1.1.1", "1.2.3", "01.2.3.4",
                                "2001:db8::1", "", "a.b.c.d", "1.2.3.4 ", "٣.1.1.1"])
def test_one_ip_parses_as_the_vectorised_parser_does(ip: str) -> None:
    assert ip_int(ip) == int(ipv4_to_int(pd.Series([ip]))[0])


def test_breaker_opens_after_consecutive_failures_and_lets_one_trial_through() -> None:
    now = [0.0]
    b = Breaker(failures=3, open_s=5.0, clock=lambda: now[0])
    for _ in range(2):
        b.failure()
    assert b.allow() and b.state == "closed"
    b.failure()
    assert not b.allow() and b.state == "open"
    now[0] += 4.9
    assert not b.allow() and b.state == "open", "still open before open_s"
    now[0] += 0.2
    assert b.state == "half_open" and b.allow() and not b.allow(), "one trial call at a time"
    b.failure()
    assert not b.allow(), "a failed trial opens it again"
    now[0] += 5.1
    assert b.allow()
    b.success()
    assert b.state == "closed" and b.allow() and b.allow()


def test_request_vector_has_every_feature_and_only_request_signals_known() -> None:
    e = Enriched("a1", 1.0e9, "success", "web", "ih", "ph", None, "DE", None, None, None, 3320, None, None,
                 "chrome", 120, "windows", "desktop", False)
    v = request_vector(e)
    assert list(v) == list(FEATURES)
    assert v["ip_rep_category"] == "unknown" and v["outcome"] == "success" and v["ua_major"] == 120.0
    known = {k for k, x in v.items() if not (isinstance(x, float) and np.isnan(x))}
    assert known == {*CATEGORICAL_FEATURES, "ua_major", "is_automation_ua"}


def test_one_ip_cidr_lookup_equals_the_vectorised_lookup_point_in_time() -> None:
    from ato.enrich.cidr import CidrIndex

    rng = np.random.default_rng(5)
    nets = [f"{rng.integers(1, 4)}.{rng.integers(0, 3)}.{rng.integers(0, 3)}.0/{rng.choice([8, 16, 24])}"
            for _ in range(60)]
    as_of = rng.integers(1_000_000, 2_000_000, len(nets))
    idx = CidrIndex.build(pd.Series(nets), as_of)
    ips = np.array([(int(rng.integers(1, 4)) << 24) | (int(rng.integers(0, 3)) << 16) | (int(rng.integers(0, 3)) << 8)
                    | int(rng.integers(0, 256)) for _ in range(500)] + [-1], dtype=np.int64)
    ts = rng.integers(900_000, 2_100_000, len(ips))
    many = idx.lookup(ips, ts)
    assert [idx.lookup_one(int(i), int(t)) for i, t in zip(ips, ts, strict=True)] == many.tolist()
    assert (many >= 0).sum() > 100 and (many < 0).sum() > 10


def test_api_keys_come_from_the_environment_and_from_hashes_in_conf() -> None:
    import hashlib

    from ato.online.keys import ALL_SCOPES, KeyRing
    from ato.settings import load_settings

    conf_hash = hashlib.sha256(b"from-conf").hexdigest()
    base = load_settings(environ={})
    s = base.model_copy(update={"serving": base.serving.model_copy(update={"api_key_sha256": [conf_hash.upper()]})})
    ring = KeyRing.from_settings(s, {"ATO_API_KEYS": " k1, k2 ,,"})
    assert [(k.name, k.scopes) for k in ring.keys] == [("key-1", ALL_SCOPES), ("key-2", ALL_SCOPES),
                                                      ("sha256-1", ALL_SCOPES)], "plain keys: every scope"
    assert [ring.match(k).name for k in (b"k1", b"k2", b"from-conf")] == ["key-1", "key-2", "sha256-1"]  # type: ignore[union-attr]
    assert ring.match(b"k3") is None and ring.match(b"") is None
    assert not KeyRing.from_settings(load_settings(environ={}), {}), "no keys configured: every /v1 call is refused"


def test_audit_file_of_a_decision_is_in_its_utc_day_folder(tmp_path: Path) -> None:
    """A decision made just before midnight UTC lands in that day's file, the next one in the next day's."""
    a = JsonlAppender(tmp_path, "decisions")
    a.append({"x": 1}, now=datetime(2026, 8, 6, 23, 59, 59, tzinfo=UTC))
    a.append({"x": 2}, now=datetime(2026, 8, 7, 0, 0, 1, tzinfo=UTC))
    a.close()
    assert [p.parent.name for p in sorted(tmp_path.rglob("*.jsonl"))] == ["2026-08-06", "2026-08-07"]
