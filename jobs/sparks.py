"""sparks: no score may rest on one engager.

Influence is many trees catching fire, not one big spark (Duncan Watts). In a PageRank one
engagement from a top account can make a score: an account liked once by the network's #1 and by
nobody else of note gets most of its rank through that one edge. The rule (setting
``spark_max_share``, default 0.25) has two parts:

* **Flow**, inside PageRank (:func:`jobs.pagerank.pagerank_arrays`, ``cap``): in the global slot
  and in every topic slot, the flow along ``u -> v``, ``d * pr(u) * w(u -> v) / out(u)``, counts
  for at most ``spark_max_share`` of ``pr(v)``; what it would bring above that returns to the
  teleport, as dangling mass does. The engines first run the plain PageRank to its fixed point,
  then the capped map ``y(v) <- (1 - d) t(v) + sum over u of min(d y(u) p(u -> v), c y(v))`` from
  there: it is monotone and below the plain map, so the iterates decrease to its greatest fixed
  point, where every account, not only those near the top, has no contributor above the cap. An
  account with a teleport of its own (every account in the global slot) keeps at most
  ``c / (1 - c)`` of its base from a lone contributor; one without (a topic slot's unrecognised
  accounts) needs at least ``1 / c`` contributors to rank at all. The trusted-seed slot is not
  capped (its teleport is a handful of seeds). Published: ``graph_edges.flow_weight`` and the
  shares of ``score_contributors`` are the capped flows.
* **Recognition**: on a topic, no single recognizer may make more than ``recognition_max_share``
  (0.5) of an account's recognition (:func:`capped_sum`, used by :func:`jobs.topics.recognition`),
  which is the topic's teleport — a lone recognizer makes none — and an account without
  recognition has no expertise (:func:`jobs.score.topic_scores`).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def capped_sum(df: DataFrame, keys: list[str], value: str, max_share: float) -> DataFrame:
    """``*keys, capped``: per group, the sum of ``value`` with no single row above ``max_share`` of
    the result. Water-filling: with the values sorted in descending order, the k largest are capped
    at ``c T`` where ``T = (sum of the others) / (1 - k c)``, for the smallest k that leaves the
    (k+1)-th at most ``c T``; a group that needs ``k c >= 1`` (fewer than ``1 / c`` rows, all
    large) sums to 0. One recognizer alone never makes a recognition; four equal ones at c = 0.25
    keep all of theirs."""
    c = float(max_share)
    order = Window.partitionBy(*keys).orderBy(F.col(value).desc())
    whole = Window.partitionBy(*keys)
    ranked = df.select(
        *keys,
        F.col(value).alias("_v"),
        F.row_number().over(order).alias("_k"),
        F.sum(value).over(order.rowsBetween(Window.unboundedPreceding, 0)).alias("_cum"),
        F.sum(value).over(whole).alias("_total"),
        F.lead(value, 1, 0.0).over(order).alias("_next"),
    )
    # k = 0: nothing capped, T = total, valid when the largest is at most c * total
    first = ranked.where(F.col("_k") == 1).select(
        *keys, F.col("_total"), (F.col("_v") <= F.lit(c) * F.col("_total")).alias("_ok0")
    )
    t_k = (F.col("_total") - F.col("_cum")) / (F.lit(1.0) - F.col("_k") * F.lit(c))
    options = ranked.where(F.col("_k") * F.lit(c) < 1).select(
        *keys, "_k", t_k.alias("_t"), (F.col("_next") <= F.lit(c) * t_k).alias("_ok")
    )
    best = options.where("_ok").groupBy(*keys).agg(F.min_by("_t", "_k").alias("_tk"))
    return first.join(best, keys, "left").select(
        *keys, F.when(F.col("_ok0"), F.col("_total")).otherwise(F.coalesce(F.col("_tk"), F.lit(0.0))).alias("capped")
    )
