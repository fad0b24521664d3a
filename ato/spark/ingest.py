"""`ato ingest SPOOL`: spool files -> bronze + quarantine -> silver, as one all-or-nothing batch.

- Files already in the ingest ledger (same content hash) are skipped: re-runs add nothing. A
  file unchanged since the last scan is not even read (`ato.ingest.hash_memo`).
- Every record lands in bronze or in quarantine (with a reason); the ledger records
  rows in / bronze / quarantined per file and the batch fails if they do not add up.
- All writes replace exactly this batch's rows (`_ingest_id`), and any failure restores
  every table to the version it had before the batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

from ato.contracts import CONTRACTS, contract
from ato.ingest.discover import IngestError, SpoolFile, discover
from ato.progress import QUIET, Progress
from ato.settings import Settings
from ato.spark import lake
from ato.spark.compiled_suites import failure_reasons
from ato.spark.quality import load_suite_spec
from ato.spark.read_spool import read_stream
from ato.spark.validate import apply_contract
from ato.tables import LEDGER, QUARANTINE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

@dataclass
class IngestSummary:
    """What one batch did."""

    ingest_id: str | None = None
    files: int = 0
    skipped_files: int = 0
    unread_files: int = 0  # of the files found, those unchanged since the last scan: hash from the memo
    bronze_rows: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)  # "stream: reason" -> rows
    quarantined_rows: int = 0
    erased_rows: int = 0  # rows of accounts `ato forget` erased, dated up to the erasure or undated: dropped (`ato.privacy.erased`)
    silver_dates: dict[str, list[str]] = field(default_factory=dict)
    quarantine_share: dict[str, float] = field(default_factory=dict)  # per stream, this batch
    alerts: list[str] = field(default_factory=list)  # streams over ingest.max_quarantine_fraction


def batch_id(files: list[SpoolFile]) -> str:
    """Deterministic id of a batch: the same files always give the same id."""
    h = hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()
    return f"ing_{h[:20]}"


def _already_ingested(spark: SparkSession, settings: Settings) -> set[str]:
    path = settings.table_path("bronze", LEDGER)
    if not lake.exists(spark, path):
        return set()
    return {r[0] for r in lake.read(spark, path).select("sha256").collect()}


def _time_expectation(stream: str, settings: Settings, now: datetime) -> dict[str, object]:
    """Event times within [min_event_time, now + max_future_skew_hours], and not before the first
    day bronze still holds after retention (`ato.privacy.retention`): silver rebuilds a day from
    bronze, so an event of an expired day would replace that silver day with itself alone."""
    from ato.privacy.retention import bronze_horizon

    hi = now + timedelta(hours=settings.ingest.max_future_skew_hours)
    lo = settings.ingest.min_event_time
    horizon = bronze_horizon(settings)
    if horizon is not None and datetime(horizon.year, horizon.month, horizon.day, tzinfo=UTC) > datetime.fromisoformat(lo):
        lo = f"{horizon.isoformat()}T00:00:00Z"
    return {"type": "expect_column_values_to_be_between",
            "kwargs": {"column": contract(stream).time_field, "min_value": lo,
                       "max_value": hi.strftime("%Y-%m-%dT%H:%M:%SZ")}}


@dataclass
class _Split:
    """One stream of the batch: its bronze and quarantine rows (both from `checked`, cached),
    rows per file and kind ("bronze"/"quarantined"/"erased"), and the event dates of its bronze rows."""

    good: DataFrame
    bad: DataFrame
    checked: DataFrame
    counts: Counter[tuple[str, str]]
    dates: list[date]


def _split(spark: SparkSession, stream: str, files: list[SpoolFile], settings: Settings,
           now: datetime, ingest_id: str, erased: DataFrame | None = None) -> _Split:
    """Check one stream's rows once and count them in one aggregation.

    A row is quarantined for its contract reasons or, when it meets the contract, for the
    bronze expectations it breaks (compiled to column expressions, `compiled_suites`). A row of
    an account in the erasure register (`erased`, `_erased_register`) dated up to its erasure, or
    undated, goes nowhere: it is only counted.
    """
    from pyspark.sql import functions as F

    suite = [*load_suite_spec(f"bronze_{stream}"), _time_expectation(stream, settings, now)]
    c = contract(stream)
    checked = apply_contract(read_stream(spark, files), stream)
    checked = checked.withColumn("reasons", F.when(F.size("reasons") > 0, F.col("reasons"))
                                 .otherwise(failure_reasons(suite)))
    if erased is not None and "account_id" in c.field_names:
        checked = _mark_erased(checked, erased, settings, c.time_field)
    else:
        checked = checked.withColumn("_erased", F.lit(False))
    checked = checked.persist()
    stamp = [F.lit(ingest_id).alias("_ingest_id"), F.lit(now).alias("_ingested_at")]
    kept = ~F.col("_erased")
    good = checked.where(kept & (F.size("reasons") == 0)).select(
        *c.field_names, "extra", F.to_date(c.time_field).alias("event_date"),
        F.col("source_file").alias("_source_file"), "_row_id", *stamp,
    )
    # Best-effort event date of a rejected row (first RFC 3339 date in it), so the nightly
    # input gate can tell which day lost rows; null when the row has no readable date.
    raw_day = F.regexp_extract("raw", r"(\d{4}-\d{2}-\d{2})[T ]\d{2}:", 1)
    quarantined = checked.where(kept & (F.size("reasons") > 0)).select(
        F.lit(stream).alias("stream"), "raw", F.array_join("reasons", "; ").alias("reason"), "reasons",
        F.when(raw_day != "", F.try_to_timestamp(raw_day, F.lit("yyyy-MM-dd"))).cast("date").alias("event_date"),
        F.col("source_file").alias("_source_file"), "_row_id", *stamp,
    )
    ok = kept & (F.size("reasons") == 0)
    counts: Counter[tuple[str, str]] = Counter()
    dates = set()
    for r in checked.groupBy("source_file", ok.alias("ok"), "_erased", F.when(ok, F.to_date(c.time_field)).alias("day")) \
            .count().collect():
        counts[(r[0], "erased" if r[2] else "bronze" if r[1] else "quarantined")] += r[4]
        if r[3] is not None:
            dates.add(r[3])
    return _Split(good, quarantined, checked, counts, sorted(dates))


def _erased_register(spark: SparkSession, settings: Settings) -> DataFrame | None:
    """The erasure register (`ato.privacy.erased`) as a small frame (_subject, _erased_at); None when
    nothing was ever erased (then no row is hashed)."""
    from ato.privacy.erased import register

    held = register(settings)
    if not held:
        return None
    return spark.createDataFrame(sorted(held.items()), "_subject string, _erased_at timestamp")


def _mark_erased(checked: DataFrame, erased: DataFrame, settings: Settings, time_field: str) -> DataFrame:
    """`checked` with `_erased`: its account's keyed hash (`ato forget`'s subject, computed from
    the key's pads carried as data) is in the register, and the row is dated up to that erasure or
    has no valid time. The key's hashes of other keys do not match: erasures recorded under a
    rotated-out key are not found (README "Personal data")."""
    from pyspark.sql import functions as F

    from ato.privacy.erased import SUBJECT_HEX, SUBJECT_PREFIX
    from ato.spark.enrich import KEY_ID_COLUMN, PAD_COLUMNS, hmac_hex, with_hmac_pads

    hashed = with_hmac_pads(checked, settings.hmac_key_bytes())
    hashed = hashed.withColumn("_subject", hmac_hex(F.concat(F.lit(SUBJECT_PREFIX), F.col("account_id")), SUBJECT_HEX))
    joined = hashed.drop(*PAD_COLUMNS, KEY_ID_COLUMN).join(F.broadcast(erased), "_subject", "left")
    gone = F.col("_erased_at").isNotNull() & (F.col(time_field).isNull() | (F.col(time_field) <= F.col("_erased_at")))
    return joined.withColumn("_erased", gone).drop("_subject", "_erased_at")


def _ledger_rows(spark: SparkSession, files: list[SpoolFile], splits: dict[str, _Split],
                 ingest_id: str, now: datetime) -> DataFrame:
    """One ledger row per file; fails the batch if bronze + quarantine != the records in the file
    (counted again from the files, independently of the checks)."""
    counts = sum((sp.counts for sp in splits.values()), Counter[tuple[str, str]]())
    raw_counts: Counter[str] = Counter()
    for stream in {f.stream for f in files}:
        for r in read_stream(spark, [f for f in files if f.stream == stream]).groupBy("source_file").count().collect():
            raw_counts[r[0]] += r[1]
    rows = []
    for f in files:
        b, q, e = (counts[(f.path, k)] for k in ("bronze", "quarantined", "erased"))
        n = raw_counts[f.path]
        if b + q + e != n:
            raise IngestError(f"{f.path}: {n} records in, {b} bronze + {q} quarantined + {e} of erased accounts: "
                              "rows would be lost")
        rows.append((f.sha256, f.path, f.stream, f.fmt, f.size, ingest_id, n, b, q, e, now))
    return spark.createDataFrame(
        rows, "sha256 string, path string, stream string, format string, bytes long, _ingest_id string, "
        "rows_in long, rows_bronze long, rows_quarantined long, rows_erased long, _ingested_at timestamp",
    )


def ingest(spark: SparkSession, settings: Settings, spool: Path, progress: Progress = QUIET,
           now: datetime | None = None, _fail_after_writes: int | None = None) -> IngestSummary:
    """Ingest every new file under `spool`, holding the lake's writer lock (`ato.lake_lock`); see the
    module docstring for the guarantees. `_fail_after_writes` injects a crash after that many table
    writes (tests only)."""
    from ato.ingest.discover import IngestError, local_folder
    from ato.lake_lock import BATCH, writer_lock

    try:
        local_folder(str(spool), "the spool")
    except ValueError as e:
        raise IngestError(str(e)) from None
    with writer_lock(settings.paths.lake_root, f"ato ingest {spool}", settings.batch.lock_wait_s, domains=(BATCH,)):
        return _ingest(spark, settings, spool, progress, now, _fail_after_writes)


def _ingest(spark: SparkSession, settings: Settings, spool: Path, progress: Progress, now: datetime | None,
            _fail_after_writes: int | None) -> IngestSummary:
    from ato.spark.silver import build_silver

    now = now or datetime.now(UTC).replace(microsecond=0)
    with progress.step(f"scanning {spool}"):
        from ato.online.decide.appender import close_stale

        # files the API still appends to are hidden (.open-*) and skipped; a crashed writer's are closed first
        close_stale(spool, now.date().isoformat(), settings.serving.open_file_stale_s)
        found = discover(spool, settings.ingest.hash_memo_settle_s)
        seen = _already_ingested(spark, settings)
        files, dup = [], set()
        for f in found:
            if f.sha256 in seen or f.sha256 in dup:
                continue
            dup.add(f.sha256)
            files.append(f)
    summary = IngestSummary(files=len(files), skipped_files=len(found) - len(files),
                            unread_files=sum(f.known for f in found))
    progress.info(f"{len(files)} new files, {summary.skipped_files} already ingested "
                  f"({summary.unread_files} unchanged since the last scan, not read)")
    if not files:
        return summary
    ingest_id = summary.ingest_id = batch_id(files)
    streams = sorted({f.stream for f in files}, key=list(CONTRACTS).index)
    splits: dict[str, _Split] = {}
    erased = _erased_register(spark, settings)
    for stream in progress.track(streams, len(streams), "validating streams"):
        splits[stream] = _split(spark, stream, [f for f in files if f.stream == stream], settings, now, ingest_id, erased)
    ledger = _ledger_rows(spark, files, splits, ingest_id, now)
    tables = [settings.table_path("bronze", s) for s in streams]
    tables += [settings.table_path("bronze", QUARANTINE), settings.table_path("bronze", LEDGER)]
    tables += [settings.table_path("silver", s) for s in streams]
    before = {t: lake.version(spark, t) for t in tables}
    pred = f"_ingest_id = '{ingest_id}'"
    written = count(1)  # next() is atomic: the writes run in threads (spark.write_threads)
    threads = settings.spark.write_threads

    def write(df: DataFrame, table: str, partition_by: str) -> None:
        lake.replace_where(df, table, pred, [partition_by])
        tick()

    def silver(stream: str) -> None:
        build_silver(spark, settings, stream, splits[stream].dates)
        tick()

    def tick() -> None:
        n = next(written)
        if _fail_after_writes is not None and n >= _fail_after_writes:
            raise RuntimeError(f"injected failure after {n} writes")

    try:
        quarantine = None
        for df in (sp.bad for sp in splits.values()):
            quarantine = df if quarantine is None else quarantine.unionByName(df)
        assert quarantine is not None
        with progress.step(f"writing bronze ({len(streams)} streams and the quarantine, {threads} at a time)"):
            lake.together([*(partial(write, splits[s].good, settings.table_path("bronze", s), "event_date")
                             for s in streams),
                           partial(write, quarantine, settings.table_path("bronze", QUARANTINE), "stream")], threads)
        with progress.step("building silver"):
            for stream in streams:
                summary.silver_dates[stream] = [d.isoformat() for d in splits[stream].dates]
            # Reputation first: silver logins look it up (point in time); the other streams together.
            if "ip_reputation" in streams:
                silver("ip_reputation")
            lake.together([partial(silver, s) for s in streams if s != "ip_reputation"], threads)
        lake.replace_where(ledger, settings.table_path("bronze", LEDGER), pred, merge_schema=True)  # a ledger from before rows_erased gains it
    except BaseException:
        progress.info("batch failed: restoring every table to its version before the batch")
        for t, v in before.items():
            lake.rollback(spark, t, v)
        raise
    finally:
        for sp in splits.values():
            sp.checked.unpersist()
    from pyspark.sql import functions as F

    limit = settings.ingest.max_quarantine_fraction
    for r in ledger.groupBy("stream").agg(F.sum("rows_bronze"), F.sum("rows_in"), F.sum("rows_erased")).collect():
        summary.bronze_rows[r[0]] = int(r[1])
        summary.erased_rows += int(r[3])
        summary.quarantined_rows += int(r[2]) - int(r[1]) - int(r[3])
        share = summary.quarantine_share[r[0]] = (int(r[2]) - int(r[1]) - int(r[3])) / max(1, int(r[2]))
        if share > limit:
            summary.alerts.append(f"{r[0]}: {share:.1%} of rows quarantined (limit {limit:.0%})")
    q = lake.read(spark, settings.table_path("bronze", QUARANTINE)).where(pred)
    for r in q.select("stream", F.explode("reasons").alias("r")).groupBy("stream", "r").count().collect():
        summary.quarantined[f"{r[0]}: {r[1]}"] = int(r[2])
    return summary
