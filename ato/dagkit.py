"""What the DAG files share, importable at parse time (standard library only): the `ato`
command of this interpreter, the project folder tasks run in, and the retry policy."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ATO = f"{shlex.quote(sys.executable)} -m ato.cli"
# Tasks run from the project folder, so conf/ and relative paths in it resolve as for `ato`.
PROJECT = os.environ.get("ATO_HOME", str(Path(__file__).resolve().parents[1]))


def default_args(retries: int, retry_delay: timedelta) -> dict[str, Any]:
    """ATO_DAG_RETRIES overrides `retries`, so a test can fail fast instead of waiting a retry out."""
    return {"retries": int(os.environ.get("ATO_DAG_RETRIES", str(retries))), "retry_delay": retry_delay}
