"""The action features (`ato.features.actions`) on small exact inputs, and the property serving
relies on: a state folded from any earlier start gives the same features (snapshot + same day
equals the batch's continuous fold)."""

from __future__ import annotations

import math
import random

import pytest

from ato.features.actions import (
    ACTION_FEATURES,
    ACTION_KINDS,
    CHANGE,
    DAY_S,
    LOGIN,
    PAYMENT,
    Action,
    ActionState,
    Event,
    fold,
)

pytestmark = pytest.mark.unit
T0 = 100 * DAY_S  # midnight of day 100


def pay(eid: str, t: float, amount: float = 10.0, payee: str = "p1", method: str = "m1", device: str | None = "d1",
        ip: str | None = "i1") -> Event:
    return Event(PAYMENT, Action(eid, t, "payment", amount, payee, method, device, ip))


def change(eid: str, t: float, kind: str = "payout_method_added", device: str | None = "d1",
           ip: str | None = "i1") -> Event:
    return Event(CHANGE, Action(eid, t, kind, device=device, ip=ip))


def login(eid: str, t: float, device: str | None = "d1", ip: str | None = "i1") -> Event:
    return Event(LOGIN, None, t, device, ip, eid)


def features(events: list[Event]) -> dict[str, dict[str, float]]:
    return {a.event_id: f for a, f in fold(events)}


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_a_first_action_knows_nothing() -> None:
    f = features([pay("a", T0 + 10)])["a"]
    assert set(f) == set(ACTION_FEATURES)
    assert f["action_kind"] == ACTION_KINDS.index("payment")
    assert math.isnan(f["amount_ratio"]) and math.isnan(f["s_since_login"])
    assert math.isnan(f["same_device_as_login"]) and math.isnan(f["same_ip_as_login"])
    assert (f["payee_new"], f["method_new"], f["device_new"], f["ip_new"]) == (1.0, 1.0, 1.0, 1.0)
    assert (f["actions_since_login"], f["changes_24h"]) == (0.0, 0.0)


def test_amount_ratio_is_against_the_median_of_earlier_payments() -> None:
    f = features([pay("a", T0 + 1, 10), pay("b", T0 + 2, 20), pay("c", T0 + 3, 90), pay("d", T0 + 4, 60)])
    assert f["b"]["amount_ratio"] == 2.0  # 20 / 10
    assert f["c"]["amount_ratio"] == 6.0  # 90 / median(10, 20) = 15
    assert f["d"]["amount_ratio"] == 3.0  # 60 / median(10, 20, 90) = 20
    assert math.isnan(features([change("x", T0)])["x"]["amount_ratio"])


def test_payee_and_method_are_new_until_paid_once_and_again_after_thirty_days() -> None:
    f = features([pay("a", T0, payee="p1", method="m1"), pay("b", T0 + 5, payee="p1", method="m2"),
                  pay("c", T0 + 31 * DAY_S, payee="p1", method="m2")])
    assert (f["b"]["payee_new"], f["b"]["method_new"]) == (0.0, 1.0)
    assert f["c"]["payee_new"] == 1.0, "day 100 is outside the 30 days before day 131"
    assert f["c"]["method_new"] == 1.0
    g = features([pay("a", T0, payee="p1"), pay("b", T0 + 30 * DAY_S + 5, payee="p1")])
    assert g["b"]["payee_new"] == 0.0, "day 100 is inside [130 - 30, 130]"


def test_device_and_ip_are_new_when_unseen_before_the_session() -> None:
    # known device d1 / IP i1 from a login; a later login from d2 / i2 opens the session
    ev = [login("l1", T0, "d1", "i1"), login("l2", T0 + 3600, "d2", "i2"),
          change("c", T0 + 3700, device="d2", ip="i2"), pay("p", T0 + 3800, device="d1", ip="i2")]
    f = features(ev)
    assert (f["c"]["device_new"], f["c"]["ip_new"]) == (1.0, 1.0), "the session's own login does not vouch for it"
    assert (f["c"]["same_device_as_login"], f["c"]["same_ip_as_login"]) == (1.0, 1.0)
    assert f["c"]["s_since_login"] == 100.0
    assert (f["p"]["device_new"], f["p"]["ip_new"]) == (0.0, 1.0)
    assert (f["p"]["same_device_as_login"], f["p"]["same_ip_as_login"]) == (0.0, 1.0)
    assert f["p"]["actions_since_login"] == 1.0


