"""What `benchmarks/attack_day.py` prints: the attack day's outcomes from the per-request results of its
passes (`run_attack_day`), each against its goal, and a summary dict (also what the test asserts on)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from benchmarks.attack_servers import metric_sum
from benchmarks.attack_wave import LEGIT, STUFF_FAIL, STUFF_VALID
from benchmarks.loadgen import ACTIONS

STEP_UP, LOCK = ACTIONS.index("step_up_mfa"), ACTIONS.index("temporary_lock")


def _pct(a: np.ndarray, q: float) -> float:
    return float(np.nanpercentile(a, q)) if len(a) and not np.all(np.isnan(a)) else float("nan")


def _errors(rec: dict[str, np.ndarray]) -> int:
    """5xx answers and requests that got no answer (connection failed or never sent)."""
    st = rec["status"]
    return int(((st >= 500) | (st == 0)).sum())


def friction(rec: dict[str, np.ndarray], meta: dict[str, Any], mask: np.ndarray) -> dict[str, float]:
    """Share of legitimate successful logins (in `mask`) not simply allowed."""
    m = mask & (meta["kinds"] == LEGIT) & meta["success"] & (rec["status"] == 200)
    return {"logins": int(m.sum()), "share": float((rec["action"][m] > 0).mean()) if m.any() else float("nan")}


def hot_summary(hot: dict[str, Any]) -> dict[str, Any]:
    rec, n = hot["record"], len(hot["record"]["status"])
    per10 = int(n / max(hot.get("seconds", 60.0), 1e-9) * 10) if n else 0
    challenged = np.flatnonzero(rec["action"] > 0)
    first = int(challenged[0]) if len(challenged) else None
    after = rec["action"][first + 1:] > 0 if first is not None else np.array([])
    return {"requests": n, "errors": _errors(rec), "rate": hot["rate"], "p50_ms": hot["p50_ms"], "p99_ms": hot["p99_ms"],
            "first10_p50": _pct(rec["latency_ms"][:per10], 50), "first10_p99": _pct(rec["latency_ms"][:per10], 99),
            "last10_p50": _pct(rec["latency_ms"][-per10:], 50), "last10_p99": _pct(rec["latency_ms"][-per10:], 99),
            "first_challenge": first, "challenged_after": float(after.mean()) if len(after) else float("nan")}


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    base, wave = res["baseline"], res["wave"]
    brec, wrec, bm, wm = base["load"]["record"], wave["load"]["record"], base["plan"], wave["plan"]
    first = wave["first_wave_index"]
    wave_start_t = float(wave["start_t"])
    during = wm["times"] >= wave_start_t
    legit_wave = (wm["kinds"] == LEGIT) & during
    # friction on the same legitimate logins in both passes: those of the wave's stretch of the day
    b_ids = {i: k for k, i in enumerate(bm["ids"])}
    w_idx = np.flatnonzero(legit_wave)
    b_idx = np.array([b_ids[wm["ids"][k]] for k in w_idx], int)
    b_mask, w_mask = np.zeros(len(bm["ids"]), bool), np.zeros(len(wm["ids"]), bool)
    b_mask[b_idx], w_mask[w_idx] = True, True
    fb, fw = friction(brec, bm, b_mask), friction(wrec, wm, w_mask)
    ok_pair = bm["success"][b_idx] & (brec["status"][b_idx] == 200) & (wrec["status"][w_idx] == 200)
    flips = int(((brec["action"][b_idx] == 0) & (wrec["action"][w_idx] > 0) & ok_pair).sum())
    valid = wm["kinds"] == STUFF_VALID
    va = wrec["action"][valid]
    on, t0 = wave.get("attack_on_epoch"), wave["load"]["t0_epoch"]
    due = np.asarray(wave["due"])
    delay_wall = on - (t0 + due[first]) if on is not None else None
    sent_by = np.flatnonzero(due <= (on - t0))[-1] if on is not None else None
    scored = wm["kinds"] >= 0
    delay_sim = float(wm["times"][: sent_by + 1][scored[: sent_by + 1]].max() - wave_start_t) if sent_by is not None else None
    hits = {g: metric_sum(wave["metrics"], "ato_guardrail_hits_total", guardrail=g)
            for g in sorted(set(re.findall(r'guardrail="([^"]+)"', wave["metrics"])))}
    levels = {int(lv): int((wrec["level"][scored] == lv).sum()) for lv in range(4)}
    return {
        "counts": res["counts"], "rate": res["rate"], "hot_prefix_attempts": res["counts"].get("hot_prefix_attempts"),
        "errors": {"baseline": _errors(brec), "wave": _errors(wrec), "hot": _errors(res["hot"]["record"])},
        "statuses": {"baseline": base["load"]["statuses"], "wave": wave["load"]["statuses"]},
        "legit_p99_wave_ms": _pct(wrec["latency_ms"][legit_wave], 99),
        "legit_p50_wave_ms": _pct(wrec["latency_ms"][legit_wave], 50),
        "legit_p99_baseline_ms": _pct(brec["latency_ms"][b_mask], 99),
        "all_p99_wave_ms": wave["load"]["p99_ms"], "wave_rate": wave["load"]["rate"], "wave_wall_s": wave["load"]["wall_s"],
        "generator_cpu": wave["load"]["generator_cpu"],
        "valid_logins": int(valid.sum()), "valid_caught": float(np.isin(va, (STEP_UP, LOCK)).mean()) if len(va) else float("nan"),
        "valid_actions": {a: int((va == i).sum()) for i, a in enumerate(ACTIONS)},
        "failed_scored_not_allowed": float((wrec["action"][wm["kinds"] == STUFF_FAIL] > 0).mean())
        if (wm["kinds"] == STUFF_FAIL).any() else float("nan"),
        "friction_baseline": fb, "friction_wave": fw, "extra_friction_pp": (fw["share"] - fb["share"]) * 100,
        "friction_flips": flips, "attack_mode_on": on is not None, "attack_delay_wall_s": delay_wall,
        "attack_delay_sim_s": delay_sim, "rss_before_mb": res["rss_before"] / 2**20, "rss_after_mb": res["rss_after"] / 2**20,
        "guardrail_hits": hits, "levels": levels, "hot": hot_summary({**res["hot"], "seconds": res["hot_seconds"]}),
        "hot_rate": res["hot_rate"], "hot_seconds": res["hot_seconds"], "log_dir": res.get("log_dir"),
    }


def _goal(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(res: dict[str, Any]) -> dict[str, Any]:
    """Print the attack day against its goals; returns the summary."""
    s = summarize(res)
    c, h = s["counts"], s["hot"]
    total = c["failed_scored"] + c["failed_events"] + c["valid_scored"]
    print(f"\n== attack day {res['day']} (server time replayed: a simulated day at {s['rate']:.0f} scored req/s) ==")
    print(f"wave: {total:,} attempts from {c['ips']:,} IPs (hosting and residential); the hot /24 "
          f"{res['hot_prefix']} holds {c['hot_prefix_attempts']:,}; valid credentials {c['valid_scored']:,} "
          f"({c['valid_scored'] / max(total, 1):.2%}); {c['legit']:,} legitimate logins mixed in")
    print(f"routes: /v1/score {c['legit'] + c['valid_scored'] + c['failed_scored']:,} (every legitimate and "
          f"valid-credential login, {c['failed_scored']:,} failed attempts); /v1/events {c['failed_events']:,} failed "
          f"attempts in {c['batches']:,} batches (speed layer only; attack mode counts scored logins)")
    print(f"wave pass: {s['wave_wall_s']:.0f} s wall, {s['wave_rate']:.0f} req/s answered, levels {s['levels']}, "
          f"generator CPU {s['generator_cpu']:.0%}")
    print(f"legitimate p99 during the wave: {s['legit_p99_wave_ms']:.2f} ms (p50 {s['legit_p50_wave_ms']:.2f}; "
          f"baseline p99 {s['legit_p99_baseline_ms']:.2f} ms)")
    e = s["errors"]
    print(f"5xx / failed requests: baseline {e['baseline']}, wave {e['wave']}, hot key {e['hot']} -> "
          f"{_goal(sum(e.values()) == 0)} (goal 0); statuses baseline {s['statuses']['baseline']}, "
          f"wave {s['statuses']['wave']}")
    print(f"valid-credential stuffing logins stepped up or locked: {s['valid_caught']:.2%} of {s['valid_logins']:,} "
          f"{s['valid_actions']} -> {_goal(s['valid_caught'] >= 0.99)} (goal >= 99 %)")
    fb, fw = s["friction_baseline"], s["friction_wave"]
    print(f"friction on legitimate successful logins: baseline {fb['share']:.3%}, during the wave {fw['share']:.3%} "
          f"(same {fw['logins']:,} logins) -> extra {s['extra_friction_pp']:+.3f} pp, {s['friction_flips']} allowed "
          f"before and not during -> {_goal(s['extra_friction_pp'] <= 0.1)} (goal <= 0.1 pp)")
    if s["attack_mode_on"]:
        print(f"attack mode on (ato_attack_mode 1 on /metrics) {s['attack_delay_wall_s']:.1f} s after the wave's "
              f"first request (wall); {s['attack_delay_sim_s']:.0f} s into the wave in simulated time")
    else:
        print("attack mode: NEVER switched on during the wave")
    print(f"server RSS (ato serve + 2 workers): {s['rss_before_mb']:.0f} MiB before the wave, "
          f"{s['rss_after_mb']:.0f} MiB after")
    print(f"guardrail hits during the wave pass: {s['guardrail_hits']}")
    print(f"failed stuffing attempts scored non-allow: {s['failed_scored_not_allowed']:.1%} (informational)")
    print(f"\n== hot key: one account + IP + device, successful logins at {s['hot_rate']:.0f} req/s for "
          f"{s['hot_seconds']:.0f} s ==")
    print(f"answered {h['requests']:,} at {h['rate']:.0f} req/s, errors {h['errors']}; p50 {h['p50_ms']:.2f} ms, "
          f"p99 {h['p99_ms']:.2f} ms -> {_goal(h['p99_ms'] <= 5 and h['errors'] == 0)} (goal p99 <= 5 ms, no errors)")
    print(f"first 10 s p50/p99 {h['first10_p50']:.2f}/{h['first10_p99']:.2f} ms; last 10 s "
          f"{h['last10_p50']:.2f}/{h['last10_p99']:.2f} ms (goal: flat)")
    print(f"first challenge at request #{h['first_challenge']} (0-based; guardrail account_success_burst: 10 successes "
          f"in 5 min); challenged after it: {h['challenged_after']:.2%}")
    return s
