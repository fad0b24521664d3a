"""ato_retrain: weekly, when the nightly's monitoring asks for it (the asset
`ato_retrain_request`, with its night and reasons), and on demand: retraining for night D.

why (D and the reasons of the asset events that triggered the run; else D is the logical date, or
the day the run was due for a manual one, and the reason "weekly schedule or by hand"; an
asset-triggered run has no logical date in Airflow 3) >>
train (ato train --date D: matured logins up to D minus the label maturity, rolling-origin
choices, calibrated tiers, fallback model, baselines, registry entry and HTML report) >>
promote (only if the new version beats the champion on the same test window, and with
model.promote_require_live only once it was not worse in shadow on live traffic; a refusal is
logged as a verdict, the champion stays and the new version is the shadow challenger that serving
scores beside it when serving.shadow is on). Trigger it by hand with
`airflow dags trigger ato_retrain`. Wiring only; nothing heavy is imported here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    dag,
    get_current_context,
    task,
)

from ato.dagkit import (
    PROJECT,
    RETRAIN_CRON,
    RETRAIN_REQUEST,
    ato,
    default_args,
    json_field,
    retrain_why,
)


@dag(
    dag_id="ato_retrain",
    description="ATO model: train, evaluate against baselines, register, promote if better",
    # Sundays 00:00 UTC (ATO_RETRAIN_CRON), or as soon as the nightly's monitoring updates the asset (its cool-down,
    # conf monitor.retrain_cooldown_days, keeps that from storming).
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(RETRAIN_CRON, timezone="UTC"),
                                 assets=[Asset(RETRAIN_REQUEST)]),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(1, timedelta(minutes=10)),
    tags=["ato", "model"],
)
def ato_retrain() -> None:
    @task
    def why() -> str:
        """The night to train for and why: the monitoring trigger's, or the schedule's / a person's."""
        return json.dumps(retrain_why(get_current_context()))

    @task.bash(cwd=PROJECT)
    def train(why: str) -> str:
        # XCom: its --json document (one stdout line); the reason is kept with the version.
        # --shadow: a version the promote task refuses becomes the shadow challenger (ato shadow)
        return ato("train", "--date", json_field(why, "night"), "--json", "--shadow", "--reason",
                   json_field(why, "reason"))

    @task.bash(cwd=PROJECT, retries=0)  # a refusal is a verdict, not a glitch
    def promote(trained: str) -> str:
        # Exit 3 = refused: the task succeeds and says so; any other failure fails the task.
        return f"{ato('promote', json_field(trained, 'version'))} || test $? -eq 3"

    promote(train(why()))  # type: ignore[arg-type]  # an XComArg resolves to the str at run time


ato_retrain()
