"""Analyst rules (conf/rules.yaml): AND-ed `feature op value` conditions with an action, a score
and a reason. The decision chain's last resort and the baseline the model must beat. Conditions
(`ato.model.rule_conditions`) are compiled once: `score_row` serves one login, `score_frame` scores a
DataFrame with numpy masks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ato.features.columns import CATEGORICAL_FEATURES
from ato.model.actions import ACTIONS, SEVERITY
from ato.model.condition_files import entry_conditions, read_entries
from ato.model.rule_conditions import Column, Condition, Predicate
from ato.settings import CONF_DIR, Settings

_RULE_KEYS = ("name", "when", "action", "score", "reason")


class RulesError(ValueError):
    """The rules file is wrong: the message names the file, the rule and the problem."""



@dataclass(frozen=True)
class Rule:
    """If every condition holds, propose `action` with confidence `score`, explained by `reason`."""

    name: str
    conditions: tuple[Condition, ...]
    action: str
    score: float
    reason: str

    def __post_init__(self) -> None:
        score_ok = isinstance(self.score, int | float) and not isinstance(self.score, bool) and 0 <= self.score <= 1
        for bad, problem in (
            (not isinstance(self.name, str) or not self.name.strip(), "'name' must be a non-empty string"),
            (not self.conditions, "'when' is empty: a rule needs at least one condition"),
            (self.action not in ACTIONS, f"unknown action {self.action!r}; use one of {', '.join(ACTIONS)}"),
            (not score_ok, f"score must be a number in [0, 1], got {self.score!r}"),
            (not isinstance(self.reason, str) or not self.reason.strip(), "'reason' must be a non-empty text"),
        ):
            if bad:
                raise ValueError(problem)
        object.__setattr__(self, "conditions", tuple(self.conditions))
        object.__setattr__(self, "score", float(self.score))


@dataclass(frozen=True)
class RuleDecision:
    """One login's verdict: max score, most severe action, matching reasons and rule names (by score)."""

    score: float
    action: str
    reasons: list[str]
    rules: list[str]


@dataclass(frozen=True)
class RuleScores:
    """A frame's verdicts: per-row score and action, and which rules fired (rows x rules, file order)."""

    score: np.ndarray
    action: np.ndarray
    fired: np.ndarray
    rules: tuple[Rule, ...]

    def reasons(self, i: int) -> list[str]:
        """Reasons of the rules that fired on row i, highest score first."""
        return [r.reason for r in self.matched(i)]

    def matched(self, i: int) -> list[Rule]:
        """The rules that fired on row i, highest score first (ties in file order)."""
        return sorted((r for r, f in zip(self.rules, self.fired[i], strict=True) if f), key=lambda r: -r.score)


@dataclass(frozen=True)
class RuleSet:
    """The analyst rules of one file, compiled for fast scoring of one login or a whole frame."""

    rules: tuple[Rule, ...]
    source: Path | None = None
    _program: tuple[tuple[Rule, int, tuple[tuple[str, Predicate], ...]], ...] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [r.name for r in self.rules]
        if dups := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"duplicate rule name(s): {', '.join(dups)}")
        object.__setattr__(self, "rules", tuple(self.rules))
        by_score = sorted(self.rules, key=lambda r: -r.score)  # stable: ties keep file order
        object.__setattr__(self, "_program", tuple(
            (r, SEVERITY[r.action], tuple((c.feature, c._pred) for c in r.conditions)) for r in by_score))

    @property
    def features(self) -> frozenset[str]:
        """The features the rules read (what a caller must supply)."""
        return frozenset(c.feature for r in self.rules for c in r.conditions)

    def score_row(self, features: Mapping[str, object]) -> RuleDecision:
        """Score one login from a feature -> value mapping; a missing key counts as a missing value."""
        get = features.get
        score, sev, reasons, names = 0.0, 0, [], []
        for rule, rule_sev, checks in self._program:
            for feature, pred in checks:
                if not pred(get(feature)):
                    break
            else:
                score, sev = max(score, rule.score), max(sev, rule_sev)
                reasons.append(rule.reason)
                names.append(rule.name)
        return RuleDecision(score, ACTIONS[sev], reasons, names)

    def score_frame(self, df: pd.DataFrame, *, missing_ok: bool = False) -> RuleScores:
        """Score every row of a frame holding the rule features: vectorised, equal to `score_row` per row.

        A rule feature absent from the frame is an error, or all-missing with `missing_ok`."""
        absent = self.features - set(df.columns)
        if absent and not missing_ok:
            raise ValueError(f"frame lacks columns the rules read: {', '.join(sorted(absent))}")
        n = len(df)
        fired = np.zeros((n, len(self.rules)), dtype=bool)
        score, sev = np.zeros(n), np.zeros(n, dtype=np.int64)
        cols: dict[str, Column] = {}
        for j, rule in enumerate(self.rules):
            m = np.full(n, not any(c.feature in absent for c in rule.conditions))
            for c in rule.conditions:
                if not m.any():
                    break
                if c.feature not in cols:
                    cols[c.feature] = _prepare(df[c.feature], c.feature in CATEGORICAL_FEATURES)
                m &= c.mask(cols[c.feature])
            fired[:, j] = m
            np.maximum(score, rule.score, out=score, where=m)
            np.maximum(sev, SEVERITY[rule.action], out=sev, where=m)
        return RuleScores(score, np.asarray(ACTIONS, dtype=object)[sev], fired, self.rules)


def _prepare(s: pd.Series, categorical: bool) -> Column:
    """A column as `Condition.mask` takes it: factorize (codes, uniques), or float64 with NaN."""
    if categorical:
        codes, uniques = pd.factorize(s)
        return np.asarray(codes), list(uniques)
    if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        s = pd.to_numeric(s.astype(object), errors="coerce")
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def _rule_from_yaml(raw: Any) -> Rule:
    when = entry_conditions(raw, "rule", _RULE_KEYS, _RULE_KEYS, "ip_accounts_1h >= 10")
    return Rule(raw["name"], when, raw["action"], raw["score"], raw["reason"])


def rules_path(settings: Settings) -> Path:
    """`model.rules` from settings; a relative path not found from here is the project's."""
    p = Path(settings.model.rules)
    return p if p.is_absolute() or p.exists() else CONF_DIR.parent / p


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file; RulesError names the file, the rule and the problem."""
    path = Path(path)
    rules = read_entries(path, "rules", "rule", _rule_from_yaml, RulesError, non_empty=True)
    try:
        return RuleSet(tuple(rules), path)
    except ValueError as e:  # duplicate names
        raise RulesError(f"{path}: {e}") from None
