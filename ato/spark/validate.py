"""The contract checks of `ato.validate`, compiled to Spark column expressions.

Input: a DataFrame with `fields` (map<string,string>, null when the record did
not parse). Output adds the typed contract columns, `extra` (unknown fields)
and `reasons` (array<string>, empty when the row is valid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ato import validate as v
from ato.contracts import FieldSpec, contract

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

PATTERNS = {"timestamp": v.TIMESTAMP_RE, "double": v.DOUBLE_RE, "long": v.LONG_RE, "cidr": v.CIDR_RE}
SPARK_TYPES = {"timestamp": "timestamp", "double": "double", "long": "bigint"}


def _text_col(name: str) -> str:
    return f"_t_{name}"


def _typed(spec: FieldSpec, text: Column) -> Column:
    from pyspark.sql import functions as F

    if spec.kind == "string":
        return text
    ok = text.rlike(PATTERNS[spec.kind])
    if spec.kind == "cidr":
        return F.when(ok, text)
    val = text.try_cast(SPARK_TYPES[spec.kind])
    if spec.kind == "double":
        val = F.when(F.isnan(val) | (F.abs(val) == float("inf")), None).otherwise(val)
    return F.when(ok, val)


def _reason(spec: FieldSpec, text: Column, typed: Column) -> Column:
    from pyspark.sql import functions as F

    rule = F.when(text.isNull(), F.lit(v.reason_missing(spec.name)) if spec.required else None)
    rule = rule.when(typed.isNull(), F.lit(v.reason_invalid(spec)) if spec.kind != "string" else None)
    if spec.values:
        rule = rule.when(~typed.isin(*spec.values), F.lit(v.reason_unknown_value(spec.name)))
    lo, hi = spec.min, spec.max
    if lo is not None or hi is not None:
        bad = F.lit(False)
        if lo is not None:
            bad = bad | (typed < lo)
        if hi is not None:
            bad = bad | (typed > hi)
        rule = rule.when(bad, F.lit(v.reason_out_of_range(spec.name)))
    return rule


def apply_contract(df: DataFrame, stream: str) -> DataFrame:
    """Type every contract field and collect reasons, as `ato.validate.check_row` does."""
    from pyspark.sql import functions as F

    c = contract(stream)
    keep = [x for x in df.columns if x != "fields"]
    # Look every field up once ('' is null); the checks below read these columns.
    texts = [F.nullif(F.col("fields")[f.name], F.lit("")).alias(_text_col(f.name)) for f in c.fields]
    df = df.select(*keep, "fields", *texts)
    cols, reasons = [], []
    for spec in c.fields:
        text = F.col(_text_col(spec.name))
        typed = _typed(spec, text)
        cols.append(typed.alias(spec.name))
        reasons.append(_reason(spec, text, typed))
    known = F.array(*[F.lit(n) for n in c.field_names])
    # Most rows carry no unknown field: only those pay for the (interpreted) lambda.
    extra = F.when(
        F.size(F.array_except(F.map_keys("fields"), known)) > 0,
        F.map_filter("fields", lambda k, val: ~F.array_contains(known, k) & val.isNotNull() & (val != "")),
    ).otherwise(F.create_map().cast("map<string,string>"))
    all_reasons = F.when(F.col("fields").isNull(), F.array(F.lit(v.REASON_MALFORMED))).otherwise(
        F.array_compact(F.array(*reasons))
    )
    return df.select(*keep, *cols, extra.alias("extra"), all_reasons.alias("reasons"))
