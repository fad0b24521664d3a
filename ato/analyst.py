"""Read the lake without a JVM: every Delta table as a DuckDB view, through delta-rs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ato import deltars
from ato.tables import LAYERS


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


def connect(root: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per table (`silver_logins`, `bronze_quarantine`, ...)."""
    con = duckdb.connect()
    for name, path in list_tables(root).items():
        con.register(name, deltars.dataset_at(path))
    return con
