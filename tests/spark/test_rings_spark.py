"""The Spark ring step's pieces give what the pandas finder gives: the same candidate pairs with the
same counts, and the same components as scipy (README "Fraud rings")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ato.rings.candidates import candidate_pairs as pandas_pairs
from ato.rings.components import scipy_components
from ato.rings.profile import hashed_activity, link_values, pseudonymous_profiles
from ato.simulator.ring_world import build_ring_world
from ato.spark.rings import candidate_pairs, components

pytestmark = pytest.mark.spark
KEY = b"test-key-for-rings-0123456789abc"


def test_candidate_pairs_on_spark_equal_the_pandas_ones(spark: Any) -> None:
    world = build_ring_world(accounts=1500, seed=3)
    links = link_values(pseudonymous_profiles(world.profiles, KEY), hashed_activity(world.activity, KEY))
    caps = {"name_token": 20, "address_key": 20, "email_domain": 60}
    expected = pandas_pairs(links, caps, 50).sort_values(["a", "b"]).reset_index(drop=True)
    got: pd.DataFrame = candidate_pairs(spark.createDataFrame(links), caps, 50).toPandas()
    got = got.sort_values(["a", "b"]).reset_index(drop=True)
    assert len(expected) > 1000
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False, check_exact=False, rtol=1e-9)


def test_sql_components_equal_scipy(spark: Any) -> None:
    rng = np.random.default_rng(5)
    nodes = [f"n{i:04d}" for i in range(400)]
    edges = [(nodes[i], nodes[j]) for i, j in rng.integers(0, 400, (300, 2)) if i != j]
    edges += [(nodes[i + 1], nodes[i]) for i in range(200, 260)]  # a 60-hop chain, written backwards
    e = pd.DataFrame(edges, columns=["a", "b"])
    labels: pd.DataFrame = components(spark, spark.createDataFrame(e)).toPandas()
    got = labels.set_index("account_id")["label"].sort_index()
    assert got.equals(scipy_components(e).sort_index().astype(object).rename("label").rename_axis("account_id"))
