"""The ring finder end to end on pandas frames: profiles and activity -> links -> candidate pairs ->
features -> pair model (trained on the known cases) -> kept links -> components -> rings.

The Spark step runs the same stages on the lake; this is the JVM-free version the benchmark and the
tests drive, with each stage's seconds recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ato.rings.candidates import candidate_pairs, kind_counts
from ato.rings.components import min_label_components, rings_of
from ato.rings.conf import RingsConf
from ato.rings.features import pair_features
from ato.rings.pair_model import PairModel, fit_pair_model, rule_links, split_cases
from ato.rings.profile import account_profiles, hashed_activity, link_values, pseudonymous_profiles


@dataclass
class RingRun:
    """What one run found, with the seconds of each stage."""

    links: pd.DataFrame
    pairs: pd.DataFrame  # candidate pairs with features, `score` and `kept`
    model: PairModel
    split: dict[str, str]
    rings: pd.Series  # account_id -> ring label (its smallest member)
    rule_rings: pd.Series  # the same from the rule baseline's links
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t


def find_rings(events: pd.DataFrame, activity: pd.DataFrame, cases: pd.DataFrame, key: bytes,
               conf: RingsConf, seed: int = 7) -> RingRun:
    """Raw `accounts` events and raw activity rows in; rings out (README "Fraud rings")."""
    run = RingRun(pd.DataFrame(), pd.DataFrame(), PairModel(None, 0.5), {}, pd.Series(dtype=object), pd.Series(dtype=object))
    with run.timed("profiles"):
        ev = pseudonymous_profiles(events, key)
        run.links = link_values(ev, hashed_activity(activity, key))
        profiles = account_profiles(ev)
    with run.timed("candidates"):
        pairs = candidate_pairs(run.links, conf.caps, conf.default_cap)
    with run.timed("features"):
        pairs = pair_features(pairs, profiles, kind_counts(run.links))
    with run.timed("fit"):
        run.split = split_cases(cases, conf.test_share)
        run.model = fit_pair_model(pairs, cases, run.split, seed=seed, unlabelled_per_positive=conf.unlabelled_per_positive,
                                   beta=conf.threshold_beta, min_size=conf.min_size, val_share=conf.val_share)
    with run.timed("score"):
        pairs["score"] = run.model.score(pairs)
        pairs["kept"] = pairs["score"] >= run.model.threshold
    with run.timed("components"):
        run.rings = _rings(pairs[pairs["kept"]], conf.min_size)
    run.rule_rings = _rings(pairs[rule_links(pairs)], conf.min_size)
    run.pairs = pairs
    return run


def _rings(kept: pd.DataFrame, min_size: int) -> pd.Series:
    return rings_of(min_label_components(kept), min_size) if len(kept) else pd.Series(dtype=object)


def pairs_per_second(run: RingRun) -> dict[str, float]:
    n = float(len(run.pairs))
    return {stage: n / max(sec, 1e-9) for stage, sec in run.seconds.items() if stage in ("candidates", "features", "score")} | {
        "candidates_total": n, "kept": float(np.sum(run.pairs["kept"]))}
