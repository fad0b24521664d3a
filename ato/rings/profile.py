"""From raw account profiles and activity to what linking needs, with no raw PII: keyed hashes of
normal forms, keyed 3-gram hashes for fuzzy similarity, the email domain, the postal prefix.

`link_values` turns both into one long table (account_id, kind, value, time): every attribute an
account has that another account might share. Candidate pairs (`ato.rings.candidates`) block on it.
"""

from __future__ import annotations

import pandas as pd

from ato.privacy import ip_prefix, normalize_ip, pseudonymize
from ato.rings.text import (
    address_key,
    address_normal,
    email_parts,
    fold,
    keyed_shingles,
    name_tokens,
    phone_normal,
)

# Kinds an operator reuses on purpose (one shared value is evidence) and kinds many honest people
# share (evidence only together with others). `ato.rings.features` counts both.
HARD_KINDS = ("device", "bank", "phone", "email", "address", "ip", "payee", "payment_method")
SOFT_KINDS = ("ip24", "address_key", "name_token", "email_domain")
KINDS = HARD_KINDS + SOFT_KINDS
ACTIVITY_KINDS = {"login_device": "device", "login_ip": "ip", "payee": "payee", "payment_method": "payment_method"}


def _h(key: bytes, value: str | None, hex_chars: int = 32) -> str | None:
    return pseudonymize(key, value, hex_chars) if value else None


# silver/accounts (`ato.spark.silver`): what `pseudonymous_profiles` returns, as a Spark schema
PROFILE_DDL = ("account_id string, event_time timestamp, email_hash string, email_domain string, "
               "local_shingles array<string>, phone_hash string, name_tokens array<string>, "
               "name_shingles array<string>, address_hash string, address_key_hash string, "
               "address_shingles array<string>, postal_prefix string, bank_hash string, business_hash string, "
               "signup_ip_hash string, signup_ip24_hash string, signup_device_hash string")


def pseudonymous_profiles(raw: pd.DataFrame, key: bytes, hex_chars: int = 32) -> pd.DataFrame:
    """One row per `accounts` event: keyed hashes and shingles instead of the raw fields. Whole-value
    hashes take `hex_chars` (silver's `privacy.hash_hex_chars`, so a sign-up IP or device hash equals
    the one silver logins hold for the same IP or device)."""
    def h(value: str | None, n: int = hex_chars) -> str | None:
        return _h(key, value, n)

    out = []
    for r in raw.itertuples(index=False):
        local, domain = email_parts(r.email)
        ip = normalize_ip(r.signup_ip)
        out.append({
            "account_id": r.account_id, "event_time": r.event_time,
            "email_hash": h(f"{local}@{domain}" if domain else None), "email_domain": domain or None,
            "local_shingles": keyed_shingles(key, local),
            "phone_hash": h(phone_normal(r.phone)),
            "name_tokens": sorted({x for t in name_tokens(r.full_name) if (x := h(t, 16))}),
            "name_shingles": keyed_shingles(key, " ".join(name_tokens(r.full_name))),
            "address_hash": h(f"{fold(r.postal_code)}|{address_normal(r.address)}" if r.address else None),
            "address_key_hash": h(address_key(r.address, r.postal_code)),
            "address_shingles": keyed_shingles(key, address_normal(r.address)),
            "postal_prefix": fold(r.postal_code)[:3] or None,
            "bank_hash": h(fold(r.bank_account).replace(" ", "")),
            "business_hash": h(fold(r.business_name)),
            "signup_ip_hash": h(ip), "signup_ip24_hash": h(ip_prefix(ip)),
            "signup_device_hash": h(r.signup_device_id),
        })
    return pd.DataFrame(out, columns=[c.split()[0] for c in PROFILE_DDL.split(", ")])


def account_profiles(events: pd.DataFrame) -> pd.DataFrame:
    """One row per account: the latest profile, the first event's time as the sign-up time, or the
    account's `created_at` where the stream gives it (an account exported after it was opened)."""
    ev = events.sort_values(["account_id", "event_time"])
    latest = ev.groupby("account_id", sort=True).tail(1).set_index("account_id")
    latest["signup_time"] = ev.groupby("account_id")["event_time"].min()
    if "created_at" in latest:
        latest["signup_time"] = latest["created_at"].fillna(latest["signup_time"])
    return latest.drop(columns=["event_time"]).reset_index()


def _hashed(key: bytes, values: list[str | None]) -> list[str | None]:
    """`_h` of each value, computed once per distinct value (activity repeats its devices and IPs).
    A cache of this call only, unlike the shingles' process-wide one (`ato.rings.text`): these are
    raw IPs and device ids, which nothing should hold after the call."""
    once = {v: _h(key, v) for v in set(values)}
    return [once[v] for v in values]


def hashed_activity(activity: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Raw activity rows (account_id, kind, value, time) -> the link kinds with keyed values; login
    IPs are normalized first and also give their network (`ato.privacy.ip_prefix`: /24, IPv6 /64)."""
    a = activity[activity["kind"].isin(list(ACTIVITY_KINDS))]
    is_ip = (a["kind"] == "login_ip").to_numpy()
    raw = [normalize_ip(v) if ip else v for v, ip in zip(a["value"], is_ip, strict=True)]
    ips = a[is_ip]
    nets = pd.DataFrame({"account_id": ips["account_id"], "kind": "ip24",
                         "value": _hashed(key, [ip_prefix(v) for v, ip in zip(raw, is_ip, strict=True) if ip]),
                         "time": ips["time"]})
    own = pd.DataFrame({"account_id": a["account_id"], "kind": a["kind"].map(ACTIVITY_KINDS),
                        "value": _hashed(key, raw), "time": a["time"]})
    return pd.concat([own, nets], ignore_index=True).dropna(subset=["value"])


_PROFILE_KINDS = {"signup_device_hash": "device", "bank_hash": "bank", "phone_hash": "phone", "email_hash": "email",
                  "address_hash": "address", "signup_ip_hash": "ip", "signup_ip24_hash": "ip24",
                  "address_key_hash": "address_key", "email_domain": "email_domain"}


def link_values(events: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """Every (account, kind, value, time) an account holds, from all its profile events (an old bank
    account still links) and its hashed activity; duplicates collapse to their first time."""
    parts = [pd.DataFrame({"account_id": events["account_id"], "kind": kind, "value": events[col], "time": events["event_time"]})
             for col, kind in _PROFILE_KINDS.items()]
    toks = events[["account_id", "name_tokens", "event_time"]].explode("name_tokens")
    parts.append(pd.DataFrame({"account_id": toks["account_id"], "kind": "name_token", "value": toks["name_tokens"], "time": toks["event_time"]}))
    parts.append(activity[["account_id", "kind", "value", "time"]])
    links = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    return links.groupby(["account_id", "kind", "value"], as_index=False, sort=True)["time"].min()
