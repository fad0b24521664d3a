"""The JVM spark-submit launches ($JAVA_HOME/bin/java, else `java` on PATH) and whether Spark 4.0
runs on it: Java 17 or 21. On another one every Spark start fails deep in a stack trace (on 25:
`UnsupportedOperationException: getSubject is not supported`), so `make setup` checks it first
(`python -m ato.spark.java`) and says which JVM it found and what to do; `get_spark` says the same
when the JVM does not start outside `make`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

SUPPORTED = (17, 21)  # the Java versions Spark 4.0 supports


class UnsupportedJava(RuntimeError):
    """Spark's JVM did not start, and the JVM it runs is not one Spark 4.0 supports (`problem`)."""


def java_binary() -> str:
    """What spark-submit runs: $JAVA_HOME/bin/java, else `java` on PATH (as bin/spark-class does)."""
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else shutil.which("java") or "java"


def java_version() -> str:
    """`java -version` of that JVM, without the JVM's echo of JAVA_TOOL_OPTIONS."""
    out = subprocess.run([java_binary(), "-version"], capture_output=True, text=True, timeout=60, check=True)
    lines = (out.stderr or out.stdout).strip().splitlines()
    return "\n".join(ln for ln in lines if not ln.startswith("Picked up "))


def major(version: str) -> int | None:
    """The feature release in `java -version` text: 17 for "17.0.15", 8 for "1.8.0_392"."""
    m = re.search(r'version "(?:1\.)?(\d+)', version)
    return int(m.group(1)) if m else None


def check() -> tuple[int | None, str | None]:
    """The JVM's feature release, and why Spark cannot run on it (None when it can)."""
    try:
        version = java_version()
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"cannot run {java_binary()} -version ({e}): install Java 17 (apt-get install openjdk-17-jdk-headless)"
    found = major(version)
    if found not in SUPPORTED:
        first = version.splitlines()[0] if version else "no version"
        return found, (f"Spark 4.0 runs on Java {' or '.join(map(str, SUPPORTED))}; {java_binary()} is {first}. "
                       "Point JAVA_HOME at a Java 17 or 21 (ls /usr/lib/jvm) and run make again.")
    return found, None


def problem() -> str | None:
    """Why Spark cannot run on this machine's JVM, or None when it can."""
    return check()[1]


def main() -> int:
    found, why = check()
    if why:
        print(f"ERROR: {why}", file=sys.stderr)
        return 1
    print(f"java: {java_binary()} is Java {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
