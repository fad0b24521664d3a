"""Rule conditions (`feature op value`, e.g. ip_accounts_1h >= 10): parsed by regex +
`ast.literal_eval` (never `eval`), checked against the model's feature names (plus any extra numeric
names a caller derives, such as the guardrails' `account_successes_5m`) and compiled once into a
predicate (one login) and a numpy mask (a whole column)."""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ato.features.columns import CATEGORICAL_FEATURES, FEATURES

Scalar = int | float | str
Value = Scalar | tuple[Scalar, ...]
Predicate = Callable[[Any], bool]
Column = np.ndarray | tuple[np.ndarray, list[Any]]  # numeric: float64 with NaN; categorical: factorized

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
OPS: tuple[str, ...] = (*_COMPARE, "in", "not in")
_CONDITION = re.compile(
    r"^\s*(?P<feature>[A-Za-z_]\w*)\s*(?P<op>not\s+in\b|[A-Za-z]+\b|[^\w\s'\"\[\]().+-]+)\s*(?P<value>.*?)\s*$")


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float | np.floating) and math.isnan(v))


def _as_float(v: Any) -> float:
    """The value as a float; NaN when missing or not a number (as `pd.to_numeric(errors="coerce")`)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _check_names(feature: str, op: str, extra: frozenset[str] = frozenset()) -> None:
    if feature not in FEATURES and feature not in extra:
        close = difflib.get_close_matches(feature, [*FEATURES, *sorted(extra)], n=1)
        raise ValueError(f"unknown feature {feature!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if op not in OPS:
        raise ValueError(f"unknown operator {op!r}; use one of {', '.join(OPS)}")


def _checked(feature: str, op: str, value: Any, extra: frozenset[str] = frozenset()) -> Value:
    """The value normalised (list -> tuple); ValueError if the feature, op or value is wrong."""
    _check_names(feature, op, extra)
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
    """One test `feature op value`, e.g. ip_accounts_1h >= 10; a missing value (None/NaN) never holds.
    `extra`: numeric names accepted besides the model features."""

    feature: str
    op: str
    value: Value
    extra: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _pred: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _checked(self.feature, self.op, self.value, self.extra))
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


def parse_condition(text: str, extra: frozenset[str] = frozenset()) -> Condition:
    """A `feature op value` string as a Condition; ValueError saying what is wrong with it. `extra`:
    numeric names accepted besides the model features."""
    m = _CONDITION.match(text) if isinstance(text, str) else None
    if m is None or not m["value"]:
        raise ValueError(f"condition {text!r}: cannot parse it; write `feature op value`, e.g. 'ip_accounts_1h >= 10'")
    feature, op, raw = m["feature"], " ".join(m["op"].split()), m["value"]
    try:
        _check_names(feature, op, extra)
        try:
            value = ast.literal_eval(raw)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(f"cannot read the value {raw!r}: use a number, a quoted string or a list like "
                             "['tor', 'botnet'] (one condition per list item)") from None
        return Condition(feature, op, value, extra)
    except ValueError as e:
        raise ValueError(f"condition {text!r}: {e}") from None
