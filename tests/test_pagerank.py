"""Weighted PageRank agrees with networkx, the reference implementation."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from jobs.pagerank import pagerank
from jobs.rank_edges import rank_edges


def _graphs():
    # 1. small graph with a dangling node (d has no out-edges) and an isolated one (e).
    g1 = [("a", "b", 1.0), ("b", "c", 2.0), ("c", "a", 1.0), ("a", "c", 3.0), ("b", "d", 1.0)]
    n1 = ["a", "b", "c", "d", "e"]
    # 2. skewed weights over a random graph with many dangling nodes.
    rnd = random.Random(11)
    n2 = [f"v{i}" for i in range(120)]
    g2 = []
    for _ in range(500):
        s, d = rnd.choice(n2[:80]), rnd.choice(n2)
        if s != d:
            g2.append((s, d, rnd.paretovariate(1.2) * (1000 if rnd.random() < 0.05 else 1)))
    # 3. a star pulling everything to a hub plus a chain (slow mixing).
    n3 = [f"s{i}" for i in range(40)]
    g3 = [(f"s{i}", "s0", 1.0 + i) for i in range(1, 40)] + [(f"s{i}", f"s{i + 1}", 0.1) for i in range(1, 39)]
    return [("dangling", n1, g1), ("skewed", n2, g2), ("star-chain", n3, g3)]


def _nx(nodes, edges, personalization=None):
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    for s, d, w in edges:
        if g.has_edge(s, d):
            g[s][d]["weight"] += w
        else:
            g.add_edge(s, d, weight=w)
    return nx.pagerank(g, alpha=0.85, weight="weight", personalization=personalization, tol=1e-12, max_iter=1000)


# The oracle tests run on both engines: the vector engine and the distributed one on GraphFrames.
ENGINES = pytest.mark.parametrize("engine", ["vector", "graphframes"])


@ENGINES
@pytest.mark.parametrize("name,nodes,edges", _graphs(), ids=[g[0] for g in _graphs()])
def test_kindling_rank_matches_networkx(spark, tmp_path, name, nodes, edges, engine):
    """`kindling rank`'s code path (edge file in, id,pagerank file out) against networkx."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    edge_table = pa.table({"src": [e[0] for e in edges], "dst": [e[1] for e in edges], "weight": [e[2] for e in edges]})
    if name == "dangling":  # CSV in, CSV out; the isolated node e is not in an edge list
        edge_file, out = tmp_path / "edges.csv", tmp_path / "ranks.csv"
        pcsv.write_csv(edge_table, str(edge_file))
        nodes = sorted({x for e in edges for x in e[:2]})
    else:
        edge_file, out = tmp_path / "edges.parquet", tmp_path / "ranks.parquet"
        pq.write_table(edge_table, str(edge_file))
        nodes = sorted({x for e in edges for x in e[:2]})
    res = rank_edges(spark, str(edge_file), str(out), damping=0.85, tol=1e-10, max_iter=500, engine=engine)
    ranks = (pcsv.read_csv(str(out)) if out.suffix == ".csv" else pq.read_table(str(out))).to_pylist()
    got = {str(r["id"]): r["pagerank"] for r in ranks}
    want = _nx(nodes, edges)
    l1 = sum(abs(got.get(k, 0.0) - want[k]) for k in want)
    print(f"{name}: L1={l1:.3e} iterations={res['iterations']}")
    assert res["converged"]
    assert set(got) == set(nodes)
    assert l1 < 1e-6
    assert abs(sum(got.values()) - 1.0) < 1e-9


@ENGINES
def test_isolated_vertices_get_teleport_mass(spark, engine):
    """A vertex with no edges still gets (1 - d) / N plus its share of dangling mass."""
    name, nodes, edges = _graphs()[0]
    v = spark.createDataFrame([(n,) for n in nodes], "id string")
    e = spark.createDataFrame(edges, "src string, dst string, weight double")
    res = pagerank(v, e, tol=1e-10, max_iter=500, engine=engine)
    got = {r["id"]: r["pagerank"] for r in res.ranks.collect()}
    res.unpersist()
    want = _nx(nodes, edges)
    assert sum(abs(got[k] - want[k]) for k in nodes) < 1e-6
    assert got["e"] == pytest.approx(want["e"], abs=1e-8) and got["e"] > 0


