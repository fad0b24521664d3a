"""DAG files: every one imports cleanly and opens no connection; the Airflow scheduler, DAG
processor and API server run the nightly DAG for real, triggered through the REST API (each task a
separate `ato` process) on a small ingested world; `airflow dags test` runs the retrain DAG."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ato.airflow_local import (
    DAGS,
    airflow,
    airflow_env,
    api_user,
    dags_test,
    scheduler,
    task_logs,
    wait_runs,
)
from ato.settings import Settings
from tests.conftest import SMALL_DATA_SPARK, one_step_jvms

# every nightly task: wait for the lake's writer lock, tag gold commits with the run id
NIGHT = "--date '{{ ds }}' --lock-wait 3600 --commit-tag '{{ run_id }}'"


def run_dag(dag_id: str, day: str, home: Path, src: Settings, **extra: str) -> str:
    """`airflow dags test DAG DAY` in a throwaway Airflow under `home`; fails the test with the
    log's tail unless the run succeeded; returns the log (task logs included)."""
    env = airflow_env(home, ATO_HMAC_KEY=src.privacy.hmac_key, ATO_BATCH__LABEL_MATURITY_DAYS="1",
                      ATO_DAG_RETRIES="0", **extra)
    airflow(env, "db", "migrate")
    ok, log = dags_test(env, dag_id, day)
    (home / "dags-test.log").write_text(log)  # `dags test` keeps no task logs of its own
    if not ok:
        failed = [ln for ln in log.splitlines() if "state=failed" in ln or "Traceback" in ln or "rror" in ln]
        raise AssertionError("\n".join(failed[-40:]) + f"\n... whole log: {home / 'dags-test.log'}\n" + log[-3000:])
    return log


PARSE = """
import socket, sys
def refuse(*a, **k):
    raise AssertionError(f"a DAG file opened a connection at import: {a}")
socket.socket.connect = refuse
socket.create_connection = refuse
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
heavy = [m for m in ("pyspark", "lightgbm", "delta", "great_expectations") if m in sys.modules]
assert not heavy, f"heavy modules imported at parse time: {heavy}"
print(sorted(bag.dag_ids))
"""


