"""Console summaries for people: the rich tables printed at the end of `ato simulate`,
`ato ingest`, `ato nightly` and `ato train` (never with --json)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from ato.settings import Settings
from ato.simulator.config import SimulatorConfig
from ato.simulator.run import SimulationSummary

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ato.gates import Check
    from ato.nightly import NightlySummary
    from ato.spark.ingest import IngestSummary


def print_simulation(cfg: SimulatorConfig, s: SimulationSummary, out: Path, world: Path) -> None:
    con = Console()
    t = Table(title=f"simulated {cfg.accounts} accounts x {cfg.days} days (seed {cfg.seed}) -> {out}")
    t.add_column("stream")
    t.add_column("rows", justify="right")
    for k, v in s.rows.items():
        t.add_row(k, f"{v:,}")
    con.print(t)
    a = Table(title=f"attack campaigns (ground truth in {world}, never in the spool)")
    for col in ("attack type", "campaigns", "attacker logins", "accounts compromised"):
        a.add_column(col, justify="right" if col != "attack type" else "left")
    for k in sorted(s.campaigns):
        a.add_row(k, str(s.campaigns[k]), f"{s.attack_logins.get(k, 0):,}", str(s.compromised.get(k, 0)))
    con.print(a)
    spoilt = ", ".join(f"{k} {v}" for k, v in s.malformed.items() if v)
    if spoilt:
        con.print(f"rows spoilt on purpose (ingest must quarantine them): {spoilt}")
    share = sum(s.attack_logins.values()) / max(1, s.rows["logins"])
    con.print(f"attacker logins: {share:.2%} of all logins; {s.files} files written")


def print_ingest(s: IngestSummary, spark: SparkSession, settings: Settings) -> None:
    from ato.spark import lake

    con = Console()
    if s.ingest_id is None:
        con.print(f"nothing new to ingest ({s.skipped_files} files already ingested)")
    t = Table(title=f"lake tables under {settings.paths.lake_root} (batch {s.ingest_id})")
    for col in ("table", "rows in this batch", "rows in table"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for layer in ("bronze", "silver"):
        for stream in ("logins", "sessions", "payments", "account_changes", "labels", "ip_reputation", "quarantine"):
            path = settings.table_path(layer, stream)
            if not lake.exists(spark, path):
                continue
            batch = s.quarantined_rows if stream == "quarantine" else s.bronze_rows.get(stream)
            t.add_row(f"{layer}/{stream}", f"{batch:,}" if batch is not None and layer == "bronze" else "",
                      f"{lake.read(spark, path).count():,}")
    con.print(t)
    if s.quarantined:
        q = Table(title="quarantined rows by reason (this batch)")
        q.add_column("stream: reason")
        q.add_column("rows", justify="right")
        for k, v in sorted(s.quarantined.items(), key=lambda kv: -kv[1]):
            q.add_row(k, f"{v:,}")
        con.print(q)
    else:
        con.print("no rows quarantined in this batch")
    if s.erased_rows:
        con.print(f"{s.erased_rows:,} rows of erased accounts (`ato forget`), dated up to their erasure or undated, dropped")
    for alert in s.alerts:
        con.print(f"[bold red]ALERT[/bold red] {alert}: downstream quality gates will block this data")


def _rings(nights: dict[str, Any]) -> str:
    """The ring nights in a line: how many found rings, and the last one's rings and threshold."""
    found = {d: n for d, n in nights.items() if "skipped" not in n}
    if not found:
        return f"{len(nights)} night(s), none with enough cases" if nights else ""
    d, last = max(found.items())
    return (f"{len(found)} of {len(nights)} night(s) found rings; {d}: {last.get('rings', 0)} rings, "
            f"{last.get('accounts_in_rings', 0):,} accounts, threshold {last.get('threshold')}, "
            f"{last.get('known_cases')} cases")


