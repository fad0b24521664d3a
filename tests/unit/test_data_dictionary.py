"""The data dictionary (`ato docs`, docs/data-dictionary.md): the committed page is what the
declarations render, every contract field and every table `ato.tables` names is declared, no column
lacks a type, unit or meaning, the declarations follow the column lists the code writes, and
`ato docs --check` fails on a stale page. (Real tables against the declarations: the Spark test
`tests/spark/test_data_dictionary_lake.py`.)"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from ato import tables as T
from ato.analyst.dictionary import (
    DOC,
    KIND_TYPES,
    SOURCE,
    DictionaryError,
    columns_declared,
    delta_schema,
    load,
    schema_types,
    tables,
    type_name,
    units,
    valid_type,
)
from ato.analyst.dictionary_md import render, stale
from ato.cli import main
from ato.contracts import CONTRACTS

pytestmark = pytest.mark.unit

DDL_TYPES = {"string": "string", "double": "double", "long": "bigint", "bigint": "bigint", "int": "int",
             "timestamp": "timestamp (UTC)", "date": "date", "boolean": "boolean", "array<string>": "array<string>"}


def ddl(text: str) -> dict[str, str]:
    """'a string, b array<string>' (a Spark DDL of flat columns) -> {a: string, b: array<string>}."""
    return {name: DDL_TYPES[typ] for name, typ in (c.split(" ", 1) for c in text.split(", "))}


def test_the_committed_page_is_what_the_declarations_render() -> None:
    committed = DOC.read_text(encoding="utf-8") if DOC.is_file() else None
    problem = stale(committed, render(), "docs/data-dictionary.md")
    assert problem is None, problem


def test_every_contract_field_is_declared_with_its_contract_type() -> None:
    declared = columns_declared()
    for stream, c in CONTRACTS.items():
        assert ("silver", stream) in declared, f"silver/{stream} is not in the dictionary"
        bronze = declared.get(("bronze", stream))
        assert bronze is not None, f"bronze/{stream} is not in the dictionary"
        for f in c.fields:
            assert bronze.get(f.name) == KIND_TYPES[f.kind], f"bronze/{stream}.{f.name}: {bronze.get(f.name)!r}"


def test_every_table_the_code_names_is_declared() -> None:
    gold = {v for k, v in vars(T).items() if k.isupper() and isinstance(v, str) and v not in CONTRACTS
            and v not in (T.QUARANTINE, T.LEDGER)}
    gold |= set(T.PARTIAL_TABLES.values()) | set(T.SNAPSHOT_TABLES.values())
    want = ({("bronze", s) for s in CONTRACTS} | {("bronze", T.QUARANTINE), ("bronze", T.LEDGER)}
            | {("silver", s) for s in CONTRACTS} | {("gold", g) for g in gold})
    declared = set(columns_declared())
    assert want - declared == set(), f"tables missing from ato/analyst/dictionary.yaml: {sorted(want - declared)}"
    assert declared - want == set(), f"declared tables the code does not name: {sorted(declared - want)}"


def test_no_column_lacks_a_type_unit_or_meaning() -> None:
    vocabulary = units()
    for t in tables():
        assert t.row.strip() and t.built_by.strip(), t.key
        assert t.partitioned_by is None or t.partitioned_by in {c.name for c in t.columns}, t.key
        for c in t.columns:
            where = f"{t.key}.{c.name}"
            assert valid_type(c.type), f"{where}: type {c.type!r}"
            assert c.unit in vocabulary, f"{where}: unit {c.unit!r}"
            assert len(c.meaning) > 3 and "\n" not in c.meaning, f"{where}: meaning {c.meaning!r}"


def test_families_expand_to_every_concrete_column() -> None:
    from ato.features.speed import SPEED_FEATURES

    training = columns_declared()[("gold", T.TRAINING)]
    assert [c for c in training if c in SPEED_FEATURES] == SPEED_FEATURES
    assert "account_accounts_5m" not in training  # skipped combination
    perf = columns_declared()[("gold", T.PERFORMANCE_DAILY)]
    assert {"n_step_up", "ato_lock", "rules_legit_review", "precision_lock", "share_allow"} <= set(perf)
    assert "precision_allow" not in perf


def test_the_declarations_follow_the_columns_the_code_writes() -> None:
    """Tables the demo lake may not hold (shadow_daily, rings) are held to the code's own lists."""
    from ato import decisions
    from ato.features.actions import ACTION_FEATURES
    from ato.features.columns import FEATURES, ID_COLUMNS, LABEL_COLUMNS
    from ato.monitoring.metrics import COUNTS
    from ato.rings.profile import PROFILE_DDL
    from ato.sensitive import rows
    from ato.spark import drift, ring_step
    from ato.spark.monitor import SHADOW_GROUP

    d = columns_declared()
    assert list(d[("gold", T.TRAINING)]) == [*ID_COLUMNS, *FEATURES, *LABEL_COLUMNS]
    assert list(d[("gold", T.ACTION_TRAINING)]) == [*rows.ID_COLUMNS, *ACTION_FEATURES, *rows.LABEL_COLUMNS]
    assert d[("gold", T.DECISIONS)] == schema_types(decisions.SCHEMA)
    assert d[("gold", T.DRIFT_DAILY)] == ddl(drift.SCHEMA)
    assert d[("gold", T.RING_EDGES)] == ddl(ring_step.EDGES_DDL)
    assert d[("gold", T.FRAUD_RINGS)] == ddl(ring_step.RINGS_DDL)
    assert d[("gold", T.RING_NIGHTS)] == ddl(ring_step.NIGHTS_DDL)
    profile = list(ddl(PROFILE_DDL).items())  # silver/accounts: the profile, then what silver adds
    assert list(d[("silver", T.ACCOUNTS)].items())[: len(profile)] == profile
    for table in (T.PERFORMANCE_DAILY, T.BUSINESS_DAILY, T.SHADOW_DAILY):
        assert set(COUNTS) <= set(d[("gold", table)]), table
    assert list(d[("gold", T.SHADOW_DAILY)])[:4] == list(SHADOW_GROUP)
    assert [c for c in d[("gold", T.SHADOW_DAILY)] if c not in SHADOW_GROUP] == \
        [c for c in d[("gold", T.BUSINESS_DAILY)] if c != "decided_date"]


