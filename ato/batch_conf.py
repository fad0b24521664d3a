"""Settings of the batch layer: sections `spark`, `ingest`, `enrich`, `batch`, `gates`, `labels` and
`monitor` of `ato.settings.Settings`, kept apart (as `ato.model_conf`) so that module stays its loading
logic."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ato.conf_section import Section


class SparkConf(Section):
    master: str = Field("local[*]", description="Spark master URL (local[*], yarn, spark://...).")
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions.")
    driver_memory: str = Field("4g", description="spark.driver.memory for local runs.")
    log_level: Literal["ERROR", "WARN", "INFO"] = Field("ERROR", description="Spark log level.")
    submit: bool = Field(False, description="DAG tasks that start Spark run their spark_jobs/ entry point "
                                            "through spark-submit (master, jars, logging from these settings) "
                                            "instead of `python -m ato.cli`.")
    deploy_mode: Literal["client", "cluster"] = Field(
        "client", description="spark-submit --deploy-mode. client: the driver runs in the task, whose last "
                              "stdout line (the --json document) the nightly gate needs; cluster: on the cluster "
                              "(YARN, Kubernetes; Spark standalone runs no Python driver in cluster mode).")
    codegen: bool = Field(True, description="Whole-stage code generation and compiled expressions. Off (everything "
                                            "interpreted, as Spark's own test suite runs) pays only on tiny data, "
                                            "such as the test suite's small world, where compiling the generated "
                                            "Java costs more than the rows; keep it on for a real night. "
                                            "Spark's catalog API (spark.catalog.listTables) cannot decode its "
                                            "results this way; ato uses SQL (SHOW VIEWS) instead.")
    adaptive: bool = Field(True, description="spark.sql.adaptive.enabled: re-plan joins and shuffles from runtime "
                                             "sizes. Off saves the re-planning on tiny data (the test suite).")
    java_options: str = Field(
        "", description="JVM options of the driver and the executors of every Spark job but an ingest-only one. "
                        "Empty: the JVM's tiered JIT, whose optimising C2 compiler pays back over a night's "
                        "aggregates (1 M logins, back to back: a first night 107 s against 157 s with C1 only).")
    class_archive: str = Field(
        "auto", description="The class-data-sharing archive of Spark's classes that every JVM we launch maps "
                            "(ato.spark.class_archive; `make setup` builds it): auto = <virtualenv>/share/ato/"
                            "spark-classes.jsa, off = none, or a path. A JVM starting a session and reading a Delta "
                            "table: 9-11 s with it, 14-15 s without (2 cores). Executors get it on local and "
                            "loopback standalone masters only.")
    nio_local_fs: bool = Field(
        True, description="Hadoop's local file system through java.nio (ato.spark.localfs; `make setup` builds its "
                          "jar) instead of a `chmod` or `readlink` child process per file Hadoop creates or "
                          "renames: 20 Delta appends 10.6-11.0 s -> 8.6-8.9 s. Local and loopback masters only.")
    write_threads: int = Field(
        3, ge=1, description="Independent Delta writes of one step (the three daily partials, the three snapshots, "
                             "ingest's bronze streams and silver streams, the monitor's daily tables, the rings' "
                             "two tables) run this many at a time in the one session; 1: one after another.")
    ingest_java_options: str = Field(
        "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m",
        description="JVM options instead of java_options when ingest is the only Spark step of the process "
                    "(`ato ingest`, `ato nightly --steps ingest`: the DAG's ingest task). The default stops the "
                    "JIT at its quick C1 compiler: an ingest runs many short queries, and C2 spent more CPU "
                    "compiling Spark's generated Java than the queries ran (1 M logins on 2 cores: 193 s -> 169 s); "
                    "C1 fills more code cache than its 48 MB default.")


class IngestConf(Section):
    max_quarantine_fraction: float = Field(0.5, gt=0, le=1, description="Above this share of quarantined rows "
                                                                       "a stream raises an alert.")
    max_future_skew_hours: float = Field(24, ge=0, description="Quarantine events this far ahead.")
    min_event_time: str = Field("2000-01-01T00:00:00Z", description="Quarantine older events.")
    hash_memo_settle_s: float = Field(
        2.0, ge=0, description="A spool file changed less than this before a scan is hashed again at the next "
                               "(ato.ingest.hash_memo); raise it where file times are coarser (FAT: 2 s)."
    )


class EnrichConf(Section):
    geo_db: str = Field("data/world/ip_geo.csv", description="Offline CIDR -> geo/ASN CSV.")


class BatchConf(Section):
    label_maturity_days: int = Field(
        14, ge=0, description="Logins of day L enter the training set on night L + this, labelled as known then."
    )
    rebuild_partials_days: int = Field(
        2, ge=1, description="Each night re-derives the daily partials of this many latest days (late events), "
        "and publish folds the action states on from the snapshot published this many days before."
    )
    fold_processes: int = Field(
        0, ge=0, description="Processes folding the accounts' sensitive-action histories (the actions step and "
                             "publish's action states; pure Python, forked): 0 means one per CPU core."
    )
    lock_wait_s: float = Field(
        0.0, ge=0, description="One writer at a time: a run that finds the lake's writer lock held waits this long "
                               "for it (0: refuses at once, naming the holder)."
    )


class GatesConf(Section):
    max_quarantine_share: float = Field(
        0.05, gt=0, le=1, description="Input gate: a day whose share of quarantined logins exceeds this is refused."
    )
    row_count_min_ratio: float = Field(
        0.5, gt=0, description="Input gate: the day's silver logins over the trailing median must reach this."
    )
    row_count_max_ratio: float = Field(
        10.0, gt=1, description="Input gate: ... and must not exceed this (generous: attacks spike volume)."
    )
    row_count_lookback_days: int = Field(7, ge=1, description="Days in the trailing median for the row-count bound.")
    snapshot_min_ratio: float = Field(0.5, gt=0, description="Output gate: a snapshot's rows over the previous "
                                                             "day's must reach this ...")
    snapshot_max_ratio: float = Field(10.0, gt=1, description="... and must not exceed this.")
    ge_sample_rows: int = Field(5000, ge=0, description="Output gate: Great Expectations validates the gold suites on "
                                                         "this many random rows per table (0: off); exact counts "
                                                         "come from the compiled suites either way.")


class LabelsConf(Section):
    weights: dict[str, float] = Field(
        default_factory=lambda: {"analyst": 1.0, "chargeback": 1.0, "step_up_passed": 1.0,
                                 "customer_report": 0.7, "account_window": 0.5, "unreported": 1.0},
        description="Training weight of a row by where its label came from (noisier sources weigh less).",
    )


class MonitorConf(Section):
    outcome_days: int = Field(120, ge=1, description="Monitor: decisions of this many latest days are joined again "
                                                     "with the labels known each night (chargebacks come ~120 days late).")
    maturity_lookback_days: int = Field(180, ge=1, description="Monitor: takeover labels reported in this many days "
                                                               "give the delay distribution behind label_maturity.")
    psi_threshold: float = Field(0.2, gt=0, description="Monitor: a feature, the score or an attack mix drifted when its "
                                                         "PSI against the reference exceeds this ...")
    ks_threshold: float = Field(0.1, gt=0, le=1, description="... or when its two-sample KS statistic exceeds this.")
    min_decisions: int = Field(1000, ge=1, description="Monitor: a model version's drift, and an estimated recall, need "
                                                       "at least this many decisions (below it they are noise: a few "
                                                       "logins of a replay drift on every feature).")
    retrain_drifted_features: int = Field(5, ge=1, description="Retrain trigger: this many of the champion's features "
                                                               "drifted on the night (or its score drifted) ...")
    retrain_score_moved: float = Field(0.05, ge=0, description="... and the score moved too: its PSI or KS at least "
                                                               "this (inputs that drift without moving the score "
                                                               "change no decision; 0 = feature drift alone).")
    recall_days: int = Field(3, ge=1, description="Retrain trigger: days pooled for estimated and realised recall "
                                                  "(a full window of them: a single day's estimate swings with "
                                                  "that day's attacks).")
    retrain_recall_drop: float = Field(0.1, gt=0, le=1, description="Retrain trigger: estimated or realised recall of "
                                                                     "challenges this far below the champion's expected.")
    recall_z: float = Field(2.33, ge=0, description="Retrain trigger: a recall drop counts only when it is at least "
                                                    "this many binomial standard errors, sqrt(r(1-r)/n) over the "
                                                    "window's n takeovers (expected ones for the estimate): 2.33 is a "
                                                    "1 % one-sided chance of a false alarm per check.")
    mature_share: float = Field(0.8, gt=0, le=1, description="Retrain trigger: realised recall only over days whose "
                                                             "label maturity reaches this.")
    retrain_cooldown_days: int = Field(7, ge=0, description="Retrain trigger: none within this many days of the last.")
