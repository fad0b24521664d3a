"""The metric files of `ato serve --workers N`: real worker processes write them through
prometheus_client's multiprocess mode; a dead worker's live gauges stop counting while what it
served stays counted, and the folder is left as it was found."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from serving.metrics import MULTIPROC_ENV, Metrics, worker_gone, workers_metrics_dir

pytestmark = pytest.mark.unit

WORKER = """
from serving.metrics import Metrics
m = Metrics()
m.set_model("v1")
m.set_attack(True, ["asn:64500"])
m.in_flight.inc(3)
m.decided("allow", "0", 0.002)
import os
print(os.getpid())
"""


def worker(env_dir: Path) -> int:
    """A process that serves like a worker (model loaded, attack mode on, 3 in flight, one
    decision) and exits; its pid."""
    p = subprocess.run([sys.executable, "-c", WORKER], env={**os.environ, MULTIPROC_ENV: str(env_dir)},
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    pid = int(p.stdout.split()[-1])
    assert (env_dir / f"gauge_liveall_{pid}.db").is_file(), "the worker wrote no live gauge file"
    return pid


def scrape() -> str:
    return Metrics().render().decode()


def test_a_dead_workers_gauges_stop_counting_and_its_decisions_stay(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the folder of its own would go
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with workers_metrics_dir() as d:
        assert os.environ[MULTIPROC_ENV] == str(d) and d.parent == tmp_path and d.name.startswith("ato-metrics-")
        first = worker(d)
        before = scrape()
        assert f'ato_model_info{{pid="{first}",version="v1"}} 1.0' in before
        assert "ato_attack_mode 1.0" in before and "ato_requests_in_flight 3.0" in before
        worker_gone(first)
        after = scrape()
        assert f'pid="{first}"' not in after, "the dead worker's model gauge still counted"
        assert "ato_attack_mode 1.0" not in after and "ato_requests_in_flight 3.0" not in after
        assert 'ato_decisions_total{action="allow",fallback_level="0"} 1.0' in after, "what it served was lost"
    assert not d.exists() and MULTIPROC_ENV not in os.environ, "its own folder is removed, the variable unset"


def test_a_given_folder_is_kept_and_emptied_of_an_earlier_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = tmp_path / "metrics"
    given.mkdir()
    monkeypatch.setenv(MULTIPROC_ENV, str(given))
    old = worker(given)  # a run that ended without a supervisor to say so
    (given / "notes.txt").write_text("not ours")
    with workers_metrics_dir() as d:
        assert d == given
        assert f'pid="{old}"' not in scrape() and "ato_decisions_total" not in scrape(), "an earlier run still counted"
        worker(d)
        assert 'ato_decisions_total{action="allow",fallback_level="0"} 1.0' in scrape()
    assert given.is_dir() and (given / "notes.txt").exists() and os.environ[MULTIPROC_ENV] == str(given)
