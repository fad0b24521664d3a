"""Labels for training rows, as known on the night the row is built.

Maturity rule: logins of day L are labelled on night A = L + batch.label_maturity_days with
every label reported before the end of day A, and are written to the training set then.
A report arriving later is not used for that row (labels arrive days to weeks late; waiting
longer would leave the newest weeks out of training). Per login, in order:

1. a label naming the login (`login_event_id`): the latest report wins, so an analyst's
   correction overrides the customer report it corrects;
2. an `ato` report on the account with `attack_started_at`: every login of the account from
   that moment to the report (noisy: the owner's own logins in that span are included);
3. otherwise `legit` ("unreported": most logins are never labelled).

`label_weight` comes from conf `labels.weights` by source; the attack type (an analyst's
classification, in the label's extra fields) is carried for evaluation only.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SOURCE_PRIORITY = ("analyst", "chargeback", "step_up_passed", "customer_report")


def login_labels(logins: DataFrame, labels: DataFrame, maturity_days: int, weights: dict[str, float],
                 as_of: date | None = None) -> DataFrame:
    """(event_id, label, label_source, label_weight, label_as_of, attack_type) for each login.

    `logins` needs event_id, account_id, event_time, login_date; `labels` is silver labels.
    With `as_of`, every login is labelled with what was reported by the end of that day instead
    of by login_date + maturity_days (monitoring reads the labels known on its night).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    lg = logins.select("event_id", "account_id", "event_time", "login_date").withColumn(
        "label_as_of", F.lit(as_of) if as_of is not None else F.date_add("login_date", maturity_days))
    cutoff = F.date_add("label_as_of", 1).cast("timestamp")
    lab = labels.select(
        "account_id", "login_event_id", F.when(F.col("label") == "ato", 1).otherwise(0).alias("y"), "source",
        "reported_at", "attack_started_at", F.col("extra").getItem("attack_type").alias("attack_type"))
    prio = F.array_position(F.array(*[F.lit(s) for s in SOURCE_PRIORITY]), F.col("source"))
    latest = Window.partitionBy("event_id").orderBy(F.desc("reported_at"), prio, F.desc("y"))

    direct = (lg.join(lab.where(F.col("login_event_id").isNotNull()).drop("account_id"),
                      F.col("event_id") == F.col("login_event_id"))
              .where(F.col("reported_at") < cutoff)
              .withColumn("_rn", F.row_number().over(latest)).where("_rn = 1")
              .select("event_id", F.col("y").alias("y1"), F.col("source").alias("s1"), F.col("attack_type").alias("a1")))
    window = (lg.join(lab.where(F.col("login_event_id").isNull() & (F.col("y") == 1)
                                & F.col("attack_started_at").isNotNull()), "account_id")
              .where((F.col("reported_at") < cutoff) & F.col("event_time").between(F.col("attack_started_at"),
                                                                                    F.col("reported_at")))
              .withColumn("_rn", F.row_number().over(latest)).where("_rn = 1")
              .select("event_id", F.col("attack_type").alias("a2"), F.lit(1).alias("y2")))
    out = lg.join(direct, "event_id", "left").join(window, "event_id", "left")
    source = (F.when(F.col("y1").isNotNull(), F.col("s1")).when(F.col("y2").isNotNull(), F.lit("account_window"))
              .otherwise(F.lit("unreported")))
    wmap = F.create_map(*[x for k, v in sorted(weights.items()) for x in (F.lit(k), F.lit(float(v)))])
    label = F.coalesce("y1", "y2", F.lit(0))
    return out.select(
        "event_id", label.cast("int").alias("label"), source.alias("label_source"),
        F.coalesce(wmap[source], F.lit(1.0)).alias("label_weight"), "label_as_of",
        F.when(label == 1, F.coalesce("a1", "a2")).alias("attack_type"),
    )
