"""Every store that holds personal data, in one registry (README "Personal data"): the lake's
tables and the folders of files. Retention (`ato.privacy.retention`) ages each one by its date,
and erasure reaches each one from here, so a table added later is covered by declaring it here
(a test fails when a lake table with an `account_id` column is missing).

`keep` names the retention class (`retention.raw_days`, `lake_days`, `decision_days`, or
`forever` for tables without personal data); `age_by` is the date (or timestamp) column a row is
aged by; `account` the column that names the account (None: the table holds no account id, or,
for quarantine, only inside the raw record); `lists` array columns of account ids; `raw` the
columns holding raw identifiers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ato import tables as T
from ato.contracts import contract

if TYPE_CHECKING:
    from ato.settings import Settings

Keep = Literal["raw", "lake", "decision", "forever"]
STREAMS = (T.LOGINS, T.PAYMENTS, T.ACCOUNT_CHANGES, T.LABELS, "sessions", T.IP_REPUTATION, T.ACCOUNTS)


@dataclass(frozen=True)
class Table:
    layer: str
    name: str
    keep: Keep
    age_by: str | None
    account: str | None = "account_id"
    raw: tuple[str, ...] = ()
    holds: str = ""
    lists: tuple[str, ...] = ()  # array columns of account ids (the exact distinct sets of the IP/device partials)
    also: tuple[str, ...] = ()  # more columns holding one account id (a link's second account)

    @property
    def key(self) -> str:
        return f"{self.layer}/{self.name}"


@dataclass(frozen=True)
class Folder:
    """Files under a settings path, dated by the first ISO date in their path below it (the spool's
    `<stream>/<day>.<ext>`, the API's `<day>/<prefix>-<worker>.jsonl`)."""

    name: str
    keep: Keep
    holds: str

    def root(self, settings: Settings) -> Path:
        return Path({"spool": settings.paths.spool, "audit": settings.serving.audit_dir,
                     "online": settings.online.snapshot_dir}[self.name])


_RAW = {T.LOGINS: ("ip", "device_id", "user_agent", "extra"), T.PAYMENTS: ("ip", "device_id", "payee_id",
        "payment_method_id", "extra"), T.ACCOUNT_CHANGES: ("ip", "device_id", "extra"),
        T.ACCOUNTS: (*contract(T.ACCOUNTS).pseudonymized, "extra")}

TABLES: tuple[Table, ...] = (
    *(Table("bronze", s, "raw", "event_date", None if s == T.IP_REPUTATION else "account_id", _RAW.get(s, ("extra",)),
            "events as they arrived, raw identifiers included") for s in STREAMS),
    Table("bronze", T.QUARANTINE, "raw", "_ingested_at", None, ("raw",),
          "rejected records, raw text and the reason (the account only inside `raw`)"),
    Table("bronze", T.LEDGER, "forever", None, None, (), "one row per ingested file: path, hash, counts"),
    *(Table("silver", s, "lake", "event_date", None if s == T.IP_REPUTATION else "account_id",
            ("extra",), "typed, deduplicated events; IPs and device ids as keyed hashes, the user agent parsed, "
            "only allow-listed unknown fields") for s in STREAMS),
    *(Table("gold", t, "lake", "event_date", "account_id" if e == "account" else None, (),
            f"per {e} and day: counts and sums" + ("" if e == "account" else ", the set of accounts seen"),
            () if e == "account" else ("accounts",)) for e, t in T.PARTIAL_TABLES.items()),
    *(Table("gold", t, "lake", "as_of_date", "account_id" if e == "account" else None, (),
            f"per {e} and night: the 30-day features") for e, t in T.SNAPSHOT_TABLES.items()),
    Table("gold", T.TRAINING, "lake", "login_date", holds="labelled logins with their point-in-time features"),
    Table("gold", T.ACTION_TRAINING, "lake", "action_date", holds="labelled sensitive actions with their features"),
    Table("gold", T.DECISIONS, "decision", "decided_date", holds="every decision the API made, from its audit files"),
    Table("gold", T.DECISION_OUTCOMES, "decision", "decided_date", holds="decisions with the labels known since"),
    Table("gold", T.RING_EDGES, "lake", "night", "a", holds="per night: the kept links inside fraud rings, their "
          "score and reasons (no values)", also=("b",)),
    Table("gold", T.FRAUD_RINGS, "lake", "night", None, (), "per night: one row per fraud ring, its members",
          ("members", "labelled")),
    Table("gold", T.RING_NIGHTS, "forever", None, None, (), "per ring night: the finder's outcome and counts, no account"),
    *(Table("gold", t, "forever", None, None, (), "counts per day, no account") for t in
      (T.PERFORMANCE_DAILY, T.BUSINESS_DAILY, T.SHADOW_DAILY, T.DRIFT_DAILY, T.CHECKS)),
)

FOLDERS: tuple[Folder, ...] = (
    Folder("spool", "raw", "event files waiting for (or done with) ingest: raw identifiers"),
    Folder("audit", "decision", "the API's decision log: account ids, hashes, feature vectors"),
    Folder("online", "forever", "published snapshots (the last `online.keep_snapshots`): features per account"),
)


def table(layer: str, name: str) -> Table:
    for t in TABLES:
        if (t.layer, t.name) == (layer, name):
            return t
    raise KeyError(f"{layer}/{name} is not in the privacy registry (ato/privacy/stores.py)")


def days(settings: Settings, t: Table | Folder) -> int | None:
    """How many days `t` keeps (None: forever): a per-table override, else its class."""
    r = settings.retention
    if isinstance(t, Table) and t.key in r.tables:
        return r.tables[t.key]
    return {"raw": r.raw_days, "lake": r.lake_days, "decision": r.decision_days}.get(t.keep)
