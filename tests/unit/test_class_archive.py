"""The class-data-sharing archive of Spark's classes (ato.spark.class_archive) on the command line
of every JVM we launch, where it exists; executors only where its path exists too."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ato.settings import load_settings
from tests.conftest import fake_jdk

pytestmark = pytest.mark.unit  # but one test needs `java`, marked spark


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


def test_the_archive_is_rebuilt_only_when_the_jvm_or_a_class_path_jar_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make setup` runs `python -m ato.spark.class_archive --if-stale`: an archive of another JDK
    build or of other jars would be rejected by every JVM with a warning, so it is rebuilt then, and
    only then. Another JDK is a stand-in here: a `java` under JAVA_HOME that prints another version."""
    import json

    from ato.spark.class_archive import inputs, stale, stamp
    from ato.spark.java import java_version

    java_home = fake_jdk(tmp_path / "jdk", "Picked up JAVA_TOOL_OPTIONS: -Xss4m", 'openjdk version "99.0.1"',
                         "build 99.0.1+7")
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    assert java_version() == 'openjdk version "99.0.1"\nbuild 99.0.1+7'  # the JVM spark-submit would run

    jars = [tmp_path / "spark-core.jar", tmp_path / "delta.jar", tmp_path / "not-built.jar"]
    jars[0].write_bytes(b"a" * 10)
    jars[1].write_bytes(b"b" * 20)
    archive = tmp_path / "spark.jsa"
    built = inputs("openjdk 17.0.15+6", jars)
    assert stale(archive, built) == "no archive yet"
    archive.write_bytes(b"CDS")
    assert stale(archive, built) == "no record of what it was built from"
    stamp(archive).write_text(json.dumps(built))
    assert stale(archive, inputs("openjdk 17.0.15+6", jars)) is None
    assert stale(archive, inputs("openjdk 17.0.16+8", jars)) == "the JVM changed: openjdk 17.0.16+8"
    jars[1].write_bytes(b"c" * 21)  # pyspark or Delta reinstalled
    assert stale(archive, inputs("openjdk 17.0.15+6", jars)) == "1 jar(s) on its class path changed: delta.jar"
    jars[2].write_bytes(b"x")  # the local file system's jar built since (javac installed)
    assert stale(archive, inputs("openjdk 17.0.15+6", jars)) == \
        "2 jar(s) on its class path changed: delta.jar, not-built.jar"
    jars[1].write_bytes(b"b" * 20)  # the old size again, but another time: still changed ...
    os.utime(jars[1], ns=(built["jars"][str(jars[1])][1] + 10**9,) * 2)  # type: ignore[index]
    assert stale(archive, inputs("openjdk 17.0.15+6", jars[:2])) == "1 jar(s) on its class path changed: delta.jar"
    stamp(archive).write_text(json.dumps(inputs("openjdk 17.0.15+6", jars[:2])))
    assert stale(archive, inputs("openjdk 17.0.15+6", jars[:2])) is None  # ... until rebuilt


@pytest.mark.spark
def test_make_setup_left_an_archive_of_this_jvm_and_class_path() -> None:
    """What `make setup` built (it runs before the suite) is current for the JVM and jars the suite
    uses, so no JVM here rejects it. The archive is only a speed-up: none built is no failure."""
    from ato.spark.archive_flag import DEFAULT
    from ato.spark.class_archive import class_path, inputs, stale
    from ato.spark.java import java_version

    if not DEFAULT.is_file():
        pytest.skip("no class archive in this virtualenv (make setup warned why)")
    assert stale(DEFAULT, inputs(java_version(), class_path())) is None


def test_an_archive_that_cannot_be_rebuilt_for_a_new_jvm_is_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The JVM changed and the rebuild fails (Spark 4.0 does not start on JDK 25, for one): the old
    archive, which that JVM rejects on every start, is removed; the JVMs then start without one."""
    import json

    from ato.spark.class_archive import main, stamp

    java_home = fake_jdk(tmp_path / "jdk", 'openjdk version "99.0.1"')  # tells its version, runs nothing
    archive = tmp_path / "spark.jsa"
    archive.write_bytes(b"CDS")
    stamp(archive).write_text(json.dumps({"java": "openjdk 17.0.15+6", "jars": {}}))
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    monkeypatch.setenv("ATO_SPARK__CLASS_ARCHIVE", str(archive))
    assert main(["--if-stale"]) == 1
    out = capsys.readouterr()
    assert 'the JVM changed: openjdk version "99.0.1"' in out.out and "not built" in out.err
    assert not archive.exists() and not stamp(archive).exists()
