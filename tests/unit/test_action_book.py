"""The serving side's action book: snapshot states parsed on first use, same-day folds, and a newly
published snapshot taking over with only what came after its day folded again."""

from __future__ import annotations

import pytest

from ato.features.actions import Action, ActionState
from ato.online.decide.records import snapshot_cutoff_s
from ato.online.sensitive import ActionBook

pytestmark = pytest.mark.unit
DAY5 = snapshot_cutoff_s("2026-08-05")  # midnight starting 08-06
DAY6 = snapshot_cutoff_s("2026-08-06")


def pay(eid: str, t: float, payee: str = "p1") -> Action:
    return Action(eid, t, "payment", 10.0, payee, "m1", "d1", "i1")


def test_same_day_folds_survive_a_new_snapshot_and_earlier_ones_come_from_it() -> None:
    known = ActionState()
    known.observe_action(pay("old", DAY5 - 100, payee="p-old"))
    book = ActionBook("2026-08-05", {"a": known.to_json()})
    book.observe_login("a", DAY5 + 5, "d1", "i1")
    assert book.features("a", pay("x1", DAY5 + 10, payee="p-old"))["payee_new"] == 0.0, "the snapshot's history"
    book.features("a", pay("x2", DAY6 + 5, payee="p-late"))  # after the next snapshot's day
    # the snapshot of 08-06 already holds x1 and the login (folded by the batch), not x2
    published = ActionState()
    published.observe_action(pay("old", DAY5 - 100, payee="p-old"))
    published.observe_login(DAY5 + 5, "d1", "i1")
    published.observe_action(pay("x1", DAY5 + 10, payee="p-old"))
    new = book.rebased("2026-08-06", {"a": published.to_json()})
    f = new.features("a", pay("x3", DAY6 + 50, payee="p-late"))
    assert f["payee_new"] == 0.0, "x2, folded after the new snapshot's day, was carried over"
    assert f["actions_since_login"] == 2.0, "x1 (from the snapshot) and x2 (carried), each once"
    assert new.since["a"][0][0] == "action" and len(new.since["a"]) == 2  # x2, x3: nothing before 08-07
