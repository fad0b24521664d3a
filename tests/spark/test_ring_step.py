"""The nightly `rings` step on a lake: silver profiles, hashed activity and reported cases in; the
night's gold/ring_edges and gold/fraud_rings out, equal to the JVM-free finder on the same inputs,
ids carried to the next night, and `ato rings show` naming every link's reasons without raw PII."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from ato import tables as T
from ato.privacy import ip_prefix, normalize_ip, pseudonymize
from ato.rings.night import find_night
from ato.rings.profile import PROFILE_DDL, pseudonymous_profiles
from ato.simulator.ring_world import build_ring_world
from ato.spark import lake
from ato.spark.ring_step import build_rings
from tests.conftest import TEST_KEY, make_settings

pytestmark = pytest.mark.spark
NIGHT = date(2026, 9, 14)  # the ring world's last day (start 08-01, 45 days)


def _silver_rows(activity: pd.DataFrame, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The world's activity as silver logins and payments hold it: keyed hashes of `n` characters."""
    key = TEST_KEY.encode()
    logins: list[tuple[object, ...]] = []
    payments: list[tuple[object, ...]] = []
    for r in activity.itertuples(index=False):
        h = pseudonymize(key, normalize_ip(r.value) if r.kind == "login_ip" else r.value, n)
        if r.kind == "login_ip":
            logins.append((r.account_id, r.time, None, h, pseudonymize(key, ip_prefix(normalize_ip(r.value)), n)))
        elif r.kind == "login_device":
            logins.append((r.account_id, r.time, h, None, None))
        else:
            payments.append((r.account_id, r.time, *((h, None) if r.kind == "payee" else (None, h))))
    lg = pd.DataFrame(logins, columns=["account_id", "event_time", "device_hash", "ip_hash", "ip_prefix_hash"])
    py = pd.DataFrame(payments, columns=["account_id", "event_time", "payee_hash", "payment_method_hash"])
    return lg.assign(outcome="success", event_date=lg["event_time"].dt.date), py.assign(event_date=py["event_time"].dt.date)


def _links(logins: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """(account_id, kind, value, time), as `ato.spark.ring_step` reads them from silver."""
    from ato.spark.ring_step import LOGIN_KINDS, PAYMENT_KINDS

    parts = [frame[["account_id", col, "event_time"]].set_axis(["account_id", "value", "time"], axis=1).assign(kind=kind)
             for frame, kinds in ((logins, LOGIN_KINDS), (payments, PAYMENT_KINDS)) for col, kind in kinds.items()
             if col in frame]
    links = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    return links.groupby(["account_id", "kind", "value"], as_index=False)["time"].min()


@pytest.fixture(scope="module")
def ring_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, dict[str, pd.DataFrame]]:
    world = build_ring_world(accounts=1500, seed=3)
    s = make_settings(tmp_path_factory.mktemp("ring_lake"), ATO_RINGS__WINDOW_DAYS="120",
                      ATO_RINGS__MIN_CASES="4")  # a 1,500-account world has a handful of cases
    n = s.privacy.hash_hex_chars
    profiles = pseudonymous_profiles(world.profiles, TEST_KEY.encode(), n).assign(
        created_at=world.profiles["event_time"].to_numpy(), country=world.profiles["country"].to_numpy())
    logins, payments = _silver_rows(world.activity[world.activity["time"] < pd.Timestamp(NIGHT + timedelta(days=1))], n)
    labels = world.cases.assign(label="fraud", source="analyst", login_event_id=None, event_date=world.cases["reported_at"].dt.date)
    ddl = {T.ACCOUNTS: f"{PROFILE_DDL}, created_at timestamp, country string",
           T.LOGINS: "account_id string, event_time timestamp, device_hash string, ip_hash string, ip_prefix_hash string, "
                     "event_date date, outcome string",
           T.PAYMENTS: "account_id string, event_time timestamp, payee_hash string, payment_method_hash string, event_date date",
           T.LABELS: "account_id string, case_id string, reported_at timestamp, label string, source string, "
                     "login_event_id string, event_date date"}
    for table, frame in ((T.ACCOUNTS, profiles.assign(event_date=profiles["event_time"].dt.date)), (T.LOGINS, logins),
                         (T.PAYMENTS, payments), (T.LABELS, labels)):
        schema = ddl[table] + (", event_date date" if table == T.ACCOUNTS else "")
        spark.createDataFrame(frame[[c.split()[0] for c in schema.split(", ")]], schema).write.format("delta") \
            .save(s.table_path("silver", table))
    return s, world, {"profiles": profiles, "activity": _links(logins, payments), "cases": world.cases}


