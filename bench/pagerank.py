"""PageRank throughput: Kindling's weighted engine against its peers, on heavy-tailed graphs.

    make bench                                   # 1M, 3M and 10M edges
    .venv/bin/python bench/pagerank.py [--edges 1e6,3e6,1e7] [--iters 20] [--topics K] [--e2e]

For each size the script generates one weighted directed graph (Chung-Lu: every
vertex draws an out-weight from Pareto(2) and an in-weight from Pareto(1.2), and
each edge picks its source and target in proportion to them, so in-degrees are
heavy-tailed; ten edges per vertex; duplicate pairs merged, their weights
summed), then times, in the same run and for the same number of iterations:

  kindling   jobs.pagerank.pagerank: weighted, dangling mass through the teleport
             vector, on the engine ``auto`` picks (the vector engine at these sizes), the
             engine the daily job runs (Spark, local[2]);
  kindling-gf  the same weighted ranking on the distributed engine (``engine="graphframes"``:
             supersteps on GraphFrames' GraphX module, engine/src/.../GraphXPageRank.scala);
  graphframes  GraphFrames' own ``GraphFrame.pageRank``, unweighted (its GraphX module underneath),
             from the same Parquet vertices and edges, in the same JVM;
  graphx     org.apache.spark.graphx.lib.PageRank.run, unweighted: Spark's own GraphX, in the
             same JVM;
  scipy      a CSR matrix-vector power iteration of the same weighted iteration in
             one process: the single-machine reference;
  networkx   networkx.pagerank on the same weighted graph, graph construction
             included; skipped when its time, extrapolated from the previous
             size, would pass 10 minutes.

"load" is reading the graph (Parquet for Kindling, GraphX's edge-list text
loader, NumPy arrays into CSR for SciPy); "rank" is the ranking from loaded
input to materialised ranks. Edge-iterations per second = edges x iterations /
rank seconds. "x kindling" = that engine's rank time / Kindling's (above 1:
Kindling is faster). SciPy and networkx run in a child process each, so their
peak memory (ru_maxrss) is their own; the Spark figure is the JVM's peak RSS
(VmHWM, reset before each engine where the kernel allows). Kindling's ranks are
checked against SciPy's (L1 distance), so both computed the same thing.

--topics K also times, per size, the topic-sensitive ranking of K topics in one
pass (K + 1 slots) against one global run. --e2e runs the whole daily pipeline
on a generated day instead (see bench/e2e.py).

Why one module of about 550 lines: it is a script, not a library. Every engine's timing function
shares the generated graph, the peak-memory probes and the table printer, and a reader checking a
figure wants the whole measurement in one place. Only the other benchmarks import it (``bench/topic_cost.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DAMPING = 0.85
NETWORKX_LIMIT_S = 600.0


# --------------------------------------------------------------------------- the graph
def make_graph(edges: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``src, dst, weight, n``: a heavy-tailed weighted digraph, unique pairs, no self-loops."""
    rng = np.random.default_rng(seed)
    n = max(10, edges // 10)
    out_w = rng.pareto(2.0, n) + 1.0
    in_w = rng.pareto(1.2, n) + 1.0
    draw = int(edges * 1.08)  # a few percent are repeats or loops
    src = np.minimum(np.searchsorted(np.cumsum(out_w) / out_w.sum(), rng.random(draw)), n - 1)
    dst = np.minimum(np.searchsorted(np.cumsum(in_w) / in_w.sum(), rng.random(draw)), n - 1)
    w = rng.lognormal(0.0, 1.0, draw)
    keep = src != dst
    src, dst, w = src[keep], dst[keep], w[keep]
    pair, inverse = np.unique(src * n + dst, return_inverse=True)
    weight = np.bincount(inverse, weights=w)
    src, dst = (pair // n).astype(np.int64), (pair % n).astype(np.int64)
    if len(src) > edges:  # trim to the nominal size, keeping a random subset
        pick = np.sort(rng.choice(len(src), edges, replace=False))
        src, dst, weight = src[pick], dst[pick], weight[pick]
    return src, dst, weight, n


def write_graph(folder: Path, src: np.ndarray, dst: np.ndarray, w: np.ndarray, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"src": src, "dst": dst, "weight": w}), folder / "edges.parquet")
    pq.write_table(pa.table({"id": np.arange(n, dtype=np.int64)}), folder / "vertices.parquet")
    np.save(folder / "arrays.npy", np.vstack([src.astype(np.float64), dst.astype(np.float64), w]))
    with open(folder / "edges.txt", "w") as f:  # GraphX's edgeListFile format: "src dst" per line
        np.savetxt(f, np.c_[src, dst], fmt="%d")


