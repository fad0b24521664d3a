"""Ingest: spool files -> bronze (typed, quarantined) -> silver (deduplicated, enriched, pseudonymized)."""
