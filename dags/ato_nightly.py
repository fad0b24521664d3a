"""ato_nightly: the batch layer for logical date D, one Airflow task per step.

ingest (spool -> bronze/quarantine -> enriched silver) >> validate (input gate) >> rings (fraud
rings of D: gold/ring_edges, gold/fraud_rings) >> aggregates (30-day snapshots as of D, with each
account's ring) >> training_set >> quality_gate >> actions (sensitive-action
rows, no JVM) >> publish >> report >> retention (stores past their retention removed, no JVM);
beside them, ingest >> decisions (the API's audit log of day D into gold/decisions) >> monitor
(decisions joined with the labels known tonight: outcomes, daily performance and business
metrics, drift) >> report, and monitor >> promote_challenger (`ato promote --challenger
--require-live`: the shadow challenger takes over once its live record is not worse; a refusal is
a verdict) >> retrain_check (`ato monitor check`) >> request_retrain, which updates the asset
`ato_retrain_request` (scheduling ato_retrain) only when a retrain is due, and only after
quality_gate: the retrain trains on the night's gated training set.

Wiring only: every task runs `ato nightly --date D --steps <step>` as its own process, so
the scheduler never holds a JVM, and the logic is the `ato` package's (with spark.submit set,
the Spark steps go through spark-submit and spark_jobs/nightly.py instead). The aggregates
task prints its `--json` document, whose `versions_before` (the gold table versions before the
night) the quality gate restores if it fails; `publish` then never runs, so the previous
snapshot stays live. Nothing heavy is imported here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from ato.dagkit import NIGHTLY_SCHEDULE, PROJECT, RETRAIN_REQUEST, ato, default_args, json_field

# The two branches (decisions/monitor beside validate..retention) write disjoint tables under
# their own writer locks (ato.lake_lock), so they run side by side; within a branch a task waits for
# the lock up to an hour; every task tags its gold commits with the run id, so a failed gate
# restores exactly them.
NIGHT = ("nightly", "--date", "{{ ds }}", "--lock-wait", "3600", "--commit-tag", "{{ run_id }}")


@dag(
    dag_id="ato_nightly",
    description="ATO batch layer: ingest, validate, 30-day aggregates, training set, gate, publish",
    schedule=NIGHTLY_SCHEDULE,  # "@daily" unless ATO_NIGHTLY_SCHEDULE says otherwise
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=True,
    max_active_runs=1,
    default_args=default_args(2, timedelta(minutes=5)),
    tags=["ato", "batch"],
)
def ato_nightly() -> None:
    def step(name: str, *extra: str, task_id: str | None = None) -> Any:
        """A task running one `ato nightly` step in its own process."""

        @task.bash(task_id=task_id or name, cwd=PROJECT)
        def run() -> str:
            return ato(*NIGHT, "--steps", name, *extra)

        return run()

    @task.bash(retries=0, cwd=PROJECT)  # a failed gate is a verdict, not a glitch: do not retry it
    def quality_gate(aggregates: str) -> str:
        before = json.dumps(json_field(aggregates, "versions_before"))
        return ato(*NIGHT, "--steps", "gate", "--versions-before", before)

    versions = step("aggregates", "--json")  # XCom: its --json document (one stdout line)
    ingest = step("ingest")
    @task.bash(cwd=PROJECT)
    def retrain_check() -> str:
        return ato("monitor", "check", "--date", "{{ ds }}", "--json")  # XCom: the verdict

    @task.bash(cwd=PROJECT, retries=0)  # a refusal is a verdict (exit 3), not a glitch
    def promote_challenger() -> str:
        # the shadow challenger takes over once monitoring shows it not worse on live traffic
        return f"{ato('promote', '--challenger', '--require-live', '--json')} || test $? -eq 3"

    @task(outlets=[Asset(RETRAIN_REQUEST)])
    def request_retrain(check: str) -> None:
        """An asset event (ato_retrain is scheduled on it) when monitoring says a retrain is due."""
        verdict = json.loads(check)
        if not verdict["retrain"]:
            raise AirflowSkipException(verdict.get("held_back") or "no retrain due")
        get_current_context()["outlet_events"][Asset(RETRAIN_REQUEST)].extra = {
            "night": verdict["night"], "reasons": verdict["reasons"]}

    report = step("report")
    # The API's audit log -> gold/decisions -> monitoring (and maybe a retrain request); publishing
    # never waits for them.
    monitor = ingest >> step("decisions") >> step("monitor")
    # the challenger is judged first: a champion it replaces tonight is not judged on its predecessor's drift
    check = retrain_check()
    promoted = promote_challenger()
    monitor >> [report, promoted]
    promoted >> check
    requested = request_retrain(check)  # type: ignore[arg-type]  # an XComArg resolves to the str at run time
    # rings before the aggregates: the account snapshot carries each account's ring (ring features)
    gate = quality_gate(versions)
    (ingest >> step("validate") >> step("rings") >> versions >> step("training", task_id="training_set")
     >> gate >> step("actions") >> step("publish") >> report >> step("retention"))
    # a retrain trains for the night, on its training set: only once that passed the gate (under
    # the scheduler the monitoring branch finishes first, and the retrain trained a night early)
    gate >> requested


ato_nightly()
