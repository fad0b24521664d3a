"""Spark entry point for spark-submit / Airflow tasks: `python spark_jobs/ingest.py SPOOL`.

Thin on purpose: all logic is `ato.spark.ingest.ingest`, the same function `ato ingest` calls.
"""

from __future__ import annotations

import sys

from ato.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
