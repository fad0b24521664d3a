"""How well predicted rings match the world's true rings, on rings the model never saw.

- pairwise precision and recall of the kept links among the unseen accounts (recall over every
  true pair of an unseen ring, candidate or not);
- B-cubed precision, recall and F1 over the accounts of unseen rings and the accounts predicted into
  rings (legitimate accounts outside any ring would add a perfect score each and hide the errors);
- ring recall: the share of unseen rings of 3+ accounts with at least 80 % of their members in one
  predicted ring;
- legit in rings: the share of legitimate accounts (and of household members and colleagues) that
  ended up in a predicted ring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def unseen_accounts(truth: pd.DataFrame, cases: pd.DataFrame, split: dict[str, str]) -> pd.Index:
    """Every account except those of the rings of known (training and threshold) cases."""
    seen = cases.loc[cases["case_id"].map(split) == "known", "account_id"]
    seen_rings = truth.loc[truth["account_id"].isin(seen), "ring"].unique()
    keep = ~truth["ring"].isin(seen_rings[seen_rings >= 0])
    return pd.Index(truth.loc[keep, "account_id"])


def pairwise(kept: pd.DataFrame, truth: pd.DataFrame, universe: pd.Index) -> dict[str, float]:
    ring = truth.set_index("account_id")["ring"]
    k = kept[kept["a"].isin(universe) & kept["b"].isin(universe)]
    ra, rb = ring.reindex(k["a"]).to_numpy(), ring.reindex(k["b"]).to_numpy()
    tp = int(((ra == rb) & (ra >= 0)).sum())
    sizes = ring[ring.index.isin(universe) & (ring >= 0)].value_counts()
    true_pairs = int((sizes * (sizes - 1) // 2).sum())
    return {"pair_precision": tp / max(1, len(k)), "pair_recall": tp / max(1, true_pairs),
            "kept_pairs": float(len(k)), "true_pairs": float(true_pairs)}


def bcubed(pred: pd.Series, truth: pd.DataFrame, universe: pd.Index) -> dict[str, float]:
    """B-cubed over true-ring members and predicted-ring members in the universe; an account alone
    is its own cluster on either side."""
    ring = truth.set_index("account_id")["ring"]
    items = pd.Index(ring.index[(ring >= 0) & ring.index.isin(universe)]).union(pred.index[pred.index.isin(universe)])
    t = pd.Series([f"t{r}" if r >= 0 else f"s{a}" for a, r in zip(items, ring.reindex(items), strict=True)], index=items)
    p = pd.Series([f"p{pred[a]}" if a in pred.index else f"s{a}" for a in items], index=items)
    both = pd.DataFrame({"t": t, "p": p})
    inter = both.groupby(["t", "p"]).size().rename("n").reset_index()
    inter["t_size"] = inter["t"].map(both["t"].value_counts())
    inter["p_size"] = inter["p"].map(both["p"].value_counts())
    prec = float((inter["n"] ** 2 / inter["p_size"]).sum() / max(1, len(items)))
    rec = float((inter["n"] ** 2 / inter["t_size"]).sum() / max(1, len(items)))
    return {"bcubed_precision": prec, "bcubed_recall": rec, "bcubed_f1": 2 * prec * rec / max(1e-12, prec + rec)}


def ring_recall(pred: pd.Series, truth: pd.DataFrame, universe: pd.Index, share: float = 0.8) -> dict[str, float]:
    t = truth[truth["account_id"].isin(universe) & (truth["ring"] >= 0)]
    found, total = 0, 0
    for _, g in t.groupby("ring"):
        if len(g) < 3:
            continue
        total += 1
        counts = pred.reindex(g["account_id"]).dropna().value_counts()
        found += int(len(counts) > 0 and counts.iloc[0] >= share * len(g))
    return {"ring_recall": found / max(1, total), "rings_found": float(found), "rings_unseen": float(total)}


def legit_in_rings(pred: pd.Series, truth: pd.DataFrame) -> dict[str, float]:
    legit = truth[truth["ring"] < 0]
    inside = legit["account_id"].isin(pred.index)
    fam, col = legit["household"] >= 0, legit["company"] >= 0
    return {"legit_in_rings": float(inside.mean()), "legit_accounts_in_rings": float(inside.sum()),
            "households_in_rings": float(inside[fam].mean()) if fam.any() else 0.0,
            "colleagues_in_rings": float(inside[col].mean()) if col.any() else 0.0}


def evaluate_rings(kept: pd.DataFrame, pred: pd.Series, truth: pd.DataFrame, universe: pd.Index) -> dict[str, float]:
    """Every metric above in one dict (the benchmark's and the README's numbers)."""
    return {**pairwise(kept, truth, universe), **bcubed(pred, truth, universe),
            **ring_recall(pred, truth, universe), **legit_in_rings(pred, truth),
            "predicted_rings": float(np.unique(pred.to_numpy()).size)}
