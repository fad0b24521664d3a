"""`ato.spark.cluster.down` in the process that started the cluster (as the cluster test does): its
stopped daemons are reaped at once, not waited on as zombies that signal 0 still reaches."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from ato.spark.cluster import STATE, Cluster, down

pytestmark = pytest.mark.unit


def test_down_reaps_the_daemons_this_process_started(tmp_path: Path) -> None:
    procs = [subprocess.Popen(["sleep", "300"], start_new_session=True) for _ in range(2)]
    pids = [p.pid for p in procs]
    (tmp_path / STATE).write_text(json.dumps(asdict(Cluster("spark://127.0.0.1:1", "http://127.0.0.1:2", pids,
                                                            str(tmp_path)))))
    assert down(tmp_path) == 2
    for pid in pids:
        with pytest.raises(ChildProcessError):  # reaped by down: no zombie left behind
            os.waitpid(pid, 0)
    assert not (tmp_path / STATE).exists()
    for p in procs:
        p.returncode = -15  # already reaped above; keep Popen from waiting on them again
