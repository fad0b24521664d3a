"""The simulated internet: cities, ISPs, mobile carriers and hosting networks as IPv4 /16 blocks.

Each block belongs to one city and one ASN, so an IP alone tells its geo (what
the offline geo database published with the world says). IPs are uint32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# name, country, latitude, longitude, UTC offset (hours), currency, weight of accounts
CITIES: tuple[tuple[str, str, float, float, float, str, float], ...] = (
    ("New York", "US", 40.71, -74.01, -5, "USD", 8),
    ("Los Angeles", "US", 34.05, -118.24, -8, "USD", 7),
    ("Chicago", "US", 41.88, -87.63, -6, "USD", 5),
    ("Houston", "US", 29.76, -95.37, -6, "USD", 5),
    ("Seattle", "US", 47.61, -122.33, -8, "USD", 4),
    ("Miami", "US", 25.76, -80.19, -5, "USD", 4),
    ("London", "GB", 51.51, -0.13, 0, "GBP", 7),
    ("Manchester", "GB", 53.48, -2.24, 0, "GBP", 3),
    ("Berlin", "DE", 52.52, 13.40, 1, "EUR", 4),
    ("Munich", "DE", 48.14, 11.58, 1, "EUR", 3),
    ("Frankfurt", "DE", 50.11, 8.68, 1, "EUR", 2),
    ("Paris", "FR", 48.86, 2.35, 1, "EUR", 5),
    ("Lyon", "FR", 45.76, 4.84, 1, "EUR", 2),
    ("Madrid", "ES", 40.42, -3.70, 1, "EUR", 3),
    ("Barcelona", "ES", 41.39, 2.17, 1, "EUR", 2),
    ("Rome", "IT", 41.90, 12.50, 1, "EUR", 3),
    ("Milan", "IT", 45.46, 9.19, 1, "EUR", 2),
    ("Amsterdam", "NL", 52.37, 4.90, 1, "EUR", 3),
    ("Warsaw", "PL", 52.23, 21.01, 1, "PLN", 3),
    ("Sao Paulo", "BR", -23.55, -46.63, -3, "BRL", 4),
    ("Rio de Janeiro", "BR", -22.91, -43.17, -3, "BRL", 2),
    ("Mexico City", "MX", 19.43, -99.13, -6, "MXN", 4),
    ("Mumbai", "IN", 19.08, 72.88, 5.5, "INR", 2),
    ("Bangalore", "IN", 12.97, 77.59, 5.5, "INR", 2),
    ("Toronto", "CA", 43.65, -79.38, -5, "CAD", 3),
    ("Vancouver", "CA", 49.28, -123.12, -8, "CAD", 1),
    ("Sydney", "AU", -33.87, 151.21, 10, "AUD", 3),
    ("Tokyo", "JP", 35.68, 139.69, 9, "JPY", 2),
    ("Singapore", "SG", 1.35, 103.82, 8, "SGD", 1),
    ("Lagos", "NG", 6.52, 3.38, 1, "NGN", 0.5),
    ("Bucharest", "RO", 44.43, 26.10, 2, "RON", 0.5),
    ("Ho Chi Minh City", "VN", 10.82, 106.63, 7, "VND", 0.5),
)
HOSTING_ASNS = (16509, 14061, 24940, 16276, 63949, 20473)
HOSTING_CITIES = ("Seattle", "New York", "Frankfurt", "Amsterdam", "Singapore", "London", "Paris")
FIRST_OCTET = 20


@dataclass
class Internet:
    """Cities and /16 blocks of the simulated world, with lookups from IP to block."""

    cities: pd.DataFrame  # index = city idx: name, country, lat, lon, utc_offset, currency, weight
    blocks: pd.DataFrame  # index = block idx: city, asn, kind (residential|mobile|hosting)
    countries: np.ndarray  # country code per city idx

    def block_base(self, block: np.ndarray) -> np.ndarray:
        """First IP (uint32) of each block index."""
        b = np.asarray(block, dtype=np.int64)
        return ((FIRST_OCTET + b // 256) << 24 | (b % 256) << 16).astype(np.int64)

    def block_of(self, ip: np.ndarray) -> np.ndarray:
        """Block index of each IP."""
        ip = np.asarray(ip, dtype=np.int64)
        return ((ip >> 24) - FIRST_OCTET) * 256 + ((ip >> 16) & 255)

    def random_ip(self, rng: np.random.Generator, block: np.ndarray) -> np.ndarray:
        """A random host address inside each given block (avoids .0 and .255)."""
        host = rng.integers(1, 65535, size=np.shape(block))
        host = np.where((host & 255) == 0, host + 1, host)
        host = np.where((host & 255) == 255, host - 1, host)
        return self.block_base(block) + host

    def blocks_where(self, kind: str, city: int | None = None) -> np.ndarray:
        """Block indices of a kind, optionally in one city."""
        m = self.blocks["kind"].to_numpy() == kind
        if city is not None:
            m &= self.blocks["city"].to_numpy() == city
        return np.flatnonzero(m)

    def geo_table(self) -> pd.DataFrame:
        """The offline geo database: one row per /16 network."""
        b = self.blocks
        base = self.block_base(b.index.to_numpy())
        c = self.cities.loc[b["city"].to_numpy()]
        return pd.DataFrame(
            {
                "network": [f"{ip_to_str_one(x)}/16" for x in base],
                "country": c["country"].to_numpy(),
                "city": c["name"].to_numpy(),
                "latitude": c["lat"].to_numpy(),
                "longitude": c["lon"].to_numpy(),
                "asn": b["asn"].to_numpy(),
            }
        )


def build_internet() -> Internet:
    """Two residential ISPs and one mobile carrier per country, a /16 per city each; hosting blocks."""
    cities = pd.DataFrame(
        CITIES, columns=["name", "country", "lat", "lon", "utc_offset", "currency", "weight"]
    )
    countries = cities["country"].to_numpy()
    country_codes = list(dict.fromkeys(countries))
    rows: list[tuple[int, int, str]] = []
    for ci, cc in enumerate(countries):
        k = country_codes.index(cc)
        rows.append((ci, 20000 + k * 10 + 1, "residential"))
        rows.append((ci, 20000 + k * 10 + 2, "residential"))
        rows.append((ci, 20000 + k * 10 + 5, "mobile"))
    name_to_idx = {n: i for i, n in enumerate(cities["name"])}
    for j, asn in enumerate(HOSTING_ASNS):
        for h in range(4):
            rows.append((name_to_idx[HOSTING_CITIES[(j + h) % len(HOSTING_CITIES)]], asn, "hosting"))
    blocks = pd.DataFrame(rows, columns=["city", "asn", "kind"])
    return Internet(cities=cities, blocks=blocks, countries=countries)


def ip_to_str_one(ip: int) -> str:
    ip = int(ip)
    return f"{ip >> 24 & 255}.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}"


def ips_to_str(ip: np.ndarray) -> np.ndarray:
    """Vectorised uint32 -> dotted quad."""
    ip = np.asarray(ip, dtype=np.int64)
    parts = [pd.Series((ip >> s) & 255).astype(str) for s in (24, 16, 8, 0)]
    return (parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[3]).to_numpy(dtype=object)
