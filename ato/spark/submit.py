"""spark-submit for the spark_jobs/ entry points, with the master, deploy mode, Delta jars,
driver memory and logging taken from settings:

    python -m ato.spark.submit nightly --date 2026-09-14 --steps aggregates --json

runs `spark-submit --master <spark.master> ... spark_jobs/nightly.py --date ...`. The DAG tasks
go through `task_command` (ato.dagkit), which picks this route for commands that start Spark when
`spark.submit` is set (ATO_SPARK_SUBMIT=1). Imports no pyspark: it only builds a command line.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ato.settings import Settings, load_settings
from ato.spark.session import SPARK_STEPS, Job, jvm_job, launch_conf

JOBS_DIR = Path(__file__).resolve().parents[2] / "spark_jobs"
JOBS = {"ingest": "ingest.py", "nightly": "nightly.py"}  # `ato` command -> entry point


def spark_submit() -> str:
    """$SPARK_HOME/bin/spark-submit when SPARK_HOME is set, else the one inside the installed
    pyspark package (it finds its Spark home by itself, with no python3 on PATH needed)."""
    home = os.environ.get("SPARK_HOME")
    if not home:
        spec = importlib.util.find_spec("pyspark")  # locates the package without importing it
        if spec is None or spec.origin is None:
            raise RuntimeError("pyspark is not installed and SPARK_HOME is not set: no spark-submit to run")
        home = str(Path(spec.origin).parent)
    return str(Path(home) / "bin" / "spark-submit")


def _steps(job: str, args: Sequence[str]) -> set[str]:
    """The nightly steps `ato JOB ARGS` runs: ingest's one, those of --steps, or (none given) every
    Spark step."""
    if job == "ingest":
        return {"ingest"}
    given = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--steps"), None)
    return SPARK_STEPS if given is None else {x.strip() for x in given.split(",")}


def submit_argv(settings: Settings, job: str, args: Sequence[str]) -> list[str]:
    """The spark-submit command line running spark_jobs/<job>.py with `args`."""
    if job not in JOBS:
        raise ValueError(f"no spark_jobs entry point for `{job}`; there are: {', '.join(JOBS)}")
    return script_argv(settings, JOBS[job], args, jvm_job(_steps(job, args)), f"ato-{job}")


def script_argv(settings: Settings, script: str, args: Sequence[str], job: Job, name: str) -> list[str]:
    """The spark-submit command line running spark_jobs/<script> with `args` in a JVM doing `job`,
    master, jars, driver memory and JVM options from settings."""
    conf = launch_conf(settings, job)
    argv = [spark_submit(), "--master", settings.spark.master, "--deploy-mode", settings.spark.deploy_mode,
            "--name", name, "--jars", conf.pop("spark.jars"), "--driver-memory", conf.pop("spark.driver.memory")]
    if "spark.driver.extraJavaOptions" in conf:
        argv += ["--driver-java-options", conf.pop("spark.driver.extraJavaOptions")]
    # The driver and its Python workers run this interpreter (the venv where `ato` is installed).
    argv += ["--conf", f"spark.pyspark.python={sys.executable}", "--conf", f"spark.pyspark.driver.python={sys.executable}"]
    for k, v in conf.items():
        argv += ["--conf", f"{k}={v}"]
    return [*argv, str(JOBS_DIR / script), *args]


def starts_spark(args: Sequence[str]) -> bool:
    """Does `ato ARGS` start Spark? `ingest`, and `nightly` with a step in SPARK_STEPS."""
    return bool(args) and args[0] in JOBS and bool(SPARK_STEPS & _steps(args[0], args[1:]))


def task_command(args: Sequence[str], settings: Settings | None = None) -> str:
    """The shell command a DAG task runs for `ato ARGS`: spark-submit of the entry point when
    `spark.submit` is set and the command starts Spark, else `python -m ato.cli ARGS`."""
    settings = settings or load_settings()
    if settings.spark.submit and starts_spark(args):
        return shlex.join(submit_argv(settings, args[0], args[1:]))
    return shlex.join([sys.executable, "-m", "ato.cli", *args])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    cmd = submit_argv(load_settings(), args[0], args[1:])
    print("ato: " + shlex.join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
