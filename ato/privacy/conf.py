"""Settings section `retention` (README "Personal data"): how long each kind of store keeps rows
and files, and how long Delta keeps what was removed. Kept apart from `ato.settings` like the
model's sections."""

from __future__ import annotations

from pydantic import Field

from ato.conf_section import Section


class RetentionConf(Section):

    raw_days: int = Field(30, ge=1, description="Raw identifiers: bronze streams, quarantine and ingested spool "
                                                "files are kept this many days (by event, ingest or file date).")
    lake_days: int = Field(400, ge=1, description="Silver and gold (pseudonymized): this many days, longer than the "
                                                  "120-day chargeback window plus the 30-day features.")
    decision_days: int = Field(395, ge=1, description="Decisions, their outcomes and the API's audit files: 13 months.")
    vacuum_hours: int = Field(168, ge=0, description="Files a delete or rewrite removed stay this long for time "
                                                     "travel (delta.deletedFileRetentionDuration), then VACUUM "
                                                     "deletes them; 0 = at once.")
    log_days: int = Field(30, ge=1, description="Delta log entries are kept this long (delta.logRetentionDuration).")
    tables: dict[str, int] = Field(default_factory=dict, description="Per-table overrides, 'layer/table': days.")