def test_arrow_types_in_the_dictionary_words(tmp_path: Path) -> None:
    from deltalake import write_deltalake

    schema = pa.schema([
        ("s", pa.string()), ("t", pa.timestamp("us", tz="UTC")), ("d", pa.date32()), ("x", pa.float64()),
        ("n", pa.int64()), ("i", pa.int32()), ("b", pa.bool_()), ("a", pa.list_(pa.int64())),
        ("m", pa.map_(pa.string(), pa.string())),
        ("st", pa.struct([("time", pa.timestamp("us", tz="UTC")), ("lat", pa.float64())])),
    ])
    words = {"s": "string", "t": "timestamp (UTC)", "d": "date", "x": "double", "n": "bigint", "i": "int",
             "b": "boolean", "a": "array<bigint>", "m": "map<string,string>",
             "st": "struct<time: timestamp (UTC), lat: double>"}
    assert schema_types(schema) == words
    assert all(valid_type(w) for w in words.values())
    assert type_name(pa.timestamp("us")) == "timestamp (no time zone)" and not valid_type("varchar")
    row = {"s": "x", "t": datetime(2026, 8, 1, tzinfo=UTC), "d": date(2026, 8, 1), "x": 1.0, "n": 1, "i": 1,
           "b": True, "a": [1], "m": [("k", "v")], "st": {"time": datetime(2026, 8, 1, tzinfo=UTC), "lat": 1.0}}
    write_deltalake(str(tmp_path / "t"), pa.Table.from_pylist([row], schema=schema), partition_by=["d"])
    assert delta_schema(str(tmp_path / "t")) == (words, ["d"])  # delta-rs' own Arrow types, same words


def test_a_wrong_declaration_is_refused_by_name(tmp_path: Path) -> None:
    text = SOURCE.read_text(encoding="utf-8")
    bad = tmp_path / "dictionary.yaml"
    bad.write_text(text.replace('payee_hash: [string, hash,', 'payee_hash: [string, furlongs,'), encoding="utf-8")
    with pytest.raises(DictionaryError, match="silver/payments: payee_hash: unknown unit 'furlongs'"):
        load(bad)
    bad.write_text(text.replace("    network: [CIDR,", "    nowork: [CIDR,"), encoding="utf-8")
    with pytest.raises(DictionaryError, match=re.escape("contract field ip_reputation.network has no meaning")):
        load(bad)


def test_docs_check_fails_on_a_stale_page_and_docs_writes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "data-dictionary.md"
    assert main(["docs", "--out", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == render()
    assert main(["docs", "--check", "--out", str(page)]) == 0
    capsys.readouterr()
    page.write_text(render().replace("| Keyed hash of payee_id. |", "| The payee. |"), encoding="utf-8")
    assert main(["docs", "--check", "--out", str(page)]) == 1
    err = capsys.readouterr().err
    assert "is stale" in err and "silver/payments" in err and "ato docs" in err, err
    assert "+| `payee_hash` | `string` | hash | Keyed hash of payee_id. |" in err
    assert main(["docs", "--check", "--out", str(tmp_path / "missing.md")]) == 1
    assert "does not exist" in capsys.readouterr().err
