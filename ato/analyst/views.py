"""The analysts' named views, defined once and registered on both engines: DuckDB over delta-rs
(no JVM, `ato.analyst.lake.connect`) and Spark SQL (`ato.analyst.lake.register_spark`, `ato sql --engine spark`).

A view is plain SQL over the lake's tables by their `<layer>_<table>` names. The few functions the
two dialects spell differently are written as `@name(args)` and rendered per engine from
`DIALECTS` (epoch milliseconds, ISO weekday, last non-null value in a window, array to text,
first array element, a date n days earlier, an exact interpolated quantile, the Monday of a date's
week), so the same view text gives the same rows on both
(`tests/spark/test_analyst_engines.py`). Column meanings: docs/data-dictionary.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

ENGINES = ("duckdb", "spark")
DIALECTS: dict[str, dict[str, str]] = {
    "duckdb": {"epoch_ms": "epoch_ms({0})", "isodow": "isodow({0})", "last_nn": "last_value({0} IGNORE NULLS)",
               "join": "array_to_string({0}, {1})", "first": "({0})[1]", "days_before": "CAST(({0}) - {1} AS DATE)",
               "quantile": "quantile_cont({0}, {1})", "week_start": "CAST(date_trunc('week', {0}) AS DATE)"},
    "spark": {"epoch_ms": "unix_millis({0})", "isodow": "(weekday({0}) + 1)", "last_nn": "last_value({0}, true)",
              "join": "array_join({0}, {1})", "first": "try_element_at({0}, 1)", "days_before": "date_sub({0}, {1})",
              "quantile": "percentile({0}, {1})", "week_start": "trunc({0}, 'week')"},
}
MACRO = re.compile(r"@(\w+)\(")


@dataclass(frozen=True)
class View:
    name: str
    doc: str
    needs: tuple[str, ...]  # the lake tables it reads (`<layer>_<table>`)
    sql: str


def _args(sql: str, start: int) -> tuple[list[str], int]:
    """The top-level comma-separated arguments of the call whose "(" is at `start`, and the index
    after its ")"."""
    depth, quote, cur = 0, False, start + 1
    args: list[str] = []
    for i in range(start, len(sql)):
        ch = sql[i]
        if ch == "'":
            quote = not quote
        elif quote:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return [*args, sql[cur:i].strip()], i + 1
        elif ch == "," and depth == 1:
            args.append(sql[cur:i].strip())
            cur = i + 1
    raise ValueError(f"unbalanced parentheses after {sql[max(0, start - 20):start + 1]!r}")


def render(sql: str, engine: str) -> str:
    """`sql` with every `@name(args)` written in `engine`'s dialect (macros may nest)."""
    if engine not in DIALECTS:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    funcs = DIALECTS[engine]
    out, pos = [], 0
    while (m := MACRO.search(sql, pos)) is not None:
        if m.group(1) not in funcs:
            raise ValueError(f"unknown SQL macro @{m.group(1)}; known: {', '.join(sorted(funcs))}")
        args, end = _args(sql, m.end() - 1)
        out += [sql[pos:m.start()], funcs[m.group(1)].format(*[render(a, engine) for a in args])]
        pos = end
    return "".join(out) + sql[pos:]


_LOGIN_ACTIVITY = """
WITH events AS (
    SELECT account_id, event_time, 1 AS kind, event_id AS sort_id, CAST(NULL AS STRING) AS pay_status
    FROM silver_logins
    UNION ALL
    SELECT account_id, event_time, 0 AS kind, event_id AS sort_id, status AS pay_status FROM silver_payments
), carried AS (
    SELECT sort_id, kind, @last_nn(pay_status) OVER w AS last_payment_status,
           @last_nn(CASE WHEN kind = 0 THEN event_time END) OVER w AS last_payment_at
    FROM events
    WINDOW w AS (PARTITION BY account_id ORDER BY event_time, kind, sort_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), prev AS (
    SELECT event_id, LAG(event_time) OVER (PARTITION BY account_id ORDER BY event_time, event_id) AS prev_time
    FROM silver_logins
)
SELECT l.event_id, l.account_id, l.device_hash, l.ip_hash, l.ip_prefix_hash,
       l.event_time AS login_time, l.event_date AS login_date, hour(l.event_time) AS login_hour,
       @isodow(l.event_time) AS login_weekday, l.outcome, l.channel, l.session_id,
       CAST(s.duration_s AS DOUBLE) AS session_duration_s, l.country, l.city, l.latitude, l.longitude, l.asn,
       l.ip_rep_category, l.device_class, l.is_automation_ua, c.last_payment_status, c.last_payment_at,
       (@epoch_ms(l.event_time) - @epoch_ms(p.prev_time)) / 1000.0 AS s_since_prev_login,
       t.label
FROM silver_logins l
JOIN carried c ON c.sort_id = l.event_id AND c.kind = 1
JOIN prev p ON p.event_id = l.event_id
LEFT JOIN silver_sessions s ON s.session_id = l.session_id
LEFT JOIN gold_training_set t ON t.event_id = l.event_id
"""

