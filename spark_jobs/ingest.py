"""spark-submit entry point of `ato ingest`: spool files -> bronze/quarantine -> silver.

    python -m ato.spark.submit ingest [SPOOL] [--json]   # master, jars, logging from settings
    spark-submit --master M --jars <Delta jars> spark_jobs/ingest.py [SPOOL] [--json]

The same command as `ato ingest`; its Spark session takes spark-submit's master and --conf
(ato.spark.session.get_spark) and fills in only what they leave unset.
"""

from __future__ import annotations

import sys

from ato.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
