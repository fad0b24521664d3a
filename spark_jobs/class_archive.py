"""spark-submit entry point of the class archive's workload (ato.spark.class_archive): `make setup`
runs it once under -XX:ArchiveClassesAtExit through `python -m ato.spark.class_archive`.

    spark-submit --master local[2] --jars <Delta jars> spark_jobs/class_archive.py FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

from ato.spark.class_archive import workload

if __name__ == "__main__":
    workload(Path(sys.argv[1]))
