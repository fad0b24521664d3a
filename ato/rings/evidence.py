"""Why two accounts are linked, in words an analyst reads: the shared attributes behind a link and
how alike the two profiles look. Only kinds and similarities, never a raw value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ato.rings.profile import HARD_KINDS, KINDS

NAMES = {"device": "device", "bank": "bank account", "phone": "phone number", "email": "email address",
         "address": "postal address", "ip": "IP address", "payee": "payee", "payment_method": "payment method",
         "ip24": "IP /24 network", "address_key": "street and postal code", "name_token": "name word",
         "email_domain": "email domain"}


def link_reasons(pair: Mapping[str, Any]) -> list[str]:
    """'shares 1 bank account', 'similar names (0.71)', 'signed up 3 h apart', hard evidence first."""
    out = []
    for kind in sorted(KINDS, key=lambda k: (k not in HARD_KINDS, KINDS.index(k))):
        n = int(pair.get(f"n_{kind}", 0) or 0)
        if n:
            out.append(f"shares {n} {NAMES[kind]}{'s' if n > 1 else ''}")
    for col, what in (("name_sim", "names"), ("address_sim", "addresses"), ("local_sim", "email names")):
        v = float(pair.get(col, 0.0) or 0.0)
        if v >= 0.5:
            out.append(f"similar {what} ({v:.2f})")
    hours = float(pair.get("signup_gap_log_hours", 99) or 0.0)
    if hours < 3.2:  # log1p(24)
        out.append("signed up within a day of each other")
    return out


def _tier(reason: str) -> int:
    """2: a shared hard attribute; 1: another shared attribute; 0: a similarity or timing."""
    if not reason.startswith("shares"):
        return 0
    return 2 if any(reason.removesuffix("s").endswith(" " + NAMES[k]) for k in HARD_KINDS) else 1


def top_reason(pairs_reasons: list[list[str]]) -> str:
    """The strongest reason most links of a ring share ('shares 1 bank account in 9 of 12 links'): a
    shared hard attribute before a soft one, before a similarity or timing, then the most links."""
    counts: dict[str, int] = {}
    for reasons in pairs_reasons:
        for r in reasons:
            counts[r] = counts.get(r, 0) + 1
    if not counts:
        return ""
    best = max(counts, key=lambda r: (_tier(r), counts[r]))  # a tie: the reason met first
    return f"{best} in {counts[best]} of {len(pairs_reasons)} links"
