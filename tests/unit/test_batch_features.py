"""The feature code both layers share: grouped windows vs the per-key reference, replays."""

import math

import numpy as np
import pandas as pd
import pytest

from ato.features.habits import circular_hour_stats, hour_angle_sums, hour_stats_from_sums
from ato.features.request import (
    AccountHistory,
    LoginSignals,
    partition_request_features,
    replay_account,
)
from ato.features.speed import (
    partition_speed_features,
    speed_feature_names,
    window_features,
)
from ato.features.windows import WINDOWS_S, counts_before, distinct_before

pytestmark = pytest.mark.unit


def test_grouped_windows_equal_the_per_key_reference_on_random_events() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    keys = rng.integers(0, 40, n)
    t_us = rng.integers(0, 2 * 86_400, n) * 1_000_000 + rng.integers(0, 3, n)  # ties on purpose
    failed = rng.integers(0, 2, n)
    accts = rng.choice([f"a{i}" for i in range(60)], n)
    is_query = rng.random(n) < 0.5
    pdf = pd.DataFrame({"key": keys, "event_id": [f"e{i:05d}" for i in range(n)], "t_us": t_us, "failed": failed,
                        "account_id": accts, "is_query": is_query})
    got = pd.concat(list(partition_speed_features("ip", iter([pdf.iloc[:1000], pdf.iloc[1000:]])))).set_index("event_id")
    assert len(got) == is_query.sum()
    for k in range(40):
        ev = pdf[pdf.key == k].sort_values("t_us", kind="stable")
        q = ev[ev.is_query]
        times = ev.t_us.to_numpy() / 1e6
        for w, span in WINDOWS_S.items():
            att, fail = counts_before(times, ev.failed.to_numpy(), q.t_us.to_numpy() / 1e6, span)
            dist = distinct_before(times, ev.account_id.to_numpy(), q.t_us.to_numpy() / 1e6, span)
            row = got.loc[q.event_id]
            assert row[f"ip_attempts_{w}"].tolist() == att.tolist()
            assert row[f"ip_failures_{w}"].tolist() == fail.tolist()
            assert row[f"ip_accounts_{w}"].tolist() == dist.tolist()


def test_serving_call_counts_only_earlier_events_in_each_window() -> None:
    now = 1_000_000.0
    times = np.array([now - 90_000, now - 3_000, now - 100, now - 100, now, now + 5])
    feats = window_features("ip", times, np.array([1, 1, 0, 1, 1, 1]), np.array(["a", "b", "b", "c", "d", "e"]),
                            np.array([now]))
    assert feats["ip_attempts_5m"].tolist() == [2] and feats["ip_failures_5m"].tolist() == [1]
    assert feats["ip_attempts_1h"].tolist() == [3] and feats["ip_accounts_1h"].tolist() == [2]
    assert feats["ip_attempts_24h"].tolist() == [3]  # 25 h ago is out; `now` and later never count
    assert set(feats) == set(speed_feature_names("ip"))


def test_hour_habit_from_daily_sums_equals_the_direct_statistic() -> None:
    hours = np.array([23.0, 23.5, 0.5, 1.0, 22.75])
    parts = [hour_angle_sums(hours[:2]), hour_angle_sums(hours[2:])]
    mean, spread = hour_stats_from_sums(np.array(sum(p[0] for p in parts)), np.array(sum(p[1] for p in parts)),
                                        np.array(sum(p[2] for p in parts)))
    assert (float(mean), float(spread)) == pytest.approx(circular_hour_stats(hours))


def _login(t: float, ok: bool = True, device: str = "d1", ip: str = "i1", country: str = "US",
           lat: float = 40.7, lon: float = -74.0) -> LoginSignals:
    return LoginSignals(time_s=t, success=ok, device=device, ip=ip, country=country, asn=1, lat=lat, lon=lon)


def test_replay_learns_only_from_successes_and_flags_impossible_travel() -> None:
    h = AccountHistory(devices={"d1"}, ips={"i1"}, countries={"US"}, asns={1}, last_time_s=0.0, last_lat=40.7,
                       last_lon=-74.0, last_country="US", last_asn=1, hour_mean=0.2, hour_spread=1.0)
    rows = replay_account(h, [
        _login(3_600, ok=False, device="evil", ip="bad", country="RU", lat=55.75, lon=37.6),  # failed attempt
        _login(3_700, ok=True, device="evil", ip="bad", country="RU", lat=55.75, lon=37.6),   # attacker gets in
        _login(3_800, ok=True, device="evil", ip="bad", country="RU", lat=55.75, lon=37.6),
    ])
    assert rows[0]["new_device"] == 1 and rows[1]["new_device"] == 1  # a failure does not make it known
    assert rows[2]["new_device"] == 0 and rows[2]["new_country"] == 0
    assert rows[1]["country_change"] == 1 and rows[1]["kmh_since_last_login"] > 1000  # NY -> Moscow in 1 h
    assert rows[2]["km_since_last_login"] == pytest.approx(0.0)
    assert rows[0]["hour_deviation"] == pytest.approx(0.8)  # 01:00 vs habit 00:12, spread 1 h


def test_no_history_means_everything_is_new_and_distances_unknown() -> None:
    f = replay_account(AccountHistory.from_snapshot(None), [_login(100.0)])[0]
    assert f["has_history"] == 0 and f["new_device"] == 1
    assert math.isnan(f["km_since_last_login"]) and math.isnan(f["hour_deviation"])


def test_partition_replay_restarts_each_account_day_from_its_own_snapshot() -> None:
    base = {"outcome": "success", "ip_hash": "i", "country": "US", "asn": 1, "latitude": 1.0, "longitude": 1.0,
            "known_ips": None, "known_countries": None, "known_asns": None, "last_login_s": np.nan,
            "last_login_lat": np.nan, "last_login_lon": np.nan, "last_login_country": None, "last_login_asn": np.nan,
            "hour_mean": np.nan, "hour_spread": np.nan}
    rows = [
        {**base, "event_id": "e2", "account_id": "A", "login_date": "d1", "t": 20.0, "device_hash": "x", "known_devices": None},
        {**base, "event_id": "e1", "account_id": "A", "login_date": "d1", "t": 10.0, "device_hash": "x", "known_devices": None},
        {**base, "event_id": "e3", "account_id": "A", "login_date": "d2", "t": 90_000.0, "device_hash": "x",
         "known_devices": np.array(["y"])},
    ]
    out = next(partition_request_features(iter([pd.DataFrame(rows)]))).set_index("event_id")
    assert out.loc["e1", "new_device"] == 1 and out.loc["e2", "new_device"] == 0  # e1 came first
    assert out.loc["e3", "new_device"] == 1  # next day: only its snapshot counts
