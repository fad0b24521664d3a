"""Server time: what prunes the speed layer and bounds the event times the service accepts.

Windows are pruned by this clock, never by a request's `event_time`, so a login dated in the
future cannot push an account's or an IP's history out of its windows; and a login dated outside
[now - max_event_age_h, now + max_event_lead_s] is refused (422 naming event_time).

`serving.clock: system` is the machine's clock. `replay` makes server time the newest event time
the service has seen, so recorded days (August while the machine says November) can be replayed
through it; it trusts event times, so it is for `ato replay`, tests and benchmarks only. Its lead
bound is checked against the machine's clock (a replay never goes past today).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ato.settings import ServingConf


class ServerClock:
    def __init__(self, mode: str = "system", max_age_s: float = 7 * 86400.0, max_lead_s: float = 300.0,
                 wall: Callable[[], float] = time.time) -> None:
        if mode not in ("system", "replay"):
            raise ValueError(f"unknown clock {mode!r} (system or replay)")
        self.mode, self.max_age_s, self.max_lead_s, self.wall = mode, max_age_s, max_lead_s, wall
        self.newest = float("-inf")  # replay: the newest event time seen

    @classmethod
    def from_conf(cls, conf: ServingConf, wall: Callable[[], float] = time.time) -> ServerClock:
        return cls(conf.clock, conf.max_event_age_h * 3600, conf.max_event_lead_s, wall)

    def now(self) -> float:
        """Server time (epoch seconds); replay before any event: -inf (nothing is old yet)."""
        return self.wall() if self.mode == "system" else self.newest

    def observe(self, event_s: float) -> float:
        """Note an accepted event's time (replay: it may move the clock on); returns server time."""
        if self.mode == "replay" and event_s > self.newest:
            self.newest = event_s
        return self.now()

    def refusal(self, event_s: float) -> str | None:
        """Why an event time is refused (None: accepted)."""
        now = self.now()
        if event_s < now - self.max_age_s:
            return f"more than {self.max_age_s / 3600:g} h before the server's time"
        if event_s > (self.wall() if self.mode == "replay" else now) + self.max_lead_s:
            return f"more than {self.max_lead_s:g} s after the server's time"
        return None