_ACCOUNT_RISK = """
WITH snap AS (
    SELECT account_id, as_of_date, logins_30d, failed_logins_30d, distinct_devices_30d, distinct_countries_30d,
           payments_30d, failed_payments_30d, days_since_failed_payment, last_login_time
    FROM gold_account_features_daily
), last_ip AS (
    SELECT account_id, event_time, min(ip_hash) AS ip_hash FROM silver_logins GROUP BY account_id, event_time
), marks AS (
    SELECT account_id, @epoch_ms(event_time) AS t_ms, 0 AS kind, event_id AS sort_id, status AS pay_status,
           CAST(NULL AS DATE) AS as_of_date
    FROM silver_payments
    UNION ALL
    SELECT account_id, @epoch_ms(CAST(as_of_date AS TIMESTAMP)) + 86400000 AS t_ms, 1 AS kind,
           CAST(as_of_date AS STRING) AS sort_id, CAST(NULL AS STRING) AS pay_status, as_of_date
    FROM snap
), pay AS (
    SELECT account_id, as_of_date, last_payment_status FROM (
        SELECT account_id, kind, as_of_date, @last_nn(pay_status) OVER (PARTITION BY account_id
               ORDER BY t_ms, kind, sort_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_payment_status
        FROM marks) m
    WHERE kind = 1
), takeovers AS (
    SELECT account_id, login_date AS day, count(*) AS n FROM gold_training_set WHERE label = 1
    GROUP BY account_id, login_date
), challenged AS (
    SELECT account_id, decided_date AS day, count(*) AS n FROM gold_decisions WHERE action <> 'allow'
    GROUP BY account_id, decided_date
), took AS (
    SELECT s.account_id, s.as_of_date, sum(t.n) AS n
    FROM snap s JOIN takeovers t ON t.account_id = s.account_id
         AND t.day BETWEEN @days_before(s.as_of_date, 29) AND s.as_of_date
    GROUP BY s.account_id, s.as_of_date
), held AS (
    SELECT s.account_id, s.as_of_date, sum(c.n) AS n
    FROM snap s JOIN challenged c ON c.account_id = s.account_id
         AND c.day BETWEEN @days_before(s.as_of_date, 29) AND s.as_of_date
    GROUP BY s.account_id, s.as_of_date
)
SELECT s.account_id, s.as_of_date, s.logins_30d, s.failed_logins_30d, s.distinct_devices_30d,
       s.distinct_countries_30d, s.payments_30d, s.failed_payments_30d, s.days_since_failed_payment,
       s.last_login_time, i.ip_hash AS last_login_ip_hash, p.last_payment_status,
       CAST(coalesce(tk.n, 0) AS BIGINT) AS takeover_logins_30d,
       CAST(coalesce(h.n, 0) AS BIGINT) AS challenged_decisions_30d,
       (coalesce(tk.n, 0) > 0 OR coalesce(h.n, 0) > 0) AS suspicious
FROM snap s
LEFT JOIN took tk ON tk.account_id = s.account_id AND tk.as_of_date = s.as_of_date
LEFT JOIN held h ON h.account_id = s.account_id AND h.as_of_date = s.as_of_date
LEFT JOIN last_ip i ON i.account_id = s.account_id AND i.event_time = s.last_login_time
LEFT JOIN pay p ON p.account_id = s.account_id AND p.as_of_date = s.as_of_date
"""

_DECISIONS_EXPLAINED = """
SELECT d.decision_id, d.event_id, d.decided_at, d.decided_date, d.account_id, d.channel, d.outcome,
       d.action, d.model_action, d.risk_score, @first(d.reasons) AS top_reason, @join(d.reasons, '; ') AS reasons,
       @join(d.guardrails, '; ') AS guardrails, d.fallback_level, d.model_version, d.snapshot_as_of,
       t.label AS later_label, t.attack_type
FROM gold_decisions d
LEFT JOIN gold_training_set t ON t.event_id = d.event_id
"""


def _passthrough(name: str, table: str, doc: str) -> View:
    return View(name, doc, (table,), f"SELECT * FROM {table}")


VIEWS: tuple[View, ...] = (
    View("login_activity", "one row per login attempt: who, from which device and IP hash, when, outcome, the "
         "session's duration, the account's last payment status at that moment, geo, and the matured label",
         ("silver_logins", "silver_payments", "silver_sessions", "gold_training_set"), _LOGIN_ACTIVITY),
    View("account_risk", "per account and as-of day: the 30-day devices, payments and failures, the last login's "
         "IP hash and payment status, takeovers and challenged decisions in the 30 days, and a suspicious flag",
         ("gold_account_features_daily", "silver_logins", "silver_payments", "gold_training_set", "gold_decisions"),
         _ACCOUNT_RISK),
    View("decisions_explained", "every real-time decision with its action, reasons in words and the label later "
         "known for its login", ("gold_decisions", "gold_training_set"), _DECISIONS_EXPLAINED),
    _passthrough("account_features", "gold_account_features_daily", "30-day account aggregates per as-of date"),
    _passthrough("ip_features", "gold_ip_features_daily", "30-day IP aggregates per as-of date"),
    _passthrough("device_features", "gold_device_features_daily", "30-day device aggregates per as-of date"),
    _passthrough("training_rows", "gold_training_set", "point-in-time features and matured label per login"),
    _passthrough("daily_performance", "gold_model_performance_daily",
                 "decisions joined with labels per day, model version and fallback level"),
    _passthrough("daily_business", "gold_business_daily", "business metrics per decided day (all traffic)"),
    _passthrough("rings", "gold_fraud_rings", "fraud rings per night"),
    _passthrough("ring_nights", "gold_ring_nights", "what each ring night found: rings, none, or too few cases to look"),
)
BY_NAME = {v.name: v for v in VIEWS}


def available(tables: set[str]) -> tuple[list[View], dict[str, list[str]]]:
    """The views whose tables all exist, and for the others the tables they miss."""
    ok, missing = [], {}
    for v in VIEWS:
        lacks = [t for t in v.needs if t not in tables]
        if lacks:
            missing[v.name] = lacks
        else:
            ok.append(v)
    return ok, missing


def register_duckdb(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, list[str]]:
    """Create every view whose tables exist on `con`; returns the skipped ones and what they lack."""
    ok, missing = available(tables)
    for v in ok:
        con.execute(f"CREATE OR REPLACE VIEW {v.name} AS {render(v.sql, 'duckdb')}")
    return missing
