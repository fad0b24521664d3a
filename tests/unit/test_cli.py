"""The `ato` command: every command and option explains itself, `--json` prints exactly one JSON
document on stdout, refusals keep their exit codes, and the DAG's spark-submit route is built
from settings."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from ato.cli import build_parser, main
from ato.cli.batch import versions_before
from ato.settings import load_settings
from ato.spark.archive_flag import java_flag

pytestmark = pytest.mark.unit


def commands(p: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command parser with its path, e.g. (("report", "nightly"), parser)."""
    out = []
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, child in a.choices.items():
                out += [((*path, name), child), *commands(child, (*path, name))]
    return out


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """`ato ARGV --json`: exit code and the one JSON document; stdout must hold nothing else."""
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1, f"stdout is not one JSON line: {out!r}"
    return code, json.loads(out)


def test_every_command_and_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    found = commands(build_parser())
    assert {p[0] for p, _ in found} >= {"simulate", "ingest", "sql", "nightly", "train", "promote", "rollback",
                                        "models", "serve", "publish", "replay", "report"}
    for path, parser in found:
        with pytest.raises(SystemExit) as e:
            main([*path, "--help"])
        assert e.value.code == 0, path
        assert capsys.readouterr().out.startswith("usage: ato " + " ".join(path))
        for a in parser._actions:
            if not isinstance(a, argparse._SubParsersAction | argparse._HelpAction):
                assert a.help and len(a.help) > 10, f"ato {' '.join(path)} {a.dest}: no help"


def test_commands_programs_read_offer_json() -> None:
    readable = {("simulate",), ("ingest",), ("sql",), ("nightly",), ("train",), ("promote",), ("rollback",),
                ("models",), ("publish",), ("report", "nightly"), ("report", "training")}
    with_json = {path for path, p in commands(build_parser()) if any(a.dest == "json" for a in p._actions)}
    assert readable <= with_json


def test_airflow_trigger_without_a_running_airflow_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "airflow", "trigger", "--home", str(tmp_path), "--date", "2026-08-08")
    assert code == 2 and doc["ok"] is False and "ato airflow up" in doc["error"]


def test_simulate_refuses_to_mix_worlds(tmp_path: Path) -> None:
    out, world = tmp_path / "spool", tmp_path / "world"
    args = ["simulate", "--accounts", "30", "--days", "1", "--out", str(out), "--world", str(world)]
    assert main(args) == 0
    first = sorted(p.name for p in (out / "logins").iterdir())
    assert main(args) == 2  # not empty: refused, nothing touched
    assert sorted(p.name for p in (out / "logins").iterdir()) == first
    assert main([*args, "--days", "2", "--overwrite"]) == 0
    assert len(list((out / "logins").iterdir())) == 2


def test_simulate_trainable_refuses_a_world_too_short_for_one_training_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out, world = tmp_path / "spool", tmp_path / "world"
    args = ["simulate", "--trainable", "--accounts", "30", "--out", str(out), "--world", str(world)]
    assert main([*args, "--days", "10"]) == 2
    said = capsys.readouterr().err
    assert "a 10-day world trains no model" in said and "45 days or more" in said  # 14 to mature + 14 + 7 + 10
    assert not out.exists() and not world.exists(), "refused before anything is written"
    for name, value in (("BATCH__LABEL_MATURITY_DAYS", "1"), ("MODEL__TRAIN_DAYS", "2"), ("MODEL__VAL_DAYS", "1"),
                        ("MODEL__TEST_DAYS", "1")):
        monkeypatch.setenv(f"ATO_{name}", value)
    assert main([*args, "--days", "4"]) == 2 and "5 days or more" in capsys.readouterr().err
    assert main([*args, "--days", "5"]) == 0 and len(list((out / "logins").iterdir())) == 5


