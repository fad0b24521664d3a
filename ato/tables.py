"""Names of the gold tables the batch layer writes, and the key of each entity, in one place
for the Spark jobs, the published snapshot and the gates (importing this needs no JVM)."""

from __future__ import annotations

ENTITY_KEYS = {"account": "account_id", "ip": "ip_hash", "device": "device_hash"}
PARTIAL_TABLES = {"account": "account_activity_daily", "ip": "ip_activity_daily", "device": "device_activity_daily"}
SNAPSHOT_TABLES = {"account": "account_features_daily", "ip": "ip_features_daily", "device": "device_features_daily"}
TRAINING = "training_set"
CHECKS = "nightly_checks"


def partition_dates(path: str, column: str) -> list[str]:
    """Sorted partition values (ISO dates) of a Delta table, read from its log through
    delta-rs (no data, no JVM); [] when there is no table yet."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        parts = DeltaTable(path).partitions()
    except TableNotFoundError:
        return []
    return sorted({p[column] for p in parts if p.get(column)})
