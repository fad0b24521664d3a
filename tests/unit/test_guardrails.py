"""Guardrails without a server: conf/guardrails.yaml loads; the derived names (successes per window,
velocity known, device, attack flags); the issue's two cases on bare vectors; a guardrail can only
raise; a wrong file is refused with the file, the entry and the problem; the policy's judgement on
top of a decision (raise, never lower; attack mode's stricter tiers); during an attack a degraded
success from a failing IP or /24 (a datacenter /24 only) is stepped up; an account hammered by failures
from elsewhere does not challenge its owner's login from a known device or a clean IP; a worker's own
IP and /24 counts are read times the workers, the account's and device's as counted."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from ato.features.request import LoginSignals
from ato.model.tiers import Tiers
from ato.online.decide.attack import AttackMonitor
from ato.online.decide.guardrails import GuardrailsError, derived_features, load_guardrails
from ato.online.decide.policy import ATTACK_TIERS, Policy, guardrails_path, shared_estimate
from ato.online.decide.records import LiveLogin
from ato.settings import load_settings

pytestmark = pytest.mark.unit
SETTINGS = load_settings(environ={})
CONF = load_guardrails(guardrails_path(SETTINGS))


def vector(**over: Any) -> dict[str, Any]:
    """A successful login whose windows are all zero, with overrides."""
    v: dict[str, Any] = {"outcome": "success", "channel": "web"}
    for key in ("account", "ip", "prefix", "device"):
        for w in ("5m", "1h", "24h"):
            v[f"{key}_attempts_{w}"] = v[f"{key}_failures_{w}"] = 0.0
            if key != "account":
                v[f"{key}_accounts_{w}"] = 0.0
    v.update(over)
    return v


def fired(vec: dict[str, Any], level: int = 0, *, device: bool = True, network: bool = False,
          attack: bool = False) -> list[str]:
    derived = derived_features(vec, has_device=device, attack_network=network, attack_mode=attack,
                               datacenter_ip=vec.get("ip_rep_category") in SETTINGS.policy.attack_asn_categories)
    return [g.name for g in CONF.check(vec, level, derived)]


DEGRADED_ONLY = {"attack_degraded_failing_ip", "attack_degraded_failing_prefix"}  # levels 1, 2, 3


def test_the_conf_file_loads_and_every_guardrail_applies_at_every_level() -> None:
    names = [g.name for g in CONF.guardrails]
    assert {"account_success_burst", "failing_ip_success", "velocity_unknown_success",
            "attack_network_success"} | DEGRADED_ONLY <= set(names)
    assert all(g.levels == {0, 1, 2, 3} for g in CONF.guardrails if g.name not in DEGRADED_ONLY)
    assert all(g.levels == {1, 2, 3} for g in CONF.guardrails if g.name in DEGRADED_ONLY)
    assert all(g.action != "allow" for g in CONF.guardrails)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_six_failed_accounts_from_one_ip_then_a_success(level: int) -> None:
    after_six = vector(ip_attempts_5m=6.0, ip_failures_5m=6.0, ip_accounts_5m=6.0, account_attempts_5m=0.0)
    assert fired(after_six, level, device=False) == ["failing_ip_success"]
    assert fired({**after_six, "outcome": "bad_password"}, level) == [], "a failed login is left alone"
    assert fired(vector(ip_attempts_5m=4.0, ip_failures_5m=4.0, ip_accounts_5m=4.0), level) == []


def test_the_hot_key_limit_is_ten_successes_in_five_minutes() -> None:
    assert fired(vector(account_attempts_5m=9.0, account_attempts_1h=9.0)) == []
    assert fired(vector(account_attempts_5m=10.0, account_attempts_1h=10.0)) == ["account_success_burst"]
    assert fired(vector(account_attempts_5m=12.0, account_failures_5m=3.0)) == [], "successes, not attempts"
    flood = fired(vector(account_attempts_5m=60.0, account_attempts_1h=60.0))
    assert flood == ["account_success_burst", "account_success_flood", "account_success_hourly"]


def test_derived_names() -> None:
    view = derived_features(vector(account_attempts_1h=7.0, account_failures_1h=2.0), has_device=False,
                            attack_network=True, attack_mode=False)
    assert (view["account_successes_1h"], view["velocity_known"], view["has_device"]) == (5.0, 1.0, 0.0)
    assert (view["attack_network"], view["attack_mode"]) == (1.0, 0.0)
    assert math.isnan(view["known_place"]) and view["new_place"] == 1.0, "no history at hand: nothing vouched for"
    for nd, ni, known in ((0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (1.0, 1.0, 0.0), (math.nan, 1.0, 0.0)):
        place = derived_features(vector(new_device=nd, new_ip=ni), has_device=True, attack_network=False,
                                 attack_mode=False)
        assert (place["known_place"], place["new_place"]) == (known, 1.0 - known), (nd, ni)
    bare = {"outcome": "success", "account_attempts_5m": math.nan}
    unknown = derived_features(bare, has_device=True, attack_network=False, attack_mode=False)
    assert unknown["velocity_known"] == 0.0 and math.isnan(unknown["account_successes_5m"])
    assert [g.name for g in CONF.check(bare, 3, unknown)] == ["velocity_unknown_success"]


@pytest.mark.parametrize(("body", "problem"), [
    ("guardrails:\n  - {name: g, when: ['ip_accounts_5m >= 5'], action: allow, reason: r}", "can only raise"),
    ("guardrails:\n  - {name: g, when: ['ip_acounts_5m >= 5'], action: step_up_mfa, reason: r}",
     "did you mean 'ip_accounts_5m'"),
    ("guardrails:\n  - {name: g, when: ['account_successes_5m >= 5'], action: step_up_mfa, reason: r, levels: [4]}",
     "levels must be"),
    ("guardrails:\n  - {name: g, when: [], action: step_up_mfa, reason: r}", "'when' is empty"),
    ("guardrails:\n  - {name: g, when: ['has_device == 0'], action: lock, reason: r, score: 1}", "unknown key(s): score"),
    ("rules: []", "one top-level key 'guardrails:'"),
])
def test_a_wrong_file_is_refused_naming_the_file_and_the_guardrail(tmp_path: Path, body: str, problem: str) -> None:
    f = tmp_path / "guardrails.yaml"
    f.write_text(body)
    with pytest.raises(GuardrailsError) as e:
        load_guardrails(f)
    assert str(f) in str(e.value) and problem in str(e.value)
    if "name: g" in body:
        assert "guardrail 'g' (#1)" in str(e.value)


def login(success: bool = True, category: str | None = None) -> LiveLogin:
    return LiveLogin({"account": "a1", "ip": "iphash", "prefix": "prefixhash", "device": "devhash"},
                     LoginSignals(0.0, success, asn=64500), rep_category=category)


def test_the_datacenter_guardrail_reads_the_categories_attack_mode_counts_asns_from() -> None:
    """`datacenter_ip` comes from `policy.attack_asn_categories`, the one list of datacenter categories."""
    failing_prefix = vector(prefix_attempts_1h=10.0, prefix_failures_1h=10.0, prefix_accounts_1h=10.0)

    def fired_during_attack(categories: list[str]) -> list[str]:
        now = [0.0]
        conf = SETTINGS.policy.model_copy(update={"attack_asn_categories": categories})
        policy = Policy(CONF, AttackMonitor(conf, clock=lambda: now[0]), 0.5)
        attack_on(policy, now)
        return policy.judge(failing_prefix, 1, login(category="hosting"), "allow", 0.0, None, None, 0.0).names

    assert "attack_degraded_failing_prefix" in fired_during_attack(["hosting", "proxy", "tor"])
    assert "attack_degraded_failing_prefix" not in fired_during_attack(["proxy"]), "hosting off the list"


def test_the_policy_raises_never_lowers_and_attack_mode_tightens_the_tiers() -> None:
    now = [0.0]
    policy = Policy(CONF, AttackMonitor(SETTINGS.policy, clock=lambda: now[0]), 0.5)
    burst = vector(account_attempts_5m=10.0)
    locked = policy.judge(burst, 0, login(), "temporary_lock", 0.99, None, None, 0.0)
    assert (locked.action, locked.names) == ("temporary_lock", ["account_success_burst"]), "never lowered"
    raised = policy.judge(burst, 2, login(), "allow", 0.0, None, None, 0.0)
    assert raised.action == "step_up_mfa" and raised.reasons[0].endswith("(guardrail account_success_burst)")
    tiers = Tiers({"step_up_mfa": 0.3})
    assert policy.judge(vector(), 0, login(), "allow", 0.2, tiers, None, 0.0).action == "allow"
    for _ in range(250):  # a wave of failures trips the global signal: thresholds halved for successes
        policy.attack.observe(None, None, True, False)
    now[0] = 2.0
    policy.attack.tick()
    assert policy.attack.status().global_on
    tight = policy.judge(vector(), 0, login(), "allow", 0.2, tiers, None, 0.0)
    assert (tight.action, tight.names) == ("step_up_mfa", [ATTACK_TIERS])
    home = vector(new_device=0.0, new_ip=1.0)  # the owner's own phone on another network
    assert policy.judge(home, 0, login(), "allow", 0.2, tiers, None, 0.0).action == "allow", "new_place 0: spared"
    assert policy.judge(vector(), 0, login(False), "allow", 0.2, tiers, None, 0.0).action == "allow"


@pytest.mark.parametrize("level", [1, 2, 3])
def test_during_an_attack_a_degraded_success_from_a_failing_ip_or_prefix_is_stepped_up(level: int) -> None:
    ip = vector(ip_attempts_1h=3.0, ip_failures_1h=1.0, ip_accounts_1h=3.0, prefix_attempts_1h=3.0,
                prefix_failures_1h=1.0, prefix_accounts_1h=3.0)
    prefix = vector(prefix_attempts_1h=10.0, prefix_failures_1h=10.0, prefix_accounts_1h=10.0,
                    ip_rep_category="hosting")
    assert fired(ip, level, attack=True) == ["attack_degraded_failing_ip"]
    assert fired(prefix, level, attack=True) == ["attack_degraded_failing_prefix"]
    for residential in (None, "botnet"):  # customers beside a few botnet IPs: the per-IP guardrails decide
        assert fired({**prefix, "ip_rep_category": residential}, level, attack=True) == []
    typo = vector(ip_attempts_1h=2.0, ip_failures_1h=2.0, ip_accounts_1h=2.0, prefix_attempts_1h=2.0,
                  prefix_failures_1h=2.0, prefix_accounts_1h=2.0)
    assert fired(typo, level, attack=True) == [], "a person's typos (a household's two accounts, or one read doubled)"
    assert fired({**prefix, "prefix_accounts_1h": 9.0}, level, attack=True) == []
    assert fired({**prefix, "prefix_failures_1h": 9.0}, level, attack=True) == []
    assert fired({**ip, "ip_failures_1h": 0.0}, level, attack=True) == [], "no failure from the IP"
    assert fired(ip, level) == [] and fired(prefix, level) == [], "attack mode off"
    assert fired({**ip, "outcome": "bad_password"}, level, attack=True) == [], "a failed login is left alone"
    assert fired(ip, 0, attack=True) == [] and fired(prefix, 0, attack=True) == [], "level 0: the model decides"


def attack_on(policy: Policy, now: list[float]) -> None:
    for _ in range(250):  # a wave of failures trips the global signal
        policy.attack.observe(None, None, True, None)
    now[0] += 2.0
    policy.attack.tick()
    assert policy.attack.status().global_on


def test_the_policy_steps_up_a_degraded_success_from_a_failing_ip_only_in_attack_mode() -> None:
    now = [0.0]
    policy = Policy(CONF, AttackMonitor(SETTINGS.policy, clock=lambda: now[0]), 0.5)
    seen = vector(ip_attempts_1h=3.0, ip_failures_1h=1.0, ip_accounts_1h=3.0)
    assert [policy.judge(seen, lv, login(), "allow", 0.0, None, None, 0.0).action for lv in range(4)] == ["allow"] * 4
    attack_on(policy, now)
    judged = [policy.judge(seen, lv, login(), "allow", 0.0, None, None, 0.0) for lv in range(4)]
    assert (judged[0].action, judged[0].names) == ("allow", []), "level 0 is not affected"
    for j in judged[1:]:
        assert (j.action, j.names) == ("step_up_mfa", ["attack_degraded_failing_ip"])


def test_a_workers_own_ip_and_prefix_counts_are_read_times_the_workers_account_and_device_as_counted() -> None:
    own = vector(ip_attempts_5m=3.0, ip_failures_5m=3.0, ip_accounts_5m=3.0, account_attempts_5m=5.0,
                 account_failures_1h=6.0, prefix_attempts_1h=4.0, prefix_attempts_5m=math.nan,
                 device_accounts_1h=3.0, new_ip=1.0)
    est = shared_estimate(own, 2)
    assert (est["ip_failures_5m"], est["ip_accounts_5m"], est["prefix_attempts_1h"]) == (6.0, 6.0, 8.0)
    assert (est["account_attempts_5m"], est["account_failures_1h"], est["device_accounts_1h"]) == (5.0, 6.0, 3.0)
    assert math.isnan(est["prefix_attempts_5m"]) and est["new_ip"] == 1.0 and est["outcome"] == "success"
    assert shared_estimate(own, 1) is own and own["ip_failures_5m"] == 3.0, "one worker: as counted; input kept"

    def names(vec: dict[str, Any], workers: int, local: bool) -> list[str]:
        policy = Policy(CONF, AttackMonitor(SETTINGS.policy, clock=lambda: 0.0), 0.5, workers)
        return policy.judge(vec, 1, login(), "allow", 0.0, None, None, 0.0, local=local).names

    # 3 failures on 3 accounts in this worker of 2: ~6 in all, past failing_ip_success (5 and 5); the
    # account's 5 successes (the hot key's 6th login, all on one connection) stay 5, under the limit of 10
    assert names(own, 2, local=True) == ["failing_ip_success"]
    assert names(own, 2, local=False) == [], "counts from the shared store are read as they are"
    assert names(own, 1, local=True) == [], "one worker sees all"
    # an account hammered from elsewhere (6 failures seen here) and its owner's IP failing once (a typo):
    # read doubled, that was 12 >= 10 and a step-up; as counted, 6
    typo = vector(account_attempts_1h=7.0, account_failures_1h=6.0, ip_attempts_1h=1.0, ip_failures_1h=1.0,
                  ip_accounts_1h=1.0)
    assert names(typo, 2, local=True) == []
    assert names({**typo, "account_attempts_5m": 10.0}, 2, local=True) == ["account_success_burst"]


def test_an_account_hammered_from_elsewhere_does_not_challenge_its_owner() -> None:
    hammered = dict(account_attempts_1h=13.0, account_failures_1h=12.0)
    owner = vector(**hammered, new_device=0.0, new_ip=1.0)  # their own phone on a new network
    assert fired(owner) == [] and fired(owner, 1) == []
    assert fired(vector(**hammered, new_device=1.0, new_ip=0.0)) == [], "a new phone at home"
    blind = vector(**hammered)  # no store: no history, and this IP failed nothing
    assert fired(blind, 1) == []
    # the failures may have come from this IP: the password finally matched there
    from_failing_ip = vector(**hammered, ip_attempts_1h=4.0, ip_failures_1h=3.0, ip_accounts_1h=1.0)
    assert fired(from_failing_ip, 1) == ["account_failures_then_success"]
    # a stuffing success from a clean IP: neither the device (none, or a random fingerprint) nor the IP known
    assert fired(vector(**hammered, new_device=math.nan, new_ip=1.0), device=False) == ["account_failures_then_new_place"]
    assert fired(vector(**hammered, new_device=1.0, new_ip=1.0)) == ["account_failures_then_new_place"]
    assert fired(vector(account_attempts_1h=10.0, account_failures_1h=9.0, new_device=1.0, new_ip=1.0)) == []


@pytest.mark.parametrize(("category", "flagged"), [("hosting", True), ("proxy", True), (None, False), ("botnet", False)])
def test_the_policy_flags_an_asn_from_the_logins_reputation_category(category: str | None, flagged: bool) -> None:
    """Failures spread over many /24s of one ASN (none past its own /24 limit): the owner's success from
    another /24 of it is stepped up only when the ASN is a datacenter's (its IPs filed as hosting/proxy)."""
    now = [0.0]
    policy = Policy(CONF, AttackMonitor(SETTINGS.policy, clock=lambda: now[0]), 0.5)
    for i in range(300):
        now[0] += 0.01
        policy.observe(LiveLogin({"account": f"v{i}", "ip": f"ip{i}", "prefix": f"p{i % 30}", "device": None},
                                 LoginSignals(0.0, False, asn=64500), f"e{i}", category))
    owner = LiveLogin({"account": "a1", "ip": "home", "prefix": "home24", "device": "dev"},
                      LoginSignals(0.0, True, asn=64500), "owner", category)
    j = policy.judge(vector(), 0, owner, "allow", 0.0, None, None, 0.0)  # no history: new_place 1
    assert (j.action, j.names) == (("step_up_mfa", ["attack_network_success"]) if flagged else ("allow", []))
    known = policy.judge(vector(new_device=0.0, new_ip=1.0), 0, owner, "allow", 0.0, None, None, 0.0)
    assert (known.action, known.names) == ("allow", []), "the account's own device in the flagged network"
    assert fired(vector(new_device=1.0, new_ip=1.0), network=True) == ["attack_network_success"]


def test_a_failing_prefix_challenges_new_places_only() -> None:
    """50+ accounts and failures from the /24 in an hour: a success there from a device and IP new to
    the account (or without history) is stepped up; the account's own phone in that /24 is not."""
    busy = {"prefix_accounts_1h": 50.0, "prefix_failures_1h": 50.0, "prefix_attempts_1h": 60.0}
    assert fired(vector(**busy, new_device=1.0, new_ip=1.0)) == ["prefix_accounts_failing"]
    assert fired(vector(**busy)) == ["prefix_accounts_failing"], "no history: nothing vouches for it"
    assert fired(vector(**busy, new_device=0.0, new_ip=1.0)) == []
