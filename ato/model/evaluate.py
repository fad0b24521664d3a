"""`ato evaluate`: the evaluation world built (evaluate_world), one model per rolling test window
(evaluate_windows), bootstrap intervals per window and pooled (evaluate_bootstrap), the issue's
goals judged on the pooled point estimates, written as metrics.json and an HTML report."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ato.model.evaluate_bootstrap import ALL, bootstrap
from ato.model.evaluate_windows import Window, run_window, windows_for
from ato.model.evaluate_world import EvalConf, build_world, eval_settings, simulator_config
from ato.progress import Progress
from ato.settings import Settings

MIN_TAKEOVERS, MIN_PER_TYPE = 300, 30
DECISION_RECALL, MAX_CHALLENGE, MAX_FALSE_LOCK = 0.90, 0.01, 0.001
TYPE_RECALL, CAMPAIGNS_STOPPED, FALLBACK_RECALL = 0.80, 0.95, 0.50


def evaluate_windows(s: Settings, windows: int, window_days: int, resamples: int,
                     progress: Progress) -> dict[str, Any]:
    """Train and score every window, then the bootstrap; the metrics.json body without goals."""
    spans = windows_for(s, windows, window_days)
    done = []
    for i, span in enumerate(spans, 1):
        with progress.step(f"window {i}/{len(spans)}: test {span[0]}..{span[1]}, model trained on the days before"):
            w = run_window(s, span, progress)
        done.append(w)
        progress.info(f"window {i}: {w.counts['takeovers']} takeovers {w.counts['takeovers_by_type']}, "
                      f"{w.counts['campaigns']} campaigns, {w.counts['legit']:,} legit logins")
    with progress.step(f"bootstrap: {resamples} resamples of campaigns and legit logins per window"):
        return assemble(done, resamples, s.model.seed)


def assemble(done: list[Window], resamples: int, seed: int) -> dict[str, Any]:
    """The metrics.json body (without goals) from the scored windows: bootstrap and counts."""
    b = bootstrap([w.rows for w in done], resamples, seed)
    pooled_counts: dict[str, Any] = {}
    for w in done:
        for k, v in w.counts.items():
            if isinstance(v, dict):
                for t, n in v.items():
                    pooled_counts.setdefault(k, {}).setdefault(t, 0)
                    pooled_counts[k][t] += n
            else:
                pooled_counts[k] = pooled_counts.get(k, 0) + v
    return {
        "bootstrap": {k: b[k] for k in ("resamples", "level", "seed")}, "attack_types": b["attack_types"],
        "windows": [{"test": [str(w.span[0]), str(w.span[1])], "training": w.training, "counts": w.counts,
                     "metrics": m} for w, m in zip(done, b["windows"], strict=True)],
        "pooled": {"counts": pooled_counts, "metrics": b["pooled"]},
    }


def _goal(what: str, doc: dict[str, Any], scorer: str, kind: str, metric: str, goal: float, at_least: bool,
          beat: tuple[str, ...] = ()) -> dict[str, Any]:
    """One goal on the pooled point estimate (and whether it beats `beat`), with each window's value."""
    m = doc["pooled"]["metrics"]
    cell = m.get(scorer, {}).get(kind, {}).get(metric, {"value": None, "ci": None})
    v = cell["value"]
    met = v is not None and (v >= goal if at_least else v <= goal)
    others = {o: m.get(o, {}).get(kind, {}).get(metric, {}).get("value") for o in beat}
    if beat:
        met = met and all(o is not None and v is not None and v > o for o in others.values())
    return {"what": what, "scorer": scorer, "attack_type": kind, "metric": metric, "goal": goal,
            "at_least": at_least, "value": v, "ci": cell["ci"], "beats": others, "met": bool(met),
            "windows": [w["metrics"].get(scorer, {}).get(kind, {}).get(metric, {}).get("value") for w in doc["windows"]]}


def goals(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's 'done when' goals, judged on the pooled point estimates."""
    c = doc["pooled"]["counts"]
    per_type = c.get("takeovers_by_type", {})
    types = doc["attack_types"]
    out = [
        {"what": f"test takeovers >= {MIN_TAKEOVERS}", "value": c.get("takeovers", 0), "goal": MIN_TAKEOVERS,
         "met": c.get("takeovers", 0) >= MIN_TAKEOVERS},
        {"what": f"takeovers per attack type >= {MIN_PER_TYPE}", "value": per_type, "goal": MIN_PER_TYPE,
         "met": bool(per_type) and min(per_type.values()) >= MIN_PER_TYPE},
        {"what": "every attack type in every window", "value": [sorted(w["counts"]["takeovers_by_type"]) for w in doc["windows"]],
         "goal": types, "met": all(set(types) <= set(w["counts"]["takeovers_by_type"]) for w in doc["windows"])},
        _goal("decision recall", doc, "model", ALL, "decision_recall", DECISION_RECALL, True),
        _goal("legit challenge rate (successful legit logins)", doc, "model", ALL, "legit_challenge_rate", MAX_CHALLENGE, False),
        _goal("false-lock rate", doc, "model", ALL, "false_lock_rate", MAX_FALSE_LOCK, False),
        _goal("campaigns stopped before money moved", doc, "model", ALL, "campaigns_stopped_before_money",
              CAMPAIGNS_STOPPED, True),
        _goal("fallback recall at 1 % step-up", doc, "fallback", ALL, "recall_at_1pct_stepup", FALLBACK_RECALL, True),
    ]
    for t in types:
        out.append(_goal(f"{t}: recall at 1 % step-up, above rules and Freeman RBA", doc, "model", t,
                         "recall_at_1pct_stepup", TYPE_RECALL, True, ("rules", "freeman_rba")))
        out.append(_goal(f"{t}: PR-AUC above rules and Freeman RBA", doc, "model", t, "pr_auc", 0.0, True,
                         ("rules", "freeman_rba")))
    return out


def run_evaluation(conf: EvalConf, progress: Progress, build: bool = True,
                   settings: Settings | None = None) -> tuple[dict[str, Any], Path, Path]:
    """Build (or reuse) the world, evaluate it, write <root>/metrics.json and the HTML report."""
    from ato.report.evaluation import write_evaluation_report

    start = time.perf_counter()
    built = build_world(conf, progress) if build else None
    s = settings or eval_settings(conf)
    t0 = time.perf_counter()
    doc = evaluate_windows(s, conf.windows, conf.window_days, conf.resamples, progress)
    doc["goals"] = goals(doc)
    doc["world"] = {"root": str(conf.root), "accounts": conf.accounts, "days": conf.days, "windows": conf.windows,
                    "window_days": conf.window_days, "campaigns": simulator_config(conf)["campaigns"],
                    "build_seconds": built["steps"] if built else None}
    doc["seconds"] = {"evaluation": round(time.perf_counter() - t0, 1), "total": round(time.perf_counter() - start, 1)}
    conf.root.mkdir(parents=True, exist_ok=True)
    path = conf.root / "metrics.json"
    path.write_text(json.dumps(doc, indent=1, default=str))
    with progress.step("HTML report"):
        report = write_evaluation_report(doc, Path(s.paths.reports) / "evaluation.html")
    return doc, path, report
