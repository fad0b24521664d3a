"""From one login request to one decision: `enrich` (the request as silver enriches a login),
`store`/`redis_store` (snapshot rows and the speed layer, behind one interface, with the shared
records in `records`), `vector` (the feature vector), `chain` (model, fallback model, rules; circuit
breaker), `policy` (on top of the chain: `guardrails`, hard limits, and `attack`, attack mode) and
`appender` (the audit log and the spool files the API writes)."""
