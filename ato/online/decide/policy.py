"""The policy on top of the decision chain: guardrails (`guardrails`) and attack mode (`attack`),
applied after whichever link answered. `Policy.judge` takes a decision's action and the best vector
known for the login and returns the raised action, the reasons and the names of what fired.

Every link's vector carries velocities (the store's, or the process's own counters,
`ato.online.decide.local_speed`); a login whose velocity nobody knows is marked so
(`velocity_known == 0`), which the guardrails step up on a success. When the velocity comes from this
process's own counters only (the store not used or failed) and the service runs N > 1 workers
(`serving.workers`, set by `ato serve --workers N`), the guardrails read the IP's and the /24's counts
times N (`shared_estimate`): many clients' logins, over many connections and event batches, reach an
IP or a /24, so each worker sees about 1/N of them and N x its count estimates the shared one. The
account's and the device's counts are read as they are: one client's logins ride one or a few
connections and the failures aimed at one account arrive in event batches that each land whole on one
worker, so they are not spread evenly and N x would overshoot (a person's 5 failures read as 10, the
hot key challenged at its 6th login); such a limit may fire up to N times late instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ato.features.request import present
from ato.features.speed import speed_feature_names
from ato.model.actions import SEVERITY
from ato.model.tiers import Tiers
from ato.online.decide.attack import AttackMonitor
from ato.online.decide.guardrails import Guardrails, derived_features, load_guardrails, most_severe
from ato.online.decide.records import LiveLogin
from ato.settings import CONF_DIR, Settings

Vector = dict[str, Any]
ATTACK_TIERS = "attack_mode_tiers"  # the name a global attack-mode escalation is counted and audited under


class SpeedReader(Protocol):
    """The process's own velocity counters: window features (account_attempts_5m, ...) of a login."""

    def features(self, login: LiveLogin, now: float) -> dict[str, float]: ...


def velocity_missing(vec: Vector) -> bool:
    v = vec.get("account_attempts_5m")
    return v is None or (isinstance(v, float) and math.isnan(v))


SCALED_KEYS = ("ip", "prefix")  # speed keys whose local counts are read times the workers (module docstring)
SCALED_FEATURES: tuple[str, ...] = tuple(n for k in SCALED_KEYS for n in speed_feature_names(k))


def shared_estimate(vec: Vector, workers: int) -> Vector:
    """The vector with the IP's and /24's window counts (one process's own) times the worker count: an
    estimate of the counts all workers share, as many clients spread evenly over them (unknown counts
    stay unknown). Account and device counts stay this process's own (one client: not spread evenly)."""
    if workers <= 1:
        return vec
    return {**vec, **{n: float(vec[n]) * workers for n in SCALED_FEATURES if present(vec.get(n))}}


@dataclass
class Judgement:
    """What the policy adds to a decision: the (raised) action, its reasons and the names that fired."""

    action: str
    reasons: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


class Policy:
    """Guardrails and attack mode, shared by every request of one process."""

    def __init__(self, guardrails: Guardrails, attack: AttackMonitor, tier_scale: float, workers: int = 1) -> None:
        self.guardrails, self.attack, self.tier_scale = guardrails, attack, tier_scale
        self.workers = workers  # worker processes of the service: scales velocities counted in this one

    @classmethod
    def load(cls, settings: Settings, clock: Callable[[], float] = time.monotonic) -> Policy:
        """Guardrails from conf; attack mode on `clock` (the decider passes server time, so a replayed
        day's rates are the recorded ones, not the replay's)."""
        return cls(load_guardrails(guardrails_path(settings)), AttackMonitor(settings.policy, clock),
                   settings.policy.attack_tier_scale, settings.serving.workers)

    @staticmethod
    def with_velocity(vec: Vector, login: LiveLogin, speed: SpeedReader | None, now: float) -> Vector:
        """The vector with the local counters' window features when it has no velocity of its own."""
        if speed is None or not velocity_missing(vec):
            return vec
        try:
            return {**vec, **speed.features(login, now)}
        except Exception:  # counters are best effort: no velocity is handled by the guardrails
            return vec

    def observe(self, login: LiveLogin) -> None:
        """Attack mode counts a login that was not scored here (`/v1/events`): whether its IP is new to
        the account is not known, so it stays out of the new-IP share."""
        self.attack.observe(login.keys.get("prefix"), login.signals.asn, not login.signals.success, None,
                            login.rep_category)

    def judge(self, vec: Vector, level: int, login: LiveLogin, action: str, risk: float, tiers: Tiers | None,
              speed: SpeedReader | None, now: float, local: bool = False) -> Judgement:
        """The decision's action raised by every guardrail that holds and by attack mode. `local`: the
        vector's velocity is this process's own (no shared store), so the guardrails read it scaled."""
        local = local or velocity_missing(vec)
        vec = self.with_velocity(vec, login, speed, now)
        if local:
            vec = shared_estimate(vec, self.workers)
        success = login.signals.success
        new_ip = vec.get("new_ip")
        global_on, network = self.attack.observe(login.keys.get("prefix"), login.signals.asn, not success,
                                                 new_ip == 1.0 if present(new_ip) else None, login.rep_category)
        derived = derived_features(vec, has_device=login.keys.get("device") is not None,
                                   attack_network=network is not None, attack_mode=global_on,
                                   datacenter_ip=login.rep_category in self.attack.conf.attack_asn_categories)
        out = Judgement(action)
        for g in self.guardrails.check(vec, level, derived):
            out.action = most_severe(out.action, g.action)
            out.reasons.append(g.text)
            out.names.append(g.name)
        # the stricter tiers, as attack_network_success, spare the owner's own device or IP (new_place 0)
        if global_on and success and tiers is not None and derived["new_place"] == 1.0:
            stricter = tiers.action_one(min(risk / self.tier_scale, 1.0))
            if SEVERITY[stricter] > SEVERITY[out.action]:
                out.action = stricter
                out.reasons.append(f"Stricter thresholds while the service is under attack (guardrail {ATTACK_TIERS})")
                out.names.append(ATTACK_TIERS)
        return out


def guardrails_path(settings: Settings) -> Path:
    p = Path(settings.policy.guardrails)
    return p if p.is_absolute() or p.exists() else CONF_DIR.parent / p
