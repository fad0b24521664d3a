"""The nightly batch run for one as-of date D (or a backfill range), step by step:

ingest (spool -> bronze/quarantine -> enriched silver) -> decisions (the API's audit log) -> monitor
(decisions joined with the labels known tonight: outcomes, daily performance and business metrics)
-> validate (input gate on day D)
-> aggregates (daily partials, 30-day snapshots as of D) -> training (rows for logins of
D - label_maturity_days) -> gate (GE suites on what was built) -> actions (sensitive-action rows
of the same days, `ato.sensitive.rows`, no JVM) -> publish (snapshot D for serving) -> report (HTML
with plots) -> retention (what is older than its retention on night D removed, `ato.privacy`, no JVM). `ato nightly` runs them in one process; the Airflow DAG runs each as its own task
through the same function. A failed step or gate restores every gold table it touched, and
nothing is published, so the previous snapshot stays live.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ato.gates import Check, GateFailed, input_checks, log_checks, run_id
from ato.progress import QUIET, Progress
from ato.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STEPS = ("ingest", "decisions", "monitor", "validate", "rings", "aggregates", "training", "gate", "actions", "publish",
         "report", "retention")
BUILD_STEPS = {"aggregates", "training", "gate"}  # Spark steps that write (or check) gold
MONITORING_STEPS = {"decisions", "monitor"}  # they write the monitoring tables only (ato.lake_lock)
LAKELESS_STEPS = {"report"}  # it writes no table


def lock_domains(steps: tuple[str, ...]) -> tuple[str, ...]:
    """The writer locks `steps` need (ato.lake_lock): the monitoring tables', the batch tables', or
    both (retention removes rows from every store)."""
    from ato.lake_lock import BATCH, LOCKS, MONITORING

    if "retention" in steps:
        return tuple(LOCKS)
    need = {MONITORING} if MONITORING_STEPS & set(steps) else set()
    if set(steps) - MONITORING_STEPS - LAKELESS_STEPS:
        need.add(BATCH)
    return tuple(d for d in LOCKS if d in need)


@dataclass
class NightlySummary:
    """What a nightly run did, with per-step wall times."""

    dates: list[str]
    steps: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    ingested_files: int = 0
    partial_days: list[str] = field(default_factory=list)
    snapshot_dates: list[str] = field(default_factory=list)
    snapshot_rows: dict[str, int] = field(default_factory=dict)
    training_dates: list[str] = field(default_factory=list)
    training_rows: int = 0
    action_rows: int = 0
    checks: list[Check] = field(default_factory=list)
    published: str | None = None
    decisions: dict[str, int] = field(default_factory=dict)
    decisions_erased: int = 0  # audit lines of erased accounts, decided up to their erasure: left out
    monitor: dict[str, Any] = field(default_factory=dict)
    report: str | None = None
    retention: dict[str, Any] = field(default_factory=dict)
    rehash: dict[str, Any] = field(default_factory=dict)  # a key rotation's re-hashed days (README "Rotating the key")
    versions_before: dict[str, int | None] = field(default_factory=dict)
    rings: dict[str, Any] = field(default_factory=dict)  # per ring night: the ring finder's summary (`ato.rings.night`)
    commit_tag: str = ""  # on every gold commit of the run (Delta userMetadata): a failure restores only these


def date_range(first: date, last: date) -> list[date]:
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def run_nightly(settings: Settings, dates: list[date], steps: tuple[str, ...] = STEPS, spool: Path | None = None,
                progress: Progress = QUIET, spark_factory: Callable[[], SparkSession] | None = None,
                versions_before: dict[str, int | None] | None = None, force_decisions: bool = False,
                lock_wait_s: float | None = None, commit_tag: str | None = None) -> NightlySummary:
    """Run `steps` for the as-of `dates` (one night, or a backfill in one Spark session), holding the
    lake's writer lock (`ato.lake_lock`: waits `lock_wait_s`, default `batch.lock_wait_s`). Its gold
    commits carry `commit_tag` (default: the run, host, pid and start); the tasks of one Airflow run
    pass the same one, so a failed gate undoes theirs and nobody else's."""
    import os
    import socket

    from ato.lake_lock import writer_lock

    wait = settings.batch.lock_wait_s if lock_wait_s is None else lock_wait_s
    what = f"ato nightly {run_id(sorted(dates))} --steps {','.join(steps)}" if dates else "ato nightly"
    with writer_lock(settings.paths.lake_root, what, wait, domains=lock_domains(steps), on_wait=lambda h: progress.info(
            f"waiting for the lake's writer lock, held by {h.get('what')} of {h.get('owner')} since {h.get('since')}")):
        tag = commit_tag or f"{what} on {socket.gethostname()} pid {os.getpid()} at {time.time():.0f}"
        return _run(settings, dates, steps, spool, progress, spark_factory, versions_before, force_decisions, tag)


