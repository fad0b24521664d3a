"""Fraud rings without a JVM: normal forms, blocking caps, components, metrics, and the whole finder
on a small ring world with a crafted ring added (README "Fraud rings")."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ato.rings.candidates import candidate_pairs
from ato.rings.components import min_label_components, rings_of, scipy_components
from ato.rings.conf import RingsConf
from ato.rings.evaluate import bcubed
from ato.rings.evidence import link_reasons
from ato.rings.outputs import carry_ids, fraud_rings, ring_edges
from ato.rings.pipeline import find_rings
from ato.rings.profile import pseudonymous_profiles
from ato.rings.text import (
    address_key,
    email_parts,
    jaccard,
    keyed_shingles,
    name_tokens,
    pair_jaccard,
    shingles,
)
from ato.simulator.ring_world import build_ring_world

pytestmark = pytest.mark.unit
KEY = b"test-key-for-rings-0123456789abc"
T0 = datetime(2026, 8, 1)


def test_one_drop_address_written_many_ways_has_one_key() -> None:
    forms = ["12 Elm St Apt 3", "Flat 7, 12 elm street", "12 ELM STREET #9", "12 Elm St., apt. 30"]
    assert len({address_key(f, "10115") for f in forms}) == 1
    assert address_key("12 Elm Street", "10117") != address_key("12 Elm Street", "10115")
    assert address_key(None, "10115") is None
    assert email_parts("John.Smith+promo77@Gmail.com") == ("johnsmith", "gmail.com")
    assert name_tokens("J. Smith-Jones") == ["jones", "smith"]


def test_keyed_shingles_keep_similarity_and_lose_the_text() -> None:
    a, b = "jon smith", "john smith"
    ka, kb = keyed_shingles(KEY, a), keyed_shingles(KEY, b)
    assert jaccard(ka, kb) == pytest.approx(jaccard(shingles(a), shingles(b)))
    assert not any(s in h for h in ka for s in ("jon", "smi"))
    assert keyed_shingles(b"another-key-0123456789abcdefghij", a) != ka


def test_pair_jaccard_equals_jaccard_pair_by_pair() -> None:
    """The sparse-matrix Jaccard gives `jaccard`'s value for every pair, exactly: lists and arrays,
    repeated elements, empty and missing sets, accounts absent from the index, a pair with itself."""
    rng = np.random.default_rng(3)
    vocab = [f"{i:08x}" for i in range(40)]
    values: list[object] = [list(rng.choice(vocab, size=int(rng.integers(1, 12)))) for _ in range(60)]
    values[:6] = [[], None, np.nan, np.array(["00000001", "00000002"], dtype=object), ["00000001", "00000001"], [None, "x"]]
    sets = pd.Series(values, index=[f"acct_{i:03d}" for i in range(len(values))])
    ids = [*sets.index, "acct_missing"]
    a, b = rng.choice(ids, size=2_000), rng.choice(ids, size=2_000)
    a[:3], b[:3] = ["acct_003", "acct_004", "acct_010"], ["acct_004", "acct_004", "acct_010"]

    def one(x: str, y: str) -> float:
        sx, sy = sets.get(x), sets.get(y)
        ok = isinstance(sx, list | np.ndarray) and isinstance(sy, list | np.ndarray)
        return jaccard(list(sx), list(sy)) if ok else 0.0

    expected = np.array([one(x, y) for x, y in zip(a, b, strict=True)])
    got = pair_jaccard(sets, a, b, chunk=97)
    assert (got == expected).all()
    assert got[:3].tolist() == [0.5, 1.0, 1.0] and (expected > 0).mean() > 0.3 and (expected == 0).any()


def test_silver_profiles_hold_no_raw_identifier() -> None:
    raw = build_ring_world(accounts=300, seed=5).profiles.head(50)
    prof = pseudonymous_profiles(raw, KEY)
    text = " ".join(str(v) for v in prof.drop(columns=["account_id", "event_time"]).to_numpy().ravel())
    for col in ("email", "phone", "full_name", "address", "bank_account", "signup_ip", "signup_device_id"):
        for v in raw[col].dropna():
            assert str(v) not in text, (col, v)


def _links(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([(a, k, v, T0) for a, k, v in rows], columns=["account_id", "kind", "value", "time"])


def test_a_carrier_nat_shared_by_thousands_makes_no_pairs() -> None:
    rows = [(f"a{i:05d}", "ip24", "nat-net", ) for i in range(3000)]
    rows += [(f"a{i:05d}", "ip", f"nat-ip-{i % 40}") for i in range(3000)]  # 75 accounts per NAT address
    rows += [("a00001", "bank", "joint"), ("a00002", "bank", "joint")]
    pairs = candidate_pairs(_links(rows), {"ip24": 50}, default_cap=50)
    assert pairs[["a", "b"]].values.tolist() == [["a00001", "a00002"]]
    assert pairs.loc[0, "n_bank"] == 1 and pairs.loc[0, "n_ip24"] == 0 and pairs.loc[0, "min_block"] == 2


def test_block_fan_out_is_capped_per_kind() -> None:
    rows = [(f"a{i:03d}", "name_token", "smith") for i in range(21)]
    rows += [(f"a{i:03d}", "device", "tablet") for i in range(21)]
    pairs = candidate_pairs(_links(rows), {"name_token": 20}, default_cap=50)
    assert len(pairs) == 21 * 20 // 2
    assert pairs["n_name_token"].sum() == 0 and (pairs["n_device"] == 1).all()


def test_min_label_propagation_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    nodes = [f"n{i:04d}" for i in range(600)]
    edges = [(nodes[i], nodes[j]) for i, j in rng.integers(0, 600, (450, 2)) if i != j]
    edges += [(nodes[i], nodes[i + 1]) for i in range(100, 180)]  # a long chain: 80 hops
    e = pd.DataFrame(edges, columns=["a", "b"])
    ours, ref = min_label_components(e), scipy_components(e)
    assert ours.sort_index().equals(ref.sort_index().astype(object))
    big = rings_of(ours, 3)
    assert (big.map(big.value_counts()) >= 3).all()


def test_bcubed_on_a_hand_computed_example() -> None:
    truth = pd.DataFrame({"account_id": list("abcdefg"), "ring": [0, 0, 0, 1, 1, -1, -1]})
    pred = pd.Series({"a": "a", "b": "a", "c": "c", "d": "c", "e": "c"})
    b = bcubed(pred, truth, pd.Index(list("abcdefg")))
    assert b["bcubed_precision"] == pytest.approx(3.6667 / 5, abs=1e-4)
    assert b["bcubed_recall"] == pytest.approx(3.6667 / 5, abs=1e-4)


def _crafted_ring(n: int, bank: str | None, device: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n accounts with random names, emails, phones and addresses that share a bank account and/or a
    device, signing up within a few hours."""
    rng = np.random.default_rng(11)
    rows, act = [], []
    for i in range(n):
        a = f"crafted_{bank or device}_{i}"
        t = T0 + timedelta(days=20, hours=float(rng.uniform(0, 6)))
        dev = device or f"d{rng.integers(0, 2**62):016x}"
        rows.append({"account_id": a, "event_time": t, "email": "".join(rng.choice(list("abcdefghijklmnop"), 9)) + "@proton.me",
                     "phone": f"+1 555 {rng.integers(10**7)}", "full_name": " ".join("".join(rng.choice(list("aeioulmnrst"), 6)).title() for _ in range(2)),
                     "address": f"{rng.integers(999)} {''.join(rng.choice(list('aeioulmnrst'), 7)).title()} Road", "postal_code": f"{rng.integers(10000, 99999)}",
                     "country": "GB", "bank_account": bank or f"GB00BANK{rng.integers(10**10):010d}",
                     "business_name": None, "signup_ip": f"81.{rng.integers(255)}.{rng.integers(255)}.{rng.integers(255)}",
                     "signup_device_id": dev})
        act.append((a, "login_device", dev, t))
    return pd.DataFrame(rows), pd.DataFrame(act, columns=["account_id", "kind", "value", "time"])


