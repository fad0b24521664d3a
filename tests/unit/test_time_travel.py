"""Time travel for audits without a JVM: `ato.analyst.connect(..., as_of=)` and `ato sql --as-of`
show every table as it was at a Delta version or an instant, and leave out tables not yet made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from ato.analyst import connect
from ato.cli.data import as_of_arg


def _count(con: object, table: str) -> int:
    return int(con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # type: ignore[attr-defined]


def test_a_table_as_it_was_by_version_and_by_time(tmp_path: Path) -> None:
    path = str(tmp_path / "gold" / "decisions")
    write_deltalake(path, pa.table({"n": [1, 2]}))
    first = datetime.fromtimestamp(DeltaTable(path).history()[0]["timestamp"] / 1000, UTC)  # its commit's instant
    while datetime.now(UTC) <= first + timedelta(milliseconds=2):
        pass  # the next commit lands in a later millisecond (ordering, not a timeout)
    write_deltalake(path, pa.table({"n": [3]}), mode="append")
    before, between = first - timedelta(milliseconds=1), first

    assert _count(connect(str(tmp_path)), "gold_decisions") == 3
    assert _count(connect(str(tmp_path), as_of=0), "gold_decisions") == 2
    assert _count(connect(str(tmp_path), as_of=between), "gold_decisions") == 2
    with pytest.raises(Exception, match="gold_decisions does not exist"):
        connect(str(tmp_path), as_of=before).sql("SELECT * FROM gold_decisions")
    with pytest.raises(Exception, match="does not exist"):
        connect(str(tmp_path), as_of=7).sql("SELECT * FROM gold_decisions")


def test_as_of_takes_a_version_or_an_instant_in_utc() -> None:
    import argparse

    assert as_of_arg("12") == 12
    assert as_of_arg("2026-09-14") == datetime(2026, 9, 14, tzinfo=UTC)
    assert as_of_arg("2026-09-14T06:30+02:00") == datetime(2026, 9, 14, 4, 30, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError, match="version number or an ISO"):
        as_of_arg("last tuesday")
