"""Real servers for the tests where the server is the point: redis-server on a free port, and
`serving.app:create_app` under uvicorn in its own process, configured through the environment as
`ato serve` would be, over the small world Spark built and trained (hence the `spark` marker)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from ato.settings import Settings, load_settings
from tests.api.builders import API_KEY, OTHER_KEY, REPLAY_CLOCK, UNHURRIED
from tests.conftest import TEST_KEY

PARITY_DAY = date(2026, 8, 6)  # training rows exist up to 08-06 (maturity 1 day, last as-of 08-07)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# One TLS context for every client the tests open: httpx builds one per client or `httpx.get` (about
# 20 ms of CPU, certifi's bundle loaded), which polling a starting server every 0.1 s made a fifth of
# a core taken from that server (py-spy: 11 s of the Spark tests' 94 s of Python CPU).
TLS = httpx.create_ssl_context()


def get(url: str, **kw: Any) -> httpx.Response:
    """`httpx.get` on the shared TLS context."""
    return httpx.get(url, verify=TLS, **kw)


def post(url: str, **kw: Any) -> httpx.Response:
    """`httpx.post` on the shared TLS context."""
    return httpx.post(url, verify=TLS, **kw)


def wait_until(check: Any, timeout: float = 60.0, what: str = "server") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not up after {timeout} s")


@dataclass
class Redis:
    url: str
    proc: subprocess.Popen[bytes]

    def stall(self) -> None:
        """SIGSTOP, and back only once the kernel shows the process stopped (state T)."""
        self.proc.send_signal(signal.SIGSTOP)
        stat = Path(f"/proc/{self.proc.pid}/stat")
        wait_until(lambda: stat.read_text().rsplit(")", 1)[1].split()[0] == "T", 10, "redis-server stopped")

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


def start_redis(folder: Path) -> Redis:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (make setup installs it)")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis

    wait_until(lambda: redis.Redis(port=port).ping(), 20, "redis-server")
    return Redis(f"redis://127.0.0.1:{port}/0", proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Api:
    """A running API process and the settings it was started with."""

    url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path
    settings: Settings = field(init=False)
    _session: httpx.Client | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.settings = load_settings(environ=self.env)

    def client(self, key: str | None = API_KEY, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key} if key else {}, timeout=timeout, verify=TLS)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST on one kept-alive connection; anything but a 200 fails the test."""
        if self._session is None:
            self._session = self.client()
        r = self._session.post(path, json=body)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return dict(r.json())

    def stop(self) -> None:
        if self._session is not None:
            self._session.close()
        stop(self.proc)


def serving_env(trained: Settings, world: Path, root: Path, **extra: str) -> dict[str, str]:
    """Environment of an API process over the trained small world (its own online dir, spool, audit).
    Budget, store timeout and shed lag are generous (UNHURRIED): a busy machine cannot change which
    link of the chain answers; a test about timeouts sets its own. The clock replays (the world's
    days are in August 2026)."""
    return {
        "ATO_LAKE_ROOT": trained.paths.lake_root, "ATO_HMAC_KEY": TEST_KEY,
        "ATO_ENRICH__GEO_DB": str(world / "ip_geo.csv"), "ATO_MODEL_DIR": trained.paths.models,
        "ATO_ONLINE_DIR": str(root / "online"), "ATO_SPOOL": str(root / "spool"),
        "ATO_SERVING__AUDIT_DIR": str(root / "audit"), "ATO_API_KEYS": f"{API_KEY},{OTHER_KEY}",
        "ATO_SERVING__RELOAD_S": "0.5", **UNHURRIED, **REPLAY_CLOCK, **extra,
    }


def start_api(env: dict[str, str], root: Path, ready: bool = True) -> Api:
    port = free_port()
    log = root / f"api-{port}.log"
    full = {k: v for k, v in os.environ.items() if not k.startswith("ATO_")} | env
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log"],
        env=full, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
    api = Api(f"http://127.0.0.1:{port}", env, proc, log)
    path = "/readyz" if ready else "/healthz"
    try:
        wait_until(lambda: proc.poll() is None and get(api.url + path, timeout=2).status_code == 200, 90, "API")
    except TimeoutError:
        stop(proc)
        raise AssertionError(f"API did not start:\n{log.read_text()[-3000:]}") from None
    return api


@pytest.fixture(scope="session")
def serving_world(trained: tuple[Settings, Any], small_world: tuple[Path, Path, Any],
                  tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, Path]:
    """(trained settings, world folder, a root holding the snapshot of the day before PARITY_DAY)."""
    from ato.online.snapshot.files import publish

    s, _ = trained
    root = tmp_path_factory.mktemp("serving")
    publish(s.model_copy(update={"online": s.online.model_copy(update={"snapshot_dir": str(root / "online")})}),
            date.fromordinal(PARITY_DAY.toordinal() - 1))
    return s, small_world[1], root


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    r = start_redis(tmp_path_factory.mktemp("redis"))
    yield r
    stop(r.proc)


@pytest.fixture(scope="module")
def api(serving_world: tuple[Settings, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One embedded-store API for a test module (state: speed counters, audit, spool)."""
    s, world, root = serving_world
    own = tmp_path_factory.mktemp("api")
    shutil.copytree(root / "online", own / "online")
    a = start_api(serving_env(s, world, own), own)
    yield a
    a.stop()
