"""Features of a sensitive action (a payment, or an account change) from what the account did
before it, defined once: the batch training rows (`ato.actions.rows`) and serving
(`ato.online.actions`) fold an account's events in time order through the same `ActionState`.

The history is day-granular, like the login snapshot: an action on day L sees the events of days
[L-30, L] folded before it. Every feature is a function of those events alone (caps keep the most
recent values), so a state folded from any earlier start gives the same features: the nightly
snapshot's state of L-1 plus day L's events equals the batch's continuous fold.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ato.contracts import CHANGE_TYPES

NAN = float("nan")
DAY_S = 86400
WINDOW_DAYS = 30  # an action on day L sees days [L - 30, L]
WATCHED_CHANGES = ("payout_method_added", "email_change", "phone_change")  # counted over 24 h
ACTION_KINDS: tuple[str, ...] = ("payment", *CHANGE_TYPES)  # `action_kind` is the index in this tuple
CAP_PLACES, CAP_PAYEES, CAP_AMOUNTS, CAP_ACTIONS = 128, 64, 100, 64
LOGIN, CHANGE, PAYMENT = 0, 1, 2  # order at equal times: a login before the actions it enabled

ACTION_FEATURES: tuple[str, ...] = (
    "action_kind", "amount_ratio", "payee_new", "method_new", "device_new", "ip_new", "s_since_login",
    "same_device_as_login", "same_ip_as_login", "actions_since_login", "changes_24h",
)


@dataclass(frozen=True)
class Action:
    """A sensitive action as both sides see it (device and IP already pseudonymized)."""

    event_id: str
    time_s: float
    kind: str  # "payment" or a change type
    amount: float | None = None
    payee: str | None = None
    method: str | None = None
    device: str | None = None
    ip: str | None = None


def order_key(time_s: float, rank: int, event_id: str) -> tuple[float, int, str]:
    """The order both sides fold events in: time, then logins before changes before payments, then id."""
    return (time_s, rank, event_id)


def _day(t: float) -> int:
    return math.floor(t / DAY_S)


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


@dataclass
class ActionState:
    """One account's history for action features; updated event by event (JSON-serializable)."""

    places: dict[str, dict[int, float]] = field(default_factory=dict)  # "d"/"i" + hash -> day -> first time
    payees: dict[str, float] = field(default_factory=dict)  # payee -> last time
    methods: dict[str, float] = field(default_factory=dict)  # payment method -> last time
    amounts: list[tuple[float, float]] = field(default_factory=list)  # (time, amount) of payments
    login: tuple[float, str | None, str | None] | None = None  # latest successful login: time, device, ip
    actions: list[tuple[float, str, str]] = field(default_factory=list)  # (time, kind, event id)
    pruned_day: int = field(default=-(2**31), compare=False, repr=False)  # the day `_prune` last ran for

    # -- updates ------------------------------------------------------------------------------
    def observe_login(self, time_s: float, device: str | None, ip: str | None) -> None:
        """A successful login (folding the same login twice changes nothing)."""
        self._place("d", device, time_s)
        self._place("i", ip, time_s)
        if self.login is None or time_s >= self.login[0]:
            self.login = (time_s, device, ip)
        self._prune(_day(time_s))

    def observe_action(self, a: Action) -> bool:
        """Fold an action in after its features were taken; False if its event id was folded already."""
        if any(eid == a.event_id for _, _, eid in self.actions):
            return False
        self.actions.append((a.time_s, a.kind, a.event_id))
        del self.actions[:-CAP_ACTIONS]
        if a.kind == "payment":
            self._place("d", a.device, a.time_s)
            self._place("i", a.ip, a.time_s)
            if _known(a.amount):
                self.amounts.append((a.time_s, float(a.amount)))  # type: ignore[arg-type]
                del self.amounts[:-CAP_AMOUNTS]
            _remember(self.payees, a.payee, a.time_s)
            _remember(self.methods, a.method, a.time_s)
        self._prune(_day(a.time_s))
        return True

    def _place(self, prefix: str, value: str | None, t: float) -> None:
        if not _known(value):
            return
        key = prefix + str(value)
        days = self.places.get(key)
        if days is None:
            days = self.places[key] = {}
        d = _day(t)
        if d not in days or t < days[d]:
            days[d] = t
        if len(self.places) > CAP_PLACES:  # forget the least recently seen place
            oldest = min(self.places, key=lambda k: (_recency(self.places[k]), k))
            del self.places[oldest]

    def _prune(self, day: int) -> None:
        """Drop what no later window can see (memory only: features filter by window anyway)."""
        if day <= self.pruned_day:
            return
        self.pruned_day = day
        lo = day - WINDOW_DAYS
        for key in [k for k, days in self.places.items() if max(days) < lo]:
            del self.places[key]
        for k, days in self.places.items():
            if min(days) < lo:
                self.places[k] = {d: t for d, t in days.items() if d >= lo}
        for book in (self.payees, self.methods):
            for key in [k for k, t in book.items() if _day(t) < lo]:
                del book[key]
        self.amounts = [x for x in self.amounts if _day(x[0]) >= lo]
        self.actions = [x for x in self.actions if _day(x[0]) >= lo]
        if self.login is not None and _day(self.login[0]) < lo:
            self.login = None

    # -- features -----------------------------------------------------------------------------
    def features(self, a: Action) -> dict[str, float]:
        """The action's features from what was folded before it (the action itself excluded)."""
        lo = _day(a.time_s) - WINDOW_DAYS
        pay = a.kind == "payment"
        amounts = [x for t, x in self.amounts if _day(t) >= lo]
        usual = statistics.median(amounts) if amounts else NAN
        ratio = float(a.amount) / usual if pay and _known(a.amount) and usual > 0 else NAN  # type: ignore[arg-type]
        login = self.login if self.login is not None and _day(self.login[0]) >= lo else None
        since = login[0] if login is not None else a.time_s  # "new" means: unseen before the session
        changes = sum(1 for t, k, _ in self.actions if k in WATCHED_CHANGES and a.time_s - DAY_S < t <= a.time_s)
        after = [t for t, _, _ in self.actions if _day(t) >= lo and (login is None or t >= login[0])]
        return {
            "action_kind": float(ACTION_KINDS.index(a.kind)),
            "amount_ratio": ratio,
            "payee_new": _is_new(self.payees, a.payee, lo) if pay else NAN,
            "method_new": _is_new(self.methods, a.method, lo) if pay else NAN,
            "device_new": self._place_new("d", a.device, since, lo),
            "ip_new": self._place_new("i", a.ip, since, lo),
            "s_since_login": a.time_s - login[0] if login is not None else NAN,
            "same_device_as_login": _same(a.device, login[1]) if login is not None else NAN,
            "same_ip_as_login": _same(a.ip, login[2]) if login is not None else NAN,
            "actions_since_login": float(len(after)),
            "changes_24h": float(changes),
        }

    def _place_new(self, prefix: str, value: str | None, before: float, lo: int) -> float:
        """1.0 when no successful login or payment of the window came from `value` before `before`."""
        if not _known(value):
            return NAN
        days = self.places.get(prefix + str(value), {})
        b = _day(before)
        seen = any(lo <= d < b or (d == b and t < before) for d, t in days.items())
        return 0.0 if seen else 1.0

    # -- serialization (the nightly snapshot) -------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"p": {k: [[d, t] for d, t in sorted(v.items())] for k, v in self.places.items()},
                           "y": self.payees, "m": self.methods, "a": self.amounts, "l": self.login,
                           "x": self.actions}, separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str) -> ActionState:
        o = json.loads(s)
        login = o["l"]
        return cls({k: {int(d): float(t) for d, t in v} for k, v in o["p"].items()}, dict(o["y"]), dict(o["m"]),
                   [(float(t), float(x)) for t, x in o["a"]], None if login is None else (float(login[0]), login[1], login[2]),
                   [(float(t), str(k), str(e)) for t, k, e in o["x"]])


