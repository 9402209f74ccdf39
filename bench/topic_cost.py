"""Cost of topic-sensitive ranking: K topics in one pass against one global weighted PageRank.

    .venv/bin/python bench/topic_cost.py [--accounts 20000] [--edges 300000] [--topics 50] [--iters 20]

Builds a heavy-tailed weighted graph (Pareto in-degree), gives each edge a
random topical share on one of K topics (half of the edges) and each topic a
sparse recognition teleport vector (2% of accounts), then times, in the same
Spark session and the same run:

  1. the global weighted PageRank alone (1 slot),
  2. one topic alone (1 slot: what each of K separate runs would cost),
  3. all K topics plus the global score together (K + 1 slots, one pass per superstep),

each for the same fixed number of supersteps (tol=0, so no early stop skews it).
Figures are wall-clock seconds and ratios to (1); "K separate runs" is K x (2),
an estimate from one measured single-topic run, not K runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from jobs.pagerank import pagerank_arrays  # noqa: E402
from kindling.settings import load_settings  # noqa: E402
from kindling.spark import session  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20000)
    ap.add_argument("--edges", type=int, default=300000)
    ap.add_argument("--topics", type=int, default=50)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--partitions", type=int, default=4)
    a = ap.parse_args()
    n, e, k = a.accounts, a.edges, a.topics
    spark = session(load_settings(spark_shuffle_partitions=a.partitions), app_name="bench-topics", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")  # fast pandas -> Spark
    rng = np.random.default_rng(7)
    src = rng.integers(0, n, e)
    dst = (rng.pareto(1.1, e) * 40).astype(np.int64) % n
    keep = src != dst
    src, dst = src[keep], dst[keep]
    w = rng.lognormal(0, 1, len(src))
    topic = np.where(rng.random(len(src)) < 0.5, rng.integers(0, k, len(src)), -1)
    share = rng.random(len(src))
    f = 0.2
    # slot weights: [global, topic 1..K]; edge i is on-topic (share) for its topic, off-topic for the rest
    W = np.tile((w * f)[:, None], (1, k + 1))
    W[:, 0] = w
    on = topic >= 0
    W[np.nonzero(on)[0], topic[on] + 1] = w[on] * (f + (1 - f) * share[on])
    V = np.zeros((n, k + 1))
    V[:, 0] = 1.0
    for t in range(k):
        who = rng.choice(n, size=max(5, n // 50), replace=False)
        V[who, t + 1] = rng.lognormal(0, 1, len(who))
    ids = np.char.add("u", np.arange(n).astype(str))
    edges_all = spark.createDataFrame(pd.DataFrame({"src": ids[src], "dst": ids[dst], "w": list(W)})).persist()
    tele_all = spark.createDataFrame(pd.DataFrame({"id": ids, "v": list(V)})).persist()
    verts = spark.createDataFrame(pd.DataFrame({"id": ids, "grp": "bench"})).persist()
    for df in (edges_all, tele_all, verts):
        df.count()

    def run(slots: list[int]) -> float:
        sel = F.array(*[F.col("w")[i] for i in slots])
        ed = edges_all.select("src", "dst", sel.alias("w"))
        te = tele_all.select("id", F.array(*[F.col("v")[i] for i in slots]).alias("v"))
        t0 = time.perf_counter()
        res = pagerank_arrays(verts, ed, te, tol=0.0, max_iter=a.iters)
        res.ranks.count()
        res.unpersist()
        return time.perf_counter() - t0

    run([0])  # warm-up: JIT, broadcast code paths
    g = run([0])
    one = run([1])
    allk = run(list(range(k + 1)))
    print(f"graph: {n} accounts, {len(src)} edges, {k} topics, {a.iters} supersteps, local[2]")
    print(f"{'run':<38}{'seconds':>10}{'x global':>10}")
    print(f"{'global weighted PageRank (1 slot)':<38}{g:>10.1f}{1.0:>10.2f}")
    print(f"{'one topic alone (1 slot)':<38}{one:>10.1f}{one / g:>10.2f}")
    print(f"{f'global + {k} topics in one pass':<38}{allk:>10.1f}{allk / g:>10.2f}")
    print(f"{f'{k} separate topic runs (est. {k} x 1)':<38}{k * one:>10.1f}{k * one / g:>10.2f}")
    print(f"one pass vs {k} separate runs: {k * one / allk:.1f}x cheaper")
    spark.stop()


if __name__ == "__main__":
    main()
