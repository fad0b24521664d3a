"""What a replayed day's decisions add up to, on hand-written decisions."""

from __future__ import annotations

from typing import Any

import pytest

from ato.online.replay.summary import Row, kind_of, summarize

pytestmark = pytest.mark.unit


def decision(action: str, level: int = 0, ms: float = 1.0) -> dict[str, Any]:
    return {"action": action, "fallback_level": level, "latency_ms": ms}


def test_actions_levels_latency_and_the_share_challenged_of_each_kind() -> None:
    rows: list[Row] = [("takeover (credential_stuffing)", {}, decision("temporary_lock", ms=2.0)),
            ("takeover (fraud_ring)", {}, decision("allow", ms=1.0)),
            ("failed attack (credential_stuffing)", {}, decision("step_up_mfa", 1, 3.0)),
            ("legit", {}, decision("allow", ms=1.0)),
            ("legit", {}, decision("allow", 3, 1.0)),
            ("?", {}, decision("manual_review", ms=101.0))]
    s = summarize(rows)
    assert s.scored == 6
    assert s.actions == {"temporary_lock": 1, "allow": 3, "step_up_mfa": 1, "manual_review": 1}
    assert s.fallback_levels == {0: 4, 1: 1, 3: 1}
    assert s.latency_p50_ms == 1.5 and s.latency_p99_ms == pytest.approx(101.0 - 0.05 * 98.0)
    assert s.challenged == {"takeover": (1, 2), "failed attack": (1, 1), "legit": (0, 2)}, "no truth: not counted"
    lines = s.lines()
    assert lines[0] == "6 logins scored: allow 3, step_up_mfa 1, manual_review 1, temporary_lock 1"
    assert lines[1].startswith("answered by fallback level 0: 4, 1: 1, 3: 1; service latency p50 1.5 ms")
    assert lines[2] == "takeover: 1 of 2 challenged (50.0%; step-up, review or lock)"
    assert lines[4] == "legit: 0 of 2 challenged (0.0%; step-up, review or lock)"


def test_kinds_come_from_the_label_and_no_truth_is_none() -> None:
    assert kind_of("takeover (low_and_slow)") == "takeover"
    assert kind_of("failed attack (credential_stuffing)") == "failed attack"
    assert kind_of("legit") == "legit" and kind_of("?") is None
