"""The data dictionary (`ato docs`, docs/data-dictionary.md): what one row of each lake table is,
its partitioning, and every column's type, unit and meaning, declared once in `dictionary.yaml`
(the stream contracts' fields typed from `ato.contracts`) and rendered to markdown
(`ato.analyst.dictionary_md`). `type_name` writes an Arrow type (delta-rs, pyarrow) in the
dictionary's words, so tests compare real tables with the declarations; no JVM."""

from __future__ import annotations

import itertools
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from ato.contracts import CONTRACTS
from ato.tables import LAYERS

SOURCE = Path(__file__).with_name("dictionary.yaml")
DOC = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"  # the committed page
UTC_ZONES = ("UTC", "+00:00", "Etc/UTC", "Z")
KIND_TYPES = {"string": "string", "cidr": "string", "timestamp": "timestamp (UTC)", "double": "double",
              "long": "bigint"}  # contract kinds (ato.contracts.Kind) in the dictionary's words
BASE_TYPES = ("string", "timestamp (UTC)", "timestamp (no time zone)", "date", "double", "float", "bigint",
              "int", "smallint", "tinyint", "boolean", "binary")
_ARROW_NAMES = {pa.float64(): "double", pa.float32(): "float", pa.int64(): "bigint", pa.int32(): "int",
                pa.int16(): "smallint", pa.int8(): "tinyint", pa.bool_(): "boolean", pa.date32(): "date",
                pa.date64(): "date", pa.binary(): "binary", pa.large_binary(): "binary"}


class DictionaryError(ValueError):
    """The declarations are wrong (unknown unit, bad type, a column without a meaning ...)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    unit: str
    meaning: str


@dataclass(frozen=True)
class Table:
    layer: str
    name: str
    row: str  # what one row is
    partitioned_by: str | None
    built_by: str
    columns: tuple[Column, ...]

    @property
    def key(self) -> str:
        return f"{self.layer}/{self.name}"

    @property
    def view(self) -> str:
        """Its name in `ato sql` / `ato.analyst.connect` (`bronze/_ingest_log` is `bronze_ingest_log`)."""
        return f"{self.layer}_{self.name.lstrip('_')}"


def type_name(t: pa.DataType) -> str:
    """An Arrow type in the dictionary's words: `string`, `timestamp (UTC)`, `array<bigint>`, ..."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_timestamp(t):
        return "timestamp (UTC)" if t.tz in UTC_ZONES else f"timestamp ({t.tz or 'no time zone'})"
    if t in _ARROW_NAMES:
        return _ARROW_NAMES[t]
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"array<{type_name(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{type_name(t.key_type)},{type_name(t.item_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{t.field(i).name}: {type_name(t.field(i).type)}" for i in range(t.num_fields)) + ">"
    return str(t)


def schema_types(schema: Any) -> dict[str, str]:
    """column -> type of a pyarrow schema or any Arrow schema (delta-rs' `schema().to_arrow()`)."""
    s = schema if isinstance(schema, pa.Schema) else pa.schema(schema)
    return {f.name: type_name(f.type) for f in s}


def delta_schema(path: str) -> tuple[dict[str, str], list[str]]:
    """(column -> type, partition columns) of the Delta table at `path`, read by delta-rs."""
    from deltalake import DeltaTable

    dt = DeltaTable(path)
    return schema_types(dt.schema().to_arrow()), list(dt.metadata().partition_columns)


def _split_top(s: str) -> list[str]:
    """`a, map<b,c>` -> ['a', 'map<b,c>']: split on commas outside angle brackets."""
    out, depth, cur = [], 0, ""
    for ch in s:
        depth += (ch == "<") - (ch == ">")
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [*out, cur.strip()]


def valid_type(t: str) -> bool:
    """Is `t` written in the dictionary's type words?"""
    m = re.fullmatch(r"(array|map|struct)<(.*)>", t)
    if not m:
        return t in BASE_TYPES
    parts = _split_top(m[2])
    if m[1] == "array":
        return len(parts) == 1 and valid_type(parts[0])
    if m[1] == "map":
        return len(parts) == 2 and all(valid_type(p) for p in parts)
    fields = [p.split(": ", 1) for p in parts]
    return all(len(f) == 2 and re.fullmatch(r"\w+", f[0]) is not None and valid_type(f[1]) for f in fields)


