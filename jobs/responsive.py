"""responsiveness: does the account answer the people who write to it?

Per account of one network on run date D, over the scoring window (docs/methodology.md "Responsiveness"):

* an **ask** is a reply or mention whose target is the account, from another known account
  that is *not* one of its mutual followers (the two follow each other in D's follows; without
  a follows table nobody is mutual), made at least ``answer_hours`` before the end of D, so
  every ask counted has had its full time to be answered;
* a reply or mention that comes at most ``answer_hours`` after the account's own reply or
  mention to that actor is not an ask: it answers the account (the other side of a conversation
  the account started), and counting it would make everyone who writes to others look deaf;
* the ask is **answered** when the account replied to or mentioned that actor at or after the
  ask's time and within ``answer_hours`` of it; the first such event is the answer;
* ``responsiveness = (answered + a) / (asks + a + b)``: the answered share smoothed with a
  Beta(a, b) prior (``responsiveness_prior_answered`` = a, ``responsiveness_prior_unanswered``
  = b, defaults 1 and 3: no evidence reads 0.25, 1 of 1 reads 0.40, 20 of 20 reads 0.875);
* ``answer_hours_median``: the median hours from ask to answer over the answered asks (null
  when none was answered); ``asks`` and ``answered`` are the evidence counts.

The first answer after each ask is found with one window per (account, actor) pair ordered
newest first, a running minimum of the answer times seen so far: linear in the pair's events,
so a pair that talks all day costs no quadratic join.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from kindling.core.settings import Settings

ASK_KINDS = ("reply", "mention")


def prior_mean(settings: Settings) -> float:
    a, b = settings.responsiveness_prior_answered, settings.responsiveness_prior_unanswered
    return a / (a + b)


def mutual_pairs(follows: DataFrame | None, pairs: DataFrame | None = None) -> DataFrame | None:
    """(acc, other) for every pair that follow each other (both orders), or None without follows.

    ``pairs`` (``acc, other``): only among those (either order). The follows are read once, each
    edge as its unordered pair and a direction bit, kept only where the pair is asked about
    (one shuffle of the follow table, not a distinct and a self-join of it: at 1M accounts it
    holds 43M rows), and a pair is mutual when both bits are set."""
    if follows is None:
        return None
    lo, hi = F.least("src_id", "dst_id"), F.greatest("src_id", "dst_id")
    f = follows.where(F.col("src_id") != F.col("dst_id")).select(
        lo.alias("a"), hi.alias("b"), F.when(F.col("src_id") < F.col("dst_id"), 1).otherwise(2).alias("d")
    )
    if pairs is not None:
        wanted = pairs.select(F.least("acc", "other").alias("a"), F.greatest("acc", "other").alias("b")).distinct()
        f = f.join(wanted, ["a", "b"], "left_semi")
    both = f.groupBy("a", "b").agg(F.bit_or("d").alias("d")).where(F.col("d") == 3)
    return both.select(F.col("a").alias("acc"), F.col("b").alias("other")).unionByName(
        both.select(F.col("b").alias("acc"), F.col("a").alias("other"))
    )


def responsiveness(
    interactions: DataFrame,
    known: DataFrame,
    follows: DataFrame | None,
    day: dt.date,
    settings: Settings,
) -> DataFrame:
    """``account_id, asks, answered, answer_hours_median, responsiveness`` for accounts with at least one ask.

    ``interactions``: the window's conformed interactions; ``known``: the day's distinct
    ``account_id``s; ``follows``: the day's conformed follows (or None). Accounts without an ask
    are absent: their responsiveness is the prior mean (:func:`with_responsiveness`).
    """
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    horizon = float(settings.answer_hours) * 3600.0
    ids = known.select("account_id")
    ev = (
        interactions.where(F.col("kind").isin(*ASK_KINDS) & (F.col("actor_id") != F.col("target_id")))
        .join(ids.withColumnRenamed("account_id", "actor_id"), "actor_id", "left_semi")
        .join(ids.withColumnRenamed("account_id", "target_id"), "target_id", "left_semi")
        .select("actor_id", "target_id", F.unix_timestamp("created_at").cast("double").alias("ts"))
    )
    # The pair seen from the account answering: asks come in, answers go out.
    asks = ev.select(F.col("target_id").alias("acc"), F.col("actor_id").alias("other"), "ts", F.lit(1).alias("is_ask"))
    answers = ev.select(
        F.col("actor_id").alias("acc"), F.col("target_id").alias("other"), "ts", F.lit(0).alias("is_ask")
    )
    mutual = mutual_pairs(follows, asks.select("acc", "other"))
    if mutual is not None:
        asks = asks.join(mutual, ["acc", "other"], "left_anti")
    both = asks.unionByName(answers.join(asks.select("acc", "other").distinct(), ["acc", "other"], "left_semi"))
    # A reply or mention that answers the account's own reply or mention to that actor (within
    # answer_hours before it) is the other side of a conversation the account started, not an ask.
    before = Window.partitionBy("acc", "other").orderBy(F.col("ts").cast("long")).rangeBetween(-int(horizon), -1)
    response = F.max(F.when(F.col("is_ask") == 0, F.lit(1))).over(before)
    both = (
        both.withColumn("_response", response)
        .where((F.col("is_ask") == 0) | F.col("_response").isNull())
        .drop("_response")
    )
    # Newest first, an answer before an ask of the same second: the rows before an ask are the
    # events at or after it, and the running minimum of their answer times is its first answer.
    later = (
        Window.partitionBy("acc", "other")
        .orderBy(F.col("ts").desc(), F.col("is_ask").asc())
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    first_answer = F.min(F.when(F.col("is_ask") == 0, F.col("ts"))).over(later)
    counted = (
        both.withColumn("answer_ts", first_answer)
        .where((F.col("is_ask") == 1) & (F.col("ts") <= F.lit(end.timestamp() - horizon)))
        .withColumn("lag_h", (F.col("answer_ts") - F.col("ts")) / 3600.0)
        .withColumn("ok", F.col("lag_h").isNotNull() & (F.col("lag_h") <= F.lit(horizon / 3600.0)))
    )
    a, b = float(settings.responsiveness_prior_answered), float(settings.responsiveness_prior_unanswered)
    return (
        counted.groupBy(F.col("acc").alias("account_id"))
        .agg(
            F.count(F.lit(1)).alias("asks"),
            F.count(F.when(F.col("ok"), 1)).alias("answered"),
            F.median(F.when(F.col("ok"), F.col("lag_h"))).alias("answer_hours_median"),
        )
        .select(
            "account_id",
            F.col("asks").cast("long").alias("asks"),
            F.col("answered").cast("long").alias("answered"),
            F.round("answer_hours_median", 4).alias("answer_hours_median"),
            F.round((F.col("answered") + F.lit(a)) / (F.col("asks") + F.lit(a + b)), 6).alias("responsiveness"),
        )
    )


def with_responsiveness(scored: DataFrame, resp: DataFrame | None, prior: float) -> DataFrame:
    """``scored`` (keyed by ``account_id``) with the responsiveness columns; no ask: ``prior``, 0 of 0."""
    if resp is None:
        resp = scored.sparkSession.createDataFrame(
            [], "account_id string, asks long, answered long, answer_hours_median double, responsiveness double"
        )
    return scored.join(resp, "account_id", "left").select(
        *scored.columns,
        F.coalesce("responsiveness", F.lit(round(prior, 6))).alias("responsiveness"),
        F.coalesce("asks", F.lit(0).cast("long")).alias("asks"),
        F.coalesce("answered", F.lit(0).cast("long")).alias("answered"),
        "answer_hours_median",
    )
