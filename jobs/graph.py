"""graph: the weighted interaction graph of one network over the scoring window.

Credit flows from the actor to the account acted on (actor -> target). An
interaction's weight is its kind's weight, decayed exponentially with its age
at the end of the run date; the weights of one (actor, target) pair are summed
and then saturated, ``s * ln(1 + raw / s)``, so that the hundredth reply to the
same account adds far less than the first.
"""

from __future__ import annotations

import datetime as dt
import math

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from kindling.settings import Settings


def window_dates(day: dt.date, window_days: int) -> list[dt.date]:
    """The dates of the scoring window ending on ``day`` (inclusive), oldest first."""
    return [day - dt.timedelta(days=i) for i in range(window_days - 1, -1, -1)]


def decayed_events(interactions: DataFrame, day: dt.date, settings: Settings) -> DataFrame:
    """One row per usable interaction with its decayed weight (``actor_id``, ``target_id``, ``kind``, ``post_id``, ``w``)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    weights = F.create_map(*[x for k, v in sorted(settings.kind_weights.items()) for x in (F.lit(k), F.lit(float(v)))])
    age_days = (F.lit(end.timestamp()) - F.unix_timestamp("created_at").cast("double")) / 86400.0
    decay = F.pow(F.lit(0.5), F.greatest(age_days, F.lit(0.0)) / F.lit(settings.half_life_days))
    events = interactions.where(F.col("actor_id").isNotNull() & F.col("target_id").isNotNull())
    if settings.drop_self_interactions:
        events = events.where(F.col("actor_id") != F.col("target_id"))
    return events.select(
        "actor_id", "target_id", "kind", "post_id", (weights[F.col("kind")] * decay).alias("w")
    ).where(F.col("w").isNotNull() & (F.col("w") > 0))


def saturate(raw: F.Column, s: float) -> F.Column:
    """Diminishing returns: ~raw for small raw, logarithmic beyond ``s``."""
    if s <= 0 or math.isinf(s):
        return raw
    return F.lit(s) * F.log1p(raw / F.lit(s))


def build_edges(interactions: DataFrame, accounts: DataFrame, day: dt.date, settings: Settings) -> DataFrame:
    """Weighted edges ``src, dst, weight, raw_weight, events`` between accounts known on ``day``."""
    known = accounts.select(F.col("account_id").alias("_id")).distinct()
    events = decayed_events(interactions, day, settings)
    pairs = events.groupBy(F.col("actor_id").alias("src"), F.col("target_id").alias("dst")).agg(
        F.sum("w").alias("raw_weight"), F.count(F.lit(1)).alias("events")
    )
    pairs = pairs.join(known.withColumnRenamed("_id", "src"), "src", "left_semi").join(
        known.withColumnRenamed("_id", "dst"), "dst", "left_semi"
    )
    return pairs.select(
        "src", "dst", saturate(F.col("raw_weight"), settings.pair_saturation).alias("weight"), "raw_weight", "events"
    )
