"""The records the online store and the decision chain share: a login as the speed layer keeps
it (`LiveLogin`), what a lookup returns (`Lookup`: snapshot rows, the speed windows as values, and
what the account's successful logins since the snapshot add to its history, `Successes`), and the
JSON form of a login's signals (Redis keeps them as text)."""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ato.features.request import AccountHistory, LoginSignals
from ato.features.windows import WINDOWS_S

HORIZON_S = max(WINDOWS_S.values())  # the longest window
RECENT_S = 3 * 86400  # an account's successful logins are kept this long (by day) to rebuild its history
DAY_S = 86400


@dataclass(frozen=True)
class LiveLogin:
    """A login as the speed layer keeps it: its keys (pseudonymized), its signals, its event id
    (a login recorded twice under one id counts once; None: never deduplicated) and the reputation
    category of its IP (attack mode flags an ASN only from hosting/proxy ranges)."""

    keys: dict[str, str | None]  # SPEED_KEYS name -> value (account id, ip hash, prefix hash, device hash)
    signals: LoginSignals
    event_id: str | None = None
    rep_category: str | None = None  # ip_rep_category at the login's time (None: not in the feed)

    @property
    def account_id(self) -> str:
        return str(self.keys["account"])


@dataclass(slots=True)
class Successes:
    """What an account's successful logins (of a day, or since a moment) add to its history: the
    devices, IPs, countries and ASNs they came from (at most `cap` of each; tuples, as most hold one
    value) and the latest of them. Folding it equals folding those logins one by one
    (`AccountHistory.observe`) in time order, but costs what the distinct values cost."""

    day_s: int = 0
    devices: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    asns: tuple[int, ...] = ()
    last: LoginSignals | None = None

    def add(self, x: LoginSignals, cap: int) -> None:
        if _known(x.device) and x.device not in self.devices and len(self.devices) < cap:
            self.devices += (str(x.device),)
        if _known(x.ip) and x.ip not in self.ips and len(self.ips) < cap:
            self.ips += (str(x.ip),)
        if _known(x.country) and x.country not in self.countries and len(self.countries) < cap:
            self.countries += (str(x.country),)
        if _known(x.asn) and int(x.asn) not in self.asns and len(self.asns) < cap:  # type: ignore[arg-type]
            self.asns += (int(x.asn),)  # type: ignore[arg-type]
        if self.last is None or x.time_s >= self.last.time_s:  # ties: the later arrival, as a replay in order
            self.last = x

    def merge(self, other: Successes) -> None:
        """Add a later day's successes."""
        self.devices = _union(self.devices, other.devices)
        self.ips = _union(self.ips, other.ips)
        self.countries = _union(self.countries, other.countries)
        self.asns = _union(self.asns, other.asns)
        if other.last is not None and (self.last is None or other.last.time_s >= self.last.time_s):
            self.last = other.last

    def fold_into(self, h: AccountHistory) -> None:
        h.devices.update(self.devices)
        h.ips.update(self.ips)
        h.countries.update(self.countries)
        h.asns.update(self.asns)
        if self.last is not None:
            h.observe(self.last)


def _union(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    return a + tuple(v for v in b if v not in a) if a else b


def merged(days: list[Successes], since_s: float) -> Successes | None:
    """The successes of the days starting at or after `since_s` (a snapshot's cutoff), as one."""
    out: Successes | None = None
    for d in sorted(days, key=lambda d: d.day_s):
        if d.day_s >= since_s:
            if out is None:
                out = Successes()
            out.merge(d)
    return out


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


@dataclass
class Lookup:
    """Everything the store knows about one login's account, IP and device at request time."""

    as_of: str | None
    account: dict[str, Any] | None
    ip: dict[str, Any] | None
    device: dict[str, Any] | None
    speed: dict[str, float]  # every SPEED_FEATURES name; NaN where the login has no such key
    recent: Successes | None = None  # the account's successful logins since the snapshot
    values: dict[str, list[float]] | None = None  # per kind, the row's feature values as floats (embedded store)

    @property
    def cutoff_s(self) -> float:
        """End of the snapshot's day: later successes are not in the snapshot yet."""
        return snapshot_cutoff_s(self.as_of)


@functools.lru_cache(maxsize=16)  # called per lookup with the live snapshot's date
def snapshot_cutoff_s(as_of: str | None) -> float:
    """End of a snapshot's day (epoch seconds); -inf without a snapshot."""
    if as_of is None:
        return float("-inf")
    end = datetime.combine(date.fromisoformat(as_of) + timedelta(days=1), datetime.min.time(), UTC)
    return end.timestamp()


def signals_to_json(x: LoginSignals) -> str:
    return json.dumps([x.time_s, x.success, x.device, x.ip, x.country, x.asn, x.lat, x.lon])


def signals_from_json(s: str | bytes) -> LoginSignals:
    t, ok, dev, ip, country, asn, lat, lon = json.loads(s)
    return LoginSignals(t, ok, dev, ip, country, asn, lat, lon)


def new_id() -> str:
    """A random UUID (version 4) as 32 hex digits: `uuid.uuid4().hex` without building the UUID object."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    return b.hex()