def test_rings_that_randomize_names_but_share_a_bank_or_device_are_found() -> None:
    world = build_ring_world(accounts=10000, seed=7)
    by_bank = _crafted_ring(7, "GB11BANK0000000042", None)
    by_device = _crafted_ring(6, None, "dcrafteddevice00")
    profiles = pd.concat([world.profiles, by_bank[0], by_device[0]], ignore_index=True)
    activity = pd.concat([world.activity, by_bank[1], by_device[1]], ignore_index=True)
    run = find_rings(profiles, activity, world.cases, KEY, RingsConf(), seed=7)
    legit = set(world.truth.loc[world.truth["ring"] < 0, "account_id"])
    for crafted in (by_bank[0], by_device[0]):
        members = crafted["account_id"]
        assert members.isin(run.rings.index).all(), run.pairs[run.pairs["a"].isin(members)][["score"]].describe()
        ring = run.rings[members].unique()
        assert len(ring) == 1
        assert not legit & set(run.rings[run.rings == ring[0]].index)
    pair = run.pairs[run.pairs["a"].isin(by_bank[0]["account_id"]) & run.pairs["kept"]].iloc[0]
    reasons = link_reasons(pair.to_dict())
    assert "shares 1 bank account" in reasons and not any("GB11" in r for r in reasons)


