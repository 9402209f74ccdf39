"""explain: the day's weighted graph as published tables, so that any account's score is explained exactly.

Pure DataFrame transforms (no session, no I/O), called by ``jobs.rank_step.rank_networks`` for one
network after the PageRank:

* :func:`graph_edges`: ``graph_edges``, one row per (src, dst) pair of the edges PageRank ranked
  (``d["slot_edges"]``, factored: ``w``, ``n``, ``m``, see :func:`jobs.topics.slot_factors`), in
  the global slot: the transition weight ``weight``, the edge's part of the source's normaliser
  ``norm_weight`` and the normaliser itself ``out_weight``, exactly as
  :func:`jobs.pagerank.pagerank_arrays` computes them; and ``flow_weight``, the weight the rank
  flowed along once the spark cap (:mod:`jobs.sparks`) held the pair's flow to ``cap`` of the
  destination's rank: ``min(weight, cap * pagerank(v) * out_weight(u) / (d * pagerank(u)))``;
* :func:`graph_vertices`: ``graph_vertices``, one row per scored account: its ``pagerank``, the
  rank that came along its in-edges (``in_flow``) and the rest (``base``, the teleport's part).

The global PageRank's fixed point, per account v (d = damping, N accounts)::

    pagerank(v) = sum over edges u -> v of d * pagerank(u) * flow_weight(u, v) / out_weight(u)  +  base
    out_weight(u) = sum over u's edges of norm_weight,    norm_weight = max(weight, undefended weight)

``base`` is the same for every account of the network: (1 - d) / N plus the rank that dangling
accounts, the defenses' withheld credit (norm_weight - weight) and the spark cap's (weight -
flow_weight) return through the uniform teleport. A contributor u's share of v's score is its term over pagerank(v); the shares of every
contributor plus ``base_share = base / pagerank(v)`` add to 1.

Topic scores: slot t's weights are ``weight * m_t`` and its normalisers ``norm_weight * m_t``,
``m_t = coalesce(topic_factors[t], offtopic_factor)`` (the global slot's multiplier is 1,
:func:`jobs.topics.slot_scale`), each flow capped at ``cap`` of the destination's topic rank as
in the global slot; explaining a topic score from these tables would also need every
contributor's topic rank, which is published (``topic_scores``) only for accounts with evidence on
the topic, so topic scores are explained by ``score_contributors`` (the top accounts of each topic).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

import schemas
from jobs.topics import kinds_mix


def graph_edges(
    slot_edges: DataFrame,
    events: DataFrame,
    topics: list[str],
    offtopic: float,
    run_id: str,
    ranks: DataFrame | None = None,
    damping: float = 0.85,
    cap: float = 0.0,
    mix: DataFrame | None = None,
) -> DataFrame:
    """The ``graph_edges`` rows of one network.

    ``slot_edges``: ``src, dst, w`` and optionally ``n`` and ``m`` (factored slot weights, the
    DataFrame PageRank ranked); ``events``: ``actor_id, target_id, kind`` (the window's decayed
    events, for ``events`` and ``kinds``); ``topics``: the ranked topics (slots 1..K); ``ranks``:
    ``id, pagerank`` (the global ranks) and ``damping``, with ``cap`` (the global slot's
    ``spark_max_share``; 0 or None: uncapped) for ``flow_weight``; ``mix``: the events' ``src, dst,
    events, kinds`` when already computed (:func:`jobs.topics.kinds_mix` of ``events``).

    As the engines do: a weight below 0 (or null) counts as 0, an edge's normaliser is
    ``max(w, n)`` (n null or absent: w), and slot s multiplies both by ``m[s]`` (default: 1 for the
    global slot 0, ``offtopic`` for a topic slot).
    """
    cols = slot_edges.columns
    w = F.greatest(F.coalesce(F.col("w").cast("double"), F.lit(0.0)), F.lit(0.0))
    norm = F.greatest(w, F.col("n").cast("double")) if "n" in cols else w
    mult0 = F.coalesce(F.col("m")[0], F.lit(1.0)) if "m" in cols else F.lit(1.0)
    mult0 = F.greatest(mult0.cast("double"), F.lit(0.0))
    if "m" in cols and topics:
        names = F.array(*[F.lit(t) for t in topics])
        listed = F.map_filter("m", lambda k, _v: (k >= 1) & (k <= len(topics)))
        factors = F.transform_keys(listed, lambda k, _v: F.get(names, k - 1))
        factors = F.transform_values(factors, lambda _k, v: F.greatest(v.cast("double"), F.lit(0.0)))
        # in topic order, so that a rerun writes the same map (the slots' order in m is the order of a collect_list)
        factors = F.when(F.size(factors) > 0, F.map_from_entries(F.array_sort(F.map_entries(factors))))
    else:
        factors = F.lit(None).cast("map<string,double>")
    e = slot_edges.select(
        "src", "dst", (w * mult0).alias("weight"), (norm * mult0).alias("norm_weight"), factors.alias("topic_factors")
    )
    e = e.withColumn("out_weight", F.sum("norm_weight").over(Window.partitionBy("src")))
    if ranks is not None and cap and 0 < cap < 1:
        pr = ranks.select("id", F.col("pagerank").cast("double").alias("_p"))
        # the flow d * pr(u) * w / out(u) held to cap * pr(v): w at most cap * pr(v) * out(u) / (d * pr(u))
        most = F.lit(float(cap)) * F.col("_pv") * F.col("out_weight") / (F.lit(float(damping)) * F.col("_pu"))
        e = (
            e.join(pr.withColumnRenamed("id", "src").withColumnRenamed("_p", "_pu"), "src", "left")
            .join(pr.withColumnRenamed("id", "dst").withColumnRenamed("_p", "_pv"), "dst", "left")
            .withColumn(
                "flow_weight", F.when(F.col("_pu") > 0, F.least(F.col("weight"), most)).otherwise(F.col("weight"))
            )
        )
    else:
        e = e.withColumn("flow_weight", F.col("weight"))
    if mix is None:
        mix = kinds_mix(
            events.select(F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), "kind"), ["src", "dst"]
        )
    out = e.join(mix, ["src", "dst"], "left").select(
        "src",
        "dst",
        "weight",
        "flow_weight",
        "norm_weight",
        "out_weight",
        F.coalesce("events", F.lit(0)).alias("events"),
        F.coalesce("kinds", F.lit("")).alias("kinds"),
        "topic_factors",
        F.lit(float(offtopic)).alias("offtopic_factor"),
        F.lit(run_id).alias("run_id"),
    )
    return _contract(out, "graph_edges")


def graph_vertices(edges: DataFrame, scores: DataFrame, damping: float, run_id: str) -> DataFrame:
    """The ``graph_vertices`` rows of one network.

    ``edges``: its ``graph_edges`` (``src, dst, flow_weight, out_weight``); ``scores``: its
    ``account_scores`` (``account_id, handle, pagerank, influence``); ``damping``: the d of the
    PageRank. ``in_flow`` = the sum of ``d * pagerank(src) * flow_weight / out_weight`` over the
    account's in-edges, ``base = pagerank - in_flow``, ``base_share = base / pagerank``.
    """
    pr = scores.select(F.col("account_id").alias("src"), F.col("pagerank").alias("_pr"))
    d = F.lit(float(damping))
    flows = (
        edges.where(F.col("out_weight") > 0)
        .join(pr, "src")
        .groupBy(F.col("dst").alias("id"))
        .agg(F.sum(d * F.col("_pr") * F.col("flow_weight") / F.col("out_weight")).alias("_in"))
    )
    out_w = edges.groupBy(F.col("src").alias("id")).agg(F.max("out_weight").alias("_out"))
    in_flow = F.coalesce(F.col("_in"), F.lit(0.0))
    out = (
        scores.select(F.col("account_id").alias("id"), "handle", "pagerank", "influence")
        .join(flows, "id", "left")
        .join(out_w, "id", "left")
        .select(
            "id",
            "handle",
            "pagerank",
            "influence",
            in_flow.alias("in_flow"),
            (F.col("pagerank") - in_flow).alias("base"),
            F.when(F.col("pagerank") > 0, (F.col("pagerank") - in_flow) / F.col("pagerank"))
            .otherwise(F.lit(1.0))
            .alias("base_share"),
            F.coalesce(F.col("_out"), F.lit(0.0)).alias("out_weight"),
            d.alias("damping"),
            F.lit(run_id).alias("run_id"),
        )
    )
    return _contract(out, "graph_vertices")


def _contract(df: DataFrame, name: str) -> DataFrame:
    """The table's schema: its columns, in order, with their types."""
    types = schemas.table(name).spark_schema()
    return df.select(*[F.col(f.name).cast(f.dataType) for f in types.fields])
