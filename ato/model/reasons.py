"""Reason codes: the features that pushed a login's score up the most (LightGBM TreeSHAP
contributions, `pred_contrib`), in words an analyst or a support agent can read."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Feature-name pattern -> reason. The first match wins; {w} is the window (5m, 1h, 24h).
_TEXTS: tuple[tuple[str, str], ...] = (
    (r"^new_device$", "Device never seen on this account"),
    (r"^new_ip$", "IP address never seen on this account"),
    (r"^new_country$", "Country never seen on this account"),
    (r"^new_asn$", "Network (ASN) never seen on this account"),
    (r"^country_change$", "Country differs from the last login"),
    (r"^asn_change$", "Network differs from the last login"),
    (r"^(km|kmh)_since_last_login$", "Implausible travel since the last login"),
    (r"^s_since_last_login$", "Unusual time since the last login"),
    (r"^hour_deviation$", "Unusual hour for this account"),
    (r"^has_history$", "Account has little login history"),
    (r"^ip_rep_(score|category)$", "IP address has a bad reputation (hosting, proxy, tor, botnet)"),
    (r"^is_automation_ua$|^ua_family$", "Automated or unusual client software"),
    (r"^(ua_major|os_family|device_class)$", "Unusual device or browser"),
    (r"^outcome$", "Password check result"),
    (r"^channel$", "Login channel"),
    (r"^(ip|prefix)_accounts_(5m|1h|24h)$", "Network tried many accounts in the last {w}"),
    (r"^(ip|prefix)_(attempts|failures)_(5m|1h|24h)$", "Many attempts from this network in the last {w}"),
    (r"^device_accounts_(5m|1h|24h)$", "Device used by several accounts in the last {w}"),
    (r"^device_(attempts|failures)_(5m|1h|24h)$", "Many attempts from this device in the last {w}"),
    (r"^account_(attempts|failures)_(5m|1h|24h)$", "Many login attempts on this account in the last {w}"),
    (r"^ip_.*_30d$|^ip_age_days$", "IP address history (30 days)"),
    (r"^device_.*_30d$|^device_age_days$", "Device history (30 days)"),
    (r"^ring_size$", "Linked to a fraud ring: accounts sharing devices, bank accounts or payees with this one"),
    (r"^ring_labelled_share$", "Linked to a ring whose accounts are already labelled fraud or takeover"),
    (r"payment", "Payment behaviour of the account"),
    (r".*", "Unusual account behaviour ({f})"),
)
_COMPILED = [(re.compile(p), t) for p, t in _TEXTS]


def reason_text(feature: str) -> str:
    for pat, text in _COMPILED:
        m = pat.search(feature)
        if m:
            window = next((g for g in reversed(m.groups()) if g and g[-1] in "mhd" and g[0].isdigit()), "")
            return text.format(w=window or "period", f=feature)
    return feature


def top_reasons(contrib: np.ndarray, features: tuple[str, ...], k: int = 3) -> list[list[str]]:
    """Per row, up to k distinct reason texts of the largest positive contributions.

    `contrib` is LightGBM's `pred_contrib` output: one column per feature, then the bias."""
    out: list[list[str]] = []
    c = contrib[:, : len(features)]
    order = np.argsort(-c, axis=1, kind="stable")
    for i in range(len(c)):
        texts: list[str] = []
        for j in order[i]:
            if c[i, j] <= 0 or len(texts) == k:
                break
            t = reason_text(features[j])
            if t not in texts:
                texts.append(t)
        out.append(texts)
    return out


def reason_table(features: Sequence[str]) -> tuple[str, ...]:
    """Each feature's reason text, in feature order (computed once per scorer, not per login)."""
    return tuple(reason_text(f) for f in features)


def top_row_reasons(contrib: np.ndarray, texts: tuple[str, ...], k: int = 3) -> list[str]:
    """One row's `top_reasons` from its contributions and the scorer's `reason_table`: the same texts in
    the same order (largest positive contribution first, ties by feature order)."""
    c = contrib[: len(texts)].tolist()
    out: list[str] = []
    for j in sorted((j for j, v in enumerate(c) if v > 0), key=lambda j: -c[j]):
        if len(out) == k:
            break
        t = texts[j]
        if t not in out:
            out.append(t)
    return out
