"""`ato rings list | show RING`: the fraud rings of a night and why their accounts are linked
(README "Fraud rings"). Reads gold with delta-rs: no JVM."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from ato.cli.output import Refused, add_json, emit, wants_json
from ato.settings import load_settings


def _night(args: argparse.Namespace) -> date | None:
    return date.fromisoformat(args.night) if args.night else None


def _list(args: argparse.Namespace) -> int:
    from ato.rings.browse import NoRings, list_rings

    try:
        night, rings = list_rings(load_settings(), _night(args), args.min_size)
    except NoRings as e:
        raise Refused(str(e)) from e
    rows = [{"ring_id": r.ring_id, "size": int(r.size), "labelled_share": round(float(r.labelled_share), 3),
             "first_seen": str(r.first_seen), "last_seen": str(r.last_seen), "top_evidence": r.top_evidence}
            for r in rings.itertuples()]
    if wants_json(args):
        emit({"night": night.isoformat(), "rings": rows})
        return 0
    print(f"{len(rows)} fraud rings on {night} ({sum(r['size'] for r in rows)} accounts)")
    print(f"{'ring':<16}{'size':>5}{'labelled':>10}  {'signed up':<23}  top evidence")
    for r in rows:
        print(f"{r['ring_id']:<16}{r['size']:>5}{r['labelled_share']:>10.0%}  {r['first_seen'][:10]} .. {r['last_seen'][:10]}  "
              f"{r['top_evidence']}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from ato.rings.browse import NoRings, show_ring

    try:
        doc = show_ring(load_settings(), args.ring, _night(args))
    except NoRings as e:
        raise Refused(str(e)) from e
    if wants_json(args):
        emit(doc)
        return 0
    print(f"ring {doc['ring_id']} on {doc['night']}: {doc['size']} accounts, {doc['labelled_share']:.0%} already "
          f"labelled; signed up {doc['first_seen'][:16]} .. {doc['last_seen'][:16]}")
    print(f"top evidence: {doc['top_evidence']}")
    print("members: " + ", ".join(m["account_id"] + (" (labelled)" if m["labelled"] else "") for m in doc["members"]))
    print(f"{len(doc['links'])} links, strongest first:")
    for link in doc["links"]:
        print(f"  {link['a']} - {link['b']}  score {link['score']:.3f}: {'; '.join(link['reasons'])}")
    return 0


def add_commands(sub: Any) -> None:
    r = sub.add_parser("rings", help="fraud rings: list a night's rings, show one with the evidence behind each link",
                       description="Reads gold/fraud_rings and gold/ring_edges (written by `ato nightly --steps rings`). "
                                   "Links name the kinds of attributes two accounts share and how alike their "
                                   "profiles are, never the values.")
    kinds = r.add_subparsers(dest="rings_cmd", required=True, metavar="WHAT")
    ls = kinds.add_parser("list", help="the rings of a night, largest first")
    ls.add_argument("--night", help="YYYY-MM-DD (default: the latest night)")
    ls.add_argument("--min-size", type=int, default=0, help="only rings of at least this many accounts")
    add_json(ls)
    ls.set_defaults(fn=_list)
    sh = kinds.add_parser("show", help="one ring: members and every link with its reasons")
    sh.add_argument("ring", help="ring id, as `ato rings list` prints it")
    sh.add_argument("--night", help="YYYY-MM-DD (default: the latest night)")
    add_json(sh)
    sh.set_defaults(fn=_show)
