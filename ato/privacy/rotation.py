"""Rotating the pseudonymization key (README "Rotating the key").

Every silver row with hashes carries `key_id`, the id of the key that made them
(`ato.privacy.key_fingerprint`). After ATO_HMAC_KEY changes (the old key in ATO_HMAC_KEY_PREVIOUS),
the nightly finds the days of its feature windows hashed under another key (`stale_days`, no JVM)
and rebuilds their silver rows from bronze, which still holds the raw identifiers for
`retention.raw_days`; their daily partials and snapshots follow. A day bronze no longer holds
cannot be re-hashed: it is reported, and counts its IPs and devices as other entities than the new
key's until it leaves the 30-day window. Serving keeps hashing with the key of the snapshot it
serves (`ato.online.key_check.serving_key`), so it switches keys with the first snapshot made
under the new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ato import deltars
from ato.contracts import contract
from ato.privacy.stores import STREAMS

if TYPE_CHECKING:
    from ato.settings import Settings

HASHED_STREAMS = tuple(s for s in STREAMS if contract(s).pseudonymized)


def current_key_id(settings: Settings) -> str:
    return next(iter(settings.hmac_keys()))


def stale_days(settings: Settings, first: date, last: date) -> dict[str, list[date]]:
    """Per silver stream with hashes, the days in [first, last] holding rows hashed under another
    key than the current one. Rows written before key ids existed (no `key_id`) count as current."""
    import pyarrow.compute as pc

    mine, out = current_key_id(settings), {}
    for stream in HASHED_STREAMS:
        if not deltars.exists(settings, "silver", stream) or \
                "key_id" not in deltars.dataset(settings, "silver", stream).schema.names:
            continue
        other = pc.field("key_id").is_valid() & (pc.field("key_id") != pc.scalar(mine))
        t = deltars.read_dates(settings, "silver", stream, "event_date", first, last, ["event_date"], other)
        days = sorted(set(t.column("event_date").to_pylist()))
        if days:
            out[stream] = days
    return out


@dataclass
class Rehash:
    """What a rotation night re-hashed, and what it could not (bronze no longer holds the day)."""

    days: dict[str, list[date]] = field(default_factory=dict)
    missing: dict[str, list[date]] = field(default_factory=dict)

    @property
    def all_days(self) -> set[date]:
        return {d for ds in self.days.values() for d in ds}

    def as_dict(self) -> dict[str, dict[str, list[str]]]:
        return {k: {s: [d.isoformat() for d in ds] for s, ds in v.items() if ds}
                for k, v in (("rehashed", self.days), ("not_rehashed", self.missing))}


def plan_rehash(settings: Settings, first: date, last: date) -> Rehash:
    """The stale days of [first, last] split into those bronze still holds and those it does not."""
    plan = Rehash()
    for stream, days in stale_days(settings, first, last).items():
        raw = set(deltars.partition_dates(settings, "bronze", stream, "event_date")) \
            if deltars.exists(settings, "bronze", stream) else set()
        plan.days[stream] = [d for d in days if d in raw]
        plan.missing[stream] = [d for d in days if d not in raw]
    return plan
