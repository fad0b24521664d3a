"""ato_nightly: the batch layer for logical date D, one Airflow task per step.

ingest (spool -> bronze/quarantine -> enriched silver) >> validate (input gate) >>
aggregates (30-day snapshots as of D) >> training_set >> quality_gate >> publish >> report.

Wiring only: every task runs `ato nightly --date D --steps <step>` as its own process, so
the scheduler never holds a JVM, and the logic is the `ato` package's. The quality gate gets
the gold table versions from before `aggregates` (its XCom) and restores them if it fails;
`publish` then never runs, so the previous snapshot stays live. Nothing heavy is imported here.
"""

from __future__ import annotations

import os
import shlex
import sys
from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

ATO = f"{shlex.quote(sys.executable)} -m ato.cli nightly --date {{{{ ds }}}}"


@dag(
    dag_id="ato_nightly",
    description="ATO batch layer: ingest, validate, 30-day aggregates, training set, gate, publish",
    schedule="@daily",
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=True,
    max_active_runs=1,
    # ATO_DAG_RETRIES lets a test fail fast instead of waiting out the retry delay.
    default_args={"retries": int(os.environ.get("ATO_DAG_RETRIES", "2")), "retry_delay": timedelta(minutes=5)},
    tags=["ato", "batch"],
)
def ato_nightly() -> None:
    @task.bash
    def ingest() -> str:
        return f"{ATO} --steps ingest"

    @task.bash
    def validate() -> str:
        return f"{ATO} --steps validate"

    @task.bash
    def aggregates() -> str:
        return f"{ATO} --steps aggregates"  # last stdout line: gold versions before the night

    @task.bash
    def training_set() -> str:
        return f"{ATO} --steps training"

    @task.bash(retries=0)  # a failed gate is a verdict, not a glitch: do not retry it
    def quality_gate(versions_before: str) -> str:
        return f"{ATO} --steps gate --versions-before {shlex.quote(versions_before)}"

    @task.bash
    def publish() -> str:
        return f"{ATO} --steps publish"

    @task.bash
    def report() -> str:
        return f"{ATO} --steps report"

    versions = aggregates()
    ingest() >> validate() >> versions >> training_set() >> quality_gate(versions) >> publish() >> report()


ato_nightly()
