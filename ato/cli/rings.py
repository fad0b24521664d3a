"""`ato rings list | show RING | nights`: the fraud rings of a night, why their accounts are linked,
and what each ring night found (README "Fraud rings"). Reads gold with delta-rs: no JVM."""

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


def _nights(args: argparse.Namespace) -> int:
    import pandas as pd

    from ato.rings.browse import NO_NIGHT, ring_nights

    df = ring_nights(load_settings()).tail(args.last)
    if df.empty:
        raise Refused(NO_NIGHT)
    rows = [{k: (None if pd.isna(v) else v.isoformat() if k == "night" else v if k == "outcome" else
                 round(float(v), 4) if k == "threshold" else int(v)) for k, v in r.items()}
            for r in df.to_dict("records")]
    if wants_json(args):
        emit({"nights": rows})
        return 0
    print(f"{'night':<12}{'outcome':<15}{'cases/needed':>13}{'rings':>7}{'accounts':>10}{'threshold':>11}")
    for r in rows:
        threshold = "-" if r["threshold"] is None else f"{r['threshold']:.3f}"
        cases = f"{r['known_cases']}/{r['min_cases']}"
        print(f"{r['night']:<12}{r['outcome']:<15}{cases:>13}{r['rings']:>7}{r['accounts_in_rings']:>10}{threshold:>11}")
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
    nt = kinds.add_parser("nights", help="what each ring night found: rings, none, or too few investigated cases "
                                         "to look (gold/ring_nights)")
    nt.add_argument("--last", type=int, default=30, help="the latest this many nights (default 30)")
    add_json(nt)
    nt.set_defaults(fn=_nights)
