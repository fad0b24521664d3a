"""Guardrails (conf/guardrails.yaml): hard limits that hold whatever the model says. Each is AND-ed
`feature op value` conditions (the analyst rules' syntax, `ato.model.rule_conditions`), an action and
a reason. They run after every link of the decision chain (model, fallback model, rules, shed) and
can only raise the action, never lower it: a model that never saw a velocity cannot allow it.

Besides the model features, conditions may read names derived here (`DERIVED`): successful logins
per account in each window, whether the velocity is known at all, whether the login has a device
id, whether its device or IP is one the account already used (`known_place`), whether its IP is in
a datacenter range (`datacenter_ip`: the reputation categories attack mode counts ASNs from) and
the attack-mode flags (`ato.online.decide.attack`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ato.features.columns import CATEGORICAL_FEATURES
from ato.features.request import present
from ato.features.windows import WINDOWS_S
from ato.model.actions import ACTIONS, SEVERITY
from ato.model.condition_files import entry_conditions, read_entries
from ato.model.rule_conditions import Condition, Predicate

LEVELS: frozenset[int] = frozenset({0, 1, 2, 3})  # model, fallback model, rules, shed
DERIVED: frozenset[str] = frozenset({
    *(f"account_successes_{w}" for w in WINDOWS_S),  # attempts - failures of the account in the window
    "velocity_known",  # 1: the account's windows are known (store or local counters); 0: no velocity at all
    "has_device",  # 1: the request carried a device id
    "attack_network",  # 1: the login's /24 or ASN is flagged by attack mode
    "attack_mode",  # 1: the global attack signal is on
    "known_place",  # 1: the login's device or IP is known to the account; 0: neither; NaN: history unknown
    "new_place",  # 1 unless known_place is 1: neither the device nor the IP vouched for (history unknown too)
    "datacenter_ip",  # 1: the IP's reputation category is a datacenter one (policy.attack_asn_categories)
})
_KEYS = ("name", "when", "action", "reason", "levels")
_REQUIRED = ("name", "when", "action", "reason")


class GuardrailsError(ValueError):
    """The guardrails file is wrong: the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class Guardrail:
    """If every condition holds at one of `levels`, the action is at least `action`."""

    name: str
    conditions: tuple[Condition, ...]
    action: str
    reason: str
    levels: frozenset[int] = LEVELS

    def __post_init__(self) -> None:
        for bad, problem in (
            (not isinstance(self.name, str) or not self.name.strip(), "'name' must be a non-empty string"),
            (not self.conditions, "'when' is empty: a guardrail needs at least one condition"),
            (self.action not in ACTIONS[1:], f"action must be one of {', '.join(ACTIONS[1:])} "
                                             f"(a guardrail can only raise), got {self.action!r}"),
            (not isinstance(self.reason, str) or not self.reason.strip(), "'reason' must be a non-empty text"),
            (not self.levels or not self.levels <= LEVELS, f"levels must be a non-empty subset of {sorted(LEVELS)}"),
        ):
            if bad:
                raise ValueError(problem)

    @property
    def text(self) -> str:
        """The reason as the response and audit show it, naming the guardrail."""
        return f"{self.reason} (guardrail {self.name})"


# One compiled check: (feature, read from the derived names?, comparison or None, reference, predicate).
_Check = tuple[str, bool, Callable[[Any, Any], Any] | None, float, Predicate]
_FAST = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}


def _compile(c: Condition) -> _Check:
    """A numeric comparison as (operator, reference), tested inline; anything else through its predicate."""
    fast = c.feature not in CATEGORICAL_FEATURES and c.op in _FAST and not isinstance(c.value, tuple | str)
    return (c.feature, c.feature in DERIVED, _FAST[c.op] if fast else None, float(c.value) if fast else 0.0,  # type: ignore[arg-type]
            c.holds)


