"""The spark cap (jobs/sparks.py): no account's rank may rest on one engager.

Checked against a reference written here in numpy (the capped map iterated from the plain
fixed point), on both engines, dense and factored edges, several groups with their own caps; on
the published form (graph_edges' flow_weight: plain networkx PageRank over it gives the capped
ranks); and on the example the rule exists for: a hub's one like.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
from pyspark.sql import functions as F

from jobs import sparks as S
from jobs import topics as T
from jobs.explain import graph_edges
from jobs.pagerank import expand_slots, pagerank_arrays
from jobs.rank_step import _rank, spark_cap_shares
from kindling.core.settings import load_settings

D = 0.85


def capped_reference(verts: dict, rows: list, tele: dict, caps: dict, d: float = D) -> dict:
    """``{id: [pr per slot]}``: per group and slot, the plain PageRank map ``y <- d P^T y + (1 - d) v``
    to its fixed point, then ``y(v) <- (1 - d) v(v) + sum_u min(d y(u) P(u, v), c y(v))`` to its
    own, normalised. ``rows``: ``(src, dst, w, n)`` with per-slot lists (``n`` None: ``w``), one row
    per pair; ``tele``: ``{id: [v per slot]}``; ``caps``: ``{grp: [share per slot]}`` (0: none)."""
    out: dict = {}
    for g in sorted(set(verts.values())):
        ids = sorted(v for v, gg in verts.items() if gg == g)
        at = {v: i for i, v in enumerate(ids)}
        k = max(len(tele.get(v, [])) for v in ids)
        ranks = np.zeros((len(ids), k))
        for t in range(k):
            w = np.zeros((len(ids), len(ids)))
            norm = np.zeros((len(ids), len(ids)))
            for s, dst, ws, ns in rows:
                if s in at and dst in at:
                    x = max(ws[t] or 0.0, 0.0)
                    w[at[s], at[dst]] += x
                    norm[at[s], at[dst]] += max(x, (ns[t] or 0.0) if ns is not None else x)
            out_w = norm.sum(axis=1)
            p = np.divide(w, out_w[:, None], out=np.zeros_like(w), where=out_w[:, None] > 0)
            v = np.array([max(tele.get(i, [])[t] if t < len(tele.get(i, [])) else 0.0, 0.0) for i in ids])
            if v.sum() <= 0:
                continue
            v /= v.sum()
            y = v.copy()
            for _ in range(5000):
                nxt = d * p.T @ y + (1 - d) * v
                done = np.abs(nxt / nxt.sum() - y / y.sum()).sum() < 1e-15
                y = nxt
                if done:
                    break
            c = caps.get(g, [0.0] * k)[t] if t < len(caps.get(g, [])) else 0.0
            if 0 < c < 1:
                for _ in range(20000):
                    nxt = (1 - d) * v + np.minimum(d * y[:, None] * p, c * y[None, :]).sum(axis=0)
                    done = np.abs(nxt / nxt.sum() - y / y.sum()).sum() < 1e-15
                    y = nxt
                    if done:
                        break
            ranks[:, t] = y / y.sum()
        for v, i in at.items():
            out[v] = list(ranks[i, : len(tele.get(v, [])) or k])
    return out


def _case(spark, seed: int = 3):
    """Two groups (A: 3 slots, B: 2) of random weighted edges, one row per pair, with normalisers
    above the weights here and there, dangling vertices and slots without teleport weight."""
    rnd = random.Random(seed)
    verts, tele, rows = {}, {}, {}
    for g, size, k in (("A", 40, 3), ("B", 20, 2)):
        ids = [f"{g.lower()}{i}" for i in range(size)]
        for i, v in enumerate(ids):
            verts[v] = g
            tele[v] = [1.0] + [(rnd.random() if i % 3 == 0 else 0.0) for _ in range(k - 1)]
        for _ in range(size * 3):
            s, dst = rnd.choice(ids[:-2]), rnd.choice(ids)  # the last 2 have no out-edges
            if s != dst:
                w = [rnd.paretovariate(1.2) for _ in range(k)]
                n = [x * rnd.choice([1.0, 1.0, 3.0]) for x in w]
                rows[s, dst] = (w, n)
        hub = ids[0]  # a hub every vertex engages with, which likes one quiet vertex once
        for v in ids[1:]:
            rows[v, hub] = ([2.0] * k, [2.0] * k)
        rows[hub, ids[-1]] = ([0.3] * k, [0.3] * k)
    flat = [(s, dst, w, n) for (s, dst), (w, n) in sorted(rows.items())]
    caps = {"A": [0.25, 0.25, 0.0], "B": [0.3, 0.25]}  # A's last slot uncapped (as the trusted-seed slot)
    df = (
        spark.createDataFrame([(v, g) for v, g in verts.items()], "id string, grp string"),
        spark.createDataFrame(flat, "src string, dst string, w array<double>, n array<double>"),
        spark.createDataFrame([(v, x) for v, x in tele.items()], "id string, v array<double>"),
    )
    return (verts, flat, tele, caps), df


def _shares(verts, rows, ranks, caps, d=D):
    """Every (dst, slot, src) flow over dst's rank, each flow held to its cap, from the ranks."""
    out_n: dict = {}
    for s, _dst, w, n in rows:
        acc = out_n.setdefault(s, [0.0] * len(w))
        for t in range(len(w)):
            acc[t] += max(w[t], n[t])
    shares = {}
    for s, dst, w, _n in rows:
        for t in range(len(ranks[dst])):
            if ranks[dst][t] > 0 and out_n[s][t] > 0:
                flow = d * ranks[s][t] * w[t] / out_n[s][t]
                c = caps[verts[dst]][t]
                shares[dst, t, s] = (min(flow, c * ranks[dst][t]) if c else flow) / ranks[dst][t]
    return shares


