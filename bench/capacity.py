"""Capacity model: what ranking N accounts a day would take on a Spark cluster (docs/scale.md).

    .venv/bin/python bench/capacity.py [--rank3 S --rank10 S] [--shuffle B] [--slots-factor F] ...

Projects from figures measured here by ``make bench`` (defaults: the run quoted in
docs/scale.md; pass your own run's figures to redo the projection):

- the marginal cost of one edge-iteration (one slot), from Kindling's rank time at 3M and
  10M edges (20 iterations each, ``local[2]``): the fixed cost cancels out;
- the bytes shuffled per edge-iteration;
- the cost of K topics in one pass, as a multiple of one global run (``bench/topic_cost.py``).

Workload per day: E = density x N distinct weighted pairs in the window, ``iters`` supersteps
(55 on the Higgs network at tol 1e-9), global score + K topics. With ``--engine graphframes``
(the default here: the distributed engine, on GraphFrames' GraphX module) memory is counted from
the layout of its cached graph, not measured at scale: per edge, two 4-byte local ids, a
reference and a double[] of the slots' d*P and the group (16-byte header); per account, the
state and the teleport weights (a double[] each) plus one replica of the state per edge
partition that holds the account's edges (counted once).

With ``--engine vector`` (the default engine, ``pagerank_engine``) the figures are the vector
engine's: its edge blocks hold 4 + 8 x slots bytes per edge, the driver about four vectors of
N x slots doubles, and each superstep sends the vector to every executor (a broadcast) and
back to the driver (the blocks' slices) instead of shuffling messages.
"""

from __future__ import annotations

import argparse

