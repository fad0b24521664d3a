"""Spark adapters around the `ato` core: session, Delta I/O, validation and enrichment as
column expressions. Importing these modules imports pyspark; nothing else in `ato` does."""
