"""Pair features: what two candidate accounts share and how alike they look.

Defined once; the pair model trains and scores on exactly `PAIR_FEATURES`. Whether an account is
already labelled is not among them: the training positives are labelled by construction, so the
model would learn "labelled" instead of "linked". Labels appear beside the score, as evidence
(`ato.rings.evidence`) and as the ring's labelled share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ato.rings.profile import HARD_KINDS, KINDS, SOFT_KINDS
from ato.rings.text import pair_jaccard

JACCARD_KINDS = ("device", "ip", "payee", "ip24")
IDENTITY_KINDS = ("bank", "phone", "email", "payment_method")  # what a person does not share with a stranger
BURST_HOURS = 48  # sign-ups this close count as one burst
PAIR_FEATURES = (
    *(f"n_{k}" for k in KINDS), "hard_kinds", "soft_kinds", "identity_kinds", "burst",
    *(f"jac_{k}" for k in JACCARD_KINDS),
    "name_sim", "address_sim", "local_sim", "same_domain", "domain_log_accounts",
    "same_postal_prefix", "same_business", "signup_gap_log_hours", "coactive_log_hours", "min_block",
)


def pair_features(pairs: pd.DataFrame, profiles: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """`pairs` (from `candidate_pairs`) with every feature of `PAIR_FEATURES` added."""
    p = profiles.set_index("account_id")
    compared = p[["email_domain", "postal_prefix", "business_hash", "signup_time"]]
    a, b = compared.reindex(pairs["a"]), compared.reindex(pairs["b"])
    out = pairs.copy()
    out["hard_kinds"] = (pairs[[f"n_{k}" for k in HARD_KINDS]] > 0).sum(axis=1)
    out["soft_kinds"] = (pairs[[f"n_{k}" for k in SOFT_KINDS]] > 0).sum(axis=1)
    out["identity_kinds"] = (pairs[[f"n_{k}" for k in IDENTITY_KINDS]] > 0).sum(axis=1)
    c = counts.reindex(columns=list(KINDS), fill_value=0)
    for k in JACCARD_KINDS:
        ca, cb = c[k].reindex(pairs["a"]).fillna(0).to_numpy(), c[k].reindex(pairs["b"]).fillna(0).to_numpy()
        inter = pairs[f"n_{k}"].to_numpy()
        union = ca + cb - inter
        out[f"jac_{k}"] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    for col, name in (("name_shingles", "name_sim"), ("address_shingles", "address_sim"), ("local_shingles", "local_sim")):
        out[name] = pair_jaccard(p[col], pairs["a"], pairs["b"])
    domains = p["email_domain"].value_counts()
    same = (a["email_domain"].to_numpy() == b["email_domain"].to_numpy()) & pd.notna(a["email_domain"]).to_numpy()
    out["same_domain"] = same.astype(int)
    out["domain_log_accounts"] = np.where(same, np.log1p(domains.reindex(a["email_domain"]).fillna(0).to_numpy()), 0.0)
    out["same_postal_prefix"] = (a["postal_prefix"].to_numpy() == b["postal_prefix"].to_numpy()).astype(int)
    out["same_business"] = ((a["business_hash"].to_numpy() == b["business_hash"].to_numpy())
                            & pd.notna(a["business_hash"]).to_numpy()).astype(int)
    gap = (pd.to_datetime(a["signup_time"].to_numpy(), utc=True) - pd.to_datetime(b["signup_time"].to_numpy(), utc=True))
    out["signup_gap_log_hours"] = np.log1p(np.abs(gap.total_seconds().to_numpy()) / 3600)
    out["burst"] = (out["signup_gap_log_hours"] <= np.log1p(BURST_HOURS)).astype(int)
    out["coactive_log_hours"] = np.log1p(pairs["coactive_hours"].to_numpy(dtype=float))
    return out


def monotone(feature: str) -> int:
    """The direction a feature may move the link score (LightGBM monotone constraints). Sharing
    more of what a person does not share with a stranger (bank account, phone, email, payment
    method) and signing up in one burst never make a link less likely; a longer sign-up gap never
    makes it more likely. With a few dozen known cases this is what lets a ring that shares one bank
    account and nothing else score like one. Devices, addresses and IPs stay free: households share
    them, and the trees must be able to say "same flat, years apart, not a ring"."""
    up = {f"n_{k}" for k in IDENTITY_KINDS} | {"identity_kinds", "burst"}
    return 1 if feature in up else -1 if feature == "signup_gap_log_hours" else 0
