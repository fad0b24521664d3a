"""What the DAG files share, importable at parse time (standard library only): the command a
task runs, the project folder tasks run in, and the retry policy."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

# Tasks run from the project folder, so conf/ and relative paths in it resolve as for `ato`.
PROJECT = os.environ.get("ATO_HOME", str(Path(__file__).resolve().parents[1]))


def ato(*args: str) -> str:
    """The shell command of a task running `ato ARGS`: `python -m ato.cli ARGS` with this
    interpreter, or spark-submit of a spark_jobs/ entry point for a command that starts Spark
    when settings say `spark.submit` (ATO_SPARK_SUBMIT=1). Call it in a task's body, so settings
    are read where the task runs, not where the DAG is parsed."""
    from ato.spark.submit import task_command

    return task_command(args)


def json_field(doc: str, key: str) -> Any:
    """`key` of the one JSON document an `ato ... --json` task printed (its XCom)."""
    return json.loads(doc)[key]


def default_args(retries: int, retry_delay: timedelta) -> dict[str, Any]:
    """ATO_DAG_RETRIES overrides `retries`, so a test can fail fast instead of waiting a retry out."""
    return {"retries": int(os.environ.get("ATO_DAG_RETRIES", str(retries))), "retry_delay": retry_delay}


# The asset the nightly's monitoring updates when it decides a retrain is due; ato_retrain is
# scheduled on it (and weekly). Its events carry {"night", "reasons"} in `extra`.
RETRAIN_REQUEST = "ato_retrain_request"
# ato_retrain's weekly schedule (cron, UTC): Sundays 00:00 unless ATO_RETRAIN_CRON says otherwise.
RETRAIN_CRON = os.environ.get("ATO_RETRAIN_CRON", "0 0 * * 0")
# ato_nightly's schedule: daily with catch-up unless ATO_NIGHTLY_SCHEDULE names another (a cron or
# preset), or "none": runs only when triggered (REST API, UI, `airflow dags trigger`), as the
# scheduler test and `ato airflow up` on the demo data want (no catch-up from 2026-08-01).
_NIGHTLY = os.environ.get("ATO_NIGHTLY_SCHEDULE", "@daily")
NIGHTLY_SCHEDULE = None if _NIGHTLY.strip().lower() == "none" else _NIGHTLY


def _extras(events: Any) -> list[dict[str, Any]]:
    return [getattr(e, "extra", None) or {} for evs in (events or {}).values() for e in evs]


def trigger_reasons(events: Any) -> list[str]:
    """The reasons in the asset events that triggered a run (`triggering_asset_events`)."""
    return [r for x in _extras(events) for r in (x.get("reasons") or [])]


def trigger_night(events: Any) -> str | None:
    """The latest night named by the asset events that triggered a run (None: not asset-triggered)."""
    return max((x["night"] for x in _extras(events) if x.get("night")), default=None)


def retrain_why(context: Any) -> dict[str, str]:
    """What an ato_retrain run trains for and why: the night and reasons of the monitoring's asset
    events, else (weekly schedule, by hand) its logical date, or the day it was due to run (an
    asset-triggered or manual run has no logical date in Airflow 3, so `{{ ds }}` cannot be used)."""
    events = context.get("triggering_asset_events")
    reasons = trigger_reasons(events)
    night = trigger_night(events) or context.get("ds") or context["dag_run"].run_after.date().isoformat()
    return {"night": night, "reason": "; ".join(reasons) if reasons else "weekly schedule or by hand"}
