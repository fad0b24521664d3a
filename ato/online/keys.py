"""API keys with names and scopes (`score`, `events`, `feedback`, `admin`), from the environment
(`ATO_API_KEYS`) and conf (`api.keys`, `serving.api_key_sha256`).

`ATO_API_KEYS` takes two forms:
- named: `name:scope[,scope...]=secret` entries separated by `;`, e.g.
  `backend:score,events=s3cret;analyst:feedback=0ther` (`*` as the scope list: every scope);
- plain (what earlier versions took): `key1,key2`, every key with every scope, named key-1, key-2...

Only SHA-256 digests are kept; a presented key is compared with every digest in constant time
(`hmac.compare_digest`, no early exit). Secrets never appear in an error message or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from ato.serving_conf import SCOPES
from ato.settings import Settings

ALL_SCOPES: frozenset[str] = frozenset(SCOPES)
_NAMED = re.compile(r"^\s*(?P<name>[A-Za-z0-9_.-]{1,64}):(?P<scopes>\*|[a-z]+(?:\s*,\s*[a-z]+)*)=(?P<secret>.+)$",
                    re.DOTALL)
_FORMAT = "name:scope[,scope...]=secret (scopes: " + ", ".join(SCOPES) + ", or *)"


class KeyFormatError(ValueError):
    """ATO_API_KEYS or conf's keys are malformed; the message names the entry, never its secret."""


@dataclass(frozen=True)
class ApiKey:
    """One accepted key: its name (audited), scopes and the SHA-256 digest of its secret."""

    name: str
    scopes: frozenset[str]
    digest: bytes

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def digest(secret: str | bytes) -> bytes:
    return hashlib.sha256(secret.encode() if isinstance(secret, str) else secret).digest()


class KeyRing:
    """The accepted keys; `match` finds the key a request presented."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self.keys = tuple(keys)
        names = [k.name for k in self.keys]
        if dups := sorted({n for n in names if names.count(n) > 1}):
            raise KeyFormatError(f"duplicate API key name(s): {', '.join(dups)}")

    def __len__(self) -> int:
        return len(self.keys)

    def match(self, secret: bytes) -> ApiKey | None:
        """The key whose digest equals the secret's: every digest compared, in constant time each."""
        d = digest(secret)
        found = None
        for k in self.keys:
            if hmac.compare_digest(d, k.digest):
                found = k
        return found

    @classmethod
    def plain(cls, secrets: Collection[str]) -> KeyRing:
        """Plain keys, every scope (named key-1, key-2... in sorted order of the secrets)."""
        return cls(ApiKey(f"key-{i}", ALL_SCOPES, digest(s)) for i, s in enumerate(sorted(secrets), 1))

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """An ATO_API_KEYS value (named or plain form, see the module docstring)."""
        return cls(parse_env_keys(value))

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> KeyRing:
        """ATO_API_KEYS, then conf's named keys (`api.keys`) and plain hashes (`serving.api_key_sha256`)."""
        env = os.environ if environ is None else environ
        keys = parse_env_keys(env.get("ATO_API_KEYS", ""))
        keys += [ApiKey(k.name, frozenset(k.scopes), bytes.fromhex(k.sha256)) for k in settings.api.keys]
        keys += [ApiKey(f"sha256-{i}", ALL_SCOPES, bytes.fromhex(h))
                 for i, h in enumerate(settings.serving.api_key_sha256, 1)]
        return cls(keys)


def parse_env_keys(value: str) -> list[ApiKey]:
    """Named entries (`name:scopes=secret;...`) or a plain comma list (every scope)."""
    value = value.strip()
    if not value:
        return []
    if ";" not in value and not _NAMED.match(value):
        return [ApiKey(f"key-{i}", ALL_SCOPES, digest(k.strip()))
                for i, k in enumerate((k for k in value.split(",") if k.strip()), 1)]
    out = []
    for i, entry in enumerate((e for e in value.split(";") if e.strip()), 1):
        m = _NAMED.match(entry.strip())
        if m is None:
            raise KeyFormatError(f"ATO_API_KEYS entry #{i} is not {_FORMAT}")
        raw = m["scopes"]
        scopes = ALL_SCOPES if raw == "*" else frozenset(s.strip() for s in raw.split(","))
        if unknown := sorted(scopes - ALL_SCOPES):
            raise KeyFormatError(f"ATO_API_KEYS entry #{i} ({m['name']}): unknown scope(s) {', '.join(unknown)}; "
                                 f"use {', '.join(SCOPES)}")
        out.append(ApiKey(m["name"], scopes, digest(m["secret"])))
    return out


def secret_for(value: str, scopes: Collection[str]) -> str | None:
    """From an ATO_API_KEYS value, the first secret holding every one of `scopes` (a client such as
    `ato replay` picking its own key); None when there is none."""
    value = value.strip()
    if ";" not in value and not _NAMED.match(value):
        return next((k.strip() for k in value.split(",") if k.strip()), None)
    for entry in value.split(";"):
        m = _NAMED.match(entry.strip())
        if m and (m["scopes"] == "*" or set(scopes) <= {s.strip() for s in m["scopes"].split(",")}):
            return m["secret"]
    return None
