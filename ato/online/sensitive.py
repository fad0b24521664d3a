"""Scoring a sensitive action at request time: the account's `ActionState` from the nightly
snapshot plus what this process folded since (logins it scored or was told about, actions it
scored or was told about), the features `ato.features.actions` defines, and the action model.

The book lives in process (the embedded store's model: one worker). With `serving.store: redis`
it is still per process, so several workers would each see only their share of the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ato.features.actions import Action, ActionState
from ato.online.decide.records import snapshot_cutoff_s
from ato.online.snapshot.files import read_action_states
from ato.privacy import normalize_ip, pseudonymize
from ato.sensitive.model import ActionModel, reasons
from ato.settings import Settings

Folded = tuple[str, Any]  # ("login", (time, device, ip)) or ("action", Action)


@dataclass
class ActionBook:
    """Per-account action states: the snapshot's (JSON) and what came after its day (`since`, in
    arrival order). An account's state is built on its first action, folding its `since` then, so
    a scored login of an account that never acts costs a list append on the hot path."""

    as_of: str | None = None
    snapshot: dict[str, str] = field(default_factory=dict)
    live: dict[str, ActionState] = field(default_factory=dict)
    since: dict[str, list[Folded]] = field(default_factory=dict)  # what came after the snapshot's day

    @classmethod
    def load(cls, settings: Settings) -> ActionBook:
        as_of, states = read_action_states(settings)
        return cls(as_of, states)

    def state(self, account: str) -> ActionState:
        st = self.live.get(account)
        if st is None:
            raw = self.snapshot.get(account)
            st = self.live[account] = ActionState.from_json(raw) if raw is not None else ActionState()
            for kind, x in self.since.get(account, ()):
                if kind == "login":
                    st.observe_login(*x)
                else:
                    st.observe_action(x)
        return st

    def _keep(self, account: str, time_s: float, what: Folded) -> bool:
        """Remember what came after the snapshot's day (earlier events are in the snapshot)."""
        if time_s < snapshot_cutoff_s(self.as_of):
            return False
        self.since.setdefault(account, []).append(what)
        return True

    def observe_login(self, account: str, time_s: float, device: str | None, ip: str | None) -> None:
        """A successful login (scored or reported): it opens a session for the next actions."""
        if self._keep(account, time_s, ("login", (time_s, device, ip))) and account in self.live:
            self.live[account].observe_login(time_s, device, ip)

    def features(self, account: str, action: Action) -> dict[str, float]:
        """The action's features from what was folded before it; then folds it in."""
        feats = self.state(account).features(action)
        self.observe_action(account, action)
        return feats

    def observe_action(self, account: str, action: Action) -> None:
        if self.state(account).observe_action(action):
            self._keep(account, action.time_s, ("action", action))

    def rebased(self, as_of: str | None, states: dict[str, str]) -> ActionBook:
        """The book on a newly published snapshot, keeping what came after its day (folded on use)."""
        cut = snapshot_cutoff_s(as_of)
        since = {a: kept for a, items in self.since.items()
                 if (kept := [(k, x) for k, x in items if (x[0] if k == "login" else x.time_s) >= cut])}
        return ActionBook(as_of, states, {}, since)


def load_action_model(settings: Settings) -> ActionModel | None:
    """The champion's action model (None without a champion, or a champion trained without one)."""
    from ato.model.registry import champion, registry_dir

    version = champion(settings)
    return None if version is None else ActionModel.load(registry_dir(settings) / version, version)


@dataclass
class ActionDecision:
    risk_score: float | None
    action: str
    reasons: list[str]
    model_version: str | None
    features: dict[str, float]
    ip_hash: str | None
    device_hash: str | None


class ActionScorer:
    """Pseudonymizes an action's ids, computes its features on the book and scores them."""

    def __init__(self, settings: Settings, book: ActionBook, model: ActionModel | None,
                 model_for: str | None = None, key: bytes | None = None) -> None:
        self.key, self.hex = key or settings.hmac_key_bytes(), settings.privacy.hash_hex_chars
        self.book, self.model = book, model
        self.model_for = model_for  # the champion version `model` was loaded for

    def hash(self, value: str | None) -> str | None:
        return pseudonymize(self.key, value, self.hex) if value else None

    def action(self, req: dict[str, Any], time_s: float) -> Action:
        amount = req.get("amount")
        return Action(str(req["event_id"]), time_s, str(req["kind"]), None if amount is None else float(amount),
                      self.hash(req.get("payee_id")), self.hash(req.get("payment_method_id")),
                      self.hash(req.get("device_id")), self.hash(normalize_ip(req.get("ip"))))

    def decide(self, req: dict[str, Any], time_s: float) -> ActionDecision:
        a = self.action(req, time_s)
        feats = self.book.features(str(req["account_id"]), a)
        if self.model is None:
            return ActionDecision(None, "allow", ["no action model in the champion"], None, feats, a.ip, a.device)
        p, tier = self.model.score(feats)
        why = reasons(feats) if tier != "allow" else []
        return ActionDecision(p, tier, why, self.model.version, feats, a.ip, a.device)

    def observe(self, req: dict[str, Any], time_s: float) -> None:
        """An action reported to /v1/events (not scored): folded in for the next ones."""
        self.book.observe_action(str(req["account_id"]), self.action(req, time_s))


def json_features(feats: dict[str, float]) -> dict[str, float | None]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in feats.items()}
