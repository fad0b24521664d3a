"""The real-time layer's logic, importable without a server, in three parts (and `keys`, the API
keys and their scopes):

- `snapshot/`: the batch side, publishing the nightly snapshot for serving (files, and Redis);
- `decide/`: one login request to one decision (enrichment, online store and speed layer, feature
  vector, decision chain, guardrails and attack mode, audit files);
- `replay/`: a recorded day fed to a running API (`ato replay`, the parity test, the benchmark).
"""
