"""What `ato rings list | show | nights` prints, read from gold with delta-rs (no JVM): a night's
rings, one ring's members with every link and the attributes behind it (kinds and similarities,
never a value: the tables hold no raw PII), and the nights the finder ran with their outcome."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from ato import deltars
from ato import tables as T
from ato.rings.outputs import RING_COLUMNS, TOO_FEW_CASES, too_few_cases

if TYPE_CHECKING:
    from ato.settings import Settings


class NoRings(LookupError):
    """Nothing to show: no ring table yet, no such night or no such ring (the message says which)."""


NO_NIGHT = "no ring night yet: run `ato nightly --date D --steps rings`"


def ring_nights(settings: Settings) -> pd.DataFrame:
    """Every night the finder ran (gold/ring_nights), oldest first; empty before the first one."""
    try:
        df: pd.DataFrame = deltars.read(settings, "gold", T.RING_NIGHTS).to_pandas()
    except deltars.NoTable:
        return pd.DataFrame(columns=["night", "outcome", "known_cases", "min_cases"])
    return df.sort_values("night", ignore_index=True)


def _too_few(row: Any) -> str:
    return f"ring night {row.night} did not look for rings: {too_few_cases(row.known_cases, row.min_cases)}"


def _night(settings: Settings, night: date | None) -> date:
    """The night asked for, else the latest ring night: one with rows in gold/fraud_rings, or one
    whose pair model ran and kept none (gold/ring_nights). NoRings says why there is none."""
    ran = ring_nights(settings)
    looked = ran[ran["outcome"] != TOO_FEW_CASES]
    nights = sorted(set(deltars.partition_dates(settings, "gold", T.FRAUD_RINGS, "night")) | set(looked["night"]))
    skipped = {r.night: r for r in ran[ran["outcome"] == TOO_FEW_CASES].itertuples()}
    if night is None:
        if nights:
            return max(nights)
        if skipped:
            last = skipped[max(skipped)]
            raise NoRings(f"no ring night has looked for rings yet: the latest, {last.night}, had "
                          f"{too_few_cases(last.known_cases, last.min_cases)}")
        raise NoRings(NO_NIGHT)
    if night in nights:
        return night
    if night in skipped:
        raise NoRings(_too_few(skipped[night]))
    raise NoRings(f"no ring night {night}; nights held: {', '.join(d.isoformat() for d in nights[-5:]) or 'none'}")


def list_rings(settings: Settings, night: date | None = None, min_size: int = 0) -> tuple[date, pd.DataFrame]:
    """The night's rings, largest first."""
    import pyarrow.compute as pc

    night = _night(settings, night)
    try:
        df: pd.DataFrame = deltars.read(settings, "gold", T.FRAUD_RINGS,
                                        where=pc.field("night") == pc.scalar(night)).to_pandas()
    except deltars.NoTable:  # every ring night so far ran and kept none
        df = pd.DataFrame(columns=RING_COLUMNS)
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