def _ranked(spark, form: str, engines: tuple[str, ...]):
    """The case's reference (capped and plain) and each engine's capped ranks, in ``form``."""
    (verts, rows, tele, caps), (v_df, e_df, t_df) = _case(spark)
    scale = None
    if form == "factored":  # the same weights as one base weight and a map of every slot's multiplier
        scale = [1.0, 1.0, 1.0]
        e_df = e_df.select(
            "src",
            "dst",
            F.lit(1.0).alias("w"),
            F.lit(None).cast("double").alias("n"),
            F.map_from_arrays(F.sequence(F.lit(0), F.size("w") - 1), "w").alias("m"),
        )
        # a factored edge's normaliser is one n times the slot's multiplier: here n = w
        rows = [(s, dst, w, w) for s, dst, w, _n in rows]
        assert expand_slots(e_df, scale).count() == len(rows)
    want, plain = capped_reference(verts, rows, tele, caps), capped_reference(verts, rows, tele, {})
    got = {}
    for engine in engines:
        res = pagerank_arrays(
            v_df, e_df, t_df, damping=D, tol=1e-13, max_iter=400, engine=engine, scale=scale, cap=caps
        )
        got[engine] = {r["id"]: r["pr"] for r in res.ranks.collect()}
        assert res.converged and res.capped_iterations > 0, engine
        res.unpersist()
    return (verts, rows, caps), want, plain, got


def _l1(a: dict, b: dict) -> float:
    assert set(a) == set(b)
    return sum(abs(x - y) for v in a for x, y in zip(a[v], b[v], strict=True))


@pytest.mark.parametrize("form", ["arrays", "factored"])
def test_the_vector_engine_gives_the_capped_fixed_point(spark, form):
    """The vector engine reaches the reference's capped ranks, every flow within its slot's cap,
    uncapped slots exactly the plain PageRank; and the cap does bind."""
    (verts, rows, caps), want, plain, got = _ranked(spark, form, ("vector",))
    assert _l1(got["vector"], want) < 1e-10
    assert sum(abs(want[v][2] - plain[v][2]) for v in verts if verts[v] == "A") < 1e-12  # A's slot 2: uncapped
    assert sum(abs(want[v][0] - plain[v][0]) for v in verts) > 1e-3
    shares = _shares(verts, rows, got["vector"], caps)
    for (dst, t, _s), x in shares.items():
        if caps[verts[dst]][t]:
            assert x <= caps[verts[dst]][t] + 1e-9
    # without the cap, the hub's one like makes most of the quiet vertex's rank
    assert _shares(verts, rows, plain, {"A": [0, 0, 0], "B": [0, 0]})["a39", 0, "a0"] > 0.5
    # the fixed point, in the form graph_vertices publishes: rank = capped flows in + an equal base share of the rest
    for g in ("A", "B"):
        ids = [v for v in verts if verts[v] == g]
        flows = {v: sum(x * want[v][0] for (dst, t, _s), x in shares.items() if dst == v and t == 0) for v in ids}
        base = [want[v][0] - flows[v] for v in ids]
        assert max(base) - min(base) < 1e-9  # the global slot's teleport is uniform: one base for all


def test_the_graphframes_engine_agrees_with_the_vector_engine_capped(spark):
    _case_, want, _plain, got = _ranked(spark, "factored", ("vector", "graphframes"))
    assert _l1(got["graphframes"], want) < 1e-10
    assert _l1(got["graphframes"], got["vector"]) < 1e-10


def _hub_net(spark):
    """A hub that 30 fans engage with; the hub likes "spark" once and nobody else engages with it.
    "crowd" is engaged with by 12 of the fans: many small trees, no big spark."""
    fans = [f"f{i:02d}" for i in range(30)]
    edges = (
        [(f, "hub", 3.0) for f in fans]
        + [("hub", "spark", 0.5), ("hub", "crowd", 0.5)]
        + [(f, "crowd", 1.0) for f in fans[:12]]
        + [(fans[i], fans[(i + 1) % 30], 1.0) for i in range(30)]
    )
    ids = sorted({x for e in edges for x in e[:2]})
    df = spark.createDataFrame(edges, "src string, dst string, weight double").select(
        "src", "dst", "weight", F.col("weight").alias("raw_weight"), F.col("weight").alias("norm_weight")
    )
    per_net = {"n": T.slot_factors(df, None, [], 0.2, trust=False).persist()}
    vertices = spark.createDataFrame([(f"n/{i}", "n") for i in ids], "id string, grp string")
    teleport = spark.createDataFrame([(f"n/{i}", [1.0, 1.0]) for i in ids], "id string, v array<double>")
    return edges, ids, per_net, vertices, teleport


