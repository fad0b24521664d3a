"""Attack mode with an injected clock: a /24 failure spike flags that network and attack mode starts
(a log line, a listener call) and ends once the spike decayed and the hold passed; an ASN spike, flagged
only from hosting/proxy/tor ranges (a residential ASN: only its /24s); the
global signal on the failed share, and on new IPs with elevated failures; normal traffic never
trips it; the memory of tracked networks stays bounded."""

from __future__ import annotations

import logging

import pytest

from ato.online.decide.attack import AttackMonitor, AttackStatus
from ato.serving_conf import PolicyConf

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


def monitor(**conf: object) -> tuple[AttackMonitor, Clock, list[AttackStatus]]:
    clock, seen = Clock(), list[AttackStatus]()
    return AttackMonitor(PolicyConf.model_validate(conf), clock=clock, on_change=seen.append), clock, seen


def test_a_prefix_spike_starts_attack_mode_and_it_ends_after_the_hold(caplog: pytest.LogCaptureFixture) -> None:
    m, clock, seen = monitor()
    caplog.set_level(logging.INFO, logger="ato.serving.attack")
    results = []
    for _ in range(25):
        clock.t += 0.5
        results.append(m.observe("a1b2c3d4e5f6a7b8c9d0", 64500, True, True))
    first = next(i for i, (_, hit) in enumerate(results) if hit is not None)
    assert first in (19, 20), "the 20th failure reaches the /24 floor of 20 (the 21st, once 10 s of decay count)"
    assert results[first:] == [(False, "prefix:a1b2c3d4e5f6")] * (25 - first) and results[:first] == [(False, None)] * first
    assert m.observe("ffff0000", 64500, False, False) == (False, None), "another /24 of the same ASN is not flagged"
    st = m.status()
    assert (st.on, st.global_on, list(st.networks)) == (True, False, ["prefix:a1b2c3d4e5f6"])
    assert [s.on for s in seen] == [True]
    clock.t += 100  # decayed under the floor, but the hold (120 s) has not passed
    m.tick()
    assert m.status().on
    clock.t += 300
    m.tick()
    assert not m.status().on and [s.on for s in seen] == [True, False]
    text = caplog.text
    assert "network prefix:a1b2c3d4e5f6 flagged" in text and "attack mode started" in text
    assert "network prefix:a1b2c3d4e5f6 released" in text and "attack mode ended after" in text


def test_an_asn_spike_over_many_prefixes_flags_the_asn_only_of_a_datacenter_network() -> None:
    m, clock, _ = monitor()
    for i in range(120):
        clock.t += 0.1
        _, hit = m.observe(f"prefix{i:04d}", 64501, True, False, "hosting")
    assert hit == "asn:64501" and list(m.status().networks) == ["asn:64501"]
    for category in (None, "botnet"):  # residential ranges (a botnet IP is one address in a residential ASN)
        m, clock, _ = monitor()
        for i in range(300):
            clock.t += 0.1
            _, hit = m.observe(f"prefix{i:04d}", 7922, True, False, category)
        assert hit is None and m.status().networks == {}, "a residential ASN is never flagged as a whole"
        assert m.observe("prefix0299", 7922, False, False, category)[1] is None
        for _ in range(30):  # its /24s still are
            _, hit = m.observe("hot-prefix", 7922, True, False, category)
        assert hit == "prefix:hot-prefix" and list(m.status().networks) == ["prefix:hot-prefix"]
    m, clock, _ = monitor(attack_asn_categories=["proxy"])
    for i in range(120):
        clock.t += 0.1
        _, hit = m.observe(f"prefix{i:04d}", 64501, True, False, "hosting")
    assert hit is None, "the categories come from conf"


def test_the_global_signal_on_the_failed_share() -> None:
    m, clock, _ = monitor()
    for i in range(300):  # a distributed wave: every login from its own /24 and no ASN
        clock.t += 0.05
        m.observe(f"net{i}", None, i % 10 != 0, False)
    clock.t += 1
    m.tick()
    st = m.status()
    assert st.global_on and st.on and st.networks == {}
    for i in range(2000):  # the wave is over: normal traffic, 5 % failures, for a long while
        clock.t += 1
        m.observe(f"home{i % 50}", 7922, i % 20 == 0, False)
    assert not m.status().on


def test_the_global_signal_on_new_ips_needs_elevated_failures() -> None:
    for fail_every, expected in ((3, True), (20, False)):  # 33 % vs 5 % failed, all from IPs new to the account
        m, clock, _ = monitor()
        for i in range(300):
            clock.t += 0.05
            m.observe(f"net{i}", None, i % fail_every == 0, True)
        clock.t += 1
        m.tick()
        assert m.status().global_on is expected, fail_every


def test_normal_traffic_never_starts_attack_mode() -> None:
    m, clock, seen = monitor()
    for i in range(20_000):  # 20 logins a second over 50 /24s and 5 ASNs, 5 % failures, a few new IPs
        clock.t += 0.05
        m.observe(f"home{i % 50}", 7900 + i % 5, i % 20 == 0, i % 10 == 0)
    assert not m.status().on and seen == []


def test_tracked_networks_stay_bounded() -> None:
    m, clock, _ = monitor(attack_max_networks=100)
    for i in range(10_000):
        clock.t += 0.001
        m.observe(f"p{i}", i, False, False)
        assert len(m.nets) <= 101
    for _ in range(25):  # a flagged network is never evicted
        m.observe("attacker", None, True, False)
    for i in range(1_000):
        m.observe(f"q{i}", None, False, False)
    assert "prefix:attacker" in m.nets and "prefix:attacker" in m.status().networks


def test_the_new_ip_share_is_over_the_logins_whose_new_ip_status_is_known() -> None:
    """100 scored logins, all from IPs new to their account, and 200 reported events (new-IP status
    unknown), a third of everything failing: the new-IP share is 100 % of the known, not a third of all,
    so the global signal starts; with fewer known logins than `attack_min_attempts` (80) it does not."""
    for known, expected in ((100, True), (50, False)):
        m, clock, _ = monitor(attack_min_attempts=80)
        for i in range(300):
            clock.t += 0.05
            m.observe(f"net{i}", None, i % 3 == 0, True if i % 3 == 0 and i < 3 * known else None)
        clock.t += 1
        m.tick()
        st = m.status()
        assert st.global_on is expected, known
        assert abs(m.ip_known - known) < 0.1 * known and m.new_ips == m.ip_known, "unknowns stay out of both sides"
