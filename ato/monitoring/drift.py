"""Drift of serving inputs and scores against the model's reference, and of the attack mix.

At training time `reference` summarises the model's test block (the latest days it was judged
on, scored as serving scores them): per feature and for the score, bin edges (deciles of the
numeric values; the top categories of a categorical), the share in each bin and the missing
share, plus a sample of up to `SAMPLE` values for a two-sample Kolmogorov-Smirnov test. It is
stored with the model (`reference.json`). Each night the monitor bins the day's audited feature
vectors and scores with those edges (`bin_counts`, run per partition in Spark) and compares:

- PSI = sum over bins (incl. missing) of (cur - ref) * ln(cur / ref), shares floored at 1e-4;
- KS: the largest gap between the two empirical CDFs (numeric features and the score), on the
  reference sample and a sample of the day; distribution-free, and it sees a shift inside a bin
  or within a spike where deciles collapse (a count feature that is 0 for 90 % of logins), where
  PSI is weak.

`drifted` when PSI > `monitor.psi_threshold` or KS > `monitor.ks_threshold` (conf), on at least
`monitor.min_decisions` decisions (a few logins differ from any reference on every feature).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SAMPLE = 2000
BINS = 10
TOP_CATEGORIES = 12
FLOOR = 1e-4
SCORE = "__score__"  # the score's entry beside the features
REFERENCE_FILE = "reference.json"  # in the model version's folder


def write_reference(folder: Path, ref: dict[str, Any]) -> None:
    (folder / REFERENCE_FILE).write_text(json.dumps(ref, separators=(",", ":")))


def has_reference(folder: Path) -> bool:
    """A reference is stored with the model version (not with versions trained before references)."""
    return (folder / REFERENCE_FILE).is_file()


def load_reference(folder: Path) -> dict[str, Any] | None:
    """The reference stored with a model version; None for versions trained before references."""
    return json.loads((folder / REFERENCE_FILE).read_text()) if has_reference(folder) else None


def _numeric_entry(v: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    ok = v[~np.isnan(v)]
    edges = np.unique(np.quantile(ok, np.linspace(0, 1, BINS + 1)[1:-1])) if len(ok) else np.array([])
    entry: dict[str, Any] = {"kind": "numeric", "edges": edges.tolist()}
    entry["shares"] = _shares(bin_numeric(v, edges), n_bins(entry)).tolist()
    entry["sample"] = (rng.choice(ok, SAMPLE, replace=False) if len(ok) > SAMPLE else ok).tolist()
    return entry


def _categorical_entry(v: pd.Series) -> dict[str, Any]:
    top = v.dropna().astype(str).value_counts().index[:TOP_CATEGORIES].tolist()
    entry: dict[str, Any] = {"kind": "categorical", "categories": top}
    entry["shares"] = _shares(bin_categorical(v, top), n_bins(entry)).tolist()
    return entry


def reference(df: pd.DataFrame, features: Sequence[str], categorical: Iterable[str], score: np.ndarray,
              seed: int = 7, actions: np.ndarray | None = None) -> dict[str, Any]:
    """The reference of `features` and `score` on `df` (see the module docstring); with the
    model's `actions`, also what monitoring should expect of it (`expected`: the estimated recall
    of challenges, sum of p over challenged / sum of p, and the challenged share)."""
    rng = np.random.default_rng(seed)
    cats = set(categorical)
    out: dict[str, Any] = {"rows": len(df), "features": {}}
    if actions is not None:
        p, challenged = np.asarray(score, dtype=float), np.asarray(actions) != "allow"
        out["expected"] = {"est_recall_challenged": float(p[challenged].sum() / max(1e-12, p.sum())),
                           "challenged_share": float(challenged.mean()) if len(p) else None}
    for f in features:
        out["features"][f] = (_categorical_entry(df[f]) if f in cats
                              else _numeric_entry(pd.to_numeric(df[f], errors="coerce").to_numpy(float), rng))
    out["features"][SCORE] = _numeric_entry(np.asarray(score, dtype=float), rng)
    return out


def bin_numeric(v: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bin index per value: 0 missing, 1.. one per interval (right-closed: a value equal to an
    edge goes to the bin below it, as the quantiles that made the edges)."""
    v = np.asarray(v, dtype=float)
    idx = np.searchsorted(np.asarray(edges, dtype=float), v, side="left") + 1
    return np.where(np.isnan(v), 0, idx)


def bin_categorical(v: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Bin index per value: 0 missing, 1.. one per category, last: any other."""
    s = pd.Series(v, dtype=object)
    missing = s.isna().to_numpy()
    codes = pd.Categorical(s.where(~missing, "").astype(str), categories=list(categories)).codes.astype(np.int64)
    return np.where(missing, 0, np.where(codes < 0, len(categories) + 1, codes + 1))


def _shares(bins: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(bins, minlength=n_bins).astype(float)
    return counts / max(1.0, counts.sum())


def n_bins(entry: Mapping[str, Any]) -> int:
    """Bins of a reference entry: missing, one per interval or category, and one past the last."""
    return len(entry["edges"] if entry["kind"] == "numeric" else entry["categories"]) + 2


def bin_counts(values: Mapping[str, Any], ref: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Counts per bin of each reference entry over a batch of rows (`values`: name -> column)."""
    out = {}
    for name, entry in ref["features"].items():
        col = values.get(name)
        if col is None:
            continue
        if entry["kind"] == "numeric":
            b = bin_numeric(pd.to_numeric(pd.Series(col), errors="coerce").to_numpy(float), entry["edges"])
        else:
            b = bin_categorical(pd.Series(col), entry["categories"])
        out[name] = np.bincount(b, minlength=n_bins(entry))
    return out


def psi(ref_shares: Sequence[float] | np.ndarray, counts: Sequence[float] | np.ndarray) -> float:
    """Population stability index of `counts` against reference shares (shares floored)."""
    ref = np.maximum(np.asarray(ref_shares, dtype=float), FLOOR)
    c = np.asarray(counts, dtype=float)
    cur = np.maximum(c / max(1.0, c.sum()), FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def ks(ref_sample: Sequence[float] | np.ndarray, cur: Sequence[float] | np.ndarray) -> float | None:
    """Two-sample Kolmogorov-Smirnov statistic (missing values left out); None without data."""
    a = np.sort(np.asarray(ref_sample, dtype=float))
    b = np.asarray(cur, dtype=float)
    b = np.sort(b[~np.isnan(b)])
    if not len(a) or not len(b):
        return None
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / len(a)
                               - np.searchsorted(b, grid, side="right") / len(b))))


def mix_shift(today: Mapping[str, int], before: Mapping[str, int]) -> tuple[float, float]:
    """(PSI, total variation distance) between two count mixes (reason codes, guardrails ...)."""
    keys = sorted(set(today) | set(before))
    if not keys:
        return 0.0, 0.0
    t = np.array([today.get(k, 0) for k in keys], dtype=float)
    b = np.array([before.get(k, 0) for k in keys], dtype=float)
    if not t.sum() or not b.sum():
        return float("nan"), float("nan")
    tvd = 0.5 * float(np.abs(t / t.sum() - b / b.sum()).sum())
    return psi(b / b.sum(), t), tvd