class _Loader:
    """Expands the YAML's table entries into concrete columns, checking every one."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.units: dict[str, str] = doc["units"]
        self.streams: dict[str, dict[str, list[str]]] = doc["streams"]
        self.common: dict[str, list[str]] = doc["common"]
        self.groups: dict[str, list[Any]] = doc["groups"]
        self.families: dict[str, dict[str, Any]] = doc["families"]
        self.tables_doc: dict[str, dict[str, Any]] = doc["tables"]

    def column(self, name: str, spec: Any, where: str, ctx: dict[str, str]) -> Column:
        if not (isinstance(spec, list) and len(spec) == 3 and all(isinstance(x, str) for x in spec)):
            raise DictionaryError(f"{where}: {name}: expected [type, unit, meaning], got {spec!r}")
        typ, unit, meaning = spec
        meaning = string.Template(meaning).safe_substitute(ctx).strip()
        if not valid_type(typ):
            raise DictionaryError(f"{where}: {name}: unknown type {typ!r} (words: {', '.join(BASE_TYPES)}, "
                                  "array<..>, map<..,..>, struct<name: ..>)")
        if unit not in self.units:
            raise DictionaryError(f"{where}: {name}: unknown unit {unit!r} (declare it under `units`)")
        if not meaning or "\n" in meaning or "$" in meaning:
            raise DictionaryError(f"{where}: {name}: the meaning must be one non-empty line, got {meaning!r}")
        return Column(name, typ, unit, meaning)

    def expand(self, entry: Any, where: str, ctx: dict[str, str]) -> list[Column]:
        if isinstance(entry, str):
            if entry not in self.common:
                raise DictionaryError(f"{where}: {entry!r} is not under `common`; declare it as [type, unit, meaning]")
            return [self.column(entry, self.common[entry], where, ctx)]
        if isinstance(entry, dict) and "group" in entry:
            return [c for e in self.groups[entry["group"]] for c in self.expand(e, f"{where}: group {entry['group']}", ctx)]
        if isinstance(entry, dict) and "family" in entry:
            return self.family(entry["family"], where, ctx)
        if isinstance(entry, dict) and "contract" in entry:
            return self.contract(entry["contract"], entry.get("only"), where, ctx)
        if isinstance(entry, dict) and len(entry) == 1:
            (name, spec), = entry.items()
            return [self.column(str(name), spec, where, ctx)]
        raise DictionaryError(f"{where}: cannot read entry {entry!r}")

    def contract(self, stream: str, only: list[str] | None, where: str, ctx: dict[str, str]) -> list[Column]:
        fields = CONTRACTS[stream].fields
        names = [f.name for f in fields]
        if only is not None and set(only) - set(names):
            raise DictionaryError(f"{where}: {sorted(set(only) - set(names))} are not fields of contract {stream!r}")
        said = self.streams.get(stream, {})
        out = []
        for f in fields:
            if only is not None and f.name not in only:
                continue
            if f.name not in said:
                raise DictionaryError(f"{where}: contract field {stream}.{f.name} has no meaning under `streams`")
            out.append(self.column(f.name, [KIND_TYPES[f.kind], *said[f.name]], f"{where}: contract {stream}", ctx))
        return out

    def family(self, name: str, where: str, ctx: dict[str, str]) -> list[Column]:
        fam = self.families[name]
        parts: dict[str, dict[str, Any]] = fam["parts"]
        skip = [dict(s) for s in fam.get("skip", [])]
        out = []
        for combo in itertools.product(*[list(v.items()) for v in parts.values()]):
            values = {p: str(k) for p, (k, _) in zip(parts, combo, strict=True)}
            if any(all(values[p] == str(v) for p, v in s.items()) for s in skip):
                continue
            specs = {p: (v if isinstance(v, dict) else {"say": v}) for p, (_, v) in zip(parts, combo, strict=True)}
            raw = {f"_{p}": v for p, v in values.items()}
            said = {p: s["say"] for p, s in specs.items()} | raw
            said = {p: s.format_map(said) for p, s in said.items()}  # a phrase may name another part
            typ = next((s["type"] for s in specs.values() if "type" in s), fam.get("type"))
            unit = next((s["unit"] for s in specs.values() if "unit" in s), fam.get("unit"))
            col = fam["pattern"].format_map(values)
            out.append(self.column(col, [typ, unit, fam["meaning"].format_map(said)], f"{where}: family {name}", ctx))
        return out

    def tables(self) -> list[Table]:
        out = []
        for key, t in self.tables_doc.items():
            layer, _, name = key.partition("/")
            if layer not in LAYERS or not name:
                raise DictionaryError(f"table {key!r}: expected <layer>/<name>, layer one of {LAYERS}")
            stream = CONTRACTS.get(name) if layer != "gold" else None
            ctx = {"time_field": stream.time_field} if stream else {}
            cols = [c for e in t["columns"] for c in self.expand(e, key, ctx)]
            seen = [c.name for c in cols]
            if dup := sorted({n for n in seen if seen.count(n) > 1}):
                raise DictionaryError(f"{key}: columns declared twice: {dup}")
            part = t.get("partitioned_by")
            if part is not None and part not in seen:
                raise DictionaryError(f"{key}: partitioned by {part!r}, which is not one of its columns")
            for field in ("row", "built_by"):
                if not str(t.get(field, "")).strip():
                    raise DictionaryError(f"{key}: `{field}` is missing")
            out.append(Table(layer, name, str(t["row"]), part, str(t["built_by"]), tuple(cols)))
        return sorted(out, key=lambda x: LAYERS.index(x.layer))  # stable: the file's order within a layer


def load(path: Path = SOURCE) -> tuple[list[Table], dict[str, str]]:
    """(tables, units) declared in `path`; raises DictionaryError on anything undeclared or malformed."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    loader = _Loader(doc)
    return loader.tables(), dict(loader.units)


@cache
def _default() -> tuple[tuple[Table, ...], tuple[tuple[str, str], ...]]:
    tabs, units = load()
    return tuple(tabs), tuple(units.items())


def tables() -> tuple[Table, ...]:
    """Every declared table, bronze then silver then gold."""
    return _default()[0]


def units() -> dict[str, str]:
    """The unit vocabulary: unit -> what it means."""
    return dict(_default()[1])


def columns_declared() -> dict[tuple[str, str], dict[str, str]]:
    """(layer, table) -> {column: type}, every concrete column (families expanded)."""
    return {(t.layer, t.name): {c.name: c.type for c in t.columns} for t in tables()}

