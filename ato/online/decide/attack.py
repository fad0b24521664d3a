"""Attack mode: a global signal over the last minutes of logins that tightens decisions while a
credential-stuffing wave lasts (README "Attack mode"). It is fed by every scored login (`Policy.judge`)
and by every login reported through `/v1/events` (`Decider.record`, once per event id this process saw).

Counts decay exponentially with time constant `policy.attack_window_s` (a steady rate r reads as about
r x window), so each login costs O(1): the global counters (attempts, failures, logins whose new-IP
status is known and those from an IP new to the account) and those of the login's /24 and ASN are
decayed and bumped. Triggers:
- global: failed share >= `attack_failure_ratio` once attempts reach `attack_min_attempts`; or new-IP
  share >= `attack_new_ip_rate` with failed share >= `attack_new_ip_failure_ratio`, where the new-IP
  share is over the logins whose new-IP status is known (a scored login with the account's history at
  hand) and needs `attack_min_attempts` of those: a reported event or a login decided without the
  store says nothing about new IPs, so it dilutes neither side of that share;
- a network: a /24 (an ASN) with failures >= `attack_prefix_min_failures` (`attack_asn_min_failures`)
  and failed share >= `attack_network_failure_ratio` is flagged as attacking. An ASN is counted, and so
  flagged, only from logins whose IP the reputation feed files under `attack_asn_categories`
  (hosting, proxy, tor): a residential or mobile ASN holds millions of customers beside a botnet's
  few, so there only the /24 (and the guardrails' per-IP limits) single out the attackers.
A trigger stays on `attack_hold_s` after it last held. Attack mode is on while any trigger is. Time is
the server's clock (injectable), never the request's. Per worker process: each sees its own traffic.
Logs name networks by the pseudonymized /24 hash or the ASN, never by an IP.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ato.serving_conf import PolicyConf

log = logging.getLogger("ato.serving.attack")
PREFIX_CHARS = 12  # of the /24's HMAC, enough to tell networks apart in logs and metrics


@dataclass(frozen=True)
class AttackStatus:
    """What attack mode is doing now: on, the global trigger, flagged networks (label -> since)."""

    on: bool
    global_on: bool
    networks: dict[str, float] = field(default_factory=dict)
    since: float | None = None


class _Counts:
    """Decayed attempts and failures of one network, and when its trigger last held."""

    __slots__ = ("attempts", "failures", "last_hit", "t")

    def __init__(self, t: float) -> None:
        self.attempts = self.failures = 0.0
        self.t, self.last_hit = t, -math.inf


class AttackMonitor:
    """Feeds on every login (`observe`) and says whether its network is attacking."""

    def __init__(self, conf: PolicyConf, clock: Callable[[], float] = time.monotonic,
                 on_change: Callable[[AttackStatus], None] | None = None) -> None:
        self.conf, self.clock, self.on_change = conf, clock, on_change
        self.tau = conf.attack_window_s
        self.nets: dict[str, _Counts] = {}
        self.flagged: dict[str, float] = {}  # network label -> since
        self.attempts = self.failures = self.new_ips = self.ip_known = 0.0
        self.t = clock()
        self.global_on, self.global_last_hit = False, -math.inf
        self.since: float | None = None
        self._next_eval = self.t

    def labels(self, prefix: str | None, asn: int | None,
               category: str | None = None) -> tuple[str | None, str | None]:
        """Network labels of a login: `prefix:<hash head>` and `asn:<number>` (None when unknown, and the
        ASN also None unless the IP's reputation `category` is one of `attack_asn_categories`)."""
        asn_label = None
        if asn is not None and asn == asn and category in self.conf.attack_asn_categories:
            asn_label = f"asn:{int(asn)}"
        return (f"prefix:{prefix[:PREFIX_CHARS]}" if prefix else None), asn_label

    def observe(self, prefix: str | None, asn: int | None, failed: bool,
                new_ip: bool | None, category: str | None = None) -> tuple[bool, str | None]:
        """Count one login (`new_ip` None: not known whether the IP is new to the account; `category`: its
        IP's reputation category, None if not in the feed); (global trigger on, the flagged network it
        came from or None)."""
        now = self.clock()
        k = math.exp(-(now - self.t) / self.tau) if now > self.t else 1.0
        self.attempts = self.attempts * k + 1
        self.failures = self.failures * k + failed
        self.new_ips = self.new_ips * k + bool(new_ip)
        self.ip_known = self.ip_known * k + (new_ip is not None)
        self.t = max(self.t, now)
        hit = None
        for label in self.labels(prefix, asn, category):
            if label is None:
                continue
            c = self.nets.get(label)
            if c is None:
                c = self.nets[label] = _Counts(now)
                if len(self.nets) > self.conf.attack_max_networks:
                    self._evict(now)
            self._decay(c, now)
            c.attempts += 1
            c.failures += failed
            if self._attacking(label, c):
                c.last_hit = now
                if label not in self.flagged:
                    self._flag(label, c, now)
            if label in self.flagged:
                hit = label
        if now >= self._next_eval:
            self.tick(now)
        return self.global_on, hit

    def _decay(self, c: _Counts, now: float) -> None:
        if now > c.t:
            k = math.exp(-(now - c.t) / self.tau)
            c.attempts, c.failures, c.t = c.attempts * k, c.failures * k, now

    def _attacking(self, label: str, c: _Counts) -> bool:
        floor = self.conf.attack_prefix_min_failures if label.startswith("prefix:") else self.conf.attack_asn_min_failures
        return c.failures >= floor and c.failures >= self.conf.attack_network_failure_ratio * c.attempts

    def _global_trigger(self) -> bool:
        c = self.conf
        if self.attempts < c.attack_min_attempts:
            return False
        fail = self.failures / self.attempts
        return fail >= c.attack_failure_ratio or (
            self.ip_known >= c.attack_min_attempts and self.new_ips / self.ip_known >= c.attack_new_ip_rate
            and fail >= c.attack_new_ip_failure_ratio)

    def tick(self, now: float | None = None) -> None:
        """Evaluate the global signal, release networks whose trigger expired, bound memory. Called
        from `observe` at most every `attack_eval_s`, and by the service's background loop."""
        now = self.clock() if now is None else now
        self._next_eval = now + self.conf.attack_eval_s
        changed = False
        k = math.exp(-(now - self.t) / self.tau) if now > self.t else 1.0
        self.attempts, self.failures, self.new_ips, self.ip_known, self.t = (
            self.attempts * k, self.failures * k, self.new_ips * k, self.ip_known * k, max(self.t, now))
        if self._global_trigger():
            self.global_last_hit = now
            if not self.global_on:
                self.global_on, changed = True, True
                log.warning("attack signal on: failed share %.2f over ~%.0f attempts, new-IP share %.2f over ~%.0f "
                            "known", self.failures / self.attempts, self.attempts,
                            self.new_ips / max(self.ip_known, 1e-9), self.ip_known)
        elif self.global_on and now - self.global_last_hit >= self.conf.attack_hold_s:
            self.global_on, changed = False, True
            log.warning("attack signal off")
        for label in list(self.flagged):
            c = self.nets[label]
            self._decay(c, now)
            if self._attacking(label, c):
                c.last_hit = now
            elif now - c.last_hit >= self.conf.attack_hold_s:
                since = self.flagged.pop(label)
                changed = True
                log.warning("attack mode: network %s released after %.0f s", label, now - since)
        self._settle(now, changed)

    def _flag(self, label: str, c: _Counts, now: float) -> None:
        self.flagged[label] = now
        log.warning("attack mode: network %s flagged (failures ~%.0f, failed share %.2f)", label, c.failures,
                    c.failures / max(c.attempts, 1e-9))
        self._settle(now, True)

    def _settle(self, now: float, changed: bool) -> None:
        """Start or end attack mode (a log line each) and tell the listener about any change."""
        on = self.global_on or bool(self.flagged)
        if on and self.since is None:
            self.since = now
            log.warning("attack mode started: global=%s networks=%s", self.global_on, ",".join(self.flagged) or "-")
        elif not on and self.since is not None:
            log.warning("attack mode ended after %.0f s", now - self.since)
            self.since = None
        if changed and self.on_change is not None:
            self.on_change(self.status())

    def _evict(self, now: float) -> None:
        """Drop idle networks (no login for 3 windows), then the oldest tracked, down to 90 % of the cap;
        flagged ones stay. Runs only over the cap, so its cost spreads over the inserts that filled it."""
        idle = now - 3 * self.tau
        for label in [lb for lb, c in self.nets.items() if c.t < idle and lb not in self.flagged]:
            del self.nets[label]
        target = int(self.conf.attack_max_networks * 0.9)
        if len(self.nets) > target:
            drop = [lb for lb in self.nets if lb not in self.flagged][: len(self.nets) - target]
            for label in drop:
                del self.nets[label]

    def status(self) -> AttackStatus:
        return AttackStatus(self.global_on or bool(self.flagged), self.global_on, dict(self.flagged), self.since)
