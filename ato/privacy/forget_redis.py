"""Erasure in Redis (`ato forget`): the published snapshot's rows of the accounts
(`ato:snap:<as_of>:a:<id>`), their speed-layer keys (`ato:w:{a:<id>}...`) and their traces in the
IP, /24 and device windows (members that end with, or are, an id; `ato.online.decide.redis_windows`).
Those windows live at most a day plus the late allowance, so the scan is over few keys; it is one
SCAN of the speed layer's keyspace per batch, however many accounts it erases. The accounts' own
keys are found by a SCAN per account for a few accounts (Redis matches the pattern), by one SCAN
of every account's keys for a larger batch. The windows are read, and cleaned, `PIPELINE` keys per
round trip.

A login the API is deciding while this runs (a lookup, or a `/v1/events` batch) can write after the
sweep passed its keys. So everything is swept twice: again `grace_s` after the first sweep
(`speed.erasure_grace_s`, longer than a write takes to reach Redis), which removes what such a
write left. Nothing marks the account in Redis meanwhile (no id is kept). A login of the account
recorded after the erasure is new activity; one in the grace period is swept with the rest."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

PATTERN_SCANS_MAX = 8  # up to this many accounts, one SCAN per account and key family
PIPELINE = 500  # window keys sized, read and cleaned per round trip (and the most members read in it per key)
WINDOW_KEYS = "ato:w:{[ipd]:*}:[tfcxo]"  # the IP, /24 and device windows' members (`redis_windows`)
T = TypeVar("T")
SNAP = "ato:snap:"
WINDOW = "ato:w:{a:"


def _own_keys(client: Any, accounts: Collection[str]) -> Iterator[tuple[str, bytes]]:
    """(account, key) for every snapshot row and speed-layer key of the accounts."""
    if len(accounts) <= PATTERN_SCANS_MAX:
        for a in accounts:
            for pattern in (f"{SNAP}*:a:{a}", f"{WINDOW}{a}}}*"):
                yield from ((a, k) for k in client.scan_iter(match=pattern, count=10_000))
        return
    wanted = set(accounts)
    for pattern in (f"{SNAP}*:a:*", f"{WINDOW}*"):
        for k in client.scan_iter(match=pattern, count=10_000):
            owner = key_account(k)
            if owner is not None and owner in wanted:
                yield owner, k


def key_account(key: bytes | str) -> str | None:
    """The account an `ato:snap:<as_of>:a:<id>` or `ato:w:{a:<id>}...` key belongs to."""
    k = key.decode() if isinstance(key, bytes) else key
    if k.startswith(SNAP):
        _, _, rest = k[len(SNAP):].partition(":")
        kind, _, account = rest.partition(":")
        return account if kind == "a" else None
    if k.startswith(WINDOW) and "}" in k:
        return k[len(WINDOW):k.index("}")]
    return None


def forget_in_redis(client: Any, accounts: Collection[str], grace_s: float,
                    _between: Callable[[], None] | None = None) -> dict[str, dict[str, int]]:
    """Per account: its keys deleted and its members removed from the IP/device windows, by both
    sweeps. `grace_s`: the wait before the second (`speed.erasure_grace_s`); `_between`: an
    injected fault run after the first sweep (a lookup racing the erasure)."""
    out = {a: {"keys": 0, "members": 0} for a in accounts}
    _sweep(client, accounts, out)
    if _between is not None:
        _between()
    time.sleep(grace_s)
    _sweep(client, accounts, out)
    return out


def _sweep(client: Any, accounts: Collection[str], out: dict[str, dict[str, int]]) -> None:
    """Delete the accounts' own keys and remove their members from the windows; count both in `out`."""
    owned: dict[bytes, str] = {}
    for account, name in _own_keys(client, accounts):
        owned[_as_bytes(name)] = account
    names = list(owned)
    for i in range(0, len(names), 1000):
        client.delete(*names[i:i + 1000])
    for account in owned.values():
        out[account]["keys"] += 1
    _sweep_windows(client, accounts, out)


def _sweep_windows(client: Any, accounts: Collection[str], out: dict[str, dict[str, int]]) -> None:
    """Remove the accounts' members from every IP, /24 and device window; count them in `out`."""
    wanted = {a.encode(): a for a in accounts}
    for chunk in _chunks(client.scan_iter(match=WINDOW_KEYS, count=10_000), PIPELINE):
        removals = client.pipeline(transaction=False)
        for key, members in _members(client, chunk):
            kind = _kind(key)  # o: a set of account ids; c, x: sorted sets of them; t, f: of events (their account at the end)
            owners = {m: (_as_bytes(m) if kind in "ocx" else _member_account(m)) for m in members}
            gone = [m for m, a in owners.items() if a in wanted]
            if gone:
                (removals.srem if kind == "o" else removals.zrem)(key, *gone)
            for m in gone:
                out[wanted[owners[m]]]["members"] += 1
        removals.execute()


def _members(client: Any, keys: list[Any]) -> Iterator[tuple[Any, list[Any]]]:
    """(key, its members) for window keys: sizes in one round trip, the members of keys up to
    `PIPELINE` members in another, a bigger key's (a busy IP's, up to `key_events`) by a scan of its own."""
    sizes = client.pipeline(transaction=False)
    for key in keys:
        (sizes.scard if _kind(key) == "o" else sizes.zcard)(key)
    small, reads = [], client.pipeline(transaction=False)
    for key, n in zip(keys, sizes.execute(), strict=True):
        if n > PIPELINE:
            yield key, (list(client.sscan_iter(key, count=1000)) if _kind(key) == "o"
                        else [m for m, _ in client.zscan_iter(key, count=1000)])
        elif n:
            small.append(key)
            if _kind(key) == "o":
                reads.smembers(key)
            else:
                reads.zrange(key, 0, -1)
    yield from zip(small, reads.execute(), strict=True)


def _kind(key: bytes | str) -> str:
    return (key.decode() if isinstance(key, bytes) else str(key))[-1]


def _chunks(items: Iterable[T], n: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


def _as_bytes(member: bytes | str) -> bytes:
    return member if isinstance(member, bytes) else member.encode()


def _member_account(member: bytes | str) -> bytes:
    """The account of an IP/device window member `<len>:<event id><account>` (`redis_windows.member`)."""
    m = _as_bytes(member)
    n, _, rest = m.partition(b":")
    return rest[int(n):] if n.isdigit() else b""
