"""Serving's pseudonymization key must be the one the batch layer hashed with: otherwise every
IP and device hash of a request silently misses the snapshot (no history, every device "new").
The snapshot manifest and the champion's bundle carry the fingerprint of the key that made them
(`ato.privacy.key_fingerprint`); serving compares its own before it starts and before each reload.
During a key rotation (README "Rotating the key") serving holds two keys, ATO_HMAC_KEY and
ATO_HMAC_KEY_PREVIOUS, and hashes with the one the published snapshot was made with
(`serving_key`): the old key until the first snapshot made under the new one is published."""

from __future__ import annotations

import json

from ato.model.registry import champion, registry_dir
from ato.online.snapshot.files import current
from ato.settings import Settings


class KeyMismatch(RuntimeError):
    """This process's ATO_HMAC_KEY is not the key the published data was hashed with."""


def key_mismatches(settings: Settings) -> list[str]:
    """What was made under another key than this process's (empty: all agree or say nothing)."""
    mine, out = settings.hmac_keys(), []
    manifest = current(settings)
    if manifest and manifest.get("key_fingerprint") not in (None, *mine):
        out.append(f"snapshot {manifest['as_of']} (key fingerprint {manifest['key_fingerprint']})")
    version = champion(settings)
    bundle = registry_dir(settings) / version / "bundle.json" if version else None
    if bundle is not None and bundle.is_file():
        theirs = json.loads(bundle.read_text()).get("key_fingerprint")
        if theirs not in (None, *mine):
            out.append(f"champion {version} (key fingerprint {theirs})")
    return out


def check_key(settings: Settings) -> bytes:
    """The key to hash requests with (`serving_key`); KeyMismatch, naming what disagrees, unless a
    key of this process matches the published data."""
    bad = key_mismatches(settings)
    if bad:
        ids = " or ".join(settings.hmac_keys())
        raise KeyMismatch(
            f"ATO_HMAC_KEY (key id {ids}) is not the key {' and '.join(bad)} "
            f"{'was' if len(bad) == 1 else 'were'} made with: request IP and device hashes would never match "
            "theirs. Start serving with the batch layer's key (during a rotation, the old one in "
            "ATO_HMAC_KEY_PREVIOUS).")
    return serving_key(settings)


def serving_key(settings: Settings) -> bytes:
    """The key the published snapshot was made with, of this process's keys; the current key when
    no snapshot names one (or names none of them: `check_key` refuses that)."""
    keys = settings.hmac_keys()
    manifest = current(settings) or {}
    return keys.get(str(manifest.get("key_fingerprint")), next(iter(keys.values())))
