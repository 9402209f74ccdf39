"""graph: the weighted interaction graph of one network over the scoring window.

Credit flows from the actor to the account acted on (actor -> target). An
interaction's weight is its kind's weight, decayed exponentially with its age
at the end of the run date. Then the defenses against cheap tricks (docs/methodology.md
"Defenses against cheap tricks", each a setting, on by default):

* **credit spread** (per event): an actor's interactions of one day carry at most
  ``actor_daily_budget`` kind weight in total; above it each is scaled by
  budget / total, so an account that likes everything gives little to each;
* **diminishing returns** (per pair): the weights of one (actor, target) pair are
  summed and saturated, ``s * ln(1 + raw / s)``, so that the hundredth reply to
  the same account adds far less than the first;
* **volume** (per target): engagement received by an account that posts more than
  ``received_free_posts_per_day`` a day over the window is scaled by
  ``(free / posts_per_day) ** received_volume_exponent``: reactions count relative
  to how much the account posts;
* **responses** (per event): an interaction with an account that replied to or mentioned the
  actor at most ``answer_hours`` before carries ``answer_credit`` of its weight: a big account
  answering whoever replies to it all day is being polite, not endorsing them;
* **reciprocity** (per pair): when both directions of a pair weigh at least
  ``reciprocal_heavy_weight`` after saturation, both edges are multiplied by
  ``reciprocal_discount``: two accounts feeding each other all day are a pod, not
  two endorsements.

What a defense takes away is not handed to the actor's other targets: PageRank divides
each source's weights by the sum of its undefended weights (``norm_weight``), so the
removed share of its credit returns to the teleport, as a dangling account's does.
Engagement rings (:mod:`jobs.rings`) are discounted the same way.
"""

from __future__ import annotations

import datetime as dt
import math

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from kindling.core.settings import Settings
from kindling.storage.lake import window_dates  # noqa: F401  (the window's days: one definition, shared with the steps)


def decayed_events(interactions: DataFrame, day: dt.date, settings: Settings) -> DataFrame:
    """One row per usable interaction with its decayed weight (``actor_id``, ``target_id``, ``kind``, ``post_id``, ``w``).

    ``w_full`` is the same weight before the credit spread: what the actor's interaction would
    carry if it were the actor's only one (the normaliser of :func:`build_edges`).
    """
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    weights = F.create_map(*[x for k, v in sorted(settings.kind_weights.items()) for x in (F.lit(k), F.lit(float(v)))])
    age_days = (F.lit(end.timestamp()) - F.unix_timestamp("created_at").cast("double")) / 86400.0
    decay = F.pow(F.lit(0.5), F.greatest(age_days, F.lit(0.0)) / F.lit(settings.half_life_days))
    events = interactions.where(F.col("actor_id").isNotNull() & F.col("target_id").isNotNull())
    if settings.drop_self_interactions:
        events = events.where(F.col("actor_id") != F.col("target_id"))
    w_full = weights[F.col("kind")] * decay
    w = w_full
    if settings.actor_daily_budget > 0:
        day_total = F.sum(weights[F.col("kind")]).over(Window.partitionBy("actor_id", F.to_date("created_at")))
        w = w * F.least(F.lit(1.0), F.lit(float(settings.actor_daily_budget)) / day_total)
    if settings.answer_credit < 1:
        w = F.when(responds(settings.answer_hours), w * F.lit(float(settings.answer_credit))).otherwise(w)
    return events.select("actor_id", "target_id", "kind", "post_id", w.alias("w"), w_full.alias("w_full")).where(
        F.col("w").isNotNull() & (F.col("w") > 0)
    )


def responds(hours: float) -> F.Column:
    """True for an interaction X -> Y that follows a reply or mention Y -> X by at most ``hours``
    (and at least a second): a response to the target, not an endorsement of it."""
    lo, hi = F.least("actor_id", "target_id"), F.greatest("actor_id", "target_id")
    t = F.unix_timestamp("created_at")
    before = Window.partitionBy(lo, hi).orderBy(t).rangeBetween(-int(round(hours * 3600)), -1)
    ask = F.col("kind").isin("reply", "mention")
    by_lo = F.max(F.when(ask & (F.col("actor_id") == lo), F.lit(1))).over(before)
    by_hi = F.max(F.when(ask & (F.col("actor_id") == hi), F.lit(1))).over(before)
    return F.coalesce(F.when(F.col("actor_id") == lo, by_hi).otherwise(by_lo), F.lit(0)) == 1


