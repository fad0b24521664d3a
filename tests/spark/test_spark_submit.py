"""spark_jobs/ for real: spark_jobs/ingest.py through the venv's spark-submit, with the command
line `ato.spark.submit` builds, on the README's example spool. The tables are right, the master
spark-submit was given wins over the driver's settings, and no Spark start-up chatter is printed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ato.settings import load_settings
from ato.spark.submit import submit_argv
from tests.conftest import TEST_KEY

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "spool"
CHATTER = ("ivy", ":: resolving", "log4j profile", "nativecodeloader", "setting default log level", " warn ")


@pytest.mark.spark
@pytest.mark.timeout(600)
def test_ingest_entry_point_runs_under_spark_submit(tmp_path: Path) -> None:
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    argv = submit_argv(load_settings(environ={"ATO_SPARK_MASTER": "local[1]", "ATO_SPARK__DRIVER_MEMORY": "1g"}),
                       "ingest", [str(EXAMPLES), "--json"])
    # The driver loads settings too; were its master used instead of spark-submit's, Spark would refuse it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATO_", "PYSPARK_"))} | {
        "ATO_LAKE_ROOT": str(lake), "ATO_HMAC_KEY": TEST_KEY, "ATO_SPARK_MASTER": "bogus://settings-must-not-win",
        "ATO_SPARK__SHUFFLE_PARTITIONS": "2", "ATO_ENRICH__GEO_DB": str(tmp_path / "no-geo-db.csv")}
    out = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=500)
    console = out.stdout + out.stderr
    assert out.returncode == 0, console[-4000:]
    # Spark's PythonRunner merges the driver's stderr (our progress) into stdout: the document is the last line.
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert doc["ok"] and doc["bronze_rows"] == {"logins": 3, "payments": 1} and doc["quarantined_rows"] == 0
    assert DeltaTable(str(lake / "bronze" / "logins")).to_pyarrow_table().num_rows == 3
    silver = DeltaTable(str(lake / "silver" / "logins")).to_pyarrow_table()
    assert sorted(silver.column("event_id").to_pylist()) == ["ext-0001", "ext-0002", "ext-0003"]
    assert DeltaTable(str(lake / "silver" / "payments")).to_pyarrow_table().num_rows == 1
    noisy = [line for line in console.splitlines() if any(c in f" {line.lower()} " for c in CHATTER)]
    assert not noisy, noisy
