"""What fraud analysts use: the lake as DuckDB views without a JVM (`lake`), the named views
defined once for DuckDB and Spark SQL (`views`), the saved-query catalog in `queries/`
(`catalog`), the generated data dictionary (`dictionary`) and the insights report."""

from ato.analyst.lake import ACCESS_LOG, connect, is_raw, list_tables, log_raw_access

__all__ = ["ACCESS_LOG", "connect", "is_raw", "list_tables", "log_raw_access"]
