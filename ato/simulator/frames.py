"""Column accumulators the simulator appends to, and the device registry they point into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ato.simulator.population import Population, new_device

LOGIN_COLS = ("account", "t", "ip", "device", "outcome", "attack", "campaign")
PAYMENT_COLS = ("account", "t", "amount", "currency", "status", "payee", "method", "device", "ip", "attack", "campaign")
CHANGE_COLS = ("account", "t", "change_type", "ip", "device", "attack", "campaign")


@dataclass
class Columns:
    """Parallel arrays appended in chunks; `build()` concatenates them once."""

    names: tuple[str, ...]
    chunks: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, n: int, **cols: Any) -> None:
        """Append n rows; scalar values are broadcast."""
        if n == 0:
            return
        missing = set(self.names) - set(cols)
        if missing:
            raise ValueError(f"missing columns {sorted(missing)}")
        for k in self.names:
            v = cols[k]
            arr = np.asarray(v) if isinstance(v, np.ndarray | list) else None
            if arr is None or arr.ndim == 0:
                arr = np.full(n, v, dtype=object if isinstance(v, str) or v is None else None)
            if len(arr) != n:
                raise ValueError(f"column {k}: {len(arr)} values for {n} rows")
            self.chunks.setdefault(k, []).append(arr)

    def build(self) -> dict[str, np.ndarray]:
        if not self.chunks:
            return {k: np.array([], dtype=object) for k in self.names}
        return {k: np.concatenate(v) for k, v in self.chunks.items()}


@dataclass
class Devices:
    """Every device in the world (legit and attacker) by global index, and each account's slots."""

    ids: list[str]
    uas: list[str]
    channels: list[str]
    kinds: list[str]
    acct_dev: np.ndarray  # [accounts, 4] global device index per slot
    n_dev: np.ndarray  # slots in use per account

    @classmethod
    def from_population(cls, pop: Population) -> Devices:
        ids: list[str] = []
        uas: list[str] = []
        chans: list[str] = []
        kinds: list[str] = []
        index: dict[str, int] = {}
        acct_dev = np.zeros((pop.n, 4), dtype=np.int64)
        n_dev = np.zeros(pop.n, dtype=np.int64)
        for a, devs in enumerate(pop.devices):
            for s, (dev, ua, ch, kind) in enumerate(devs[:4]):
                if dev not in index:
                    index[dev] = len(ids)
                    ids.append(dev)
                    uas.append(ua)
                    chans.append(ch)
                    kinds.append(kind)
                acct_dev[a, s] = index[dev]
            n_dev[a] = min(len(devs), 4)
        return cls(ids, uas, chans, kinds, acct_dev, n_dev)

    def add(self, rng: np.random.Generator, kind: str) -> int:
        """Register a fresh device; returns its global index."""
        dev, ua, ch = new_device(rng, kind)
        return self.add_known(dev, ua, ch, kind)

    def add_known(self, dev: str, ua: str, channel: str, kind: str) -> int:
        self.ids.append(dev)
        self.uas.append(ua)
        self.channels.append(channel)
        self.kinds.append(kind)
        return len(self.ids) - 1
