"""What `benchmarks/tactic_shift.py` measures each night and prints: the ground truth of the
night's decisions (who challenged which takeovers and legit logins), the monitor's numbers for the
day, one line per night and the summary."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any


def truth_numbers(s: Any, world: Path, day: date) -> dict[str, Any]:
    """Ground truth of night D's decisions: who challenged which takeovers and legit logins."""
    import pandas as pd
    import pyarrow.compute as pc

    from ato import deltars
    from ato.tables import DECISIONS

    dec = deltars.read(s, "gold", DECISIONS, ["event_id", "action", "model_action", "shadow_action", "fallback_level"],
                       pc.field("decided_date") == pc.scalar(day)).to_pandas()
    truth = pd.read_parquet(world / "login_truth.parquet", columns=["event_id", "attack_type", "outcome"])
    m = dec.merge(truth, on="event_id", how="left")
    ok = m[m["outcome"] == "success"]
    groups = {"mimicry": ok["attack_type"] == "mimicry",
              "other_attacks": ok["attack_type"].notna() & (ok["attack_type"] != "mimicry"),
              "legit": ok["attack_type"].isna()}
    out: dict[str, Any] = {"decisions": len(dec), "level_0_share": round(float((dec["fallback_level"] == 0).mean()), 4)}
    for name, mask in groups.items():
        g = ok[mask]
        out[f"{name}_n"] = len(g)
        out[f"{name}_challenged"] = round(float((g["action"] != "allow").mean()), 4) if len(g) else None
        out[f"{name}_model_challenged"] = round(float((g["model_action"] != "allow").mean()), 4) if len(g) else None
        sh = g[g["shadow_action"].notna()]
        out[f"{name}_shadow_challenged"] = round(float((sh["shadow_action"] != "allow").mean()), 4) if len(sh) else None
    return out


def monitor_numbers(s: Any, day: date, champion: str | None) -> dict[str, Any]:
    """What the monitor wrote for day D on night D."""
    import pyarrow.compute as pc

    from ato import deltars
    from ato.tables import BUSINESS_DAILY, DRIFT_DAILY

    on_day = pc.field("decided_date") == pc.scalar(day)
    b = deltars.read(s, "gold", BUSINESS_DAILY, where=on_day).to_pandas()
    d = deltars.read(s, "gold", DRIFT_DAILY, where=on_day).to_pandas()
    mine = d[(d["model_version"] == champion) & (d["kind"] == "feature")]
    score = d[(d["model_version"] == champion) & (d["kind"] == "score")]
    row = b.iloc[0] if len(b) else None
    return {"est_recall": None if row is None else round(float(row["est_recall_challenged"]), 4),
            "drifted_features": int(mine["drifted"].sum()), "score_psi": round(float(score["psi"].iloc[0]), 4)
            if len(score) else None,
            "top_drift": mine.sort_values("psi", ascending=False)["name"].head(4).tolist()}


def pct(v: Any) -> str:
    return "   -  " if v is None else f"{v:6.1%}"


def line(r: dict[str, Any]) -> str:
    what = []
    if r.get("promoted"):
        what.append(f"PROMOTED {r['promoted']['version']}")
    if r.get("retrained"):
        what.append(f"retrain -> {r['retrained']['version']} ({'shadow' if r['retrained']['shadow'] else 'not shadowed'})")
    elif r.get("retrain_failed"):
        what.append(f"retrain failed: {r['retrain_failed']}")
    elif r["check"].get("held_back"):
        what.append("trigger held back (cool-down)")
    return (f"{r['night']} {'S' if r['shifted'] else ' '} champion {r['champion']} | new tactic "
            f"{r['mimicry_n']:>3} answer {pct(r['mimicry_challenged'])} model {pct(r['mimicry_model_challenged'])} "
            f"shadow {pct(r['mimicry_shadow_challenged'])} | other attacks {pct(r['other_attacks_challenged'])} | legit "
            f"challenged {pct(r['legit_challenged'])} | drifted {r['drifted_features']:>2}, est. recall "
            f"{pct(r['est_recall'])} | {'; '.join(what) or '-'} ({r['seconds']:.0f} s)")


def summary(nights_file: Path, shift_day: date | None, s: Any) -> None:
    rows = [json.loads(x) for x in nights_file.read_text().splitlines()]
    print("\n" + "\n".join(line(r) for r in rows))
    flagged = [r["night"] for r in rows if r["check"]["reasons"]]
    triggered = [r["night"] for r in rows if r.get("retrained")]
    promoted = [(r["night"], r["promoted"]["version"]) for r in rows if r.get("promoted")]
    print(f"\nshift starts: {shift_day or 'never (stable world)'}")
    print(f"nights the monitor found a reason to retrain: {flagged or 'none'}")
    print(f"retrains triggered (after the cool-down): {triggered or 'none'}")
    print(f"promotions on live evidence: {promoted or 'none'}")
    if shift_day is not None and flagged:
        lag = (date.fromisoformat(flagged[0]) - shift_day).days
        print(f"flagged {lag} day(s) after the shift started (goal: within 3)")
    for r in rows:
        if r.get("check", {}).get("reasons"):
            print(f"  {r['night']}: {'; '.join(r['check']['reasons'])}")
