"""The Airflow REST API (v2) as a user of it drives a DAG: log in, wait for the DAG processor to
have parsed a DAG, unpause it, trigger a run for a logical date, follow it to its end and read its
task states. Standard library only (urllib); used by `ato airflow` and the scheduler test."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import date
from typing import Any

DONE = ("success", "failed")


class AirflowApiError(RuntimeError):
    """An answer other than the one asked for, with Airflow's own message."""


class AirflowApi:
    """A session with the API server at `base` (http://host:port) as `user`."""

    def __init__(self, base: str, user: str, password: str, timeout_s: float = 30) -> None:
        self.base, self.timeout_s = base.rstrip("/"), timeout_s
        self._login = {"username": user, "password": password}
        self._token: str | None = None

    def _send(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        req = urllib.request.Request(self.base + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:500]
            raise AirflowApiError(f"{method} {path}: HTTP {e.code} {detail}") from e

    def token(self) -> str:
        """A JWT from the simple auth manager's /auth/token (drawn once per session)."""
        if self._token is None:
            self._token = str(self._send("POST", "/auth/token", self._login, auth=False)["access_token"])
        return self._token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """`method` on /api/v2`path` with the session's token; the decoded JSON answer."""
        return self._send(method, "/api/v2" + path, body)

    def wait_dag(self, dag_id: str, timeout_s: float = 300) -> dict[str, Any]:
        """The DAG once the DAG processor has parsed it (its import error if it could not)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return dict(self.call("GET", f"/dags/{dag_id}"))
            except AirflowApiError as e:
                if "HTTP 404" not in str(e):
                    raise
            errors = self.call("GET", "/importErrors").get("import_errors", [])
            if errors:
                raise AirflowApiError(f"{dag_id}: the DAG folder has import errors: {errors}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} not parsed after {timeout_s:.0f} s (is the DAG processor running?)")
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, day: date, conf: dict[str, Any] | None = None) -> str:
        """A run of `dag_id` for logical date `day` (00:00 UTC); its run id."""
        run = self.call("POST", f"/dags/{dag_id}/dagRuns",
                        {"logical_date": f"{day.isoformat()}T00:00:00Z", "conf": conf or {}})
        return str(run["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of `dag_id`, oldest first (run_id, run_type, state, ...)."""
        got = self.call("GET", f"/dags/{dag_id}/dagRuns?order_by=id&limit=100")
        return list(got["dag_runs"])

    def wait_run(self, dag_id: str, run_id: str, timeout_s: float = 1800, every_s: float = 3,
                 on_change: Any = None) -> str:
        """Follow a run until it succeeds or fails; its final state. `on_change(tasks)` hears each
        new view of the task states ({task_id: state})."""
        deadline, seen = time.monotonic() + timeout_s, None
        while True:
            state = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if on_change is not None:
                tasks = self.task_states(dag_id, run_id)
                if tasks != seen:
                    on_change(tasks)
                    seen = tasks
            if state in DONE:
                return str(state)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id}: still {state} after {timeout_s:.0f} s")
            time.sleep(every_s)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        got = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")
        return {t["task_id"]: t["state"] for t in got["task_instances"]}
