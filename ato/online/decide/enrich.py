"""A login request enriched as silver enriches a login: the IP normalized, pseudonymized ids and the
IP's /24 (IPv6: /64) network, geo and ASN (the request's own when it has country and ASN, else the
offline CIDR database), IP reputation known at the login's time, parsed user agent. Raw IPs and
device ids stop here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ato.enrich.cidr import CidrIndex
from ato.enrich.useragent import parse_user_agent
from ato.privacy import ip_prefix, normalize_ip, pseudonymize
from ato.settings import Settings

GEO = ("country", "city", "latitude", "longitude", "asn")


@dataclass
class Enriched:
    """What serving knows about a login once its raw identifiers are gone."""

    account_id: str
    time_s: float
    outcome: str
    channel: str
    ip_hash: str | None
    ip_prefix_hash: str | None
    device_hash: str | None
    country: str | None
    city: str | None
    latitude: float | None
    longitude: float | None
    asn: int | None
    ip_rep_category: str | None
    ip_rep_score: float | None
    ua_family: str
    ua_major: int | None
    os_family: str
    device_class: str
    is_automation_ua: bool


_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", re.ASCII)


def ip_int(ip: str | None) -> int:
    """One dotted quad as an integer, -1 if not IPv4 (as `ato.enrich.cidr.ipv4_to_int`, per value)."""
    m = _IPV4.fullmatch(ip) if ip else None
    if m is None:
        return -1
    a, b, c, d = (int(x) for x in m.groups())
    return -1 if max(a, b, c, d) > 255 else (a << 24) | (b << 16) | (c << 8) | d


@dataclass(frozen=True)
class _IpFacts:
    ip_hash: str | None
    prefix_hash: str | None
    n: int
    geo: dict[str, Any] | None


@dataclass
class _Lookup:
    index: CidrIndex
    payload: list[dict[str, Any]]

    def get(self, n: int, t_s: float | None = None) -> dict[str, Any] | None:
        """The payload of the most specific network holding IP `n` (an int), known at `t_s`."""
        if n < 0 or not self.payload:
            return None
        row = self.index.lookup_one(n, None if t_s is None else int(t_s))
        return None if row < 0 else self.payload[row]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _nan_to_none(v) for k, v in r.items()} for r in df.reset_index(drop=True).to_dict("records")]


def _nan_to_none(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


class Enricher:
    """Built once per reference-data version; `enrich` is called per request."""

    def __init__(self, settings: Settings, geo: pd.DataFrame | None, reputation: pd.DataFrame | None,
                 key: bytes | None = None) -> None:
        self.key = key or settings.hmac_key_bytes()  # serving: the published snapshot's key (`serving_key`)
        self.hex_chars = settings.privacy.hash_hex_chars
        self.geo = None if geo is None else _Lookup(CidrIndex.build(geo["network"]), _records(geo))
        self._ip_cache: dict[str, _IpFacts] = {}
        self._device_cache: dict[str, str | None] = {}
        self.rep = None
        if reputation is not None and not reputation.empty:
            # epoch seconds, whatever unit the reader gave (delta-rs: µs, Spark: ns)
            as_of = pd.to_datetime(reputation["as_of"], utc=True).dt.as_unit("ns").astype("int64").to_numpy() // 10**9
            self.rep = _Lookup(CidrIndex.build(reputation["network"], as_of),
                               _records(reputation[["category", "score"]]))
        self.reputation_rows = 0 if reputation is None else len(reputation)

    def _device(self, device_id: str | None) -> str | None:
        if device_id is None:
            return None
        h = self._device_cache.get(device_id)
        if h is None:
            if len(self._device_cache) > 200_000:
                self._device_cache.clear()
            h = self._device_cache[device_id] = pseudonymize(self.key, device_id, self.hex_chars)
        return h

    def _ip(self, ip: str) -> _IpFacts:
        """What does not change for an IP: its hashes, its integer and its geo row (cached)."""
        facts = self._ip_cache.get(ip)
        if facts is None:
            if len(self._ip_cache) > 200_000:
                self._ip_cache.clear()
            norm = normalize_ip(ip)  # as silver: one text, so one hash, per address
            n = ip_int(norm)
            facts = _IpFacts(pseudonymize(self.key, norm, self.hex_chars),
                             pseudonymize(self.key, ip_prefix(norm), self.hex_chars), n,
                             self.geo.get(n) if self.geo else None)
            self._ip_cache[ip] = facts
        return facts

    @classmethod
    def load(cls, settings: Settings, key: bytes | None = None) -> Enricher:
        """Geo database from conf, reputation feed from silver (delta-rs; absent tables are fine)."""
        geo_path = Path(settings.enrich.geo_db)
        geo = None
        if geo_path.exists():
            geo = pd.read_csv(geo_path, dtype={"network": str, "country": str, "city": str})
        rep = None
        try:
            from ato import deltars
            from ato.tables import IP_REPUTATION

            rep = deltars.read(settings, "silver", IP_REPUTATION, ["network", "category", "score", "as_of"]).to_pandas()
        except Exception:
            rep = None
        return cls(settings, geo, rep, key)

    def enrich(self, account_id: str, time_s: float, outcome: str, channel: str, ip: str, user_agent: str,
               device_id: str | None, geo: dict[str, Any]) -> Enriched:
        g = dict(geo)
        facts = self._ip(ip)
        if (g.get("country") is None or g.get("asn") is None) and facts.geo:  # silver: the event's geo if complete
            g = {c: g.get(c) if g.get(c) is not None else facts.geo.get(c) for c in GEO}
        rep = self.rep.get(facts.n, time_s) if self.rep else None
        ua = parse_user_agent(user_agent)
        asn = _nan_to_none(g.get("asn"))
        return Enriched(
            account_id=account_id, time_s=time_s, outcome=outcome, channel=channel,
            ip_hash=facts.ip_hash, ip_prefix_hash=facts.prefix_hash,
            device_hash=self._device(device_id),
            country=_nan_to_none(g.get("country")), city=_nan_to_none(g.get("city")),
            latitude=_nan_to_none(g.get("latitude")), longitude=_nan_to_none(g.get("longitude")),
            asn=None if asn is None else int(asn),
            ip_rep_category=None if rep is None else str(rep["category"]),
            ip_rep_score=None if rep is None else float(rep["score"]),
            ua_family=ua.family, ua_major=ua.major, os_family=ua.os, device_class=ua.device_class,
            is_automation_ua=ua.is_automation,
        )