def _run(settings: Settings, dates: list[date], steps: tuple[str, ...], spool: Path | None, progress: Progress,
         spark_factory: Callable[[], SparkSession] | None, versions_before: dict[str, int | None] | None,
         force_decisions: bool, tag: str) -> NightlySummary:
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise ValueError(f"unknown steps {sorted(unknown)}; choose from {', '.join(STEPS)}")
    dates = sorted(dates)
    s = NightlySummary([d.isoformat() for d in dates], [x for x in STEPS if x in steps], commit_tag=tag)
    rid = run_id(dates)
    spark: SparkSession | None = None

    def get_spark() -> SparkSession:
        nonlocal spark
        if spark is None:
            from ato.spark.session import get_spark as make
            from ato.spark.session import jvm_job

            spark = spark_factory() if spark_factory else make(settings, "ato-nightly", job=jvm_job(steps))
        return spark

    @contextmanager
    def timed(step: str, label: str) -> Iterator[None]:
        start = time.perf_counter()
        with progress.step(label):
            yield
        s.seconds[step] = round(time.perf_counter() - start, 2)

    if "ingest" in steps:
        from ato.spark.ingest import ingest

        with timed("ingest", "ingest: spool -> bronze -> silver (enriched)"):
            s.ingested_files = ingest(get_spark(), settings, spool or Path(settings.paths.spool), progress).files
    if "decisions" in steps:
        from ato.decisions import load_decisions

        with timed("decisions", "decisions: the API's audit log -> gold/decisions"):
            for d in dates:
                loaded = load_decisions(settings, d, force=force_decisions)
                s.decisions[loaded.day] = loaded.rows
                s.decisions_erased += loaded.erased
    if "monitor" in steps:
        from ato.report.evidently_pages import try_drift_page
        from ato.spark.monitor import run_monitor

        with timed("monitor", f"monitor: decision outcomes, daily metrics and drift page as of {dates[-1]}"):
            s.monitor = run_monitor(get_spark(), settings, dates[-1])
            # here, beside the batch steps, not in the report on the nightly's critical path
            page, error = try_drift_page(settings, dates[-1])
            s.monitor["drift_page"] = str(page) if page else None
            if error:
                s.monitor["drift_page_error"] = error
    if "validate" in steps:
        with timed("validate", f"validate: input gate for {rid}"):
            checks = [c for d in dates for c in input_checks(settings, d)]
        s.checks += checks
        log_checks(settings, rid, checks, txn=(f"nightly_checks {tag}", 1))
        if not all(c.passed for c in checks):
            raise GateFailed(checks)
    if "rings" in steps:
        from ato.spark.ring_step import build_rings

        # before the aggregates: the account snapshot carries the night's ring (ring features). A
        # backfill finds the rings of its last night and of every rings.backfill_every_days-th before it.
        nights = dates[::-1][::settings.rings.backfill_every_days][::-1]
        with timed("rings", f"rings: fraud rings as of {run_id(nights)}"):
            s.rings = {d.isoformat(): build_rings(get_spark(), settings, d) for d in nights}
    if BUILD_STEPS & set(steps):
        _build(settings, dates, steps, s, get_spark(), timed, versions_before)
    if "actions" in steps:
        from ato.sensitive.rows import build_action_rows

        days = [d - timedelta(days=settings.batch.label_maturity_days) for d in dates]
        with timed("actions", f"actions: sensitive-action rows of {run_id(days)}"):
            s.action_rows = build_action_rows(settings, days)
    if "publish" in steps:
        from ato.online.snapshot.files import publish

        with timed("publish", f"publish: snapshot {dates[-1]} for serving"):
            s.published = publish(settings, dates[-1]).path
    if "report" in steps:
        from ato.report.nightly import build_nightly_report

        with timed("report", f"report: HTML for {dates[-1]}"):
            s.report = str(build_nightly_report(settings, dates[-1]))
    if "retention" in steps:
        from ato.privacy.retention import run_retention

        with timed("retention", f"retention: stores past their retention on {dates[-1]}"):
            s.retention = run_retention(settings, dates[-1], progress).as_dict()
    return s


def _build(settings: Settings, dates: list[date], steps: tuple[str, ...], s: NightlySummary, spark: SparkSession,
           timed: Callable[[str, str], Any], versions_before: dict[str, int | None] | None) -> None:
    from ato.spark import gold

    s.versions_before = versions_before if versions_before is not None else gold.versions(spark, settings)
    spark.conf.set(gold.COMMIT_TAG_CONF, s.commit_tag)
    m = settings.batch.label_maturity_days
    login_dates = [d - timedelta(days=m) for d in dates]
    s.training_dates = [d.isoformat() for d in login_dates]
    try:
        if "aggregates" in steps:
            # The training rows need the snapshot of the day before each login date: build
            # the ones missing alongside (a backfill's first days).
            have = gold.existing_snapshot_dates(spark, settings)
            before = {d - timedelta(days=1) for d in login_dates}
            with timed("aggregates", f"aggregates: 30-day snapshots as of {run_id(dates)}"):
                rehash = gold.rehash_for(spark, settings, sorted(set(dates) | before))
                # after a rotation, the training rows' snapshots are rebuilt too, to match their re-hashed logins
                snap_dates = sorted(set(dates) | (before if rehash.all_days else before - have))
                s.rehash = rehash.as_dict() if rehash.days or rehash.missing else {}
                s.partial_days = [d.isoformat() for d in gold.build_partials_for(spark, settings, snap_dates,
                                                                                  rehash.all_days)]
                s.snapshot_rows = gold.build_snapshots_for(spark, settings, snap_dates)
            s.snapshot_dates = [d.isoformat() for d in snap_dates]
        if "training" in steps:
            with timed("training", f"training set: logins of {run_id(login_dates)} (labels matured {m} days)"):
                s.training_rows = gold.build_training_for(spark, settings, login_dates)
        if "gate" in steps:
            with timed("gate", "gate: quality suites on the built tables"):
                checks = gold.output_checks(spark, settings, dates, login_dates)
            s.checks += checks
            log_checks(settings, run_id(dates), checks, txn=(f"nightly_checks {s.commit_tag}", 2))
            if not all(c.passed for c in checks):
                raise GateFailed(checks)
    except BaseException as e:
        kept = gold.restore(spark, s.versions_before, s.commit_tag)
        if kept:
            e.add_note(f"left as they are (a commit not of this run came after ours): {', '.join(kept)}")
            e.kept_tables = kept  # type: ignore[attr-defined]
        raise
    finally:
        spark.conf.unset(gold.COMMIT_TAG_CONF)