# GraphX/Spark PageRank at scale, edge-iterations per second per core (docs/scale.md, sources 1-4)
PUBLISHED = {
    "GraphX, twitter_rv, 128 cores (COST, 2015)": 5.5e5,
    "GraphX, uk-2007-05, 128 cores (COST, 2015)": 1.26e6,
    "GraphX, twitter_rv, 10 GbE (McSherry-Schwarzkopf 2015)": 6.9e5,
    "GraphX, 1.27B edges (SPARK-3427)": 2.5e5,
    "Spark RDD, 14B edges (soundcloud, low)": 4.6e4,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rank3", type=float, default=24.3, help="Kindling rank s, 3M edges, 20 iterations")
    ap.add_argument("--rank10", type=float, default=74.3, help="Kindling rank s, 10M edges, 20 iterations")
    ap.add_argument("--cores", type=int, default=2, help="cores of the measuring machine")
    ap.add_argument("--shuffle", type=float, default=3.9, help="shuffle bytes per edge-iteration (one slot)")
    ap.add_argument(
        "--slots-factor",
        type=float,
        default=4.35,
        help="global + K topics in one pass / one global run (4.35: measured on the DataFrame engine)",
    )
    ap.add_argument("--topics", type=int, default=50)
    ap.add_argument("--density", type=float, default=35.0, help="edges per account in the window (twitter_rv: 35.3)")
    ap.add_argument("--iters", type=int, default=55)
    ap.add_argument("--hours", type=float, default=1.0, help="time budget for the rank step")
    ap.add_argument("--executor-gib", type=float, default=28.0, help="memory per executor (4 cores each)")
    ap.add_argument(
        "--engine",
        choices=["graphframes", "vector"],
        default="graphframes",
        help="vector: the vector engine's figures (pass its --rank3/--rank10 and --slots-factor)",
    )
    ap.add_argument("--gbit", type=float, default=10.0, help="network per executor and driver, Gbit/s (vector engine)")
    a = ap.parse_args()
    if a.engine == "vector":
        vector(a)
        return
    per_edge_iter, per_core = marginal(a)
    slots = a.topics + 1
    edge_bytes = 4 + 4 + 4 + 16 + 8 * (slots + 1)  # local src and dst ids, a reference, double[slots + 1]
    vertex_bytes = 3 * (16 + 8 * slots) + 24  # state, teleport weights, one replica; the base object
    print(
        f"measured here: {per_edge_iter * 1e9:.1f} ns per edge-iteration on {a.cores} cores "
        f"= {per_core:,.0f} edge-iterations/s per core (marginal, 3M -> 10M edges)"
    )
    print(
        f"workload: {a.density:g} edges per account, {a.iters} supersteps, global + {a.topics} topics "
        f"= {a.slots_factor:g}x one global run; rank step within {a.hours:g} h"
    )
    print(
        f"cached per edge {edge_bytes} B, per account {vertex_bytes} B ({slots} slots); "
        f"shuffle {a.shuffle:g} B per edge-iteration with one slot, scaled by the message row's width\n"
    )
    head = (
        f"{'accounts':>12}{'edges':>10}{'edge-iter':>11}{'cores':>9}{'cached':>10}{'executors':>11}{'shuffle/step':>14}"
    )
    print(head)
    print("-" * len(head))
    for n in (10e6, 100e6, 750e6):
        e = a.density * n
        work = e * a.iters * a.slots_factor
        cores = work / per_core / (a.hours * 3600)
        cached = e * edge_bytes + n * vertex_bytes
        executors = max(
            cores / 4, cached * 2 / (a.executor_gib * 2**30 * 0.6)
        )  # 2x: headroom; 60%: Spark's memory fraction
        shuffle = e * a.shuffle * (16 + 8 * slots) / 24  # a message: key, double[slots] (one slot: 24 B)
        print(
            f"{n:>12,.0f}{e / 1e9:>9.2f}B{work:>11.2e}{cores:>9,.0f}{cached / 2**40:>8.1f}TB{executors:>11,.0f}"
            f"{shuffle / 2**40:>12.2f}TB"
        )
    print("\ncores if Kindling ran at the published per-core throughput instead (750M accounts):")
    e = a.density * 750e6
    for label, pc in PUBLISHED.items():
        print(
            f"  {label:<58}{pc:>10,.0f}/s/core -> {e * a.iters * a.slots_factor / pc / (a.hours * 3600):>9,.0f} cores"
        )


def marginal(a) -> tuple[float, float]:
    """Seconds per edge-iteration on the whole machine (3M -> 10M edges, 20 iterations each:
    the fixed cost cancels out) and edge-iterations per second per core."""
    per_edge_iter = (a.rank10 - a.rank3) / ((10e6 - 3e6) * 20)
    return per_edge_iter, 1.0 / (per_edge_iter * a.cores)


def vector(a) -> None:
    """The vector engine: CPU from the measured marginal cost, memory and network from its layout."""
    per_edge_iter, per_core = marginal(a)
    slots = a.topics + 1
    edge_bytes = 4 + 8 * slots  # source index, one d*P per slot
    print(
        f"vector engine, measured here: {per_edge_iter * 1e9:.1f} ns per edge-iteration on {a.cores} cores "
        f"= {per_core:,.0f} edge-iterations/s per core (marginal, 3M -> 10M edges, setup included)"
    )
    print(
        f"workload: {a.density:g} edges per account, {a.iters} supersteps, global + {a.topics} topics = "
        f"{a.slots_factor:g}x one global run; rank step within {a.hours:g} h; {a.gbit:g} Gbit/s links\n"
    )
    head = (
        f"{'accounts':>12}{'edges':>9}{'cores':>8}{'blocks':>9}{'vector':>9}{'driver':>9}"
        f"{'executors':>11}{'net s/step':>12}{'net h/day':>11}"
    )
    print(head)
    print("-" * len(head))
    link = a.gbit * 1e9 / 8
    for n in (10e6, 100e6, 750e6):
        e = a.density * n
        cores = e * a.iters * a.slots_factor / per_core / (a.hours * 3600)
        blocks = e * edge_bytes
        vec = n * slots * 8
        executors = max(cores / 4, blocks * 2 / (a.executor_gib * 2**30 * 0.6))
        # each superstep: every executor receives the whole vector, the driver receives it once
        step = 2 * vec / link
        print(
            f"{n:>12,.0f}{e / 1e9:>8.2f}B{cores:>8,.0f}{blocks / 2**40:>6.2f}TiB{vec / 2**30:>6.0f}GiB"
            f"{(4 * vec + 12 * n) / 2**30:>6.0f}GiB{executors:>11,.0f}{step:>12.1f}{step * a.iters / 3600:>11.2f}"
        )


if __name__ == "__main__":
    main()
