"""Settings of the scoring service: sections `serving` (store, budget, breaker, shedding, audit, clock),
`speed` (the speed layer's windows and memory bounds), `api` (named keys and scopes, the admin port,
where /metrics and the docs live, body limits, readiness) and `policy` (the guardrails file,
attack-mode thresholds) of `ato.settings.Settings`.

Kept apart from `ato.settings` (which imports them) so that module stays one screen of loading logic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ato.conf_section import Section

Scope = Literal["score", "events", "feedback", "admin"]
SCOPES: tuple[Scope, ...] = ("score", "events", "feedback", "admin")


class NamedKeyConf(Section):
    """One API key as conf holds it: a name (audited), its scopes and the SHA-256 of the secret."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Recorded in the audit log and the spool.")
    scopes: list[Scope] = Field(min_length=1, description="What the key may call: score, events, feedback, admin.")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 hex of the secret "
                                                                  "(`printf %s KEY | sha256sum`).")


class ApiConf(Section):
    """Who may call what, and what the public port shows. Keys: ATO_API_KEYS (environment, see README
    "Key scopes"), `serving.api_key_sha256` (all scopes) and `keys` here (named, scoped, hashed)."""

    keys: list[NamedKeyConf] = Field(default_factory=list, description="Named keys with scopes (hashes only).")
    admin_port: int | None = Field(None, ge=1, le=65535, description="A second port for /metrics and the docs "
                                                                     "when `metrics`/`docs` say admin_port.")
    admin_host: str = Field("127.0.0.1", description="Interface of the admin port (keep it off the public network).")
    metrics: Literal["admin_scope", "admin_port", "off"] = Field(
        "admin_scope", description="/metrics on the public port for keys with the admin scope, only on the admin "
                                   "port (no key: the port itself is the boundary), or nowhere.")
    docs: Literal["public", "admin_port", "off"] = Field(
        "public", description="/docs and /openapi.json on the public port (no key), on the admin port, or nowhere.")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest body of /v1/score and /v1/feedback; "
                                                                "above it: 413 before any parsing.")
    max_events_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest body of /v1/events "
                                                                             "(1,000 records per stream).")
    ready_max_level: int = Field(1, ge=0, le=2, description="/readyz says ready while the chain reaches this level "
                                                            "or better (0 model, 1 fallback model, 2 rules).")

    @model_validator(mode="after")
    def _admin_port_when_used(self) -> ApiConf:
        if self.admin_port is None and "admin_port" in (self.metrics, self.docs):
            raise ValueError("metrics or docs is 'admin_port' but api.admin_port is not set")
        return self


class PolicyConf(Section):
    """What holds on top of the model: guardrails (hard limits, `guardrails` file) and attack mode.
    Attack counts decay exponentially with time constant `attack_window_s` (a steady rate r reads as
    about r x window); they are per worker process. README "Attack mode" anchors the defaults."""

    guardrails: str = Field("conf/guardrails.yaml", description="Guardrails: conditions that raise the action "
                                                                "at every level of the chain.")
    attack_window_s: float = Field(300.0, gt=0, description="Time constant of the attack counters (seconds).")
    attack_min_attempts: float = Field(200.0, ge=1, description="Global signal: attempts (decayed) before the "
                                                                "failure ratio means anything.")
    attack_failure_ratio: float = Field(0.5, gt=0, le=1, description="Global signal: failed share of attempts that "
                                                                     "starts attack mode (normal: ~5 %).")
    attack_new_ip_rate: float = Field(0.6, gt=0, le=1, description="Global signal: share of attempts from an IP new "
                                                                   "to the account ...")
    attack_new_ip_failure_ratio: float = Field(0.25, gt=0, le=1, description="... with at least this failed share.")
    attack_prefix_min_failures: float = Field(20.0, ge=1, description="A /24 whose failures (decayed) reach this ...")
    attack_asn_min_failures: float = Field(100.0, ge=1, description="An ASN whose failures (decayed) reach this ...")
    attack_network_failure_ratio: float = Field(0.6, gt=0, le=1, description="... at this failed share is attacking.")
    attack_asn_categories: list[str] = Field(["hosting", "proxy", "tor"], description="An ASN is counted and "
                                             "flagged only from logins whose IP reputation category is one of these "
                                             "(datacenter networks); elsewhere only the /24 is.")
    attack_hold_s: float = Field(120.0, ge=0, description="A trigger stays on this long after it last held.")
    attack_tier_scale: float = Field(0.5, gt=0, le=1, description="In global attack mode, a successful login's "
                                                                  "model thresholds are multiplied by this.")
    attack_max_networks: int = Field(50_000, ge=100, description="Networks tracked at most (idle ones evicted).")
    attack_eval_s: float = Field(1.0, gt=0, description="How often the global signal and expiries are evaluated.")


