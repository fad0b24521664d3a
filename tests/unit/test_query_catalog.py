"""The saved-query catalog without an engine: every file parses, one query per seed question,
parameters are typed literals, bad headers and values are refused clearly, macros render per
dialect (the rows themselves: tests/spark/test_analyst_engines.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ato.analyst import catalog, views

SEED_QUESTIONS = [f"{s}{i}" for s in ("DM", "FE", "MM", "MS", "BI") for i in (1, 2, 3)]


def test_one_saved_query_per_seed_question_in_the_seeds_order() -> None:
    queries = catalog.load()
    assert [q.question_id for q in queries] == SEED_QUESTIONS
    assert len({q.name for q in queries}) == 15
    for q in queries:
        assert q.views, f"{q.name} reads no named view"
        assert q.columns and all(c.isidentifier() for c in q.columns), q.name
        assert q.section and q.question.endswith("?"), q.name


@pytest.mark.parametrize("engine", views.ENGINES)
def test_every_query_renders_without_placeholders_or_macros_left(engine: str) -> None:
    for q in catalog.load():
        sql = q.render(engine)
        assert "@" not in sql and not catalog.PLACEHOLDER.search(sql), q.name


def test_parameters_become_typed_literals_and_bad_values_are_refused() -> None:
    q = catalog.find("login_anomalies")
    sql = q.render("spark", {"day_from": "2026-08-02", "top": "3"})
    assert "BETWEEN DATE '2026-08-02' AND DATE '9999-12-31'" in sql and sql.rstrip().endswith("LIMIT 3")
    with pytest.raises(ValueError, match="day_from wants a date"):
        q.render("duckdb", {"day_from": "2026-13-01"})
    with pytest.raises(ValueError, match="top wants a int"):
        q.render("duckdb", {"top": "3; DROP TABLE x"})
    with pytest.raises(ValueError, match="has no parameter colour"):
        q.render("duckdb", {"colour": "red"})
    g = catalog.find("geo_dispersion").render("duckdb", {"kmh": "500"})
    assert "> CAST(500.0 AS DOUBLE)" in g


def test_a_string_parameter_cannot_leave_its_literal(tmp_path: Path) -> None:
    f = tmp_path / "q.sql"
    f.write_text("-- name: q\n-- question: DM1 x?\n-- param: who string alice | a name\n-- columns: n\n"
                 "SELECT count(*) AS n FROM login_activity WHERE account_id = :who\n")
    q = catalog.parse(f)
    assert q.render("duckdb", {"who": "x' OR '1'='1"}).endswith("account_id = 'x'' OR ''1''=''1'")


@pytest.mark.parametrize(("text", "error"), [
    ("-- question: DM1 x?\n-- columns: n\nSELECT 1", "exactly one"),
    ("-- name: q\n-- question: DM1 x?\n-- columns: n\n-- param: d datetime | x\nSELECT :d", "bad `-- param"),
    ("-- name: q\n-- question: DM1 x?\n-- columns: n\nSELECT :d", "placeholders"),
    ("-- name: q\n-- question: DM1 x?\n-- columns: n\n-- param: d date soon | x\nSELECT :d", "wants a date"),
])
def test_bad_headers_name_the_file_and_the_fix(tmp_path: Path, text: str, error: str) -> None:
    f = tmp_path / "bad.sql"
    f.write_text(text)
    with pytest.raises(ValueError, match=error) as e:
        catalog.parse(f)
    assert "bad.sql" in str(e.value)


def test_macros_nest_and_take_parenthesised_arguments() -> None:
    sql = "SELECT @quantile(CAST(abs(a - f(b, c)) AS DOUBLE), 0.5), @first(@join(r, ', '))"
    assert views.render(sql, "spark") == ("SELECT percentile(CAST(abs(a - f(b, c)) AS DOUBLE), 0.5), "
                                          "try_element_at(array_join(r, ', '), 1)")
    assert views.render(sql, "duckdb") == ("SELECT quantile_cont(CAST(abs(a - f(b, c)) AS DOUBLE), 0.5), "
                                           "(array_to_string(r, ', '))[1]")
    with pytest.raises(ValueError, match="unknown SQL macro @median"):
        views.render("SELECT @median(x)", "duckdb")
    with pytest.raises(ValueError, match="unbalanced"):
        views.render("SELECT @first(x", "duckdb")
