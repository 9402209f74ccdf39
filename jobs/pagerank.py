"""rank: weighted, personalized PageRank by message passing, on Spark.

For every vertex group ``g`` (a network) and every slot ``k`` of that group
(the global score, then one slot per topic), with its own transition weights
``w_k`` and teleport vector ``v_k``:

    r_k = d * P_k^T r_k + (d * dangling_k + (1 - d)) * v_k,   P_k[i][j] = w_k(i->j) / sum_j w_k(i->j)

All slots advance together: a vertex's state holds every slot of its group,
an edge carries one weight per slot, and each superstep is ONE pass over the
edges (send ``y * p`` slot by slot along each edge, sum at the destination) —
Pregel's vertex program with vector-valued messages, so that fifty topics cost
one pass per superstep rather than fifty. Mass at a vertex with no outgoing weight for a slot (dangling) returns
through ``v_k``, as ``networkx.pagerank(..., personalization=v, dangling=None)``
does, and the loop stops when every slot's L1 change is below ``N * tol``
(networkx's rule) or after ``max_iter`` supersteps.

Two engines run that superstep (``engine=``, setting ``pagerank_engine``):

* **vector** (engine/src/kindling/engine/VectorPageRank.java): the transition matrix as cached
  CSR blocks by destination, the vector broadcast each superstep, no shuffle per superstep; it
  tests convergence after every superstep;
* **graphframes** (engine/src/kindling/engine/GraphXPageRank.scala): distributed, on GraphFrames'
  GraphX module: a vertex's attribute is its slots, an edge's its slots' transition weights, and a
  superstep is one ``aggregateMessages`` (pre-aggregated per edge partition) and a zip join with
  the teleport part; nothing on the driver but per-group sums. Convergence is tested after every
  ``steps_per_job`` supersteps.

Both are tested against networkx (tests/test_pagerank.py) and against each other to 1e-10.

Why one long module: both engines share the id mapping, the slot layout, the teleport and
convergence rules and the spark cap; the one-engine-per-module split would copy those or export
the private helpers both need.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType

from kindling.core.failpoints import failpoint
from kindling.core.settings import DEFAULTS, PAGERANK_ENGINES

GLOBAL_KEY = "global"
# The engines (``engine=``): "vector" keeps the N x K rank vector on the driver and broadcasts it
# to cached CSR edge blocks (engine/, a JVM class); "graphframes" runs each superstep as a
# message-passing round on GraphFrames' GraphX module, distributed. "auto" takes the vector engine when its working set, ``vector_bytes``, is at
# most ``vector_max_mb`` MiB (0: ``heap_budget``): the driver holds two vectors (this one and the
# next) and three chunks (``VECTOR_CHUNK_MB``), and the edge blocks about two copies of the
# edges while they are built. Its memory is plain JVM heap that Spark cannot spill: a
# 20,000-account, 28-day daily run with 108 dense slots ran a 4 GiB driver out of heap, where the
# GraphFrames engine's cached graph spills to disk. Settings: pagerank_engine, pagerank_vector_max_mb.
ENGINE = DEFAULTS.pagerank_engine
VECTOR_MAX_MB = DEFAULTS.pagerank_vector_max_mb
VECTOR_CLASS = "kindling.engine.VectorPageRank"
GRAPHX_CLASS = "kindling.engine.GraphXPageRank"
# The GraphFrames engine drops edges to or from non-vertices through a broadcast of the vertex keys
# up to this many vertices (8 bytes each, plus the hash table's), and through shuffles beyond.
IDS_BROADCAST_MAX = 2_000_000
# The most the vector engine broadcasts at once: a superstep multiplies as many slots per Spark
# job as fit, so the driver's transient copies (the broadcast, its serialised pieces, the returned
# slices) stay this big whatever the slot count, and the slices stay under spark.driver.maxResultSize.
VECTOR_CHUNK_MB = 256


@dataclass
class ArrayRankResult:
    ranks: DataFrame  # id, grp, pr: array<double> (each slot sums to 1 within its group); persisted
    iterations: int  # supersteps in all (uncapped, then capped)
    converged: bool
    last_error: dict[str, list[float]]  # grp -> L1 change per slot over the last superstep
    capped_iterations: int = 0  # of ``iterations``, the supersteps with the cap on

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


# --- the engine -----------------------------------------------------------------
def _cols(prefix: str, k: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(k)]


def pagerank_arrays(
    vertices: DataFrame,
    edges: DataFrame,
    teleport: DataFrame,
    damping: float = 0.85,
    tol: float = 1e-9,
    max_iter: int = 100,
    steps_per_job: int = 5,
    engine: str = ENGINE,
    vector_max_mb: float = VECTOR_MAX_MB,
    scale: list[float] | None = None,
    cap: dict[str, list[float]] | None = None,
) -> ArrayRankResult:
    """Every slot of every group in one pass per superstep.

    ``vertices``: ``id, grp``; ``edges``: ``src, dst, w`` (array<double>, one
    weight per slot of the source's group; edges never cross groups) and optionally ``n``
    (array<double>, same length): the weight the edge counts for in its source's out-weight,
    at least ``w`` (a smaller n counts as w). Without ``n`` it is ``w``. With n > w the
    transitions of the source sum to less than 1 and the rest of its rank goes to the teleport,
    as a dangling vertex's does (``networkx.pagerank`` with a dangling ghost vertex that takes
    the n - w of every edge);
    ``teleport``: ``id, v`` (array<double>, same length; non-negative). A slot
    whose teleport weights are all zero in a group stays all-zero.

    **Factored edges** (``scale`` given, one multiplier per slot): ``w`` and ``n`` are doubles
    and an optional ``m`` (map<int, double>) lists the slots whose multiplier differs from
    ``scale``: slot t's weight is ``w * m.get(t, scale[t])`` and its normaliser ``n`` times the
    same multiplier (:func:`expand_slots` writes out the arrays). The same ranks as the arrays, with
    one weight and a few map entries per edge instead of one weight per slot: the vector engine
    keeps them so (about 16 bytes per edge whatever the slots), the GraphFrames engine expands them.

    **Capped** (``cap``: per group, per slot, a share; 0 or 1 and above, or a slot not listed:
    uncapped): no contributor's flow ``d * pr(u) * p(u -> v)`` into a vertex may count for more
    than that share of the vertex's rank. The uncapped map runs to convergence, then the capped
    one, ``y(v) <- (1 - d) v(v) + sum over u of min(d * y(u) * p(u -> v), share * y(v))``, from
    that fixed point: the capped map is monotone and below the uncapped one, so its iterates
    decrease to its greatest fixed point (from the teleport vector instead, a vertex with no
    teleport weight would stay at 0 whatever reached it). What a cap withholds returns through
    the teleport, as dangling mass does. At that fixed point a vertex without teleport weight in a
    slot keeps rank there only from at least ``1 / share`` contributors. See :mod:`jobs.sparks`.
    The vector engine solves each vertex's cap within the superstep (its greatest ``y(v)`` with
    the new value on both sides); the GraphFrames engine caps against the previous value, which
    reaches the same fixed point in more supersteps. ``cap`` assumes one edge row per (src, dst)
    pair (both engines cap each row alone).

    Inside, a vertex holds K slots (a group with fewer slots pads with zeros) and the engines
    iterate the linear map ``y <- d * P^T y + (1 - d) * v`` per slot; the result is ``y / sum(y)``:
    with dangling mass returned through ``v`` the exact PageRank is proportional to that map's
    fixed point, so no global sum is needed inside a superstep, and the convergence test (each
    slot's L1 change of the normalised ranks over the last superstep, below ``N_group * tol``)
    is read after every ``steps_per_job`` supersteps (the vector engine: after every one).
    """
    # Groups travel as small integers: a string in the aggregation buffer (first(grp))
    # would turn every superstep's hash aggregation into a sort-based one.
    names = sorted(r["grp"] for r in vertices.select("grp").distinct().collect())
    code = F.create_map(*[x for i, g in enumerate(names) for x in (F.lit(g), F.lit(i))])
    # Inside the loop a vertex is a 64-bit key, not its (string) id: joining and
    # hashing longs made a superstep 2x faster on 1M edges (bench/pagerank.py), and both
    # engines index 64-bit keys. Integral ids are their own key; other ids are hashed
    # (xxhash64), and if two ids of this graph share a hash the ids are numbered instead
    # (a join per id column, slower but exact).
    integral = isinstance(vertices.schema["id"].dataType, (LongType, IntegerType, ShortType, ByteType))
    key_of = (lambda c: F.col(c).cast("long")) if integral else (lambda c: F.xxhash64(F.col(c)))  # noqa: E731
    idmap = vertices.select("id", key_of("id").alias("k"), code[F.col("grp")].alias("grp")).dropDuplicates(["id"])
    idmap = idmap.persist(StorageLevel.MEMORY_AND_DISK)
    numbered = False
    if not integral:
        counts = idmap.agg(F.count(F.lit(1)).alias("n"), F.countDistinct("k").alias("keys")).first()
        assert counts is not None  # a global aggregate has one row
        if counts["n"] != counts["keys"]:  # a hash collision: number the ids
            idmap.unpersist()
            idmap = (
                vertices.select("id", code[F.col("grp")].alias("grp"))
                .dropDuplicates(["id"])
                .withColumn("k", F.monotonically_increasing_id())
                .localCheckpoint(eager=True)
            )
            numbered = True

    def keyed(df: DataFrame, *cols: str) -> DataFrame:
        """``df`` with its id columns ``cols`` replaced by the ids' keys (rows whose id is not a vertex dropped
        when the ids are numbered)."""
        if not numbered:
            return df.select(*[key_of(c).alias(c) if c in cols else c for c in df.columns])
        order = df.columns
        for c in cols:
            df = (
                df.join(idmap.select(F.col("id").alias(c), F.col("k").alias("_k")), c)
                .drop(c)
                .withColumnRenamed("_k", c)
            )
        return df.select(*order)

    verts = idmap.select(F.col("k").alias("id"), "grp")
    extra = [c for c in ("n", "m") if c in edges.columns]
    edges = keyed(edges.select("src", "dst", "w", *extra), "src", "dst")
    sizes = {r["grp"]: int(r["n"]) for r in verts.groupBy("grp").agg(F.count(F.lit(1)).alias("n")).collect()}
    if not sizes:
        raise ValueError("PageRank over an empty vertex set")
    # Slots: the longest teleport array (a group's own count is its vertices' longest, below).
    longest = teleport.agg(F.max(F.size("v")).alias("k")).first()
    assert longest is not None  # a global aggregate has one row
    k = longest["k"] or 0
    if k <= 0:
        raise ValueError("PageRank with an empty teleport vector")
    if scale is not None:
        if len(scale) < k or any(not x >= 0 for x in scale):
            raise ValueError(f"scale: {len(scale)} multipliers for {k} slots (need one >= 0 per slot)")
        scale = [float(x) for x in scale[:k]]
    # Each slot's weight, clamped to >= 0 (a missing slot is 0): SQL text, one py4j call.
    slot = lambda arr, i: f"greatest(coalesce(get({arr}, {i}), 0.0D), 0.0D)"  # noqa: E731
    spark = edges.sparkSession
    parts_n = int(str(spark.conf.get("spark.sql.shuffle.partitions")))
    caps = _cap_codes(cap, names, k)
    if _vector_fits(engine, sum(sizes.values()), edges, k, vector_max_mb, factored=scale is not None):
        state, total, err, iterations, converged, release, slots, capped = _run_vector(
            verts,
            edges,
            keyed(teleport.select("id", "v"), "id"),
            slot,
            k,
            len(names),
            float(damping),
            tol,
            max_iter,
            steps_per_job,
            parts_n,
            scale,
            caps,
        )
        shape = {g: (n, slots[g]) for g, n in sizes.items()}
    else:
        tele = (
            teleport.join(idmap, "id").select(F.col("k").alias("id"), "grp", "v").persist(StorageLevel.MEMORY_AND_DISK)
        )
        shape = {
            r["grp"]: (int(r["n"]), int(r["k"]) if r["k"] is not None else 0)
            for r in verts.join(tele.select("id", F.size("v").alias("k")), "id", "left")
            .groupBy("grp")
            .agg(F.count(F.lit(1)).alias("n"), F.max("k").alias("k"))
            .collect()
        }
        k = max(s[1] for s in shape.values())
        if k == 0:
            raise ValueError("PageRank with an empty teleport vector")
        if scale is not None:
            edges = expand_slots(edges, scale[:k])
        state, total, err, iterations, converged, capped, release = _run_graphframes(
            verts,
            edges,
            tele,
            slot,
            k,
            len(names),
            float(damping),
            tol,
            max_iter,
            steps_per_job,
            parts_n,
            caps,
            vertex_count=sum(sizes.values()),
        )
    Y = _cols("y", k)
    length = "CASE grp " + " ".join(f"WHEN {g} THEN {kg}" for g, (_n, kg) in sorted(shape.items())) + " END"
    pr = f"slice(array({', '.join(_sql_div(Y[i], _group_sql(total, i)) for i in range(k))}), 1, {length})"
    label = F.array(*[F.lit(g) for g in names])[F.col("grp")]
    if not integral:
        named = state.join(idmap.select(F.col("k").alias("_k"), F.col("id").alias("_id")), F.col("id") == F.col("_k"))
    else:  # an integral id is its own key
        named = state.withColumn("_id", F.col("id").cast(vertices.schema["id"].dataType))
    ranks = named.select(F.col("_id").alias("id"), label.alias("grp"), F.expr(pr).alias("pr")).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    ranks.count()
    release()
    idmap.unpersist()
    return ArrayRankResult(
        ranks=ranks,
        iterations=iterations,
        converged=converged,
        last_error={names[g]: v for g, v in err.items()},
        capped_iterations=capped,
    )


def _cap_codes(cap: dict[str, list[float]] | None, names: list[str], k: int) -> dict[int, list[float]] | None:
    """``cap`` by group code, K shares each (0: uncapped); None when no slot is capped."""
    if not cap:
        return None
    unknown = set(cap) - set(names)
    if unknown:
        raise ValueError(f"cap: groups {sorted(unknown)} are not among the vertices' groups")
    out = {}
    for g, name in enumerate(names):
        shares = [float(x) for x in cap.get(name, [])][:k]
        if any(not x >= 0 for x in shares):
            raise ValueError(f"cap of group {name!r}: shares must be >= 0, got {shares}")
        out[g] = [x if 0 < x < 1 else 0.0 for x in shares] + [0.0] * (k - len(shares))
    return out if any(x > 0 for arr in out.values() for x in arr) else None


def vector_bytes(n: int, e: int, k: int, pairs: int | None = None, chunk_mb: float = VECTOR_CHUNK_MB) -> int:
    """The vector engine's working set, estimated: two N x K vectors and three chunks of at most
    ``chunk_mb`` (see ``VECTOR_CHUNK_MB``), and two copies of the edges' K weights (``pairs``
    None: dense edges) or of their factored form (28 bytes per edge and 12 per listed slot)."""
    vectors = 16 * k * n + 3 * min(8 * k * n, max(8 * n, int(chunk_mb * 2**20)))
    if pairs is None:
        return vectors + 16 * k * e
    return vectors + 2 * (28 * e + 12 * pairs)


def _vector_fits(engine: str, n: int, edges: DataFrame, k: int, max_mb: float, factored: bool = False) -> bool:
    if engine not in PAGERANK_ENGINES:
        raise ValueError(f"pagerank engine {engine!r}: expected one of {', '.join(PAGERANK_ENGINES)}")
    if engine != "auto":
        return engine == "vector"
    budget = max_mb * 2**20 if max_mb > 0 else heap_budget(edges.sparkSession)
    # the edges are counted only when the vertices alone leave room for them
    if vector_bytes(n, 0, k, 0 if factored else None) > budget:
        return False
    if not factored:
        return vector_bytes(n, edges.count(), k) <= budget
    listed = F.coalesce(F.size("m"), F.lit(0)) if "m" in edges.columns else F.lit(0)
    c = edges.agg(F.count(F.lit(1)).alias("e"), F.sum(listed).alias("pairs")).first()
    assert c is not None  # a global aggregate has one row
    return vector_bytes(n, c["e"], k, int(c["pairs"] or 0)) <= budget


def heap_budget(spark) -> float:
    """The default budget of ``auto`` (``pagerank_vector_max_mb`` 0): the share of the driver's
    heap that Spark leaves outside its unified memory (1 - spark.memory.fraction, 40% by default),
    which is where the vector engine's plain arrays live."""
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    fraction = float(spark.conf.get("spark.memory.fraction", "0.6"))
    return max(0.0, heap - 300 * 2**20) * (1.0 - fraction)