def test_simulate_json_is_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--accounts", "30", "--days", "1", "--out", str(tmp_path / "s"), "--world", str(tmp_path / "w")]
    code, doc = run_json(capsys, *args)
    assert code == 0 and doc["ok"] and doc["accounts"] == 30 and doc["days"] == 1
    assert doc["rows"]["logins"] == sum(1 for f in (tmp_path / "s" / "logins").iterdir() for _ in f.open())
    code, doc = run_json(capsys, *args)  # the refusal is a document too
    assert code == 2 and doc["ok"] is False and "not empty" in doc["error"]


def test_sql_json_returns_rows_and_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    lake = tmp_path / "lake"
    write_deltalake(str(lake / "silver" / "logins"), pa.table({"country": ["US", "US", "FR"], "n": [1, 2, 3]}))
    monkeypatch.setenv("ATO_LAKE_ROOT", str(lake))
    code, doc = run_json(capsys, "sql")
    assert code == 0 and doc["tables"] == {"silver_logins": str(lake / "silver" / "logins")}
    code, doc = run_json(capsys, "sql", "SELECT country, sum(n) AS n FROM silver_logins GROUP BY 1 ORDER BY 1")
    assert code == 0 and doc["columns"] == ["country", "n"]
    assert doc["rows"] == [{"country": "FR", "n": 3}, {"country": "US", "n": 3}]


