"""Replay a recorded day of sensitive actions through a running API: the day's logins go to
`/v1/events` (flushed before each action, so the service has every earlier login), the payments and
account changes to `/v1/actions/score`, all in the order the batch folds them
(`ato.features.actions.order_key`). The raw rows come from bronze, as the login replay's do."""

from __future__ import annotations

from datetime import date
from typing import Any

from ato.features.actions import CHANGE, LOGIN, PAYMENT, order_key
from ato.online.replay.feed import Post, clean, post_in_order, raw_events, raw_logins, request_body
from ato.settings import Settings
from ato.tables import ACCOUNT_CHANGES, PAYMENTS

PAYMENT_FIELDS = ("event_id", "event_time", "account_id", "amount", "currency", "payee_id", "payment_method_id",
                  "device_id", "ip")
CHANGE_FIELDS = ("event_id", "event_time", "account_id", "change_type", "device_id", "ip")


def action_body(row: dict[str, Any], kind: str) -> dict[str, Any]:
    """A payments or account_changes row as a /v1/actions/score body (nulls dropped)."""
    fields = PAYMENT_FIELDS if kind == "payment" else CHANGE_FIELDS
    body = {k: clean(row[k]) for k in fields if k != "change_type" and clean(row[k]) is not None}
    return {**body, "kind": kind}


def day_sequence(settings: Settings, day: date) -> list[tuple[str, dict[str, Any]]]:
    """("login" | "action", body) of the day's events, in fold order."""
    out: list[tuple[tuple[float, int, str], str, dict[str, Any]]] = []
    for r in raw_logins(settings, [day]).to_dict("records"):
        out.append((order_key(r["event_time"].timestamp(), LOGIN, r["event_id"]), "login", request_body(r)))
    for r in raw_events(settings, ACCOUNT_CHANGES, CHANGE_FIELDS, [day]).to_dict("records"):
        out.append((order_key(r["event_time"].timestamp(), CHANGE, r["event_id"]), "action",
                    action_body(r, str(r["change_type"]))))
    for r in raw_events(settings, PAYMENTS, PAYMENT_FIELDS, [day]).to_dict("records"):
        out.append((order_key(r["event_time"].timestamp(), PAYMENT, r["event_id"]), "action", action_body(r, "payment")))
    out.sort(key=lambda x: x[0])
    return [(what, body) for _, what, body in out]


def replay_actions(post: Post, settings: Settings, day: date, explain: bool = True,
                   batch: int = 500) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Send the day's logins and actions in order; returns (request, response) of every action."""
    items = ((None if what == "login" else "/v1/actions/score", body) for what, body in day_sequence(settings, day))
    return post_in_order(post, items, explain, batch)
