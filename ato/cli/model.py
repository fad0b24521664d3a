"""`ato train`, `ato promote`, `ato rollback`, `ato models`: the model registry commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from ato.settings import load_settings

SHOWN = ("pr_auc", "roc_auc", "precision", "recall", "f1", "recall_at_1pct_stepup", "false_lock_rate")


def print_metrics(m: dict[str, Any]) -> None:
    """The test table: one row per scorer, then recall at 1% step-up by attack type."""
    print(f"\ntest {m['window']['test'][0]}..{m['window']['test'][1]}, against {m['evaluated_against']}")
    print(f"{'scorer':<12}" + "".join(f"{c:>22}" for c in SHOWN))
    for name, r in m["test"].items():
        print(f"{name:<12}" + "".join(f"{'-' if r[c] is None else format(r[c], '.4f'):>22}" for c in SHOWN))
    b = m.get("test_bootstrap")
    if b:
        print(f"\n{b['level']:.0%} intervals, resampling the {b['positives']} test takeovers {b['resamples']} times:")
        for name in m["test"]:
            key = name if name == "model" else f"model_minus_{name}"
            print(f"  {key:<24} PR-AUC [{b[key]['pr_auc_ci'][0]:+.3f}, {b[key]['pr_auc_ci'][1]:+.3f}]"
                  f"  recall@1% [{b[key]['recall_at_1pct_stepup_ci'][0]:+.3f}, {b[key]['recall_at_1pct_stepup_ci'][1]:+.3f}]")
    types = sorted({t for r in m["test"].values() for t in r.get("recall_by_attack_type", {})})
    print(f"\nrecall at 1% step-up by attack type (n = takeovers in test)\n{'type':<22}{'n':>5}"
          + "".join(f"{n:>13}" for n in m["test"]))
    for t in types:
        by = {n: r["recall_by_attack_type"].get(t, {}) for n, r in m["test"].items()}
        n_pos = by["model"].get("n", 0)
        print(f"{t:<22}{n_pos:>5}" + "".join(f"{b.get('recall_at_1pct_stepup', 0):>13.3f}" for b in by.values()))


def _train(args: argparse.Namespace) -> int:
    from ato.model.data import NotEnoughData
    from ato.model.run import train_and_register
    from ato.progress import ConsoleProgress

    s = load_settings()
    try:
        res = train_and_register(s, args.date, promote=args.promote, progress=ConsoleProgress())
    except NotEnoughData as e:
        print(f"ato: cannot train: {e}", file=sys.stderr)
        return 2
    print_metrics(res.run.metrics)
    print(f"\nregistered {res.version} in {res.folder}\nreport: {res.report}")
    if res.verdict is not None:
        print(("promoted: " if res.verdict.promote else "not promoted: ") + res.verdict.why)
    return 0


def _champion_change(action: str, args: argparse.Namespace) -> int:
    """`promote V` or `rollback`; exit 3 when the registry refuses (a verdict, not a crash)."""
    from ato.model import registry

    s = load_settings()
    try:
        if action == "promote":
            msg = f"{args.version} is the champion: {registry.promote(s, args.version).why}"
        else:
            msg = f"champion rolled back to {registry.rollback(s)}"
    except registry.PromotionRefused as e:
        print(f"ato: {action} refused: {e}", file=sys.stderr)
        return 3
    print(msg)
    return 0


def _models(args: argparse.Namespace) -> int:
    from ato.model import registry

    s = load_settings()
    champ = registry.champion(s)
    for v in registry.versions(s):
        t = registry.metrics(s, v)["test"]["model"]
        print(f"{'*' if v == champ else ' '} {v}  PR-AUC {t['pr_auc']:.4f}  recall@1% {t['recall_at_1pct_stepup']:.3f}")
    if args.history:
        for h in registry.history(s):
            print(json.dumps(h))
    return 0


def add_model_commands(sub: Any) -> None:
    t = sub.add_parser("train", help="train, evaluate and register a model (see README 'Model')",
                       description="Rolling-origin choice of rebalancing and parameters, calibrated tiers, fallback model, "
                                   "rules and Freeman baselines on the same test weeks; writes <models>/<version>/")
    t.add_argument("--date", type=date.fromisoformat,
                   help="night D: train on logins up to D minus batch.label_maturity_days (default: newest in the training set)")
    t.add_argument("--promote", action="store_true", help="make it the champion if it beats the current one")
    t.set_defaults(fn=_train)
    p = sub.add_parser("promote", help="make a version the champion, only if it beats the champion on its test window")
    p.add_argument("version")
    p.set_defaults(fn=lambda a: _champion_change("promote", a))
    r = sub.add_parser("rollback", help="point the champion back at the version it replaced")
    r.set_defaults(fn=lambda a: _champion_change("rollback", a))
    m = sub.add_parser("models", help="list registered versions (* = champion)")
    m.add_argument("--history", action="store_true", help="also print promotions and rollbacks")
    m.set_defaults(fn=_models)
