"""Names of the lake's tables, in one place for the Spark jobs, delta-rs readers, the published
snapshot and the gates (importing this needs no JVM). A table lives at
`settings.table_path(layer, name)`; bronze and silver tables are named for their stream
(`ato.contracts`), e.g. bronze/logins and silver/logins."""

from __future__ import annotations

LAYERS = ("bronze", "silver", "gold")

# bronze and silver: the streams read by name outside ingest, and bronze's bookkeeping tables
LOGINS = "logins"
PAYMENTS = "payments"
ACCOUNT_CHANGES = "account_changes"
LABELS = "labels"
IP_REPUTATION = "ip_reputation"
ACCOUNTS = "accounts"  # account profiles (raw PII in bronze only)
QUARANTINE = "quarantine"
LEDGER = "_ingest_log"

# gold
ENTITY_KEYS = {"account": "account_id", "ip": "ip_hash", "device": "device_hash"}
PARTIAL_TABLES = {"account": "account_activity_daily", "ip": "ip_activity_daily", "device": "device_activity_daily"}
SNAPSHOT_TABLES = {"account": "account_features_daily", "ip": "ip_features_daily", "device": "device_features_daily"}
TRAINING = "training_set"
ACTION_TRAINING = "action_training_set"  # one row per sensitive action (ato.sensitive.rows)
CHECKS = "nightly_checks"
DECISIONS = "decisions"
DECISION_OUTCOMES = "decision_outcomes"  # decisions with the labels known on the night (ato.spark.monitor)
PERFORMANCE_DAILY = "model_performance_daily"  # per decided day x model version x fallback level
BUSINESS_DAILY = "business_daily"  # per decided day, all traffic
SHADOW_DAILY = "shadow_daily"  # per decided day x champion x shadow version x side: the two on the same decisions
RING_EDGES = "ring_edges"  # per night: kept links between accounts of a ring, with their score and reasons
FRAUD_RINGS = "fraud_rings"  # per night: one row per ring (ato.rings.outputs)
RING_NIGHTS = "ring_nights"  # per night the ring finder ran: its outcome and counts, rings or none
DRIFT_DAILY = "drift_daily"  # per decided day: PSI / KS of features and score vs the model's reference, attack mix
