"""A throwaway, project-local Airflow for tests and benchmarks that run our DAGs for real: SQLite
under a home folder, our dags folder, no examples; `airflow dags test` of one DAG, and the
scheduler (LocalExecutor) with the API server its tasks report to, for what only the scheduler
does: running a DAG triggered through the REST API (`ato.airflow_rest`), with the DAG processor
parsing our folder, and ato_retrain on the nightly's asset event. Standard library only."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"
DONE = ("success", "failed")


def airflow_bin() -> str:
    return str(Path(sys.executable).parent / "airflow")


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment with `extra`, and an Airflow of its own under `home`."""
    return {**os.environ, **extra,
            "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db"}


USER = "ato"


def api_user(home: Path) -> tuple[str, str, dict[str, str]]:
    """The API user of the Airflow under `home`: (name, password, the settings that make it the
    simple auth manager's one admin). The password is drawn once and kept in home/passwords.json
    (mode 0600), never printed."""
    path = home / "passwords.json"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps({USER: secrets.token_urlsafe(18)}))
    return USER, json.loads(path.read_text())[USER], {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(path)}


def airflow(env: Mapping[str, str], *args: str, timeout: float = 300) -> None:
    """`airflow ARGS`, failing with its output if it fails."""
    out = subprocess.run([airflow_bin(), *args], env=dict(env), capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed: {(out.stdout + out.stderr)[-2000:]}")


def dags_test(env: Mapping[str, str], dag_id: str, day: str, timeout: float = 900) -> tuple[bool, str]:
    """`airflow dags test DAG DAY`: (did every task succeed or skip, the whole log)."""
    out = subprocess.run([airflow_bin(), "dags", "test", dag_id, day], env=dict(env), capture_output=True, text=True,
                         timeout=timeout)
    log = out.stdout + out.stderr
    return out.returncode == 0 and "failed" not in log.lower().split("dagrun finished")[-1], log


def runs(home: Path, dag_id: str) -> list[tuple[str, str]]:
    """(run_type, state) of every run of `dag_id`, oldest first."""
    with contextlib.closing(sqlite3.connect(home / "airflow.db")) as db:
        return [(str(a), str(b)) for a, b in db.execute(
            "SELECT run_type, state FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,)).fetchall()]


def wait_runs(home: Path, dag_id: str, n: int, timeout_s: float = 600) -> list[tuple[str, str]]:
    """Wait until `dag_id` has at least `n` runs and none is unfinished; its runs."""
    deadline, got = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        got = runs(home, dag_id)
        if len(got) >= n and all(state in DONE for _, state in got):
            return got
        time.sleep(3)
    raise TimeoutError(f"{dag_id}: runs {got} after {timeout_s:.0f} s (logs under {home})")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def scheduler(home: Path, env: Mapping[str, str], *, dag_processor: bool = False,
              port: int | None = None) -> Iterator[str]:
    """The API server and the scheduler running, and with `dag_processor` the DAG processor too
    (else the DAGs must have been serialized, `airflow dags reserialize`); yields the API's base
    URL (logs: home/api.log, home/scheduler.log, home/dag-processor.log)."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**env, **api_user(home)[2], "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
           "AIRFLOW__CORE__PARALLELISM": "2"}

    def start(args: list[str], log: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([airflow_bin(), *args], env=env, stdout=(home / log).open("w"),
                                stderr=subprocess.STDOUT, start_new_session=True)

    procs = [start(["api-server", "--host", "127.0.0.1", "--port", str(port)], "api.log")]
    try:
        if dag_processor:  # it writes parsed DAGs to the database, so it parses while the API starts
            procs.append(start(["dag-processor"], "dag-processor.log"))
        # the scheduler only once the API its tasks report to answers: a task that meets an API
        # still starting fails on a read timeout (seen on a busy machine)
        deadline = time.monotonic() + 180
        while not _answers(f"{base}/execution/health"):
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError(f"the Airflow API server did not start (see {home / 'api.log'})")
            time.sleep(1)
        procs.append(start(["scheduler"], "scheduler.log"))
        yield base
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, 15)
            p.wait(timeout=60)


def task_logs(home: Path, dag_id: str, run_id: str) -> str:
    """The task logs a scheduler's run left under home/logs, as text: each JSON line's event (the
    tasks' own output among them), other lines as they are."""
    out = []
    for f in sorted((home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}").rglob("*.log")):
        out.append(f"--- {f.parent.name}")
        for ln in f.read_text(errors="replace").splitlines():
            try:
                doc = json.loads(ln)
            except ValueError:
                out.append(ln)
                continue
            out.append(str(doc.get("event", ln)) if isinstance(doc, dict) else ln)
    return "\n".join(out)
