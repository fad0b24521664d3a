"""A class-data-sharing archive of the classes a Spark job loads (JDK AppCDS), so a JVM that runs one
step and exits (a DAG task's spark-submit, a standalone cluster's master, workers and executors, an
`ato` command) maps Spark's classes instead of parsing and verifying thousands of them again.

`make setup` builds it once per virtualenv (`python -m ato.spark.class_archive`): a small Delta job
(writes, reads, a MERGE, joins, windows, aggregates; generated code and interpreted;
spark_jobs/class_archive.py) under spark-submit with `-XX:ArchiveClassesAtExit`, written to
`<virtualenv>/share/ato/spark-classes.jsa` (settings `spark.class_archive`). Measured on 2 cores:
spark-submit of a session start, a Delta read and an aggregate 14.4-16.7 s without it, 9.1-11.7 s
with it. The JVM checks the archive against its
own build and class path and, when they differ (another JDK, pyspark reinstalled), prints a warning
and an error on every start and runs without it; a missing archive is simply not used. So the build
writes down what it was built from (`<archive>.inputs.json`: the `java -version` of the JVM
spark-submit launches, and name, size and modification time of every jar on its class path), and
`make setup` runs `python -m ato.spark.class_archive --if-stale`, which rebuilds only when one of
them changed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ato.settings import Settings, load_settings
from ato.spark.archive_flag import DEFAULT, archive_path
from ato.spark.java import java_version


def workload(folder: Path) -> None:
    """What the archived JVM runs: the kinds of work the nightly does, on a few rows, with generated
    code and then interpreted (the test suite's mode)."""
    from delta.tables import DeltaTable
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from ato.spark.session import INTERPRETED, get_spark

    spark = get_spark(load_settings(environ={"ATO_SPARK_MASTER": "local[2]"}), "ato-class-archive",
                      shuffle_partitions=2)
    for n, mode in enumerate(({}, INTERPRETED)):
        for k, v in mode.items():
            spark.conf.set(k, v)
        path = str(folder / f"t{n}")
        df = spark.range(200).select(F.col("id"), (F.col("id") % 7).alias("k"), F.lit("x").alias("s"),
                                     F.to_date(F.lit("2026-08-01")).alias("d"))
        df.write.format("delta").partitionBy("d").save(path)
        t = spark.read.format("delta").load(path)
        w = Window.partitionBy("k").orderBy("id")
        agg = (t.withColumn("r", F.row_number().over(w)).groupBy("k")
               .agg(F.count("*"), F.sum("id"), F.collect_set("s"), F.approx_count_distinct("id"), F.max("r")))
        agg.join(t, "k", "left").where(F.col("id") > 3).count()
        t.toPandas()
        DeltaTable.forPath(spark, path).alias("a").merge(df.alias("b"), "a.id = b.id").whenMatchedUpdateAll() \
            .whenNotMatchedInsertAll().execute()
        df.write.format("delta").mode("overwrite").option("replaceWhere", "d = '2026-08-01'").save(path)
        spark.sql(f"DESCRIBE HISTORY delta.`{path}`").collect()
    spark.stop()


def class_path() -> list[Path]:
    """The jars an archived JVM loads classes from: pyspark's, Delta's and our local file system's."""
    import pyspark

    from ato.spark.localfs import JAR
    from ato.spark.session import delta_jars

    return [*sorted((Path(pyspark.__file__).parent / "jars").glob("*.jar")), *delta_jars(), JAR]


def inputs(java: str, jars: list[Path]) -> dict[str, object]:
    """What an archive is built from: the JVM's version and each jar's name, size and modification
    time (the JVM checks the same), a jar that is absent as None."""
    def stat(j: Path) -> list[int] | None:
        return [j.stat().st_size, j.stat().st_mtime_ns] if j.is_file() else None

    return {"java": java, "jars": {str(j): stat(j) for j in jars}}


def stamp(archive: Path) -> Path:
    return archive.with_name(archive.name + ".inputs.json")


def stale(archive: Path, now: dict[str, object]) -> str | None:
    """Why the archive must be (re)built for `now` (inputs), or None when it is current."""
    if not archive.is_file():
        return "no archive yet"
    try:
        then = json.loads(stamp(archive).read_text())
    except (OSError, ValueError):
        return "no record of what it was built from"
    if then.get("java") != now["java"]:
        return "the JVM changed: " + str(now["java"]).splitlines()[0]
    old, new = then.get("jars") or {}, now["jars"]
    assert isinstance(new, dict)
    changed = sorted(j for j in old.keys() | new.keys() if old.get(j) != new.get(j))
    if changed:
        names = ", ".join(Path(j).name for j in changed[:3]) + (", ..." if len(changed) > 3 else "")
        return f"{len(changed)} jar(s) on its class path changed: {names}"
    return None


def build(settings: Settings, out: Path | None = None) -> Path:
    """Run the workload under spark-submit with -XX:ArchiveClassesAtExit; the archive replaces `out`
    (default: the settings' one) only once written whole."""
    from ato.spark.submit import script_argv

    out = out or archive_path(settings) or DEFAULT
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    built_from = inputs(java_version(), class_path())
    # the command line our spark-submit jobs get, on local[2], recording instead of mapping an archive
    recording = load_settings(environ={**os.environ, "ATO_SPARK_MASTER": "local[2]", "ATO_SPARK__CLASS_ARCHIVE": "off",
                                       "ATO_SPARK__JAVA_OPTIONS": f"-XX:ArchiveClassesAtExit={tmp}"})
    with tempfile.TemporaryDirectory(prefix="ato-cds-") as folder:
        argv = script_argv(recording, "class_archive.py", [folder], "batch", "ato-class-archive")
        run = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if run.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"building the class archive failed (exit {run.returncode}): {run.stderr[-2000:]}")
    stamp(out).unlink(missing_ok=True)  # no record while the archive and its record disagree
    tmp.replace(out)
    stamp(out).write_text(json.dumps(built_from, indent=1))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ato.spark.class_archive", description=__doc__.split("\n")[0])
    p.add_argument("--if-stale", action="store_true",
                   help="build only when there is no archive or the JVM or a class-path jar changed since")
    args = p.parse_args(argv)
    settings = load_settings()
    path = archive_path(settings)
    if path is None:
        print("spark class archive: off (spark.class_archive)")
        return 0
    why: str | None = "asked to"
    try:
        if args.if_stale and (why := stale(path, inputs(java_version(), class_path()))) is None:
            print(f"spark class archive: {path} is current")
            return 0
        start = time.perf_counter()
        print(f"spark class archive: recording the classes a small Delta job loads ({why}) ...", flush=True)
        path = build(settings, path)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        if why != "asked to":  # an archive this JVM rejects would only add a warning to each start
            path.unlink(missing_ok=True)
            stamp(path).unlink(missing_ok=True)
        print(f"spark class archive: not built, JVMs start without one: {e}", file=sys.stderr)
        return 1
    print(f"spark class archive: {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
