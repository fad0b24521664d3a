"""The data dictionary against the tables Spark really writes: on the small world, ingested and
backfilled for 7 nights, every silver and gold Delta table (and bronze, as received) has exactly the
columns, types and partitioning `ato/analyst/dictionary.yaml` declares. Read with delta-rs; tables
the small world does not produce (decisions, monitoring, rings) need not exist, but every table is
declared (the unit test `test_data_dictionary.py` holds that)."""

from __future__ import annotations

from typing import Any

import pytest

from ato.analyst import list_tables
from ato.analyst.dictionary import Table, delta_schema, tables
from ato.settings import Settings

pytestmark = pytest.mark.spark
FIX = "fix ato/analyst/dictionary.yaml (or the code), then run `ato docs`"


def differences(t: Table, path: str) -> list[str]:
    """What differs between table `t` as declared and the Delta table at `path`, one line each."""
    types, partitions = delta_schema(path)
    want = {c.name: c.type for c in t.columns}
    out = [f"{t.key}: column {c} ({types[c]}) is in the table but not in the dictionary" for c in types if c not in want]
    out += [f"{t.key}: column {c} ({want[c]}) is declared but not in the table" for c in want if c not in types]
    out += [f"{t.key}: column {c} is {types[c]} in the table, {want[c]} in the dictionary"
            for c in types if c in want and types[c] != want[c]]
    declared = [t.partitioned_by] if t.partitioned_by else []
    if partitions != declared:
        out.append(f"{t.key}: partitioned by {partitions} in the table, {declared} in the dictionary")
    return out


def check_layers(settings: Settings, layers: tuple[str, ...]) -> list[str]:
    declared = {t.view: t for t in tables()}
    present = {v: p for v, p in list_tables(settings.paths.lake_root).items() if v.split("_", 1)[0] in layers}
    assert present, f"no {'/'.join(layers)} tables under {settings.paths.lake_root}"
    problems = [f"{view}: a table in the lake that the dictionary does not declare" for view in present
                if view not in declared]
    for view, path in sorted(present.items()):
        if view in declared:
            problems += differences(declared[view], path)
    return problems


def test_silver_and_gold_tables_are_exactly_as_declared(backfilled: tuple[Settings, Any]) -> None:
    settings, _ = backfilled
    present = list_tables(settings.paths.lake_root)
    assert {"silver_logins", "gold_account_features_daily", "gold_training_set"} <= set(present)
    problems = check_layers(settings, ("silver", "gold"))
    assert not problems, "\n".join([*problems, FIX])


def test_bronze_tables_are_exactly_as_declared(backfilled: tuple[Settings, Any]) -> None:
    settings, _ = backfilled
    problems = check_layers(settings, ("bronze",))
    assert not problems, "\n".join([*problems, FIX])
