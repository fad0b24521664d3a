"""Quality gates of the nightly run. The input gate refuses a broken day before anything is
built from it; the output gate (ato.spark.gold) checks what was built before it is published.
Input checks read the lake through delta-rs + DuckDB: no JVM needed to say no.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from ato import deltars
from ato.settings import Settings
from ato.tables import CHECKS, LOGINS, QUARANTINE


@dataclass(frozen=True)
class Check:
    """One gate check: what was measured, against what bounds, and the verdict."""

    as_of_date: str
    gate: str  # input | output
    name: str
    passed: bool
    observed: float | None
    bounds: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class GateFailed(RuntimeError):
    """A gate refused the night; nothing was published and built tables were restored."""

    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks
        bad = [f"{c.as_of_date} {c.gate}/{c.name}: observed {c.observed}, expected {c.bounds}" for c in checks if not c.passed]
        super().__init__("quality gate failed: " + "; ".join(bad))


def _daily_counts(settings: Settings, layer: str, table: str, first: date, last: date,
                  stream: str | None = None) -> dict[date, int]:
    """Rows per event_date in [first, last] of a Delta table (partition-pruned read), only
    those of `stream` when given (quarantine); {} when there is no table yet."""
    import pyarrow.compute as pc

    of_stream = pc.field("stream") == stream if stream else None
    try:
        tbl = deltars.read_dates(settings, layer, table, "event_date", first, last, ["event_date"], of_stream)
    except deltars.NoTable:
        return {}
    counts = tbl.group_by("event_date").aggregate([("event_date", "count")])
    return dict(zip(counts["event_date"].to_pylist(), counts["event_date_count"].to_pylist(), strict=True))


def silver_dates(settings: Settings) -> list[date]:
    """Event dates that silver logins hold, from the Delta log (no data read)."""
    return deltars.partition_dates(settings, "silver", LOGINS, "event_date")


def input_checks(settings: Settings, day: date) -> list[Check]:
    """Is day D's input fit to build on? Quarantine share and row count vs the trailing days."""
    g = settings.gates
    lo = day - timedelta(days=g.row_count_lookback_days)
    silver = _daily_counts(settings, "silver", LOGINS, lo, day)
    bronze = _daily_counts(settings, "bronze", LOGINS, day, day).get(day, 0)
    quarantined = _daily_counts(settings, "bronze", QUARANTINE, day, day, stream=LOGINS).get(day, 0)
    n = silver.get(day, 0)
    d = day.isoformat()
    share = quarantined / (bronze + quarantined) if bronze + quarantined else 0.0
    checks = [
        Check(d, "input", "logins_present", n > 0, float(n), "> 0"),
        Check(d, "input", "quarantine_share_logins", share <= g.max_quarantine_share, round(share, 6),
              f"<= {g.max_quarantine_share}"),
    ]
    before = [v for k, v in silver.items() if k < day]
    if before:
        ratio = n / statistics.median(before)
        checks.append(Check(d, "input", "logins_vs_trailing_median", g.row_count_min_ratio <= ratio <= g.row_count_max_ratio,
                            round(ratio, 4), f"[{g.row_count_min_ratio}, {g.row_count_max_ratio}]"))
    return checks


def run_id(dates: list[date]) -> str:
    """The label a run's checks carry: its as-of date, or `first..last` for a backfill."""
    return dates[0].isoformat() if len(dates) == 1 else f"{dates[0]}..{dates[-1]}"


def ratio_check(as_of: date, name: str, rows: int, previous: int | None, lo: float, hi: float) -> Check | None:
    """Day-over-day row-count bound; None when there is no previous day to compare with."""
    if not previous:
        return None
    r = rows / previous
    return Check(as_of.isoformat(), "output", name, lo <= r <= hi, round(r, 4), f"[{lo}, {hi}]")


def log_checks(settings: Settings, run: str, checks: list[Check], txn: tuple[str, int] | None = None) -> None:
    """Append the verdicts to gold/nightly_checks (delta-rs, no JVM): the gate's history,
    kept even when the night itself is rolled back. With `txn` (the run's commit tag and the
    step's number) a retried task logs its verdicts once."""
    if not checks:
        return
    from datetime import UTC, datetime

    import pyarrow as pa

    now = datetime.now(UTC)
    rows = [{"run": run, **c.as_dict(), "logged_at": now} for c in checks]
    schema = pa.schema([("run", pa.string()), ("as_of_date", pa.string()), ("gate", pa.string()), ("name", pa.string()),
                        ("passed", pa.bool_()), ("observed", pa.float64()), ("bounds", pa.string()),
                        ("logged_at", pa.timestamp("us", tz="UTC"))])
    deltars.write(settings, "gold", CHECKS, pa.Table.from_pylist(rows, schema=schema), mode="append", txn=txn)