def saturate(raw: F.Column, s: float) -> F.Column:
    """Diminishing returns: ~raw for small raw, logarithmic beyond ``s``."""
    if s <= 0 or math.isinf(s):
        return raw
    return F.lit(s) * F.log1p(raw / F.lit(s))


def volume_factor(posts: DataFrame, days: int, settings: Settings) -> DataFrame | None:
    """``dst, volume``: the credit factor of accounts that post more than the free rate (others: absent).

    ``posts`` holds ``days`` days of posts (the window's days that have any).
    """
    if settings.received_volume_exponent <= 0:
        return None
    free = float(settings.received_free_posts_per_day)
    per_day = F.count(F.lit(1)) / F.lit(float(max(1, days)))
    counted = (
        posts.where(F.col("author_id").isNotNull()).groupBy(F.col("author_id").alias("dst")).agg(per_day.alias("_ppd"))
    )
    return counted.where(F.col("_ppd") > free).select(
        "dst", F.pow(F.lit(free) / F.col("_ppd"), F.lit(float(settings.received_volume_exponent))).alias("volume")
    )


def build_edges(
    interactions: DataFrame,
    accounts: DataFrame,
    day: dt.date,
    settings: Settings,
    posts: DataFrame | None = None,
    post_days: int = 1,
    events: DataFrame | None = None,
    volume: DataFrame | None = None,
) -> DataFrame:
    """Weighted edges ``src, dst, weight, raw_weight, events, norm_weight`` between accounts known on ``day``.

    ``raw_weight`` is the pair's decayed (and credit-spread) sum before saturation; ``weight``
    is what PageRank uses, after saturation, the volume rule (``posts``: the window's posts over
    ``post_days`` days; None skips it) and the reciprocity rule. ``norm_weight`` is the pair's
    saturated weight with no defense applied: PageRank divides a source's ``weight`` by the sum
    of its ``norm_weight`` (:func:`jobs.pagerank.pagerank_arrays`, edge column ``n``), so what a
    defense takes away returns to the teleport instead of going to the source's other targets.
    ``events``: the :func:`decayed_events` of ``interactions`` when the caller has them already;
    ``volume``: the :func:`volume_factor` of ``posts`` likewise (then ``posts`` is not read).
    """
    known = accounts.select(F.col("account_id").alias("_id")).distinct()
    if events is None:
        events = decayed_events(interactions, day, settings)
    pairs = events.groupBy(F.col("actor_id").alias("src"), F.col("target_id").alias("dst")).agg(
        F.sum("w").alias("raw_weight"), F.count(F.lit(1)).alias("events"), F.sum("w_full").alias("_full")
    )
    pairs = pairs.join(known.withColumnRenamed("_id", "src"), "src", "left_semi").join(
        known.withColumnRenamed("_id", "dst"), "dst", "left_semi"
    )
    s = settings.pair_saturation
    edges = pairs.select(
        "src",
        "dst",
        saturate(F.col("raw_weight"), s).alias("weight"),
        "raw_weight",
        "events",
        saturate(F.col("_full"), s).alias("norm_weight"),
    )
    weight = F.col("weight")
    if settings.reciprocal_discount < 1:
        heavy = F.lit(float(settings.reciprocal_heavy_weight))
        back = edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"), F.col("weight").alias("_back"))
        edges = edges.join(back, ["src", "dst"], "left")
        weight = F.when(
            (F.col("weight") >= heavy) & (F.col("_back") >= heavy), weight * F.lit(float(settings.reciprocal_discount))
        ).otherwise(weight)
    if volume is None and posts is not None:
        volume = volume_factor(posts, post_days, settings)
    if volume is not None:
        edges = edges.join(volume, "dst", "left")
        weight = weight * F.coalesce(F.col("volume"), F.lit(1.0))
    return edges.select("src", "dst", weight.alias("weight"), "raw_weight", "events", "norm_weight")
