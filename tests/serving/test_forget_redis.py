"""Erasure in a real Redis, without a JVM: a batch deletes every key and window member of its
accounts, counted per account, and leaves the same keys and members as erasing them one at a time,
both for a few accounts (a SCAN per account) and for a batch past `PATTERN_SCANS_MAX` (one SCAN
of every account's keys); other accounts, including ids that contain an erased one, keep theirs."""

from __future__ import annotations

from typing import Any

import pytest

from ato.online.decide.redis_windows import key_prefix, member, recent_key
from ato.privacy.forget_redis import PATTERN_SCANS_MAX, forget_in_redis

pytestmark = pytest.mark.serving

KEPT = ["acct_keep", "acct_00001x"]  # the second contains acct_00001, erased below


def fill(r: Any, accounts: list[str]) -> None:
    r.flushdb()
    for i, a in enumerate(accounts):
        r.set(f"ato:snap:2026-08-07:a:{a}", "{}")
        r.zadd(f"{key_prefix('a', a)}:t", {f"e{i}": 1})
        r.hset(recent_key(a, 20672), "last", "{}")
        for code, value in (("i", "iphash"), ("p", "net24"), ("d", f"dev{i % 3}")):
            r.zadd(f"{key_prefix(code, value)}:t", {member(code, f"e{i}", a): 1})
            r.zadd(f"{key_prefix(code, value)}:f", {member(code, f"f{i}", a): 1})
            r.zadd(f"{key_prefix(code, value)}:c", {a: 1})
            r.zadd(f"{key_prefix(code, value)}:x", {a: 1})
            r.sadd(f"{key_prefix(code, value)}:o", a)
    r.set("ato:snap:current", "2026-08-07")


def contents(r: Any) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    for k in sorted(r.scan_iter("*")):
        t = r.type(k)
        out[k] = (r.get(k) if t == b"string" else sorted(r.smembers(k)) if t == b"set"
                  else r.hgetall(k) if t == b"hash" else r.zrange(k, 0, -1, withscores=True))
    return out


@pytest.mark.parametrize("size", [3, PATTERN_SCANS_MAX + 4], ids=["few", "many"])
def test_a_batch_in_redis_equals_erasing_one_at_a_time(redis_server: Any, size: int) -> None:
    import redis

    r = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/15")  # a database of its own
    gone = [f"acct_{i:05d}" for i in range(1, size + 1)]
    fill(r, [*gone, *KEPT])
    done = forget_in_redis(r, gone, grace_s=0)
    batch = contents(r)
    def own(a: str) -> list[bytes]:
        return [k for k in batch if k == f"ato:snap:2026-08-07:a:{a}".encode() or k.startswith(f"ato:w:{{a:{a}}}".encode())]
    assert not [k for a in gone for k in own(a)], "no key of an erased account is left"
    assert [len(own(a)) for a in KEPT] == [3, 3], "other accounts keep theirs"
    assert sorted(r.smembers(f"{key_prefix('i', 'iphash')}:o")) == sorted(a.encode() for a in KEPT)
    # each erased account: its snapshot row, its window and its day hash; 3 windows x 5 keys of members
    assert done == {a: {"keys": 3, "members": 15} for a in gone}

    fill(r, [*gone, *KEPT])
    single = [forget_in_redis(r, [a], grace_s=0)[a] for a in gone]
    assert contents(r) == batch and single == [done[a] for a in gone]


def test_a_busy_window_past_the_pipelined_size_loses_the_same_members(redis_server: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A window key with more members than `PIPELINE` (a busy IP's, read by a scan of its own) ends
    as it does when every key is read in the pipeline."""
    import redis

    from ato.privacy import forget_redis

    r = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/14")
    n = forget_redis.PIPELINE + 100
    accounts = [f"acct_{i:05d}" for i in range(n)]
    gone = accounts[::7]
    busy = key_prefix("i", "busyip")

    def fill_busy() -> None:
        r.flushdb()
        r.zadd(f"{busy}:t", {member("i", f"e{i}", a): i for i, a in enumerate(accounts)})
        r.zadd(f"{busy}:c", {a: i for i, a in enumerate(accounts)})
        r.sadd(f"{busy}:o", *accounts)

    fill_busy()
    done = forget_in_redis(r, gone, grace_s=0)
    scanned = contents(r)
    assert r.zcard(f"{busy}:t") == r.zcard(f"{busy}:c") == r.scard(f"{busy}:o") == n - len(gone)
    assert not {a.encode() for a in gone} & set(r.smembers(f"{busy}:o"))
    assert done == {a: {"keys": 0, "members": 3} for a in gone}
    fill_busy()
    monkeypatch.setattr(forget_redis, "PIPELINE", 10 * n)  # every key read in the pipeline
    assert forget_in_redis(r, gone, grace_s=0) == done and contents(r) == scanned


@pytest.mark.anyio
async def test_a_login_racing_the_erasure_is_swept_and_a_later_one_is_new_activity(
        redis_server: Any, tmp_path: Any) -> None:
    """A lookup of the account lands after the erasure's first sweep (an injected race): the second
    sweep takes it out of the account's keys and the IP, /24 and device windows, and nothing in
    Redis names the account. Another account's racing login is kept, and the account's own login
    after the erasure counts as new activity."""
    import time

    import anyio
    import redis

    from ato.online.decide.redis_store import RedisStore
    from tests.api.builders import UNHURRIED
    from tests.conftest import make_settings
    from tests.speed_streams import login

    url = redis_server.url.rsplit("/", 1)[0] + "/13"
    r = redis.Redis.from_url(url)

    def named(account: bytes) -> tuple[int, int]:
        """(the account's own keys, its members in the IP, /24 and device windows)."""
        own = len(list(r.scan_iter(b"ato:w:{a:" + account + b"}*")))
        members: list[bytes] = []
        for k in r.scan_iter("ato:w:{[ipd]:*}:[tfcxo]"):
            members += list(r.smembers(k) if k.endswith(b":o") else r.zrange(k, 0, -1))  # type: ignore[arg-type]
        return own, sum(m == account or m.endswith(account) for m in members)

    r.flushdb()
    store = RedisStore(make_settings(tmp_path, None, ATO_STORE="redis", ATO_REDIS_URL=url, **UNHURRIED))
    t = time.time()
    seen = []
    try:
        await store.lookup(login("gone", "10.3.3.3", "dev", t - 20, True, "before"), t - 20)
        seen.append(named(b"gone"))

        def race() -> None:
            seen.append(named(b"gone"))
            for account, eid in (("gone", "racing"), ("other", "other-racing")):
                anyio.from_thread.run(store.lookup, login(account, "10.3.3.3", "dev", t - 10, True, eid), t - 10)
            seen.append(named(b"gone"))

        done = await anyio.to_thread.run_sync(lambda: forget_in_redis(r, ["gone"], grace_s=0, _between=race))
        after = named(b"gone")
        later = (await store.lookup(login("gone", "10.3.3.3", "dev", t + 60, True, "after"), t + 60)).speed
    finally:
        await store.close()
        r.close()
    before, between, raced = seen
    assert between == (0, 0) and min(before + raced) > 0, seen
    assert after == (0, 0), "the racing login left the account in Redis"
    assert done == {"gone": {"keys": before[0] + raced[0], "members": before[1] + raced[1]}}, "both sweeps counted"
    assert (later["account_attempts_5m"], later["ip_attempts_5m"], later["ip_accounts_5m"]) == (0, 1, 1), \
        "only the other account's racing login was left to count; the account starts afresh"
