"""The published snapshot loaded into Redis, where several API workers share it.

Key layout (all under `ato:`; `ato.online.decide.redis_store` reads it):
- `ato:snap:current` -> the live snapshot's as-of date;
- `ato:snap:<as_of>:<a|i|d>:<key>` -> one account, IP or device row as JSON.
`publish_to_redis` writes the rows first and swaps the pointer last, so a lookup sees the old
snapshot or the new one; the replaced snapshot expires an hour later.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ato.online.snapshot.files import read_snapshot
from ato.settings import Settings

CURRENT = "ato:snap:current"
KIND_CODE = {"account": "a", "ip": "i", "device": "d"}
OLD_SNAPSHOT_TTL_S = 3600  # a replaced snapshot lingers this long for lookups already under way


def row_key(as_of: str, kind: str, key: str) -> str:
    return f"ato:snap:{as_of}:{KIND_CODE[kind]}:{key}"


def _json_default(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"cannot store {type(v).__name__} in Redis")


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def publish_to_redis(settings: Settings, url: str | None = None, chunk: int = 5000) -> dict[str, Any]:
    """Load the live published snapshot into Redis and make it current there (pointer swapped last)."""
    import redis

    as_of, tables = read_snapshot(settings)
    if as_of is None:
        raise FileNotFoundError(f"no snapshot published under {settings.online.snapshot_dir}; run the nightly publish first")
    r = redis.Redis.from_url(url or settings.serving.redis_url)
    rows = {}
    for kind, table in tables.items():
        items = list(table.items())
        for i in range(0, len(items), chunk):
            pipe = r.pipeline(transaction=False)
            for key, row in items[i:i + chunk]:
                pipe.set(row_key(as_of, kind, key), json.dumps(_clean(row), default=_json_default))
            pipe.execute()
        rows[kind] = len(items)
    old = text(r.get(CURRENT))
    r.set(CURRENT, as_of)
    if old and old != as_of:
        for k in r.scan_iter(match=f"ato:snap:{old}:*", count=10_000):
            r.expire(k, OLD_SNAPSHOT_TTL_S)
    return {"as_of": as_of, "rows": rows, "url": _redact(url or settings.serving.redis_url)}


def text(v: Any) -> str | None:
    """A Redis reply (bytes) as text."""
    return v.decode() if isinstance(v, bytes) else v


def _redact(url: str) -> str:
    """A Redis URL without its password, for messages."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