@dataclass(frozen=True)
class Guardrails:
    """The guardrails of one file, in file order, compiled once: per guardrail its levels, the outcome
    it needs (most need a success, so a failed login costs one string compare each) and its checks."""

    guardrails: tuple[Guardrail, ...]
    source: Path | None = None
    _program: tuple[tuple[Guardrail, frozenset[int], str | None, tuple[_Check, ...]], ...] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        program = []
        for g in self.guardrails:
            need = next((str(c.value) for c in g.conditions if c.feature == "outcome" and c.op == "=="), None)
            rest = tuple(_compile(c) for c in g.conditions if not (c.feature == "outcome" and c.op == "=="))
            program.append((g, g.levels, need, rest))
        object.__setattr__(self, "_program", tuple(program))

    def check(self, vec: Mapping[str, Any], level: int, derived: Mapping[str, Any] | None = None) -> list[Guardrail]:
        """The guardrails that hold for this login at this chain level; `derived` holds the derived names
        (`derived_features`), read before the vector."""
        d = derived or {}
        outcome, out = vec.get("outcome"), []
        for g, levels, need, checks in self._program:
            if level not in levels or (need is not None and outcome != need):
                continue
            for feature, from_derived, cmp, ref, pred in checks:
                x = d.get(feature) if from_derived else vec.get(feature)
                if cmp is not None:
                    if x is None or x != x or not cmp(x, ref):  # x != x: NaN, a missing value never holds
                        break
                elif not pred(x):
                    break
            else:
                out.append(g)
        return out


def derived_features(vec: Mapping[str, Any], *, has_device: bool, attack_network: bool,
                     attack_mode: bool, datacenter_ip: bool = False) -> dict[str, Any]:
    """The names guardrails may read besides the model features (`DERIVED`), for one login."""
    derived: dict[str, Any] = {"has_device": float(has_device), "attack_network": float(attack_network),
                               "attack_mode": float(attack_mode), "datacenter_ip": float(datacenter_ip),
                               "velocity_known": float(present(vec.get("account_attempts_5m")))}
    derived["known_place"] = known_place(vec)
    derived["new_place"] = 0.0 if derived["known_place"] == 1.0 else 1.0
    for w in WINDOWS_S:
        a, f = vec.get(f"account_attempts_{w}"), vec.get(f"account_failures_{w}")
        derived[f"account_successes_{w}"] = float(a) - float(f) if a is not None and f is not None and present(a) \
            and present(f) else math.nan
    return derived


def known_place(vec: Mapping[str, Any]) -> float:
    """1.0 when the login's device or IP is one the account already used (`new_device` / `new_ip` 0),
    0.0 when the account's history is known and neither is (no device counts as not known), NaN when
    the history is not at hand (no store: `new_ip` missing)."""
    nd, ni = vec.get("new_device"), vec.get("new_ip")
    if nd == 0.0 or ni == 0.0:
        return 1.0
    return 0.0 if ni == 1.0 else math.nan


def _guardrail_from_yaml(raw: Any) -> Guardrail:
    when = entry_conditions(raw, "guardrail", _KEYS, _REQUIRED, "account_successes_5m >= 10", DERIVED)
    levels = raw.get("levels", sorted(LEVELS))
    if not isinstance(levels, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in levels):
        raise ValueError("'levels' must be a list of chain levels, e.g. [0, 1, 2, 3]")
    return Guardrail(raw["name"], when, raw["action"], raw["reason"], frozenset(levels))


def load_guardrails(path: str | Path) -> Guardrails:
    """Read and validate a guardrails file; GuardrailsError names the file, the entry and the problem."""
    path = Path(path)
    out = read_entries(path, "guardrails", "guardrail", _guardrail_from_yaml, GuardrailsError)
    names = [g.name for g in out]
    if dups := sorted({n for n in names if names.count(n) > 1}):
        raise GuardrailsError(f"{path}: duplicate guardrail name(s): {', '.join(dups)}")
    return Guardrails(tuple(out), path)


def most_severe(a: str, b: str) -> str:
    """The more severe of two actions."""
    return a if SEVERITY[a] >= SEVERITY[b] else b
