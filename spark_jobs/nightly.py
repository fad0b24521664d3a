"""Spark entry point for spark-submit: `python spark_jobs/nightly.py --date D [--steps ...]`.

Thin on purpose: all logic is `ato.nightly.run_nightly`, the same function `ato nightly`
and the Airflow tasks call.
"""

from __future__ import annotations

import sys

from ato.cli import main

if __name__ == "__main__":
    sys.exit(main(["nightly", *sys.argv[1:]]))
