"""The live models of the decision chain: the champion's scorers (from the registry), the rules, and
the shadow challenger's login model when `serving.shadow` is on and the registry names one."""

from __future__ import annotations

from dataclasses import dataclass

from ato.model.bundle import Scorer, load_bundle
from ato.model.registry import challenger, champion, registry_dir
from ato.model.rules import RuleSet, load_rules, rules_path
from ato.settings import Settings


@dataclass(frozen=True)
class Models:
    """The champion's scorers (None before any model is promoted), the rules, and the shadow's model."""

    version: str | None
    model: Scorer | None
    fallback: Scorer | None
    rules: RuleSet
    shadow_version: str | None = None
    shadow: Scorer | None = None


def wanted(settings: Settings) -> tuple[str | None, str | None]:
    """(champion, shadow) versions serving should hold now: a shadow only when switched on, beside a
    champion (it is scored where the champion's model decides) and not the champion itself."""
    version = champion(settings)
    shadow = challenger(settings) if settings.serving.shadow and version is not None else None
    return version, (shadow if shadow != version else None)


def load_models(settings: Settings) -> Models:
    rules = load_rules(rules_path(settings))
    version, shadow = wanted(settings)
    if version is None:
        return Models(None, None, None, rules)
    shadow_model = load_bundle(registry_dir(settings) / shadow)["model"] if shadow else None
    scorers = load_bundle(registry_dir(settings) / version)
    return Models(version, scorers["model"], scorers.get("fallback"), rules, shadow, shadow_model)
