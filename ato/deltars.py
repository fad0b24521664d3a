"""Delta I/O without a JVM (delta-rs): read, list partition dates, write. Every table is named
by `settings` + layer + table (names in `ato.tables`); the Spark side is `ato.spark.lake`.
Reads return Arrow tables (`.to_pandas()` keeps delta-rs's microsecond timestamps)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    from ato.settings import Settings


class NoTable(FileNotFoundError):
    """No Delta table at `<lake_root>/<layer>/<table>` (nothing was written there yet)."""


def _open(path: str) -> DeltaTable:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(path)
    except TableNotFoundError as e:
        raise NoTable(f"no Delta table at {path}") from e


def exists(settings: Settings, layer: str, table: str) -> bool:
    """Whether the table has been written."""
    try:
        _open(settings.table_path(layer, table))
    except NoTable:
        return False
    return True


def version(settings: Settings, layer: str, table: str) -> int | None:
    """The table's current version, None when it does not exist."""
    try:
        return int(_open(settings.table_path(layer, table)).version())
    except NoTable:
        return None


def partition_dates(settings: Settings, layer: str, table: str, column: str) -> list[date]:
    """Sorted dates of a date-partitioned table, from its log (no data read); [] without a table."""
    try:
        parts = _open(settings.table_path(layer, table)).partitions()
    except NoTable:
        return []
    return [date.fromisoformat(d) for d in sorted({p[column] for p in parts if p.get(column)})]


def dataset(settings: Settings, layer: str, table: str) -> ds.Dataset:
    """The table as a lazy Arrow dataset (DuckDB can query it in place). Raises NoTable."""
    return _open(settings.table_path(layer, table)).to_pyarrow_dataset()


def dataset_at(path: str, as_of: int | datetime | None = None) -> ds.Dataset | None:
    """The Delta table found at `path` (for callers that discover tables on disk, the analyst
    views); everyone else names tables with `dataset`. With `as_of` (a version number or an
    instant: time travel for audits), the table as it was then, or None if it did not exist yet."""
    dt = _open(path)
    if as_of is not None:
        # (the history before loading: after it, delta-rs numbers versions from the loaded one)
        made = {h["version"]: h["timestamp"] for h in dt.history()}
        try:
            dt.load_as_version(as_of)
        except Exception:  # delta-rs raises for a version the table never had
            return None
        if isinstance(as_of, datetime) and made.get(dt.version(), 0) > as_of.timestamp() * 1000:
            return None  # before the first commit delta-rs loads version 0 anyway
    return dt.to_pyarrow_dataset()


def read(settings: Settings, layer: str, table: str, columns: list[str] | None = None,
         where: pc.Expression | None = None) -> pa.Table:
    """Rows matching `where` (partitions and file statistics prune the scan). Raises NoTable.

    Scans run on the calling thread (`use_threads=False`, here and below): with Arrow's scanner
    threads, one `ato monitor check` process in six aborted at exit ("terminate called without an
    active exception", exit 134: scanner threads outliving the interpreter, apache/arrow#34314),
    which failed the nightly's `retrain_check` task; 0 in 46 runs without them."""
    return dataset(settings, layer, table).to_table(columns=columns, filter=where, use_threads=False)


def read_dates(settings: Settings, layer: str, table: str, column: str, first: date, last: date,
               columns: list[str] | None = None, where: pc.Expression | None = None) -> pa.Table:
    """Rows of a date-partitioned table with `column` in [first, last] (and matching `where`).
    Raises NoTable."""
    import pyarrow.compute as pc

    span = (pc.field(column) >= pc.scalar(first)) & (pc.field(column) <= pc.scalar(last))
    return read(settings, layer, table, columns, span if where is None else span & where)


def write(settings: Settings, layer: str, table: str, data: pa.Table,
          mode: Literal["append", "overwrite"] = "append", predicate: str | None = None,
          partition_by: list[str] | None = None, schema_mode: Literal["merge", "overwrite"] | None = None,
          txn: tuple[str, int] | None = None) -> bool:
    """Append, overwrite the table, or (mode="overwrite" with a SQL `predicate`) replace exactly
    the rows matching it, so re-running a day gives the same table. Creates the table.

    With `txn` = (app id, version), Delta's idempotent write: the commit records the pair, and a
    write whose version is not above the one the table holds for that app id is skipped (a retried
    task appends once). Returns whether it committed."""
    from deltalake import CommitProperties, Transaction, write_deltalake

    path = settings.table_path(layer, table)
    props = None
    if txn is not None:
        with contextlib.suppress(NoTable):
            done = _open(path).transaction_version(txn[0])
            if done is not None and done >= txn[1]:
                return False
        props = CommitProperties(app_transactions=[Transaction(txn[0], txn[1])])
    if predicate is None:
        write_deltalake(path, data, mode=mode, partition_by=partition_by, schema_mode=schema_mode,
                        commit_properties=props)
    elif mode == "overwrite":  # (two calls: delta-rs types a predicate as overwrite-only)
        write_deltalake(path, data, mode="overwrite", predicate=predicate, partition_by=partition_by,
                        schema_mode=schema_mode, commit_properties=props)
    else:
        raise ValueError(f"{layer}/{table}: a predicate replaces rows, it needs mode='overwrite'")
    return True


