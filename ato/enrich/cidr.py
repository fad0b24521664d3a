"""Longest-prefix IPv4 lookups, optionally point in time, vectorised with NumPy.

Used by the batch layer (inside a pandas UDF, so no shuffle) and usable as is by
serving. A reference table (geo DB, reputation feed) is a few thousand networks;
each lookup is one `searchsorted` per distinct prefix length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_T_BITS = 31  # seconds since the oldest entry, packed below the network key


def ipv4_to_int(ips: pd.Series) -> np.ndarray:
    """Dotted quads -> int64; -1 for null, IPv6 or malformed addresses."""
    s = pd.Series(ips, dtype="string").reset_index(drop=True)
    # ASCII digits only, as Spark's regex and Python's ipaddress read an address
    parts = s.str.extract(r"^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$")
    ok = parts.notna().all(axis=1).to_numpy()
    octets = parts.fillna("0").astype(np.int64).to_numpy()
    ok &= (octets <= 255).all(axis=1)
    value = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
    return np.where(ok, value, -1)


def parse_cidrs(networks: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """'a.b.c.d/len' -> (network base as int64, prefix length); base -1 when not IPv4."""
    s = pd.Series(networks, dtype="string").reset_index(drop=True)
    if s.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    parts = s.str.split("/", n=1, expand=True).reindex(columns=[0, 1])
    base = ipv4_to_int(parts[0])
    plen = pd.to_numeric(parts[1], errors="coerce").fillna(-1).astype(np.int64).to_numpy()
    bad = (plen < 0) | (plen > 32) | (base < 0)
    base = np.where(bad, -1, base & ~((1 << (32 - np.clip(plen, 0, 32))) - 1))
    return base, plen


@dataclass
class CidrIndex:
    """Networks by prefix length, each sorted by (network key, as_of)."""

    lengths: list[int]
    combined: dict[int, np.ndarray]
    keys: dict[int, np.ndarray]
    rows: dict[int, np.ndarray]
    t0: int

    @classmethod
    def build(cls, networks: pd.Series, as_of_s: np.ndarray | None = None) -> CidrIndex:
        """Index a table's networks; `as_of_s` (epoch seconds) makes lookups point in time."""
        base, plen = parse_cidrs(networks)
        n = len(base)
        t = np.zeros(n, dtype=np.int64) if as_of_s is None else np.asarray(as_of_s, dtype=np.int64)
        t0 = int(t.min()) if n else 0
        rel = np.clip(t - t0, 0, (1 << _T_BITS) - 1)
        idx = cls([], {}, {}, {}, t0)
        for length in sorted({int(x) for x in plen[base >= 0]}, reverse=True):
            m = np.flatnonzero((plen == length) & (base >= 0))
            key = base[m] >> (32 - length)
            comb = (key << _T_BITS) | rel[m]
            order = np.argsort(comb, kind="stable")
            idx.lengths.append(length)
            idx.combined[length], idx.keys[length], idx.rows[length] = comb[order], key[order], m[order]
        return idx

    def lookup(self, ip: np.ndarray, t_s: np.ndarray | None = None) -> np.ndarray:
        """Row of the most specific network holding each IP (known at `t_s`, latest first); -1 if none."""
        ip = np.asarray(ip, dtype=np.int64)
        t = np.zeros(len(ip), dtype=np.int64) if t_s is None else np.asarray(t_s, dtype=np.int64)
        rel = np.clip(t - self.t0, -1, (1 << _T_BITS) - 1)
        out = np.full(len(ip), -1, dtype=np.int64)
        for length in self.lengths:
            todo = np.flatnonzero((out < 0) & (ip >= 0))
            if not len(todo):
                break
            key = ip[todo] >> (32 - length)
            q = (key << _T_BITS) + rel[todo]
            pos = np.searchsorted(self.combined[length], q, side="right") - 1
            keys = self.keys[length]
            hit = (pos >= 0) & (keys[np.maximum(pos, 0)] == key)
            out[todo[hit]] = self.rows[length][pos[hit]]
        return out

    def lookup_one(self, ip: int, t_s: int | None = None) -> int:
        """`lookup` for one IP (an int, -1 if none) without array overhead: serving's per-request path."""
        if ip < 0:
            return -1
        rel = min(max((t_s or 0) - self.t0, -1), (1 << _T_BITS) - 1)
        for length in self.lengths:
            key = ip >> (32 - length)
            combined = self.combined[length]
            pos = int(combined.searchsorted((key << _T_BITS) + rel, side="right")) - 1
            if pos >= 0 and self.keys[length][pos] == key:
                return int(self.rows[length][pos])
        return -1
