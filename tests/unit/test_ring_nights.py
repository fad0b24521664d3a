"""gold/ring_nights without a JVM: a night's row for each outcome, and `ato rings list | nights`
telling a night that found no ring from one that had too few cases to look from one that never ran."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pytest

from ato import deltars
from ato import tables as T
from ato.cli import main
from ato.rings.outputs import NIGHT_COLUMNS, RING_COLUMNS, ring_night

if TYPE_CHECKING:
    from ato.settings import Settings

pytestmark = pytest.mark.unit
SKIPPED = {"night": "2026-08-01", "accounts": 300, "known_cases": 3,
           "skipped": "3 investigated case(s) by 2026-08-01; the pair model needs 10 ..."}
RAN = {"night": "2026-08-02", "accounts": 300, "known_cases": 12, "links": 900, "candidate_pairs": 450,
       "kept_links": 6, "threshold": 0.8123, "rings": 2, "accounts_in_rings": 7, "carried_ids": 0, "precision": 0.9}


def test_a_nights_row_says_whether_the_pair_model_ran_and_what_it_kept() -> None:
    skipped = ring_night(SKIPPED, 10).iloc[0]
    assert (skipped["outcome"], skipped["known_cases"], skipped["min_cases"], skipped["rings"]) == ("too_few_cases", 3, 10, 0)
    assert pd.isna(skipped["candidate_pairs"]) and pd.isna(skipped["threshold"]), "the model did not run"
    ran = ring_night(RAN, 10)
    assert list(ran.columns) == NIGHT_COLUMNS
    assert ran.iloc[0].to_dict() == {"outcome": "rings", "accounts": 300, "known_cases": 12, "min_cases": 10,
                                     "candidate_pairs": 450, "kept_links": 6, "threshold": 0.8123, "rings": 2,
                                     "accounts_in_rings": 7, "carried_ids": 0}
    assert ring_night({**RAN, "rings": 0, "accounts_in_rings": 0}, 10).iloc[0]["outcome"] == "no_rings"


def _write_night(settings: Settings, night: date, summary: dict[str, object], members: list[list[str]]) -> None:
    deltars.write(settings, "gold", T.RING_NIGHTS, pa.Table.from_pandas(ring_night(summary, 10).assign(night=night)),
                  partition_by=["night"])
    if members:
        rings = pd.DataFrame([{"ring_id": f"R{night:%Y%m%d}-{i:04d}", "size": len(m), "members": m,
                               "first_seen": pd.Timestamp("2026-07-01"), "last_seen": pd.Timestamp("2026-07-02"),
                               "top_evidence": "shares 1 device", "labelled_share": 0.0, "labelled": []}
                              for i, m in enumerate(members, 1)], columns=RING_COLUMNS)
        deltars.write(settings, "gold", T.FRAUD_RINGS, pa.Table.from_pandas(rings.assign(night=night)),
                      partition_by=["night"])


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["rings", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_rings_list_and_nights_say_what_each_night_found(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ATO_LAKE_ROOT", settings.paths.lake_root)
    code, text = _cli(capsys, "list")
    assert code == 2 and "no ring night yet" in text

    d1, d2, d3, d4 = (date(2026, 8, d) for d in (1, 2, 3, 4))
    _write_night(settings, d1, SKIPPED, [])
    code, text = _cli(capsys, "list")
    assert code == 2 and "the latest, 2026-08-01, had 3 investigated case(s)" in text and "needs 10" in text

    _write_night(settings, d2, RAN, [["a1", "a2", "a3"], ["b1", "b2", "b3", "b4"]])
    _write_night(settings, d3, {**RAN, "night": "2026-08-03", "rings": 0, "accounts_in_rings": 0}, [])
    _write_night(settings, d4, {**SKIPPED, "night": "2026-08-04", "known_cases": 2}, [])
    code, text = _cli(capsys, "list", "--json")
    assert code == 0 and (json.loads(text)["night"], json.loads(text)["rings"]) == ("2026-08-03", []), \
        "the latest night that looked found none: 08-02's rings no longer stand"
    code, text = _cli(capsys, "list", "--night", "2026-08-02", "--json")
    assert code == 0 and [r["size"] for r in json.loads(text)["rings"]] == [4, 3]
    code, text = _cli(capsys, "list", "--night", "2026-08-04")
    assert code == 2 and "ring night 2026-08-04 did not look for rings: 2 investigated case(s)" in text
    code, text = _cli(capsys, "list", "--night", "2026-08-09")
    assert code == 2 and "no ring night 2026-08-09" in text

    code, text = _cli(capsys, "nights", "--json")
    nights = json.loads(text)["nights"]
    assert code == 0 and [(n["night"], n["outcome"], n["rings"]) for n in nights] == [
        ("2026-08-01", "too_few_cases", 0), ("2026-08-02", "rings", 2), ("2026-08-03", "no_rings", 0),
        ("2026-08-04", "too_few_cases", 0)]
    assert nights[1]["threshold"] == 0.8123 and nights[0]["threshold"] is None
    code, text = _cli(capsys, "nights", "--last", "2")
    assert code == 0 and "2026-08-01" not in text and "no_rings" in text and "2/10" in text


def test_the_report_says_why_a_night_shows_no_ring() -> None:
    import duckdb

    from ato.report.rings import _why_no_rings

    con = duckdb.connect()
    nights = pd.concat([ring_night(SKIPPED, 10).assign(night=date(2026, 8, 1)),
                        ring_night({**RAN, "rings": 0}, 10).assign(night=date(2026, 8, 2))])
    con.register("gold_ring_nights", nights)
    views = {"gold_ring_nights"}
    assert "did not look for rings this night: 3 investigated case(s)" in _why_no_rings(con, views, date(2026, 8, 1))
    assert "needs 10" in _why_no_rings(con, views, date(2026, 8, 1))
    assert "ran this night on 12 investigated cases and kept no ring" in _why_no_rings(con, views, date(2026, 8, 2))
    assert "did not run for this night" in _why_no_rings(con, views, date(2026, 8, 3))
    assert "did not run for this night" in _why_no_rings(con, set(), date(2026, 8, 1)), "a lake from before the table"