def print_nightly(s: NightlySummary | None, checks: list[Check]) -> None:
    """Per-step wall times and rows, then the gate verdicts (failures first)."""
    con = Console()
    if s is not None:
        t = Table(title=f"nightly {s.dates[0]}" + (f" .. {s.dates[-1]}" if len(s.dates) > 1 else ""))
        t.add_column("step")
        t.add_column("seconds", justify="right")
        t.add_column("result")
        def _span(ds: list[str]) -> str:
            return (ds[0] + (f" .. {ds[-1]}" if len(ds) > 1 else "")) if ds else "-"

        def _passed(gate: str) -> str:
            mine = [c for c in checks if c.gate == gate]
            return f"{sum(c.passed for c in mine)}/{len(mine)} checks passed"

        def _monitor(m: dict[str, Any]) -> str:
            page = Path(m["drift_page"]).name if m.get("drift_page") else \
                f"failed ({m['drift_page_error']})" if m.get("drift_page_error") else "none"
            return f"{m.get('decision_days', 0)} decision days; drift page {page}"

        result = {
            "ingest": f"{s.ingested_files} new files",
            "decisions": ", ".join(f"{d} {n:,}" for d, n in s.decisions.items()) + " decisions"
                         + (f"; {s.decisions_erased:,} of erased accounts left out" if s.decisions_erased else ""),
            "monitor": _monitor(s.monitor),
            "validate": _passed("input"),
            "rings": _rings(s.rings),
            "aggregates": f"partials for {len(s.partial_days)} days; snapshots "
                          + ", ".join(f"{k} {v:,}" for k, v in s.snapshot_rows.items())
                          + "".join(f"; key rotation, {what}: " + ", ".join(f"{k} {_span(v)}" for k, v in per.items())
                                    for what, per in s.rehash.items() if per),
            "training": f"{s.training_rows:,} rows for logins of {_span(s.training_dates)}",
            "gate": _passed("output"),
            "actions": f"{s.action_rows:,} sensitive-action rows",
            "publish": f"live: {s.published}",
            "report": f"{s.report}",
        }
        for step in s.steps:
            t.add_row(step, f"{s.seconds.get(step, 0):.1f}", result.get(step, ""))
        con.print(t)
    bad = [c for c in checks if not c.passed]
    for c in bad:
        con.print(f"[bold red]FAILED[/bold red] {c.as_of_date} {c.gate}/{c.name}: observed {c.observed}, expected {c.bounds}")


SHOWN = ("pr_auc", "roc_auc", "precision", "recall", "f1", "recall_at_1pct_stepup", "false_lock_rate")


def print_metrics(m: dict[str, Any]) -> None:
    """The test table of `ato train`: one row per scorer, bootstrap intervals, then recall at 1%
    step-up by attack type."""
    print(f"\ntest {m['window']['test'][0]}..{m['window']['test'][1]}, against {m['evaluated_against']}")
    print(f"{'scorer':<12}" + "".join(f"{c:>22}" for c in SHOWN))
    for name, r in m["test"].items():
        print(f"{name:<12}" + "".join(f"{'-' if r[c] is None else format(r[c], '.4f'):>22}" for c in SHOWN))
    b = m.get("test_bootstrap")
    if b:
        print(f"\n{b['level']:.0%} intervals, resampling the {b['positives']} test takeovers {b['resamples']} times:")
        for name in m["test"]:
            key = name if name == "model" else f"model_minus_{name}"
            print(f"  {key:<24} PR-AUC [{b[key]['pr_auc_ci'][0]:+.3f}, {b[key]['pr_auc_ci'][1]:+.3f}]"
                  f"  recall@1% [{b[key]['recall_at_1pct_stepup_ci'][0]:+.3f}, {b[key]['recall_at_1pct_stepup_ci'][1]:+.3f}]")
    types = sorted({t for r in m["test"].values() for t in r.get("recall_by_attack_type", {})})
    print(f"\nrecall at 1% step-up by attack type (n = takeovers in test)\n{'type':<22}{'n':>5}"
          + "".join(f"{n:>13}" for n in m["test"]))
    for t in types:
        by = {n: r["recall_by_attack_type"].get(t, {}) for n, r in m["test"].items()}
        n_pos = by["model"].get("n", 0)
        print(f"{t:<22}{n_pos:>5}" + "".join(f"{b.get('recall_at_1pct_stepup', 0):>13.3f}" for b in by.values()))


def print_evaluation(doc: dict[str, Any]) -> None:
    """`ato evaluate`: takeovers per window, then every goal (pooled, with its interval) met or not."""
    from ato.report.evaluation import cell

    for w in doc["windows"]:
        c = w["counts"]
        print(f"test {w['test'][0]}..{w['test'][1]}: {c['takeovers']} takeovers {c['takeovers_by_type']}, "
              f"{c['campaigns']} campaigns, {c['legit']:,} legit logins "
              f"({c.get('legit_successful', c['legit']):,} successful: the challenge rate's denominator)")
    print(f"pooled: {doc['pooled']['counts']['takeovers']} takeovers {doc['pooled']['counts']['takeovers_by_type']}\n")
    for g in doc["goals"]:
        value = cell({"value": g["value"], "ci": g.get("ci")}) if isinstance(g["value"], float) else g["value"]
        beats = f"  vs {g['beats']}" if g.get("beats") else ""
        print(f"{'met    ' if g['met'] else 'NOT met'}  {g['what']}: {value} (goal {g['goal']}){beats}")
