"""score: turn raw PageRank into the published ``account_scores`` rows.

Influence is a fixed, monotone, logarithmic function of PageRank relative to
the network's average account (``N * pagerank``, which averages 1):

    influence = clamp(20 + 10 * log2(N * pagerank), 0, 100)

so 20 is the average account, every doubling adds 10 points, 50 is 8x the
average, 90 is 128x and 100 is 256x or more. The mapping is the same every day,
so a score moves only when the account's standing moves.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

import schemas

INFLUENCE_BASE = 20.0
INFLUENCE_PER_DOUBLING = 10.0


def influence(pagerank: F.Column, n: F.Column) -> F.Column:
    x = F.lit(INFLUENCE_BASE) + F.lit(INFLUENCE_PER_DOUBLING) * F.log2(pagerank * n)
    return F.round(F.least(F.lit(100.0), F.greatest(F.lit(0.0), F.coalesce(x, F.lit(0.0)))), 4)


def account_scores(
    ranks: DataFrame,
    accounts: DataFrame,
    edges: DataFrame,
    previous: DataFrame | None,
    run_id: str,
) -> DataFrame:
    """One row per account: ``ranks`` (id, pagerank) joined with the day's accounts.

    ``previous`` is the previous published day's ``account_scores`` of the same
    network (or None); it gives ``influence_change``.
    """
    n = ranks.count()
    acc = accounts.select(F.col("account_id").alias("id"), "handle", "account_type").dropDuplicates(["id"])
    w_in = edges.groupBy(F.col("dst").alias("id")).agg(F.sum("weight").alias("in_weight"))
    w_out = edges.groupBy(F.col("src").alias("id")).agg(F.sum("weight").alias("out_weight"))
    by_rank = Window.orderBy(F.col("pagerank").desc(), F.col("id").asc())
    by_value = Window.orderBy(F.col("pagerank").asc())
    scored = (
        ranks.select("id", "pagerank")
        .join(acc, "id", "left")
        .join(w_in, "id", "left")
        .join(w_out, "id", "left")
        .select(
            F.col("id").alias("account_id"),
            "handle",
            F.coalesce("account_type", F.lit("unknown")).alias("account_type"),
            "pagerank",
            influence(F.col("pagerank"), F.lit(float(n))).alias("influence"),
            F.row_number().over(by_rank).cast("long").alias("rank"),
            F.round(F.percent_rank().over(by_value) * 100.0, 4).alias("percentile"),
            F.coalesce("in_weight", F.lit(0.0)).alias("in_weight"),
            F.coalesce("out_weight", F.lit(0.0)).alias("out_weight"),
        )
    )
    if previous is not None:
        prev = previous.select("account_id", F.col("influence").alias("_prev"))
        scored = scored.join(prev, "account_id", "left").withColumn(
            "influence_change", F.round(F.col("influence") - F.col("_prev"), 4)
        )
    else:
        scored = scored.withColumn("influence_change", F.lit(None).cast("double"))
    scored = scored.withColumn("run_id", F.lit(run_id))
    table = schemas.table("account_scores")
    return scored.select(*[F.col(f.name).cast(table.spark_schema()[f.name].dataType) for f in table.fields])
