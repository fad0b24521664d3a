"""One night of the ring finder on the lake's pseudonymous inputs (README "Fraud rings").

silver/accounts (already hashed), the hashed devices, IPs, payees and payment methods of the last
`window_days` of successful logins and payments, and the cases analysts reported by the night in;
`gold/ring_edges` and `gold/fraud_rings` rows out. The pair model is refit each night on every
known case (the newest `val_share` of them choose the threshold). Candidate pairs and components
are passed in as functions, so the Spark step runs them on Spark (`ato.spark.rings`) and the tests
can run the same night on pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from ato.rings.candidates import candidate_pairs, kind_counts
from ato.rings.components import rings_from_links
from ato.rings.conf import RingsConf
from ato.rings.features import pair_features
from ato.rings.outputs import carry_ids, fraud_rings, ring_edges
from ato.rings.pair_model import fit_pair_model
from ato.rings.profile import account_profiles, link_values

Candidates = Callable[[pd.DataFrame, dict[str, int], int], pd.DataFrame]
Components = Callable[[pd.DataFrame, int], pd.Series]


@dataclass
class RingNight:
    """What a night found: the two gold frames and the numbers for the summary."""

    edges: pd.DataFrame
    rings: pd.DataFrame
    summary: dict[str, object] = field(default_factory=dict)


def known_cases(cases: pd.DataFrame) -> int:
    """Investigated cases among `cases` (account_id, case_id, ...); a night needs `min_cases` of them."""
    return int(cases["case_id"].nunique()) if len(cases) else 0


def skipped_night(night: date, accounts: int, known: int, labelled: set[str], conf: RingsConf) -> RingNight:
    """A night with fewer than `min_cases` investigated cases: no rings, and the summary says why
    (the caller need not read the night's profiles or activity, only count its accounts)."""
    summary: dict[str, object] = {
        "night": night.isoformat(), "accounts": accounts, "known_cases": int(known),
        "skipped": (f"{known} investigated case(s) by {night}; the pair model needs {conf.min_cases} "
                    "(rings.min_cases) to learn from and to choose its threshold on")}
    return RingNight(ring_edges(pd.DataFrame(columns=["a", "b", "score"]), pd.Series(dtype=object), {}),
                     fraud_rings(pd.DataFrame(columns=["ring_id", "reasons"]), pd.Series(dtype=object), {},
                                 pd.Series(dtype="datetime64[ns]"), labelled), summary)


def find_night(night: date, profiles: pd.DataFrame, activity: pd.DataFrame, cases: pd.DataFrame,
               labelled: set[str], previous: pd.DataFrame, conf: RingsConf, seed: int = 7,
               candidates: Candidates = candidate_pairs, components: Components = rings_from_links) -> RingNight:
    """`profiles`: silver/accounts rows up to the night; `activity`: (account_id, kind, value, time)
    with hashed values; `cases`: (account_id, case_id, reported_at) reported by the night;
    `labelled`: accounts labelled takeover or fraud; `previous`: the last night's fraud_rings (ids
    carried over)."""
    known = known_cases(cases)
    if known < conf.min_cases:
        return skipped_night(night, int(profiles["account_id"].nunique()), known, labelled, conf)
    summary: dict[str, object] = {"night": night.isoformat(), "accounts": int(profiles["account_id"].nunique()),
                                  "known_cases": int(known)}
    links = link_values(profiles, activity)
    pairs = candidates(links, conf.caps, conf.default_cap).sort_values(["a", "b"], ignore_index=True)  # one order on both engines
    accounts = account_profiles(profiles)
    pairs = pair_features(pairs, accounts, kind_counts(links))
    model = fit_pair_model(pairs, cases, {c: "known" for c in cases["case_id"].unique()}, seed=seed,
                           unlabelled_per_positive=conf.unlabelled_per_positive, beta=conf.threshold_beta,
                           min_size=conf.min_size, val_share=conf.val_share,
                           accounts=len(accounts), max_share=conf.max_share_in_rings)
    pairs["score"] = model.score(pairs)
    kept = pairs[pairs["score"] >= model.threshold]
    rings = components(kept[["a", "b"]], conf.min_size)
    ids = carry_ids(rings, previous, night)
    edges = ring_edges(kept, rings, ids)
    out = fraud_rings(edges, rings, ids, accounts.set_index("account_id")["signup_time"], labelled)
    summary |= {"links": len(links), "candidate_pairs": len(pairs), "kept_links": len(kept), "threshold": model.threshold,
                "rings": len(out), "accounts_in_rings": int(out["size"].sum()) if len(out) else 0,
                "carried_ids": int(out["ring_id"].isin(previous.get("ring_id", [])).sum()) if len(out) else 0,
                **{k: round(float(v), 4) for k, v in model.choice.items()}}
    return RingNight(edges, out, summary)

