"""`ato serve --workers N`: N uvicorn processes, each with its own listening socket on the same port
(SO_REUSEPORT), so the kernel spreads the connections over them by their address hash.

Under uvicorn's own `--workers` the processes share one socket and whichever wakes first accepts: on
the attack day all 32 keep-alive connections of the hot-key phase landed on one worker, which queued
for seconds while the other idled. Here each worker binds its own socket (as the admin port already
did, `serving.admin`). The supervisor restarts a worker that dies after it started serving (a
crash), stops them all on SIGINT or SIGTERM (each finishes its requests and drains, as uvicorn
does), and gives up, stopping the others, when a worker exits before it served (it could not start).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from typing import Any

from serving.metrics import worker_gone

STOP_S = 30.0  # how long a worker may take to finish its requests once told to stop


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that others may bind too (SO_REUSEPORT); uvicorn listens on it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _server(config: dict[str, Any], ready: Any) -> Any:
    """uvicorn's server, setting `ready` once it listens (built in the worker process)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                ready.set()

    return Server(uvicorn.Config(**config))


def _worker(config: dict[str, Any], host: str, port: int, ready: Any) -> None:
    """One worker process: uvicorn on its own socket (exit code 3 when the app did not start)."""
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        _say(f"cannot listen on {host}:{port}: {exc}")
        sys.exit(1)
    server = _server(config, ready)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(3)


def _say(message: str) -> None:
    print(f"ato: {message}", file=sys.stderr, flush=True)


def run_workers(workers: int, host: str, port: int, config: dict[str, Any]) -> int:
    """Run `workers` processes of uvicorn.Config(**config) on host:port until a signal stops them;
    the exit code: 0, or a worker's that could not start."""
    ctx = multiprocessing.get_context("spawn")

    def start() -> tuple[Any, Any]:
        ready = ctx.Event()
        p = ctx.Process(target=_worker, args=(config, host, port, ready), name="ato-worker")
        p.start()
        return p, ready

    stop: list[int] = []
    handlers = {s: signal.signal(s, lambda signum, _frame: stop.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    code = 0
    try:
        while not stop:
            time.sleep(0.2)
            for i, (p, ready) in enumerate(procs):
                if p.is_alive() or stop:
                    continue
                if not ready.is_set():
                    _say(f"worker {p.pid} exited with code {p.exitcode} while starting: stopping the others")
                    code = p.exitcode or 1
                    stop.append(0)
                    break
                _say(f"worker {p.pid} died (exit code {p.exitcode}): starting another")
                worker_gone(p.pid)  # its in-flight count, attack mode and breaker no longer count
                procs[i] = start()
    finally:
        for p, _ in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn's graceful shutdown (our lifespan drains the writes)
        for p, _ in procs:
            p.join(STOP_S)
            if p.is_alive():
                p.kill()
                p.join()
        for s, h in handlers.items():
            signal.signal(s, h)
    return code
