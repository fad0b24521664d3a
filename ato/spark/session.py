"""The one way to get a Spark session with Delta, from settings."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ato.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def get_spark(settings: Settings, app: str = "ato", master: str | None = None,
              shuffle_partitions: int | None = None) -> SparkSession:
    """Create (or return the running) Spark session configured for Delta and UTC."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    # Python workers must be this interpreter (the venv where `ato` is installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    parts = shuffle_partitions or settings.spark.shuffle_partitions
    builder = (
        SparkSession.builder.appName(app)
        .master(master or settings.spark.master)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(parts))
        .config("spark.databricks.delta.snapshotPartitions", str(max(1, parts)))
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
        .config("spark.driver.memory", settings.spark.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
        # Partials and snapshots aggregate sets (collect_set/collect_list); past 128 keys per
        # task Spark falls back to a sort-based aggregate (slower for a night's few thousand keys
        # per task; kept for backfills, whose hundreds of thousands would strain the heap).
        .config("spark.sql.objectHashAggregate.sortBased.fallbackThreshold", "16384")
    )
    spark = configure_spark_with_delta_pip(builder).getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark.log_level)
    return spark
