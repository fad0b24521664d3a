"""One decision of the chain (`ato.online.decide.chain`) and the fallback levels that name which
link gave it: 0 the primary model, 1 the fallback model, 2 the rules, 3 shed to the rules under overload."""

from __future__ import annotations

from dataclasses import dataclass, field

from ato.model.tiers import Tiers
from ato.online.decide.records import LiveLogin
from ato.online.decide.vector import Vector

MODEL, FALLBACK, RULES, SHED = 0, 1, 2, 3


@dataclass
class Decision:
    risk_score: float
    action: str
    reasons: list[str]
    fallback_level: int
    model_version: str
    latency_ms: float
    features: Vector
    login: LiveLogin
    snapshot_as_of: str | None
    store_error: str | None = None
    notes: list[str] = field(default_factory=list)
    full: Vector | None = None  # the store's full vector when a lower link answered (the policy reads it)
    tiers: Tiers | None = None  # the answering model's tiers (attack mode tightens them)
    guardrails: list[str] = field(default_factory=list)  # what the policy fired (metrics, audit)
    local_velocity: bool = False  # the velocities are this process's own counts (no shared store answered)
    model_action: str | None = None  # the answering link's own action, before the policy (the shadow's peer)
    shadow: Shadow | None = None  # the challenger's answer on the same vector (serving.shadow), audited only


@dataclass(frozen=True)
class Shadow:
    version: str
    risk_score: float
    action: str
