"""sparks: no score may rest on one engager.

Influence is many trees catching fire, not one big spark (Duncan Watts). In a PageRank one
engagement from a top account can make a score: an account liked once by the network's #1 and by
nobody else of note gets most of its rank through that one edge. The rule here (setting
``spark_max_share``, default 0.25) has two parts:

* in the global score, for the accounts near the top (:func:`candidates`), no single
  contributor's share of an account's rank may exceed ``spark_max_share``;
* on a topic, no single recognizer may make more than ``recognition_max_share`` (0.5) of an
  account's recognition (:func:`capped_sum`, used by :func:`jobs.topics.recognition`), which is
  the topic's teleport — a lone recognizer makes none — and an account without recognition has
  no expertise (:func:`jobs.score.topic_scores`).

Topic boards are not capped by flow: their slots' rank flows mostly from the topic's few
strongest accounts, and capping each board's top 200 by flow did not settle (about 1,000 pairs
over the cap after each PageRank pass on the 5,000-account sample, each pass a full PageRank). The flow along ``u -> v`` in slot ``s`` is

    flow = d * pr_s(u) * w_s(u -> v) / out_s(u)

and its share ``flow / pr_s(v)``. A pair whose share is above the cap has its weight scaled down
(its normaliser kept, so the excess returns to the teleport, as every other defense's does)
until the share is the cap: with ``k`` such contributors of total flow ``S`` into an account of
rank ``r``, the capped rank is ``r' = (r - S) / (1 - k c)`` and each of them keeps ``c r'``. A pair
has one weight for every slot, so the factor is the smallest any slot asks of it. Scaling one
edge moves other ranks a little, so :func:`spark_caps` is applied between PageRank passes, up to
``spark_passes`` times, until no published ranking has a contributor above the cap.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

MARGIN = 0.98
"""Caps aim at this fraction of ``spark_max_share``, so that the ranks' shift after a pass
leaves the shares under the cap rather than a hair above it."""


def candidates(ranks: DataFrame, depth: int) -> DataFrame:
    """``account_id, slot``: what the cap is checked on: the ``depth`` accounts ranked highest in
    the global slot (0), the ranking's top and those who could enter it once a spark above them is
    capped. ``ranks``: ``id, pr``."""
    by_rank = Window.orderBy(F.get("pr", 0).desc(), F.col("id"))
    return (
        ranks.select(F.col("id").alias("account_id"), F.row_number().over(by_rank).alias("_r"))
        .where(F.col("_r") <= depth)
        .select("account_id", F.lit(0).alias("slot"))
    )


def contributions(cands: DataFrame, ranks: DataFrame, edges: DataFrame, damping: float, scale: list[float]) -> DataFrame:
    """``dst, slot, src, flow, rank``: every flow into the candidates (``account_id, slot``), with
    the candidate's rank in that slot. ``edges``: factored ``src, dst, w, n, m`` as PageRank reads
    them (slot weight ``w * m.get(s, scale[s])``, normaliser ``max(w, n)`` times the same)."""
    mult = F.coalesce(F.col("m")[F.col("slot")], F.array(*[F.lit(float(x)) for x in scale])[F.col("slot")])
    into = edges.join(cands.select(F.col("account_id").alias("dst"), "slot"), "dst").select(
        "src", "dst", "slot", (F.col("w") * mult).alias("_w"))
    out = (
        edges.join(into.select("src", "slot").distinct(), "src")
        .groupBy("src", "slot")
        .agg(F.sum(F.greatest(F.col("w"), F.coalesce(F.col("n"), F.col("w"))) * mult).alias("_out"))
    )
    pr = ranks.select(F.col("id").alias("src"), F.col("pr").alias("_pr_src"))
    flows = (
        into.join(out, ["src", "slot"]).join(pr, "src")
        .select("dst", "slot", "src",
                (F.lit(float(damping)) * F.get("_pr_src", F.col("slot")) * F.col("_w") / F.col("_out")).alias("flow"))
        .where(F.col("flow") > 0)
    )
    return flows.join(ranks.select(F.col("id").alias("dst"), F.col("pr").alias("_pr")), "dst").select(
        "dst", "slot", "src", "flow", F.get("_pr", F.col("slot")).alias("rank"))


def spark_caps(flows: DataFrame, max_share: float) -> DataFrame:
    """``src, dst, factor``: the weight factor (< 1) of each pair whose share of a candidate's rank
    is above ``max_share`` in some slot (:func:`contributions`), the smallest its slots ask."""
    c = float(max_share) * MARGIN
    over = flows.where(F.col("flow") > F.lit(float(max_share)) * F.col("rank"))
    per = over.groupBy("dst", "slot").agg(F.count(F.lit(1)).alias("_k"), F.sum("flow").alias("_s"))
    rest = F.col("rank") - F.col("_s")
    capped_rank = F.when(F.col("_k") * F.lit(c) < 1, rest / (F.lit(1.0) - F.col("_k") * F.lit(c))).otherwise(F.col("rank"))
    return (
        over.join(per, ["dst", "slot"])
        .select("src", "dst", (F.lit(c) * capped_rank / F.col("flow")).alias("_f"))
        .groupBy("src", "dst")
        .agg(F.min("_f").alias("factor"))
        .where(F.col("factor") < 1)
    )


def apply_caps(edges: DataFrame, caps: DataFrame | None) -> DataFrame:
    """``edges`` with each capped pair's weight ``w`` times its factor (normaliser ``n`` kept: at
    least the old weight, so the removed part returns to the teleport)."""
    if caps is None:
        return edges
    n = F.greatest(F.col("w"), F.coalesce(F.col("n"), F.col("w")))
    return edges.join(caps.select("src", "dst", "factor"), ["src", "dst"], "left").select(
        *[(F.col("w") * F.coalesce(F.col("factor"), F.lit(1.0))).alias("w") if c == "w" else (n.alias("n") if c == "n" else F.col(c))
          for c in edges.columns]
    )


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
    ranked = df.select(*keys, F.col(value).alias("_v"),
                       F.row_number().over(order).alias("_k"),
                       F.sum(value).over(order.rowsBetween(Window.unboundedPreceding, 0)).alias("_cum"),
                       F.sum(value).over(whole).alias("_total"),
                       F.lead(value, 1, 0.0).over(order).alias("_next"))
    # k = 0: nothing capped, T = total, valid when the largest is at most c * total
    first = ranked.where(F.col("_k") == 1).select(*keys, F.col("_total"), (F.col("_v") <= F.lit(c) * F.col("_total")).alias("_ok0"))
    t_k = (F.col("_total") - F.col("_cum")) / (F.lit(1.0) - F.col("_k") * F.lit(c))
    options = ranked.where(F.col("_k") * F.lit(c) < 1).select(
        *keys, "_k", t_k.alias("_t"), (F.col("_next") <= F.lit(c) * t_k).alias("_ok"))
    best = options.where("_ok").groupBy(*keys).agg(F.min_by("_t", "_k").alias("_tk"))
    return first.join(best, keys, "left").select(
        *keys, F.when(F.col("_ok0"), F.col("_total")).otherwise(F.coalesce(F.col("_tk"), F.lit(0.0))).alias("capped"))


def merge_caps(old: DataFrame | None, new: DataFrame) -> DataFrame:
    """Cumulative factors: a pair capped in two passes keeps the product."""
    if old is None:
        return new
    return (
        old.unionByName(new)
        .groupBy("src", "dst")
        .agg(F.exp(F.sum(F.log("factor"))).alias("factor"))
    )
