"""`ato insights` on the small world with a trained champion and a decision log: one HTML page
answering all fifteen questions with a plot or table each, and three of its numbers recomputed
here from the Delta tables with pandas (no view, no saved query, no function of the report)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ato import deltars
from ato.model.registry import registry_dir
from ato.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.spark
FIRST, LAST = date(2026, 8, 1), date(2026, 8, 7)


@pytest.fixture(scope="module")
def report(analyst: Settings, trained: tuple[Settings, Any], tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Settings, Any]:
    from ato.analyst.insights import build

    root = tmp_path_factory.mktemp("insights")
    s = make_settings(Path(analyst.paths.lake_root).parent, ATO_MODEL_DIR=str(registry_dir(trained[0])),
                      ATO_BATCH__LABEL_MATURITY_DAYS="1")
    return s, build(s, FIRST, LAST, root / "insights.html", legit_sample=2_000)


def test_the_page_answers_all_fifteen_questions_with_a_plot_or_table(report: tuple[Settings, Any]) -> None:
    _, got = report
    assert got.answered == [f"{s}{i}" for s in ("DM", "FE", "MM", "MS", "BI") for i in (1, 2, 3)]
    page = Path(got.path).read_text()
    assert len(re.findall(r"<h2>", page)) == 15 and page.count("<img") >= 12
    assert page.count("<details><summary>query ") >= 15  # the SQL behind the answers
    assert "Not answered" not in page and "nan" not in re.sub(r"<[^>]+>", " ", page).split()


def _labels(s: Settings) -> pd.DataFrame:
    t = deltars.read(s, "gold", "training_set", ["event_id", "account_id", "login_date", "label", "new_country"])
    return t.to_pandas()


def test_peak_hour_is_recomputed_from_logins_and_labels(report: tuple[Settings, Any]) -> None:
    s, got = report
    logins = deltars.read(s, "silver", "logins", ["event_id", "event_time"]).to_pandas()
    df = logins.merge(_labels(s), on="event_id")
    df = df[(df["login_date"] >= FIRST) & (df["login_date"] <= LAST)]
    t = pd.to_datetime(df["event_time"], utc=True)
    g = df.assign(wd=t.dt.dayofweek + 1, hr=t.dt.hour).groupby(["wd", "hr"])["label"].agg(["mean", "sum"])
    top = g.sort_values(["mean", "sum"], ascending=False).index[0]
    assert got.numbers["bi2_peak_rate"] == pytest.approx(g["mean"].max())
    assert (got.numbers["bi2_peak_weekday"], got.numbers["bi2_peak_hour"]) == top


def test_new_country_share_of_takeovers_is_recomputed(report: tuple[Settings, Any]) -> None:
    s, got = report
    df = _labels(s)
    tk = df[(df["label"] == 1) & (df["login_date"] >= FIRST) & (df["login_date"] <= LAST)]
    assert len(tk) > 0
    assert got.numbers["fe2_share_new_country_takeover"] == pytest.approx((tk["new_country"] == 1).mean())


def test_failed_payment_lift_is_recomputed_from_snapshot_labels_and_decisions(report: tuple[Settings, Any]) -> None:
    s, got = report
    snap = deltars.read(s, "gold", "account_features_daily", ["account_id", "as_of_date", "failed_payments_30d"])
    snap = snap.to_pandas()
    as_of = snap.loc[snap["as_of_date"] <= LAST, "as_of_date"].max()
    snap = snap[snap["as_of_date"] == as_of]
    since = as_of - timedelta(days=29)
    lab = _labels(s)
    took = set(lab.loc[(lab["label"] == 1) & (lab["login_date"] >= since) & (lab["login_date"] <= as_of), "account_id"])
    dec = deltars.read(s, "gold", "decisions", ["account_id", "decided_date", "action"]).to_pandas()
    held = set(dec.loc[(dec["action"] != "allow") & (dec["decided_date"] >= since) & (dec["decided_date"] <= as_of),
                       "account_id"])
    sus = snap["account_id"].isin(took | held).to_numpy()
    failed = snap["failed_payments_30d"].to_numpy() > 0
    lift = sus[failed].mean() / sus[~failed].mean()
    assert np.isfinite(lift) and got.numbers["dm1_lift"] == pytest.approx(lift)
    assert got.numbers["dm1_rate_with_failed"] == pytest.approx(sus[failed].mean())
