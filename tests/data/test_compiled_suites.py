"""Compiled expectations flag exactly the rows Great Expectations flags: row by row for ingest,
as counts for the nightly output gate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ato.spark.compiled_suites import failure_reason, failure_reasons, unexpected_counts
from ato.spark.quality import describe, load_suite_spec, run_suite

pytestmark = [pytest.mark.data, pytest.mark.spark]

T = datetime(2026, 8, 1, 12, tzinfo=UTC)
ROWS = [  # id, text, currency, amount, started, ended
    ("r1", "a", "USD", 0.01, T, T),
    ("r2", "", "usd", 0.001, T, T.replace(hour=11)),
    ("r3", "x" * 128, "US", 1_000_000.0, None, T),
    ("r4", "x" * 129, None, 1_000_000.5, T.replace(year=2019), None),
    ("r5", None, "EURO", None, T.replace(year=2031), T.replace(hour=13)),
    ("r6", "ab", "GBP", -3.0, datetime(2020, 1, 1, tzinfo=UTC), T),
]
SUITE: list[dict[str, Any]] = [
    {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "text", "min_value": 1, "max_value": 128}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "currency", "regex": "^[A-Z]{3}$"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0.01, "max_value": 1000000}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "started", "min_value": "2020-01-01T00:00:00Z", "max_value": "2030-01-01T00:00:00Z"}},
    {"type": "expect_column_pair_values_a_to_be_greater_than_b",
     "kwargs": {"column_A": "ended", "column_B": "started", "or_equal": True, "ignore_row_if": "either_value_is_missing"}},
]


def test_compiled_expectations_match_great_expectations(spark: Any) -> None:
    df = spark.createDataFrame(ROWS, "id string, text string, currency string, amount double, "
                                     "started timestamp, ended timestamp")
    ge = run_suite(df, "parity", SUITE, index_column="id")
    got = {r["id"]: sorted(r["reasons"]) for r in df.select("id", failure_reasons(SUITE).alias("reasons")).collect()}
    want = {i: sorted(ge.unexpected.get(i, [])) for i, *_ in ROWS}
    assert got == want
    # Every kind of expectation flagged something, and something passed each one.
    for cfg in SUITE:
        flagged = {i for i, rs in got.items() if describe(cfg) in rs}
        assert flagged and flagged != set(got), cfg


GATE_ROWS = [  # key, day, label, source, logins, failed
    ("a", 1, 0, "analyst", 5, 1),
    ("a", 1, 1, "chargeback", 2, 2),
    ("b", 1, 2, "chargeback", 1, 3),
    ("c", None, None, "phone", None, 1),
    (None, 2, 1, None, 3, None),
    (None, 2, 0, "analyst", 0, 0),
    ("d", 3, 1, "analyst", None, None),
]
GATE_SUITE: list[dict[str, Any]] = [
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "key"}},
    {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["key", "day"]}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "day"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "label", "value_set": [0, 1]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "source", "value_set": ["analyst", "chargeback"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "logins", "min_value": 1}},
    {"type": "expect_column_pair_values_a_to_be_greater_than_b",
     "kwargs": {"column_A": "logins", "column_B": "failed", "or_equal": True}},
]


def test_gate_counts_match_great_expectations(spark: Any) -> None:
    df = spark.createDataFrame(GATE_ROWS, "key string, day int, label int, source string, logins int, failed int")
    ge = run_suite(df, "gate_parity", GATE_SUITE)
    want = {d: (int(v["element_count"]), int(v["unexpected_count"])) for d, v in ge.details.items()}
    got = unexpected_counts(df, GATE_SUITE)
    assert got == want
    assert all(n > 0 for _, n in got.values())  # each expectation is exercised by a failing row


def test_every_bronze_suite_compiles() -> None:
    for stream in ("logins", "sessions", "payments", "account_changes", "labels", "ip_reputation"):
        failure_reasons(load_suite_spec(f"bronze_{stream}"))


def test_every_gold_suite_compiles(spark: Any) -> None:
    from ato.tables import SNAPSHOT_TABLES, TRAINING

    for table in (*SNAPSHOT_TABLES.values(), TRAINING):
        spec = load_suite_spec(f"gold_{table}")
        assert spec, table
        cols = {c for cfg in spec for k, v in cfg["kwargs"].items() if k.startswith("column")
                for c in ([v] if isinstance(v, str) else v)}
        df = spark.createDataFrame([], ", ".join(f"{c} string" for c in sorted(cols)))
        assert set(unexpected_counts(df, spec).values()) == {(0, 0)}


def test_a_table_level_expectation_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a row-level expectation"):
        failure_reason({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}})
