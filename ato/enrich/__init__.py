"""Enrichment that needs no JVM: user-agent parsing, IP/CIDR arithmetic."""
