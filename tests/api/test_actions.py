"""/v1/actions/score in process: a scored login opens the session the next action's features see,
logins and payments told through /v1/events count too, the audit line holds hashes only, and an
action model's thresholds map its score to the decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ato.features.actions import ACTION_FEATURES, ACTION_KINDS
from ato.online.decide.models import Models
from ato.sensitive.model import ActionModel
from ato.settings import Settings
from tests.api.builders import build_app, serve
from tests.builders import make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
IP, DEVICE = "198.51.100.23", "dev-raw-42"


def action(eid: str, t: str, **kw: Any) -> dict[str, Any]:
    body = {"event_id": eid, "event_time": t, "account_id": "acct_0000042", "kind": "payment", "amount": 50.0,
            "currency": "USD", "payee_id": "payee_1", "payment_method_id": "pm_1", "device_id": DEVICE, "ip": IP,
            "explain": True}
    return body | kw


async def test_an_action_sees_the_session_the_scored_login_opened(settings: Settings, models: Models) -> None:
    app = build_app(settings, models)
    async with serve(app) as c:
        login = make_score_request(account_id="acct_0000042", ip=IP, device_id=DEVICE, outcome="success",
                                   event_time="2026-08-05T10:00:00Z", event_id="l-1")
        assert (await c.post("/v1/score", json=login)).status_code == 200
        r1 = await c.post("/v1/actions/score", json=action("p-1", "2026-08-05T10:05:00Z"))
        r2 = await c.post("/v1/actions/score", json=action("p-2", "2026-08-05T10:06:00Z", amount=150.0,
                                                           payee_id="payee_2"))
        assert (await c.post("/v1/events", json={"payments": [{
            "event_id": "p-3", "event_time": "2026-08-05T10:07:00Z", "account_id": "acct_0000042", "amount": 10.0,
            "currency": "USD", "status": "succeeded", "payee_id": "payee_3", "payment_method_id": "pm_1"}]})
                ).status_code == 200
        r3 = await c.post("/v1/actions/score", json=action("c-1", "2026-08-05T10:08:00Z", kind="email_change",
                                                           amount=None, payee_id=None, payment_method_id=None))
        bad = await c.post("/v1/actions/score", json=action("x", "2026-08-05T10:09:00Z", kind="wire"))
        bad_ip = await c.post("/v1/actions/score", json=action("y", "2026-08-05T10:09:00Z", ip="10.0.0.300"))
        far = await c.post("/v1/actions/score", json=action("z", "2999-01-01T00:00:00Z"))
    assert bad.status_code == 422
    assert bad_ip.status_code == 422 and "IPv4 or IPv6" in bad_ip.text, "an action's IP is checked as a login's"
    assert far.status_code == 422 and "future" in far.text
    f1, f2, f3 = (r.json()["features"] for r in (r1, r2, r3))
    assert r1.json()["action"] == "allow" and r1.json()["model_version"] is None  # no action model yet
    assert (f1["s_since_login"], f1["same_ip_as_login"], f1["same_device_as_login"]) == (300.0, 1.0, 1.0)
    assert (f1["device_new"], f1["ip_new"], f1["payee_new"], f1["amount_ratio"]) == (1.0, 1.0, 1.0, None)
    assert (f2["amount_ratio"], f2["payee_new"], f2["method_new"], f2["actions_since_login"]) == (3.0, 1.0, 0.0, 1.0)
    assert f3["action_kind"] == ACTION_KINDS.index("email_change")
    assert f3["actions_since_login"] == 3.0, "the payment told through /v1/events counts"
    lines = [json.loads(x) for p in Path(settings.serving.audit_dir).rglob("*actions-*.jsonl")
             for x in p.read_text().splitlines()]
    assert [x["event_id"] for x in lines] == ["p-1", "p-2", "c-1"]
    text = "".join(p.read_text() for p in Path(settings.serving.audit_dir).rglob("*.jsonl"))
    assert IP not in text and DEVICE not in text and lines[0]["ip_hash"]
    assert '"payee_1"' not in text and '"pm_1"' not in text, "payees and payment methods are pseudonymized too"


class _Fixed:
    """A booster stand-in whose score is the amount ratio / 10 (the thresholds are the point here)."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num(x[:, ACTION_FEATURES.index("amount_ratio")] / 10)


def test_the_thresholds_map_the_score_to_the_decision() -> None:
    m = ActionModel("v", _Fixed(), ACTION_FEATURES,
                    {"temporary_lock": 0.9, "manual_review": 0.6, "step_up_mfa": 0.3})
    base = dict.fromkeys(ACTION_FEATURES, 0.0)
    got = [m.score(base | {"amount_ratio": r})[1] for r in (1.0, 3.0, 6.0, 9.5)]
    assert got == ["allow", "step_up_mfa", "manual_review", "temporary_lock"]
