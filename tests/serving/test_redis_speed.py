"""The speed layer in a real redis-server (`RedisStore`, the Lua script of `redis_windows`): the
windows equal the batch functions on random streams; any character in an account id counts
right (`|` broke the old layout); retried event ids count once; past the cap Redis counts what the
in-process layer counts; a future-dated login leaves the history alone; a hot key costs the same
commands per lookup whatever it holds, and no lookup fetches a window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ato.online.decide.local_speed import LocalSpeed
from ato.online.decide.records import HORIZON_S, LiveLogin, Successes
from ato.online.decide.redis_store import RECORD_CHUNK, RedisStore
from ato.online.decide.redis_windows import BATCH, SCRIPT
from ato.settings import Settings
from tests.api.builders import UNHURRIED
from tests.conftest import make_settings
from tests.serving.conftest import Redis
from tests.speed_streams import ODD_ACCOUNTS, T0, Oracle, login, random_stream, same

pytestmark = [pytest.mark.serving, pytest.mark.anyio]


@pytest.fixture
def redis_settings(redis_server: Redis, tmp_path: Path) -> Iterator[Settings]:
    import redis

    r = redis.Redis.from_url(redis_server.url)
    r.flushdb()
    yield make_settings(tmp_path, None, ATO_STORE="redis", ATO_REDIS_URL=redis_server.url, **UNHURRIED)
    r.close()


def with_speed(s: Settings, **speed: Any) -> Settings:
    return s.model_copy(update={"speed": s.speed.model_copy(update=speed)})


def summary(s: Successes | None) -> tuple[Any, ...] | None:
    """An account's recent successes, values as sets (Redis hands hash fields back in any order)."""
    return None if s is None else (set(s.devices), set(s.ips), set(s.countries), set(s.asns), s.last)


async def test_windows_in_redis_equal_the_batch_functions_on_random_streams(redis_settings: Settings) -> None:
    store = RedisStore(redis_settings)
    try:
        for seed in range(4):
            await store.r.flushdb()
            oracle = Oracle(HORIZON_S + redis_settings.speed.late_s)
            for st in random_stream(np.random.default_rng(100 + seed), 250, accounts=ODD_ACCOUNTS[:6]):
                if st.score:
                    got = (await store.lookup(st.login, st.now)).speed
                    want = oracle.features(st.login, st.now)
                    assert same(got, want), (seed, st, {k: (got[k], want[k]) for k in got if got[k] != want[k]})
                else:
                    await store.record([st.login], st.now)
                oracle.record(st.login, st.now)
    finally:
        await store.close()


async def test_any_character_in_an_account_id_counts_right(redis_settings: Settings) -> None:
    store = RedisStore(redis_settings)
    try:
        await store.record([login(a, "10.7.7.7", None, T0 + i, False, f"odd-{i}") for i, a in enumerate(ODD_ACCOUNTS)],
                           T0 + 60)
        f = (await store.lookup(login("a|b", "10.7.7.7", None, T0 + 60, True, "q"), T0 + 60)).speed
    finally:
        await store.close()
    n = len(ODD_ACCOUNTS)
    assert (f["ip_attempts_5m"], f["ip_failures_5m"], f["ip_accounts_5m"], f["prefix_accounts_1h"]) == (n, n, n, n)
    assert f["account_attempts_5m"] == 1, "the account key 'a|b' is its own key, not 'a' and 'b'"


async def test_retries_count_once_and_the_first_outcome_stays(redis_settings: Settings) -> None:
    store = RedisStore(redis_settings)
    try:
        batch = [login(f"v{i}", "10.8.8.8", "dev", T0 + i, False, f"r{i}") for i in range(5)]
        for _ in range(3):
            await store.record(batch, T0 + 10)
        await store.record([login("v0", "10.8.8.8", "dev", T0, True, "r0")], T0 + 10)  # same id, other outcome
        scored = login("v9", "10.8.8.8", "dev", T0 + 20, True, "scored")
        await store.lookup(scored, T0 + 20)
        await store.record([scored], T0 + 20)  # its outcome event after the score
        f = (await store.lookup(login("v9", "10.8.8.8", "dev", T0 + 30, True, "q"), T0 + 30)).speed
        members = await store.r.zcard("ato:w:{i:10.8.8.8}:t")
    finally:
        await store.close()
    assert (f["ip_attempts_5m"], f["ip_failures_5m"], f["ip_accounts_5m"], f["device_attempts_5m"]) == (6, 5, 6, 6)
    assert f["account_attempts_5m"] == 1 and members == 7


async def test_a_future_dated_login_leaves_the_history_in_redis(redis_settings: Settings) -> None:
    store = RedisStore(redis_settings)
    try:
        await store.record([login(f"v{i}", "10.6.6.6", None, T0 - 1_800 + i, False, f"h{i}") for i in range(6)], T0)
        await store.lookup(login("x", "10.6.6.6", None, T0 + 2 * 86_400, True, "future"), T0)
        f = (await store.lookup(login("y", "10.6.6.6", None, T0, True, "now"), T0)).speed
    finally:
        await store.close()
    assert (f["ip_attempts_1h"], f["ip_accounts_1h"]) == (6, 6)


