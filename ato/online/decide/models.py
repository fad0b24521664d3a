"""The live models of the decision chain: the champion's scorers (from the registry) and the rules."""

from __future__ import annotations

from dataclasses import dataclass

from ato.model.bundle import Scorer, load_bundle
from ato.model.registry import champion, registry_dir
from ato.model.rules import RuleSet, load_rules, rules_path
from ato.settings import Settings


@dataclass(frozen=True)
class Models:
    """The champion's scorers (None before any model is promoted) and the rules."""

    version: str | None
    model: Scorer | None
    fallback: Scorer | None
    rules: RuleSet


def load_models(settings: Settings) -> Models:
    rules = load_rules(rules_path(settings))
    version = champion(settings)
    if version is None:
        return Models(None, None, None, rules)
    scorers = load_bundle(registry_dir(settings) / version)
    return Models(version, scorers["model"], scorers.get("fallback"), rules)
