"""ato_retrain: weekly (and on demand) retraining for logical date D.

train (ato train --date D: matured logins up to D minus the label maturity, rolling-origin
choices, calibrated tiers, fallback model, baselines, registry entry and HTML report) >>
promote (only if the new version beats the champion on the same test window; a refusal is
logged as a verdict and the champion stays). Trigger it by hand with
`airflow dags trigger ato_retrain`. Wiring only; nothing heavy is imported here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

from ato.dagkit import PROJECT, ato, default_args, json_field


@dag(
    dag_id="ato_retrain",
    description="ATO model: train, evaluate against baselines, register, promote if better",
    schedule="@weekly",
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(1, timedelta(minutes=10)),
    tags=["ato", "model"],
)
def ato_retrain() -> None:
    @task.bash(cwd=PROJECT)
    def train() -> str:
        return ato("train", "--date", "{{ ds }}", "--json")  # XCom: its --json document (one stdout line)

    @task.bash(cwd=PROJECT, retries=0)  # a refusal is a verdict, not a glitch
    def promote(trained: str) -> str:
        # Exit 3 = refused: the task succeeds and says so; any other failure fails the task.
        return f"{ato('promote', json_field(trained, 'version'))} || test $? -eq 3"

    promote(train())  # type: ignore[arg-type]  # an XComArg resolves to the str at run time


ato_retrain()
