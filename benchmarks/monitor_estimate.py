"""Benchmark: does the estimated recall (from calibrated scores) track the realised recall?

On the demo world (after `make demo`): the champion scores the logins of the last `--days`
matured login days of gold/training_set (its test window: never fitted or chosen on), the
decisions go to a scratch lake's gold/decisions (decided day = login day), the real `monitor`
step joins them with the world's labels as known on the last simulated night, and this prints,
per day, the realised recall of challenges, the estimated one and the label maturity, then the
mean absolute and mean signed error. Offline scoring stands in for the API here (the parity
tests hold the two equal); a replay through the API files decisions under the day it ran.

    PYTHONPATH=. .venv/bin/python benchmarks/monitor_estimate.py [--days 10] [--out data/monitor-bench]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--out", type=Path, default=Path("data/monitor-bench"))
    args = p.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    from ato import deltars
    from ato.decisions import SCHEMA
    from ato.features.columns import FEATURES
    from ato.model.bundle import load_bundle
    from ato.model.registry import champion, registry_dir
    from ato.monitoring.metrics import pooled
    from ato.settings import load_settings
    from ato.spark.monitor import run_monitor
    from ato.spark.session import get_spark
    from ato.tables import BUSINESS_DAILY, DECISIONS, LABELS, TRAINING

    src = load_settings()
    version = champion(src)
    if version is None:
        raise SystemExit("no champion: run `make demo` first")
    scorer = load_bundle(registry_dir(src) / version)["model"]
    days = sorted(deltars.partition_dates(src, "gold", TRAINING, "login_date"))[-args.days:]
    df = deltars.read_dates(src, "gold", TRAINING, "login_date", days[0], days[-1]).to_pandas()
    _, prob, action = scorer.score(df)
    feats = df[list(FEATURES)].astype(object).where(df[list(FEATURES)].notna(), None)
    rows = [{"decision_id": f"bench_{e}", "event_id": e, "account_id": a, "event_time": t,
             "decided_at": t, "risk_score": float(pr), "action": str(ac), "reasons": [], "fallback_level": 0,
             "model_version": version, "guardrails": [], "decided_date": t.date(),
             "features_json": json.dumps(dict(zip(FEATURES, f, strict=True)), default=str)}
            for e, a, t, pr, ac, f in zip(df["event_id"], df["account_id"], df["event_time"], prob, action,
                                           feats.itertuples(index=False, name=None), strict=True)]
    shutil.rmtree(args.out, ignore_errors=True)
    s = load_settings(environ={**os.environ, "ATO_LAKE_ROOT": str(args.out / "lake")})
    shutil.copytree(src.table_path("silver", LABELS), s.table_path("silver", LABELS))
    deltars.write(s, "gold", DECISIONS, pa.Table.from_pylist(rows, schema=SCHEMA), mode="overwrite",
                  partition_by=["decided_date"])
    labels = deltars.read(src, "silver", LABELS, columns=["reported_at"]).to_pandas()
    night = labels["reported_at"].max().date()
    spark = get_spark(s, "ato-monitor-bench")
    run_monitor(spark, s, night)
    spark.stop()
    b = deltars.read(s, "gold", BUSINESS_DAILY).to_pandas().sort_values("decided_date")
    print(f"champion {version}; {len(df):,} logins of {days[0]}..{days[-1]}; labels as known on {night}\n")
    print(f"{'day':<12}{'logins':>8}{'ato':>6}{'realised':>10}{'estimated':>11}{'maturity':>10}")
    for r in b.itertuples(index=False):
        print(f"{r.decided_date!s:<12}{r.decisions:>8,}{r.ato:>6}{r.recall_challenged:>10.3f}"
              f"{r.est_recall_challenged:>11.3f}{r.label_maturity:>10.3f}")
    ok = b["recall_challenged"].notna()
    err = (b.loc[ok, "est_recall_challenged"] - b.loc[ok, "recall_challenged"]).to_numpy()
    days_together = pooled(b, s.costs)
    pooled_real, pooled_est = float(days_together["recall_challenged"]), float(days_together["est_recall_challenged"])
    print(f"\nper-day |estimated - realised| mean {np.abs(err).mean():.3f}, max {np.abs(err).max():.3f}; "
          f"signed mean {err.mean():+.3f} over {ok.sum()} days")
    print(f"pooled over the days: realised {pooled_real:.3f}, estimated {pooled_est:.3f} "
          f"({pooled_est - pooled_real:+.3f})")
    span = (days[-1] - days[0]) + timedelta(days=1)
    print(f"(takeovers per day {b['ato'].mean():.1f}: a day's realised recall moves by "
          f"{1 / max(1.0, b['ato'].mean()):.2f} per takeover; {span.days} days)")
    if math.isnan(pooled_real):
        raise SystemExit("no takeover labels in the window")


if __name__ == "__main__":
    main()
