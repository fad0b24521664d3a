"""Model quality on the evaluation world (conf/evaluation.yaml): builds it (or reuses it), trains
one model per rolling test window and prints every goal with its interval and the time taken.
The same as `ato evaluate`; arguments override the profile.

    python benchmarks/model_quality.py [--accounts N] [--days D] [--root data/eval] [--no-build]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ato.cli.summaries import print_evaluation
from ato.model.evaluate import run_evaluation
from ato.model.evaluate_world import load_eval_conf
from ato.progress import ConsoleProgress


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path)
    p.add_argument("--root", type=Path)
    p.add_argument("--accounts", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--windows", type=int)
    p.add_argument("--window-days", type=int)
    p.add_argument("--resamples", type=int)
    p.add_argument("--no-build", action="store_true", help="evaluate the lake already under the root")
    a = p.parse_args()
    conf = load_eval_conf(a.config, root=a.root, accounts=a.accounts, days=a.days, windows=a.windows,
                          window_days=a.window_days, resamples=a.resamples)
    start = time.perf_counter()
    doc, path, report = run_evaluation(conf, ConsoleProgress(), build=not a.no_build)
    print_evaluation(doc)
    built = doc["world"]["build_seconds"] or {}
    print(f"\nworld build (s): {built}; evaluation {doc['seconds']['evaluation']} s; "
          f"this run {time.perf_counter() - start:.0f} s\nmetrics: {path}\nreport: {report}")


if __name__ == "__main__":
    main()
