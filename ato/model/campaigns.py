"""Takeover campaigns stopped before money moved: the damage of a takeover is done at its first
payment or account change (payout method, email, phone), so a decision counts when it comes at
or before that moment: a login decision at or before it, or the action model's decision on that
first money move itself (money moves marked `stopped`, `ato.model.action_stops`). Both are
reported: `campaigns_stopped_before_money` (either) and `campaigns_stopped_by_login` (logins only).

The world's ground truth tags logins with their campaign but not payments or account changes,
so an attacker's money-moving actions are found in silver `payments` / `account_changes`: on a
compromised account, from an IP hash one of the campaign's successful logins used on it, at or
after the first of them (the simulator's attacker cashes out from the login's own IP)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ato import deltars
from ato.settings import Settings

MONEY_STREAMS = ("payments", "account_changes")
CASH_OUT_DAYS = 3  # money moves read this long after the last test day (a buyer can come back days later)
STOPPING = ("step_up_mfa", "manual_review", "temporary_lock")


def money_moves(s: Settings, first: date, last: date) -> pd.DataFrame:
    """event_id, account_id, ip_hash, event_time (UTC) of every payment and account change in [first, last]."""
    frames = []
    for table in MONEY_STREAMS:
        try:
            t = deltars.read_dates(s, "silver", table, "event_date", first, last,
                                  ["event_id", "account_id", "ip_hash", "event_time"])
        except deltars.NoTable:
            continue
        frames.append(t.to_pandas())
    if not frames:
        return pd.DataFrame({"event_id": [], "account_id": [], "ip_hash": [], "event_time": pd.to_datetime([], utc=True)})
    out = pd.concat(frames, ignore_index=True)
    out["event_time"] = pd.to_datetime(out["event_time"], utc=True)
    return out


def load_money_moves(s: Settings, test_span: tuple[date, date]) -> pd.DataFrame:
    return money_moves(s, test_span[0], test_span[1] + timedelta(days=CASH_OUT_DAYS))


def first_money(takeovers: pd.DataFrame, money: pd.DataFrame) -> pd.DataFrame:
    """Per (campaign, account): `money_at`, the first money-moving action from one of the campaign's
    login IPs on that account at or after its first successful login there (NaT when none), and
    `money_stopped`, whether the action model stopped that action (False when not scored)."""
    start = takeovers.groupby(["truth_campaign", "account_id"])["event_time"].min().rename("start")
    ips = takeovers[["truth_campaign", "account_id", "ip_hash"]].drop_duplicates().join(start, on=["truth_campaign", "account_id"])
    m = ips.merge(money, on=["account_id", "ip_hash"], how="inner")
    m = m[m["event_time"] >= m["start"]]
    m = m.assign(stopped=m["stopped"].astype(bool) if "stopped" in m else False)
    first = m.sort_values("event_time", kind="stable").groupby(["truth_campaign", "account_id"]).first()
    out = pd.DataFrame({"money_at": first["event_time"], "money_stopped": first["stopped"].astype(bool)})
    out = out.reindex(start.index)
    out["money_stopped"] = out["money_stopped"].eq(True)  # no money move (NaN after the reindex): not stopped
    return out


def stopped_per_campaign(test: pd.DataFrame, action: np.ndarray, money: pd.DataFrame) -> pd.DataFrame:
    """Per (campaign, account) takeover of the test block: `by_login` (a successful attacker login
    got step-up, review or lock at or before the first money move there; with no money move, any
    such decision), `stopped` (that, or the action model stopped the first money move), `money` (a
    money move was found) and `kind` (attack type)."""
    pos = (test["truth"] == 1).to_numpy()
    t = test.loc[pos, ["truth_campaign", "account_id", "ip_hash", "event_time", "truth_attack_type"]].copy()
    t["event_time"] = pd.to_datetime(t["event_time"], utc=True)
    t["stops"] = np.isin(np.asarray(action)[pos], STOPPING)
    t = t.join(first_money(t, money), on=["truth_campaign", "account_id"])
    t["in_time"] = t["stops"] & (t["money_at"].isna() | (t["event_time"] <= t["money_at"]))
    out = t.groupby(["truth_campaign", "account_id"]).agg(
        by_login=("in_time", "any"), money_stopped=("money_stopped", "any"),
        money=("money_at", lambda v: bool(v.notna().any())), kind=("truth_attack_type", "first"))
    out["stopped"] = out["by_login"] | out["money_stopped"]
    return out.drop(columns="money_stopped")


def per_campaign(per_account: pd.DataFrame) -> pd.DataFrame:
    """A campaign counts as stopped when any of its accounts is stopped before money moved there."""
    return per_account.groupby(level=0).agg(stopped=("stopped", "any"), by_login=("by_login", "any"),
                                            kind=("kind", "first"))


def campaigns_stopped(test: pd.DataFrame, action: np.ndarray, money: pd.DataFrame) -> dict[str, Any]:
    """Share of the test block's takeover campaigns (and of (campaign, account) takeovers) where a
    successful attacker login got step-up, review or lock at or before the first money move
    (`stopped_per_campaign`)."""
    pos = (test["truth"] == 1).to_numpy()
    if "truth_campaign" not in test or not pos.any():
        return {"campaigns": 0, "campaigns_stopped_before_money": None}
    per_account = stopped_per_campaign(test, action, money)
    campaigns = per_campaign(per_account)
    by_type = {str(k): {"campaigns": len(g), "stopped": int(g["stopped"].sum())}
               for k, g in campaigns.groupby("kind")}
    return {
        "campaigns": len(campaigns), "campaigns_stopped": int(campaigns["stopped"].sum()),
        "campaigns_stopped_before_money": float(campaigns["stopped"].mean()),
        "campaigns_stopped_by_login": float(campaigns["by_login"].mean()),
        "takeovers": len(per_account), "takeovers_with_money_move": int(per_account["money"].sum()),
        "takeovers_stopped_before_money": float(per_account["stopped"].mean()),
        "by_attack_type": by_type,
    }