def expand_slots(edges: DataFrame, scale: list[float]) -> DataFrame:
    """Factored edges (``w``, ``n``: doubles, ``m``: map<int, double>, see :func:`pagerank_arrays`)
    as per-slot arrays: slot t's weight ``w * m.get(t, scale[t])``, its normaliser ``n`` times the same."""
    lits = ", ".join(_num(x) for x in scale)
    mult = (
        f"coalesce(m[i], element_at(array({lits}), i + 1))"
        if "m" in edges.columns
        else f"element_at(array({lits}), i + 1)"
    )
    arr = lambda c: f"transform(sequence(0, {len(scale) - 1}), i -> {c} * {mult}) AS {c}"  # noqa: E731
    keep = [c for c in edges.columns if c not in ("w", "n", "m")]
    return _select(edges, *keep, arr("w"), *([arr("n")] if "n" in edges.columns else []))


def _run_vector(
    verts: DataFrame,
    edges: DataFrame,
    tele: DataFrame,
    slot,
    k: int,
    groups: int,
    d: float,
    tol: float,
    max_iter: int,
    steps_per_job: int,
    parts: int,
    scale: list[float] | None = None,
    caps: dict[int, list[float]] | None = None,
):
    """The supersteps on the JVM vector engine (engine/src, ``VECTOR_CLASS``), which also builds
    the transition matrix from the edges and normalises the teleport vector. Returns its state,
    a callback that releases it, each group's slot count (its longest teleport array) and the
    number of capped supersteps (``caps``: per group code, K shares; after the uncapped map has
    converged, up to ``max_iter`` more supersteps with the cap on)."""
    from py4j.java_gateway import JavaClass

    spark = edges.sparkSession
    cls = spark._jvm
    for part in VECTOR_CLASS.split("."):
        cls = getattr(cls, part)
    if not isinstance(cls, JavaClass):
        raise RuntimeError(
            f"the PageRank vector engine ({VECTOR_CLASS}) is not on the Spark classpath: build it with "
            "`make env` (build/kindling-engine.jar), or set KINDLING_PAGERANK_ENGINE=graphframes"
        )
    has_n = "n" in edges.columns
    if scale is None:
        cols = [f"{slot('w', i)} AS w{i}" for i in range(k)] + (
            [f"{slot('n', i)} AS n{i}" for i in range(k)] if has_n else []
        )
        jscale = None
    else:
        m = "CAST(m AS MAP<INT, DOUBLE>)" if "m" in edges.columns else "CAST(NULL AS MAP<INT, DOUBLE>)"
        cols = ["coalesce(CAST(w AS DOUBLE), 0.0D) AS w", *(["CAST(n AS DOUBLE) AS n"] if has_n else []), f"{m} AS m"]
        gateway, jvm = spark.sparkContext._gateway, spark._jvm
        assert gateway is not None and jvm is not None  # a classic (JVM) session: the engine is a JVM class
        jscale = gateway.new_array(jvm.double, k)
        for i, x in enumerate(scale):
            jscale[i] = x
    eng = cls(
        verts.select("id", "grp")._jdf,
        _select(edges, "src", "dst", *cols)._jdf,
        has_n,
        jscale,
        _select(
            tele, "id", "CAST(coalesce(size(v), 0) AS INT) AS len", *[f"{slot('v', i)} AS v{i}" for i in range(k)]
        )._jdf,
        k,
        groups,
        d,
        float(tol),
        parts,
        int(VECTOR_CHUNK_MB * 2**20),
    )
    try:
        if not eng.hasTeleport():
            raise ValueError("PageRank with an empty teleport vector")
        iterations, uncapped = _supersteps(eng, spark, k, groups, max_iter, steps_per_job, caps)
        state = DataFrame(eng.state(), spark)
    except BaseException:
        eng.close()  # the cached blocks and the keys' broadcast
        raise
    flat = lambda arr: {g: list(arr[g * k : (g + 1) * k]) for g in range(groups)}  # noqa: E731
    slots = list(eng.slotCounts())
    return (
        state,
        flat(list(eng.totals())),
        flat(list(eng.lastError())),
        iterations,
        bool(eng.converged()),
        eng.close,
        {g: slots[g] for g in range(groups)},
        iterations - uncapped,
    )