@ENGINES
def test_personalized_keys_match_networkx_in_one_pass(spark, engine):
    name, nodes, edges = _graphs()[1]
    rnd = random.Random(3)
    pers = {
        "k1": {n: rnd.random() for n in nodes[:10]},
        "k2": {n: 1.0 for n in nodes[50:55]},
    }
    v = spark.createDataFrame([(n,) for n in nodes], "id string")
    e = spark.createDataFrame(edges, "src string, dst string, weight double")
    t = spark.createDataFrame(
        [(n, k, w) for k, p in pers.items() for n, w in p.items()], "id string, key string, v double"
    )
    res = pagerank(v, e, teleport=t, tol=1e-10, max_iter=500, engine=engine)
    rows = res.ranks.collect()
    res.unpersist()
    for k, p in pers.items():
        got = {r["id"]: r["pagerank"] for r in rows if r["key"] == k}
        want = _nx(nodes, edges, personalization={n: p.get(n, 0.0) for n in nodes})
        l1 = sum(abs(got.get(n, 0.0) - want[n]) for n in nodes)
        assert l1 < 1e-6, (k, l1)


def _ranks(spark, nodes, edges, id_type, engine="auto"):
    v = spark.createDataFrame([(n,) for n in nodes], f"id {id_type}")
    e = spark.createDataFrame(edges, f"src {id_type}, dst {id_type}, weight double")
    res = pagerank(v, e, tol=1e-10, max_iter=500, engine=engine)
    got = {r["id"]: r["pagerank"] for r in res.ranks.collect()}
    res.unpersist()
    return got


def test_integer_ids_rank_as_their_own_keys(spark):
    """Integral ids skip the hash; the ranks come back under the original ids, with their type."""
    _, nodes, edges = _graphs()[1]
    num = {n: int(n[1:]) * 1_000_003 for n in nodes}  # large, sparse ids
    got = _ranks(spark, [num[n] for n in nodes], [(num[s], num[d], w) for s, d, w in edges], "bigint")
    want = _nx(nodes, edges)
    assert set(got) == set(num.values())
    assert sum(abs(got[num[k]] - want[k]) for k in nodes) < 1e-6


@ENGINES
def test_a_hash_collision_falls_back_to_the_ids(spark, monkeypatch, engine):
    """Two string ids with the same 64-bit hash would merge two accounts: the engine notices and numbers the ids."""
    from pyspark.sql import functions as F

    monkeypatch.setattr(F, "xxhash64", lambda *cols: F.lit(42).cast("long"))  # every id collides
    _, nodes, edges = _graphs()[1]
    got = _ranks(spark, nodes, edges, "string", engine)
    want = _nx(nodes, edges)
    assert set(got) == set(nodes)
    assert sum(abs(got[k] - want[k]) for k in nodes) < 1e-6


def test_a_normaliser_above_the_weight_returns_the_rest_to_the_teleport(spark):
    """Edge column ``n``: a source divides by the sum of n, so w/n of its rank follows the edge
    and the rest returns through the teleport. The reference: networkx with a dangling ghost
    vertex that takes n - w of every edge (its mass comes back through the teleport), the ghost
    then dropped and the rest renormalised."""
    from pyspark.sql import functions as F

    from jobs.pagerank import pagerank_arrays

    # (src, dst, w, n): b's pod edge to c keeps a tenth of its weight; d's edge is untouched.
    rows = [
        ("a", "b", 2.0, 2.0),
        ("a", "c", 1.0, 1.0),
        ("b", "c", 0.3, 3.0),
        ("b", "a", 1.0, 1.0),
        ("c", "b", 0.5, 5.0),
        ("d", "a", 1.0, 1.0),
        ("d", "b", 1.0, 0.5),
    ]  # n < w counts as w
    nodes = ["a", "b", "c", "d", "e"]
    edges = spark.createDataFrame(
        [(s, d, [w], [n]) for s, d, w, n in rows], "src string, dst string, w array<double>, n array<double>"
    )
    verts = spark.createDataFrame([(v, "g") for v in nodes], "id string, grp string")
    tele = verts.select("id", F.array(F.lit(1.0)).alias("v"))
    res = pagerank_arrays(verts, edges, tele, tol=1e-12, max_iter=500)
    got = {r["id"]: r["pr"][0] for r in res.ranks.collect()}
    res.unpersist()

    ghost = [(s, "GHOST", max(n, w) - w) for s, d, w, n in rows if max(n, w) > w]
    ref = _nx(
        nodes + ["GHOST"],
        [(s, d, w) for s, d, w, _ in rows] + ghost,
        personalization={**{v: 1.0 for v in nodes}, "GHOST": 0.0},
    )
    total = sum(v for k, v in ref.items() if k != "GHOST")
    want = {k: v / total for k, v in ref.items() if k != "GHOST"}
    assert sum(abs(got[k] - want[k]) for k in nodes) < 1e-8
    # against the plain weighted PageRank: the pod b <-> c keeps less, the teleport (e) gets more
    plain = _nx(nodes, [(s, d, w) for s, d, w, _ in rows])
    assert got["b"] < plain["b"] - 0.05 and got["e"] > plain["e"] + 0.05


