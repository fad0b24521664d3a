"""The speed layer held in one process: every key's windows (`KeyWindow`), each account's recent
successful logins (per day, `Successes`) and the event ids already counted, within a memory bound.

The embedded store reads and writes it. With Redis, every worker keeps one as well, of what it has
seen, so the shed path and the store's fallback still know the velocities. Everything is pruned
by server time (`now`), never by a login's own time; idle keys whose events all expired, and past
`max_keys` / `max_events` the least recently used keys, are evicted.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from ato.features.speed import SPEED_KEYS, speed_feature_names
from ato.online.decide.records import DAY_S, HORIZON_S, RECENT_S, LiveLogin, Successes, merged
from ato.online.decide.windows import US, KeyWindow
from ato.settings import SpeedConf

NAN = float("nan")
KIND_CODE = {"account": "a", "ip": "i", "prefix": "p", "device": "d"}
_NAMES = {k: speed_feature_names(k) for k in SPEED_KEYS}
_MISSING = {k: dict.fromkeys(n, NAN) for k, n in _NAMES.items()}
_EMPTY = {k: dict.fromkeys(n, 0.0) for k, n in _NAMES.items()}


def to_us(t_s: float) -> int:
    """Epoch seconds -> integer µs, rounded as the batch layer's `t_us`."""
    return round(t_s * US)


class LocalSpeed:
    """Bounded in-process speed layer. `recent=False`: windows only (a worker beside Redis)."""

    def __init__(self, conf: SpeedConf | None = None, recent: bool = True) -> None:
        conf = conf or SpeedConf()
        self.cap, self.width_us = conf.key_events, conf.bucket_s * US
        self.keep_us = (HORIZON_S + conf.late_s) * US
        self.max_keys, self.max_events, self.recent_values = conf.max_keys, conf.max_events, conf.recent_values
        self.keys: OrderedDict[str, KeyWindow] = OrderedDict()  # kind code + value; least recently used first
        self.recent: OrderedDict[str, list[Successes]] | None = OrderedDict() if recent else None
        self.seen: dict[str, int] = {}  # event id -> its time (µs)
        self.seen_order: deque[str] = deque()
        self.entries = 0  # events and coarse buckets held, all keys
        self.capped = 0  # keys held that went past the cap (they have coarse buckets)
        self.evicted = {"bound": 0, "expired": 0}
        self.duplicates = 0

    def cut_us(self, now: float) -> int:
        """Events before this (µs) are forgotten: the longest window plus `late_s` behind server time."""
        return -(2**62) if math.isinf(now) else to_us(now) - self.keep_us

    def features(self, login: LiveLogin, now: float) -> dict[str, float]:
        """The login's window features from this process's counts (NaN for a key it lacks)."""
        return self._pass(login, now, read=True, write=False)[0]

    def record(self, login: LiveLogin, now: float) -> bool:
        """Count a login (False: already counted under its event id, or older than what is kept)."""
        return self._pass(login, now, read=False, write=True)[1]

    def lookup(self, login: LiveLogin, now: float, since_s: float) -> tuple[dict[str, float], Successes | None]:
        """The login's window features and the account's successes since `since_s`; then records it."""
        recent = None
        if self.recent is not None and login.account_id in self.recent:
            recent = merged(self._days(login.account_id, now), since_s)
        return self._pass(login, now, read=True, write=True)[0], recent

    def _pass(self, login: LiveLogin, now: float, read: bool, write: bool) -> tuple[dict[str, float], bool]:
        """One pass over the login's keys: prune each, read its windows at the login's time, add the
        login (unless its event id was counted already); returns the features and whether it counted."""
        t, cut = to_us(login.signals.time_s), self.cut_us(now)
        add = False
        if write and t >= cut:
            eid = login.event_id
            if eid is None:
                add = True
            elif eid in self.seen:
                self.duplicates += 1
            else:
                self.seen[eid] = t
                self.seen_order.append(eid)
                add = True
        x, account = login.signals, login.account_id
        failed = int(not x.success)
        out: dict[str, float] = {}
        keys = self.keys
        for kind, value in login.keys.items():
            if value is None:
                if read:
                    out.update(_MISSING[kind])
                continue
            key = KIND_CODE[kind] + value
            kw = keys.get(key)
            if kw is None:
                if read:
                    out.update(_EMPTY[kind])
                if not add:
                    continue
                kw = keys[key] = KeyWindow(distinct=kind != "account")
            else:
                keys.move_to_end(key)
                self.entries -= kw.prune(cut)
                if read:
                    out.update(zip(_NAMES[kind], map(float, kw.counts(t)), strict=True))
            if add:
                plain = kw.coarse is None
                self.entries += kw.add(t, failed, account, self.cap, self.width_us)
                if plain and kw.coarse is not None:
                    self.capped += 1
        if add:
            if x.success and self.recent is not None:
                self._remember(login, now)
            self._bound(cut)
        return out, add

    def stats(self) -> dict[str, int]:
        """For /metrics: keys and entries held, evictions, duplicates refused."""
        return {"keys": len(self.keys), "entries": self.entries, "event_ids": len(self.seen),
                "accounts_recent": len(self.recent or ()), "capped_keys": self.capped,
                "evicted_bound": self.evicted["bound"], "evicted_expired": self.evicted["expired"],
                "duplicates": self.duplicates}

    def _days(self, account: str, now: float) -> list[Successes]:
        assert self.recent is not None
        days = self.recent[account]
        oldest = now - RECENT_S
        if days and days[0].day_s + DAY_S <= oldest:
            days[:] = [d for d in days if d.day_s + DAY_S > oldest]
        return days

    def _remember(self, login: LiveLogin, now: float) -> None:
        assert self.recent is not None
        x, account = login.signals, login.account_id
        day = int(x.time_s // DAY_S) * DAY_S
        if account in self.recent:
            self.recent.move_to_end(account)
            days = self._days(account, now)
        else:
            days = self.recent[account] = []
        for d in days:
            if d.day_s == day:
                d.add(x, self.recent_values)
                return
        d = Successes(day)
        d.add(x, self.recent_values)
        days.append(d)
        days.sort(key=lambda d: d.day_s)
        oldest = now - RECENT_S
        for _ in range(2):  # accounts idle for longer than what is kept, from the least recently used end
            first = next(iter(self.recent.values()))
            if first and first[-1].day_s + DAY_S > oldest:
                break
            self.recent.popitem(last=False)
        while len(self.recent) > self.max_keys:
            self.recent.popitem(last=False)

    def _bound(self, cut: int) -> None:
        seen, order = self.seen, self.seen_order
        while order and (len(order) > self.max_events or seen[order[0]] < cut):
            del seen[order.popleft()]
        for _ in range(2):  # idle keys whose every event expired, from the least recently used end
            if not self.keys:
                break
            key, kw = next(iter(self.keys.items()))
            if kw.newest >= cut:
                break
            self._drop(key, "expired")
        while len(self.keys) > 1 and (len(self.keys) > self.max_keys or self.entries > self.max_events):
            self._drop(next(iter(self.keys)), "bound")

    def _drop(self, key: str, why: str) -> None:
        kw = self.keys.pop(key)
        self.entries -= kw.size
        self.capped -= kw.coarse is not None
        self.evicted[why] += 1