def _supersteps(
    eng, spark, k: int, groups: int, max_iter: int, steps_per_job: int, caps: dict[int, list[float]] | None
) -> tuple[int, int]:
    """Drive a JVM engine (either class: ``run``, ``converged``, ``cap``): up to ``max_iter``
    supersteps to convergence, then, with ``caps`` (per group code, K shares), up to ``max_iter``
    more with the cap on. Returns the supersteps in all and the uncapped ones."""
    iterations = 0
    while iterations < max_iter and not eng.converged():
        iterations = eng.run(min(steps_per_job, max_iter - iterations))
        failpoint("rank:mid-pagerank", when=iterations >= 2)
    uncapped = iterations
    if caps is not None:
        shares = spark.sparkContext._gateway.new_array(spark._jvm.double, groups * k)
        for g, arr in caps.items():
            for t, x in enumerate(arr):
                shares[g * k + t] = x
        eng.cap(shares)
        while iterations - uncapped < max_iter and not eng.converged():
            iterations = eng.run(min(steps_per_job, max_iter - (iterations - uncapped)))
    return iterations, uncapped


def _run_graphframes(
    verts: DataFrame,
    edges: DataFrame,
    tele: DataFrame,
    slot,
    k: int,
    groups: int,
    d: float,
    tol: float,
    max_iter: int,
    steps_per_job: int,
    parts_n: int,
    caps: dict[int, list[float]] | None = None,
    vertex_count: int = 0,
) -> tuple[DataFrame, dict, dict, int, bool, int, object]:
    """The supersteps on GraphFrames' GraphX module (``GRAPHX_CLASS``, engine/src): the engine for
    vectors too big for the driver. Here edges to or from non-vertices are dropped and the
    teleport vector is normalised; the JVM class builds the graph, divides the weights by the
    out-weights and runs the supersteps.
    With ``caps`` (per group code, K shares), up to ``max_iter`` more supersteps with the cap on
    once the uncapped map has converged. Returns the state, totals, last errors, supersteps in all,
    whether it converged, the capped supersteps and a callback that releases the engine."""
    from py4j.java_gateway import JavaClass

    spark = edges.sparkSession
    cls = spark._jvm
    for part in GRAPHX_CLASS.split("."):
        cls = getattr(cls, part)
    if not isinstance(cls, JavaClass):
        raise RuntimeError(
            f"the GraphFrames PageRank engine ({GRAPHX_CLASS}) is not on the Spark classpath: build it with "
            "`make env` (build/kindling-engine.jar and build/graphframes-spark4_2.13-0.11.0.jar)"
        )
    V, W, NC = _cols("v", k), _cols("w", k), _cols("n", k)
    has_n = "n" in edges.columns
    # Edges to or from non-vertices are dropped, through a broadcast of the vertex keys while they
    # are few (no shuffle of the edges), by joins beyond. The engine computes the transition
    # weights itself (out-weights as one aggregateMessages), so the edges are never shuffled here.
    ids = verts.select("id")
    if vertex_count <= IDS_BROADCAST_MAX:
        ids = F.broadcast(ids)
    e = edges.join(ids.withColumnRenamed("id", "dst"), "dst", "left_semi").join(
        ids.withColumnRenamed("id", "src"), "src", "left_semi"
    )
    # each slot's weight (and normaliser) clamped to >= 0, a missing one 0
    e = _select(
        e,
        "CAST(src AS LONG) AS src",
        "CAST(dst AS LONG) AS dst",
        *[f"{slot('w', i)} AS {W[i]}" for i in range(k)],
        *([f"{slot('n', i)} AS {NC[i]}" for i in range(k)] if has_n else []),
    )

    tv = _select(tele, "id", "grp", *[f"{slot('v', i)} AS {V[i]}" for i in range(k)])
    tsum = _sums(tv, V)
    if all(sum(a) <= 0 for a in tsum.values()):
        raise ValueError("PageRank with an empty teleport vector")
    # every vertex, its teleport weights normalised within its group (zeros where it has none)
    normed = _select(tv, "id", *[f"{_sql_div(V[i], _group_sql(tsum, i))} AS {V[i]}" for i in range(k)])
    vv = _select(
        verts.join(normed, "id", "left"),
        "CAST(id AS LONG) AS id",
        "CAST(grp AS INT) AS grp",
        *[f"coalesce({V[i]}, 0.0D) AS {V[i]}" for i in range(k)],
    )
    # The engine caches its graph, built once from ``e`` and ``vv`` (not checkpointed first: a
    # second pass over the edges for nothing; their lineage rebuilds a lost partition).
    eng = cls(vv._jdf, e._jdf, has_n, k, groups, d, float(tol), parts_n)

    def release() -> None:  # the engine's cached graph, then the teleport input
        eng.close()
        tele.unpersist()

    try:
        iterations, uncapped = _supersteps(eng, spark, k, groups, max_iter, steps_per_job, caps)
        state = DataFrame(eng.state(), spark)
    except BaseException:
        release()
        raise
    flat = lambda arr: {g: list(arr[g * k : (g + 1) * k]) for g in range(groups)}  # noqa: E731
    return (
        state,
        flat(list(eng.totals())),
        flat(list(eng.lastError())),
        iterations,
        bool(eng.converged()),
        iterations - uncapped,
        release,
    )


