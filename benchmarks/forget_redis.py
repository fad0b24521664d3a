"""Benchmark: `ato forget`'s Redis pass (`forget_in_redis`) over a day of speed-layer windows (no JVM).

Fills a redis-server (started on a free port, or --redis-url; its database 15 is flushed) with
`--ips` IP windows, half as many /24 and device windows, each with the five member keys the erasure
reads (t, f, c, x, o) holding the events of `--per-key` random accounts of `--accounts`, and every
account's own window; then erases `--erase` accounts in one batch. Prints the keys, the seconds, the
window keys read per second and the members removed, and checks that no member of an erased account
is left. Run it with nothing else running. Usage:
    .venv/bin/python benchmarks/forget_redis.py [--ips 20000] [--per-key 4] [--erase 20]
"""

from __future__ import annotations

import argparse
import random
import time

from benchmarks.speed_layer import start_redis


def fill(r: object, ips: int, per_key: int, accounts: list[str], rng: random.Random) -> int:
    from ato.online.decide.redis_windows import key_prefix, member

    pipe = r.pipeline(transaction=False)  # type: ignore[attr-defined]
    keys = [("i", f"ip{i}") for i in range(ips)] + [(c, f"{c}{i}") for c in "pd" for i in range(ips // 2)]
    for n, (code, value) in enumerate(keys):
        p = key_prefix(code, value)
        who = rng.sample(accounts, per_key)
        pipe.zadd(f"{p}:t", {member(code, f"e{n}-{j}", a): j for j, a in enumerate(who)})
        pipe.zadd(f"{p}:f", {member(code, f"e{n}-0", who[0]): 0})
        pipe.zadd(f"{p}:c", {a: j for j, a in enumerate(who)})
        pipe.zadd(f"{p}:x", {who[-1]: 0})
        pipe.sadd(f"{p}:o", *who)
        if n % 1000 == 999:
            pipe.execute()
    for a in accounts:
        pipe.zadd(f"{key_prefix('a', a)}:t", {"e": 1})
    pipe.execute()
    return len(keys) * 5


def naming(r: object, accounts: list[str]) -> list[bytes]:
    """The speed-layer keys (or their members) that still name one of `accounts`."""
    import re

    ids = re.compile(b"|".join(re.escape(a.encode()) for a in accounts))
    out = []
    for k in r.scan_iter(match="ato:w:*", count=10_000):  # type: ignore[attr-defined]
        kind = r.type(k)  # type: ignore[attr-defined]
        members = r.zrange(k, 0, -1) if kind == b"zset" else r.smembers(k) if kind == b"set" else []  # type: ignore[attr-defined]
        if ids.search(k) or any(ids.search(m) for m in members):
            out.append(k)
    return out


def main() -> None:
    import redis

    from ato.privacy.forget_redis import forget_in_redis

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ips", type=int, default=20_000)
    ap.add_argument("--per-key", type=int, default=4)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--erase", type=int, default=20)
    ap.add_argument("--redis-url", default=None)
    args = ap.parse_args()
    url, proc = (args.redis_url, None) if args.redis_url else start_redis()
    try:
        r = redis.Redis.from_url(url.rsplit("/", 1)[0] + "/15")
        r.flushdb()
        rng = random.Random(7)
        accounts = [f"acct_{i:07d}" for i in range(args.accounts)]
        windows = fill(r, args.ips, args.per_key, accounts, rng)
        gone = rng.sample(accounts, args.erase)
        print(f"redis: {r.dbsize():,} keys, {windows:,} of them window keys with members")
        t = time.perf_counter()
        done = forget_in_redis(r, gone, grace_s=0)  # both sweeps, without the wait between them
        s = time.perf_counter() - t
        members = sum(d["members"] for d in done.values())
        print(f"forget {args.erase} accounts (two sweeps): {s:.2f} s, {windows / s:,.0f} window keys/s, "
              f"{members:,} members and {sum(d['keys'] for d in done.values())} keys removed")
        print(f"check: {len(naming(r, gone))} keys still name an erased account")
        if naming(r, gone):
            raise SystemExit(1)
    finally:
        if proc is not None:
            proc.terminate()


if __name__ == "__main__":
    main()
