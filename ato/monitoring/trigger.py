"""Should tonight's monitoring trigger a retrain? (`ato monitor check --date D`; no JVM.)

Reasons, each with its threshold in conf `monitor`:

- drift: the champion's score drifted on night D, or at least `retrain_drifted_features`
  features did (gold/drift_daily) while the score moved by at least `retrain_score_moved` (PSI or
  KS): inputs that drift without moving the score change no decision. On the stable tactic-shift
  world a credential-stuffing campaign leaving the 30-day window drifted 7 features (its reference
  was drawn while the campaign was inside it) and left the score where it was (KS 0.00-0.01);
  the shifted world's drifted features moved it (KS 0.10) from the day the shift started;
- estimated recall: the mean estimated recall of challenges over the last `recall_days` days
  with model decisions fell more than `retrain_recall_drop` below what the champion's reference
  expects (its test block, scored as serving scores it);
- realised recall: over the latest `recall_days` days whose labels are at least
  `mature_share` complete, recall fell more than `retrain_recall_drop` below the same expectation.

Both recall rules also need the shortfall to be beyond the sampling noise of a recall measured on
that few takeovers: at least `recall_z` binomial standard errors, sqrt(r (1 - r) / n), with r the
expected recall and n the window's takeovers (for the estimate, its expected takeovers, the sum
of p). On a small world a quiet 3-day window holds ~4 expected takeovers, whose recall swings by
±0.2 by chance alone: a 0.1 drop there is noise, and on the stable tactic-shift world it fired a
retrain on a night nothing had changed.

A trigger within `retrain_cooldown_days` of the last one is held back (and says so): a retrain
storm cannot happen. Fired triggers are appended to `<models>/retrain_triggers.jsonl`, which the
cool-down reads.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ato import deltars
from ato.model.registry import champion, registry_dir
from ato.monitoring.drift import load_reference
from ato.monitoring.metrics import pooled
from ato.settings import Settings
from ato.tables import BUSINESS_DAILY, DRIFT_DAILY, PERFORMANCE_DAILY

TRIGGERS = "retrain_triggers.jsonl"


@dataclass
class RetrainCheck:
    night: str
    champion: str | None
    retrain: bool = False
    reasons: list[str] = field(default_factory=list)
    held_back: str | None = None  # the cool-down that held a trigger back
    numbers: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _triggers(settings: Settings) -> list[dict[str, Any]]:
    path = registry_dir(settings) / TRIGGERS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _read(settings: Settings, table: str) -> pd.DataFrame:
    return deltars.read(settings, "gold", table).to_pandas() if deltars.exists(settings, "gold", table) else pd.DataFrame()


def shortfall_z(expected: float, value: float, n: float) -> float:
    """How many binomial standard errors a recall `value` measured on `n` takeovers lies below
    `expected` (negative: above it)."""
    se = math.sqrt(max(expected * (1 - expected), 1e-6) / max(n, 1e-9))
    return (expected - value) / se


def check_retrain(settings: Settings, night: date, record: bool = True) -> RetrainCheck:
    """The verdict for `night`; with `record`, a fired trigger is logged for the cool-down."""
    m = settings.monitor
    version = champion(settings)
    out = RetrainCheck(night.isoformat(), version)
    ref = load_reference(registry_dir(settings) / version) if version else None
    expected = (ref or {}).get("expected", {}).get("est_recall_challenged")
    out.numbers["expected_recall"] = expected

    drift = _read(settings, DRIFT_DAILY)
    if not drift.empty and version:
        mine = drift[(drift["decided_date"] == night) & (drift["model_version"] == version)]
        drifted = sorted(mine.loc[mine["drifted"] & (mine["kind"] == "feature"), "name"])
        score = mine[mine["kind"] == "score"]
        out.numbers["drifted_features"] = len(drifted)
        moved = 0.0
        if not score.empty:
            out.numbers["score_psi"] = float(score["psi"].iloc[0])
            out.numbers["score_ks"] = float(score["ks"].iloc[0]) if pd.notna(score["ks"].iloc[0]) else None
            moved = max(out.numbers["score_psi"], out.numbers["score_ks"] or 0.0)
        if len(drifted) >= m.retrain_drifted_features:
            what = f"{len(drifted)} features drifted on {night} ({', '.join(drifted[:5])}{' ...' if len(drifted) > 5 else ''})"
            if moved >= m.retrain_score_moved:
                out.reasons.append(f"drift: {what}, the score moved (PSI or KS {moved:.3f})")
            else:
                out.numbers["drift_without_score"] = (f"{what}; the score did not move (PSI or KS {moved:.3f} < "
                                                      f"{m.retrain_score_moved}): no retrain")
        if not score.empty and bool(score["drifted"].iloc[0]):
            out.reasons.append(f"drift: the score drifted on {night} (PSI {score['psi'].iloc[0]:.3f}, "
                               f"KS {score['ks'].iloc[0]:.3f})")

    perf = _read(settings, PERFORMANCE_DAILY)
    if expected is not None and not perf.empty and version:
        recent = perf[(perf["model_version"] == version) & (perf["decided_date"] <= night)]
        est = (recent.groupby("decided_date")[["est_ato_challenged", "est_ato", "calibrated"]].sum().sort_index()
               .tail(m.recall_days))
        out.numbers["calibrated_decisions"] = int(est["calibrated"].sum()) if len(est) else 0
        out.numbers["estimate_days"] = len(est)
        # a full window only: one day's ratio swings with that day's attacks (a quiet day is "low recall")
        if len(est) == m.recall_days and est["calibrated"].sum() >= m.min_decisions:
            value = float(pooled(est, settings.costs)["est_recall_challenged"])
            n = float(est["est_ato"].sum())
            z = shortfall_z(expected, value, n)
            out.numbers |= {"estimated_recall": value, "estimated_takeovers": n, "estimated_recall_z": z}
            if value < expected - m.retrain_recall_drop and z >= m.recall_z:
                out.reasons.append(f"estimated recall {value:.3f} over the last {len(est)} days is below the "
                                   f"expected {expected:.3f} by more than {m.retrain_recall_drop} ({z:.1f} standard "
                                   f"errors on {n:.1f} expected takeovers)")
    business = _read(settings, BUSINESS_DAILY)
    if expected is not None and not business.empty:
        mature = business[(business["decided_date"] <= night) & (business["label_maturity"] >= m.mature_share)
                          & (business["ato"] > 0)].sort_values("decided_date").tail(m.recall_days)
        out.numbers["realised_days"] = len(mature)
        if len(mature) == m.recall_days:
            value = float(pooled(mature, settings.costs)["recall_challenged"])
            n = float(mature["ato"].sum())
            z = shortfall_z(expected, value, n)
            out.numbers |= {"realised_recall": value, "realised_takeovers": int(n), "realised_recall_z": z}
            if value < expected - m.retrain_recall_drop and z >= m.recall_z:
                out.reasons.append(f"realised recall {value:.3f} on {len(mature)} matured days is below the "
                                   f"expected {expected:.3f} by more than {m.retrain_recall_drop} ({z:.1f} standard "
                                   f"errors on {int(n)} takeovers)")

    if out.reasons:
        last = max((datetime.fromisoformat(t["night"]).date() for t in _triggers(settings)), default=None)
        if last is not None and night - last < timedelta(days=m.retrain_cooldown_days):
            out.held_back = f"the last trigger was on {last}: cool-down of {m.retrain_cooldown_days} days"
        else:
            out.retrain = True
            if record:
                path: Path = registry_dir(settings) / TRIGGERS
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a") as f:
                    f.write(json.dumps({"night": night.isoformat(), "champion": version, "reasons": out.reasons}) + "\n")
    return out