def _mixed_case(spark):
    """Two groups with different slot counts, normalisers, a dangling vertex, an isolated one,
    an edge to an id outside the vertex set, repeated pairs and a slot with no teleport weight."""
    rnd = random.Random(5)
    na = [f"a{i}" for i in range(60)]
    nb = [f"b{i}" for i in range(25)]
    rows = []
    for names, k in ((na, 3), (nb, 2)):
        for _ in range(len(names) * 4):
            s, d = rnd.choice(names[:-3]), rnd.choice(names)  # the last 3 have no out-edges
            if s != d:
                w = [rnd.paretovariate(1.5) * (0.0 if rnd.random() < 0.2 else 1.0) for _ in range(k)]
                rows.append((s, d, w, [x * rnd.choice([1.0, 1.0, 4.0]) for x in w]))
    rows.append(("a0", "nobody", [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]))
    verts = spark.createDataFrame(
        [(v, "A") for v in na] + [(v, "B") for v in nb] + [("lonely", "B")], "id string, grp string"
    )
    edges = spark.createDataFrame(rows, "src string, dst string, w array<double>, n array<double>")
    tele = spark.createDataFrame(
        [(v, [1.0, rnd.random() if i % 4 == 0 else 0.0, 0.0]) for i, v in enumerate(na)]
        + [(v, [1.0, 2.0 if i < 5 else 0.0]) for i, v in enumerate(nb)]
        + [("lonely", [1.0, 0.0])],
        "id string, v array<double>",
    )
    return verts, edges, tele


@pytest.mark.parametrize("tol", [1e-12, 0.0], ids=["converged", "fixed-iterations"])
def test_the_vector_and_graphframes_engines_agree(spark, tol, monkeypatch):
    """The vector engine (engine/, the default) and the GraphFrames engine compute the same ranks,
    group by group and slot by slot, with the same set of ranked ids; a slot with no teleport
    weight stays all-zero, as the docstring promises. The GraphFrames engine drops the edges to
    non-vertices the same way whether it broadcasts the vertex keys or joins them."""
    import jobs.pagerank as P
    from jobs.pagerank import pagerank_arrays

    verts, edges, tele = _mixed_case(spark)
    got = {}
    for engine in ("vector", "graphframes", "graphframes, joined"):
        if engine.endswith("joined"):
            monkeypatch.setattr(P, "IDS_BROADCAST_MAX", 0)
        res = pagerank_arrays(verts, edges, tele, tol=tol, max_iter=300 if tol else 40, engine=engine.split(",")[0])
        got[engine] = ({r["id"]: (r["grp"], r["pr"]) for r in res.ranks.collect()}, res.iterations, res.converged)
        res.unpersist()
    joined, broadcast = got["graphframes, joined"][0], got["graphframes"][0]
    assert joined.keys() == broadcast.keys()
    for v, (g, pr) in broadcast.items():
        assert joined[v][0] == g and joined[v][1] == pytest.approx(pr, abs=1e-12), v
    (vec, vit, vconv), (dfr, dit, dconv) = got["vector"], got["graphframes"]
    assert set(vec) == set(dfr) and "nobody" not in vec
    assert vconv and dconv if tol else (vit, dit, vconv) == (40, 40, False)
    for v, (g, pr) in dfr.items():
        assert vec[v][0] == g and len(vec[v][1]) == len(pr) == (3 if g == "A" else 2)
        assert vec[v][1] == pytest.approx(pr, abs=1e-10), v
    for g, k in (("A", 3), ("B", 2)):
        for i in range(k):
            total = sum(pr[i] for gg, pr in vec.values() if gg == g)
            assert total == pytest.approx(0.0 if (g, i) == ("A", 2) else 1.0, abs=1e-9), (g, i)


def _factored_case(spark):
    """The vertices and teleport of :func:`_mixed_case` with factored edges: a base weight, a
    normaliser (sometimes missing), and a map of slots whose multiplier differs from the scale,
    including a multiplier of 0, a slot beyond the widest group and a source (a1) whose every
    edge zeroes slot 1, so that it is dangling there and only there."""
    verts, _edges, tele = _mixed_case(spark)
    rnd = random.Random(11)
    rows = []
    for ids in ([f"a{i}" for i in range(60)], [f"b{i}" for i in range(25)]):
        for _ in range(len(ids) * 4):
            s, d = rnd.choice(ids[:-3]), rnd.choice(ids)
            if s == d:
                continue
            w = rnd.paretovariate(1.5)
            n = None if rnd.random() < 0.3 else w * rnd.choice([1.0, 1.0, 3.0, 0.5])
            m = {t: rnd.choice([0.0, 0.4, 1.0, 2.5]) for t in range(3) if rnd.random() < 0.3} or None
            if s == "a1":
                m = {**(m or {}), 1: 0.0}
            if rnd.random() < 0.05:
                m = {**(m or {}), 7: 9.0}  # no such slot: ignored
            rows.append((s, d, w, n, m))
    rows.append(("a1", "a2", 2.0, None, {1: 0.0, 2: 1.5}))
    edges = spark.createDataFrame(rows, "src string, dst string, w double, n double, m map<int, double>")
    return verts, edges, tele


