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
from jobs.responsive import prior_mean, with_responsiveness
from jobs.trust import with_spam_mass
from kindling.core.settings import DEFAULTS, Settings
from kindling.ingest.taxonomy import ROOT, Taxonomy

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
    resp: DataFrame | None = None,
    trust: DataFrame | None = None,
    seeds: int = 0,
    settings: Settings | None = None,
    rings: DataFrame | None = None,
) -> DataFrame:
    """One row per account: ``ranks`` (id, pagerank) joined with the day's accounts.

    ``previous`` is the previous published day's ``account_scores`` of the same
    network (or None); it gives ``influence_change``. ``resp`` holds the accounts' answer
    evidence (:func:`jobs.responsive.responsiveness`); accounts without any get the prior mean
    of ``settings`` (the defaults when None).
    ``trust`` (``account_id, trust_rank``) and ``seeds`` give the spam mass (:mod:`jobs.trust`).
    ``rings`` (``account_id, ring_id``: :func:`jobs.rings.detect_rings`) gives ``ring_id`` and
    ``ring_flag``; None: no account is in a ring.
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
    settings = settings or DEFAULTS
    scored = with_spam_mass(
        scored,
        trust,
        seeds,
        good_share=settings.trust_good_share,
        flag_at=settings.spam_mass_flag,
        flag_min_influence=settings.spam_flag_min_influence,
    )
    if rings is not None:
        scored = scored.join(rings.select("account_id", "ring_id"), "account_id", "left")
    else:
        scored = scored.withColumn("ring_id", F.lit(None).cast("string"))
    scored = scored.withColumn("ring_flag", F.col("ring_id").isNotNull())
    scored = with_responsiveness(scored, resp, prior_mean(settings)).withColumn("run_id", F.lit(run_id))
    return _contract(scored, "account_scores")


def topic_scores(
    trank: DataFrame,
    rec: DataFrame,
    act: DataFrame,
    accounts: DataFrame,
    previous: DataFrame | None,
    run_id: str,
) -> DataFrame:
    """One row per (account, ranked topic) with evidence: recognised on it, or posting/engaging on it.

    ``trank``: ``account_id, topic, topic_rank`` (every account, ranked topics only);
    ``rec``: ``account_id, topic, recognizers, recognition``; ``act``: ``account_id,
    topic, own_posts, own_engagements, interest``. Expertise uses the influence
    mapping with ``M_t`` = the topic's accounts with evidence in place of N:

        expertise = clamp(20 + 10 * log2(M_t * topic_rank), 0, 100)

    so 20 is the average of those accounts and each doubling adds 10. Expertise is what others do
    with your posts on the topic: an account without recognition on it (nobody, or fewer people
    than one recognizer's capped share allows, engaged with its posts on the topic:
    :func:`jobs.sparks.capped_sum`) has expertise 0 and ranks after every recognised account,
    whatever rank flows to it from elsewhere; its row stays for its interest.
    """
    topics = trank.select("topic").distinct()
    ev = (
        rec.join(act, ["account_id", "topic"], "full")
        .join(F.broadcast(topics), "topic", "left_semi")
        .join(trank, ["account_id", "topic"], "left")
    )
    acc = accounts.select("account_id", "handle", "account_type").dropDuplicates(["account_id"])
    m = Window.partitionBy("topic")
    recognised = F.coalesce(F.col("recognition"), F.lit(0.0)) > 0
    order = Window.partitionBy("topic").orderBy(
        recognised.desc(), F.col("topic_rank").desc(), F.col("account_id").asc()
    )
    scored = ev.join(acc, "account_id", "left").select(
        "topic",
        "account_id",
        "handle",
        F.coalesce("account_type", F.lit("unknown")).alias("account_type"),
        F.when(recognised, influence(F.coalesce("topic_rank", F.lit(0.0)), F.count(F.lit(1)).over(m).cast("double")))
        .otherwise(F.lit(0.0))
        .alias("expertise"),
        F.coalesce("interest", F.lit(0.0)).alias("interest"),
        F.coalesce("topic_rank", F.lit(0.0)).alias("topic_rank"),
        F.row_number().over(order).cast("long").alias("rank_in_topic"),
        F.coalesce("recognizers", F.lit(0)).alias("recognizers"),
        F.round(F.coalesce("recognition", F.lit(0.0)), 6).alias("recognition"),
        F.coalesce("own_posts", F.lit(0)).alias("own_posts"),
        F.coalesce("own_engagements", F.lit(0)).alias("own_engagements"),
    )
    if previous is not None:
        prev = previous.select("topic", "account_id", F.col("expertise").alias("_prev"))
        scored = scored.join(prev, ["topic", "account_id"], "left").withColumn(
            "expertise_change", F.round(F.col("expertise") - F.col("_prev"), 4)
        )
    else:
        scored = scored.withColumn("expertise_change", F.lit(None).cast("double"))
    scored = scored.withColumn("run_id", F.lit(run_id))
    return _contract(scored, "topic_scores")


def score_contributors(
    contrib: DataFrame, topics: list[str], accounts: DataFrame, mix: DataFrame, run_id: str
) -> DataFrame:
    """``contrib`` (account_id, slot, contributor_id, share, base_share, contributor_rank:
    :func:`jobs.topics.contributors`) as published rows.

    ``mix``: ``src, dst, topic, events, kinds`` — per pair and topic, the
    interactions that carried the credit (``topic`` null: all of the pair's).
    A topic row falls back to all of the pair's interactions when none was on the topic.
    """
    names = F.array(*[F.lit(None).cast("string")] + [F.lit(t) for t in topics])
    c = contrib.select("*", F.get(names, F.col("slot")).alias("topic"))
    on_topic = mix.where(F.col("topic").isNotNull()).select(
        F.col("src").alias("contributor_id"),
        F.col("dst").alias("account_id"),
        "topic",
        F.col("events").alias("_te"),
        F.col("kinds").alias("_tk"),
    )
    overall = mix.where(F.col("topic").isNull()).select(
        F.col("src").alias("contributor_id"),
        F.col("dst").alias("account_id"),
        F.col("events").alias("_ae"),
        F.col("kinds").alias("_ak"),
    )
    handles = accounts.select(
        F.col("account_id").alias("contributor_id"),
        F.col("handle").alias("contributor_handle"),
        F.col("account_type").alias("contributor_type"),
    ).dropDuplicates(["contributor_id"])
    out = (
        c.join(on_topic, ["contributor_id", "account_id", "topic"], "left")
        .join(overall, ["contributor_id", "account_id"], "left")
        .join(handles, "contributor_id", "left")
        .select(
            "topic",
            "account_id",
            "contributor_id",
            "contributor_handle",
            F.coalesce("contributor_type", F.lit("unknown")).alias("contributor_type"),
            "share",
            "base_share",
            "contributor_rank",
            F.coalesce("_te", "_ae", F.lit(0)).alias("events"),
            F.coalesce("_tk", "_ak", F.lit("")).alias("kinds"),
            F.lit(run_id).alias("run_id"),
        )
    )
    return _contract(out, "score_contributors")


def topics_table(
    scores: DataFrame, boards: list[str], same_as: dict[str, str], taxonomy: Taxonomy, run_id: str
) -> DataFrame:
    """The ``topics`` rows: every topic with a board (``boards``, the ranked topics) and every
    topic folded into one (``same_as``: folded -> board, :func:`jobs.topics.same_boards`).

    ``scores``: the network's ``topic_scores``; ``accounts`` = its rows on the topic's board (for
    a folded topic, on the board it points to). ``parent``: the topic's direct taxonomy parents,
    comma-joined (null under the root). No boards: an empty table with the schema.
    """

    def parent(t: str) -> str | None:
        return ",".join(p for p in taxonomy.parents.get(t, ()) if p != ROOT) or None

    rows = [
        (t, taxonomy.display_name(t) if t in taxonomy else t, parent(t), same_as.get(t))
        for t in sorted({*boards, *same_as})
    ]
    listed = scores.sparkSession.createDataFrame(
        rows, "topic string, display_name string, parent string, same_as string"
    )
    counts = scores.groupBy(F.col("topic").alias("_board")).agg(F.count(F.lit(1)).alias("_n"))
    out = (
        listed.withColumn("_board", F.coalesce("same_as", "topic"))
        .join(counts, "_board", "left")
        .select(
            "topic",
            "display_name",
            "parent",
            F.coalesce("_n", F.lit(0)).alias("accounts"),
            "same_as",
            F.lit(run_id).alias("run_id"),
        )
    )
    return _contract(out, "topics")


def _contract(df: DataFrame, name: str) -> DataFrame:
    """The table's output contract: its schema's columns, in order, with their types."""
    table = schemas.table(name)
    types = table.spark_schema()
    return df.select(*[F.col(f.name).cast(types[f.name].dataType) for f in table.fields])
