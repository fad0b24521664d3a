"""Read the lake without a JVM: every Delta table as a DuckDB view, through delta-rs.

The connection is locked down for analysts: DuckDB's own file access is off and its configuration
locked once the views are registered (`read_csv('/etc/passwd')`, `COPY ... TO`, `ATTACH` and
`INSTALL` are refused), so a query reads the lake's tables and nothing else on the host. Bronze
tables hold identifiers as they arrived (raw IPs, device ids, user agents, quarantine's raw
records); they are views only with `raw=True` (`ato sql --raw`, which is logged)."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ato import deltars
from ato.analyst.views import available, register_duckdb, render
from ato.tables import LAYERS

log = logging.getLogger(__name__)
RAW_LAYER = "bronze"
NOT_RAW = frozenset({"bronze_ingest_log"})  # the ingest ledger: file names and counts
ACCESS_LOG = "_access/raw_access.jsonl"  # under the lake root


def list_tables(root: str) -> dict[str, str]:
    """`layer_table` -> path of every Delta table under a local lake root."""
    out = {}
    for layer in LAYERS:
        base = Path(root) / layer
        if not base.is_dir():
            continue
        for t in sorted(base.iterdir()):
            if (t / "_delta_log").is_dir():
                out[f"{layer}_{t.name.lstrip('_')}"] = str(t)
    return out


def is_raw(name: str) -> bool:
    """Does view `name` hold raw identifiers (bronze, but not the ingest ledger)?"""
    return name.startswith(f"{RAW_LAYER}_") and name not in NOT_RAW


def connect(root: str, raw: bool = False, as_of: int | datetime | None = None) -> duckdb.DuckDBPyConnection:
    """A locked-down DuckDB connection with a view per table (`silver_logins`, `gold_decisions`,
    and with `raw` the bronze tables, `bronze_logins`, `bronze_quarantine` ...) and the analysts'
    named views (`ato.analyst.views`: `login_activity`, `account_risk` ...) whose tables exist.
    With `as_of`, every table as it was at that Delta version (one number for every table: mostly
    useful for one table) or instant; tables that did not exist yet are left out."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # hours and dates of UTC timestamps, as in Spark's session
    tables = {n: p for n, p in list_tables(root).items() if raw or not is_raw(n)}
    present = set()
    for name, path in tables.items():
        if (data := deltars.dataset_at(path, as_of)) is not None:
            con.register(name, data)
            present.add(name)
    register_duckdb(con, present)
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def log_raw_access(root: str, query: str) -> Path:
    """Record that raw tables were opened: who, when, which views, and a hash of the query (its
    text may itself hold identifiers), in `<lake>/_access/raw_access.jsonl` and the log."""
    tables = sorted(n for n in list_tables(root) if is_raw(n))
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "user": getpass.getuser(), "tables": tables,
             "query_sha256": hashlib.sha256(query.encode()).hexdigest()}
    path = Path(root) / ACCESS_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(entry) + "\n")
    log.warning("raw tables opened by %s (%d views); recorded in %s", entry["user"], len(tables), path)
    return path


def register_spark(spark: Any, root: str, raw: bool = False) -> dict[str, list[str]]:
    """Every Delta table under `root` as a temporary view `<layer>_<table>` in `spark`'s session
    catalog (bronze only with `raw`), then the named views; returns the skipped views."""
    tables = {n: p for n, p in list_tables(root).items() if raw or not is_raw(n)}
    for name, path in tables.items():
        spark.read.format("delta").load(path).createOrReplaceTempView(name)
    ok, missing = available(set(tables))
    for v in ok:
        spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {v.name} AS {render(v.sql, 'spark')}")
    return missing
