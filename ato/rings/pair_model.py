"""The pair classifier: LightGBM on pairs from investigated cases, a threshold chosen on held-out
cases, and the rule baseline it must beat ("link if any hard attribute is shared").

Training pairs (README "Fraud rings"): positives are two accounts of one case; negatives are two
accounts of different cases, a case account and an unlabelled one, and a sample of unlabelled
pairs: without those the model never sees a household or two colleagues and links them (the first
version did: 26 % of legitimate accounts ended up in rings). Unlabelled pairs include unknown rings,
so they are noisy negatives; they are few beside the households and offices.

Cases in order of discovery: the newest `test_share` and the never-investigated rings are the
unseen ones the evaluation scores. Of the known ones, the older train the model and the newest `val_share`
choose the threshold. (Tried and dropped: time-ordered folds to choose on more cases, then a final
model on all known cases. Its scores sit on another scale than the folds' models, so the chosen
threshold did not transfer: 4 % of legitimate accounts in rings on the demo world.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ato.rings.components import rings_from_links
from ato.rings.evaluate import bcubed
from ato.rings.features import PAIR_FEATURES, monotone

THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7)


@dataclass
class PairModel:
    """A fitted booster, its threshold and how it was chosen."""

    booster: object
    threshold: float
    features: tuple[str, ...] = PAIR_FEATURES
    choice: dict[str, float] = field(default_factory=dict)

    def score(self, pairs: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(pairs[list(self.features)].to_numpy(dtype=float)))  # type: ignore[attr-defined]


def rule_links(pairs: pd.DataFrame) -> np.ndarray:
    """The baseline: any shared hard attribute links two accounts."""
    return (pairs["hard_kinds"] > 0).to_numpy()


def case_order(cases: pd.DataFrame) -> pd.Index:
    """Case ids in the order they were first reported."""
    return cases.groupby("case_id")["reported_at"].min().sort_values(kind="stable").index


def split_cases(cases: pd.DataFrame, test_share: float = 0.2) -> dict[str, str]:
    """case_id -> 'known' | 'test': the newest `test_share` of cases are test."""
    order = case_order(cases)
    cut = len(order) - round(len(order) * test_share)
    return {c: ("known" if i < cut else "test") for i, c in enumerate(order)}


def training_rows(pairs: pd.DataFrame, cases: pd.DataFrame, train_cases: pd.Index, *, seed: int,
                  unlabelled_per_positive: float) -> tuple[np.ndarray, np.ndarray]:
    """(pair positions, labels) to train on: every pair touching a training case whose other account
    is in a training case or in none, plus a sample of pairs of accounts in no case at all. Pairs
    touching any other case (held out, test) are never used, not even as unlabelled."""
    case_of = cases.drop_duplicates("account_id").set_index("account_id")["case_id"]
    ca, cb = case_of.reindex(pairs["a"]).to_numpy(), case_of.reindex(pairs["b"]).to_numpy()
    train = set(train_cases)
    in_a = np.array([c in train for c in ca]) if len(ca) else np.zeros(0, bool)
    in_b = np.array([c in train for c in cb]) if len(cb) else np.zeros(0, bool)
    free_a, free_b = pd.isna(ca), pd.isna(cb)
    labelled = (in_a & (in_b | free_b)) | (in_b & free_a)
    y = (in_a & in_b & (ca == cb)).astype(float)
    pool = np.flatnonzero(free_a & free_b)
    n_pos = int(y[labelled].sum())
    take = np.random.default_rng(seed).choice(pool, size=min(len(pool), int(max(1, n_pos) * unlabelled_per_positive)), replace=False)
    idx = np.concatenate([np.flatnonzero(labelled), np.sort(take)])
    return idx, y[idx]


def train_booster(pairs: pd.DataFrame, idx: np.ndarray, y: np.ndarray, seed: int) -> object:
    """Small, regularised trees (a few dozen cases): monotone where sharing must only help."""
    import lightgbm as lgb

    params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 80, "lambda_l2": 10.0,
              "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "seed": seed,
              "deterministic": True, "num_threads": 2, "verbose": -1, "scale_pos_weight": 3.0,
              "monotone_constraints": [monotone(f) for f in PAIR_FEATURES], "monotone_constraints_method": "advanced"}
    x = pairs.iloc[idx][list(PAIR_FEATURES)].to_numpy(dtype=float)
    return lgb.train(params, lgb.Dataset(x, y), num_boost_round=150)


def fit_pair_model(pairs: pd.DataFrame, cases: pd.DataFrame, split: dict[str, str], *, seed: int = 7,
                   unlabelled_per_positive: float = 20, beta: float = 0.5, min_size: int = 3, val_share: float = 0.25,
                   accounts: int = 0, max_share: float = 1.0) -> PairModel:
    """Train on the older known cases, choose the score threshold on the newest `val_share` of them,
    among the thresholds that put at most `max_share` of the `accounts` in rings."""
    order = case_order(cases[cases["case_id"].map(split) == "known"])
    cut = len(order) - max(1, round(len(order) * val_share))
    train, held = order[:cut], order[cut:]
    model = PairModel(train_booster(pairs, *training_rows(pairs, cases, train, seed=seed,
                                                          unlabelled_per_positive=unlabelled_per_positive), seed), 0.5)
    s = model.score(pairs)
    per_t = {t: held_out_bcubed(pairs, s, t, cases, held, min_size) for t in THRESHOLDS}
    share = {t: len(rings_from_links(pairs[s >= t], min_size)) / accounts for t in THRESHOLDS} if accounts else {}
    model.threshold, choice = choose_threshold(per_t, beta, share, max_share)
    model.choice = {**choice, "train_cases": float(len(train)), "held_out_cases": float(len(held)), "beta": beta}
    return model


def held_out_bcubed(pairs: pd.DataFrame, scores: np.ndarray, t: float, cases: pd.DataFrame, held: pd.Index,
                    min_size: int) -> tuple[float, float]:
    """B-cubed (precision, recall) of the rings at threshold t against the held-out cases.

    Only predicted rings holding a held-out account are scored (the others may be unknown rings);
    in them, unlabelled accounts count as wrongly linked, so an unfound member pulled in counts
    against a threshold too (conservative). Accounts of other cases are left out."""
    mine = cases[cases["case_id"].isin(held)].drop_duplicates("account_id").set_index("account_id")["case_id"]
    others = pd.Index(cases.loc[~cases["case_id"].isin(held), "account_id"])
    pred = rings_from_links(pairs[scores >= t], min_size)
    pred = pred[pred.isin(pred[pred.index.isin(mine.index)])]
    universe = pd.Index(mine.index).union(pred.index).difference(others)
    codes = mine.astype("category").cat.codes
    truth = pd.DataFrame({"account_id": universe, "ring": codes.reindex(universe).fillna(-1).astype(int).to_numpy()})
    b = bcubed(pred, truth, universe)
    return b["bcubed_precision"], b["bcubed_recall"]


def choose_threshold(per_t: dict[float, tuple[float, float]], beta: float, share: dict[float, float] | None = None,
                     max_share: float = 1.0) -> tuple[float, dict[str, float]]:
    """The threshold of the best B-cubed F-beta on the held-out cases (beta < 1 weighs precision
    more: an innocent account in a ring costs more than a member left out). Chosen on rings, not
    pairs: components recover a missed pair through the ring's other links, so a pair-level cost
    chose far too few links (0.78 on the demo world, ring recall 0.21).

    `share` (threshold -> share of all accounts in rings) and `max_share`: only thresholds within the
    analysts' capacity count (the highest one if none is). The held-out cases see only the rings
    they fall in, not a household that forms a ring of its own: on the demo world five held-out
    cases scored 0.07 to 0.4 alike, and taking the lowest put 13 % of all accounts (9.7 % of the
    legitimate ones) in rings. Ties go to the highest threshold."""
    share = share or {}
    within = sorted(t for t in per_t if share.get(t, 0.0) <= max_share) or [max(per_t)]
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.5, {})
    for t in within:  # ascending: of equally good thresholds the highest (fewest links) wins
        p, r = per_t[t]
        f = (1 + beta**2) * p * r / max(1e-12, beta**2 * p + r)
        if f >= best[0] - 1e-12:
            best = (f, t, {"held_out_fbeta": f, "held_out_bcubed_precision": p, "held_out_bcubed_recall": r}
                    | ({"share_in_rings": share[t]} if t in share else {}))
    return best[1], best[2]
