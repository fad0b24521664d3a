"""Analyst rules (conf/rules.yaml): AND-ed `feature op value` conditions with an action, a score
and a reason. The decision chain's last resort and the baseline the model must beat. Conditions
are parsed by regex + `ast.literal_eval` (never `eval`) and compiled once: `score_row` serves one
login, `score_frame` scores a DataFrame with numpy masks."""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.model.actions import ACTIONS, SEVERITY

Scalar = int | float | str
Value = Scalar | tuple[Scalar, ...]
Predicate = Callable[[Any], bool]
Column = np.ndarray | tuple[np.ndarray, list[Any]]  # numeric: float64 with NaN; categorical: factorized

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
OPS: tuple[str, ...] = (*_COMPARE, "in", "not in")
_CONDITION = re.compile(
    r"^\s*(?P<feature>[A-Za-z_]\w*)\s*(?P<op>not\s+in\b|[A-Za-z]+\b|[^\w\s'\"\[\]().+-]+)\s*(?P<value>.*?)\s*$")
_RULE_KEYS = ("name", "when", "action", "score", "reason")


class RulesError(ValueError):
    """The rules file is wrong: the message names the file, the rule and the problem."""


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float | np.floating) and math.isnan(v))


def _as_float(v: Any) -> float:
    """The value as a float; NaN when missing or not a number (as `pd.to_numeric(errors="coerce")`)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _check_names(feature: str, op: str) -> None:
    if feature not in FEATURES:
        close = difflib.get_close_matches(feature, FEATURES, n=1)
        raise ValueError(f"unknown feature {feature!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if op not in OPS:
        raise ValueError(f"unknown operator {op!r}; use one of {', '.join(OPS)}")


def _checked(feature: str, op: str, value: Any) -> Value:
    """The value normalised (list -> tuple); ValueError if the feature, op or value is wrong."""
    _check_names(feature, op)
    cat = feature in CATEGORICAL_FEATURES
    want = "a quoted string" if cat else "a number"

    def ok(v: Any) -> bool:
        return isinstance(v, str) if cat else (
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v))

    if op in ("in", "not in"):
        if not isinstance(value, list | tuple) or not value or not all(ok(v) for v in value):
            raise ValueError(f"{op!r} needs a non-empty list of values, each {want}, e.g. ['tor', 'botnet']")
        return tuple(value)
    if cat and op not in ("==", "!="):
        raise ValueError(f"{op!r} compares numbers but {feature!r} is categorical: use ==, !=, in or not in")
    if not ok(value):
        raise ValueError(f"{feature!r} is {'categorical' if cat else 'numeric'}: the value must be {want}, "
                         f"got {value!r}")
    return value


def _compile(feature: str, op: str, value: Value) -> Predicate:
    """A fast one-value test: missing never holds; numeric features compare as floats (x == x: not NaN)."""
    if feature in CATEGORICAL_FEATURES:
        if isinstance(value, tuple):
            members, want = frozenset(value), op == "in"
            return lambda v: not _missing(v) and (isinstance(v, str) and v in members) is want
        cmp = _COMPARE[op]
        return lambda v: not _missing(v) and bool(cmp(v, value))
    if isinstance(value, tuple):
        nums, want = frozenset(float(x) for x in value), op == "in"
        return lambda v: (x := _as_float(v)) == x and (x in nums) is want
    cmp, ref = _COMPARE[op], float(value)
    return lambda v: (x := _as_float(v)) == x and bool(cmp(x, ref))


@dataclass(frozen=True)
class Condition:
    """One test `feature op value`, e.g. ip_accounts_1h >= 10; a missing value (None/NaN) never holds."""

    feature: str
    op: str
    value: Value
    _pred: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _checked(self.feature, self.op, self.value))
        object.__setattr__(self, "_pred", _compile(self.feature, self.op, self.value))

    def holds(self, value: object) -> bool:
        """Whether a login whose feature has this value meets the condition."""
        return self._pred(value)

    def mask(self, column: Column) -> np.ndarray:
        """`holds` over a whole prepared column (see `_prepare`), as a bool array."""
        if isinstance(column, tuple):  # categorical: test each distinct value once; code -1 is missing
            codes, uniques = column
            return np.array([self._pred(u) for u in uniques] + [False], dtype=np.bool_)[codes]
        if isinstance(self.value, tuple):
            m = np.isin(column, [float(x) for x in self.value]) == (self.op == "in")
        else:
            with np.errstate(invalid="ignore"):
                m = np.asarray(_COMPARE[self.op](column, float(self.value)), dtype=np.bool_)
        return m & ~np.isnan(column)

    def __str__(self) -> str:
        return f"{self.feature} {self.op} {list(self.value) if isinstance(self.value, tuple) else self.value!r}"


def parse_condition(text: str) -> Condition:
    """A `feature op value` string as a Condition; ValueError saying what is wrong with it."""
    m = _CONDITION.match(text) if isinstance(text, str) else None
    if m is None or not m["value"]:
        raise ValueError(f"condition {text!r}: cannot parse it; write `feature op value`, e.g. 'ip_accounts_1h >= 10'")
    feature, op, raw = m["feature"], " ".join(m["op"].split()), m["value"]
    try:
        _check_names(feature, op)
        try:
            value = ast.literal_eval(raw)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(f"cannot read the value {raw!r}: use a number, a quoted string or a list like "
                             "['tor', 'botnet'] (one condition per list item)") from None
        return Condition(feature, op, value)
    except ValueError as e:
        raise ValueError(f"condition {text!r}: {e}") from None


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
    if not isinstance(raw, dict):
        raise ValueError(f"a rule must be a mapping with keys {', '.join(_RULE_KEYS)}")
    missing, unknown = [k for k in _RULE_KEYS if k not in raw], [str(k) for k in raw if k not in _RULE_KEYS]
    if missing or unknown:
        raise ValueError("; ".join([f"missing key(s): {', '.join(missing)}"] * bool(missing)
                                   + [f"unknown key(s): {', '.join(unknown)}"] * bool(unknown)))
    when = raw["when"]
    if not isinstance(when, list) or not all(isinstance(w, str) for w in when):
        raise ValueError("'when' must be a list of condition strings like \"ip_accounts_1h >= 10\"")
    return Rule(raw["name"], tuple(parse_condition(w) for w in when), raw["action"], raw["score"], raw["reason"])


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file; RulesError names the file, the rule and the problem."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RulesError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict) or set(doc) != {"rules"} or not isinstance(doc["rules"], list) or not doc["rules"]:
        raise RulesError(f"{path}: expected one top-level key 'rules:' holding a non-empty list of rules")
    rules: list[Rule] = []
    for i, raw in enumerate(doc["rules"], 1):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"rule {name!r} (#{i})" if isinstance(name, str) else f"rule #{i}"
        try:
            rules.append(_rule_from_yaml(raw))
        except ValueError as e:
            raise RulesError(f"{path}: {where}: {e}") from None
    try:
        return RuleSet(tuple(rules), path)
    except ValueError as e:  # duplicate names
        raise RulesError(f"{path}: {e}") from None