def delete(settings: Settings, layer: str, table: str, predicate: str) -> int:
    """Delete the rows matching a SQL `predicate` (whole files where it names partitions only,
    else the touched files rewritten without them); the rows deleted. The predicate is written to
    the table's log: for erasure, where the values themselves must not be, use `rewrite`. Raises NoTable."""
    metrics = _open(settings.table_path(layer, table)).delete(predicate)
    return int(metrics.get("num_deleted_rows") or 0)


def _literal(v: object) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def rewrite(settings: Settings, layer: str, table: str, columns: list[str],
            match: Callable[[pa.Table], pa.Array], fix: Callable[[pa.Table], pa.Table], chunk: int = 16) -> pa.Table:
    """Replace the partitions holding rows where `match` (of `columns`) is true with `fix` of
    their rows, `chunk` partitions per commit, naming only partition values in the log (a delete's
    predicate, and the value it matched, would stay in the log's commit info). Returns the
    matching rows (`columns` and the partition column). Raises NoTable."""
    import pyarrow.compute as pc
    from deltalake import write_deltalake

    path = settings.table_path(layer, table)
    dt = _open(path)
    parts = dt.metadata().partition_columns
    if len(parts) != 1:
        raise ValueError(f"{layer}/{table}: rewrite needs one partition column, the table has {parts}")
    col = parts[0]
    scan = dt.to_pyarrow_dataset().to_table(columns=list(dict.fromkeys([col, *columns])), use_threads=False)
    hit = scan.filter(match(scan))
    values = sorted({str(v) for v in hit[col].to_pylist()})
    import pyarrow as pa

    schema = pa.schema(dt.schema().to_arrow())
    for i in range(0, len(values), chunk):
        some = values[i:i + chunk]
        rows = _open(path).to_pyarrow_dataset().to_table(filter=pc.field(col).cast("string").isin(some), use_threads=False)
        new = fix(rows).select([f.name for f in schema]).cast(schema)
        write_deltalake(path, new, mode="overwrite", partition_by=parts,
                        predicate=f"{col} IN ({', '.join(_literal(v) for v in some)})")
    return hit


def trim_log(settings: Settings, layer: str, table: str, log_days: int) -> None:
    """Drop the log's history now (erasure with --purge: the replaced files' statistics hold the
    erased values): log retention briefly 0, a checkpoint, the expired entries removed, retention
    back to `log_days`."""
    dt = _open(settings.table_path(layer, table))
    dt.alter.set_table_properties({"delta.logRetentionDuration": "interval 0 days"})
    dt.create_checkpoint()
    dt.cleanup_metadata()
    dt.alter.set_table_properties({"delta.logRetentionDuration": f"interval {log_days} days"})
    dt.create_checkpoint()
    _sweep(settings.table_path(layer, table))


def housekeep(settings: Settings, layer: str, table: str, *, vacuum_hours: int, log_days: int) -> int:
    """Retention's table upkeep: the Delta properties that say how long removed files and log
    entries stay (set when they differ), VACUUM of files older than `vacuum_hours` that no current
    version needs (the properties' grace period, enforced by us, so 0 purges at once), then a
    checkpoint and the log trimmed to `log_days`. The files vacuumed. Raises NoTable."""
    dt = _open(settings.table_path(layer, table))
    want = {"delta.deletedFileRetentionDuration": f"interval {vacuum_hours} hours",
            "delta.logRetentionDuration": f"interval {log_days} days"}
    if any(dt.metadata().configuration.get(k) != v for k, v in want.items()):
        dt.alter.set_table_properties(want)
    removed = dt.vacuum(retention_hours=vacuum_hours, dry_run=False, enforce_retention_duration=False)
    dt.create_checkpoint()
    dt.cleanup_metadata()
    _sweep(settings.table_path(layer, table))
    return len(removed)


def _sweep(path: str) -> None:
    """On a local lake, what VACUUM leaves behind: Spark's `.<file>.crc` checksums of removed files
    and partition folders left empty."""
    from pathlib import Path

    root = Path(path)
    if not root.is_dir():
        return
    for crc in root.rglob(".*.crc"):
        if "_delta_log" not in crc.parts and not crc.with_name(crc.name[1:-4]).exists():
            crc.unlink()
    log = root / "_delta_log"  # Spark's version checksums (they list files with their statistics)
    for crc in [*log.glob("*.crc"), *log.glob(".*.crc")]:
        version = crc.name.lstrip(".").split(".")[0]
        if version.isdigit() and not (log / f"{version}.json").exists() and crc.exists():
            crc.unlink()
    for d in sorted((p for p in root.rglob("*") if p.is_dir() and "_delta_log" not in p.parts),
                    key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
