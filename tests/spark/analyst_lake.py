"""A copy of the backfilled small world with a decision log (reasons, four actions, three
fallback levels, labels known later) and the monitor's tables: what the analysts' views,
queries, insights report and notebook are tested on."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from ato import deltars
from ato.settings import Settings
from ato.tables import DECISIONS
from tests.conftest import make_settings
from tests.spark.test_monitor import NIGHT, _decisions, _u

REASONS = ("Device never seen on this account", "Many failed logins on this account in the last hour",
           "IP address has a bad reputation (hosting, proxy, tor, botnet)", "Implausible travel since the last login")


def with_reasons(decisions: pa.Table) -> pa.Table:
    """The monitor test's decisions with one or two reasons on every challenged one."""
    rows = decisions.to_pylist()
    for r in rows:
        if r["action"] != "allow":
            k = int(_u(r["event_id"] + "why") * len(REASONS))
            r["reasons"] = [REASONS[k], REASONS[(k + 1) % len(REASONS)]][: 1 + k % 2]
            r["guardrails"] = ["attack_mode"] if k == 0 else []
    return pa.Table.from_pylist(rows, schema=decisions.schema)


def analyst_lake(spark: Any, src: Settings, root: Path, **env: str) -> Settings:
    """`src`'s lake copied under `root`, with gold/decisions and the monitor's tables for NIGHT."""
    from ato.spark.monitor import run_monitor

    shutil.copytree(src.paths.lake_root, root / "lake")
    extra = {"ATO_MONITOR__MIN_DECISIONS": "100000", "ATO_BATCH__LABEL_MATURITY_DAYS": "1",
             "ATO_MODEL_DIR": str(root / "models"), **env}
    s = make_settings(root, None, **extra)
    deltars.write(s, "gold", DECISIONS, with_reasons(_decisions(src)), mode="overwrite", partition_by=["decided_date"])
    run_monitor(spark, s, NIGHT)
    return s