# --------------------------------------------------------------------------- single-process references
def scipy_rank(src, dst, w, n, iters):
    """The same iteration as Kindling's engine: y <- d P^T y + (1 - d) v from y = v, then y / sum(y).

    With dangling mass returned through v, PageRank is proportional to this map's fixed point
    (see jobs/pagerank.py), so the two engines' ranks agree after any number of iterations."""
    import scipy.sparse as sp

    t0 = time.perf_counter()
    out = np.bincount(src, weights=w, minlength=n)
    pt = sp.csr_matrix((w / out[src], (dst, src)), shape=(n, n))  # P^T, rows = targets
    v = np.full(n, 1.0 / n)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    y = v.copy()
    for _ in range(iters):  # the mass lost at dangling vertices is restored by the final normalisation
        y = DAMPING * (pt @ y) + (1.0 - DAMPING) * v
    ranks = y / y.sum()
    return build, time.perf_counter() - t0, ranks


def networkx_rank(src, dst, w, n, iters):
    import networkx as nx

    t0 = time.perf_counter()
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:  # tol=0: exactly `iters` iterations, then networkx reports non-convergence
        nx.pagerank(g, alpha=DAMPING, max_iter=iters, tol=0.0, weight="weight")
    except nx.PowerIterationFailedConvergence:
        pass
    return build, time.perf_counter() - t0


