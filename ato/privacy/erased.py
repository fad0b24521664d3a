"""The erasure register: which accounts `ato forget` erased, and up to when, so that an event of
theirs arriving later (a next-day export, a label, a login decided while the erasure ran) does not
bring them back. Read from `<lake>/_erasure/` (the erasure records and the markers of erasures
under way), it holds the keyed hash `ato forget` records (HMAC of "account:<id>"), never an id;
ingest matches it on the same hash of each event's account in Spark (`ato.spark.ingest`), the
nightly decisions step in Python (`matcher`, `ato.decisions`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ato.privacy import pseudonymize

if TYPE_CHECKING:
    from collections.abc import Callable

    from ato.settings import Settings

FOLDER = "_erasure"
RECORDS = "erasures.jsonl"
PENDING = "pending"
SUBJECT_PREFIX = "account:"  # what the subject hashes: the prefix, then the id
SUBJECT_HEX = 64


def folder(settings: Settings) -> Path:
    return Path(settings.paths.lake_root) / FOLDER


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def subject(settings: Settings, account: str) -> str:
    """The keyed hash an erasure of `account` is recorded under."""
    return pseudonymize(settings.hmac_key_bytes(), f"{SUBJECT_PREFIX}{account}", SUBJECT_HEX) or ""


def register(settings: Settings) -> dict[str, datetime]:
    """Subject -> the latest moment an erasure of it covered (its end; its start while under way).
    Events of the account dated up to that moment are the erasure's to drop."""
    out: dict[str, datetime] = {}

    def note(subject: str, at: str) -> None:
        t = datetime.fromisoformat(at)
        if subject not in out or t > out[subject]:
            out[subject] = t

    root = folder(settings)
    records = root / RECORDS
    if records.is_file():
        for line in records.read_text().splitlines():
            if line.strip():
                doc = json.loads(line)
                note(doc["subject"], doc.get("finished_at") or doc["started_at"])
    if (root / PENDING).is_dir():
        for mark in (root / PENDING).iterdir():
            doc = json.loads(mark.read_text())
            note(doc["subject"], doc["started_at"])
    return out


def matcher(settings: Settings) -> Callable[[str, datetime | None], bool] | None:
    """`gone(account, at)`: an event of `account` at `at` is an erasure's to drop (the account is in
    the register and `at` is up to its erasure, or unknown). None when nothing was ever erased, so
    a caller hashes nothing. Each account is hashed once."""
    held = register(settings)
    if not held:
        return None

    @lru_cache(maxsize=65536)
    def erased_until(account: str) -> datetime | None:
        return held.get(subject(settings, account))

    def gone(account: str, at: datetime | None) -> bool:
        until = erased_until(account)
        if until is None:
            return False
        return at is None or _utc(at) <= _utc(until)

    return gone
