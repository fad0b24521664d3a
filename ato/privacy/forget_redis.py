"""Erasure in Redis (`ato forget`): the published snapshot's rows of the account
(`ato:snap:<as_of>:a:<id>`), its speed-layer keys (`ato:w:{a:<id>}...`) and its traces in the
IP, /24 and device windows (members that end with, or are, its id; `ato.online.decide.redis_windows`).
Those windows live at most a day plus the late allowance, so the scan is over few keys; it
is still a SCAN of the speed layer's keyspace, fine for a request that comes a few times a day."""

from __future__ import annotations

from typing import Any


def forget_in_redis(client: Any, account: str) -> dict[str, int]:
    out = {"keys": 0, "members": 0}
    names = [*client.scan_iter(match=f"ato:snap:*:a:{account}", count=10_000),
             *client.scan_iter(match=f"ato:w:{{a:{account}}}*", count=10_000)]
    if names:
        out["keys"] = int(client.delete(*names))
    suffix = account.encode()
    for key in client.scan_iter(match="ato:w:{[ipd]:*}:[tfcxo]", count=10_000):
        k = key.decode() if isinstance(key, bytes) else key
        if k.endswith(":o"):
            out["members"] += int(client.srem(k, account))
            continue
        if k.endswith((":c", ":x")):
            out["members"] += int(client.zrem(k, account))
            continue
        gone = [m for m, _ in client.zscan_iter(k, count=1000) if _member_account(m) == suffix]
        if gone:
            out["members"] += int(client.zrem(k, *gone))
    return out


def _member_account(member: bytes | str) -> bytes:
    """The account of an IP/device window member `<len>:<event id><account>` (`redis_windows.member`)."""
    m = member if isinstance(member, bytes) else member.encode()
    n, _, rest = m.partition(b":")
    return rest[int(n):] if n.isdigit() else b""
