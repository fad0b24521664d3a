"""Request-time features of one login, given what the account's history says (the nightly
snapshot plus the successful logins since): new device/IP/country/ASN, impossible travel,
unusual hour. Serving calls `request_features` per request; the training set replays an
account's day through `replay_account`, which calls the same function.

Only *successful* logins make a device, IP or place "known": an attacker's failed
attempts must not teach the account that the attacker's device is familiar.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ato.features.geo import haversine_km, implied_speed_kmh
from ato.features.habits import hour_deviation, hour_of_day

NAN = float("nan")
REQUEST_FEATURES: tuple[str, ...] = (
    "has_history", "new_device", "new_ip", "new_country", "new_asn", "country_change", "asn_change",
    "s_since_last_login", "km_since_last_login", "kmh_since_last_login", "hour_deviation",
)


@dataclass(frozen=True)
class LoginSignals:
    """What a login attempt tells about the account at request time (pseudonymized ids)."""

    time_s: float
    success: bool
    device: str | None = None
    ip: str | None = None
    country: str | None = None
    asn: int | None = None
    lat: float | None = None
    lon: float | None = None


def present(v: Any) -> bool:
    """Neither None nor NaN."""
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _float(v: Any) -> float:
    return float(v) if present(v) else NAN


@dataclass
class AccountHistory:
    """An account's known places and last successful login, as of a moment."""

    devices: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    asns: set[int] = field(default_factory=set)
    last_time_s: float = NAN
    last_lat: float = NAN
    last_lon: float = NAN
    last_country: str | None = None
    last_asn: int | None = None
    hour_mean: float = NAN
    hour_spread: float = NAN

    @classmethod
    def from_snapshot(cls, row: Mapping[str, Any] | None) -> AccountHistory:
        """From an account snapshot row (gold/account_features_daily); empty when None."""
        if row is None:
            return cls()

        def _set(name: str) -> set[Any]:
            v = row.get(name)
            return set() if v is None else {x for x in v if present(x)}

        def _num(name: str) -> float:
            return _float(row.get(name))

        last = row.get("last_login_s")
        if not present(last) and present(row.get("last_login_time")):
            last = row["last_login_time"].timestamp()  # datetime / pandas Timestamp
        return cls(
            devices=_set("known_devices"), ips=_set("known_ips"), countries=_set("known_countries"),
            asns={int(a) for a in _set("known_asns")},
            last_time_s=_float(last),
            last_lat=_num("last_login_lat"), last_lon=_num("last_login_lon"),
            last_country=row.get("last_login_country") if present(row.get("last_login_country")) else None,
            last_asn=int(row["last_login_asn"]) if present(row.get("last_login_asn")) else None,
            hour_mean=_num("hour_mean"), hour_spread=_num("hour_spread"),
        )

    def copy(self) -> AccountHistory:
        """An independent copy (its sets are new), to fold logins into without touching this one."""
        c = copy.copy(self)
        c.devices, c.ips, c.countries, c.asns = set(self.devices), set(self.ips), set(self.countries), set(self.asns)
        return c

    def observe(self, x: LoginSignals) -> None:
        """Fold a login in after it has been scored: successes become known history."""
        if not x.success:
            return
        for v, known in ((x.device, self.devices), (x.ip, self.ips), (x.country, self.countries)):
            if present(v):
                known.add(v)  # type: ignore[arg-type]
        if present(x.asn):
            self.asns.add(int(x.asn))  # type: ignore[arg-type]
        self.last_time_s = x.time_s
        self.last_lat = _float(x.lat)
        self.last_lon = _float(x.lon)
        self.last_country = x.country if present(x.country) else None
        self.last_asn = int(x.asn) if present(x.asn) else None  # type: ignore[arg-type]


def _is_new(v: Any, known: set[Any]) -> float:
    return NAN if not present(v) else float(v not in known)


