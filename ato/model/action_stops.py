"""The action model's part in stopping takeovers: which money-moving actions (payments, account
changes) it would have stopped, so `campaigns_stopped_before_money` counts a takeover stopped at
the moment money moves, not only at a login before it (`ato.model.campaigns`).

The action model is fitted on action rows up to the test block's last day only
(`ato.sensitive.model.fit_until`), so the test block's actions, and the cash-out days after it,
are never in its training days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ato.features.actions import ACTION_FEATURES

if TYPE_CHECKING:
    import pandas as pd

    from ato.settings import Settings


def money_with_stops(s: Settings, test_span: tuple[date, date], booster: Any,
                     thresholds: dict[str, float]) -> pd.DataFrame:
    """The test block's money moves (to its cash-out days), marked `stopped` where the action model
    (fitted on days up to the block's end) stops them."""
    from ato.model.campaigns import CASH_OUT_DAYS, load_money_moves

    ids = stopped_action_ids(s, booster, thresholds, test_span[0], test_span[1] + timedelta(days=CASH_OUT_DAYS))
    return mark_stopped(load_money_moves(s, test_span), ids)


def stopped_action_ids(s: Settings, booster: Any, thresholds: dict[str, float], first: date, last: date) -> set[str]:
    """Event ids of the actions of [first, last] the action model steps up, reviews or locks."""
    from ato.sensitive.rows import feature_rows

    rows = feature_rows(s, first, last)
    if rows.empty:
        return set()
    p = booster.predict(rows[list(ACTION_FEATURES)].to_numpy(dtype="float64"))
    return set(rows.loc[p >= thresholds["step_up_mfa"], "event_id"].astype(str))


def mark_stopped(money: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """Money moves with `stopped`: the action model stopped that move itself."""
    return money.assign(stopped=money["event_id"].astype(str).isin(ids))
