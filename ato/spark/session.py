"""The one way to get a Spark session with Delta, from settings.

Started by `ato`, the session launches its own JVM: master from settings, Delta's jars from
the local Maven repository (no Ivy resolution at start-up), and conf/log4j2.properties so the
console shows our progress, not Spark's start-up chatter (ATO_VERBOSE=1 brings it back).
Started under `spark-submit` (spark_jobs/), the JVM, master and --conf are spark-submit's and
win; settings only fill in what it left unset.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ato.settings import CONF_DIR, Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# What `configure_spark_with_delta_pip` resolves for delta-spark 4.0.0 (Scala 2.13); `make setup`
# fetches them with `mvn dependency:get -Dartifact=io.delta:delta-spark_2.13:4.0.0`.
DELTA_JARS = (("io.delta", "delta-spark_2.13", "4.0.0"), ("io.delta", "delta-storage", "4.0.0"),
              ("org.antlr", "antlr4-runtime", "4.13.1"))
LOG4J2_CONF = CONF_DIR / "log4j2.properties"
# settings.spark.codegen false: no generated Java at all (NO_CODEGEN is how Spark's own tests run
# expressions interpreted); on the test suite's tiny tables this made the nightly tests ~25 % faster.
INTERPRETED = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
SPARK_STEPS = {"ingest", "monitor", "rings", "aggregates", "training", "gate"}  # nightly steps that start Spark
Job = Literal["ingest", "batch"]  # what a JVM is for: it picks spark.ingest_java_options or spark.java_options


class MissingJars(RuntimeError):
    """Delta's jars are not where Spark is told to find them."""


def verbose() -> bool:
    """`ato --verbose` or ATO_VERBOSE=1: Spark's own logging, start-up chatter included."""
    return os.environ.get("ATO_VERBOSE", "").strip().lower() in ("1", "true", "yes")


def delta_jars(repo: Path | None = None) -> list[Path]:
    """Paths of Delta's jars in the local Maven repository; MissingJars names any missing one."""
    repo = repo or Path(os.environ.get("ATO_MAVEN_REPO", Path.home() / ".m2" / "repository"))
    jars = [repo / g.replace(".", "/") / a / v / f"{a}-{v}.jar" for g, a, v in DELTA_JARS]
    missing = [str(j) for j in jars if not j.is_file()]
    if missing:
        raise MissingJars(f"Delta jars missing: {', '.join(missing)}. Run `make setup` (it runs "
                          "`mvn dependency:get -Dartifact=io.delta:delta-spark_2.13:4.0.0`), or set "
                          "ATO_MAVEN_REPO to the Maven repository that holds them.")
    return jars


def driver_java_options() -> str:
    """JVM options of the driver: our log4j2 configuration unless verbose."""
    return "" if verbose() else f"-Dlog4j2.configurationFile=file:{LOG4J2_CONF}"


def jvm_job(steps: Iterable[str]) -> Job:
    """What the JVM of a process running these nightly steps is for: "ingest" when ingest is its
    only Spark step (it takes spark.ingest_java_options), else "batch" (spark.java_options)."""
    return "ingest" if SPARK_STEPS & set(steps) == {"ingest"} else "batch"


def launch_conf(settings: Settings, job: Job = "batch") -> dict[str, str]:
    """What only the JVM's launch can set: jars, driver memory, logging and JVM options (spark-submit
    arguments), for a JVM doing `job` (jvm_job)."""
    from ato.spark import localfs
    from ato.spark.archive_flag import java_flag, loopback

    local = loopback(settings.spark.master)  # executors on this host, where the venv's files exist
    conf = {"spark.jars": ",".join(str(j) for j in delta_jars()), "spark.driver.memory": settings.spark.driver_memory,
            **localfs.launch_conf(settings, local)}
    java = (settings.spark.ingest_java_options if job == "ingest" else settings.spark.java_options).strip()
    cds = java_flag(settings)  # Spark's classes mapped from the archive make setup built, if there is one
    if driver := " ".join(x for x in (driver_java_options(), java, cds) if x):
        conf["spark.driver.extraJavaOptions"] = driver
    if executor := " ".join(x for x in (java, cds if local else "") if x):
        conf["spark.executor.extraJavaOptions"] = executor
    return conf