def test_the_ring_world_is_deterministic_per_seed() -> None:
    a, b, c = (build_ring_world(accounts=500, seed=s) for s in (3, 3, 4))
    pd.testing.assert_frame_equal(a.profiles, b.profiles)
    pd.testing.assert_frame_equal(a.cases, b.cases)
    assert not a.profiles["email"].equals(c.profiles["email"])
    sizes = a.truth[a.truth["ring"] >= 0].groupby("ring").size()
    assert sizes.between(3, 40).all()


def test_ring_ids_carry_over_while_membership_overlaps() -> None:
    previous = pd.DataFrame({"ring_id": ["R1", "R2", "R3"], "members": [["a", "b", "c"], ["d", "e", "f"], ["p", "q", "r"]]})
    tonight = pd.Series({"a": "a", "b": "a", "c": "a", "g": "a",  # R1 grew
                         "d": "d", "e": "d",  # R2 lost one
                         "f": "f", "p": "f", "q": "f",  # takes R3 (2 of R3 vs 1 of R2, and R2 is taken)
                         "x": "x", "y": "x", "z": "x"})  # new
    ids = carry_ids(tonight, previous, date(2026, 9, 14))
    assert ids == {"a": "R1", "d": "R2", "f": "R3", "x": "R20260914-0001"}


def test_ring_tables_name_evidence_and_labelled_share() -> None:
    kept = pd.DataFrame({"a": ["a", "a", "b"], "b": ["b", "c", "c"], "score": [0.9, 0.8, 0.7],
                         "n_bank": [1, 1, 0], "n_device": [0, 1, 1], "signup_gap_log_hours": [1.0, 1.0, 9.0]})
    rings = pd.Series({"a": "a", "b": "a", "c": "a"})
    ids = {"a": "R1"}
    edges = ring_edges(kept, rings, ids)
    assert edges["reasons"][0] == ["shares 1 bank account", "signed up within a day of each other"]
    signup = pd.Series(pd.to_datetime(["2026-08-01", "2026-08-02", "2026-08-05"]), index=["a", "b", "c"])
    table = fraud_rings(edges, rings, ids, signup, labelled=["b"])
    row = table.iloc[0]
    assert (row["size"], row["members"], row["labelled"]) == (3, ["a", "b", "c"], ["b"])
    assert row["labelled_share"] == pytest.approx(1 / 3)
    assert row["top_evidence"] == "shares 1 bank account in 2 of 3 links"
    assert str(row["last_seen"].date()) == "2026-08-05"


def test_the_threshold_ties_go_high_and_the_share_in_rings_is_capped() -> None:
    """Held-out cases see only their own rings: of equally good thresholds the highest is taken, and
    none that would put more than `max_share` of all accounts in rings."""
    from ato.rings.pair_model import choose_threshold

    per_t = {0.1: (0.8, 0.6), 0.2: (0.8, 0.6), 0.3: (0.8, 0.6), 0.5: (0.9, 0.3)}
    assert choose_threshold(per_t, 0.5)[0] == 0.3
    per_t = {0.1: (0.9, 0.9), 0.2: (0.8, 0.6), 0.5: (0.9, 0.3)}
    share = {0.1: 0.12, 0.2: 0.04, 0.5: 0.01}
    assert choose_threshold(per_t, 0.5)[0] == 0.1
    t, why = choose_threshold(per_t, 0.5, share, 0.05)
    assert t == 0.2 and why["share_in_rings"] == 0.04
    assert choose_threshold(per_t, 0.5, share, 0.001)[0] == 0.5  # none within: the highest


def test_the_nightly_summary_says_what_the_ring_nights_found(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from ato.cli.summaries import print_nightly
    from ato.nightly import NightlySummary

    monkeypatch.setenv("COLUMNS", "300")
    nights = {"2026-08-03": {"skipped": "3 investigated case(s)"},
              "2026-08-10": {"rings": 40, "accounts_in_rings": 1234, "threshold": 0.4, "known_cases": 12}}
    print_nightly(NightlySummary(["2026-08-10"], ["rings"], rings=nights), [])
    out = " ".join(capsys.readouterr().out.split())
    assert "1 of 2 night(s) found rings; 2026-08-10: 40 rings, 1,234 accounts, threshold 0.4, 12 cases" in out
    print_nightly(NightlySummary(["2026-08-03"], ["rings"], rings={"2026-08-03": nights["2026-08-03"]}), [])
    assert "1 night(s), none with enough cases" in " ".join(capsys.readouterr().out.split())
