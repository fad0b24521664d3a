"""The nightly on a real Spark standalone cluster (a master and two workers from the installed
pyspark, loopback only): the same night re-run against it writes gold tables whose contents are
identical to the local-mode backfill's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ato import deltars
from ato.settings import Settings
from ato.tables import PARTIAL_TABLES, SNAPSHOT_TABLES, TRAINING
from tests.conftest import TEST_KEY, make_settings, one_step_jvms
from tests.digest import table_digest

pytestmark = pytest.mark.spark
NIGHT = "2026-08-07"


def test_the_nightly_on_a_standalone_cluster_writes_what_local_mode_wrote(backfilled: tuple[Settings, Any],
                                                                         tmp_path: Path) -> None:
    from ato.spark.cluster import down, status, up

    src, _ = backfilled
    shutil.copytree(src.paths.lake_root, tmp_path / "lake")
    s = make_settings(tmp_path, geo_db=Path(src.enrich.geo_db))
    tables = [*PARTIAL_TABLES.values(), *SNAPSHOT_TABLES.values(), TRAINING]
    local = {t: table_digest(deltars.read(src, "gold", t)) for t in tables}
    c = up(tmp_path / "cluster", workers=2, cores=1, memory="1g")
    try:
        env = {**os.environ, "ATO_LAKE_ROOT": s.paths.lake_root, "ATO_SPARK_MASTER": c.master_url,
               "ATO_HMAC_KEY": TEST_KEY, "ATO_ENRICH__GEO_DB": src.enrich.geo_db, "ATO_BATCH__LABEL_MATURITY_DAYS": "1",
               "ATO_SPARK__SHUFFLE_PARTITIONS": "2", "ATO_SPARK__DRIVER_MEMORY": "1g",
               **one_step_jvms()}  # the quick JIT reaches the executors too, which the master starts
        run = subprocess.run([sys.executable, "-m", "ato.cli", "nightly", "--date", NIGHT, "--steps",
                              "aggregates,training", "--json"], env=env, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
        doc = json.loads(run.stdout.strip().splitlines()[-1])
        assert doc["snapshot_dates"] == [NIGHT] and doc["training_rows"] > 0
        st = status(c.webui)
        assert st is not None and len(st["workers"]) == 2
        apps = st.get("completedapps", []) + st.get("activeapps", [])
        assert any(a.get("name") == "ato-nightly" for a in apps), "the night ran as an application of this master"
    finally:
        down(tmp_path / "cluster")
    assert {t: table_digest(deltars.read(s, "gold", t)) for t in tables} == local
