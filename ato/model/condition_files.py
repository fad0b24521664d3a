"""YAML files of named `feature op value` entries (conf/rules.yaml, conf/guardrails.yaml): one
top-level list, each entry's keys checked and its `when` list parsed; every error names the file,
the entry (by name and position) and the problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ato.model.rule_conditions import Condition, parse_condition

T = TypeVar("T")


def read_entries(path: Path, top: str, kind: str, build: Callable[[Any], T], error: type[Exception], *,
                 non_empty: bool = False) -> list[T]:
    """The entries under `top:` built one by one; `error` names the file and the entry that failed."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise error(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict) or set(doc) != {top} or not isinstance(doc[top], list) or (non_empty and not doc[top]):
        holding = f"a non-empty list of {top}" if non_empty else "a list"
        raise error(f"{path}: expected one top-level key '{top}:' holding {holding}")
    out: list[T] = []
    for i, raw in enumerate(doc[top], 1):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{kind} {name!r} (#{i})" if isinstance(name, str) else f"{kind} #{i}"
        try:
            out.append(build(raw))
        except ValueError as e:
            raise error(f"{path}: {where}: {e}") from None
    return out


def entry_conditions(raw: Any, kind: str, keys: Sequence[str], required: Sequence[str], example: str,
                     extra: frozenset[str] = frozenset()) -> tuple[Condition, ...]:
    """One entry's keys checked (every required one, no unknown one) and its `when` list parsed."""
    if not isinstance(raw, dict):
        raise ValueError(f"a {kind} must be a mapping with keys {', '.join(keys)}")
    missing, unknown = [k for k in required if k not in raw], [str(k) for k in raw if k not in keys]
    if missing or unknown:
        raise ValueError("; ".join([f"missing key(s): {', '.join(missing)}"] * bool(missing)
                                   + [f"unknown key(s): {', '.join(unknown)}"] * bool(unknown)))
    when = raw["when"]
    if not isinstance(when, list) or not all(isinstance(w, str) for w in when):
        raise ValueError(f"'when' must be a list of condition strings like \"{example}\"")
    return tuple(parse_condition(w, extra) for w in when)
