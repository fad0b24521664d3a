"""Random login streams for the speed layer's tests and their expected windows from the batch
functions (`ato.features.speed.window_features`, the oracle): ties, out-of-order events, gaps
longer than a day, retried event ids, logins without a device, odd characters in account ids."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ato.features.request import LoginSignals
from ato.features.speed import SPEED_KEYS, speed_feature_names, window_features
from ato.online.decide.local_speed import to_us
from ato.online.decide.records import LiveLogin

T0 = 1_785_974_400.0  # 2026-08-06T00:00:00Z
ODD_ACCOUNTS = ("a|b", "a", "b", "a|b|c", "x:y", "3:abc", "{t}", "}{", "ü-ß", " sp ace", "'q\"", "a\x00b", "|")
STEPS = (0.0, 0.0005, 0.001, 1.0, 30.0, 299.999, 300.0, 600.0, 3_599.0, 4_000.0, 90_000.0)


@dataclass
class Step:
    login: LiveLogin
    score: bool  # True: a lookup (read, then record); False: recorded only (/v1/events)
    now: float  # server time at that step (the newest time seen, as the replay clock)


def login(account: str, ip: str | None, device: str | None, t: float, ok: bool, event_id: str) -> LiveLogin:
    prefix = None if ip is None else ip.rsplit(".", 1)[0]
    return LiveLogin({"account": account, "ip": ip, "prefix": prefix, "device": device},
                     LoginSignals(t, ok, device, ip), event_id)


def random_stream(rng: np.random.Generator, n: int, accounts: tuple[str, ...] = ("a1", "a2", "a3", "a4", "a5"),
                  score_share: float = 0.5, late_share: float = 0.15, late_s: float = 7_200.0) -> list[Step]:
    """`n` logins on a few keys: mostly in time order with ties and gaps, some late (out of order),
    some retried under an earlier event id (the same login again)."""
    out: list[Step] = []
    t = newest = T0
    for i in range(n):
        if out and rng.random() < 0.05:  # a retry: the very same login again
            prev = out[int(rng.integers(0, len(out)))].login
            out.append(Step(prev, bool(rng.random() < score_share), newest))
            continue
        t += float(rng.choice(STEPS))
        at = t - float(rng.random() * late_s) if rng.random() < late_share else t
        at = round(at, 3)
        newest = max(newest, at)
        ip = f"10.0.{rng.integers(0, 2)}.{rng.integers(1, 3)}"
        device = None if rng.random() < 0.2 else f"d{rng.integers(0, 3)}"
        acct = str(accounts[int(rng.integers(0, len(accounts)))])
        out.append(Step(login(acct, ip, device, at, bool(rng.random() < 0.6), f"e{i}"), bool(rng.random() < score_share),
                        newest))
    return out


@dataclass
class Oracle:
    """What the batch functions say a login's windows hold, over the logins recorded so far (once
    per event id) that server time has not pruned yet."""

    keep_s: float
    events: list[LiveLogin] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    def features(self, x: LiveLogin, now: float) -> dict[str, float]:
        cut = to_us(now) - round(self.keep_s * 1e6)
        out: dict[str, float] = {}
        t = x.signals.time_s
        for kind in SPEED_KEYS:
            names = speed_feature_names(kind)
            v = x.keys[kind]
            if v is None:
                out.update(dict.fromkeys(names, float("nan")))
                continue
            ev = [e for e in self.events if e.keys[kind] == v and to_us(e.signals.time_s) >= cut]
            ref = window_features(kind, np.array([e.signals.time_s for e in ev], dtype=np.float64),
                                  np.array([int(not e.signals.success) for e in ev], dtype=np.int64),
                                  np.array([e.account_id for e in ev], dtype=object), np.array([t]))
            out.update({n: float(ref[n][0]) for n in names})
        return out

    def record(self, x: LiveLogin, now: float) -> None:
        cut = to_us(now) - round(self.keep_s * 1e6)
        if x.event_id in self.ids or to_us(x.signals.time_s) < cut:
            return
        self.ids.add(str(x.event_id))
        self.events.append(x)


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)
