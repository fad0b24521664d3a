"""`make setup` checks first that the JVM spark-submit will launch is one Spark 4.0 runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from ato.spark.java import major, problem
from tests.conftest import fake_jdk

pytestmark = pytest.mark.unit


def jdk(root: Path, version: str) -> Path:
    return fake_jdk(root, f'openjdk version "{version}" 2026-04-21 LTS')


def test_the_java_release_is_read_from_java_version() -> None:
    assert major('openjdk version "17.0.15" 2025-04-15') == 17
    assert major('openjdk version "21" 2023-09-19') == 21
    assert major('java version "1.8.0_392"') == 8
    assert major("no version here") is None


def test_only_java_17_and_21_pass_and_the_error_says_which_jvm_and_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(jdk(tmp_path / "jdk21", "21.0.4")))
    assert problem() is None
    monkeypatch.setenv("JAVA_HOME", str(jdk(tmp_path / "jdk25", "25.0.3")))
    why = problem() or ""
    assert "runs on Java 17 or 21" in why and str(tmp_path / "jdk25" / "bin" / "java") in why and '"25.0.3"' in why
    assert "JAVA_HOME" in why
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "none"))
    assert "cannot run" in (problem() or "") and "install Java 17" in (problem() or "")


def test_an_ato_command_on_an_unsupported_jvm_says_so_instead_of_a_gateway_error(tmp_path: Path) -> None:
    """Outside `make`, `ato ingest` on Java 25 (a stand-in that only tells its version): refused with the JVM named, not pyspark's JAVA_GATEWAY_EXITED."""
    import os
    import subprocess
    import sys

    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "logins-2026-08-01.jsonl").write_text("{}\n")
    env = {**os.environ, "JAVA_HOME": str(jdk(tmp_path / "jdk25", "25.0.3")), "ATO_LAKE_ROOT": str(tmp_path / "lake"),
           "ATO_HMAC_KEY": "k" * 32, "ATO_SPARK__CLASS_ARCHIVE": "off"}
    out = subprocess.run([sys.executable, "-m", "ato.cli", "ingest", str(tmp_path / "spool")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "Spark 4.0 runs on Java 17 or 21" in out.stdout + out.stderr and '"25.0.3"' in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.spark
def test_this_machines_jvm_runs_spark() -> None:
    assert problem() is None
