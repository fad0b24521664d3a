"""Hadoop's local file system through java.nio (ato.spark.localfs) on the command line of the JVMs we
launch: only where its jar is built, the setting is on and the executors run on this host."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ato.settings import load_settings
from ato.spark import localfs

pytestmark = pytest.mark.unit


def test_the_jvms_we_launch_take_the_nio_file_system_only_where_it_can_load(tmp_path: Path) -> None:
    jar = tmp_path / "ato-localfs.jar"
    jar.write_bytes(b"PK")
    on = load_settings(environ={})
    conf = localfs.launch_conf(on, loopback=True, jar=jar)
    assert conf == {"spark.driver.extraClassPath": str(jar), "spark.executor.extraClassPath": str(jar),
                    "spark.hadoop.fs.file.impl": "ato.hadoop.NioLocalFileSystem",
                    "spark.hadoop.fs.AbstractFileSystem.file.impl": "ato.hadoop.NioLocalFs"}
    assert localfs.launch_conf(on, loopback=False, jar=jar) == {}, "remote executors have no such path"
    assert localfs.launch_conf(on, loopback=True, jar=tmp_path / "missing.jar") == {}, "not built: Hadoop's own"
    off = load_settings(environ={"ATO_SPARK__NIO_LOCAL_FS": "false"})
    assert localfs.launch_conf(off, loopback=True, jar=jar) == {}
    assert str(localfs.JAR).startswith(sys.prefix) and sorted(p.name for p in localfs.SOURCES.glob("*.java")) == [
        "NioLocalFileSystem.java", "NioLocalFs.java", "NioRawLocalFileSystem.java"]


def test_spark_submit_and_the_session_launch_carry_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ato.spark.session import launch_conf
    from ato.spark.submit import script_argv

    monkeypatch.setattr(localfs, "JAR", tmp_path / "ato-localfs.jar")
    localfs.JAR.write_bytes(b"PK")
    s = load_settings(environ={"ATO_SPARK_MASTER": "local[2]"})
    assert launch_conf(s)["spark.hadoop.fs.file.impl"] == "ato.hadoop.NioLocalFileSystem"
    argv = script_argv(s, "nightly.py", ["--date", "2026-08-08"], "batch", "ato-nightly")
    assert f"spark.driver.extraClassPath={localfs.JAR}" in argv
    assert "spark.hadoop.fs.AbstractFileSystem.file.impl=ato.hadoop.NioLocalFs" in argv
    assert "spark.hadoop.fs.file.impl" not in launch_conf(load_settings(environ={"ATO_SPARK_MASTER": "spark://head:7077"}))
