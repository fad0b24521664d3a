"""What analysts get from a ring run: the kept links with their reasons (`ring_edges`), one row per
ring (`fraud_rings`) whose id stays the same across nights while its membership overlaps, and one
row per night the finder ran (`ring_nights`), so a night without rings says why.

Pure pandas; the Spark step and the JVM-free pipeline both hand their frames to these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from ato.rings.evidence import link_reasons, top_reason

EDGE_COLUMNS = ["ring_id", "a", "b", "score", "reasons"]
RING_COLUMNS = ["ring_id", "size", "members", "first_seen", "last_seen", "top_evidence", "labelled_share", "labelled"]
NIGHT_COLUMNS = ["outcome", "accounts", "known_cases", "min_cases", "candidate_pairs", "kept_links", "threshold", "rings",
                 "accounts_in_rings", "carried_ids"]
# a night's outcome: the pair model ran and kept rings, ran and kept none (every earlier ring
# dissolved), or did not run (fewer investigated cases than rings.min_cases to learn from)
FOUND, NONE_FOUND, TOO_FEW_CASES = "rings", "no_rings", "too_few_cases"


def carry_ids(components: pd.Series, previous: pd.DataFrame, night: date) -> dict[str, str]:
    """component label -> ring id. A component takes the id of the previous ring it shares most
    members with (each previous id goes to one component: the one with the largest overlap); the
    others get a new id `R<night>-<n>`, numbered in order of their smallest member."""
    prev_of = {m: r for r, members in zip(previous.get("ring_id", []), previous.get("members", []), strict=True)
               for m in members}
    overlaps: list[tuple[int, str, str]] = []
    for label, members in components.groupby(components).groups.items():
        counts = pd.Series([prev_of.get(m) for m in members]).dropna().value_counts()
        overlaps += [(-int(n), str(label), str(r)) for r, n in counts.items()]
    ids: dict[str, str] = {}
    used: set[str] = set()
    for _, label, ring in sorted(overlaps):
        if label not in ids and ring not in used:
            ids[label], used = ring, used | {ring}
    fresh = sorted(str(label) for label in set(components.astype(str)) - set(ids))
    ids |= {label: f"R{night:%Y%m%d}-{i:04d}" for i, label in enumerate(fresh, 1)}
    return ids


def ring_edges(kept: pd.DataFrame, rings: pd.Series, ids: dict[str, str]) -> pd.DataFrame:
    """Kept links inside rings: both accounts, the score and the reasons in words (no values)."""
    inside = kept[kept["a"].isin(rings.index) & kept["b"].isin(rings.index)]
    out = pd.DataFrame({"ring_id": [ids[str(rings[a])] for a in inside["a"]], "a": inside["a"].to_numpy(),
                        "b": inside["b"].to_numpy(), "score": inside["score"].to_numpy(),
                        "reasons": [link_reasons(r) for r in inside.to_dict("records")]})
    return out[EDGE_COLUMNS].sort_values(["ring_id", "score"], ascending=[True, False], ignore_index=True)


def fraud_rings(edges: pd.DataFrame, rings: pd.Series, ids: dict[str, str], signup: pd.Series,
                labelled: Iterable[str]) -> pd.DataFrame:
    """One row per ring: size, members, first and last sign-up, the reason most of its links share,
    and how many of its members are already labelled (takeover or fraud)."""
    known = set(labelled)
    rows = []
    for label, members in rings.groupby(rings).groups.items():
        ring_id = ids[str(label)]
        ms = sorted(str(m) for m in members)
        times = signup.reindex(ms).dropna()
        lab = [m for m in ms if m in known]
        reasons = edges.loc[edges["ring_id"] == ring_id, "reasons"].tolist()
        rows.append({"ring_id": ring_id, "size": len(ms), "members": ms,
                     "first_seen": times.min() if len(times) else pd.NaT, "last_seen": times.max() if len(times) else pd.NaT,
                     "top_evidence": top_reason(reasons), "labelled_share": len(lab) / len(ms), "labelled": lab})
    out = pd.DataFrame(rows, columns=RING_COLUMNS)
    return out.sort_values(["size", "ring_id"], ascending=[False, True], ignore_index=True)


def too_few_cases(known: object, needed: object) -> str:
    """Why a `too_few_cases` night did not look, as the CLI and the report say it."""
    return f"{known} investigated case(s) reported by then, and the pair model needs {needed} (rings.min_cases)"


def ring_night(summary: dict[str, object], min_cases: int) -> pd.DataFrame:
    """The night's row of `ring_nights` from its summary (`ato.rings.night.find_night`): its outcome,
    the accounts and cases it had, and what the pair model made of them (null when it did not run)."""
    ran = "skipped" not in summary
    rings = int(summary.get("rings", 0) or 0)  # type: ignore[call-overload]
    row = {"outcome": (FOUND if rings else NONE_FOUND) if ran else TOO_FEW_CASES, "min_cases": min_cases,
           **{k: summary.get(k) for k in NIGHT_COLUMNS if k not in ("outcome", "min_cases")}}
    if not ran:
        row |= {"rings": 0, "accounts_in_rings": 0, "carried_ids": 0}
    out = pd.DataFrame([row], columns=NIGHT_COLUMNS)
    ints = [c for c in NIGHT_COLUMNS if c not in ("outcome", "threshold")]
    return out.astype({c: "Int64" for c in ints} | {"threshold": "float64"})
