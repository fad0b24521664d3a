"""Retention on the lake Spark built (the backfilled small world): every table that holds an
account id is in the privacy registry; bronze past a short policy leaves no expired partition or
file behind, everything else is untouched (content hash), and the next night still passes its
gates, with an event of an expired day quarantined instead of rebuilding that silver day."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ato import deltars
from ato.privacy.stores import TABLES
from ato.settings import Settings
from tests.conftest import make_settings
from tests.digest import table_digest

pytestmark = pytest.mark.spark
NIGHT = date(2026, 8, 8)


def _tables(lake: Path) -> dict[str, list[str]]:
    from deltalake import DeltaTable

    return {f"{d.parent.name}/{d.name}": [f.name for f in DeltaTable(str(d)).schema().fields]
            for d in sorted(lake.glob("*/*")) if (d / "_delta_log").is_dir()}


def test_every_lake_table_is_registered_with_its_account_column(backfilled: tuple[Settings, Any]) -> None:
    found = _tables(Path(backfilled[0].paths.lake_root))
    registry = {t.key: t for t in TABLES}
    assert found and not set(found) - set(registry), f"tables missing from ato/privacy/stores.py: {set(found) - set(registry)}"
    for key, columns in found.items():
        assert ("account_id" in columns) == (registry[key].account == "account_id"), key
        assert ("accounts" in columns) == ("accounts" in registry[key].lists), key


def test_retention_on_the_built_lake_then_the_next_night_passes_its_gates(
        spark: Any, backfilled: tuple[Settings, Any], small_world: tuple[Path, Path, Any], tmp_path: Path) -> None:
    from ato.nightly import run_nightly
    from ato.privacy.retention import run_retention

    src, _ = backfilled
    spool, world, _ = small_world
    shutil.copytree(src.paths.lake_root, tmp_path / "lake")
    shutil.copytree(spool, tmp_path / "spool")
    s = make_settings(tmp_path, geo_db=world / "ip_geo.csv", ATO_BATCH__LABEL_MATURITY_DAYS="1",
                      ATO_SPOOL=str(tmp_path / "spool"),
                      ATO_RETENTION__RAW_DAYS="3", ATO_RETENTION__VACUUM_HOURS="0")
    kept = {(t.layer, t.name): table_digest(deltars.read(s, t.layer, t.name)) for t in TABLES
            if t.layer != "bronze" and deltars.exists(s, t.layer, t.name)}
    run = run_retention(s, NIGHT)
    cutoff = date(2026, 8, 5)
    for t in TABLES:
        if t.layer == "bronze" and t.age_by == "event_date" and deltars.exists(s, t.layer, t.name):
            assert min(deltars.partition_dates(s, t.layer, t.name, "event_date"), default=cutoff) >= cutoff, t.key
            root = Path(s.table_path(t.layer, t.name))
            left = [p for p in root.rglob("*.parquet") if "event_date=2026-08-0" in str(p)
                    and date.fromisoformat(str(p).split("event_date=")[1][:10]) < cutoff]
            assert not left, left
    assert run.tables["bronze/logins"]["rows"] > 0 and run.files["spool"] > 0
    assert not [f for f in (tmp_path / "spool").rglob("*") if f.is_file() and f.stem[:10] < "2026-08-05"
                and f.stem[:4] == "2026"], "ingested spool files of expired days are gone"
    assert {k: table_digest(deltars.read(s, *k)) for k in kept} == kept, "silver and gold untouched"

    # a late event of an expired day arrives: quarantined, silver's 08-02 stays as it was
    late = tmp_path / "spool" / "logins" / "late.jsonl"
    line = next(x for x in (spool / "logins" / "2026-08-02.jsonl").read_text().splitlines() if x.strip())
    late.write_text(line.replace('"event_id":"', '"event_id":"late-') + "\n")
    summary = run_nightly(s, [NIGHT], ("ingest", "validate", "aggregates", "training", "gate"),
                          spark_factory=lambda: spark)
    assert all(c.passed for c in summary.checks) and summary.ingested_files == 1
    assert table_digest(deltars.read(s, "silver", "logins")) == kept[("silver", "logins")]
    q = deltars.read(s, "bronze", "quarantine").to_pandas()
    assert q["raw"].str.contains("late-").sum() == 1
    assert "be_between(event_time)" in q.loc[q["raw"].str.contains("late-"), "reason"].iloc[0]  # before the horizon
