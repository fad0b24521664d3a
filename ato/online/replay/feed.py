"""Replay recorded logins through a running API, as the login backend would have sent them.

The raw logins come from bronze (silver has no raw IPs or device ids), one row per event id as
silver keeps it. The day before is fed to `/v1/events` (the speed layer's last 24 hours), then
the day itself goes, in time order, to `/v1/score` (chosen logins) and `/v1/events` (the rest,
flushed before each scored login so the service sees them in order). Used by the parity test,
the demo (`ato replay`) and the serving benchmark (realistic request bodies).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import pandas as pd

from ato import deltars
from ato.progress import QUIET, Progress
from ato.settings import Settings
from ato.tables import LOGINS

LOGIN_FIELDS = ("event_id", "event_time", "account_id", "outcome", "ip", "user_agent", "device_id", "country",
                "city", "latitude", "longitude", "asn", "channel", "session_id")


def raw_events(settings: Settings, stream: str, fields: tuple[str, ...], dates: Iterable[date]) -> pd.DataFrame:
    """Bronze rows of a stream on `dates` that reached silver, deduplicated as silver does, in (time, id) order."""
    import pyarrow.compute as pc

    days = sorted(set(dates))
    flt = pc.field("event_date").isin(days)
    bronze = deltars.read(settings, "bronze", stream, [*fields, "_ingested_at", "_source_file", "_row_id"],
                          flt).to_pandas()
    kept = deltars.read(settings, "silver", stream, ["event_id"], flt).to_pandas()
    bronze = bronze.sort_values(["event_id", "_ingested_at", "_source_file", "_row_id"], kind="stable")
    df = bronze.drop_duplicates("event_id").merge(kept, on="event_id")
    return df.sort_values(["event_time", "event_id"], kind="stable", ignore_index=True)[list(fields)]


def raw_logins(settings: Settings, dates: Iterable[date]) -> pd.DataFrame:
    """Bronze logins of `dates` that reached silver, deduplicated as silver does, in (time, id) order."""
    return raw_events(settings, LOGINS, LOGIN_FIELDS, dates)


def clean(v: Any) -> Any:
    """A frame's value as JSON wants it (NaN and NaT as None, timestamps as RFC 3339)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


def request_body(row: dict[str, Any]) -> dict[str, Any]:
    """A logins row as a /v1/score body (and a /v1/events record): nulls dropped, JSON types."""
    body = {k: clean(row[k]) for k in LOGIN_FIELDS if clean(row[k]) is not None}
    if "asn" in body:
        body["asn"] = int(body["asn"])  # a nullable integer column arrives as float
    return body


Post = Callable[[str, dict[str, Any]], dict[str, Any]]


def replay_day(post: Post, settings: Settings, day: date, score: Callable[[dict[str, Any]], bool],
               explain: bool = False, warm_up: bool = True, batch: int = 500,
               progress: Progress = QUIET) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Feed the day before to /v1/events, then the day's logins in order; returns (request, response)
    for every login `score` picks. `post(path, body)` returns the response's JSON and raises on errors."""
    if warm_up:
        before = raw_logins(settings, [day - timedelta(days=1)])
        rows = [request_body(r) for r in before.to_dict("records")]
        for i in range(0, len(rows), batch):
            post("/v1/events", {"logins": rows[i:i + batch]})
    logins = raw_logins(settings, [day]).to_dict("records")
    bodies = (request_body(r) for r in progress.track(logins, len(logins), f"replaying the logins of {day}"))
    return post_in_order(post, (("/v1/score" if score(b) else None, b) for b in bodies), explain, batch)


def post_in_order(post: Post, items: Iterable[tuple[str | None, dict[str, Any]]], explain: bool,
                  batch: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Send (route, body) items in order: a body without a route is a login for `/v1/events`, sent in
    batches flushed before each routed one (so the service has every earlier login); a routed body
    goes to its route with `explain`. Returns (request, response) of every routed body."""
    out = []
    pending: list[dict[str, Any]] = []
    for route, body in items:
        if route is None:
            pending.append(body)
            if len(pending) >= batch:
                post("/v1/events", {"logins": pending})
                pending = []
            continue
        if pending:
            post("/v1/events", {"logins": pending})
            pending = []
        req = {**body, "explain": explain}
        out.append((req, post(route, req)))
    if pending:
        post("/v1/events", {"logins": pending})
    return out
