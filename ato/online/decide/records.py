"""The records the online store and the decision chain share: a login as the speed layer keeps
it (`LiveLogin`), what a lookup returns (`Lookup`), recent events per key (`Events`), and the
JSON form of a login's signals (Redis keeps them as text)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ato.features.request import LoginSignals
from ato.features.windows import WINDOWS_S

HORIZON_S = max(WINDOWS_S.values())  # events older than the longest window are dropped
RECENT_S = 3 * 86400  # an account's successful logins kept for rebuilding its history
Events = tuple[list[float], list[int], list[str]]  # times (s), failed flags, account ids


@dataclass(frozen=True)
class LiveLogin:
    """A login as the speed layer keeps it: its keys (pseudonymized) and its signals."""

    keys: dict[str, str | None]  # SPEED_KEYS name -> value (account id, ip hash, prefix hash, device hash)
    signals: LoginSignals

    @property
    def account_id(self) -> str:
        return str(self.keys["account"])


@dataclass
class Lookup:
    """Everything the store knows about one login's account, IP and device at request time."""

    as_of: str | None
    account: dict[str, Any] | None
    ip: dict[str, Any] | None
    device: dict[str, Any] | None
    events: dict[str, Events | None]
    recent: list[LoginSignals] = field(default_factory=list)

    @property
    def cutoff_s(self) -> float:
        """End of the snapshot's day: later successes are not in the snapshot yet."""
        return snapshot_cutoff_s(self.as_of)


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
