"""Read spool files of any format into one shape: (stream, source_file, raw, fields).

`fields` is a map<string,string> of the record as received, null when the
record could not be parsed at all; `raw` is the record's text (for quarantine).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ato.ingest.discover import SpoolFile, csv_header, parquet_columns

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

RFC3339_OUT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"


def _jsonl(spark: SparkSession, paths: list[str]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    df = spark.read.text(paths).select(F.col("value").alias("raw"), F.col("_metadata.file_path").alias("source_file"))
    df = df.where(F.trim("raw") != "")
    parsed = F.from_json("raw", T.MapType(T.StringType(), T.StringType()), {"mode": "PERMISSIVE"})  # type: ignore[arg-type]
    return df.select("source_file", "raw", parsed.alias("fields"))


def _csv(spark: SparkSession, paths: list[str], header: tuple[str, ...]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(h, T.StringType()) for h in header] + [T.StructField("_corrupt", T.StringType())])
    df = (
        spark.read.option("header", True).option("mode", "PERMISSIVE").option("enforceSchema", False)
        .option("columnNameOfCorruptRecord", "_corrupt").schema(schema).csv(paths)
    )
    fields = F.map_from_arrays(F.array(*[F.lit(h) for h in header]), F.array(*[F.col(f"`{h}`") for h in header]))
    return df.select(
        F.col("_metadata.file_path").alias("source_file"),
        F.coalesce(F.col("_corrupt"), F.to_json(fields)).alias("raw"),
        F.when(F.col("_corrupt").isNull(), fields).alias("fields"),
    )


def _parquet(spark: SparkSession, paths: list[str]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    df = spark.read.parquet(*paths)
    texts = []
    for f in df.schema.fields:
        col = F.col(f"`{f.name}`")
        if isinstance(f.dataType, T.TimestampType | T.TimestampNTZType):
            col = F.date_format(col, RFC3339_OUT)
        texts.append(col.cast("string"))
    fields = F.map_from_arrays(F.array(*[F.lit(f.name) for f in df.schema.fields]), F.array(*texts))
    return df.select(
        F.col("_metadata.file_path").alias("source_file"),
        F.to_json(fields).alias("raw"),
        fields.alias("fields"),
    )


def read_stream(spark: SparkSession, files: list[SpoolFile]) -> DataFrame:
    """All files of one stream as (source_file, raw, fields, _row_id). Files are grouped by
    format and, for CSV/Parquet, by header, so columns are matched by name, never position."""
    from pyspark.sql import functions as F

    groups: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for f in files:
        uri = "file://" + f.path if f.path.startswith("/") else f.path
        if f.fmt == "csv":
            groups[("csv", csv_header(f.path))].append(uri)
        elif f.fmt == "parquet":
            groups[("parquet", parquet_columns(f.path))].append(uri)
        else:
            groups[("jsonl", ())].append(uri)
    frames = []
    for (fmt, header), paths in sorted(groups.items()):
        if fmt == "jsonl":
            frames.append(_jsonl(spark, paths))
        elif fmt == "csv":
            frames.append(_csv(spark, paths, header))
        else:
            frames.append(_parquet(spark, paths))
    df = frames[0]
    for other in frames[1:]:
        df = df.unionByName(other)
    # Normalise to plain paths so the ledger and quarantine name files as discovered.
    df = df.withColumn("source_file", F.regexp_replace("source_file", "^file:(//)?", ""))
    return df.withColumn("_row_id", F.sha2(F.concat_ws("\u0001", "source_file", "raw"), 256))
