"""Benchmark: the ring finder on the ring world at several sizes (README "Fraud rings").

For each size (default: the demo world's 10,000 accounts and 10x), builds the ring world
(`ato.simulator.ring_world`), runs `ato.rings.pipeline.find_rings` and prints the seconds of each
stage, candidate pairs per account (it should stay flat as the world grows: the caps keep blocks
small) and pairs per second, then the quality on unseen rings, the model against the rule baseline
(`ato.rings.evaluate`). With --curve, the same metrics at other thresholds for the first size (for
reading only: the threshold is chosen on the known cases, never on these rings). With --spark, the
same candidate pairs and the components of the kept links again on local Spark (`ato.spark.rings`),
timed, with a check that they equal the pandas ones. With --lake, instead: the rings the nightly
`rings` step wrote (gold/fraud_rings, gold/ring_edges of its latest night, or --night) against the
main world's truth (`<world>/ring_truth.parquet`, e.g. after `make demo`), on the rings no case had
reported by that night. Usage:
    .venv/bin/python benchmarks/rings.py [--sizes 10000,100000] [--seed 7] [--curve] [--spark] [--json OUT]
    .venv/bin/python benchmarks/rings.py --lake [--night D]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

GOALS = {"bcubed_f1": (">=", 0.90), "ring_recall": (">=", 0.85), "legit_in_rings": ("<=", 0.001)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="10000,100000", help="accounts per world, comma-separated")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--curve", action="store_true", help="metrics at other thresholds too (first size)")
    p.add_argument("--spark", action="store_true", help="time the Spark candidates and components too")
    p.add_argument("--json", type=Path, help="write every number here")
    p.add_argument("--lake", action="store_true", help="judge the nightly step's rings on the main world (settings' lake and world)")
    p.add_argument("--night", help="with --lake: YYYY-MM-DD (default: the latest ring night)")
    args = p.parse_args()
    if args.lake:
        lake_rings(args.night)
        return
    from ato.rings.components import rings_from_links
    from ato.rings.evaluate import evaluate_rings, unseen_accounts
    from ato.rings.pipeline import find_rings, pairs_per_second
    from ato.settings import load_settings
    from ato.simulator.ring_world import build_ring_world

    conf = load_settings().rings
    out: list[dict[str, Any]] = []
    for i, n in enumerate(int(s) for s in args.sizes.split(",")):
        t = time.perf_counter()
        world = build_ring_world(accounts=n, seed=args.seed)
        built = time.perf_counter() - t
        accounts = len(world.truth)
        print(f"\n== {accounts:,} accounts ({world.truth['ring'].nunique() - 1} rings, "
              f"{world.cases['case_id'].nunique()} investigated), world built in {built:.1f} s")
        run = find_rings(world.profiles, world.activity, world.cases, b"benchmark-key-0123456789abcdef", conf, args.seed)
        rate = pairs_per_second(run)
        total = sum(run.seconds.values())
        print("   " + "  ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items()) + f"  (total {total:.1f} s)")
        print(f"   candidate pairs {len(run.pairs):,} ({len(run.pairs) / accounts:.1f} per account), "
              f"{rate['candidates']:,.0f} pairs/s generated, {rate['features']:,.0f}/s featurized, "
              f"{rate['score']:,.0f}/s scored; kept {int(rate['kept']):,} at threshold {run.model.threshold}")
        universe = unseen_accounts(world.truth, world.cases, run.split)
        model = evaluate_rings(run.pairs[run.pairs["kept"]], run.rings, world.truth, universe)
        rule = evaluate_rings(run.pairs[run.pairs["hard_kinds"] > 0], run.rule_rings, world.truth, universe)
        print(f"   unseen rings of 3+: {int(model['rings_unseen'])}; threshold chosen on "
              f"{int(run.model.choice.get('held_out_cases', 0))} held-out known cases")
        print(f"   {'metric':<26}{'model':>10}{'rule':>10}  goal")
        for k in ("pair_precision", "pair_recall", "bcubed_precision", "bcubed_recall", "bcubed_f1", "ring_recall",
                  "legit_in_rings", "households_in_rings", "colleagues_in_rings", "legit_accounts_in_rings"):
            goal = GOALS.get(k)
            met = "" if not goal else (" ".join(map(str, goal)) + ("  met" if (model[k] >= goal[1] if goal[0] == ">=" else model[k] <= goal[1]) else "  MISSED"))
            print(f"   {k:<26}{model[k]:>10.4f}{rule[k]:>10.4f}  {met}")
        row: dict[str, Any] = {"accounts": accounts, "seconds": run.seconds, "world_seconds": built, "pairs": len(run.pairs),
               "rates": rate, "threshold": run.model.threshold, "choice": run.model.choice, "model": model, "rule": rule}
        if args.curve and i == 0:
            row["curve"] = {}
            print(f"   {'threshold':<10}{'b3 F1':>8}{'ring rec':>10}{'legit':>9}")
            for thr in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5):
                kept = run.pairs[run.pairs["score"] >= thr]
                e = evaluate_rings(kept, rings_from_links(kept, conf.min_size), world.truth, universe)
                row["curve"][thr] = e
                print(f"   {thr:<10}{e['bcubed_f1']:>8.3f}{e['ring_recall']:>10.3f}{e['legit_in_rings']:>9.4f}")
        if args.spark:
            row["spark"] = spark_stages(run, conf)
        out.append(row)
    if len(out) > 1:
        a, b = out[0], out[-1]
        print(f"\n{b['accounts'] / a['accounts']:.1f}x accounts -> {b['pairs'] / a['pairs']:.1f}x candidate pairs, "
              f"{sum(b['seconds'].values()) / sum(a['seconds'].values()):.1f}x seconds")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


def lake_rings(night_text: str | None) -> None:
    """The nightly step's rings of one night against the main world's ring truth."""
    from datetime import date

    import pandas as pd
    import pyarrow.compute as pc

    from ato import deltars
    from ato import tables as T
    from ato.rings.browse import list_rings
    from ato.rings.evaluate import evaluate_rings
    from ato.settings import load_settings

    s = load_settings()
    night, rings = list_rings(s, date.fromisoformat(night_text) if night_text else None)
    truth = pd.read_parquet(Path(s.paths.world) / "ring_truth.parquet")
    labels = deltars.read(s, "silver", T.LABELS, columns=["account_id", "case_id", "reported_at"],
                          where=pc.field("case_id").is_valid()).to_pandas()
    cases = labels[labels["reported_at"].dt.date <= night]
    edges = deltars.read(s, "gold", T.RING_EDGES, where=pc.field("night") == pc.scalar(night)).to_pandas()
    pred = pd.Series({m: r.ring_id for r in rings.itertuples() for m in r.members}, dtype=object)
    seen_rings = truth.loc[truth["account_id"].isin(cases["account_id"]), "ring"].unique()
    universe = pd.Index(truth.loc[~truth["ring"].isin(seen_rings[seen_rings >= 0]), "account_id"])
    m = evaluate_rings(edges, pred, truth, universe)
    styles = truth[truth["ring"] >= 0].groupby("style")["ring"].nunique().to_dict()
    print(f"night {night}: {len(rings)} rings ({len(pred)} accounts) over {len(truth):,} accounts; true rings by style "
          f"{styles}; {cases['case_id'].nunique()} cases reported, {int(m['rings_unseen'])} unseen rings of 3+")
    for k in ("pair_precision", "pair_recall", "bcubed_precision", "bcubed_recall", "bcubed_f1", "ring_recall",
              "legit_in_rings", "households_in_rings", "colleagues_in_rings", "legit_accounts_in_rings"):
        goal = GOALS.get(k)
        print(f"   {k:<26}{m[k]:>10.4f}  {' '.join(map(str, goal)) if goal else ''}")


def spark_stages(run: Any, conf: Any) -> dict[str, float]:
    """Candidates and components of the same run on local Spark: seconds, pairs/s, equal or not."""
    import pandas as pd

    from ato.rings.components import min_label_components
    from ato.settings import load_settings
    from ato.spark.rings import candidate_pairs as spark_pairs
    from ato.spark.rings import components
    from ato.spark.session import get_spark

    spark = get_spark(load_settings(), app="rings-bench")
    links = spark.createDataFrame(run.links).cache()
    links.count()
    t = time.perf_counter()
    pairs = spark_pairs(links, conf.caps, conf.default_cap).cache()
    n = pairs.count()
    cand = time.perf_counter() - t
    kept = run.pairs.loc[run.pairs["kept"], ["a", "b"]]
    t = time.perf_counter()
    labels: pd.DataFrame = components(spark, spark.createDataFrame(kept)).toPandas()
    comp = time.perf_counter() - t
    same_pairs = n == len(run.pairs)  # run.pairs: every pandas candidate, kept or not
    same_comp = bool(labels.set_index("account_id")["label"].sort_index().equals(min_label_components(kept).sort_index()))
    print(f"   spark: candidates {cand:.1f} s ({n / max(cand, 1e-9):,.0f} pairs/s; same count as pandas: {same_pairs}), "
          f"components of {len(kept):,} links {comp:.1f} s (same as pandas: {same_comp})")
    return {"candidates_s": cand, "pairs": float(n), "components_s": comp, "same_pairs": float(same_pairs),
            "same_components": float(same_comp)}


if __name__ == "__main__":
    main()