def _sums(df: DataFrame, cols: list[str]) -> dict[int, list[float]]:
    """Per-group column sums, as lists in ``cols`` order."""
    rows = df.sparkSession.sql(
        f"SELECT grp, {', '.join(f'sum({c}) AS {c}' for c in cols)} FROM {{df}} GROUP BY grp", df=df
    ).collect()
    return {r["grp"]: [float(r[c] or 0.0) for c in cols] for r in rows}


# Wide selections are written as SQL text: one py4j call, where the Column API
# makes several per column (hundreds per statement at 100 slots).
def _select(df: DataFrame, *exprs: str) -> DataFrame:
    return df.sparkSession.sql(f"SELECT {', '.join(exprs)} FROM {{df}}", df=df)


def _num(x: float) -> str:
    """A double literal that reads back to exactly ``x``."""
    return f"CAST('{float(x)!r}' AS DOUBLE)"


def _sql_div(a: str, b: str) -> str:
    return f"IF({b} > 0, {a} / {b}, 0.0D)"


def _group_sql(values: dict[int, list[float]], i: int) -> str:
    """Slot ``i``'s per-group constant (groups are few: a CASE over the group code)."""
    if len(values) == 1:
        return _num(next(iter(values.values()))[i])
    return "CASE grp " + " ".join(f"WHEN {g} THEN {_num(arr[i])}" for g, arr in sorted(values.items())) + " END"


