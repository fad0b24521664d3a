"""Erasure in Redis (`ato forget`): the published snapshot's rows of the accounts
(`ato:snap:<as_of>:a:<id>`), their speed-layer keys (`ato:w:{a:<id>}...`) and their traces in the
IP, /24 and device windows (members that end with, or are, an id; `ato.online.decide.redis_windows`).
Those windows live at most a day plus the late allowance, so the scan is over few keys; it is one
SCAN of the speed layer's keyspace per batch, however many accounts it erases. The accounts' own
keys are found by a SCAN per account for a few accounts (Redis matches the pattern), by one SCAN
of every account's keys for a larger batch."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

PATTERN_SCANS_MAX = 8  # up to this many accounts, one SCAN per account and key family
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


def forget_in_redis(client: Any, accounts: Collection[str]) -> dict[str, dict[str, int]]:
    """Per account: its keys deleted and its members removed from the IP/device windows."""
    out = {a: {"keys": 0, "members": 0} for a in accounts}
    owned: dict[bytes, str] = {}
    for account, name in _own_keys(client, accounts):
        owned[_as_bytes(name)] = account
    names = list(owned)
    for i in range(0, len(names), 1000):
        client.delete(*names[i:i + 1000])
    for account in owned.values():
        out[account]["keys"] += 1
    wanted = {a.encode(): a for a in accounts}
    for key in client.scan_iter(match="ato:w:{[ipd]:*}:[tfcxo]", count=10_000):
        k = key.decode() if isinstance(key, bytes) else str(key)
        kind = k[-1]  # o: a set of account ids; c, x: sorted sets of them; t, f: of events (their account at the end)
        if kind == "o":
            members = list(client.smembers(k))
        elif kind in "cx":
            members = list(client.zrange(k, 0, -1))
        else:
            members = [m for m, _ in client.zscan_iter(k, count=1000)]
        owners = {m: (_as_bytes(m) if kind in "ocx" else _member_account(m)) for m in members}
        gone = [m for m, a in owners.items() if a in wanted]
        if not gone:
            continue
        (client.srem if kind == "o" else client.zrem)(k, *gone)
        for m in gone:
            out[wanted[owners[m]]]["members"] += 1
    return out


def _as_bytes(member: bytes | str) -> bytes:
    return member if isinstance(member, bytes) else member.encode()


def _member_account(member: bytes | str) -> bytes:
    """The account of an IP/device window member `<len>:<event id><account>` (`redis_windows.member`)."""
    m = _as_bytes(member)
    n, _, rest = m.partition(b":")
    return rest[int(n):] if n.isdigit() else b""
