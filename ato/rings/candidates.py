"""Candidate pairs: accounts that share a value of some kind, blocked on that value.

A value held by more accounts than its kind's cap (a carrier NAT /24, a popular merchant, a
free-mail domain, a common surname) makes no pairs: it says nothing about who runs an account, and
all pairs of its holders would grow with the square of the platform. So every block has at most
cap * (cap - 1) / 2 pairs and the candidate count grows with the number of small blocks, roughly
linearly with accounts. No all-pairs anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ato.rings.profile import KINDS

COACTIVE_KINDS = ("device", "ip")


def blocks(links: pd.DataFrame, caps: dict[str, int], default_cap: int) -> pd.DataFrame:
    """Link rows whose (kind, value) is held by 2..cap accounts, with the block's size."""
    size = links.groupby(["kind", "value"])["account_id"].transform("size")
    cap = links["kind"].map(lambda k: caps.get(k, default_cap))
    kept = links[(size >= 2) & (size <= cap)]
    return kept.assign(block=size[kept.index])


def candidate_pairs(links: pd.DataFrame, caps: dict[str, int], default_cap: int = 50) -> pd.DataFrame:
    """One row per pair (a < b) sharing at least one capped value: `n_<kind>` shared values of each
    kind, `min_block` (the smallest block they share: a value two accounts share says more than one
    forty share) and `coactive_hours` (the closest first-seen times on a shared device or IP)."""
    b = blocks(links, caps, default_cap)[["kind", "value", "account_id", "time", "block"]]
    j = b.merge(b, on=["kind", "value", "block"], suffixes=("_a", "_b"))
    j = j[j["account_id_a"] < j["account_id_b"]]
    gap = (j["time_a"] - j["time_b"]).abs().dt.total_seconds() / 3600
    j = j.assign(gap=np.where(j["kind"].isin(COACTIVE_KINDS), gap, np.nan))
    keys = ["account_id_a", "account_id_b"]
    counts = j.pivot_table(index=keys, columns="kind", values="value", aggfunc="size", fill_value=0)
    counts = counts.reindex(columns=list(KINDS), fill_value=0).add_prefix("n_")
    agg = j.groupby(keys).agg(min_block=("block", "min"), coactive_hours=("gap", "min"))
    out = counts.join(agg).reset_index().rename(columns={"account_id_a": "a", "account_id_b": "b"})
    out.columns.name = None
    return out


def kind_counts(links: pd.DataFrame) -> pd.DataFrame:
    """Values per account and kind (the denominators of the Jaccard features)."""
    return links.pivot_table(index="account_id", columns="kind", values="value", aggfunc="size", fill_value=0)
