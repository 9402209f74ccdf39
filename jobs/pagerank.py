"""rank: weighted, personalized PageRank by message passing over Spark DataFrames.

For every vertex group ``g`` (a network) and every slot ``k`` of that group
(the global score, then one slot per topic), with its own transition weights
``w_k`` and teleport vector ``v_k``:

    r_k = d * P_k^T r_k + (d * dangling_k + (1 - d)) * v_k,   P_k[i][j] = w_k(i->j) / sum_j w_k(i->j)

All slots advance together: a vertex's state is one array holding every slot
of its group, an edge carries one array of weights, and each superstep is ONE
pass over the edges (send ``y * p`` elementwise along each edge, sum the arrays
at the destination) — Pregel's vertex program with vector-valued messages, so
that fifty topics cost one join and one aggregation per superstep rather than
fifty. Mass at a vertex with no outgoing weight for a slot (dangling) returns
through ``v_k``, as ``networkx.pagerank(..., personalization=v, dangling=None)``
does, and the loop stops when every slot's L1 change is below ``N * tol``
(networkx's rule) or after ``max_iter`` supersteps.

Why not GraphFrames' Pregel: its JVM jars (io.graphframes:graphframes-spark4_2.13)
are not served by the Maven repository this project can reach, so the superstep
is written here with DataFrame joins and aggregations (which is how GraphFrames'
Pregel is implemented too). See README, "GraphFrames".
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

GLOBAL_KEY = "global"
_BUCKETS = 64  # partial sums of per-slot totals: groups of ~N/64 vertices, then one small explode


@dataclass
class ArrayRankResult:
    ranks: DataFrame  # id, grp, pr: array<double> (each slot sums to 1 within its group); persisted
    iterations: int
    converged: bool
    last_error: dict[str, list[float]]  # grp -> L1 change per slot over the last superstep

    def unpersist(self) -> None:
        self.ranks.unpersist()


@dataclass
class RankResult:
    ranks: DataFrame  # id, key, pagerank (persisted: call unpersist() when done)
    iterations: int
    converged: bool
    last_error: dict[str, float]

    def unpersist(self) -> None:
        self.ranks.unpersist()


# --- array helpers ------------------------------------------------------------
def array_sum(values: Column) -> Column:
    """Elementwise sum of a list of equal-length arrays (null for an empty list)."""
    return F.aggregate(
        F.slice(values, 2, F.greatest(F.size(values), F.lit(1))),
        F.get(values, 0),
        lambda acc, x: F.zip_with(acc, x, lambda a, b: a + b),
    )


def _group_sums(df: DataFrame, col: str, by: str = "grp") -> dict[str, list[float]]:
    """Per-group elementwise sums of an array column (two-level: hashed buckets, then the driver)."""
    part = (
        df.groupBy(by, (F.abs(F.hash("id")) % _BUCKETS).alias("_b"))
        .agg(F.collect_list(col).alias("_l"))
        .select(by, array_sum(F.col("_l")).alias("_s"))
        .collect()
    )
    out: dict[str, list[float]] = {}
    for r in part:
        s = r["_s"]
        if s is None:
            continue
        acc = out.setdefault(r[by], [0.0] * len(s))
        for i, x in enumerate(s):
            acc[i] += x
    return out


def _per_group_array(values: dict[str, list[float]], by: str = "grp") -> Column:
    """A per-group array constant as a column (groups are few: a literal map)."""
    pairs = []
    for g, arr in sorted(values.items()):
        pairs += [F.lit(g), F.array(*[F.lit(float(x)) for x in arr])]
    return F.create_map(*pairs)[F.col(by)]


def _safe_div(a: Column, b: Column) -> Column:
    return F.zip_with(a, b, lambda x, y: F.when(y > 0, x / y).otherwise(F.lit(0.0)))


# --- the engine -----------------------------------------------------------------
def pagerank_arrays(
    vertices: DataFrame,
    edges: DataFrame,
    teleport: DataFrame,
    damping: float = 0.85,
    tol: float = 1e-9,
    max_iter: int = 100,
    steps_per_job: int = 5,
) -> ArrayRankResult:
    """Every slot of every group in one pass per superstep.

    ``vertices``: ``id, grp``; ``edges``: ``src, dst, w`` (array<double>, one
    weight per slot of the source's group; edges never cross groups);
    ``teleport``: ``id, v`` (array<double>, same length; non-negative). A slot
    whose teleport weights are all zero in a group stays all-zero.

    The supersteps iterate the linear map ``y <- d * P^T y + (1 - d) * v`` per
    slot and the result is ``y / sum(y)``: with dangling mass returned through
    ``v`` the exact PageRank is proportional to that map's fixed point, so no
    global sum is needed inside a superstep and ``steps_per_job`` supersteps are
    chained in one Spark job before the state is checkpointed and the
    convergence test (each slot's L1 change of the normalised ranks over the
    last superstep, below ``N_group * tol``) is read.
    """
    verts = vertices.select("id", "grp").dropDuplicates(["id"]).persist(StorageLevel.MEMORY_AND_DISK)
    sizes = {r["grp"]: int(r["n"]) for r in verts.groupBy("grp").agg(F.count(F.lit(1)).alias("n")).collect()}
    if not sizes:
        raise ValueError("PageRank over an empty vertex set")
    ids = verts.select(F.col("id").alias("src"))
    e = edges.join(ids, "src", "left_semi").join(ids.withColumnRenamed("src", "dst"), "dst", "left_semi")
    e = e.select("src", "dst", F.transform("w", lambda x: F.greatest(x, F.lit(0.0))).alias("w"))
    e = e.groupBy("src", "dst").agg(F.collect_list("w").alias("_l")).select("src", "dst", array_sum(F.col("_l")).alias("w"))
    out = e.groupBy("src").agg(F.collect_list("w").alias("_l")).select("src", array_sum(F.col("_l")).alias("_out"))
    trans = (
        e.join(out, "src")
        .select("src", "dst", _safe_div(F.col("w"), F.col("_out")).alias("p"))
        .localCheckpoint(eager=True)
    )

    tele = teleport.join(verts, "id").select(
        "id", "grp", F.transform("v", lambda x: F.greatest(x, F.lit(0.0))).alias("v")
    )
    tsum = _group_sums(tele, "v")
    if not tsum or all(sum(a) <= 0 for a in tsum.values()):
        raise ValueError("PageRank with an empty teleport vector")
    tele = tele.select("id", "grp", _safe_div(F.col("v"), _per_group_array(tsum)).alias("v")).localCheckpoint(eager=True)

    d = float(damping)
    fixed = tele.select("id", "grp", F.transform("v", lambda x: F.lit(1.0 - d) * x).alias("m"), F.lit(None).cast("array<double>").alias("pv"))
    state = tele.select("id", "grp", F.col("v").alias("y")).localCheckpoint(eager=True)
    iterations, converged = 0, False
    err: dict[str, list[float]] = {}
    total: dict[str, list[float]] = tsum
    while iterations < max_iter:
        block = min(steps_per_job, max_iter - iterations)
        new = state
        for i in range(block):
            last = i == block - 1
            msgs = new.join(trans, new["id"] == trans["src"]).select(
                F.col("dst").alias("id"),
                "grp",
                F.zip_with("y", "p", lambda a, b: F.lit(d) * a * b).alias("m"),
                F.lit(None).cast("array<double>").alias("pv"),
            )
            parts = msgs.unionByName(fixed)
            if last:  # carry the previous value for the convergence test
                parts = parts.unionByName(new.select("id", "grp", F.transform("y", lambda x: x * 0.0).alias("m"), F.col("y").alias("pv")))
            new = parts.groupBy("id", "grp").agg(F.collect_list("m").alias("_m"), F.collect_list("pv").alias("_p")).select(
                "id", "grp", array_sum(F.col("_m")).alias("y"), array_sum(F.col("_p")).alias("pv")
            )
            if not last:
                new = new.select("id", "grp", "y")
        new = new.where(F.col("y").isNotNull()).localCheckpoint(eager=True)
        iterations += block
        total = _group_sums(new, "y")
        prev_total = _group_sums(new.where(F.col("pv").isNotNull()), "pv")
        prev = F.coalesce(F.col("pv"), F.transform("y", lambda x: x * 0.0))
        change = F.zip_with(
            _safe_div(F.col("y"), _per_group_array(total)),
            _safe_div(prev, F.coalesce(_per_group_array(prev_total), F.transform("y", lambda x: x * 0.0))),
            lambda a, b: F.abs(a - b),
        )
        err = _group_sums(new.select("id", "grp", change.alias("c")), "c")
        state.unpersist()
        state = new.select("id", "grp", "y")
        if all(x < sizes[g] * tol for g, arr in err.items() for x in arr):
            converged = True
            break

    ranks = state.select("id", "grp", _safe_div(F.col("y"), _per_group_array(total)).alias("pr")).persist(StorageLevel.MEMORY_AND_DISK)
    ranks.count()
    for df in (state, trans, tele, verts):
        df.unpersist()
    return ArrayRankResult(ranks=ranks, iterations=iterations, converged=converged, last_error=err)


# --- one shared transition matrix, several teleport vectors -----------------------
def uniform_teleport(vertices: DataFrame, key: str = GLOBAL_KEY) -> DataFrame:
    """``id, key, v``: the uniform teleport vector over all vertices."""
    return vertices.select("id", F.lit(key).alias("key"), F.lit(1.0).alias("v"))


def pagerank(
    vertices: DataFrame,
    edges: DataFrame,
    teleport: DataFrame | None = None,
    damping: float = 0.85,
    tol: float = 1e-9,
    max_iter: int = 100,
    steps_per_job: int = 5,
) -> RankResult:
    """PageRank for every key of ``teleport`` (default: one uniform, global key), one weight per edge.

    ``vertices``: ``id``; ``edges``: ``src, dst, weight``; ``teleport``: ``id, key, v``.
    Edges to or from ids not in ``vertices`` are ignored. The keys become the
    slots of :func:`pagerank_arrays` (every slot shares the edge weights).
    """
    tele = uniform_teleport(vertices) if teleport is None else teleport
    keys = sorted(r["key"] for r in tele.select("key").distinct().collect())
    if not keys:
        raise ValueError("PageRank with an empty teleport vector")
    index = F.create_map(*[x for i, k in enumerate(keys) for x in (F.lit(k), F.lit(i))])
    v = tele.where(F.col("v") > 0).groupBy("id").agg(
        F.map_from_entries(F.collect_list(F.struct(index[F.col("key")], F.col("v").cast("double")))).alias("_m")
    )
    slots = F.sequence(F.lit(0), F.lit(len(keys) - 1))
    tele_arr = v.select("id", F.transform(slots, lambda i: F.coalesce(F.col("_m")[i], F.lit(0.0))).alias("v"))
    w = edges.where(F.col("weight") > 0).select("src", "dst", F.array_repeat(F.col("weight").cast("double"), len(keys)).alias("w"))
    res = pagerank_arrays(
        vertices.select("id", F.lit("").alias("grp")), w, tele_arr,
        damping=damping, tol=tol, max_iter=max_iter, steps_per_job=steps_per_job,
    )
    key_arr = F.array(*[F.lit(k) for k in keys])
    ranks = (
        res.ranks.select("id", F.posexplode("pr").alias("_i", "pagerank"))
        .where(F.col("pagerank") > 0)
        .select("id", key_arr[F.col("_i")].alias("key"), "pagerank")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    ranks.count()
    res.unpersist()
    err = dict(zip(keys, res.last_error.get("", [0.0] * len(keys)), strict=False))
    return RankResult(ranks=ranks, iterations=res.iterations, converged=res.converged, last_error=err)
