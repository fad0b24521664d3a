"""The shadow challenger on live traffic: is it not worse than the champion on the same decisions?

`gold/shadow_daily` (the nightly monitor) holds, per decided day, the counts of both sides over the
decisions the shadow scored: the champion model's own action (before the policy, which the shadow
never meets) and the shadow's. Pooled over every day the shadow ran against the current champion,
the shadow is "not worse" when the labels hold at least `model.live_min_takeovers` takeovers, its
recall of challenges is at most `model.live_max_recall_drop` below the champion's, and its net
benefit (losses prevented minus friction cost, conf `costs`) is not lower. `ato promote
--require-live` (or `model.promote_require_live`) asks this before the test-window verdict counts.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pyarrow.compute as pc

from ato import deltars
from ato.model.registry import Verdict
from ato.monitoring.metrics import pooled
from ato.settings import Settings
from ato.tables import SHADOW_DAILY


def shadow_rows(settings: Settings, version: str, champion: str | None) -> pd.DataFrame:
    """gold/shadow_daily rows of `version` shadowing `champion` (empty without the table)."""
    if champion is None or not deltars.exists(settings, "gold", SHADOW_DAILY):
        return pd.DataFrame()
    where = (pc.field("shadow_version") == version) & (pc.field("model_version") == champion)
    return deltars.read(settings, "gold", SHADOW_DAILY, where=where).to_pandas()


def compare_live(rows: pd.DataFrame, settings: Settings) -> dict[str, Any]:
    """Both sides pooled over `rows`: days, takeovers, and per side recall, friction and net benefit."""
    out: dict[str, Any] = {"days": int(rows["decided_date"].nunique()) if len(rows) else 0}
    for side in ("champion", "shadow"):
        p = pooled(rows[rows["side"] == side] if len(rows) else rows, settings.costs)
        out[side] = {k: float(p[k]) for k in ("decisions", "ato", "legit", "recall_challenged", "precision_challenged",
                                                "friction_index", "false_lock_rate", "net_benefit")}
    out["takeovers"] = int(out["shadow"]["ato"])
    return out


def live_verdict(rows: pd.DataFrame, settings: Settings) -> Verdict:
    """Not worse on live traffic (module docstring), with the numbers that decided it."""
    return judge(compare_live(rows, settings), settings)


def judge(c: dict[str, Any], settings: Settings) -> Verdict:
    """`live_verdict` on the pooled comparison `compare_live` gave."""
    m, ch, sh = settings.model, c["champion"], c["shadow"]
    if c["takeovers"] < m.live_min_takeovers:
        return Verdict(False, f"not enough live evidence: {c['takeovers']} labelled takeovers over {c['days']} days "
                              f"of shadow scoring (model.live_min_takeovers {m.live_min_takeovers})")
    rc, rs = ch["recall_challenged"], sh["recall_challenged"]
    text = (f"{c['days']} days, {int(sh['decisions'])} decisions, {c['takeovers']} takeovers: recall of challenges "
            f"{rs:.3f} vs champion {rc:.3f}, net benefit {sh['net_benefit']:,.0f} vs {ch['net_benefit']:,.0f}, "
            f"friction index {sh['friction_index']:.2f} vs {ch['friction_index']:.2f}")
    if math.isnan(rs) or (not math.isnan(rc) and rs < rc - m.live_max_recall_drop):
        return Verdict(False, f"loses recall live: {text}")
    if sh["net_benefit"] < ch["net_benefit"]:
        return Verdict(False, f"lower net benefit live: {text}")
    return Verdict(True, f"not worse live: {text}")


def promote(settings: Settings, version: str, require_live: bool | None = None) -> Verdict:
    """`registry.promote`, with the live verdict asked first when `require_live` (default: conf
    `model.promote_require_live`) and there is a champion to have been compared with (the first
    model only has to beat the rules). Raises PromotionRefused as it does."""
    from ato.model import registry

    live, champ = None, registry.champion(settings)
    if (settings.model.promote_require_live if require_live is None else require_live) and champ is not None:
        live = live_verdict(shadow_rows(settings, version, champ), settings)
    return registry.promote(settings, version, live)
