"""spark-submit entry point of `ato nightly`: what the ato_nightly DAG's Spark steps (ingest,
aggregates, training, gate) run when settings say `spark.submit` (ATO_SPARK_SUBMIT=1).

    python -m ato.spark.submit nightly --date D [--steps ...] [--json]
    spark-submit --master M --jars <Delta jars> spark_jobs/nightly.py --date D [--steps ...]

The same command as `ato nightly`; its Spark session takes spark-submit's master and --conf
(ato.spark.session.get_spark) and fills in only what they leave unset.
"""

from __future__ import annotations

import sys

from ato.cli import main

if __name__ == "__main__":
    sys.exit(main(["nightly", *sys.argv[1:]]))
