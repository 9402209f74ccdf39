"""The vector engine's heap after every superstep: flat, or growing?

    .venv/bin/python bench/superstep_memory.py [--edges 3e6] [--topics 100] [--iters 20] [--chunk-mb 64]

Generates the heavy-tailed graph of ``bench/pagerank.py`` (``--edges`` edges, a tenth as many
vertices), gives it ``--topics`` factored topic slots besides the global one (as the daily job
does: half the edges list one random topic with a random on-topic share, every other topic
counts the off-topic factor 0.2; each topic teleports to a random 2% of the vertices), and runs
``jobs.pagerank.pagerank_arrays`` on the vector engine one superstep per block, with no early
stop. After each superstep (where the pipeline's ``rank:mid-pagerank`` failpoint sits) it asks
the JVM for a full collection and reads the heap in use, then prints the series, its first and
last values and its spread. Flat means nothing a superstep allocates outlives it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from pagerank import make_graph  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edges", type=float, default=3e6)
    ap.add_argument("--topics", type=int, default=100)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--chunk-mb", type=float, help="the engine's chunk (default jobs.pagerank.VECTOR_CHUNK_MB)")
    a = ap.parse_args()

    import pandas as pd
    from pyspark.sql import functions as F

    import jobs.pagerank as P
    from kindling.core.settings import load_settings
    from kindling.pipeline.spark import session

    spark = session(load_settings(), app_name="bench-superstep-memory", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    src, dst, w, n = make_graph(int(a.edges))
    k, f = a.topics, 0.2
    rng = np.random.default_rng(5)
    on = rng.random(len(src)) < 0.5
    topic = rng.integers(1, k + 1, len(src))
    mult = f + (1 - f) * rng.random(len(src))
    edges = (
        spark.createDataFrame(pd.DataFrame({"src": src, "dst": dst, "w": w, "on": on, "t": topic, "x": mult}))
        .select("src", "dst", "w", F.when(F.col("on"), F.create_map("t", "x")).alias("m"))
        .persist()
    )
    v = np.zeros((n, k + 1))
    v[:, 0] = 1.0
    for t in range(1, k + 1):
        who = rng.choice(n, size=max(5, n // 50), replace=False)
        v[who, t] = rng.lognormal(0, 1, len(who))
    verts = spark.createDataFrame(pd.DataFrame({"id": np.arange(n), "grp": "bench"})).persist()
    tele = spark.createDataFrame(pd.DataFrame({"id": np.arange(n), "v": list(v)}), "id long, v array<double>").persist()
    for df in (edges, verts, tele):
        df.count()

    runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
    heap: list[float] = []

    def sample(name: str, when: bool = True) -> None:  # stands in for the failpoint after each block
        spark.sparkContext._jvm.java.lang.System.gc()
        heap.append((runtime.totalMemory() - runtime.freeMemory()) / 2**30)

    P.failpoint = sample
    if a.chunk_mb:
        P.VECTOR_CHUNK_MB = a.chunk_mb
    t0 = time.perf_counter()
    res = P.pagerank_arrays(
        verts, edges, tele, tol=0.0, max_iter=a.iters, steps_per_job=1, engine="vector", scale=[1.0] + [f] * k
    )
    seconds = time.perf_counter() - t0
    res.unpersist()
    vector = n * (k + 1) * 8 / 2**20
    print(
        f"## vector engine, {len(src):,} edges, {n:,} vertices, {k + 1} slots (one vector {vector:,.0f} MiB), "
        f"{a.iters} supersteps in {seconds:.1f} s, chunks of at most {P.VECTOR_CHUNK_MB:g} MiB"
    )
    print("heap in use after each superstep and a full GC (GiB): " + " ".join(f"{x:.3f}" for x in heap))
    print(
        f"first {heap[0]:.3f}, last {heap[-1]:.3f}, min {min(heap):.3f}, max {max(heap):.3f}, "
        f"spread {(max(heap) - min(heap)) * 1024:.0f} MiB; last - first {(heap[-1] - heap[0]) * 1024:+.0f} MiB"
    )
    spark.stop()


if __name__ == "__main__":
    main()
