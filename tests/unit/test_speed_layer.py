"""The in-process speed layer (`ato.online.decide.windows`, `local_speed`, `clock`): its windows
equal the batch functions on random streams (ties, late events, gaps, retries); server time prunes,
a login's own time never does; an event id counts once; past the cap the counts are the documented
upper bounds and memory stays bounded; eviction keeps the global bound; a hot key's per-request
work does not grow (steps counted, never timed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ato.features.request import AccountHistory, LoginSignals
from ato.features.speed import speed_feature_names, window_features
from ato.online.decide.clock import ServerClock
from ato.online.decide.local_speed import LocalSpeed
from ato.online.decide.records import HORIZON_S, Successes, merged
from ato.online.decide.windows import US, KeyWindow
from ato.settings import SpeedConf
from tests.speed_streams import T0, Oracle, login, random_stream, same

pytestmark = pytest.mark.unit
NAMES = speed_feature_names("ip")


Event = tuple[int, int, str]  # time µs, failed, account


def key_counts(events: list[Event], t: int) -> list[int]:
    """The batch function's counts for one IP-like key at `t`."""
    if not events:
        return [0] * len(NAMES)
    ref = window_features("ip", np.array([e[0] for e in events], dtype=np.float64) / US,
                          np.array([e[1] for e in events], dtype=np.int64),
                          np.array([e[2] for e in events], dtype=object), np.array([t / US]))
    return [int(ref[n][0]) for n in NAMES]


