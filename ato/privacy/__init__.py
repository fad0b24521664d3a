"""Pseudonymization of identifiers (IPs, device ids) with a keyed HMAC-SHA256.

The batch layer computes the same HMAC with Spark column expressions
(`ato.spark.privacy`); both derive the padded keys from :func:`hmac_pads`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

BLOCK = 64  # SHA-256 block size in bytes


def pseudonymize(key: bytes, value: str | None, hex_chars: int = 32) -> str | None:
    """HMAC-SHA256 of `value` under `key`, as `hex_chars` hex characters; None stays None."""
    if value is None:
        return None
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:hex_chars]


def key_fingerprint(key: bytes) -> str:
    """A short, one-way name of a key (an HMAC of a constant under it): stored beside the hashes a
    key made (snapshot manifest, model bundle), so a process holding another key notices before its
    hashes silently never match. It tells nothing about the key itself."""
    return hmac.new(key, b"ato-risk key fingerprint v1", hashlib.sha256).hexdigest()[:16]


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(K xor ipad, K xor opad) as in RFC 2104, for computing HMAC without a library."""
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def ipv4_prefix24(ip: str | None) -> str | None:
    """The /24 network of an IPv4 address ('203.0.113.7' -> '203.0.113.0/24'); None otherwise."""
    if ip is None:
        return None
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        return None
    return str(ipaddress.IPv4Network(f"{addr}/24", strict=False))