def test_a_failed_login_is_not_folded_and_payments_vouch_for_places() -> None:
    f = features([pay("a", T0, device="d9", ip="i9"), pay("b", T0 + 1, device="d9", ip="i9")])
    assert (f["b"]["device_new"], f["b"]["ip_new"]) == (0.0, 0.0)
    g = features([change("a", T0, device="d9", ip="i9"), change("b", T0 + 1, device="d9", ip="i9")])
    assert (g["b"]["device_new"], g["b"]["ip_new"]) == (1.0, 1.0), "a change does not make a place known"
    assert math.isnan(features([change("x", T0, device=None)])["x"]["device_new"])


def test_actions_since_login_restart_at_each_login_and_changes_count_over_24_hours() -> None:
    ev = [change("c1", T0, "email_change"), change("c2", T0 + 10, "password_reset"), login("l", T0 + 20),
          change("c3", T0 + 30, "phone_change"), pay("p", T0 + DAY_S + 5)]
    f = features(ev)
    assert f["c2"]["actions_since_login"] == 1.0  # no login yet: every action of the window
    assert f["c3"]["actions_since_login"] == 0.0
    assert f["c3"]["changes_24h"] == 1.0, "password resets are not counted"
    assert f["p"]["actions_since_login"] == 1.0
    assert f["p"]["changes_24h"] == 1.0, "c1 is more than 24 h before p, c3 is not"


def test_an_action_folded_twice_counts_once_and_a_login_twice_changes_nothing() -> None:
    st = ActionState()
    a = Action("a", T0, "payment", 10.0, "p1", "m1", "d1", "i1")
    assert st.observe_action(a) and not st.observe_action(a)
    st.observe_login(T0 + 5, "d1", "i1")
    once = ActionState.from_json(st.to_json())
    st.observe_login(T0 + 5, "d1", "i1")
    assert st == once
    assert len(st.amounts) == 1


def test_the_state_survives_its_json_form() -> None:
    st = ActionState()
    for e in [login("l", T0, "d1", "i1"), pay("a", T0 + 1), change("b", T0 + 2)]:
        list(fold([e], st))
    back = ActionState.from_json(st.to_json())
    probe = Action("z", T0 + 50, "payment", 30.0, "p2", "m1", "d1", "i3")
    assert back == st
    assert all(same(back.features(probe)[k], v) for k, v in st.features(probe).items())


def random_stream(rng: random.Random, days: int) -> list[Event]:
    out: list[Event] = []
    for i in range(rng.randint(1200, 1500)):
        t = T0 + rng.randint(0, days * DAY_S)
        dev, ip = f"d{rng.randint(0, 70)}", f"i{rng.randint(0, 150)}"  # past CAP_PLACES
        r = rng.random()
        if r < 0.4:
            out.append(login(f"l{i}", t, dev, ip))
        elif r < 0.6:
            out.append(change(f"c{i}", t, rng.choice(ACTION_KINDS[1:]), dev, ip))
        else:
            out.append(pay(f"p{i}", t, rng.uniform(1, 100), f"y{rng.randint(0, 90)}", f"m{rng.randint(0, 3)}", dev, ip))
    return sorted(out, key=lambda e: e.key)


@pytest.mark.parametrize("seed", range(3))
def test_folding_from_the_window_start_gives_the_continuous_folds_features(seed: int) -> None:
    """The snapshot of day D-1 is folded from D-30 on, the batch from weeks earlier: day D's
    features must not depend on where the fold began (caps included: many places and payees)."""
    ev = random_stream(random.Random(seed), 70)
    continuous = {a.event_id: f for a, f in fold(ev)}
    compared = 0
    for day in range(135, 171):
        start, end = (day - 30) * DAY_S, (day + 1) * DAY_S
        snap = ActionState()
        for _ in fold([e for e in ev if start <= e.key[0] < day * DAY_S], snap, emit_from_s=float("inf")):
            pass
        served = ActionState.from_json(snap.to_json())
        for a, f in fold([e for e in ev if day * DAY_S <= e.key[0] < end], served):
            assert all(same(f[k], continuous[a.event_id][k]) for k in ACTION_FEATURES), (a, f, continuous[a.event_id])
            compared += 1
    assert compared > 300