def child(engine: str, folder: Path, iters: int) -> None:
    """Run one single-process engine and print its figures as JSON (peak memory is this process's)."""
    a = np.load(folder / "arrays.npy")
    src, dst, w = a[0].astype(np.int64), a[1].astype(np.int64), a[2]
    n = int(json.loads((folder / "meta.json").read_text())["n"])
    res: dict = {}
    if engine == "scipy":
        build, run, ranks = scipy_rank(src, dst, w, n, iters)
        np.save(folder / "scipy_ranks.npy", ranks)
    else:
        build, run = networkx_rank(src, dst, w, n, iters)
    res.update(load=build, rank=run, peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    print(json.dumps(res))


def run_child(engine: str, folder: Path, iters: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", engine, "--folder", str(folder), "--iters", str(iters)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- Spark engines
def _jvm_pid(spark) -> int:
    return int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())


def _reset_peak(pid: int) -> None:
    try:  # "5" resets VmHWM (Linux >= 4.0; needs the right to write it)
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def _peak(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def shuffle_written(spark) -> int:
    """Bytes of shuffle written so far by this application's completed stages (Spark's REST API)."""
    import urllib.request

    url = spark.sparkContext.uiWebUrl
    if not url:
        return 0
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete", timeout=30) as r:
        return sum(int(st.get("shuffleWriteBytes", 0)) for st in json.load(r))


def kindling_rank(spark, folder: Path, iters: int, engine: str = "auto"):
    from pyspark import StorageLevel

    from jobs.pagerank import pagerank

    t0 = time.perf_counter()
    edges = spark.read.parquet(str(folder / "edges.parquet")).persist(StorageLevel.MEMORY_AND_DISK)
    verts = spark.read.parquet(str(folder / "vertices.parquet")).persist(StorageLevel.MEMORY_AND_DISK)
    edges.count()
    verts.count()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = pagerank(verts, edges, tol=0.0, max_iter=iters, engine=engine)  # tol=0: exactly `iters` supersteps
    rank = time.perf_counter() - t0
    got = res.ranks.select("id", "pagerank").toPandas()
    ranks = np.zeros(int(got["id"].max()) + 1 if len(got) else 0)
    ranks[got["id"].to_numpy()] = got["pagerank"].to_numpy()
    for df in (res, edges, verts):
        df.unpersist()
    return load, rank, res.iterations, ranks


def graphframes_rank(spark, folder: Path, iters: int):
    """GraphFrames' own pageRank (unweighted, ``maxIter`` iterations) from the Parquet files."""
    from graphframes import GraphFrame
    from pyspark import StorageLevel

    t0 = time.perf_counter()
    edges = spark.read.parquet(str(folder / "edges.parquet")).select("src", "dst").persist(StorageLevel.MEMORY_AND_DISK)
    verts = spark.read.parquet(str(folder / "vertices.parquet")).persist(StorageLevel.MEMORY_AND_DISK)
    edges.count()
    verts.count()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranked = GraphFrame(verts, edges).pageRank(resetProbability=1.0 - DAMPING, maxIter=iters)
    ranked.vertices.persist(StorageLevel.MEMORY_AND_DISK).count()
    rank = time.perf_counter() - t0
    ranked.vertices.unpersist()
    for df in (edges, verts):
        df.unpersist()
    return load, rank


def graphx_rank(spark, folder: Path, iters: int, partitions: int):
    jvm = spark.sparkContext._jvm
    level = jvm.org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK()
    t0 = time.perf_counter()
    graph = jvm.org.apache.spark.graphx.GraphLoader.edgeListFile(
        spark.sparkContext._jsc.sc(), "file://" + str(folder / "edges.txt"), False, partitions, level, level
    )
    graph.edges().count()
    load = time.perf_counter() - t0
    any_tag = jvm.scala.reflect.ClassTag.apply(jvm.java.lang.Class.forName("java.lang.Object"))
    t0 = time.perf_counter()
    ranked = jvm.org.apache.spark.graphx.lib.PageRank.run(graph, iters, 1.0 - DAMPING, any_tag, any_tag)
    ranked.vertices().count()
    rank = time.perf_counter() - t0
    ranked.unpersist(False)
    graph.unpersist(False)
    return load, rank


# --------------------------------------------------------------------------- the report
def fmt_bytes(b: float) -> str:
    return f"{b / 2**30:.2f} GiB"


def table(size: int, n: int, iters: int, rows: list[dict], notes: list[str]) -> str:
    k = next(r for r in rows if r["engine"] == "kindling")
    head = f"{'engine':<32}{'load s':>9}{'rank s':>9}{'iters':>7}{'edge-iter/s':>14}{'peak mem':>11}{'x kindling':>12}"
    lines = [f"## {size:,} edges, {n:,} vertices, {iters} iterations", head, "-" * len(head)]
    for r in rows:
        if r.get("skipped"):
            lines.append(f"{r['label']:<32}{'skipped: ' + r['skipped']}")
            continue
        eps = size * r["iters"] / r["rank"]
        lines.append(
            f"{r['label']:<32}{r['load']:>9.1f}{r['rank']:>9.1f}{r['iters']:>7}{eps:>14,.0f}"
            f"{fmt_bytes(r['peak']):>11}{r['rank'] / k['rank']:>12.2f}"
        )
    return "\n".join(lines + notes)


def bench_size(spark, size: int, iters: int, partitions: int, topics: int, work: Path, nx_estimate: float | None):
    t0 = time.perf_counter()
    src, dst, w, n = make_graph(size)
    folder = work / f"e{size}"
    write_graph(folder, src, dst, w, n)
    (folder / "meta.json").write_text(json.dumps({"n": n}))
    size = len(src)
    print(f"[{size:,} edges generated in {time.perf_counter() - t0:.0f} s]", flush=True)
    pid = _jvm_pid(spark)
    rows, notes = [], []

    _reset_peak(pid)
    shuffled = shuffle_written(spark)
    load, rank, it, k_ranks = kindling_rank(spark, folder, iters)
    shuffled = shuffle_written(spark) - shuffled
    rows.append(
        dict(engine="kindling", label="Kindling weighted, vector", load=load, rank=rank, iters=it, peak=_peak(pid))
    )
    _reset_peak(pid)
    gf_shuffled = shuffle_written(spark)
    load, rank, it_gf, gf_ranks = kindling_rank(spark, folder, iters, engine="graphframes")
    gf_shuffled = shuffle_written(spark) - gf_shuffled
    rows.append(
        dict(
            engine="kindling-gf",
            label="Kindling weighted, GraphFrames",
            load=load,
            rank=rank,
            iters=it_gf,
            peak=_peak(pid),
        )
    )
    _reset_peak(pid)
    load, rank = graphframes_rank(spark, folder, iters)
    rows.append(
        dict(
            engine="graphframes",
            label="GraphFrames pageRank unweighted",
            load=load,
            rank=rank,
            iters=iters,
            peak=_peak(pid),
        )
    )
    _reset_peak(pid)
    g_shuffled = shuffle_written(spark)
    load, rank = graphx_rank(spark, folder, iters, partitions)
    g_shuffled = shuffle_written(spark) - g_shuffled
    rows.append(
        dict(engine="graphx", label="GraphX PageRank unweighted", load=load, rank=rank, iters=iters, peak=_peak(pid))
    )
    notes.append(
        f"shuffle written, load + rank: Kindling vector {shuffled / 2**20:.0f} MiB ({shuffled / it / size:.1f} B per "
        f"edge-iteration, setup included), Kindling GraphFrames {gf_shuffled / 2**20:.0f} MiB "
        f"({gf_shuffled / it_gf / size:.1f} B), GraphX {g_shuffled / 2**20:.0f} MiB ({g_shuffled / iters / size:.1f} B)"
    )
    sc = run_child("scipy", folder, iters)
    rows.append(
        dict(
            engine="scipy",
            label="SciPy CSR, 1 process",
            load=sc["load"],
            rank=sc["rank"],
            iters=iters,
            peak=sc["peak_rss"],
        )
    )
    s_ranks = np.load(folder / "scipy_ranks.npy")
    m = max(len(s_ranks), len(k_ranks))
    l1 = float(np.abs(np.pad(k_ranks, (0, m - len(k_ranks))) - np.pad(s_ranks, (0, m - len(s_ranks)))).sum())
    gm = max(len(gf_ranks), len(k_ranks))
    parity = float(np.abs(np.pad(k_ranks, (0, gm - len(k_ranks))) - np.pad(gf_ranks, (0, gm - len(gf_ranks)))).sum())
    notes.append(
        f"Kindling vs SciPy ranks: L1 distance {l1:.2e} (same weighted iteration); vector vs GraphFrames engine "
        f"{parity:.2e}"
    )
    gfp = next(r for r in rows if r["engine"] == "graphframes")["rank"]
    notes.append(
        f"throughput against GraphFrames' pageRank (its rank s / theirs, above 1: faster): Kindling GraphFrames engine "
        f"{gfp / rows[1]['rank']:.2f}x, vector engine {gfp / rows[0]['rank']:.2f}x"
    )
    if nx_estimate is not None and nx_estimate > NETWORKX_LIMIT_S:
        rows.append(
            dict(
                engine="networkx",
                label="networkx.pagerank",
                skipped=f"estimated {nx_estimate:.0f} s from the previous size, over {NETWORKX_LIMIT_S:.0f} s",
            )
        )
        nx_total = None
    else:
        nxr = run_child("networkx", folder, iters)
        rows.append(
            dict(
                engine="networkx",
                label="networkx.pagerank (+build)",
                load=nxr["load"],
                rank=nxr["load"] + nxr["rank"],
                iters=iters,
                peak=nxr["peak_rss"],
            )
        )
        nx_total = nxr["load"] + nxr["rank"]
        notes.append(f"networkx: build {nxr['load']:.1f} s + rank {nxr['rank']:.1f} s (its rank s includes the build)")
    if topics:
        notes.append(topic_cost(spark, folder, size, n, iters, topics))
    print(table(size, n, iters, rows, notes), flush=True)
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    return rows, nx_total, size


def topic_workload(spark, edges, n: int, k: int, offtopic: float = 0.2, seed: int = 5):
    """``verts, edges, teleport`` for K topics plus the global score (K + 1 slots), persisted.

    ``edges``: ``src, dst, weight`` over vertices ``0 .. n - 1``. Half the edges lie on one
    random topic with a random on-topic share; every edge counts ``offtopic`` of its weight on
    the other topics (as ``jobs.topics.slot_edges`` does). Each topic teleports to a random 2%
    of the vertices (at least 5), with log-normal recognition; slot 0 is uniform.
    """
    import pandas as pd
    from pyspark.sql import functions as F

    rng = np.random.default_rng(seed)
    e = edges.select(
        "src",
        "dst",
        "weight",
        (F.rand(seed) < 0.5).alias("on"),
        (F.rand(seed + 1) * k).cast("int").alias("t"),
        F.rand(seed + 2).alias("share"),
    )
    weights = [F.col("weight")] + [
        F.when(
            F.col("on") & (F.col("t") == t), F.col("weight") * (offtopic + (1 - offtopic) * F.col("share"))
        ).otherwise(F.col("weight") * offtopic)
        for t in range(k)
    ]
    v = np.zeros((n, k + 1))
    v[:, 0] = 1.0
    for t in range(k):
        who = rng.choice(n, size=min(n, max(5, n // 50)), replace=False)
        v[who, t + 1] = rng.lognormal(0, 1, len(who))
    ids = np.arange(n)
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")  # pandas -> Spark by Arrow, arrays included
    frames = (
        spark.createDataFrame(pd.DataFrame({"id": ids, "grp": "bench"}), "id long, grp string"),
        e.select("src", "dst", F.array(*weights).alias("w")),
        spark.createDataFrame(pd.DataFrame({"id": ids, "v": list(v)}), "id long, v array<double>"),
    )
    frames = tuple(df.persist() for df in frames)
    for df in frames:
        df.count()
    return frames


def time_slots(verts, edges_all, tele_all, slots: list[int], iters: int) -> float:
    """Seconds for ``iters`` supersteps (tol=0: no early stop) of the given slots in one pass."""
    from pyspark.sql import functions as F

    from jobs.pagerank import pagerank_arrays

    ed = edges_all.select("src", "dst", F.array(*[F.col("w")[i] for i in slots]).alias("w"))
    te = tele_all.select("id", F.array(*[F.col("v")[i] for i in slots]).alias("v"))
    t0 = time.perf_counter()
    pagerank_arrays(verts, ed, te, tol=0.0, max_iter=iters).unpersist()
    return time.perf_counter() - t0


def topic_cost(spark, folder: Path, size: int, n: int, iters: int, k: int) -> str:
    """K topics plus the global score in one pass, against the global score alone."""
    frames = topic_workload(spark, spark.read.parquet(str(folder / "edges.parquet")), n, k)
    g, allk = time_slots(*frames, [0], iters), time_slots(*frames, list(range(k + 1)), iters)
    for df in frames:
        df.unpersist()
    return (
        f"topics: global alone {g:.1f} s; global + {k} topics in one pass {allk:.1f} s = {allk / g:.2f}x one global run "
        f"({k} separate runs would be about {k}x)"
    )


TUNE = [  # (label, engine, shuffle partitions, spark conf, steps_per_job)
    ("vector engine, baseline: 8 partitions (blocks), AQE on", "vector", 8, {}, 5),
    ("vector, 2 partitions", "vector", 2, {}, 5),
    ("vector, 4 partitions", "vector", 4, {}, 5),
    ("vector, 16 partitions", "vector", 16, {}, 5),
    ("vector, AQE off", "vector", 8, {"spark.sql.adaptive.enabled": "false"}, 5),
    ("graphframes engine: 4 partitions, AQE on, 5 steps/job", "graphframes", 4, {}, 5),
    ("graphframes, 2 partitions", "graphframes", 2, {}, 5),
    ("graphframes, 8 partitions", "graphframes", 8, {}, 5),
    ("graphframes, 1 step/job (convergence test every superstep)", "graphframes", 4, {}, 1),
    ("graphframes, 10 steps/job", "graphframes", 4, {}, 10),
]
TUNE_RESET = {"spark.sql.adaptive.enabled": "true"}


def tune(size: int, iters: int) -> None:
    """Each setting against the baseline, measured in the same session (baseline repeated last)."""
    from jobs.pagerank import pagerank
    from kindling.core.settings import load_settings
    from kindling.pipeline.spark import session

    spark = session(load_settings(), app_name="bench-tune", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory(prefix="kindling-tune-") as tmp:
        folder = Path(tmp)
        src, dst, w, n = make_graph(size)
        write_graph(folder, src, dst, w, n)
        edges = spark.read.parquet(str(folder / "edges.parquet")).persist()
        verts = spark.read.parquet(str(folder / "vertices.parquet")).persist()
        edges.count()
        verts.count()
        pagerank(verts, edges, tol=0.0, max_iter=3).unpersist()  # warm-up
        print(
            f"## tuning on {len(src):,} edges, {iters} supersteps (seconds; x = / the mean of the first row and its repeat, last)"
        )
        results = []
        for label, kind, parts, conf, spj in TUNE + TUNE[:1]:
            spark.conf.set("spark.sql.shuffle.partitions", str(parts))
            for k, v in {**TUNE_RESET, **conf}.items():
                spark.conf.set(k, v)
            t0 = time.perf_counter()
            pagerank(verts, edges, tol=0.0, max_iter=iters, steps_per_job=spj, engine=kind).unpersist()
            results.append((label, time.perf_counter() - t0))
        base = (results[0][1] + results[-1][1]) / 2
        for label, sec in results:
            print(f"{label:<72}{sec:>8.1f}{sec / base:>8.2f}x")
    spark.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edges", default="1e6,3e6,1e7", help="comma-separated sizes (default 1e6,3e6,1e7)")
    ap.add_argument("--iters", type=int, default=20, help="iterations for every engine (default 20)")
    ap.add_argument("--topics", type=int, default=0, help="also time K topics in one pass against one global run")
    ap.add_argument("--tune", action="store_true", help="time the engine's settings one at a time on the first size")
    ap.add_argument("--e2e", action="store_true", help="run the whole daily pipeline on a generated day (bench/e2e.py)")
    ap.add_argument("--child", choices=["scipy", "networkx"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, Path(a.folder), a.iters)
        return
    if a.tune:
        tune(int(float(a.edges.split(",")[0])), a.iters)
        return
    if a.e2e:
        os.execv(sys.executable, [sys.executable, str(ROOT / "bench" / "e2e.py")])

    from kindling.core.settings import load_settings
    from kindling.pipeline.spark import session

    settings = load_settings()
    spark = session(settings, app_name="bench-pagerank", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    partitions = settings.spark_shuffle_partitions
    print(
        f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
        f"Spark {spark.version} local[2], driver memory {settings.spark_driver_memory}, "
        f"{partitions} shuffle partitions",
        flush=True,
    )
    sizes = [int(float(x)) for x in a.edges.split(",")]
    with tempfile.TemporaryDirectory(prefix="kindling-warmup-") as tmp:  # JIT and first-job costs, for both engines
        src, dst, w, n = make_graph(20_000)
        write_graph(Path(tmp), src, dst, w, n)
        kindling_rank(spark, Path(tmp), 3)
        kindling_rank(spark, Path(tmp), 3, engine="graphframes")
        graphframes_rank(spark, Path(tmp), 3)
        graphx_rank(spark, Path(tmp), 3, partitions)
    summary = []
    nx_prev: tuple[float, int] | None = None
    with tempfile.TemporaryDirectory(prefix="kindling-bench-") as tmp:
        for size in sizes:
            est = None if nx_prev is None else nx_prev[0] * size / nx_prev[1] * 1.1
            rows, nx_total, real = bench_size(spark, size, a.iters, partitions, a.topics, Path(tmp), est)
            if nx_total is not None:
                nx_prev = (nx_total, real)
            summary.append((real, {r["engine"]: r for r in rows}))
    spark.stop()
    if len(summary) > 1:
        (s0, r0), (s1, r1) = summary[0], summary[-1]
        print(
            f"\ngrowth {s0:,} -> {s1:,} edges ({s1 / s0:.1f}x): Kindling rank time x{r1['kindling']['rank'] / r0['kindling']['rank']:.2f}, "
            f"Kindling GraphFrames x{r1['kindling-gf']['rank'] / r0['kindling-gf']['rank']:.2f}, "
            f"GraphFrames pageRank x{r1['graphframes']['rank'] / r0['graphframes']['rank']:.2f}, "
            f"GraphX x{r1['graphx']['rank'] / r0['graphx']['rank']:.2f}, SciPy x{r1['scipy']['rank'] / r0['scipy']['rank']:.2f}"
        )


if __name__ == "__main__":
    main()
