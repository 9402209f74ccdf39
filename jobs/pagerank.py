"""rank: weighted, personalized PageRank by message passing over Spark DataFrames.

    r_k = d * P^T r_k + (d * dangling_k + (1 - d)) * v_k,   P[i][j] = w(i->j) / sum_j w(i->j)

for one or more teleport vectors ``v_k`` at once (``key`` column): every
superstep is one pass over the edges that carries every key, in the
vertex-program style of Pregel (send ``r * p`` along each edge, sum the messages
at the destination, update the vertex). Mass at accounts with no outgoing edge
(dangling) is returned through ``v_k``, as ``networkx.pagerank(...,
personalization=v, dangling=None)`` does, and the loop stops when every key's L1
change is below ``N * tol`` (networkx's rule) or after ``max_iter`` supersteps.

Why not GraphFrames' Pregel: its JVM jars (io.graphframes:graphframes-spark4_2.13)
are not served by the Maven repository this project can reach, so the same
superstep is written here with DataFrame joins and aggregations (which is how
GraphFrames' Pregel is implemented too). See README, "GraphFrames".
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

GLOBAL_KEY = "global"


@dataclass
class RankResult:
    ranks: DataFrame  # id, key, pagerank (persisted: call unpersist() when done)
    iterations: int
    converged: bool
    last_error: dict[str, float]

    def unpersist(self) -> None:
        self.ranks.unpersist()


def transition_edges(edges: DataFrame) -> DataFrame:
    """``src, dst, p``: edge weights normalised per source; non-positive weights dropped."""
    e = edges.where(F.col("weight") > 0).groupBy("src", "dst").agg(F.sum("weight").alias("weight"))
    out = e.groupBy("src").agg(F.sum("weight").alias("_out"))
    return e.join(out, "src").select("src", "dst", (F.col("weight") / F.col("_out")).alias("p"))


def uniform_teleport(vertices: DataFrame, key: str = GLOBAL_KEY) -> DataFrame:
    """``id, key, v``: the uniform teleport vector over all vertices."""
    n = vertices.count()
    return vertices.select("id", F.lit(key).alias("key"), F.lit(1.0 / n).alias("v"))


def normalize_teleport(teleport: DataFrame) -> DataFrame:
    """Scale each key's teleport weights to sum to 1 (weights must be >= 0)."""
    t = teleport.where(F.col("v") > 0)
    s = t.groupBy("key").agg(F.sum("v").alias("_s"))
    return t.join(F.broadcast(s), "key").select("id", "key", (F.col("v") / F.col("_s")).alias("v"))


def pagerank(
    vertices: DataFrame,
    edges: DataFrame,
    teleport: DataFrame | None = None,
    damping: float = 0.85,
    tol: float = 1e-9,
    max_iter: int = 100,
    steps_per_job: int = 5,
) -> RankResult:
    """Run PageRank for every key of ``teleport`` (default: one uniform, global key).

    ``vertices``: ``id``; ``edges``: ``src, dst, weight``; ``teleport``: ``id, key, v``.
    Edges to or from ids not in ``vertices`` are ignored.

    The supersteps iterate the linear map ``y <- d * P^T y + (1 - d) * v`` and the
    result is ``y / sum(y)``. Because dangling mass is returned through ``v``,
    the exact PageRank is proportional to the fixed point of that map
    (``r = (1 - d + d * dangling) * (I - d P^T)^-1 v``), so no global sum is
    needed inside a superstep and ``steps_per_job`` supersteps are chained in one
    Spark job before the state is checkpointed and the convergence test (the L1
    change of the normalised ranks over the last superstep, below ``N * tol``)
    is read.
    """
    vertices = vertices.select("id").distinct().persist(StorageLevel.MEMORY_AND_DISK)
    n = vertices.count()
    if n == 0:
        raise ValueError("PageRank over an empty vertex set")
    ids = vertices.select(F.col("id").alias("src"))
    e = edges.join(ids, "src", "left_semi").join(ids.withColumnRenamed("src", "dst"), "dst", "left_semi")
    trans = transition_edges(e).localCheckpoint(eager=True)
    tele = normalize_teleport(
        uniform_teleport(vertices) if teleport is None else teleport.join(vertices, "id", "left_semi")
    ).localCheckpoint(eager=True)
    keys = sorted(r["key"] for r in tele.select("key").distinct().collect())
    if not keys:
        raise ValueError("PageRank with an empty teleport vector")

    d = float(damping)
    zero = F.lit(0.0)
    fixed = tele.select("id", "key", (F.lit(1.0 - d) * F.col("v")).alias("y"), zero.alias("prev"))
    state = tele.select("id", "key", F.col("v").alias("y"), zero.alias("prev")).localCheckpoint(eager=True)
    iterations, converged = 0, False
    err = {k: float("inf") for k in keys}
    total = {k: 1.0 for k in keys}
    while iterations < max_iter:
        block = min(steps_per_job, max_iter - iterations)
        new = state
        for i in range(block):
            last = i == block - 1
            msgs = new.join(trans, new["id"] == trans["src"]).select(
                F.col("dst").alias("id"), "key", (F.lit(d) * F.col("y") * F.col("p")).alias("y"), zero.alias("prev")
            )
            parts = msgs.unionByName(fixed)
            if last:  # carry the previous value for the convergence test
                parts = parts.unionByName(new.select("id", "key", zero.alias("y"), F.col("y").alias("prev")))
            new = parts.groupBy("id", "key").agg(F.sum("y").alias("y"), F.sum("prev").alias("prev"))
        new = new.localCheckpoint(eager=True)
        iterations += block
        # L1 change of the normalised ranks over the last superstep.
        sums = {r["key"]: (float(r["sy"]), float(r["sp"])) for r in new.groupBy("key").agg(F.sum("y").alias("sy"), F.sum("prev").alias("sp")).collect()}
        total = {k: v[0] for k, v in sums.items()}
        change = F.abs(F.col("y") / _per_key(total) - F.col("prev") / _per_key({k: v[1] for k, v in sums.items()}))
        err = {r["key"]: float(r["err"]) for r in new.groupBy("key").agg(F.sum(change).alias("err")).collect()}
        state.unpersist()
        state = new
        if all(err.get(k, 0.0) < n * tol for k in keys):
            converged = True
            break

    ranks = state.select("id", "key", (F.col("y") / _per_key(total)).alias("pagerank"))
    ranks = ranks.where(F.col("pagerank") > 0).persist(StorageLevel.MEMORY_AND_DISK)
    ranks.count()
    for df in (state, trans, tele, vertices):
        df.unpersist()
    return RankResult(ranks=ranks, iterations=iterations, converged=converged, last_error=err)


def _per_key(values: dict[str, float]) -> F.Column:
    """A per-key scalar as a column expression (keys are few: a literal map)."""
    if len(values) == 1:
        return F.lit(next(iter(values.values())))
    m = F.create_map(*[x for k, v in sorted(values.items()) for x in (F.lit(k), F.lit(float(v)))])
    return m[F.col("key")]