# --- one shared transition matrix, several teleport vectors -----------------------
def pagerank(
    vertices: DataFrame,
    edges: DataFrame,
    teleport: DataFrame | None = None,
    damping: float = 0.85,
    tol: float = 1e-9,
    max_iter: int = 100,
    steps_per_job: int = 5,
    engine: str = ENGINE,
    vector_max_mb: float = VECTOR_MAX_MB,
) -> RankResult:
    """PageRank for every key of ``teleport`` (default: one uniform, global key), one weight per edge.

    ``vertices``: ``id``; ``edges``: ``src, dst, weight``; ``teleport``: ``id, key, v``.
    Edges to or from ids not in ``vertices`` are ignored. The keys become the
    slots of :func:`pagerank_arrays` (every slot shares the edge weights).
    """
    if teleport is None:  # one uniform slot: no keys to collect, no map to build
        keys = [GLOBAL_KEY]
        tele_arr = vertices.select("id", F.array(F.lit(1.0)).alias("v"))
    else:
        keys = sorted(r["key"] for r in teleport.select("key").distinct().collect())
        if not keys:
            raise ValueError("PageRank with an empty teleport vector")
        index = F.create_map(*[x for i, k in enumerate(keys) for x in (F.lit(k), F.lit(i))])
        v = (
            teleport.where(F.col("v") > 0)
            .groupBy("id")
            .agg(
                F.map_from_entries(F.collect_list(F.struct(index[F.col("key")], F.col("v").cast("double")))).alias("_m")
            )
        )
        slots = F.sequence(F.lit(0), F.lit(len(keys) - 1))
        tele_arr = v.select("id", F.transform(slots, lambda i: F.coalesce(F.col("_m")[i], F.lit(0.0))).alias("v"))
    w = edges.where(F.col("weight") > 0).select(
        "src", "dst", F.array_repeat(F.col("weight").cast("double"), len(keys)).alias("w")
    )
    res = pagerank_arrays(
        vertices.select("id", F.lit("").alias("grp")),
        w,
        tele_arr,
        damping=damping,
        tol=tol,
        max_iter=max_iter,
        steps_per_job=steps_per_job,
        engine=engine,
        vector_max_mb=vector_max_mb,
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