def test_one_key_equals_the_batch_function_on_random_events_and_queries() -> None:
    """Ties, events and queries before the key's newest or its last query, gaps over a day."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        kw, ev, newest = KeyWindow(distinct=True), list[Event](), 0
        for _ in range(int(rng.integers(1, 150))):
            step = int(rng.choice([0, 0, 1, 1_000, 60 * US, 299 * US, 300 * US, 3_700 * US, 90_000 * US]))
            if rng.random() < 0.55:
                t = newest + step if rng.random() < 0.8 else max(0, newest - int(rng.integers(0, 90_000)) * US)
                newest = max(newest, t)
                e = (t, int(rng.integers(0, 2)), f"a{rng.integers(0, 5)}")
                kw.add(*e, cap=10**9, width_us=10 * US)
                ev.append(e)
            else:
                q = newest + step if rng.random() < 0.7 else newest - int(rng.integers(0, 90_000)) * US
                assert kw.counts(q) == key_counts(ev, q)


def test_the_layer_equals_the_batch_functions_on_random_login_streams() -> None:
    """Four keys per login (no device sometimes), pruned by server time, retried ids counted once."""
    conf = SpeedConf()
    for seed in range(12):
        sp, oracle = LocalSpeed(conf), Oracle(HORIZON_S + conf.late_s)
        for st in random_stream(np.random.default_rng(seed), 400):
            if st.score:
                got, _ = sp.lookup(st.login, st.now, float("-inf"))
                want = oracle.features(st.login, st.now)
                assert same(got, want), (seed, st, {k: (got[k], want[k]) for k in got if got[k] != want[k]})
            else:
                sp.record(st.login, st.now)
            oracle.record(st.login, st.now)


def test_a_future_dated_login_does_not_erase_history() -> None:
    """Windows are pruned by server time: a login dated a day ahead leaves the last hour's events in
    place (pruning by the login's own time would have dropped them); the route refuses such a time."""
    sp, now = LocalSpeed(), T0
    for i in range(6):
        sp.record(login(f"victim{i}", "10.0.0.9", None, now - 1_800 + i, False, f"f{i}"), now)
    future = login("acct", "10.0.0.9", None, now + 86_400 * 2, True, "future")
    sp.record(future, now)
    after = sp.features(login("acct2", "10.0.0.9", None, now, True, "next"), now)
    assert (after["ip_attempts_1h"], after["ip_failures_1h"], after["ip_accounts_1h"]) == (6, 6, 6)
    clock = ServerClock("system", wall=lambda: now)
    assert clock.refusal(now + 2 * 86_400) == "more than 300 s after the server's time"
    assert clock.refusal(now - 8 * 86_400) == "more than 168 h before the server's time"
    assert clock.refusal(now + 299) is None and clock.refusal(now - 7 * 86_400 + 1) is None


def test_the_replay_clock_follows_the_newest_event_and_bounds_the_lead_by_the_machine() -> None:
    wall = T0 + 100 * 86_400  # the machine is months ahead of the replayed days
    clock = ServerClock("replay", wall=lambda: wall)
    assert clock.now() == -math.inf and clock.refusal(T0 - 400 * 86_400) is None, "nothing seen yet: nothing is old"
    assert clock.observe(T0) == T0 and clock.observe(T0 - 60) == T0, "only a newer event moves it"
    assert clock.refusal(T0 - 8 * 86_400) is not None and clock.refusal(T0 - 6 * 86_400) is None
    assert clock.refusal(wall + 600) is not None and clock.refusal(wall) is None


def test_a_duplicate_event_id_counts_once() -> None:
    sp, now = LocalSpeed(), T0
    first = login("a1", "10.0.0.1", "d1", now - 60, False, "retried")
    assert sp.record(first, now) and not sp.record(first, now), "the retry is refused"
    assert not sp.record(login("a1", "10.0.0.1", "d1", now - 60, True, "retried"), now), "the id decides"
    f = sp.features(login("a1", "10.0.0.1", "d1", now, True, "later"), now)
    assert (f["account_attempts_5m"], f["account_failures_5m"], f["ip_attempts_5m"], f["device_attempts_5m"]) == (1, 1, 1, 1)
    assert sp.stats()["duplicates"] == 2


def documented_cap_counts(events: list[Event], cap: int, width: int, t: int) -> list[int]:
    """README/`Coarse`: the newest `cap` events count exactly; older ones count per bucket of `width`
    (clamped to the newest bucket) when the bucket overlaps the window, distinct accounts per bucket."""
    events = sorted(events, key=lambda e: e[0])
    exact, folded = events[-cap:], events[:-cap]
    buckets: list[tuple[int, list[Event]]] = []
    for e in folded:
        b = e[0] - e[0] % width
        if buckets and b <= buckets[-1][0]:
            buckets[-1][1].append(e)
        else:
            buckets.append((b, [e]))
    out = key_counts(exact, t)
    for w, span in enumerate(s * US for s in (300, 3_600, 86_400)):
        for b, held in buckets:
            if b < t and b + width > t - span:
                out[3 * w] += len(held)
                out[3 * w + 1] += sum(e[1] for e in held)
                out[3 * w + 2] += len({e[2] for e in held})
    return out


def test_past_the_cap_a_key_keeps_cap_events_and_buckets_and_counts_upper_bounds() -> None:
    rng = np.random.default_rng(4)
    cap, width = 50, 10 * US
    kw, ev, t = KeyWindow(distinct=True), list[Event](), 1_000 * US
    for i in range(3_000):
        t += int(rng.integers(0, 4 * US))
        e = (t, int(rng.integers(0, 2)), f"a{rng.integers(0, 40)}")
        kw.add(*e, cap=cap, width_us=width)
        ev.append(e)
        if i % 97 == 0:
            q = t + int(rng.integers(0, 2 * US))
            got, exact = kw.counts(q), key_counts(ev, q)
            assert got == documented_cap_counts(ev, cap, width, q)
            assert all(g >= x for g, x in zip(got, exact, strict=True)), "upper bounds of the exact counts"
    assert len(kw.ts) - kw.head == cap and kw.coarse is not None
    assert len(kw.coarse) <= (t - ev[0][0]) // width + 2, "one bucket per width at most"


def test_a_hot_key_is_held_within_its_cap_and_a_day_of_buckets() -> None:
    conf = SpeedConf(key_events=1_000, bucket_s=10)
    sp, now = LocalSpeed(conf), T0
    for i in range(30_000):  # 30,000 attempts in 5 hours from one IP on many accounts
        now = T0 + i * 0.6
        sp.record(login(f"v{i % 5_000}", "10.9.9.9", None, now, False, f"s{i}"), now)
    kw = sp.keys["i10.9.9.9"]
    assert len(kw.ts) - kw.head == 1_000 and kw.size <= 1_000 + 18_000 // 10 + 1
    f = sp.features(login("x", "10.9.9.9", None, now + 1, True, "q"), now + 1)
    assert f["ip_attempts_24h"] == 30_000 and f["ip_failures_24h"] == 30_000, "every attempt still counted"
    assert f["ip_attempts_5m"] >= 499 and f["ip_accounts_24h"] >= 5_000, "upper bounds past the cap"
    assert sp.stats()["capped_keys"] == 2, "the IP and its /24"


def test_eviction_keeps_the_global_bound_and_keeps_what_is_in_use() -> None:
    sp, now = LocalSpeed(SpeedConf(max_keys=40, max_events=1_000)), T0
    for i in range(2_000):
        now = T0 + i
        sp.record(login(f"acct{i}", f"10.2.{i % 250}.{i % 7}", None, now, True, f"e{i}"), now)
        if i % 10 == 0:  # one account in use all along
            sp.record(login("hot", "10.1.1.1", None, now, False, f"h{i}"), now)
        assert len(sp.keys) <= 40 and sp.entries <= 1_000
    s = sp.stats()
    assert s["evicted_bound"] > 1_000 and s["keys"] == len(sp.keys) == 40
    assert sp.entries == sum(kw.size for kw in sp.keys.values()), "the held-entries count stays true"
    hot = sp.features(login("hot", "10.1.1.1", None, now + 1, False, "q"), now + 1)
    assert hot["account_attempts_5m"] == hot["ip_attempts_5m"] == 30, "the keys in use were not evicted"
    few = LocalSpeed(SpeedConf(max_keys=10_000, max_events=300))
    for i in range(2_000):
        few.record(login(f"acct{i}", f"10.2.{i % 250}.{i % 7}", None, T0 + i, True, f"e{i}"), T0 + i)
        assert few.entries <= 300 and len(few.seen) <= 300, "events and remembered ids bounded"


def test_idle_keys_whose_events_expired_are_dropped() -> None:
    sp = LocalSpeed(SpeedConf(late_s=0))
    for i in range(100):
        sp.record(login(f"old{i}", f"10.3.0.{i}", None, T0 + i, False, f"o{i}"), T0 + i)
    later = T0 + 86_400 + 200
    for i in range(150):
        sp.record(login(f"new{i}", "10.4.0.1", None, later + i, True, f"n{i}"), later + i)
    assert all(k.startswith(("anew", "i10.4", "p10.4")) for k in sp.keys), "expired keys are gone"
    assert sp.stats()["evicted_expired"] == 201


def count_steps(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count every per-event step of KeyWindow (entering, leaving, joining, dropping, counting a range)."""
    steps = {"n": 0}
    for name in ("_enter", "_leave", "_join", "_pop_front"):
        orig = getattr(KeyWindow, name)

        def counted(self: KeyWindow, *a: int, _orig: object = orig) -> object:
            steps["n"] += 1
            return _orig(self, *a)  # type: ignore[operator]

        monkeypatch.setattr(KeyWindow, name, counted)
    for name in ("_tally", "_moved"):
        orig = getattr(KeyWindow, name)

        def ranged(self: KeyWindow, *a: int, _orig: object = orig) -> object:
            steps["n"] += a[-1] - a[-2] + (a[3] - a[2] if len(a) == 6 else 0)
            return _orig(self, *a)  # type: ignore[operator]

        monkeypatch.setattr(KeyWindow, name, ranged)
    return steps


@pytest.mark.parametrize("cap", [10_000, 500])
def test_per_request_work_does_not_grow_with_a_hot_key(monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    """One account, IP and device at 50 logins a second: per lookup, each of the four keys takes one
    event in, lets it out of each window once and folds or prunes it once: at most 4 x 5 steps,
    with 2,000 or 20,000 events held (a recount would touch them all)."""
    steps = count_steps(monkeypatch)

    def per_lookup(n: int) -> float:
        sp = LocalSpeed(SpeedConf(key_events=cap))
        for i in range(n):
            now = T0 + i * 0.02
            if i == n - 200:
                steps["n"] = 0
            sp.lookup(login("acct", "10.5.5.5", "dev", now, i % 3 == 0, f"e{i}"), now, float("-inf"))
        return steps["n"] / 200

    small, big = per_lookup(2_000), per_lookup(20_000)
    assert small <= 20 and big <= 20, (small, big)


def test_recent_successes_fold_as_the_logins_one_by_one_and_stay_bounded() -> None:
    rng = np.random.default_rng(2)
    xs = [LoginSignals(T0 + i * 7_000.0, True, f"d{rng.integers(0, 4)}", f"i{rng.integers(0, 9)}",
                       str(rng.choice(["US", "DE"])), int(rng.integers(1, 4)), 40.0 + i, -70.0) for i in range(40)]
    days: dict[int, Successes] = {}
    for x in xs:
        days.setdefault(int(x.time_s // 86_400) * 86_400, Successes(int(x.time_s // 86_400) * 86_400)).add(x, 64)
    since = min(days) + 86_400
    one_by_one = AccountHistory(devices={"d9"})
    for x in xs:
        if x.time_s >= since:
            one_by_one.observe(x)
    folded = AccountHistory(devices={"d9"})
    m = merged(list(days.values()), since)
    assert m is not None
    m.fold_into(folded)
    assert folded == one_by_one
    capped = Successes()
    for x in xs:
        capped.add(x, 3)
    assert len(capped.ips) == 3 and capped.last == xs[-1], "bounded values, the latest login kept"
