"""The retention step on hand-made stores (delta-rs tables, spool and audit files; no JVM): rows
and files past their retention are gone from the table folders too, the rest is untouched, the
Delta properties match the policy, a re-run removes nothing more, a spool file that was never
ingested is kept, and the horizon that ingest reads is recorded."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ato import deltars
from ato.privacy.retention import bronze_horizon, run_retention
from ato.privacy.stores import TABLES, days, table
from ato.settings import Settings, load_settings
from ato.tables import DECISIONS, LEDGER, LOGINS, QUARANTINE

pytestmark = pytest.mark.unit
NIGHT = date(2026, 10, 20)
OLD, EDGE, NEW = NIGHT - timedelta(days=31), NIGHT - timedelta(days=30), NIGHT - timedelta(days=1)


def _settings(tmp_path: Path, **retention: int) -> Settings:
    env = {"ATO_LAKE_ROOT": str(tmp_path / "lake"), "ATO_SPOOL": str(tmp_path / "spool"),
           "ATO_SERVING__AUDIT_DIR": str(tmp_path / "audit"), "ATO_ONLINE_DIR": str(tmp_path / "online"),
           "ATO_RETENTION__VACUUM_HOURS": "0"}
    env |= {f"ATO_RETENTION__{k.upper()}": str(v) for k, v in retention.items()}
    return load_settings(environ=env)


def _lake(s: Settings) -> None:
    days_ = [OLD, EDGE, NEW]
    for d in days_:  # one commit per day, as nightly ingest writes them
        deltars.write(s, "bronze", LOGINS, pa.table({
            "account_id": [f"acct_{d.day:02d}a", f"acct_{d.day:02d}b"], "ip": ["10.0.0.1", "10.0.0.2"],
            "event_date": pa.array([d, d], pa.date32())}), partition_by=["event_date"])
        deltars.write(s, "bronze", QUARANTINE, pa.table({
            "stream": ["logins"], "raw": [f'{{"account_id":"acct_{d.day:02d}q"}}'],
            "_ingested_at": pa.array([datetime(d.year, d.month, d.day, 12, tzinfo=UTC)], pa.timestamp("us", "UTC"))}),
            partition_by=["stream"])
    decided = [NIGHT - timedelta(days=396), NIGHT - timedelta(days=395), NEW]
    deltars.write(s, "gold", DECISIONS, pa.table({"account_id": ["a", "b", "c"],
                                                  "decided_date": pa.array(decided, pa.date32())}),
                  partition_by=["decided_date"])


def _spool_and_audit(s: Settings, tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name, d in (("ingested_old", OLD), ("never_ingested_old", OLD - timedelta(days=1)), ("ingested_new", NEW)):
        f = tmp_path / "spool" / "logins" / f"{d.isoformat()}.jsonl"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f'{{"account_id":"{name}"}}\n')
        files[name] = f
    ledger = [hashlib.sha256(files[n].read_bytes()).hexdigest() for n in ("ingested_old", "ingested_new")]
    deltars.write(s, "bronze", LEDGER, pa.table({"sha256": ledger, "path": [str(files["ingested_old"]),
                                                                             str(files["ingested_new"])]}))
    for d in (NIGHT - timedelta(days=396), NEW):
        f = tmp_path / "audit" / d.isoformat() / "decisions-host-1.jsonl"
        f.parent.mkdir(parents=True)
        f.write_text("{}\n")
        files[f"audit_{d}"] = f
    return files


def _data_files(s: Settings, layer: str, name: str) -> set[str]:
    root = Path(s.table_path(layer, name))
    return {str(p.relative_to(root)) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts}


def _values(s: Settings, layer: str, name: str, column: str) -> list[object]:
    root = Path(s.table_path(layer, name))  # every Parquet file left in the folder, not just the live ones
    return sorted(v for p in root.rglob("*.parquet") if "_delta_log" not in p.parts
                  for v in pq.read_table(p).column(column).to_pylist())


def test_retention_removes_expired_rows_and_files_and_keeps_the_rest(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _lake(s)
    files = _spool_and_audit(s, tmp_path)
    run = run_retention(s, NIGHT)

    logins = deltars.read(s, "bronze", LOGINS).to_pydict()
    assert sorted(logins["account_id"]) == sorted(f"acct_{d.day:02d}{x}" for d in (EDGE, NEW) for x in "ab")
    # not only out of the table: out of its folder (VACUUM with the grace period at 0)
    assert _values(s, "bronze", LOGINS, "account_id") == sorted(logins["account_id"])
    assert not [f for f in _data_files(s, "bronze", LOGINS) if OLD.isoformat() in f]
    assert not (Path(s.table_path("bronze", LOGINS)) / f"event_date={OLD.isoformat()}").exists()
    assert _values(s, "bronze", QUARANTINE, "raw") == sorted(f'{{"account_id":"acct_{d.day:02d}q"}}' for d in (EDGE, NEW))
    assert sorted(deltars.read(s, "gold", DECISIONS).column("account_id").to_pylist()) == ["b", "c"]
    assert run.tables["bronze/logins"] == {"cutoff": EDGE.isoformat(), "days": 30, "rows": 2,
                                           "files_vacuumed": run.tables["bronze/logins"]["files_vacuumed"]}
    assert run.tables["bronze/quarantine"]["rows"] == 1 and run.tables["gold/decisions"]["rows"] == 1

    assert not files["ingested_old"].exists() and files["ingested_new"].exists()
    assert files["never_ingested_old"].exists() and run.kept_not_ingested == [f"logins/{(OLD - timedelta(days=1))}.jsonl"]
    assert not files[f"audit_{NIGHT - timedelta(days=396)}"].parent.exists() and files[f"audit_{NEW}"].exists()
    assert run.files == {"spool": 1, "audit": 1}

    from deltalake import DeltaTable

    conf = DeltaTable(s.table_path("bronze", LOGINS)).metadata().configuration
    assert conf["delta.deletedFileRetentionDuration"] == "interval 0 hours"
    assert conf["delta.logRetentionDuration"] == "interval 30 days"
    assert bronze_horizon(s) == EDGE
    log = (Path(s.paths.lake_root) / "_retention" / "log.jsonl").read_text()
    assert "acct_" not in log and "10.0.0" not in log  # counts, never ids

    again = run_retention(s, NIGHT)  # idempotent: nothing more to remove
    assert all(v["rows"] == 0 for v in again.tables.values()) and again.files == {"spool": 0, "audit": 0}
    assert sorted(deltars.read(s, "bronze", LOGINS).column("account_id").to_pylist()) == sorted(logins["account_id"])


def test_the_grace_period_keeps_removed_files_for_time_travel(tmp_path: Path) -> None:
    """With the default 168 hours, the expired rows leave the table at once but their files stay
    for a week (time travel for audits), then VACUUM takes them."""
    s = _settings(tmp_path, vacuum_hours=168)
    _lake(s)
    run_retention(s, NIGHT)
    assert len(deltars.read(s, "bronze", LOGINS)) == 4
    assert len(_values(s, "bronze", LOGINS, "account_id")) == 6  # the expired day's file is still there
    from deltalake import DeltaTable

    assert DeltaTable(s.table_path("bronze", LOGINS)).metadata().configuration[
        "delta.deletedFileRetentionDuration"] == "interval 168 hours"


def test_per_table_overrides_and_classes() -> None:
    s = Settings.model_validate({"retention": {"tables": {"gold/decisions": 500}}})
    assert days(s, table("gold", DECISIONS)) == 500
    assert days(s, table("bronze", LOGINS)) == 30 and days(s, table("silver", LOGINS)) == 400
    assert days(s, table("bronze", LEDGER)) is None
    with pytest.raises(KeyError, match="not in the privacy registry"):
        table("gold", "rings")
    assert len({t.key for t in TABLES}) == len(TABLES)


def test_a_retention_horizon_moves_ingest_s_event_time_window(tmp_path: Path) -> None:
    """An event dated before the first day bronze still holds is quarantined: silver would rebuild
    its expired day from that event alone."""
    from ato.spark.ingest import _time_expectation

    s = _settings(tmp_path)
    now = datetime(2026, 10, 21, tzinfo=UTC)
    assert _time_expectation("logins", s, now)["kwargs"]["min_value"] == "2000-01-01T00:00:00Z"  # type: ignore[index]
    _lake(s)
    run_retention(s, NIGHT)
    assert _time_expectation("logins", s, now)["kwargs"]["min_value"] == f"{EDGE}T00:00:00Z"  # type: ignore[index]
    run_retention(s, NIGHT - timedelta(days=5))  # re-running an older night keeps the later horizon
    assert bronze_horizon(s) == EDGE
    assert json.loads((Path(s.paths.lake_root) / "_retention" / "horizon.json").read_text())["night"] == str(NIGHT)


def test_every_table_the_code_names_is_in_the_privacy_registry() -> None:
    """A table added to ato/tables.py (or a stream to the contracts) without a retention and
    erasure entry fails here; the Spark test checks the same against a built lake's schemas."""
    from ato import tables as T
    from ato.contracts import CONTRACTS

    keys = {t.key for t in TABLES}
    gold = [v for k, v in vars(T).items() if k.isupper() and isinstance(v, str) and k not in
            ("QUARANTINE", "LEDGER", *(s.upper() for s in CONTRACTS))]
    gold += [*T.PARTIAL_TABLES.values(), *T.SNAPSHOT_TABLES.values()]
    want = {f"gold/{g}" for g in gold} | {f"{layer}/{s}" for s in CONTRACTS for layer in ("bronze", "silver")}
    want |= {f"bronze/{T.QUARANTINE}", f"bronze/{T.LEDGER}"}
    assert not want - keys, want - keys