def test_factored_edges_rank_as_their_expanded_arrays(spark, monkeypatch):
    """Factored edges (one weight, a map of the slots that differ from ``scale``) give, on both
    engines, the ranks of the same edges written out as per-slot arrays (``expand_slots``); so
    does the vector engine when a superstep multiplies one slot per Spark job (``VECTOR_CHUNK_MB``)."""
    import jobs.pagerank as P
    from jobs.pagerank import expand_slots, pagerank_arrays

    verts, edges, tele = _factored_case(spark)
    scale = [1.0, 0.2, 0.7]
    dense = expand_slots(edges, scale)
    row = {(r["src"], r["dst"], r["w"][0]): r for r in dense.collect()}[("a1", "a2", 2.0)]
    assert row["w"] == [2.0, 0.0, 3.0] and row["n"] == [None, None, None]
    got = {}
    for label, e, sc in (("arrays", dense, None), ("factored", edges, scale)):
        for engine in ("vector", "graphframes"):
            res = pagerank_arrays(verts, e, tele, tol=1e-12, max_iter=300, engine=engine, scale=sc)
            got[label, engine] = {r["id"]: r["pr"] for r in res.ranks.collect()}
            assert res.converged, (label, engine)
            res.unpersist()
    monkeypatch.setattr(P, "VECTOR_CHUNK_MB", 1e-9)  # one slot per job
    for label, e, sc in (("arrays", dense, None), ("factored", edges, scale)):
        res = pagerank_arrays(verts, e, tele, tol=1e-12, max_iter=300, engine="vector", scale=sc)
        got[label, "vector, one slot per job"] = {r["id"]: r["pr"] for r in res.ranks.collect()}
        res.unpersist()
    want = got["arrays", "graphframes"]
    for key, ranks in got.items():
        assert set(ranks) == set(want), key
        for v, pr in want.items():
            assert ranks[v] == pytest.approx(pr, abs=1e-10), (key, v)
    # the multipliers matter: slot 1 of group A differs from slot 0, and a1's slot 1 is dangling
    assert any(abs(pr[0] - pr[1]) > 1e-3 for v, pr in want.items() if v.startswith("a"))
    with pytest.raises(ValueError, match="2 multipliers for 3 slots"):
        pagerank_arrays(verts, edges, tele, scale=[1.0, 0.2])


def test_auto_picks_the_graphframes_engine_when_the_vector_is_too_big(spark, monkeypatch):
    """``auto`` takes the vector engine only when its working set fits ``vector_max_mb``; an unknown
    engine is refused; a vector engine that is not on the classpath says how to build it."""
    import jobs.pagerank as P

    verts, edges, tele = _mixed_case(spark)
    calls = []
    for name in ("_run_vector", "_run_graphframes"):
        real = getattr(P, name)
        monkeypatch.setattr(P, name, lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw))
    n, e, k = 86, edges.count(), 3  # vertices, edges as given, widest group's slots
    # two vectors and three one-chunk copies on the driver (one chunk: all slots), two copies of
    # the edges' weights; factored: 28 bytes per edge and 12 per listed slot, twice
    need = 16 * k * n + 3 * 8 * k * n + 2 * 8 * k * e
    assert P.vector_bytes(n, e, k, pairs=7) == 40 * k * n + 2 * (28 * e + 12 * 7)
    assert P.vector_bytes(10**6, 0, 108, pairs=0, chunk_mb=256) == 16 * 108 * 10**6 + 3 * 256 * 2**20
    assert P.vector_bytes(n, e, k) == need
    for max_mb, want in (
        (need / 2**20, "_run_vector"),
        (need / 2**20 * 0.99, "_run_graphframes"),
        (8 * k * 4 * n / 2**20 * 0.99, "_run_graphframes"),
    ):
        calls.clear()
        P.pagerank_arrays(verts, edges, tele, tol=1e-6, max_iter=50, vector_max_mb=max_mb).unpersist()
        assert calls == [want], max_mb
    with pytest.raises(ValueError, match="engine 'fast'"):
        P.pagerank_arrays(verts, edges, tele, engine="fast")
    monkeypatch.setattr(P, "VECTOR_CLASS", "kindling.engine.NoSuchEngine")
    with pytest.raises(RuntimeError, match="make env"):
        P.pagerank_arrays(verts, edges, tele, engine="vector")
