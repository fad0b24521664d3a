"""Shared fixtures: one local Spark session per run, a temp lake per test, a small world."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ato.settings import Settings, load_settings

TEST_KEY = "test-hmac-key-of-the-suite-32-bytes+"
# Campaign rates are per 30 days at 10,000 accounts; a 400-account, 4-day world needs them boosted.
BOOSTED_CAMPAIGNS = {"credential_stuffing": 600, "targeted_ato": 1500, "session_hijack": 1500,
                     "low_and_slow": 1500, "fraud_ring": 400}


# Tiny tables: interpreted expressions, no adaptive re-planning and, in the suite's long session, the
# JVM's tiered JIT for every job, ingest too (interpreted expressions need C2 there; README "Tests";
# one-step JVMs: one_step_jvms below); the cluster test keeps generated code and adaptive plans,
# so gold built both ways is compared there.
SMALL_DATA_SPARK = {"ATO_SPARK__CODEGEN": "false", "ATO_SPARK__ADAPTIVE": "false", "ATO_SPARK__INGEST_JAVA_OPTIONS": ""}


def one_step_jvms() -> dict[str, str]:
    """For JVMs that run one step on the small world and exit (the DAG tasks' spark-submit, the
    cluster test's driver and executors): the quick C1 JIT of ingest's default for every job, as
    compiling costs more than running there (the DAG test's Spark tasks, A/B alternated: 5-24 %
    faster each, interpreted expressions included). The suite's one long session keeps C2."""
    quick = load_settings(environ={}).spark.ingest_java_options
    return {"ATO_SPARK__JAVA_OPTIONS": quick, "ATO_SPARK__INGEST_JAVA_OPTIONS": quick}


def fake_jdk(root: Path, *version_lines: str) -> Path:
    """A JAVA_HOME standing in for another JDK (an injected fault): its `java -version` prints
    `version_lines` and any other `java` run fails, as Spark never gets to start on it."""
    (root / "bin").mkdir(parents=True)
    lines = "".join(f"echo '{ln}' >&2\n" for ln in version_lines)
    (root / "bin" / "java").write_text(f'#!/bin/sh\n{lines}[ "$1" = -version ] || exit 1\n')
    (root / "bin" / "java").chmod(0o755)
    return root


def make_settings(root: Path, geo_db: Path | None = None, **extra: str) -> Settings:
    """The tests' settings: the lake under `root`, and every other folder a step writes (snapshots,
    reports, models, the audit log) there too unless `extra` names it, never `data/` in the checkout."""
    env = {"ATO_ONLINE_DIR": str(root / "online"), "ATO_PATHS__REPORTS": str(root / "reports"),
           "ATO_MODEL_DIR": str(root / "models"), "ATO_SERVING__AUDIT_DIR": str(root / "audit"),
           "ATO_HMAC_KEY": TEST_KEY, **extra,
        "ATO_LAKE_ROOT": str(root / "lake"),
        "ATO_SPARK_MASTER": "local[2]",
        "ATO_SPARK__SHUFFLE_PARTITIONS": "2",
        **SMALL_DATA_SPARK,
        "ATO_ENRICH__GEO_DB": str(geo_db or root / "no-geo-db.csv"),
    }
    return load_settings(environ=env)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that needs the JVM (the `spark` fixture, directly or through the small world it
    builds: world_lake, backfilled, trained, serving_world) must be marked `spark`, so that
    `pytest -m "not spark"` runs on a machine without Java."""
    unmarked = [i.nodeid for i in items
                if "spark" in getattr(i, "fixturenames", ()) and i.get_closest_marker("spark") is None]
    if unmarked:
        raise pytest.UsageError("these tests need Spark but are not marked spark: " + ", ".join(unmarked))


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    os.environ.setdefault("TQDM_DISABLE", "1")
    from ato.spark.session import get_spark

    s = get_spark(make_settings(Path("/tmp")), "ato-tests", master="local[2]", shuffle_partitions=2)
    yield s
    s.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """A 300-account, 8-day world with every campaign type (rates boosted for a small world)."""
    from ato.simulator.config import load_simulator_config
    from ato.simulator.run import simulate

    base = tmp_path_factory.mktemp("world")
    cfg = load_simulator_config(
        accounts=300, days=8, seed=11,
        campaigns=BOOSTED_CAMPAIGNS,
        malformed_share=0.003,
        labels={"false_report_rate": 0.3, "delay_days_median": 2, "report_rate": 0.7},
    )
    summary = simulate(cfg, base / "spool", base / "world")
    return base / "spool", base / "world", summary


@pytest.fixture(scope="session")
def world_lake(spark: object, small_world: tuple[Path, Path, object], tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, object]:
    """The small world ingested once into its own lake (read-only for the tests that use it)."""
    from ato.spark.ingest import ingest

    spool, world, _ = small_world
    s = make_settings(tmp_path_factory.mktemp("world_lake"), geo_db=world / "ip_geo.csv")
    summary = ingest(spark, s, spool)  # type: ignore[arg-type]
    return s, summary


BACKFILL = ("2026-08-01", "2026-08-07")


@pytest.fixture(scope="session")
def backfilled(spark: Any, world_lake: tuple[Settings, object], tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, object]:
    """A copy of the ingested small world, backfilled for 7 as-of dates in one Spark session
    (label maturity 1 day, so training rows exist for 08-01..08-06). Tests that change it
    restore it; the model tests only read it."""
    import shutil
    from datetime import date

    from ato.nightly import date_range, run_nightly

    src, _ = world_lake
    root = tmp_path_factory.mktemp("nightly")
    shutil.copytree(src.paths.lake_root, root / "lake")
    s = make_settings(root, geo_db=Path(src.enrich.geo_db), ATO_BATCH__LABEL_MATURITY_DAYS="1")
    first, last = (date.fromisoformat(d) for d in BACKFILL)
    summary = run_nightly(s, date_range(first, last), ("validate", "aggregates", "training", "gate", "actions",
                                                          "publish"), spark_factory=lambda: spark)
    print("backfill seconds:", summary.seconds)
    return s, summary


def model_settings(lake: str, world: Path, root: Path, train_days: int = 4, search_trials: int = 2) -> Settings:
    """The small world has 6 matured login days: by default train 4, validate 1, test 1."""
    return load_settings(environ={
        "ATO_LAKE_ROOT": lake, "ATO_WORLD_DIR": str(world), "ATO_MODEL_DIR": str(root / "models"),
        "ATO_PATHS__REPORTS": str(root / "reports"), "ATO_HMAC_KEY": TEST_KEY,
        "ATO_BATCH__LABEL_MATURITY_DAYS": "1", "ATO_MODEL__TRAIN_DAYS": str(train_days), "ATO_MODEL__VAL_DAYS": "1",
        "ATO_MODEL__TEST_DAYS": "1", "ATO_MODEL__FOLDS": "1", "ATO_MODEL__SEARCH_TRIALS": str(search_trials)})


@pytest.fixture(scope="session")
def trained(backfilled: tuple[Settings, Any], small_world: tuple[Path, Path, Any],
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Any]:
    """A champion trained and promoted from the backfilled small world (model and serving tests)."""
    from ato.model.train_and_register import train_and_register

    s = model_settings(backfilled[0].paths.lake_root, small_world[1], tmp_path_factory.mktemp("model"))
    return s, train_and_register(s, promote=True)
