"""Benchmark: what the ring features add to the ATO model (README "Fraud rings").

On a lake the nightly has built with the `rings` step (e.g. after `make demo`), trains the model
twice on the same days with the same seed: with every feature, and with `ring_size` and
`ring_labelled_share` left out (`model.drop_features`). Prints test PR-AUC, ROC-AUC and recall at
1 % step-up overall and per attack type for both, and the change. Nothing is registered. Usage:
    .venv/bin/python benchmarks/ring_features.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ato.features.columns import RING_FEATURES


def _train(drop: tuple[str, ...]) -> dict[str, Any]:
    from ato.model.training_run import train
    from ato.progress import QUIET
    from ato.settings import load_settings

    os.environ["ATO_MODEL__DROP_FEATURES"] = ",".join(drop)
    run = train(load_settings(), progress=QUIET)
    test = run.metrics["test"]["model"]
    rows = run.test
    in_ring = float((rows.get("ring_size", 0) > 0).mean()) if "ring_size" in rows else None
    return {"pr_auc": test["pr_auc"], "roc_auc": test["roc_auc"], "recall_at_1pct_stepup": test["recall_at_1pct_stepup"],
            "n_positive": test["n_positive"], "by_type": test.get("recall_by_attack_type", {}), "test_rows_in_rings": in_ring,
            "window": run.window.as_dict()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json", type=Path, help="write both runs here")
    args = p.parse_args()
    with_rings = _train(())
    without = _train(RING_FEATURES)
    print(f"test window {with_rings['window']}; takeover logins in test: {with_rings['n_positive']}")
    print(f"{'':<24}{'without rings':>15}{'with rings':>12}{'change':>9}")
    for m in ("pr_auc", "roc_auc", "recall_at_1pct_stepup"):
        a, b = without[m], with_rings[m]
        print(f"{'all: ' + m:<24}{a:>15.4f}{b:>12.4f}{b - a:>+9.4f}")
    for t in sorted(set(with_rings["by_type"]) | set(without["by_type"])):
        a, b = without["by_type"].get(t, {}), with_rings["by_type"].get(t, {})
        for m in ("pr_auc", "recall_at_1pct_stepup"):
            va, vb = a.get(m), b.get(m)
            change = f"{vb - va:>+9.4f}" if va is not None and vb is not None else ""
            print(f"{t + ': ' + m:<24}{va if va is not None else float('nan'):>15.4f}"
                  f"{vb if vb is not None else float('nan'):>12.4f}{change}   (n={b.get('n', a.get('n'))})")
    if args.json:
        args.json.write_text(json.dumps({"with_rings": with_rings, "without": without}, indent=2, default=str))


if __name__ == "__main__":
    main()
