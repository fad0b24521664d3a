"""The 30-day aggregates as plain DuckDB SQL straight over silver (no partials, no JVM).

An independent second computation: tests hold Spark's incremental snapshot equal to it,
and benchmarks/nightly.py times it against Spark. Views are the `ato sql` ones
(`silver_logins`), so an analyst can run the same query.
"""

from __future__ import annotations

from datetime import date

import duckdb


def _window(as_of: date) -> str:
    return f"event_date BETWEEN DATE '{as_of.isoformat()}' - INTERVAL 29 DAY AND DATE '{as_of.isoformat()}'"


def account_sql(as_of: date) -> str:
    return f"""
SELECT account_id, DATE '{as_of.isoformat()}' AS as_of_date,
       count(*) AS logins_30d,
       count(*) FILTER (WHERE outcome <> 'success') AS failed_logins_30d,
       count(DISTINCT device_hash) AS distinct_devices_30d,
       count(DISTINCT ip_hash) AS distinct_ips_30d,
       count(DISTINCT country) AS distinct_countries_30d,
       count(DISTINCT asn) AS distinct_asns_30d,
       count(DISTINCT event_date) AS days_active_30d
FROM silver_logins WHERE {_window(as_of)}
GROUP BY account_id"""


def entity_sql(key: str, as_of: date) -> str:
    """IP (`ip_hash`) or device (`device_hash`) 30-day aggregates."""
    return f"""
SELECT {key}, DATE '{as_of.isoformat()}' AS as_of_date,
       count(*) AS attempts_30d,
       count(*) FILTER (WHERE outcome <> 'success') AS failures_30d,
       count(DISTINCT account_id) AS distinct_accounts_30d,
       count(DISTINCT event_date) AS days_active_30d
FROM silver_logins WHERE {_window(as_of)} AND {key} IS NOT NULL
GROUP BY {key}"""


def aggregates(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, list[tuple[object, ...]]]:
    """Account, IP and device aggregates as of a date, fully computed (rows fetched)."""
    return {
        "account": con.sql(account_sql(as_of)).fetchall(),
        "ip": con.sql(entity_sql("ip_hash", as_of)).fetchall(),
        "device": con.sql(entity_sql("device_hash", as_of)).fetchall(),
    }
