import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from ato.simulator.config import load_simulator_config
from ato.simulator.run import simulate
from ato.validate import check_row
from tests.conftest import BOOSTED_CAMPAIGNS

pytestmark = pytest.mark.unit



def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    cfg = load_simulator_config(accounts=150, days=3, seed=5, campaigns=BOOSTED_CAMPAIGNS)
    simulate(cfg, tmp_path / "a", tmp_path / "wa")
    simulate(cfg, tmp_path / "b", tmp_path / "wb")
    simulate(load_simulator_config(accounts=150, days=3, seed=6, campaigns=BOOSTED_CAMPAIGNS), tmp_path / "c", tmp_path / "wc")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "wa") == _digest(tmp_path / "wb")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_world_has_every_attack_and_truth_stays_apart(small_world: tuple[Path, Path, object]) -> None:
    spool, world, summary = small_world
    assert set(summary.campaigns) == {"credential_stuffing", "targeted_ato", "session_hijack", "low_and_slow", "fraud_ring"}  # type: ignore[attr-defined]
    assert all(v > 0 for v in summary.compromised.values())  # type: ignore[attr-defined]
    logins = pd.concat(pd.read_json(p, lines=True) for p in sorted((spool / "logins").glob("*.jsonl")))
    assert "attack_type" not in logins.columns and "campaign_id" not in logins.columns
    truth = pd.read_parquet(world / "login_truth.parquet")
    assert set(truth["event_id"]) == set(logins["event_id"])


def test_default_rates_keep_ato_rare(tmp_path: Path) -> None:
    summary = simulate(load_simulator_config(accounts=3000, days=10, seed=3), tmp_path / "s", tmp_path / "w")
    truth = pd.read_parquet(tmp_path / "w" / "login_truth.parquet")
    won = truth[truth["attack_type"].notna() & (truth["outcome"] == "success")]
    assert sum(summary.compromised.values()) > 0
    assert len(won) < 0.005 * len(truth)


def test_events_follow_the_contract_but_for_the_spoilt_rows(small_world: tuple[Path, Path, object]) -> None:
    spool, _, summary = small_world
    rows = [json.loads(line) for p in sorted((spool / "logins").glob("*.jsonl")) for line in p.read_text().splitlines()]
    bad = [r for r in rows if not check_row("logins", r).ok]
    assert len(bad) == summary.malformed["logins"] > 0  # type: ignore[attr-defined]
    pay = [r for p in sorted((spool / "payments").glob("*.csv"))
           for r in pd.read_csv(p, dtype=str, keep_default_na=False).to_dict("records")]
    assert sum(not check_row("payments", r).ok for r in pay) == summary.malformed["payments"]  # type: ignore[attr-defined]


def test_legit_behaviour_has_variety(small_world: tuple[Path, Path, object]) -> None:
    spool, world, _ = small_world
    truth = pd.read_parquet(world / "login_truth.parquet")
    legit = truth[truth["attack_type"].isna()]
    assert (legit["outcome"] == "bad_password").mean() > 0.01  # typos are not attacks
    logins = pd.concat(pd.read_json(p, lines=True) for p in sorted((spool / "logins").glob("*.jsonl")))
    per_acct = logins[logins["event_id"].isin(legit["event_id"])].groupby("account_id")["device_id"].nunique()
    assert per_acct.max() >= 3 and per_acct.min() == 1
    assert logins["country"].isna().mean() > 0.05  # geo sometimes missing -> offline lookup
    assert set(logins["channel"]) == {"web", "ios", "android", "api"}


def test_labels_are_late_and_noisy(small_world: tuple[Path, Path, object]) -> None:
    spool, world, _ = small_world
    labels = pd.concat([pd.read_csv(p) for p in sorted((spool / "labels").glob("*.csv"))], ignore_index=True)
    ato = labels[labels["label"] == "ato"]
    assert len(ato) > 0
    started = pd.to_datetime(ato["attack_started_at"]).dropna()
    reported = pd.to_datetime(ato.loc[started.index, "reported_at"])
    assert (reported - started).dt.total_seconds().min() > 3600  # never instant
    truth = pd.read_parquet(world / "login_truth.parquet")
    compromised = set(truth.loc[truth["attack_type"].notna() & (truth["outcome"] == "success"), "account_id"])
    legit_ids = set(truth.loc[truth["attack_type"].isna(), "event_id"])
    assert ato["login_event_id"].isin(legit_ids).any(), "expected some false reports"
    assert (labels["source"] == "analyst").any(), "expected analysts correcting some"
    assert compromised - set(ato["account_id"]), "expected some takeovers never reported"
