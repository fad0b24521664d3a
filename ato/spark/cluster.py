"""A real Spark standalone cluster on this machine, from the installed pyspark: one master and
`workers` workers on the loopback interface (`ato cluster up | down | status`, `make cluster-up`).
The nightly runs against it with `ATO_SPARK_MASTER=spark://127.0.0.1:<port>`; executors run in
the workers' JVMs and Python workers, reading and writing the same local lake (a shared
filesystem, as object storage would be on a real cluster: README "A real cluster")."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE = "cluster.json"


@dataclass(frozen=True)
class Cluster:
    master_url: str
    webui: str
    pids: list[int]
    folder: str


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(folder: Path, name: str, java_opts: str, cls: str, *args: str) -> int:
    env = {**os.environ, "SPARK_HOME": str(_spark_home()), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1",
           "SPARK_DAEMON_JAVA_OPTS": java_opts}
    log = (folder / f"{name}.log").open("ab")
    p = subprocess.Popen([str(_spark_home() / "bin" / "spark-class"), cls, *args], env=env, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    return p.pid


def status(webui: str) -> dict[str, Any] | None:
    """The master's JSON status (workers and their state), None while it does not answer."""
    try:
        with urllib.request.urlopen(f"{webui}/json/", timeout=2) as r:
            return dict(json.loads(r.read()))
    except (OSError, ValueError):
        return None


def up(folder: str | Path, workers: int = 2, cores: int = 1, memory: str = "2g", timeout_s: float = 120) -> Cluster:
    """Start a master and `workers` workers on 127.0.0.1 and wait until every worker is ALIVE."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / STATE).exists():
        raise RuntimeError(f"a cluster is already recorded in {folder / STATE}: `ato cluster down` first")
    from ato.settings import load_settings
    from ato.spark.archive_flag import java_flag

    # the master and workers map Spark's classes from the class archive too, if there is one
    opts = " ".join(x for x in (os.environ.get("SPARK_DAEMON_JAVA_OPTS", ""), java_flag(load_settings())) if x)
    port, ui = free_port(), free_port()
    master = f"spark://127.0.0.1:{port}"
    pids = [_start(folder, "master", opts, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                   str(port), "--webui-port", str(ui))]
    for i in range(workers):
        pids.append(_start(folder, f"worker-{i}", opts, "org.apache.spark.deploy.worker.Worker", master, "--host",
                           "127.0.0.1", "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                           "--work-dir", str(folder / f"work-{i}")))
    c = Cluster(master, f"http://127.0.0.1:{ui}", pids, str(folder))
    (folder / STATE).write_text(json.dumps(asdict(c)))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = status(c.webui)
        if st and sum(w.get("state") == "ALIVE" for w in st.get("workers", [])) >= workers:
            return c
        time.sleep(0.5)
    down(folder)
    raise RuntimeError(f"the cluster did not come up in {timeout_s:.0f} s; logs in {folder}")


def recorded(folder: str | Path) -> Cluster | None:
    path = Path(folder) / STATE
    return Cluster(**json.loads(path.read_text())) if path.exists() else None


def _exited(pid: int) -> bool:
    """Has `pid` exited? A process this one started (`up` and `down` in one process, as the tests
    do) stays a zombie that signal 0 still reaches until it is reaped: reap it here."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass  # not our child: whoever started it, or init, reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def down(folder: str | Path) -> int:
    """Stop the recorded cluster's processes (their whole process groups); how many were running."""
    c = recorded(folder)
    if c is None:
        return 0
    stopped = 0
    for pid in c.pids:
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped += 1
        except ProcessLookupError:
            pass
    for pid in c.pids:
        for _ in range(40):
            if _exited(pid):
                break
            time.sleep(0.25)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    (Path(folder) / STATE).unlink()
    return stopped
