"""The nightly report's fraud-ring section (README "Fraud rings"): how many rings the night holds
and how large, the largest ones drawn (accounts on a circle, labelled ones red, links shaded by
score) and listed with their top evidence, or why the night has none. Reads gold/fraud_rings,
gold/ring_edges and gold/ring_nights."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import duckdb

from ato.report.html import Page, fmt
from ato.rings.outputs import TOO_FEW_CASES, too_few_cases

DRAWN = 3


def _draw(ax: Any, ring: Any, edges: Any) -> None:
    members = sorted(ring["members"])
    pos = {m: (math.cos(2 * math.pi * i / len(members)), math.sin(2 * math.pi * i / len(members)))
           for i, m in enumerate(members)}
    for e in edges.itertuples():
        (x0, y0), (x1, y1) = pos[e.a], pos[e.b]
        ax.plot([x0, x1], [y0, y1], color="#4a7ab5", alpha=0.25 + 0.75 * float(e.score), lw=1)
    labelled = set(ring["labelled"])
    ax.scatter([pos[m][0] for m in members], [pos[m][1] for m in members], s=40, zorder=3,
               c=["#c0504d" if m in labelled else "#7f7f7f" for m in members])
    ax.set_title(f"{ring['ring_id']}: {len(members)} accounts, {len(edges)} links\n{ring['top_evidence']}", fontsize=8)
    ax.set_aspect("equal")
    ax.axis("off")


def rings_section(page: Page, con: duckdb.DuckDBPyConnection, plt: Any, views: set[str], as_of: date) -> None:
    page.heading(f"Fraud rings on {as_of}")
    rings = con.sql(f"SELECT * FROM gold_fraud_rings WHERE night = DATE '{as_of}' ORDER BY size DESC, ring_id").df() \
        if "gold_fraud_rings" in views else None
    if rings is None or rings.empty:
        page.text(_why_no_rings(con, views, as_of))
        return
    page.text(f"{len(rings)} rings holding {int(rings['size'].sum())} accounts; "
              f"{fmt(float((rings['labelled_share'] > 0).mean()))} of them already hold a labelled account. "
              "Red: labelled (takeover or fraud); links darker the higher their pair score. "
              "`ato rings show RING` lists every link with its reasons.")
    top = rings.head(DRAWN)
    fig, ax = plt.subplots(1, 1 + len(top), figsize=(4 * (1 + len(top)), 3.6))
    ax[0].hist(rings["size"], bins=range(3, int(rings["size"].max()) + 2), color="#4a7ab5", align="left")
    ax[0].set_title("ring sizes (accounts)", fontsize=9)
    for a, (_, ring) in zip(ax[1:], top.iterrows(), strict=True):
        edges = con.sql(f"""SELECT a, b, score FROM gold_ring_edges WHERE night = DATE '{as_of}'
            AND ring_id = '{ring['ring_id']}'""").df()
        _draw(a, ring, edges)
    fig.tight_layout()
    page.figure(fig)
    page.table(["ring", "size", "labelled", "signed up", "top evidence"],
               [[r.ring_id, int(r.size), fmt(float(r.labelled_share)), f"{str(r.first_seen)[:10]} .. {str(r.last_seen)[:10]}",
                 r.top_evidence] for r in rings.head(15).itertuples()])


def _why_no_rings(con: duckdb.DuckDBPyConnection, views: set[str], as_of: date) -> str:
    """Why a night shows no ring, from its row of gold/ring_nights."""
    rows = con.sql(f"SELECT outcome, known_cases, min_cases FROM gold_ring_nights WHERE night = DATE '{as_of}'").fetchall() \
        if "gold_ring_nights" in views else []
    if not rows:
        return ("the rings step did not run for this night (a backfill looks every `rings.backfill_every_days`; "
                "`ato rings nights` lists the nights it ran)")
    outcome, known, need = rows[0]
    if outcome == TOO_FEW_CASES:
        return f"the rings step did not look for rings this night: {too_few_cases(known, need)}"
    return f"the rings step ran this night on {known} investigated cases and kept no ring"