def test_sql_reads_the_lake_and_nothing_else_and_raw_tables_only_with_raw(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    lake = tmp_path / "lake"
    write_deltalake(str(lake / "silver" / "logins"), pa.table({"n": [1, 2]}))
    write_deltalake(str(lake / "bronze" / "logins"), pa.table({"ip": ["203.0.113.9"]}))
    write_deltalake(str(lake / "bronze" / "_ingest_log"), pa.table({"rows_in": [1]}))
    monkeypatch.setenv("ATO_LAKE_ROOT", str(lake))
    code, doc = run_json(capsys, "sql")
    assert doc["raw"] == ["bronze_logins"] and "bronze_ingest_log" in doc["tables"]
    for query in ("SELECT * FROM read_csv('/etc/passwd')", f"COPY silver_logins TO '{tmp_path}/out.csv'",
                  "SET enable_external_access = true", f"ATTACH '{tmp_path}/x.duckdb'"):
        code, doc = run_json(capsys, "sql", query)
        assert code == 2 and doc["ok"] is False and "query refused" in doc["error"], (query, doc)
    assert not (tmp_path / "out.csv").exists()
    code, doc = run_json(capsys, "sql", "SELECT ip FROM bronze_logins")
    assert code == 2 and "--raw" in doc["error"]
    assert not (lake / "_access").exists()
    code, doc = run_json(capsys, "sql", "SELECT ip FROM bronze_logins", "--raw")
    assert code == 0 and doc["rows"] == [{"ip": "203.0.113.9"}]
    (entry,) = [json.loads(x) for x in (lake / "_access" / "raw_access.jsonl").read_text().splitlines()]
    assert entry["tables"] == ["bronze_logins"] and entry["user"] and "203.0.113.9" not in json.dumps(entry)
    code, doc = run_json(capsys, "sql", "SELECT sum(rows_in) AS n FROM bronze_ingest_log")  # the ledger is no raw data
    assert code == 0 and doc["rows"] == [{"n": 1}]


def _version(root: Path, name: str, pr_auc: float, champ: str | None = None, report: bool = True) -> None:
    d = root / name
    d.mkdir(parents=True)
    (d / "bundle.json").write_text("{}")
    other = {"version": champ, "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6}} if champ else None
    (d / "metrics.json").write_text(json.dumps({
        "test": {"model": {"pr_auc": pr_auc, "recall_at_1pct_stepup": 0.6},
                 "rules": {"pr_auc": 0.1, "recall_at_1pct_stepup": 0.2}}, "champion_on_same_test": other}))
    if report:
        (d / "report.html").write_text("<html></html>")


def test_registry_commands_answer_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    monkeypatch.setenv("ATO_MODEL_DIR", str(models))
    monkeypatch.setenv("ATO_PATHS__REPORTS", str(tmp_path / "reports"))
    _version(models, "v1", 0.5)
    _version(models, "v2", 0.4, champ="v1")
    code, doc = run_json(capsys, "report", "training")
    assert code == 2 and doc["ok"] is False and "no champion" in doc["error"]
    code, doc = run_json(capsys, "promote", "v1")
    assert code == 0 and doc["champion"] == "v1" and doc["previous"] is None and "better" in doc["why"]
    code, doc = run_json(capsys, "promote", "v2")  # worse than the champion: a verdict, exit 3
    assert code == 3 and doc["ok"] is False and doc["champion"] == "v1" and "not better" in doc["why"]
    code, doc = run_json(capsys, "models", "--history")
    assert code == 0 and doc["champion"] == "v1"
    assert [(v["version"], v["champion"], v["pr_auc"]) for v in doc["versions"]] == [("v1", True, 0.5), ("v2", False, 0.4)]
    assert [h["action"] for h in doc["history"]] == ["promote"]
    code, doc = run_json(capsys, "report", "training")
    assert code == 0 and doc["version"] == "v1" and doc["path"] == str(models / "v1" / "report.html")
    code, doc = run_json(capsys, "rollback")  # v1 replaced nothing
    assert code == 3 and doc["ok"] is False and doc["champion"] == "v1"


def test_nightly_refusals_are_documents_and_versions_before_takes_either_form(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "nightly")
    assert code == 2 and doc["ok"] is False and "--date" in doc["error"]
    code, doc = run_json(capsys, "nightly", "--from", "2026-08-02", "--to", "2026-08-01")
    assert code == 2 and "before" in doc["error"]
    assert versions_before('{"gold/x": 3, "gold/y": null}') == {"gold/x": 3, "gold/y": None}
    assert versions_before('{"ok": true, "versions_before": {"gold/x": 3}, "steps": ["aggregates"]}') == {"gold/x": 3}
    assert versions_before(None) is None


SUBMIT_ENV = {"ATO_SPARK_SUBMIT": "1", "ATO_SPARK_MASTER": "spark://head:7077", "ATO_SPARK__DRIVER_MEMORY": "2g"}


def pyspark_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent)


def test_dag_tasks_submit_spark_steps_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from ato.dagkit import ato
    from ato.spark.session import LOG4J2_CONF, delta_jars

    monkeypatch.delenv("SPARK_HOME", raising=False)
    for k, v in SUBMIT_ENV.items():
        monkeypatch.setenv(k, v)
    argv = shlex.split(ato("nightly", "--date", "{{ ds }}", "--steps", "aggregates", "--json"))
    root = Path(__file__).resolve().parents[2]
    i = argv.index(str(root / "spark_jobs" / "nightly.py"))
    assert argv[0] == str(Path(pyspark_dir()) / "bin" / "spark-submit")
    assert argv[i + 1:] == ["--date", "{{ ds }}", "--steps", "aggregates", "--json"]
    opts = dict(zip(argv[1:i:2], argv[2:i:2], strict=True))
    assert opts["--master"] == "spark://head:7077" and opts["--deploy-mode"] == "client"
    assert opts["--driver-memory"] == "2g"
    assert opts["--jars"].split(",") == [str(j) for j in delta_jars()]
    # The aggregates' JVM keeps the tiered JIT (java_options empty: no options but the logging and,
    # after make setup, the class archive; not for executors on another host) ...
    assert load_settings(environ={}).spark.java_options == ""
    cds = java_flag(load_settings(environ={}))
    assert opts["--driver-java-options"] == " ".join(x for x in (f"-Dlog4j2.configurationFile=file:{LOG4J2_CONF}", cds) if x)
    assert not any(a.startswith("spark.executor.extraJavaOptions") for a in argv)
    # ... an ingest-only one stops at the quick C1 JIT, driver and executors alike.
    java = load_settings(environ={}).spark.ingest_java_options
    assert "-XX:TieredStopAtLevel=1" in java
    for args in (("ingest", "data/spool"), ("nightly", "--date", "D", "--steps", "ingest,decisions,publish")):
        ingest_argv = shlex.split(ato(*args))
        assert f"-Dlog4j2.configurationFile=file:{LOG4J2_CONF} {java}" in " ".join(ingest_argv)
        assert f"spark.executor.extraJavaOptions={java}" in ingest_argv
    assert java not in ato("nightly", "--date", "D", "--steps", "ingest,aggregates")
    assert java not in ato("nightly", "--date", "D")  # every step
    assert f"spark.pyspark.python={sys.executable}" in argv
    # Steps without Spark, and commands without an entry point, stay `python -m ato.cli`.
    for args in (("nightly", "--date", "D", "--steps", "publish"), ("train", "--json")):
        assert shlex.split(ato(*args)) == [sys.executable, "-m", "ato.cli", *args]
    assert "spark_jobs/ingest.py" in ato("ingest", "data/spool")
    monkeypatch.setenv("ATO_SPARK_SUBMIT", "0")
    assert shlex.split(ato("nightly", "--date", "D", "--steps", "aggregates")) == [
        sys.executable, "-m", "ato.cli", "nightly", "--date", "D", "--steps", "aggregates"]


def test_missing_delta_jars_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from ato.spark.session import MissingJars
    from ato.spark.submit import submit_argv

    monkeypatch.setenv("ATO_MAVEN_REPO", str(tmp_path))
    with pytest.raises(MissingJars, match=r"delta-spark_2.13-4.0.0.jar.*make setup"):
        submit_argv(load_settings(environ={}), "ingest", [])
    code, doc = run_json(capsys, "ingest", str(tmp_path))  # refused before any JVM starts
    assert code == 2 and "make setup" in doc["error"]


def test_a_jvm_whose_only_spark_step_is_ingest_is_an_ingest_jvm() -> None:
    from ato.nightly import STEPS
    from ato.spark.session import jvm_job

    assert jvm_job(["ingest"]) == jvm_job(("ingest", "decisions", "validate", "publish")) == "ingest"
    assert jvm_job(STEPS) == jvm_job(["ingest", "rings"]) == jvm_job(["aggregates"]) == "batch"


def test_verbose_brings_sparks_own_logging_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from ato.spark.session import launch_conf

    no_cds = load_settings(environ={"ATO_SPARK__CLASS_ARCHIVE": "off"})
    monkeypatch.delenv("ATO_VERBOSE", raising=False)
    assert "log4j2.configurationFile" in launch_conf(no_cds)["spark.driver.extraJavaOptions"]
    monkeypatch.setenv("ATO_VERBOSE", "1")
    assert not {"spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"} & set(launch_conf(no_cds))
    assert launch_conf(no_cds, "ingest")["spark.driver.extraJavaOptions"] == no_cds.spark.ingest_java_options
    assert build_parser().parse_args(["ingest", "-v"]).verbose and build_parser().parse_args(["-v", "ingest"]).verbose


def test_serve_tells_its_workers_how_many_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ato serve --workers 3` passes the count to the workers' settings (ATO_SERVING__WORKERS), which
    scale a worker's own velocity counts (ato.online.decide.policy), and runs them under our
    supervisor (one socket each); one worker is plain uvicorn."""
    import uvicorn

    import serving.workers

    ran: list[dict[str, Any]] = []
    supervised: list[tuple[int, str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: ran.append(kw))

    def run_workers(n: int, host: str, port: int, config: dict[str, Any]) -> int:
        supervised.append((n, host, port))
        return 0

    monkeypatch.setattr(serving.workers, "run_workers", run_workers)
    monkeypatch.setenv("ATO_STORE", "redis")
    monkeypatch.setenv("ATO_SERVING__WORKERS", "1")  # restored after the test
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert main(["serve", "--workers", "3", "--port", "8123"]) == 0
    assert supervised == [(3, "127.0.0.1", 8123)] and not ran and load_settings().serving.workers == 3
    assert main(["serve"]) == 0 and load_settings().serving.workers == 1
    assert ran[0]["port"] == 8000 and ran[0]["app"] == "serving.app:create_app" and len(supervised) == 1

