"""ato_nightly: the batch layer for logical date D, one Airflow task per step.

ingest (spool -> bronze/quarantine -> enriched silver) >> validate (input gate) >>
aggregates (30-day snapshots as of D) >> training_set >> quality_gate >> publish >> report;
beside them, ingest >> decisions (the API's audit log of day D into gold/decisions).

Wiring only: every task runs `ato nightly --date D --steps <step>` as its own process, so
the scheduler never holds a JVM, and the logic is the `ato` package's. The quality gate gets
the gold table versions from before `aggregates` (its XCom) and restores them if it fails;
`publish` then never runs, so the previous snapshot stays live. Nothing heavy is imported here.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

from ato.dagkit import ATO as ATO_CLI
from ato.dagkit import PROJECT, default_args

ATO = f"{ATO_CLI} nightly --date {{{{ ds }}}}"


@dag(
    dag_id="ato_nightly",
    description="ATO batch layer: ingest, validate, 30-day aggregates, training set, gate, publish",
    schedule="@daily",
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=True,
    max_active_runs=1,
    default_args=default_args(2, timedelta(minutes=5)),
    tags=["ato", "batch"],
)
def ato_nightly() -> None:
    def step(name: str, task_id: str | None = None) -> Any:
        """A task running one `ato nightly` step in its own process."""

        @task.bash(task_id=task_id or name, cwd=PROJECT)
        def run() -> str:
            return f"{ATO} --steps {name}"

        return run()

    @task.bash(retries=0, cwd=PROJECT)  # a failed gate is a verdict, not a glitch: do not retry it
    def quality_gate(versions_before: str) -> str:
        return f"{ATO} --steps gate --versions-before {shlex.quote(versions_before)}"

    versions = step("aggregates")  # its last stdout line (XCom): gold versions before the night
    ingest = step("ingest")
    ingest >> step("decisions")  # the API's audit log -> gold/decisions; nothing downstream waits for it
    (ingest >> step("validate") >> versions >> step("training", "training_set")
     >> quality_gate(versions) >> step("publish") >> step("report"))


ato_nightly()
