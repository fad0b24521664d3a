"""Benchmark: the accounts' action-history folds of a night, one process against forked slices.

Publish folds every account's successful logins, changes and payments of the 30 days up to the
as-of date into the action states the snapshot hands serving (`ato.sensitive.events.account_states`);
the actions step folds the same history to take each action's features
(`ato.sensitive.rows.feature_rows`). Both are pure Python. This times each with
`batch.fold_processes` 1 and with N processes on the same lake, checks the outputs are equal and
prints the ratios. Base world: the lake `benchmarks/ingest.py --keep DIR` leaves (silver only is read,
through delta-rs; no JVM).

Usage: .venv/bin/python benchmarks/fold.py --base DIR [--processes 0] [--as-of YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any


def timed(label: str, fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    s = time.perf_counter() - t
    print(f"  {label:<52} {s:8.1f} s", flush=True)
    return out, s


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, required=True, help="folder kept by benchmarks/ingest.py --keep")
    p.add_argument("--processes", type=int, default=0, help="forked processes to compare with one (0: one per core)")
    p.add_argument("--as-of", type=date.fromisoformat, help="as-of date (default: silver's last login day)")
    args = p.parse_args()
    from ato import deltars
    from ato.features.actions import WINDOW_DAYS
    from ato.sensitive.events import account_states, read_events
    from ato.sensitive.rows import feature_rows
    from ato.sensitive.slices import processes
    from ato.settings import load_settings
    from ato.tables import LOGINS

    env = {**os.environ, "ATO_LAKE_ROOT": str(args.base / "lake")}
    one = load_settings(environ={**env, "ATO_BATCH__FOLD_PROCESSES": "1"})
    n = processes(args.processes)
    many = load_settings(environ={**env, "ATO_BATCH__FOLD_PROCESSES": str(n)})
    as_of = args.as_of or max(deltars.partition_dates(one, "silver", LOGINS, "event_date"))
    events, _ = timed(f"reading the 30 days up to {as_of} (serial in both)",
                           lambda: read_events(one, as_of - timedelta(days=WINDOW_DAYS), as_of))
    print(f"  ({len(events):,} events of {events['account_id'].nunique():,} accounts)")
    s1, t1 = timed("action states (publish), 1 process", lambda: account_states(one, as_of))
    sn, tn = timed(f"action states (publish), {n} processes", lambda: account_states(many, as_of))
    assert s1.equals(sn), "forked slices changed the action states"
    k = many.batch.rebuild_partials_days
    earlier, _ = timed(f"action states of {as_of - timedelta(days=k)} (the snapshot a night folds on from)",
                       lambda: account_states(many, as_of - timedelta(days=k)))
    so, to = timed(f"action states (publish), folded on from {k} nights before, {n} processes",
                   lambda: account_states(many, as_of, earlier))
    assert so["account_id"].equals(sn["account_id"]) and so["last_event_date"].equals(sn["last_event_date"]), \
        "folding on changed the accounts"
    f1, u1 = timed(f"feature rows of {as_of} (actions step), 1 process", lambda: feature_rows(one, as_of, as_of))
    fn, un = timed(f"feature rows of {as_of} (actions step), {n} processes", lambda: feature_rows(many, as_of, as_of))
    assert f1.equals(fn), "forked slices changed the feature rows"
    print(f"\n{s1.num_rows:,} account states, {len(f1):,} action rows; outputs equal.")
    print(f"action states: {t1:.1f} s -> {tn:.1f} s ({t1 / tn:.2f}x), folded on {to:.1f} s ({tn / to:.1f}x less); feature rows: {u1:.1f} s -> {un:.1f} s "
          f"({u1 / un:.2f}x) with {n} processes on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
