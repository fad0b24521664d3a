"""Great Expectations configs compiled to Spark column expressions.

Ingest quarantines each row that breaks a bronze expectation
(`expectations/bronze_<stream>.json`, plus the event-time window from conf).
Running GE itself for that costs a validation pass per expectation and a
second COMPLETE pass that collects failing row ids to the driver; here each
expectation is one expression evaluated in the same projection as the
contract checks. The suites stay the single source of the rules, the reason
text is the one GE verdicts use (`quality.describe`), and a test holds the
compiled semantics to GE's on the same rows (nulls ignored, bounds inclusive,
pairs skipped when either value is missing).

The nightly output gate uses the same compilation the other way round:
`unexpected_counts` counts each expectation's failing rows of a table in one
aggregate query (uniqueness through a window count), where a GE run on a
Spark frame computes its metrics expectation by expectation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ato.spark.quality import describe

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def _between(kw: dict[str, Any], value: Column) -> Column:
    """GE's between: inclusive unless strict_*, nulls pass. Bounds are scalars or columns."""
    from pyspark.sql import functions as F

    bad = F.lit(False)
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is not None:
        bad = bad | ((value <= lo) if kw.get("strict_min") else (value < lo))
    if hi is not None:
        bad = bad | ((value >= hi) if kw.get("strict_max") else (value > hi))
    return value.isNotNull() & bad


def _values_between(kw: dict[str, Any]) -> Column:
    from pyspark.sql import functions as F

    # A time window is given as RFC 3339 text: compare timestamps, not strings.
    kw = {k: F.to_timestamp(F.lit(v)) if k in ("min_value", "max_value") and isinstance(v, str) else v
          for k, v in kw.items()}
    return _between(kw, F.col(kw["column"]))


def _lengths_between(kw: dict[str, Any]) -> Column:
    from pyspark.sql import functions as F

    return _between(kw, F.length(F.col(kw["column"])))


def _match_regex(kw: dict[str, Any]) -> Column:
    from pyspark.sql import functions as F

    col = F.col(kw["column"])
    return col.isNotNull() & ~col.rlike(kw["regex"])


def _a_greater_than_b(kw: dict[str, Any]) -> Column:
    from pyspark.sql import functions as F

    a, b = F.col(kw["column_A"]), F.col(kw["column_B"])
    ok = (a >= b) if kw.get("or_equal") else (a > b)
    ignore = kw.get("ignore_row_if", "both_values_are_missing")
    if ignore not in ("either_value_is_missing", "both_values_are_missing"):
        raise ValueError(f"expect_column_pair_values_a_to_be_greater_than_b: ignore_row_if={ignore!r} is not compiled")
    # A comparison with one missing value is null, which GE does not count as unexpected either.
    return F.coalesce(~ok, F.lit(False))


def _not_null(kw: dict[str, Any]) -> Column:
    from pyspark.sql import functions as F

    return F.col(kw["column"]).isNull()


def _in_set(kw: dict[str, Any]) -> Column:
    from pyspark.sql import functions as F

    col = F.col(kw["column"])
    return col.isNotNull() & ~col.isin(*kw["value_set"])


COMPILERS: dict[str, Callable[[dict[str, Any]], Column]] = {
    "expect_column_values_to_be_between": _values_between,
    "expect_column_value_lengths_to_be_between": _lengths_between,
    "expect_column_values_to_match_regex": _match_regex,
    "expect_column_pair_values_a_to_be_greater_than_b": _a_greater_than_b,
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_in_set": _in_set,
}
# Expectations on a key's repeats: a row is unexpected when its (non-null) key occurs twice or more.
UNIQUE_KEYS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "expect_column_values_to_be_unique": lambda kw: [kw["column"]],
    "expect_compound_columns_to_be_unique": lambda kw: list(kw["column_list"]),
}


def _compiler(cfg: dict[str, Any]) -> Callable[[dict[str, Any]], Column]:
    try:
        return COMPILERS[cfg["type"]]
    except KeyError:
        raise ValueError(f"{cfg['type']}: not a row-level expectation that compiles to a column "
                         f"(known: {', '.join(sorted(COMPILERS))})") from None


def failure_reason(cfg: dict[str, Any]) -> Column:
    """The expectation's reason text on a row that breaks it, null on a row that passes."""
    from pyspark.sql import functions as F

    return F.when(_compiler(cfg)(cfg.get("kwargs", {})), F.lit(describe(cfg)))


def failure_reasons(expectations: list[dict[str, Any]]) -> Column:
    """array<string> of the expectations a row breaks (empty when it passes them all)."""
    from pyspark.sql import functions as F

    if not expectations:
        return F.array().cast("array<string>")
    return F.array_compact(F.array(*[failure_reason(c) for c in expectations]))


def unexpected_counts(df: DataFrame, expectations: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """expectation (as `quality.describe` names it) -> (rows, unexpected rows), in one query."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    conditions = []
    for i, cfg in enumerate(expectations):
        kw = cfg.get("kwargs", {})
        if cfg["type"] in UNIQUE_KEYS:
            cols = UNIQUE_KEYS[cfg["type"]](kw)
            df = df.withColumn(f"_repeats{i}", F.count(F.lit(1)).over(Window.partitionBy(*cols)))
            present = F.greatest(*[F.col(c).isNotNull() for c in cols]) if len(cols) > 1 else F.col(cols[0]).isNotNull()
            conditions.append(present & (F.col(f"_repeats{i}") > 1))
        else:
            conditions.append(_compiler(cfg)(kw))
    row = df.agg(F.count(F.lit(1)), *[F.count(F.when(c, 1)) for c in conditions]).first()
    assert row is not None
    return {describe(cfg): (int(row[0]), int(row[i + 1])) for i, cfg in enumerate(expectations)}