def test_the_spark_night_equals_the_pandas_finder_and_ids_carry_over(spark: Any, ring_lake: Any) -> None:
    """The night on the Spark engine (`rings.engine: spark`) equals the pandas finder on the same
    inputs; the next nights run on the default engine (pandas) and carry its ids over."""
    s, world, inputs = ring_lake
    on_spark = s.model_copy(update={"rings": s.rings.model_copy(update={"engine": "spark"})})
    summary = build_rings(spark, on_spark, NIGHT)
    assert summary["rings"] >= 5 and summary["known_cases"] >= 4, summary
    rings: pd.DataFrame = lake.read(spark, s.table_path("gold", T.FRAUD_RINGS)).toPandas()
    edges: pd.DataFrame = lake.read(spark, s.table_path("gold", T.RING_EDGES)).toPandas()
    want = find_night(NIGHT, inputs["profiles"], inputs["activity"], inputs["cases"], set(inputs["cases"]["account_id"]),
                      pd.DataFrame(columns=["ring_id", "members"]), s.rings)
    assert sorted(map(sorted, rings["members"])) == sorted(map(sorted, want.rings["members"]))
    assert set(zip(edges["a"], edges["b"], strict=True)) == set(zip(want.edges["a"], want.edges["b"], strict=True))
    # most rings found are true rings: their members share one ring of the truth
    truth = world.truth.set_index("account_id")["ring"]
    pure = [truth.reindex(list(m)).value_counts().iloc[0] / len(m) for m in rings["members"]]
    assert sum(p >= 0.8 for p in pure) >= 0.8 * len(pure), pure
    again = build_rings(spark, s, NIGHT + timedelta(days=1))
    assert again["carried_ids"] == again["rings"] == summary["rings"]
    # re-running a night replaces its rows
    build_rings(spark, s, NIGHT)
    assert lake.read(spark, s.table_path("gold", T.FRAUD_RINGS)).where(f"night = DATE'{NIGHT}'").count() == summary["rings"]
    nights: pd.DataFrame = lake.read(spark, s.table_path("gold", T.RING_NIGHTS)).orderBy("night").toPandas()
    assert nights["night"].tolist() == [NIGHT, NIGHT + timedelta(days=1)], "one row a night, re-runs replace it"
    row = nights.iloc[0]
    assert (row["outcome"], row["rings"], row["known_cases"], row["min_cases"]) == \
        ("rings", summary["rings"], summary["known_cases"], 4)
    assert row["threshold"] == pytest.approx(summary["threshold"]) and row["kept_links"] == summary["kept_links"]


def test_rings_show_names_the_reasons_of_every_link_and_no_raw_pii(spark: Any, ring_lake: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from ato.cli import main

    s, world, _ = ring_lake
    if not lake.exists(spark, s.table_path("gold", T.FRAUD_RINGS)):
        build_rings(spark, s, NIGHT)
    monkeypatch.setenv("ATO_LAKE_ROOT", s.paths.lake_root)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["rings", "list", "--night", NIGHT.isoformat(), "--json"]) == 0
    listed = json.loads(out.getvalue())["rings"]
    biggest = listed[0]["ring_id"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["rings", "show", biggest, "--night", NIGHT.isoformat(), "--json"]) == 0
    doc = json.loads(out.getvalue())
    assert doc["size"] == len(doc["members"]) >= 3 and doc["links"]
    assert all(link["reasons"] for link in doc["links"])
    text = out.getvalue()
    members = world.profiles[world.profiles["account_id"].isin([m["account_id"] for m in doc["members"]])]
    for col in ("email", "phone", "full_name", "address", "bank_account", "signup_ip", "signup_device_id"):
        assert not any(str(v) in text for v in members[col].dropna()), col
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["rings", "show", "R-none", "--night", NIGHT.isoformat()]) == 2


def test_account_snapshots_take_the_ring_of_the_latest_ring_night_up_to_their_date(spark: Any, ring_lake: Any) -> None:
    from ato.spark.ring_step import with_ring_features

    s, _, _ = ring_lake
    for night in (NIGHT, NIGHT + timedelta(days=1)):
        build_rings(spark, s, night)
    rings: pd.DataFrame = lake.read(spark, s.table_path("gold", T.FRAUD_RINGS)).where(f"night = DATE'{NIGHT}'").toPandas()
    ring = rings.sort_values("size").iloc[-1]
    member, size, share = str(ring["members"][0]), int(ring["size"]), float(ring["labelled_share"])
    later = NIGHT + timedelta(days=4)
    snap = spark.createDataFrame([(member, NIGHT - timedelta(days=1)), (member, NIGHT), (member, later),
                                  ("acct_9999999", NIGHT)], "account_id string, as_of_date date")
    got = {(r["account_id"], r["as_of_date"]): (r["ring_size"], r["ring_labelled_share"])
           for r in with_ring_features(spark, s, snap, [NIGHT - timedelta(days=1), NIGHT, later]).collect()}
    assert got[(member, NIGHT - timedelta(days=1))] == (0, 0.0), "no ring night before: no ring"
    assert got[(member, NIGHT)] == (size, share)
    assert got[(member, later)][0] >= 3, "the latest ring night up to the date (the next night's ring)"
    assert got[("acct_9999999", NIGHT)] == (0, 0.0)
    # a night whose pair model ran and kept no ring (none reaches min_size): earlier rings no longer stand
    none = s.model_copy(update={"rings": s.rings.model_copy(update={"min_size": 10_000})})
    empty = NIGHT + timedelta(days=2)
    assert build_rings(spark, none, empty)["rings"] == 0
    snap = spark.createDataFrame([(member, NIGHT + timedelta(days=1)), (member, later)], "account_id string, as_of_date date")
    sizes = {r["as_of_date"]: r["ring_size"] for r in with_ring_features(spark, s, snap, [NIGHT + timedelta(days=1), later]).collect()}
    assert sizes[NIGHT + timedelta(days=1)] >= 3 and sizes[later] == 0, sizes
    outcome = lake.read(spark, s.table_path("gold", T.RING_NIGHTS)).where(f"night = DATE'{empty}'").first()
    assert outcome is not None and outcome["outcome"] == "no_rings"
    # a night with too few cases counts its accounts on Spark and looks no further
    few = s.model_copy(update={"rings": s.rings.model_copy(update={"min_cases": 10_000})})
    skipped = NIGHT + timedelta(days=3)
    summary = build_rings(spark, few, skipped)
    assert "skipped" in summary and summary["accounts"] == ring_lake[2]["profiles"]["account_id"].nunique()
    row = lake.read(spark, s.table_path("gold", T.RING_NIGHTS)).where(f"night = DATE'{skipped}'").first()
    assert row is not None and (row["outcome"], row["accounts"], row["rings"]) == ("too_few_cases", summary["accounts"], 0)
