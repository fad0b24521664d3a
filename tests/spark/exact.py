"""Exact table comparison for the small Spark tests: every row and every column of a
DataFrame against rows written by hand (timestamps as aware UTC, floats to 9 decimals)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

DECIMALS = 9


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, DECIMALS) + 0.0  # -0.0 -> 0.0
    if isinstance(v, datetime):
        return v.astimezone(UTC)  # Spark hands back naive local time
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_norm(x) for x in v]
    return v


def _sorted(rs: list[dict[str, Any]], order: tuple[str, ...]) -> list[dict[str, Any]]:
    return sorted(rs, key=lambda r: tuple((r[k] is None, r[k]) for k in order))


def rows(df: Any, order: tuple[str, ...]) -> list[dict[str, Any]]:
    """The DataFrame's rows as plain dicts (structs too), sorted by `order`."""
    return _sorted([_norm(r.asDict(recursive=True)) for r in df.collect()], order)


def assert_rows(df: Any, expected: list[dict[str, Any]], order: tuple[str, ...]) -> None:
    """Same number of rows, and row by row (sorted by `order`) the same columns and values."""
    got, exp = rows(df, order), _sorted([_norm(r) for r in expected], order)
    assert len(got) == len(exp), f"{len(got)} rows, expected {len(exp)}: {[[r[k] for k in order] for r in got]}"
    missing = object()
    for g, e in zip(got, exp, strict=True):
        diff = {k: (g.get(k, "<no column>"), e.get(k, "<no column>")) for k in sorted(set(g) | set(e))
                if g.get(k, missing) != e.get(k, missing)}
        assert not diff, f"row {[e[k] for k in order]}, column: (got, expected): {diff}"