async def test_past_the_cap_redis_counts_what_the_in_process_layer_counts(redis_settings: Settings) -> None:
    """Cap 20, buckets of 10 s, late events and late logins (distinct times: ties may fold in another
    order); also the account's recent successes summarise the same."""
    s = with_speed(redis_settings, key_events=20, bucket_s=10)
    store, local = RedisStore(s), LocalSpeed(s.speed)
    rng = np.random.default_rng(8)
    try:
        t = T0
        for i in range(1_500):
            t += float(rng.choice([0.25, 1.5, 4.0, 30.0]))
            at = t - float(rng.integers(1, 400)) - 0.125 if rng.random() < 0.1 else t
            x = login(f"a{rng.integers(0, 12)}", f"10.0.0.{rng.integers(0, 2)}", f"d{rng.integers(0, 2)}", at,
                      bool(rng.random() < 0.4), f"c{i}")
            if rng.random() < 0.3:
                got = await store.lookup(x, t)
                want, recent = local.lookup(x, t, float("-inf"))
                assert same(got.speed, want), (i, {k: (got.speed[k], want[k]) for k in want if got.speed[k] != want[k]})
                assert summary(got.recent) == summary(recent)
            else:
                await store.record([x], t)
                local.record(x, t)
        assert local.stats()["capped_keys"] >= 4 and await store.r.exists("ato:w:{i:10.0.0.1}:b")
    finally:
        await store.close()


async def test_logins_recorded_in_batches_count_as_one_by_one(redis_settings: Settings) -> None:
    """`/v1/events` batches (one script call per chunk of logins) give the counts the in-process layer
    gives for the same logins one by one: keys shared inside a batch, an id retried inside a batch
    (a retry of an event already folded into the buckets counts again in Redis, not in process),
    late logins, the cap and its buckets reached mid-batch, odd account ids; then a lookup."""
    s = with_speed(redis_settings, key_events=20, bucket_s=10)
    store, local = RedisStore(s), LocalSpeed(s.speed)
    rng = np.random.default_rng(21)
    for script in (SCRIPT, BATCH):  # loaded up front: a first NOSCRIPT reply would count as a call
        await store.r.script_load(script)
    calls_before = (await store.r.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)
    batches = retries = 0
    try:
        t, i = T0, 0
        for _ in range(60):
            batch: list[LiveLogin] = []
            for _ in range(int(rng.integers(1, 41))):
                if batch and batch[-1].signals.time_s == t and rng.random() < 0.1:
                    batch.append(batch[-1])  # a retry inside the batch (of the newest: never folded yet)
                    retries += 1
                    continue
                t += float(rng.choice([0.25, 1.5, 4.0]))
                at = t - float(rng.integers(1, 400)) - 0.125 if rng.random() < 0.1 else t
                acct = ODD_ACCOUNTS[int(rng.integers(0, 8))]
                batch.append(login(acct, f"10.0.0.{rng.integers(0, 2)}", f"d{rng.integers(0, 3)}", at,
                                   bool(rng.random() < 0.4), f"b{i}"))
                i += 1
            await store.record(batch, t)
            batches += -(-len(batch) // RECORD_CHUNK)
            for x in batch:
                local.record(x, t)
            q = login(ODD_ACCOUNTS[int(rng.integers(0, 8))], "10.0.0.1", "d1", t, True, f"q{i}")
            got = await store.lookup(q, t)
            want, recent = local.lookup(q, t, float("-inf"))
            assert same(got.speed, want), (i, {k: (got.speed[k], want[k]) for k in want if got.speed[k] != want[k]})
            assert summary(got.recent) == summary(recent)
        assert local.stats()["capped_keys"] >= 4 and await store.r.exists("ato:w:{i:10.0.0.1}:b") and retries > 20
        calls = (await store.r.info("commandstats"))["cmdstat_evalsha"]["calls"] - calls_before
        ttls = {k: await store.r.pttl(k) async for k in store.r.scan_iter("ato:w:*")}
    finally:
        await store.close()
    lookups_calls = 60 * 4  # each lookup: one call per key (account, IP, /24, device)
    assert calls == batches + lookups_calls, "a batch is one script call per chunk of logins, not one per key"
    assert ttls and all(v > 0 for v in ttls.values()), "every key the batches wrote expires"


async def test_a_hot_key_costs_the_same_commands_per_lookup_and_fetches_no_window(redis_settings: Settings) -> None:
    import redis

    store = RedisStore(redis_settings)
    sync = redis.Redis.from_url(redis_settings.serving.redis_url)

    def calls() -> dict[str, int]:
        return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in sync.info("commandstats").items()}

    async def per_lookup(n: int) -> tuple[float, int]:
        sync.flushdb()
        for j in range(0, n, 500):
            await store.record([login(f"v{i}", "10.9.9.9", "d", T0 + i * 0.01, False, f"b{i}")
                                for i in range(j, min(j + 500, n))], T0 + n * 0.01)
        sync.config_resetstat()
        for i in range(50):
            now = T0 + n * 0.01 + i * 0.01
            await store.lookup(login("acct", "10.9.9.9", "d", now, True, f"q{i}"), now)
        c = calls()
        inner = sum(v for k, v in c.items() if k not in ("evalsha", "config|resetstat", "info"))
        return inner / 50, c.get("zrangebyscore", 0) + c.get("zrange", 0)

    try:
        small, big = await per_lookup(1_000), await per_lookup(9_000)
    finally:
        await store.close()
        sync.close()
    assert small[0] == big[0], "the same Redis commands per lookup with 1,000 or 9,000 events on the key"
    assert small[1] == big[1] == 0, "no lookup reads a window's members"
