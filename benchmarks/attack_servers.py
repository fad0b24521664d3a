"""The service under test for `benchmarks/attack_day.py`: `ato serve --workers 2` on Redis with /metrics on
an admin port, its memory (RSS of the master and its workers), its metrics, and a watcher that notes
when `ato_attack_mode` first reads 1."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from benchmarks.loadgen import KEY

# one TLS context for all the polling below: httpx builds one per `httpx.get` (about 20 ms of CPU),
# taken from the service under test while it starts and while the watcher polls
TLS = httpx.create_ssl_context()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def publish(env: dict[str, str], redis_url: str) -> None:
    """An empty Redis holding the published snapshot of `env`'s online folder."""
    import redis

    from ato.online.snapshot.redis import publish_to_redis
    from ato.settings import load_settings

    redis.Redis.from_url(redis_url).flushdb()
    publish_to_redis(load_settings(environ=env), redis_url)


def _wait(check: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(httpx.HTTPError, OSError):
            if check():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not up after {timeout:.0f} s")


class Service:
    """`ato serve --workers 2` for the length of a `with` block."""

    def __init__(self, env: dict[str, str], port: int, admin_port: int, log: Path, workers: int = 2) -> None:
        self.port, self.admin = port, admin_port
        self.url, self.admin_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ATO_")} | env | {
            "ATO_API__ADMIN_PORT": str(admin_port), "ATO_API__METRICS": "admin_port"}
        self.log, self.workers = log, workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.attack_on_epoch: float | None = None

    def __enter__(self) -> Service:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        ato = str(Path(sys.executable).parent / "ato")
        self.proc = subprocess.Popen([ato, "serve", "--port", str(self.port), "--workers", str(self.workers),
                                      "--log-level", "warning"], env=self.env, stdout=self.log.open("wb"),
                                     stderr=subprocess.STDOUT)
        try:
            _wait(lambda: httpx.get(self.url + "/readyz", timeout=2, verify=TLS).json().get("level") == 0, 120, "ato serve")
            _wait(lambda: httpx.get(self.admin_url + "/metrics", timeout=2, verify=TLS).status_code == 200, 30, "admin port")
        except RuntimeError:
            self.__exit__(None, None, None)
            raise RuntimeError(f"ato serve did not start:\n{self.log.read_text()[-3000:]}") from None
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def warm_up(self, logins: list[dict[str, Any]], batch: int = 500) -> None:
        """The day before's logins to /v1/events: the speed layer's last 24 hours."""
        with httpx.Client(base_url=self.url, headers={"X-API-Key": KEY}, timeout=120, verify=TLS) as c:
            for i in range(0, len(logins), batch):
                r = c.post("/v1/events", json={"logins": logins[i:i + batch]})
                r.raise_for_status()

    def rss(self) -> int:
        """Resident bytes of the server: the `ato serve` process and every process under it (/proc)."""
        assert self.proc is not None
        parent: dict[int, int] = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        tree, todo = set(), [self.proc.pid]
        while todo:
            pid = todo.pop()
            tree.add(pid)
            todo += [c for c, pp in parent.items() if pp == pid and c not in tree]
        total = 0
        for pid in tree:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def metrics(self) -> str:
        return httpx.get(self.admin_url + "/metrics", timeout=60, verify=TLS).text

    @contextlib.contextmanager
    def watch_attack_mode(self, every_s: float = 0.25) -> Iterator[None]:
        """Polls /metrics on the admin port; `attack_on_epoch` is when `ato_attack_mode` first read 1."""
        stop = threading.Event()
        on = re.compile(r"^ato_attack_mode 1(\.0)?$", re.M)

        def poll() -> None:
            while not stop.is_set() and self.attack_on_epoch is None:
                with contextlib.suppress(httpx.HTTPError):
                    if on.search(httpx.get(self.admin_url + "/metrics", timeout=10, verify=TLS).text):
                        self.attack_on_epoch = time.time()
                stop.wait(every_s)

        t = threading.Thread(target=poll, daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join(15)


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name):len(name) + 1] not in ("{", " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total