@pytest.mark.unit
def test_every_dag_imports_without_error_or_connection(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", PARSE, str(DAGS)], env=airflow_env(tmp_path), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ato_nightly" in out.stdout and "ato_retrain" in out.stdout


COMMANDS = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
nightly, retrain = bag.dags["ato_nightly"], bag.dags["ato_retrain"]
doc = json.dumps({"ok": True, "versions_before": {"gold/x": 3}, "version": "20260806-abc"})
print(json.dumps({
    "aggregates": nightly.get_task("aggregates").python_callable(),
    "publish": nightly.get_task("publish").python_callable(),
    "gate": nightly.get_task("quality_gate").python_callable(doc),
    "train": retrain.get_task("train").python_callable(json.dumps({"night": "2026-09-09", "reason": "drift: the score drifted"})),
    "promote": retrain.get_task("promote").python_callable(doc),
    "retrain_check": nightly.get_task("retrain_check").python_callable(),
    "promote_challenger": nightly.get_task("promote_challenger").python_callable(),
    "check_upstream": sorted(nightly.get_task("retrain_check").upstream_task_ids),
    "request_upstream": sorted(nightly.get_task("request_retrain").upstream_task_ids),
    "retrain_schedule": type(retrain.timetable).__name__,
    "retrain_assets": sorted(a.name for a in retrain.timetable.asset_condition.objects),
    "retrain_outlets": [o.name for o in nightly.get_task("request_retrain").outlets],
    "monitor_downstream": sorted(nightly.get_task("monitor").downstream_task_ids),
    "retention": nightly.get_task("retention").python_callable(),
    "retention_upstream": sorted(nightly.get_task("retention").upstream_task_ids),
}))
"""


@pytest.mark.unit
def test_tasks_hand_json_documents_on_and_submit_spark_steps_when_configured(tmp_path: Path) -> None:
    """The commands the tasks run: spark-submit of spark_jobs/ for Spark steps with
    ATO_SPARK_SUBMIT=1, `python -m ato.cli` otherwise; the gate and promote read --json documents."""
    env = airflow_env(tmp_path, ATO_SPARK_SUBMIT="1", ATO_SPARK_MASTER="spark://head:7077")
    out = subprocess.run([sys.executable, "-c", COMMANDS, str(DAGS)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    cmd = json.loads(out.stdout.splitlines()[-1])
    assert "spark-submit --master spark://head:7077" in cmd["aggregates"]
    assert cmd["aggregates"].endswith(f"spark_jobs/nightly.py {NIGHT} --steps aggregates --json")
    assert cmd["publish"].endswith(f"-m ato.cli nightly {NIGHT} --steps publish")
    assert "spark_jobs/nightly.py" in cmd["gate"] and """--versions-before '{"gold/x": 3}'""" in cmd["gate"]
    assert cmd["train"].endswith("-m ato.cli train --date 2026-09-09 --json --shadow --reason 'drift: the score drifted'")
    assert cmd["retrain_check"].endswith("-m ato.cli monitor check --date '{{ ds }}' --json")
    # ato_retrain runs weekly or when the nightly's request_retrain updates the asset.
    assert cmd["retrain_schedule"] == "AssetOrTimeSchedule"
    assert cmd["retrain_assets"] == cmd["retrain_outlets"] == ["ato_retrain_request"]
    assert cmd["monitor_downstream"] == ["promote_challenger", "report"]
    assert cmd["check_upstream"] == ["promote_challenger"]
    assert cmd["request_upstream"] == ["quality_gate", "retrain_check"], "a retrain waits for the gated training set"
    assert cmd["retention"].endswith(f"-m ato.cli nightly {NIGHT} --steps retention")  # no JVM
    assert cmd["retention_upstream"] == ["report"]
    assert cmd["promote_challenger"].endswith("-m ato.cli promote --challenger --require-live --json || test $? -eq 3")
    assert cmd["promote"].endswith("-m ato.cli promote 20260806-abc || test $? -eq 3")


CHATTER = ("ivy default cache", ":: resolving", "log4j profile", "nativecodeloader", "setting default log level")


def audit_lines(champion: str) -> str:
    """Three decisions of an unknown version at fallback levels 0-2, and 120 of the champion on
    inputs unlike anything it was trained on (every feature far outside its reference)."""
    from ato.features.columns import CATEGORICAL_FEATURES, FEATURES

    far = {f: ("zz" if f in CATEGORICAL_FEATURES else 1e6) for f in FEATURES}
    rows = [("v", i, {"new_device": 0}, 0.01) for i in range(3)] + [(champion, 0, far, 0.99)] * 120
    return "".join(json.dumps({
        "decision_id": f"d{i}", "event_id": f"e{i}", "decided_at": f"2026-08-08T10:{i // 60:02d}:{i % 60:02d}+00:00",
        "event_time": "2026-08-08T10:00:00+00:00", "account_id": "acct_0000001", "action": "allow",
        "risk_score": score, "reasons": [], "fallback_level": level, "model_version": version, "features": feats}) + "\n"
        for i, (version, level, feats, score) in enumerate(rows))


@pytest.mark.dag
@pytest.mark.spark
@pytest.mark.timeout(1500)
def test_the_scheduler_runs_the_nightly_triggered_through_the_rest_api_and_its_asset_event_the_retrain(
        backfilled: tuple[Settings, Any], trained: tuple[Settings, Any], small_world: tuple[Path, Path, Any],
        tmp_path: Path) -> None:
    """The next night (08-08) after the backfill, as Airflow runs it: the API server, DAG processor
    and scheduler (LocalExecutor) started on the project's DAG folder; ato_nightly, found parsed,
    unpaused and triggered for 08-08 through the REST API (its own schedule off, so nothing is
    caught up) and followed there to success. Every task its own process, the Spark steps through
    spark-submit of spark_jobs/ (ATO_SPARK_SUBMIT=1), the gate fed by the aggregates task's --json
    document, and no Spark start-up chatter in the task logs. The champion's inputs drifted that
    day, so retrain_check finds a retrain due and request_retrain updates the asset; the scheduler
    then runs ato_retrain on that event (no logical date), which trains for 08-08 and keeps the
    monitoring's reason with the new version. The monitor task draws the day's drift page, which
    the report links."""
    from ato import deltars
    from ato.airflow_rest import AirflowApi
    from ato.model import registry
    from ato.online.snapshot.files import current
    from ato.settings import load_settings
    from ato.tables import ACTION_TRAINING, DECISIONS, PERFORMANCE_DAILY, TRAINING

    src, _ = backfilled
    spool, world, _ = small_world
    shutil.copytree(src.paths.lake_root, tmp_path / "lake")
    shutil.copytree(trained[0].paths.models, tmp_path / "models")
    models = Settings.model_validate({"paths": {"models": str(tmp_path / "models")}})
    champion = registry.champion(models)
    assert champion is not None
    audit = tmp_path / "audit" / "2026-08-08" / "decisions-host-1.jsonl"  # as the API writes it
    audit.parent.mkdir(parents=True)
    audit.write_text(audit_lines(champion))
    home = tmp_path / "airflow"
    env = airflow_env(
        home, ATO_HMAC_KEY=src.privacy.hmac_key, ATO_BATCH__LABEL_MATURITY_DAYS="1", ATO_DAG_RETRIES="0",
        ATO_LAKE_ROOT=str(tmp_path / "lake"), ATO_SERVING__AUDIT_DIR=str(tmp_path / "audit"),
        ATO_SPARK_SUBMIT="1", ATO_SPOOL=str(spool), ATO_ONLINE_DIR=str(tmp_path / "online"),
        ATO_ENRICH__GEO_DB=str(world / "ip_geo.csv"), ATO_SPARK_MASTER="local[2]",
        ATO_SPARK__SHUFFLE_PARTITIONS="2", ATO_SPARK__DRIVER_MEMORY="1g", **{**SMALL_DATA_SPARK, **one_step_jvms()},
        ATO_PATHS__REPORTS=str(tmp_path / "reports"), ATO_MODEL_DIR=str(tmp_path / "models"),
        ATO_MONITOR__MIN_DECISIONS="100", ATO_WORLD_DIR=str(world), ATO_MODEL__TRAIN_DAYS="4",
        ATO_MODEL__VAL_DAYS="1", ATO_MODEL__TEST_DAYS="1", ATO_MODEL__FOLDS="1", ATO_MODEL__SEARCH_TRIALS="2",
        # the nightly only when triggered; ato_retrain's weekly schedule moved to 29 February, so
        # only the asset can start it; both paused at creation and unpaused through the API
        ATO_NIGHTLY_SCHEDULE="none", ATO_RETRAIN_CRON="0 0 29 2 *", AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True")
    airflow(env, "db", "migrate")
    user, password, _ = api_user(home)
    with scheduler(home, env, dag_processor=True) as base:
        api = AirflowApi(base, user, password)
        for dag_id in ("ato_nightly", "ato_retrain"):
            api.wait_dag(dag_id)
            api.unpause(dag_id)
        run_id = api.trigger("ato_nightly", date(2026, 8, 8))
        state = api.wait_run("ato_nightly", run_id)
        log = task_logs(home, "ato_nightly", run_id)
        (home / "nightly-tasks.log").write_text(log)
        tasks = api.task_states("ato_nightly", run_id)
        assert state == "success", f"{tasks}\n{log[-3000:]}"
        assert tasks["request_retrain"] == "success", "the drifted champion's retrain_check found a retrain due"
        retrains = wait_runs(home, "ato_retrain", 1)
        nightlies = [(r["run_type"], r["state"]) for r in api.runs("ato_nightly")]
    assert retrains == [("asset_triggered", "success")]
    assert nightlies == [("manual", "success")], "only the triggered night ran: nothing caught up"
    assert log.count("spark_jobs/nightly.py") >= 4, "ingest, aggregates, training and gate ran under spark-submit"
    assert not [c for c in CHATTER if c in log.lower()], "Spark start-up chatter reached the task logs"
    warned = [ln for ln in log.splitlines() if "Warning:" in ln]
    assert not warned, f"library warnings reached the task logs: {warned[:5]}"  # the report's were numpy's
    snap = current(Settings.model_validate({"online": {"snapshot_dir": str(tmp_path / "online")}}))
    assert snap is not None and snap["as_of"] == "2026-08-08"
    # The monitor task drew the day's Evidently page for the champion that served the day, so a
    # retrain promoted while the report ran cannot take it away; the report links it.
    assert (tmp_path / "reports" / "drift-2026-08-08.html").is_file()
    assert "drift page drift-2026-08-08.html" in log, "the monitor task's summary names its page"
    assert '<a href="drift-2026-08-08.html">' in (tmp_path / "reports" / "nightly-2026-08-08.html").read_text()
    lake = load_settings(environ={"ATO_LAKE_ROOT": str(tmp_path / "lake")})
    decisions = deltars.read(lake, "gold", DECISIONS).to_pandas()
    assert len(decisions) == 123 and {"d0", "d1", "d2"} <= set(decisions["decision_id"]), "the audit log loaded"
    perf = deltars.read(lake, "gold", PERFORMANCE_DAILY).to_pandas()
    mine = perf[perf["model_version"] == "v"]
    assert sorted(mine["fallback_level"]) == [0, 1, 2] and perf["decisions"].sum() == 123, "the monitor task ran"
    assert '"why": "no shadow challenger"' in log, "promote_challenger ran with nothing in shadow"
    assert date(2026, 8, 7) in deltars.partition_dates(lake, "gold", TRAINING, "login_date"), "08-07 matured"
    assert date(2026, 8, 7) in deltars.partition_dates(lake, "gold", ACTION_TRAINING, "action_date"), "actions task"
    new = [v for v in registry.versions(models) if v != champion]
    assert len(new) == 1 and new[0].startswith("20260807-"), "trained for night 08-08: logins up to 08-07"
    reason = registry.metrics(models, new[0])["reason"]
    assert reason.startswith("drift: ") and "features drifted on 2026-08-08" in reason, reason


@pytest.mark.dag
@pytest.mark.spark
@pytest.mark.timeout(900)
def test_airflow_dags_test_runs_the_retrain(backfilled: tuple[Settings, Any], small_world: tuple[Path, Path, Any],
                                            tmp_path: Path) -> None:
    from ato.model import registry

    src, _ = backfilled
    shutil.copytree(src.paths.lake_root, tmp_path / "lake")
    models = tmp_path / "models"
    run_dag("ato_retrain", "2026-08-07", tmp_path / "airflow", src, ATO_LAKE_ROOT=str(tmp_path / "lake"),
            ATO_WORLD_DIR=str(small_world[1]), ATO_MODEL_DIR=str(models), ATO_PATHS__REPORTS=str(tmp_path / "reports"),
            ATO_MODEL__TRAIN_DAYS="4", ATO_MODEL__VAL_DAYS="1", ATO_MODEL__TEST_DAYS="1", ATO_MODEL__FOLDS="1",
            ATO_MODEL__SEARCH_TRIALS="2")
    s = Settings.model_validate({"paths": {"models": str(models)}})
    assert len(registry.versions(s)) == 1
    assert registry.champion(s) == registry.versions(s)[0]  # the first model beat the rules and was promoted
    assert registry.metrics(s, registry.versions(s)[0])["reason"] == "weekly schedule or by hand"
