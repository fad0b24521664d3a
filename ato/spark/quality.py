"""Great Expectations suites (expectations/<suite>.json) run on Spark DataFrames.

`run_suite` returns a verdict per expectation on a Spark or a pandas frame and, with an index
column, the ids of the failing rows. The nightly output gate counts each expectation exactly in
one Spark query (`compiled_suites.unexpected_counts`) and runs GE itself on a pandas sample of
each table (seconds, no Spark job per expectation), so GE's verdicts still land in the gate log
and catch a compiled rule that drifted from GE's meaning; the tests hold both to GE on the same rows.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"


@dataclass
class SuiteResult:
    """Outcome of one suite on one table."""

    suite: str
    success: bool
    failed: list[str] = field(default_factory=list)
    unexpected: dict[str, list[str]] = field(default_factory=dict)  # row id -> failed expectations
    details: dict[str, Any] = field(default_factory=dict)


def load_suite_spec(name: str, suites_dir: Path | None = None) -> list[dict[str, Any]]:
    """Expectation configs ({"type": ..., "kwargs": ...}) of a suite; [] when it has none."""
    path = (suites_dir or SUITES_DIR) / f"{name}.json"
    if not path.exists():
        return []
    spec = json.loads(path.read_text())
    return list(spec["expectations"])


@functools.cache
def warm_up() -> threading.Thread:
    """Import Great Expectations and make one context in a background thread, while the caller's
    Spark jobs run (the JVM does their work, so the two overlap): in a fresh process that is ~5 s the
    gate's first GE run no longer waits for. Once per process: a later gate joins the finished
    thread. A failure here is left to the real run to report."""

    def load() -> None:
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        with contextlib.suppress(Exception):
            import great_expectations as gx

            gx.get_context(mode="ephemeral")

    thread = threading.Thread(target=load, name="ge-warm-up", daemon=True)
    thread.start()
    return thread


def describe(cfg: dict[str, Any]) -> str:
    kw = cfg.get("kwargs", {})
    cols = kw.get("column") or "/".join(x for x in (kw.get("column_A"), kw.get("column_B")) if x)
    return f"expectation failed: {cfg['type']}({cols})"


def _validate(df: DataFrame | pd.DataFrame, name: str, expectations: list[dict[str, Any]],
              fmt: dict[str, Any]) -> list[Any]:
    """One GE validation run (a Spark or a pandas frame); returns the per-expectation results in order."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    import pandas as pd

    source = ctx.data_sources.add_pandas(name=f"ds_{name}") if isinstance(df, pd.DataFrame) else \
        ctx.data_sources.add_spark(name=f"ds_{name}")
    asset = source.add_dataframe_asset(name=name)
    batch_def = asset.add_batch_definition_whole_dataframe(f"batch_{name}")
    exps = [ExpectationConfiguration(type=c["type"], kwargs=c["kwargs"]).to_domain_obj() for c in expectations]
    suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=exps))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"vd_{name}", data=batch_def, suite=suite))
    results = list(vd.run(batch_parameters={"dataframe": df}, result_format=fmt).results)
    for r, cfg in zip(results, expectations, strict=True):
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{name}: {describe(cfg)}: {r.exception_info.get('exception_message')}")
    return results


def run_suite(df: DataFrame | pd.DataFrame, name: str, expectations: list[dict[str, Any]], index_column: str | None = None) -> SuiteResult:
    """Validate `df` against the expectations; with `index_column`, list failing row ids.

    A cheap SUMMARY pass first; only expectations that failed are run again in
    COMPLETE mode to collect the ids of their failing rows.
    """
    out = SuiteResult(suite=name, success=True)
    if not expectations:
        return out
    failed_cfgs = []
    for r, cfg in zip(_validate(df, name, expectations, {"result_format": "SUMMARY"}), expectations, strict=True):
        desc = describe(cfg)
        out.details[desc] = {k: r.result.get(k) for k in ("element_count", "unexpected_count", "observed_value") if k in r.result}
        if not r.success:
            out.success = False
            out.failed.append(desc)
            failed_cfgs.append(cfg)
    if index_column and failed_cfgs:
        fmt = {"result_format": "COMPLETE", "unexpected_index_column_names": [index_column],
               "return_unexpected_index_query": False}
        for r, cfg in zip(_validate(df, f"{name}_rows", failed_cfgs, fmt), failed_cfgs, strict=True):
            for item in r.result.get("unexpected_index_list") or []:
                out.unexpected.setdefault(str(item[index_column]), []).append(describe(cfg))
    return out
