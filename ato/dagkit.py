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


def trigger_reasons(events: Any) -> list[str]:
    """The reasons in the asset events that triggered a run (`triggering_asset_events`)."""
    return [r for evs in (events or {}).values() for e in evs for r in ((getattr(e, "extra", None) or {}).get("reasons") or [])]