def _recency(days: dict[int, float]) -> tuple[int, float]:
    d = max(days)
    return d, days[d]


def _remember(book: dict[str, float], value: str | None, t: float) -> None:
    if not _known(value):
        return
    book[str(value)] = max(t, book.get(str(value), t))
    if len(book) > CAP_PAYEES:
        oldest = min(book, key=lambda k: (book[k], k))
        del book[oldest]


def _is_new(book: dict[str, float], value: str | None, lo: int) -> float:
    if not _known(value):
        return NAN
    t = book.get(str(value))
    return 0.0 if t is not None and _day(t) >= lo else 1.0


def _same(a: str | None, b: str | None) -> float:
    return NAN if not (_known(a) and _known(b)) else float(a == b)


@dataclass(frozen=True)
class Event:
    """One event of an account's stream for `fold`: a successful login or an action."""

    rank: int  # LOGIN, CHANGE or PAYMENT
    action: Action | None = None  # None for a login
    time_s: float = 0.0
    device: str | None = None
    ip: str | None = None
    event_id: str = ""

    @property
    def key(self) -> tuple[float, int, str]:
        if self.action is not None:
            return order_key(self.action.time_s, self.rank, self.action.event_id)
        return order_key(self.time_s, self.rank, self.event_id)


def fold(events: Iterable[Event], state: ActionState | None = None,
         emit_from_s: float = -math.inf) -> Iterator[tuple[Action, dict[str, float]]]:
    """Fold events (in `order_key` order) into `state`; yields each action at or after `emit_from_s`
    with its features, taken before the action is folded in."""
    st = state if state is not None else ActionState()
    for e in events:
        if e.action is None:
            st.observe_login(e.time_s, e.device, e.ip)
            continue
        if e.action.time_s >= emit_from_s:
            yield e.action, st.features(e.action)
        st.observe_action(e.action)
