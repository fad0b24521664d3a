"""Recorded logins sent to a running API: `feed` replays a day (used by `ato replay`, the parity
test and the serving benchmark); `run` is `ato replay` (starts the service on the eve's snapshot,
feeds the day, prints a few decisions picked with the simulator's ground truth)."""
