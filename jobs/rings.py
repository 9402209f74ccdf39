"""rings: engagement rings (pods) — groups of accounts that mostly engage each other.

A ring is found in three steps, each a published setting (docs/methodology.md "Engagement rings"):

1. **mutual heavy pairs**: two accounts whose saturated weights both ways (``norm_weight`` of
   :func:`jobs.graph.build_edges`: before any discount) are at least ``ring_pair_weight``;
2. **groups**: the connected components of the graph of those pairs, by GraphFrames'
   ``connectedComponents`` (:func:`jobs.graphframe.connected_components`);
3. **insular groups**: a component of ``ring_min_size`` to ``ring_max_size`` accounts whose
   members give at least ``ring_internal_share`` of their engagement (saturated weight) to each
   other. A larger component is a community, not a pod; a group that also engages widely
   outside is a circle of friends, not a ring.

A ring is named ``ring-<smallest member id>``. Before ranking, the weight of every edge between
two members of the same ring is multiplied by ``ring_discount``; PageRank still divides by the
undiscounted weights, so the credit a ring passes around inside returns to the teleport; the
weight of every other edge into a member is multiplied by ``ring_member_credit`` (the outside
engagement a pod's members collect is what the pod is for). The recognition on a topic (the
topic's teleport) is discounted the same two ways.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.graphframe import connected_components, graph_frame
from kindling.core.settings import DEFAULTS

RINGS_SCHEMA = T.StructType(
    [T.StructField("account_id", T.StringType(), False), T.StructField("ring_id", T.StringType(), True)]
)
"""What :func:`detect_rings` returns (the columns and types a found ring's rows have)."""


def mutual_heavy_pairs(edges: DataFrame, min_weight: float) -> DataFrame:
    """``src, dst``: both directions of every pair whose weights both ways are >= ``min_weight``."""
    col = "norm_weight" if "norm_weight" in edges.columns else "weight"
    e = edges.where(F.col(col) >= F.lit(float(min_weight))).select("src", "dst")
    back = e.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
    return e.join(back, ["src", "dst"], "left_semi").where(F.col("src") != F.col("dst"))


def components(pairs: DataFrame) -> DataFrame:
    """``id, label``: each vertex of ``pairs`` (symmetric ``src, dst``) and the smallest id of its
    connected component, found by GraphFrames' ``connectedComponents``."""
    vertices = pairs.select(F.col("src").alias("id")).distinct()
    comp = connected_components(graph_frame(vertices, pairs.select("src", "dst")))
    return comp.join(comp.groupBy("component").agg(F.min("id").alias("label")), "component").select("id", "label")


def detect_rings(
    edges: DataFrame,
    *,
    pair_weight: float = DEFAULTS.ring_pair_weight,
    min_size: int = DEFAULTS.ring_min_size,
    max_size: int = DEFAULTS.ring_max_size,
    internal_share: float = DEFAULTS.ring_internal_share,
) -> DataFrame:
    """``account_id, ring_id`` of the members of every engagement ring in ``edges``
    (``src, dst, weight`` and, from :func:`jobs.graph.build_edges`, ``norm_weight``).

    A ring: a connected group of ``min_size`` to ``max_size`` accounts joined by mutual pairs of
    weight at least ``pair_weight`` both ways, that give at least ``internal_share`` of their
    engagement to each other (the settings ``ring_*``)."""
    col = "norm_weight" if "norm_weight" in edges.columns else "weight"
    # materialised: GraphFrames' components re-read their input every round, and a long plan (the
    # window's decayed events) would grow with every one of them
    pairs = mutual_heavy_pairs(edges, pair_weight).localCheckpoint(eager=True)
    labels = None
    try:
        if pairs.isEmpty():  # no mutual heavy pair, no ring: no components to run (seconds on a small day)
            return edges.sparkSession.createDataFrame([], RINGS_SCHEMA)
        labels = components(pairs).persist()
        sized = (
            labels.groupBy("label")
            .agg(F.count(F.lit(1)).alias("size"))
            .where((F.col("size") >= min_size) & (F.col("size") <= max_size))
        )
        members = labels.join(sized.select("label"), "label", "left_semi")
        out = edges.select("src", "dst", F.col(col).alias("x")).join(
            members.select(F.col("id").alias("src"), F.col("label").alias("_s")), "src"
        )
        out = out.join(members.select(F.col("id").alias("dst"), F.col("label").alias("_d")), "dst", "left")
        share = out.groupBy(F.col("_s").alias("label")).agg(
            (F.sum(F.when(F.col("_d") == F.col("_s"), F.col("x")).otherwise(0.0)) / F.sum("x")).alias("share")
        )
        insular = share.where(F.col("share") >= F.lit(float(internal_share))).select("label")
        rings = members.join(insular, "label", "left_semi").select(
            F.col("id").alias("account_id"), F.concat(F.lit("ring-"), F.col("label")).alias("ring_id")
        )
        return rings.localCheckpoint(eager=True)
    finally:
        pairs.unpersist()
        if labels is not None:
            labels.unpersist()


def discount_rings(
    edges: DataFrame,
    rings: DataFrame,
    factor: float,
    src: str = "src",
    dst: str = "dst",
    weight: str = "weight",
    outside: float = 1.0,
) -> DataFrame:
    """``edges`` with the ``weight`` of every row between two members of one ring multiplied by
    ``factor``, and of every other row into a ring member multiplied by ``outside``.

    ``outside`` (``ring_member_credit``) is the share a detected member keeps of the credit it gets
    from outside its ring: a pod exists to make the platform show its members' posts to more people,
    so the outside engagement they collect is a product of the pod too. 1 leaves it whole.

    The same for any table of engagements: ``src``, ``dst`` and ``weight`` name its columns
    (the topic events: ``actor_id``, ``target_id``, ``w``).
    """
    if factor >= 1 and outside >= 1:
        return edges
    cols = edges.columns
    r = rings.select("account_id", "ring_id")
    joined = edges.join(r.select(F.col("account_id").alias(src), F.col("ring_id").alias("_rs")), src, "left").join(
        r.select(F.col("account_id").alias(dst), F.col("ring_id").alias("_rd")), dst, "left"
    )
    inside = F.col("_rs").isNotNull() & (F.col("_rs") == F.col("_rd"))
    w = (
        F.when(inside, F.col(weight) * F.lit(float(factor)))
        .when(F.col("_rd").isNotNull(), F.col(weight) * F.lit(float(outside)))
        .otherwise(F.col(weight))
    )
    return joined.select(*[w.alias(weight) if c == weight else F.col(c) for c in cols])
