"""The ring finder end to end on pandas frames: profiles and activity -> links -> candidate pairs ->
features -> pair model (trained on the known cases) -> kept links -> components -> rings.

The Spark step runs the same stages on the lake; this is the JVM-free version the benchmark and the
tests drive, with each stage's seconds recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ato.rings.candidates import candidate_pairs, kind_counts
from ato.rings.components import rings_from_links
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
    seconds: dict[str, float]


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    seconds[stage] = time.perf_counter() - t


def find_rings(events: pd.DataFrame, activity: pd.DataFrame, cases: pd.DataFrame, key: bytes,
               conf: RingsConf, seed: int = 7) -> RingRun:
    """Raw `accounts` events and raw activity rows in; rings out (README "Fraud rings")."""
    seconds: dict[str, float] = {}
    with _timed(seconds, "profiles"):
        ev = pseudonymous_profiles(events, key)
        links = link_values(ev, hashed_activity(activity, key))
        profiles = account_profiles(ev)
    with _timed(seconds, "candidates"):
        pairs = candidate_pairs(links, conf.caps, conf.default_cap)
    with _timed(seconds, "features"):
        pairs = pair_features(pairs, profiles, kind_counts(links))
    with _timed(seconds, "fit"):
        split = split_cases(cases, conf.test_share)
        model = fit_pair_model(pairs, cases, split, seed=seed, unlabelled_per_positive=conf.unlabelled_per_positive,
                               beta=conf.threshold_beta, min_size=conf.min_size, val_share=conf.val_share,
                               accounts=len(profiles), max_share=conf.max_share_in_rings)
    with _timed(seconds, "score"):
        pairs["score"] = model.score(pairs)
        pairs["kept"] = pairs["score"] >= model.threshold
    with _timed(seconds, "components"):
        rings = rings_from_links(pairs[pairs["kept"]], conf.min_size)
    return RingRun(links, pairs, model, split, rings, rings_from_links(pairs[rule_links(pairs)], conf.min_size), seconds)


def pairs_per_second(run: RingRun) -> dict[str, float]:
    n = float(len(run.pairs))
    return {stage: n / max(sec, 1e-9) for stage, sec in run.seconds.items() if stage in ("candidates", "features", "score")} | {
        "candidates_total": n, "kept": float(np.sum(run.pairs["kept"]))}
