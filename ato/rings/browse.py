"""What `ato rings list | show` prints, read from gold with delta-rs (no JVM): a night's rings, and
one ring's members with every link and the attributes behind it (kinds and similarities, never a
value: the tables hold no raw PII)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from ato import deltars
from ato import tables as T

if TYPE_CHECKING:
    from ato.settings import Settings


class NoRings(LookupError):
    """Nothing to show: no ring table yet, no such night or no such ring (the message says which)."""


def _night(settings: Settings, night: date | None) -> date:
    if not deltars.exists(settings, "gold", T.FRAUD_RINGS):
        raise NoRings("no gold/fraud_rings yet: run `ato nightly --date D --steps rings`")
    nights = deltars.partition_dates(settings, "gold", T.FRAUD_RINGS, "night")
    if night is None:
        if not nights:
            raise NoRings("gold/fraud_rings holds no night yet: a rings night writes rings only once "
                          "rings.min_cases investigated cases are reported by it (the nightly's rings line "
                          "says when none had enough)")
        return max(nights)
    if night not in nights:
        raise NoRings(f"no rings for night {night}; nights held: {', '.join(d.isoformat() for d in nights[-5:]) or 'none'}")
    return night


def list_rings(settings: Settings, night: date | None = None, min_size: int = 0) -> tuple[date, pd.DataFrame]:
    """The night's rings, largest first."""
    import pyarrow.compute as pc

    night = _night(settings, night)
    df: pd.DataFrame = deltars.read(settings, "gold", T.FRAUD_RINGS, where=pc.field("night") == pc.scalar(night)).to_pandas()
    df = df[df["size"] >= min_size]
    return night, df.sort_values(["size", "ring_id"], ascending=[False, True], ignore_index=True)


def show_ring(settings: Settings, ring_id: str, night: date | None = None) -> dict[str, Any]:
    """One ring on a night: its row, members (labelled or not) and links with their reasons."""
    import pyarrow.compute as pc

    night, rings = list_rings(settings, night)
    row = rings[rings["ring_id"] == ring_id]
    if row.empty:
        raise NoRings(f"no ring {ring_id!r} on {night}; `ato rings list --night {night}` lists them")
    r = row.iloc[0]
    edges: pd.DataFrame = deltars.read(settings, "gold", T.RING_EDGES, where=(pc.field("night") == pc.scalar(night))
                                       & (pc.field("ring_id") == pc.scalar(ring_id))).to_pandas()
    labelled = set(r["labelled"])
    return {"night": night.isoformat(), "ring_id": ring_id, "size": int(r["size"]),
            "first_seen": str(r["first_seen"]), "last_seen": str(r["last_seen"]), "top_evidence": r["top_evidence"],
            "labelled_share": float(r["labelled_share"]),
            "members": [{"account_id": m, "labelled": m in labelled} for m in r["members"]],
            "links": [{"a": e.a, "b": e.b, "score": round(float(e.score), 4), "reasons": list(e.reasons)}
                      for e in edges.sort_values(["score", "a", "b"], ascending=[False, True, True]).itertuples()]}
