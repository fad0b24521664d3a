"""Hadoop's local file system without a child process per file (jvm/ato/hadoop/*.java).

Without Hadoop's native library (pyspark ships none), Hadoop's RawLocalFileSystem runs `chmod` for
every file and directory it creates and `readlink` for every link-status lookup, which Delta's commits
make through FileContext's rename. A JVM forks a process for each, about 5 ms apiece: a Java Flight
Recording of four Spark test files (242 s) counted 3,592 of them, and 20 Delta appends took 10.6-11.0 s
with them against 8.6-8.9 s without. `NioRawLocalFileSystem` does both through java.nio (a sticky bit
or a symbolic link still goes to Hadoop's code).

`make setup` compiles the classes against pyspark's Hadoop jar into
`<virtualenv>/share/ato/ato-localfs.jar` (`python -m ato.spark.localfs`); every JVM we launch on a local
or loopback master then has it on its class path as `fs.file.impl` and `fs.AbstractFileSystem.file.impl`
(settings `spark.nio_local_fs`). Remote executors keep Hadoop's own, as a remote lake is not on `file:`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ato.settings import Settings

JAR = Path(sys.prefix) / "share" / "ato" / "ato-localfs.jar"
SOURCES = Path(__file__).resolve().parents[2] / "jvm" / "ato" / "hadoop"
FS_IMPL = {"fs.file.impl": "ato.hadoop.NioLocalFileSystem", "fs.AbstractFileSystem.file.impl": "ato.hadoop.NioLocalFs"}


def launch_conf(settings: Settings, loopback: bool, jar: Path | None = None) -> dict[str, str]:
    """The class path and the two Hadoop settings for a JVM we launch, when `jar` (JAR) is built, the
    setting is on and `loopback` (executors on this host); else nothing."""
    jar = jar or JAR
    if not (settings.spark.nio_local_fs and loopback and jar.is_file()):
        return {}
    return {"spark.driver.extraClassPath": str(jar), "spark.executor.extraClassPath": str(jar),
            **{f"spark.hadoop.{k}": v for k, v in FS_IMPL.items()}}


def build(out: Path = JAR) -> Path:
    """javac the sources against pyspark's Hadoop client jar (its version's API) into `out`."""
    import pyspark

    hadoop = sorted((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    if not hadoop:
        raise RuntimeError("pyspark ships no hadoop-client-api jar to compile against")
    with tempfile.TemporaryDirectory() as tmp:
        classes = Path(tmp) / "classes"
        sources = [str(p) for p in sorted(SOURCES.glob("*.java"))]
        subprocess.run(["javac", "--release", "17", "-cp", str(hadoop[-1]), "-d", str(classes), *sources], check=True)
        jar = Path(tmp) / out.name
        subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "ato"], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(jar, out)
    return out


def main() -> int:
    if not shutil.which("javac") or not shutil.which("jar"):
        print("no javac/jar on the PATH: Spark keeps Hadoop's local file system (a process per file)")
        return 1
    print(f"built {build()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