def _changed(v: Any, last: Any) -> float:
    return NAN if not (present(v) and present(last)) else float(v != last)


def request_features(h: AccountHistory, x: LoginSignals) -> dict[str, float]:
    """The request-time features of login `x` for an account whose history is `h`."""
    dt = x.time_s - h.last_time_s
    km = haversine_km(h.last_lat, h.last_lon, _float(x.lat), _float(x.lon))
    return {
        "has_history": float(not math.isnan(h.last_time_s)),
        "new_device": _is_new(x.device, h.devices),
        "new_ip": _is_new(x.ip, h.ips),
        "new_country": _is_new(x.country, h.countries),
        "new_asn": _is_new(None if x.asn is None else int(x.asn), h.asns),
        "country_change": _changed(x.country, h.last_country),
        "asn_change": _changed(x.asn, h.last_asn),
        "s_since_last_login": dt,
        "km_since_last_login": km,
        "kmh_since_last_login": implied_speed_kmh(km, dt),
        "hour_deviation": hour_deviation(hour_of_day(x.time_s), h.hour_mean, h.hour_spread),
    }


def replay_account(h: AccountHistory, logins: Iterable[LoginSignals]) -> list[dict[str, float]]:
    """Features of an account's logins in time order, each seeing only the logins before it."""
    out = []
    for x in logins:
        out.append(request_features(h, x))
        h.observe(x)
    return out


def signals_from_columns(cols: Mapping[str, Sequence[Any]], i: int) -> LoginSignals:
    """Row `i` of silver-login-shaped columns (t, outcome, device_hash, ip_hash, ...)."""

    def _opt(name: str) -> Any:
        v = cols[name][i]
        return v if present(v) else None

    asn = _opt("asn")
    return LoginSignals(
        time_s=float(cols["t"][i]), success=cols["outcome"][i] == "success",
        device=_opt("device_hash"), ip=_opt("ip_hash"), country=_opt("country"),
        asn=None if asn is None else int(asn), lat=_opt("latitude"), lon=_opt("longitude"),
    )


HISTORY_COLUMNS: tuple[str, ...] = (
    "known_devices", "known_ips", "known_countries", "known_asns", "last_login_s", "last_login_lat",
    "last_login_lon", "last_login_country", "last_login_asn", "hour_mean", "hour_spread",
)
SIGNAL_COLUMNS = ("t", "outcome", "device_hash", "ip_hash", "country", "asn", "latitude", "longitude")


def partition_request_features(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """`mapInPandas` body: request-time features for a partition holding whole account-days.

    Each row is a login (`event_id`, `account_id`, `login_date`, `t` in epoch seconds, the
    login's signals) carrying the account's snapshot of the day before (HISTORY_COLUMNS).
    Each account-day is replayed in (time, event_id) order on top of its snapshot.
    """
    frames = list(batches)
    if not frames:
        return
    pdf = pd.concat(frames, ignore_index=True).sort_values(["account_id", "login_date", "t", "event_id"],
                                                           kind="stable", ignore_index=True)
    cols = {c: pdf[c].to_numpy() for c in SIGNAL_COLUMNS}
    hist = {c: pdf[c].to_numpy() for c in HISTORY_COLUMNS}
    acct, day = pdf["account_id"].to_numpy(), pdf["login_date"].to_numpy()
    starts = [*np.flatnonzero(np.r_[True, (acct[1:] != acct[:-1]) | (day[1:] != day[:-1])]).tolist(), len(pdf)]
    feats: list[dict[str, float]] = []
    for a, b in itertools.pairwise(starts):
        h = AccountHistory.from_snapshot({c: v[a] for c, v in hist.items()})
        feats += replay_account(h, (signals_from_columns(cols, i) for i in range(a, b)))
    out = pd.DataFrame(feats, columns=list(REQUEST_FEATURES), dtype="float64")
    out.insert(0, "event_id", pdf["event_id"].to_numpy())
    yield out
