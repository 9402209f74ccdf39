"""Cost of topic-sensitive ranking: K topics in one pass against one global weighted PageRank.

    .venv/bin/python bench/topic_cost.py [--accounts 20000] [--edges 300000] [--topics 50] [--iters 20]

Builds a heavy-tailed weighted graph (Pareto in-degree) and the topic workload of
``bench/pagerank.py --topics`` (``topic_workload``: half of the edges on one of K
topics with a random share, each topic a sparse recognition teleport vector on 2%
of accounts), then times, in the same
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.pagerank import time_slots, topic_workload  # noqa: E402
from kindling.core.settings import load_settings  # noqa: E402
from kindling.pipeline.spark import session  # noqa: E402


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
    rng = np.random.default_rng(7)
    src = rng.integers(0, n, e)
    dst = (rng.pareto(1.1, e) * 40).astype(np.int64) % n
    keep = src != dst
    src, dst = src[keep], dst[keep]
    import pandas as pd

    edges = spark.createDataFrame(pd.DataFrame({"src": src, "dst": dst, "weight": rng.lognormal(0, 1, len(src))}))
    frames = topic_workload(spark, edges, n, k, seed=7)

    time_slots(*frames, [0], a.iters)  # warm-up: JIT, first-job costs
    g = time_slots(*frames, [0], a.iters)
    one = time_slots(*frames, [1], a.iters)
    allk = time_slots(*frames, list(range(k + 1)), a.iters)
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
