"""Spark Delta I/O helpers (ato.spark.lake) on a temp table: replaceWhere writes, versions and
rollback, `in_dates`; delta-rs (ato.deltars) reads the same versions and partitions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ato import deltars
from ato.settings import Settings
from ato.spark import lake
from tests.builders import frame
from tests.spark.exact import assert_rows

pytestmark = pytest.mark.spark
D1, D2, D3 = date(2026, 8, 1), date(2026, 8, 2), date(2026, 8, 3)
SCHEMA = "k string, n bigint, event_date date"


def _df(spark: Any, *rows: tuple[str, int, date]) -> Any:
    return frame(spark, SCHEMA, [{"k": k, "n": n, "event_date": d} for k, n, d in rows])


def _table(spark: Any, path: str) -> list[tuple[str, int, date]]:
    return sorted((r["k"], r["n"], r["event_date"]) for r in lake.read(spark, path).collect())


def test_replace_where_creates_then_replaces_only_the_predicate(spark: Any, settings: Settings) -> None:
    path = settings.table_path("gold", "t")
    assert not lake.exists(spark, path) and lake.version(spark, path) is None
    lake.replace_where(_df(spark, ("a", 1, D1), ("b", 2, D2), ("c", 3, D3)), path, "true", ["event_date"])
    assert lake.exists(spark, path) and lake.version(spark, path) == 0
    assert lake.last_write_rows(spark, path) == lake.history_rows(spark, path) == 3  # the log file, Delta's history
    for _ in range(2):  # the same night twice: one result
        lake.replace_where(_df(spark, ("x", 20, D2), ("y", 21, D2)), path, lake.in_dates("event_date", [D2]),
                           ["event_date"])
    assert _table(spark, path) == [("a", 1, D1), ("c", 3, D3), ("x", 20, D2), ("y", 21, D2)]
    assert lake.version(spark, path) == 2 and lake.last_write_rows(spark, path) == lake.history_rows(spark, path) == 2
    # delta-rs sees what Spark wrote: the same version and partitions
    assert deltars.version(settings, "gold", "t") == 2
    assert deltars.partition_dates(settings, "gold", "t", "event_date") == [D1, D2, D3]
    with pytest.raises(Exception, match=r"(?i)replaceWhere|does not conform|DELTA_REPLACE_WHERE"):
        lake.replace_where(_df(spark, ("z", 9, D1)), path, lake.in_dates("event_date", [D2]), ["event_date"])
    assert lake.version(spark, path) == 2  # a row outside the predicate is refused, nothing written


def test_rollback_restores_a_version_or_removes_a_new_table(spark: Any, settings: Settings) -> None:
    old, new = settings.table_path("gold", "old"), settings.table_path("gold", "new")
    lake.replace_where(_df(spark, ("a", 1, D1)), old, "true", ["event_date"])
    before = {old: lake.version(spark, old), new: lake.version(spark, new)}
    assert before == {old: 0, new: None}
    lake.replace_where(_df(spark, ("b", 2, D1)), old, lake.in_dates("event_date", [D1]), ["event_date"])
    lake.replace_where(_df(spark, ("n", 5, D2)), new, "true")
    for path, version in before.items():
        lake.rollback(spark, path, version)
    assert _table(spark, old) == [("a", 1, D1)] and lake.version(spark, old) == 2  # RESTORE is a commit
    assert not lake.exists(spark, new)


def test_in_dates_is_a_sorted_distinct_date_literal_list(spark: Any, settings: Settings) -> None:
    pred = lake.in_dates("event_date", [D3, D1, D3])
    assert pred == "event_date IN (DATE'2026-08-01', DATE'2026-08-03')"
    path = settings.table_path("gold", "t")
    lake.replace_where(_df(spark, ("a", 1, D1), ("b", 2, D2), ("c", 3, D3)), path, "true", ["event_date"])
    assert_rows(lake.read(spark, path).where(pred), [{"k": "a", "n": 1, "event_date": D1},
                                                     {"k": "c", "n": 3, "event_date": D3}], order=("k",))
