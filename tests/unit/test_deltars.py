"""ato.deltars on a real Delta folder (delta-rs, no JVM): tables named by layer and table,
idempotent predicate overwrites, dates from the log, a clear error for a missing table."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ato import deltars
from ato.settings import Settings

pytestmark = pytest.mark.unit
D1, D2, D3 = date(2026, 8, 1), date(2026, 8, 2), date(2026, 8, 3)


def _rows(*rows: tuple[str, date, int]) -> pa.Table:
    return pa.table({"k": [r[0] for r in rows], "event_date": pa.array([r[1] for r in rows], pa.date32()),
                     "n": pa.array([r[2] for r in rows], pa.int64())})


def _all(settings: Settings) -> list[tuple[str, date, int]]:
    t = deltars.read(settings, "gold", "t").sort_by([("event_date", "ascending"), ("k", "ascending")])
    return list(zip(t["k"].to_pylist(), t["event_date"].to_pylist(), t["n"].to_pylist(), strict=True))


def test_a_missing_table_is_named_and_has_no_version_nor_dates(settings: Settings) -> None:
    assert not deltars.exists(settings, "gold", "t")
    assert deltars.version(settings, "gold", "t") is None
    assert deltars.partition_dates(settings, "gold", "t", "event_date") == []
    with pytest.raises(deltars.NoTable, match="gold/t"):
        deltars.read(settings, "gold", "t")


def test_write_read_and_replace_one_day(settings: Settings) -> None:
    deltars.write(settings, "gold", "t", _rows(("a", D1, 1), ("b", D2, 2), ("c", D3, 3)), partition_by=["event_date"])
    assert deltars.exists(settings, "gold", "t") and deltars.version(settings, "gold", "t") == 0
    assert settings.table_path("gold", "t").endswith("/lake/gold/t")
    assert deltars.partition_dates(settings, "gold", "t", "event_date") == [D1, D2, D3]
    # day 2 replaced twice: the second run gives the same table (idempotent), other days untouched
    for _ in range(2):
        deltars.write(settings, "gold", "t", _rows(("x", D2, 20), ("y", D2, 21)), mode="overwrite",
                      predicate="event_date = '2026-08-02'", partition_by=["event_date"])
    assert _all(settings) == [("a", D1, 1), ("x", D2, 20), ("y", D2, 21), ("c", D3, 3)]
    assert deltars.version(settings, "gold", "t") == 2
    got = deltars.read_dates(settings, "gold", "t", "event_date", D2, D3, ["k"], pc.field("n") < 21)
    assert sorted(got["k"].to_pylist()) == ["c", "x"] and got.column_names == ["k"]
    assert deltars.read(settings, "gold", "t", ["n"], pc.field("k") == "a")["n"].to_pylist() == [1]
    deltars.write(settings, "gold", "t", _rows(("d", D1, 4)), mode="append", partition_by=["event_date"])
    assert sorted(deltars.read_dates(settings, "gold", "t", "event_date", D1, D1)["k"].to_pylist()) == ["a", "d"]
    deltars.write(settings, "gold", "t", _rows(("z", D3, 9)), mode="overwrite", partition_by=["event_date"])
    assert _all(settings) == [("z", D3, 9)]
    assert deltars.partition_dates(settings, "gold", "t", "event_date") == [D3]


def test_a_predicate_needs_overwrite(settings: Settings) -> None:
    with pytest.raises(ValueError, match="mode='overwrite'"):
        deltars.write(settings, "gold", "t", _rows(("a", D1, 1)), predicate="event_date = '2026-08-01'")
    assert not deltars.exists(settings, "gold", "t")