def test_one_big_like_is_held_to_the_cap_and_the_published_weights_reproduce_the_ranks(spark):
    settings = load_settings(env={}, tol=1e-13, max_iter=500)
    edges, ids, per_net, vertices, teleport = _hub_net(spark)
    ranks = {}
    for label, s in (("off", settings.replace(spark_max_share=1.0)), ("on", settings)):
        result = _rank(per_net, {"n": 0}, vertices, teleport, [1.0, 1.0], s)
        ranks[label] = {r["id"][2:]: r["pr"] for r in result.ranks.collect()}
        assert (result.capped_iterations > 0) == (label == "on")
        result.unpersist()
    out = {}
    for s, _d, w in edges:
        out[s] = out.get(s, 0.0) + w

    def share(r, s, d, w):
        return D * r[s][0] * w / out[s] / r[d][0]

    before, after = ranks["off"], ranks["on"]
    assert share(before, "hub", "spark", 0.5) > 0.8  # without the rule, one like makes the spark's score
    assert min(share(after, "hub", "spark", 0.5), 1.0) > settings.spark_max_share  # the raw flow is above ...
    assert after["spark"][0] < before["spark"][0] / 3  # ... so it was held, and the spark is no longer made by it
    # slot 1 (the trusted-seed slot of a network without topics) is not capped: the plain PageRank
    assert sum(abs(after[i][1] - before[i][1]) for i in ids) < 1e-9

    # graph_edges publishes the capped flow as flow_weight; a plain weighted PageRank over it, with
    # what the defenses and the cap withheld going to the teleport, gives exactly the capped ranks
    events = spark.createDataFrame(
        [(s, d, "like") for s, d, _w in edges], "actor_id string, target_id string, kind string"
    )
    glob = spark.createDataFrame([(i, after[i][0]) for i in ids], "id string, pagerank double")
    ge = {
        (r["src"], r["dst"]): r
        for r in graph_edges(
            per_net["n"],
            events,
            [],
            0.2,
            "r",
            ranks=glob,
            damping=D,
            cap=spark_cap_shares(0, settings.spark_max_share)[0],
        ).collect()
    }
    assert ge["hub", "spark"]["flow_weight"] < ge["hub", "spark"]["weight"] == 0.5
    assert all(r["flow_weight"] == r["weight"] for (s, _d), r in ge.items() if s != "hub")  # small trees untouched
    g = nx.DiGraph()
    g.add_nodes_from(ids + ["ghost"])
    for (s, d), r in ge.items():
        g.add_edge(s, d, weight=r["flow_weight"])
    for s in ids:
        withheld = max((r["out_weight"] for (a, _b), r in ge.items() if a == s), default=0.0) - sum(
            r["flow_weight"] for (a, _b), r in ge.items() if a == s
        )
        if withheld > 1e-15:
            g.add_edge(s, "ghost", weight=withheld)
    pers = {i: 1.0 for i in ids} | {"ghost": 0.0}
    nxr = nx.pagerank(g, alpha=D, personalization=pers, weight="weight", dangling=pers, tol=1e-15, max_iter=5000)
    total = sum(nxr[i] for i in ids)
    assert sum(abs(after[i][0] - nxr[i] / total) for i in ids) < 1e-8
    per_net["n"].unpersist()


def test_capped_sum_water_fills_and_one_recognizer_alone_makes_nothing(spark):
    rows = (
        [("one", 5.0)]
        + [("two", 1.0), ("two", 1.0)]
        + [("four", 1.0)] * 4
        + [("big", 9.0)]
        + [("big", 1.0)] * 8
        + [("plain", 1.0)] * 5
        + [("pair", 3.0), ("pair", 2.0)]
        + [("pair", 1.0)] * 6
    )
    df = spark.createDataFrame(rows, "g string, w double")
    got = {r["g"]: r["capped"] for r in S.capped_sum(df, ["g"], "w", 0.25).collect()}
    assert got["one"] == 0.0 and got["two"] == 0.0  # fewer than 1/c recognizers: no recognition
    assert got["four"] == pytest.approx(4.0) and got["plain"] == pytest.approx(5.0)  # none above 25%: plain sum
    assert got["big"] == pytest.approx(8.0 / 0.75)  # the 9 is capped at a quarter of the result
    # the 3 is above a quarter of the total (11): capped at a quarter of 8 / 0.75 = 10.67, which the 2 is not above
    assert got["pair"] == pytest.approx(8.0 / 0.75)
    for g, total in got.items():
        vals = [w for k, w in rows if k == g]
        assert all(min(w, 0.25 * total) <= 0.25 * total + 1e-12 for w in vals)
