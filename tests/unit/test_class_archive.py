"""The class-data-sharing archive of Spark's classes (ato.spark.class_archive) on the command line
of every JVM we launch, where it exists; executors only where its path exists too."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ato.settings import load_settings

pytestmark = pytest.mark.unit


def test_every_jvm_we_launch_maps_the_class_archive_where_it_exists(tmp_path: Path) -> None:
    from ato.spark.archive_flag import DEFAULT, archive_path
    from ato.spark.session import launch_conf

    jsa = tmp_path / "spark.jsa"
    jsa.write_bytes(b"CDS")

    def conf(master: str, archive: str = str(jsa)) -> dict[str, str]:
        return launch_conf(load_settings(environ={"ATO_SPARK__CLASS_ARCHIVE": archive, "ATO_SPARK_MASTER": master}))

    flag = f"-XX:SharedArchiveFile={jsa}"
    assert conf("local[2]")["spark.driver.extraJavaOptions"].endswith(" " + flag)
    assert conf("spark://127.0.0.1:7077")["spark.executor.extraJavaOptions"] == flag  # loopback workers
    remote = conf("spark://head:7077")
    assert flag in remote["spark.driver.extraJavaOptions"] and "spark.executor.extraJavaOptions" not in remote
    assert flag not in conf("local[2]", str(tmp_path / "missing.jsa"))["spark.driver.extraJavaOptions"]
    assert "SharedArchiveFile" not in conf("local[2]", "off")["spark.driver.extraJavaOptions"]
    assert archive_path(load_settings(environ={})) == DEFAULT and str(DEFAULT).startswith(sys.prefix)