ARROW = "spark.sql.execution.arrow.pyspark.enabled"
ARROW_ON = "true"


def session_conf(settings: Settings, shuffle_partitions: int | None = None) -> dict[str, str]:
    """Delta, UTC and our tuning: set when the session is created (spark-submit --conf overrides them)."""
    parts = shuffle_partitions or settings.spark.shuffle_partitions
    return {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(parts),
        "spark.databricks.delta.snapshotPartitions": str(max(1, parts)),
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # toPandas/createDataFrame through Arrow batches, not pickled rows: a demo ring night's six
        # conversions (1.2 M candidate pairs) 72.0 s -> 44.4 s, the same rings and edges
        ARROW: ARROW_ON,
        "spark.sql.adaptive.enabled": str(settings.spark.adaptive).lower(),
        # Partials and snapshots aggregate sets (collect_set/collect_list); past 128 keys per
        # task Spark falls back to a sort-based aggregate (slower for a night's few thousand keys
        # per task; kept for backfills, whose hundreds of thousands would strain the heap).
        "spark.sql.objectHashAggregate.sortBased.fallbackThreshold": "16384",
    } | ({} if settings.spark.codegen else INTERPRETED)


@contextmanager
def without_arrow(spark: SparkSession) -> Iterator[None]:
    """pandas -> Spark by pickled rows inside the block: NaN stays NaN, where Arrow stores null
    (the monitor's rates are documented "NaN without any"; its frames are a few rows)."""
    before = spark.conf.get(ARROW, ARROW_ON) or ARROW_ON
    spark.conf.set(ARROW, "false")
    try:
        yield
    finally:
        spark.conf.set(ARROW, before)


def under_spark_submit() -> bool:
    """spark-submit started this driver: pyspark then joins its JVM (the variable pyspark reads)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _submitted_conf() -> dict[str, str]:
    """The conf spark-submit gave the running JVM (--master, --conf, --jars ...)."""
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # joins spark-submit's JVM; SparkConf() then reads its properties
    given = dict(SparkConf().getAll())
    if not any("delta-spark" in given.get(k, "") for k in ("spark.jars", "spark.jars.packages")):
        raise MissingJars("spark-submit was given no Delta jars: submit through `python -m ato.spark.submit` "
                          "or pass --jars " + ",".join(str(j) for j in delta_jars()))
    return given


def get_spark(settings: Settings, app: str = "ato", master: str | None = None,
              shuffle_partitions: int | None = None, job: Job = "batch") -> SparkSession:
    """Create (or return the running) Spark session configured for Delta and UTC; `job` (jvm_job)
    picks the JVM options of a JVM this call launches."""
    from pyspark.sql import SparkSession

    # Python workers must be this interpreter (the venv where `ato` is installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    conf = session_conf(settings, shuffle_partitions)
    if under_spark_submit():
        given = _submitted_conf()
        conf = {k: v for k, v in conf.items() if k not in given}
    else:
        builder = builder.appName(app).master(master or settings.spark.master)
        conf.update(launch_conf(settings, job))
    for k, v in conf.items():
        builder = builder.config(k, v)
    try:
        spark = builder.getOrCreate()
    except RuntimeError as e:  # pyspark's JAVA_GATEWAY_EXITED: say why, when it is the JVM
        from ato.spark.java import UnsupportedJava, problem

        if (why := problem()) is not None:
            raise UnsupportedJava(why) from e
        raise
    level = settings.spark.log_level
    spark.sparkContext.setLogLevel(level if not verbose() or level == "INFO" else "WARN")
    return spark
