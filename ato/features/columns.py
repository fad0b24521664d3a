"""The training set's columns: which are model features (numeric or categorical), which
identify the row, and which are labels or evaluation-only (never features)."""

from __future__ import annotations

from ato.features.request import REQUEST_FEATURES
from ato.features.speed import SPEED_FEATURES

# From gold/account_features_daily of the day before the login.
ACCOUNT_FEATURES: tuple[str, ...] = (
    "logins_30d", "failed_logins_30d", "successful_logins_30d", "failed_login_rate_30d",
    "distinct_devices_30d", "distinct_ips_30d", "distinct_countries_30d", "distinct_asns_30d", "days_active_30d",
    "hour_spread", "mean_s_between_logins_30d", "sessions_30d", "session_mean_s_30d", "session_std_s_30d",
    "session_max_s_30d", "payments_30d", "payment_amount_mean_30d", "payment_amount_max_30d",
    "failed_payments_30d", "days_since_failed_payment", "account_changes_30d",
    *("ring_size", "ring_labelled_share"),  # the account's fraud ring (ato.spark.ring_step.with_ring_features)
)
RING_FEATURES: tuple[str, ...] = ("ring_size", "ring_labelled_share")
# From gold/ip_features_daily and gold/device_features_daily of the day before, prefixed ip_/device_.
ENTITY_FEATURES: tuple[str, ...] = (
    "attempts_30d", "failures_30d", "failure_rate_30d", "distinct_accounts_30d", "days_active_30d", "age_days",
)
# Known from the request itself (silver enrichment: reputation, parsed user agent).
SIGNAL_FEATURES: tuple[str, ...] = ("ip_rep_score", "ua_major", "is_automation_ua")
CATEGORICAL_FEATURES: tuple[str, ...] = ("outcome", "channel", "ua_family", "os_family", "device_class", "ip_rep_category")

NUMERIC_FEATURES: tuple[str, ...] = (
    *ACCOUNT_FEATURES,
    *(f"ip_{c}" for c in ENTITY_FEATURES), *(f"device_{c}" for c in ENTITY_FEATURES),
    *SPEED_FEATURES, *REQUEST_FEATURES, *SIGNAL_FEATURES,
)
FEATURES: tuple[str, ...] = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES)

ID_COLUMNS: tuple[str, ...] = ("event_id", "account_id", "event_time", "login_date", "ip_hash", "device_hash")
# Labels and evaluation-only columns: a model must never take these as input.
LABEL_COLUMNS: tuple[str, ...] = ("label", "label_source", "label_weight", "label_as_of", "attack_type")
