"""`ato train`, `ato promote`, `ato rollback`, `ato shadow`, `ato models`: the model and its registry."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from ato.cli.output import Refused, add_json, emit, progress, wants_json
from ato.settings import load_settings


def _train(args: argparse.Namespace) -> int:
    from ato.model.data import NotEnoughData
    from ato.model.registry import challenger
    from ato.model.train_and_register import train_and_register

    s = load_settings()
    try:
        res = train_and_register(s, args.date, promote=args.promote, progress=progress(), reason=args.reason,
                                 shadow=args.shadow)
    except NotEnoughData as e:
        raise Refused(f"cannot train: {e}") from e
    verdict = None if res.verdict is None else {"promoted": res.verdict.promote, "why": res.verdict.why}
    if wants_json(args):
        m = res.run.metrics
        emit({"version": res.version, "folder": str(res.folder), "report": str(res.report),
              "window": m.get("window"), "test": m.get("test"), "promotion": verdict, "reason": args.reason})
        return 0
    from ato.cli.summaries import print_metrics

    print_metrics(res.run.metrics)
    print(f"\nregistered {res.version} in {res.folder}\nreport: {res.report}")
    if res.verdict is not None:
        print(("promoted: " if res.verdict.promote else "not promoted: ") + res.verdict.why)
    if args.shadow and challenger(s) == res.version:
        print(f"shadow challenger: {res.version} (scored beside the champion when serving.shadow is on)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ato.model.data import NotEnoughData
    from ato.model.evaluate import run_evaluation
    from ato.model.evaluate_world import load_eval_conf

    conf = load_eval_conf(args.config, root=args.root, accounts=args.accounts, days=args.days, windows=args.windows,
                          window_days=args.window_days, resamples=args.resamples)
    try:
        doc, path, report = run_evaluation(conf, progress(), build=not args.no_build)
    except NotEnoughData as e:
        raise Refused(f"cannot evaluate: {e}") from e
    if wants_json(args):
        emit({"metrics": str(path), "report": str(report), "goals": doc["goals"], "counts": doc["pooled"]["counts"]})
        return 0
    from ato.cli.summaries import print_evaluation

    print_evaluation(doc)
    print(f"\nmetrics: {path}\nreport: {report}")
    return 0


def _champion_change(action: str, args: argparse.Namespace) -> int:
    """`promote V` or `rollback`; exit 3 when the registry refuses (a verdict, not a crash)."""
    from ato.model import registry

    s = load_settings()
    before = registry.champion(s)
    try:
        if action == "promote":
            from ato.monitoring.shadow import promote

            version = _promotion_candidate(s, args)
            if version is None:  # --challenger with none in shadow: nothing to decide
                return _answer(args, {"action": action, "champion": before, "previous": before,
                                   "why": "no shadow challenger"}, f"no shadow challenger; champion {before}")
            why = promote(s, version, True if args.require_live else None).why
            msg = f"{version} is the champion: {why}"
        else:
            why = f"rolled back from {before}"
            msg = f"champion rolled back to {registry.rollback(s)}"
    except registry.PromotionRefused as e:
        raise Refused(f"{action} refused: {e}", 3, {"action": action, "champion": before, "why": str(e)}) from e
    return _answer(args, {"action": action, "champion": registry.champion(s), "previous": before, "why": why}, msg)


def _promotion_candidate(s: Any, args: argparse.Namespace) -> str | None:
    """The version `ato promote` is asked about: V, or with --challenger the shadow challenger."""
    from ato.model import registry

    if bool(args.version) == bool(args.challenger):
        raise Refused("promote takes a version or --challenger (the shadow challenger), not both or neither", 2)
    return args.version or registry.challenger(s)


def _answer(args: argparse.Namespace, doc: dict[str, Any], text: str) -> int:
    if wants_json(args):
        emit(doc)
    else:
        print(text)
    return 0


def _shadow(args: argparse.Namespace) -> int:
    """`ato shadow V` sets the challenger, `--off` clears it; alone, shows it with its live record."""
    from ato.model import registry
    from ato.monitoring.shadow import compare_live, judge, shadow_rows

    s = load_settings()
    try:
        if args.off or args.version:
            registry.set_challenger(s, None if args.off else args.version)
    except registry.PromotionRefused as e:
        raise Refused(f"shadow refused: {e}", 3) from e
    version, champ = registry.challenger(s), registry.champion(s)
    doc: dict[str, Any] = {"challenger": version, "champion": champ, "serving_shadow_on": s.serving.shadow}
    if version is not None:
        live = compare_live(shadow_rows(s, version, champ), s)
        v = judge(live, s)
        doc |= {"live": live, "not_worse": v.promote, "why": v.why}
    if wants_json(args):
        emit(doc)
        return 0
    if version is None:
        print(f"no shadow challenger (champion {champ})")
        return 0
    print(f"shadow challenger {version} beside champion {champ}"
          + ("" if s.serving.shadow else " (serving.shadow is off: serving does not score it)"))
    print(("not worse: " if doc["not_worse"] else "not yet / worse: ") + doc["why"])
    return 0


def _models(args: argparse.Namespace) -> int:
    from ato.model import registry

    s = load_settings()
    champ, shadow = registry.champion(s), registry.challenger(s)
    rows = []
    for v in registry.versions(s):
        t = registry.metrics(s, v)["test"]["model"]
        rows.append({"version": v, "champion": v == champ, "shadow": v == shadow, "pr_auc": t["pr_auc"],
                     "recall_at_1pct_stepup": t["recall_at_1pct_stepup"]})
    if wants_json(args):
        emit({"champion": champ, "shadow": shadow, "versions": rows, **({"history": registry.history(s)} if args.history else {})})
        return 0
    for r in rows:
        print(f"{'*' if r['champion'] else '~' if r['shadow'] else ' '} {r['version']}  PR-AUC {r['pr_auc']:.4f}  "
              f"recall@1% {r['recall_at_1pct_stepup']:.3f}")
    if args.history:
        for h in registry.history(s):
            print(f"{h['at']}  {h['action']:<8} {h['version']}  (was {h['previous']})  {h['why']}")
    return 0


def add_commands(sub: Any) -> None:
    t = sub.add_parser(
        "train", help="train, evaluate and register a model (see README 'Model')",
        description="Rolling-origin choice of rebalancing and parameters, calibrator chosen on validation, cost tiers with the step-up budget, fallback model, "
                    "rules and Freeman baselines on the same test days, the champion scored on them too; writes "
                    "<paths.models>/<version>/ and the HTML report. The version id depends only on data, seed "
                    "and choices: a re-run gives the same one.")
    t.add_argument("--date", type=date.fromisoformat,
                   help="night D: train on logins up to D minus batch.label_maturity_days "
                        "(default: the newest login day in the training set)")
    t.add_argument("--promote", action="store_true",
                   help="make it the champion if it beats the current one (as `ato promote` decides)")
    t.add_argument("--shadow", action="store_true",
                   help="when not promoted, make it the shadow challenger (`ato shadow`)")
    t.add_argument("--reason", help="why this training runs (the retrain DAG passes the monitoring trigger's reasons "
                                    "or 'weekly schedule'); kept in the version's bundle.json and metrics.json")
    add_json(t)
    t.set_defaults(fn=_train)

    e = sub.add_parser(
        "evaluate", help="build the evaluation world and measure the model on rolling test windows (README 'Evaluation')",
        description="Simulate the evaluation world (conf/evaluation.yaml: more accounts and days than the demo, attack "
                    "rates raised so every attack type is in every test window), ingest it and run the nightly backfill "
                    "into its own root, then for each of the last N test windows train a model on the days before it "
                    "(as `ato train` does) and score it, with the fallback, rules and Freeman RBA. Writes "
                    "<root>/metrics.json (every metric per window and pooled, bootstrap 95%% intervals, goals met or "
                    "not) and <root>/reports/evaluation.html. Build steps already done for the same profile are skipped.")
    e.add_argument("--config", type=Path, help="evaluation profile (default: conf/evaluation.yaml)")
    e.add_argument("--root", type=Path, help="folder of the evaluation world (default: the profile's root, data/eval)")
    e.add_argument("--accounts", type=int, help="accounts (default: the profile's)")
    e.add_argument("--days", type=int, help="simulated days (default: the profile's)")
    e.add_argument("--windows", type=int, help="rolling test windows (default: the profile's)")
    e.add_argument("--window-days", type=int, help="login days per test window (default: the profile's)")
    e.add_argument("--resamples", type=int, help="bootstrap draws (default: the profile's)")
    e.add_argument("--no-build", action="store_true",
                   help="evaluate the lake already under the root (no simulate / ingest / nightly)")
    add_json(e)
    e.set_defaults(fn=_evaluate)

    p = sub.add_parser(
        "promote", help="make a version the champion, only if it beats the champion on its test window",
        description="V needs a higher test PR-AUC than the champion scored on V's own test rows and may lose at "
                    "most model.promote_max_recall_drop recall at 1%% step-up; one that adds a part the champion "
                    "lacks (the action model) needs only a PR-AUC not lower. The first model must beat the "
                    "rules. A refusal exits 3 with the reason.")
    p.add_argument("version", nargs="?", help="a version id as `ato models` lists it, e.g. 20260831-04053bcd")
    p.add_argument("--challenger", action="store_true",
                   help="the shadow challenger (`ato shadow`); with none, nothing happens (exit 0). The nightly "
                        "runs `ato promote --challenger --require-live` after monitoring")
    p.add_argument("--require-live", action="store_true",
                   help="also require that V, scored in shadow, was not worse than the champion on live traffic "
                        "(gold/shadow_daily; default: model.promote_require_live)")
    add_json(p)
    p.set_defaults(fn=lambda a: _champion_change("promote", a))

    r = sub.add_parser(
        "rollback", help="point the champion back at the version it replaced",
        description="Serving follows the champion pointer, so it picks the previous version up on its next "
                    "reload. Exits 3 when there is nothing to roll back to.")
    add_json(r)
    r.set_defaults(fn=lambda a: _champion_change("rollback", a))

    sh = sub.add_parser(
        "shadow", help="set, clear or show the shadow challenger serving scores beside the champion",
        description="`ato shadow V` makes V the challenger: with serving.shadow on, the API scores it on every "
                    "level-0 decision's vector (audited, never in the answer) and the nightly monitor compares the "
                    "two on matured labels into gold/shadow_daily. `--off` clears it. Alone: the challenger and "
                    "its live record against the champion (what `ato promote --require-live` asks).")
    sh.add_argument("version", nargs="?", help="a version id as `ato models` lists it")
    sh.add_argument("--off", action="store_true", help="no shadow challenger")
    add_json(sh)
    sh.set_defaults(fn=_shadow)

    m = sub.add_parser("models", help="list registered versions (* = champion) with their test metrics",
                       description="Versions under paths.models (ATO_MODEL_DIR) with test PR-AUC and recall "
                                   "at 1%% step-up; * marks the champion, ~ the shadow challenger.")
    m.add_argument("--history", action="store_true", help="also list promotions and rollbacks, oldest first")
    add_json(m)
    m.set_defaults(fn=_models)
