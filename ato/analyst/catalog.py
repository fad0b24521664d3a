"""The saved-query catalog: `queries/*.sql`, one file per analyst question, run the same on DuckDB
and Spark SQL (`ato query list | run`).

A file starts with `--` header lines:

    -- name: device_switchers
    -- question: DM3 Frequent device switching accounts (...): the question it answers
    -- param: day_from date 1970-01-01 | what it means       (one line per parameter)
    -- columns: switches, accounts, ...                       (the result's columns, in order)

then plain SQL over the named views (`ato.analyst.views`), with `:param` placeholders and the
`@macro(...)` spellings the two dialects need. A value given with `--param k=v` is checked against
its declared type (date, int, float, string) and written into the SQL as a typed literal; nothing
else of the caller's text reaches the SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ato.analyst import views

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

FOLDER = Path(__file__).resolve().parents[2] / "queries"
TYPES = ("date", "int", "float", "string")
SECTIONS = {"DM": "Data manipulation", "FE": "Feature engineering", "MM": "Modeling and metrics",
            "MS": "Model selection", "BI": "Business insight"}
PLACEHOLDER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)\b")
HEADER = re.compile(r"^--\s*(name|question|param|columns):\s*(.*)$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    doc: str

    def literal(self, value: str) -> str:
        """`value` as a SQL literal of this parameter's type; ValueError says what was expected."""
        try:
            if self.type == "date":
                return f"DATE '{date.fromisoformat(value).isoformat()}'"
            if self.type == "int":
                return str(int(value))
            if self.type == "float":
                return f"CAST({float(value)!r} AS DOUBLE)"
        except ValueError:
            raise ValueError(f"parameter {self.name} wants a {self.type} "
                             f"({'YYYY-MM-DD' if self.type == 'date' else self.type}), got {value!r}") from None
        return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Query:
    name: str
    question: str
    params: tuple[Param, ...]
    columns: tuple[str, ...]
    sql: str
    path: Path

    @property
    def question_id(self) -> str:
        """The seed question it answers, e.g. "DM3" (section letters and number)."""
        return self.question.split(" ", 1)[0]

    @property
    def section(self) -> str:
        return SECTIONS.get(self.question_id[:2], "")

    @property
    def views(self) -> tuple[str, ...]:
        """The named views the SQL reads."""
        return tuple(v.name for v in views.VIEWS if re.search(rf"\b{v.name}\b", self.sql))

    def values(self, given: dict[str, str] | None = None) -> dict[str, str]:
        """Every parameter's SQL literal: given values over defaults; a clear error for unknown,
        missing or mistyped ones."""
        given = dict(given or {})
        known = {p.name: p for p in self.params}
        if unknown := sorted(set(given) - set(known)):
            raise ValueError(f"query {self.name} has no parameter {', '.join(unknown)}; "
                             f"it takes: {', '.join(known) or 'none'}")
        out = {}
        for p in self.params:
            raw = given.get(p.name, p.default)
            if raw is None:
                raise ValueError(f"query {self.name} needs --param {p.name}=<{p.type}> ({p.doc})")
            out[p.name] = p.literal(raw)
        return out

    def render(self, engine: str, given: dict[str, str] | None = None) -> str:
        """The SQL for `engine` with the parameters written in."""
        lit = self.values(given)
        return views.render(PLACEHOLDER.sub(lambda m: lit.get(m.group(1), m.group(0)), self.sql), engine)


def parse(path: Path) -> Query:
    """One query file; ValueError naming the file for a bad header."""
    head: dict[str, list[str]] = {"name": [], "question": [], "param": [], "columns": []}
    body: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = HEADER.match(line)
        if m and not body:
            head[m.group(1)].append(m.group(2).strip())
        elif body or not line.startswith("--"):
            body.append(line)
    where = f"{path.name}: "
    if len(head["name"]) != 1 or len(head["question"]) != 1 or len(head["columns"]) != 1:
        raise ValueError(where + "needs exactly one `-- name:`, `-- question:` and `-- columns:` line")
    params = []
    for spec in head["param"]:
        decl, _, doc = spec.partition("|")
        parts = decl.split()
        if len(parts) not in (2, 3) or parts[1] not in TYPES:
            raise ValueError(where + f"bad `-- param: {spec}`: write `name type [default] | meaning`, "
                                     f"type one of {', '.join(TYPES)}")
        p = Param(parts[0], parts[1], parts[2] if len(parts) == 3 else None, doc.strip())
        if p.default is not None:
            try:
                p.literal(p.default)
            except ValueError as e:
                raise ValueError(where + f"default of {e}") from None
        params.append(p)
    sql = "\n".join(body).strip()
    used = set(PLACEHOLDER.findall(sql))
    declared = {p.name for p in params}
    if used != declared:
        raise ValueError(where + f"placeholders {sorted(used)} and declared parameters {sorted(declared)} differ")
    columns = tuple(c.strip() for c in head["columns"][0].split(","))
    return Query(head["name"][0], head["question"][0], tuple(params), columns, sql, path)


def load(folder: Path = FOLDER) -> list[Query]:
    """Every query in `folder`, in the seed's order of sections and questions; names must be unique."""
    order = list(SECTIONS)
    out = sorted((parse(p) for p in folder.glob("*.sql")),
                 key=lambda q: (order.index(q.question_id[:2]) if q.question_id[:2] in order else 99, q.question_id))
    seen: dict[str, Path] = {}
    for q in out:
        if q.name in seen:
            raise ValueError(f"two queries named {q.name}: {seen[q.name].name} and {q.path.name}")
        seen[q.name] = q.path
    return out


def find(name: str, folder: Path = FOLDER) -> Query:
    queries = {q.name: q for q in load(folder)}
    if name not in queries:
        raise ValueError(f"no saved query {name!r}; `ato query list` shows the {len(queries)} there are")
    return queries[name]


def _missing_views(q: Query, missing: dict[str, list[str]]) -> None:
    if lacks := {v: missing[v] for v in q.views if v in missing}:
        said = "; ".join(f"view {v} needs {', '.join(t)}" for v, t in lacks.items())
        raise ValueError(f"query {q.name} cannot run on this lake: {said} (not built yet)")


def run_duckdb(con: duckdb.DuckDBPyConnection, q: Query, given: dict[str, str] | None = None,
               missing: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The query's rows from a connection made by `ato.analyst.connect` (its views registered)."""
    _missing_views(q, missing or {})
    rel = con.sql(q.render("duckdb", given))
    df = rel.df()
    for name, kind in zip(rel.columns, rel.types, strict=True):
        if str(kind) == "HUGEINT":  # DuckDB's sum of integers; Spark's is a bigint, and so is ours
            df[name] = df[name].astype("Int64")
    return df


def run_spark(spark: Any, q: Query, given: dict[str, str] | None = None,
              missing: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The query's rows from a Spark session whose views `ato.analyst.lake.register_spark` created."""
    _missing_views(q, missing or {})
    return spark.sql(q.render("spark", given)).toPandas()
