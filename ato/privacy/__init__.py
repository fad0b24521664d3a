"""Pseudonymization of identifiers (IPs, device ids, payees, payment methods) with a keyed HMAC-SHA256,
and the IP normalization that comes before it.

The batch layer computes the same HMAC with Spark column expressions
(`ato.spark.enrich`); both derive the padded keys from :func:`hmac_pads`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

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


_DOTTED = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")


def normalize_ip(ip: str | None) -> str | None:
    """One text per address, so one address gets one hash however a client spelled it.

    Surrounding space and brackets and an IPv6 zone id ('%eth0') go; IPv4 octets lose leading zeros
    ('010.001.002.003' -> '10.1.2.3', read as decimal, as the login backend logs them, not inet_aton's
    octal); IPv4-mapped IPv6 ('::ffff:10.1.2.3') becomes the IPv4 address; IPv6 takes its RFC 5952
    form (lower case, the longest zero run as '::'). Text that is no address comes back stripped and
    lower-cased (it is still hashed; the API refuses it with a 422). Batch (`ato.spark.enrich.
    with_normal_ip`) and serving both call this function."""
    if ip is None:
        return None
    text = ip.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]
    if not text:
        return None
    if _DOTTED.match(text):
        octets = [int(p) for p in text.split(".")]
        return ".".join(map(str, octets)) if max(octets) <= 255 else text
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def ip_prefix(ip: str | None) -> str | None:
    """The network an address shares with its neighbours: the /24 of an IPv4 address
    ('203.0.113.7' -> '203.0.113.0/24'), the /64 of an IPv6 one (one subscriber's LAN:
    '2001:db8:1:2::7' -> '2001:db8:1:2::/64'); None for anything else. Takes a normalized address
    (`normalize_ip`)."""
    if ip is None:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    bits = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))
