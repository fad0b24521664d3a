"""Serving's pseudonymization key must be the one the batch layer hashed with: otherwise every
IP and device hash of a request silently misses the snapshot (no history, every device "new").
The snapshot manifest and the champion's bundle carry the fingerprint of the key that made them
(`ato.privacy.key_fingerprint`); serving compares its own before it starts and before each reload."""

from __future__ import annotations

import json

from ato.model.registry import champion, registry_dir
from ato.online.snapshot.files import current
from ato.privacy import key_fingerprint
from ato.settings import Settings


class KeyMismatch(RuntimeError):
    """This process's ATO_HMAC_KEY is not the key the published data was hashed with."""


def key_mismatches(settings: Settings) -> list[str]:
    """What was made under another key than this process's (empty: all agree or say nothing)."""
    mine, out = key_fingerprint(settings.hmac_key_bytes()), []
    manifest = current(settings)
    if manifest and manifest.get("key_fingerprint") not in (None, mine):
        out.append(f"snapshot {manifest['as_of']} (key fingerprint {manifest['key_fingerprint']})")
    version = champion(settings)
    bundle = registry_dir(settings) / version / "bundle.json" if version else None
    if bundle is not None and bundle.is_file():
        theirs = json.loads(bundle.read_text()).get("key_fingerprint")
        if theirs not in (None, mine):
            out.append(f"champion {version} (key fingerprint {theirs})")
    return out


def check_key(settings: Settings) -> None:
    """Raise KeyMismatch, naming what disagrees, unless the key matches the published data."""
    bad = key_mismatches(settings)
    if bad:
        raise KeyMismatch(
            f"ATO_HMAC_KEY (fingerprint {key_fingerprint(settings.hmac_key_bytes())}) is not the key "
            f"{' and '.join(bad)} {'was' if len(bad) == 1 else 'were'} made with: request IP and device hashes "
            "would never match theirs. Start serving with the batch layer's key.")