class ServingConf(Section):
    """The real-time layer (`ato serve`). /v1/events and /v1/feedback append to `paths.spool`, which
    the nightly ingest reads. Keys, scopes, ports and limits: section `api` (`ato.serving_conf`)."""

    open_file_stale_s: float = Field(
        3600.0, gt=0, description="An in-progress (`.open-*`) spool or audit file of a past day that no one wrote "
                                  "for this long is closed by its reader (the nightly ingest, the decisions step): "
                                  "its writer crashed. A live writer closes its own after 5 minutes idle.")
    store: Literal["embedded", "redis"] = Field(
        "embedded", description="Online store and speed layer: the published snapshot and counters in process "
                                "(one worker), or Redis (several workers; load it with `ato publish --to redis`).")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for store=redis.")
    snapshot_replica: bool = Field(
        True, description="With store=redis, each worker also holds the published snapshot files in memory (as the "
                          "embedded store does; memory: the snapshot's size per worker), so when Redis fails or is "
                          "slower than store_timeout_ms the primary model still decides, on the replica's rows and "
                          "the worker's own velocities, instead of the fallback model (README \"Fallback chain\").")
    workers: int = Field(1, ge=1, description="Worker processes serving (set by `ato serve --workers N` through "
                                              "ATO_SERVING__WORKERS): velocities a worker counted alone are read "
                                              "times this by the guardrails (an estimate of the shared count).")
    budget_ms: float = Field(25.0, gt=0, description="Latency budget of one decision; when the store has eaten it, "
                                                     "the fallback model answers.")
    store_timeout_ms: float = Field(8.0, gt=0, description="A store lookup slower than this counts as a store failure.")
    breaker_failures: int = Field(5, ge=1, description="Consecutive store failures that open the circuit breaker.")
    breaker_open_s: float = Field(5.0, gt=0, description="How long an open breaker skips the store before one trial call.")
    max_in_flight: int = Field(64, ge=1, description="Requests in flight above this are shed straight to the rules.")
    shed_lag_ms: float = Field(10.0, gt=0, description="... or when the event loop runs this far behind (requests queue).")
    reload_s: float = Field(5.0, gt=0, description="How often a new snapshot, reputation feed or champion is looked for.")
    max_snapshot_age_h: float = Field(0.0, ge=0, description="/readyz: a snapshot whose day ended longer ago than this "
                                                             "keeps the level off 0 (0: not checked; demo data is old).")
    reasons: int = Field(3, ge=0, le=10, description="Reasons returned with a decision other than allow.")
    shadow: bool = Field(False, description="Also score the registry's challenger (`ato shadow V`) on every decision "
                                            "the champion makes at level 0, on the same vector; its score and action "
                                            "go to the audit log only, never into the answer (README \"Shadow "
                                            "challenger\").")
    shadow_skip_after_ms: float = Field(5.0, gt=0, description="... skipped for a decision that has taken longer than "
                                                               "this already (bounds what the shadow adds to the "
                                                               "slow tail; skips are counted).")
    audit_features: bool = Field(True, description="Keep each decision's feature vector in the audit log "
                                                   "(gold/decisions), so analysts see what the model saw.")
    audit_dir: str = Field("data/serving/audit", description="Append-only decision log, one file per worker and day.")
    api_key_sha256: list[str] = Field(default_factory=list, description="SHA-256 hex of accepted API keys "
                                                                        "(all scopes; named keys: api.keys).")
    clock: Literal["system", "replay"] = Field(
        "system", description="Server time, which prunes the speed layer and bounds event times: `system` (the "
                              "machine's clock) or `replay` (the newest event time seen; for replays of recorded "
                              "days and tests only: it trusts the events' times, and files each audit line under its event's "
                              "day).")
    max_event_age_h: float = Field(168.0, gt=0, description="A login whose event_time is more than this before server "
                                                            "time is refused (422 naming event_time).")
    max_event_lead_s: float = Field(300.0, ge=0, description="... or more than this after it (with `clock: replay`, "
                                                             "after the machine's clock).")


class SpeedConf(Section):
    """The in-process speed layer (embedded store, and every worker's own counters) and the Redis one:
    exact windows per key up to a cap, coarse buckets past it, a global memory bound."""

    key_events: int = Field(10_000, ge=1, description="Events kept exactly per key (account, IP, /24, device); "
                                                      "older ones in the last 24 h are folded into coarse buckets, "
                                                      "which make that key's counts upper bounds (README).")
    bucket_s: int = Field(10, ge=1, le=3600, description="Width of a coarse bucket (seconds, aligned to the epoch).")
    late_s: int = Field(900, ge=0, le=86_400, description="Events are kept this long past the longest window (server "
                                                          "time), so a login dated up to this far back still gets "
                                                          "exact windows.")
    max_keys: int = Field(500_000, ge=10, description="Keys held in process (all kinds; ~0.7-0.9 KB each); past it "
                                                      "the least recently used are evicted.")
    max_events: int = Field(4_000_000, ge=100, description="Events and coarse buckets held in process, all keys "
                                                           "together (20-80 B each; also the event ids remembered "
                                                           "for deduplication); past it the least recently used keys "
                                                           "are evicted.")
    recent_values: int = Field(64, ge=1, description="Per account and day, the devices, IPs, countries and ASNs of its "
                                                     "successful logins kept (each); a value past it reads as new.")
    erasure_grace_s: float = Field(3.0, ge=0, le=600, description="`ato forget` sweeps an account's Redis keys and "
                                                                  "window members again this long after the first "
                                                                  "sweep, for what a login racing the erasure wrote "
                                                                  "(longer than a write takes to reach Redis).")
