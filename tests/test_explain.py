"""Explaining any account exactly: the published graph (graph_edges, graph_vertices), the shares of
score_contributors, and ``kindling query explain`` for an account outside the explained top.

The references are computed here independently: networkx's PageRank (a source's normaliser above
its weights modelled as a dangling ghost vertex, as tests/test_pagerank.py does), edge weights
worked out by hand from the interactions written, and shares as
``d * rank(u) * w(u->v) / out(u) / rank(v)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import networkx as nx
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from jobs import topics as T
from jobs.explain import graph_edges, graph_vertices
from jobs.pagerank import pagerank_arrays
from kindling.serving import query
from kindling.storage.lake import Lake

D = 0.85


def _nx_ranks(nodes, rows, personalization=None):
    """networkx PageRank of (src, dst, w, n) rows: a source divides by the sum of max(w, n), the
    rest of its rank returns through the teleport (a dangling ghost vertex takes n - w)."""
    g = nx.DiGraph()
    g.add_nodes_from([*nodes, "GHOST"])
    for s, d, w, _n in rows:
        g.add_edge(s, d, weight=w)
    ghost: dict[str, float] = {}
    for s, _d, w, n in rows:
        ghost[s] = ghost.get(s, 0.0) + max(w, n) - w
    for s, x in ghost.items():
        if x > 0:
            g.add_edge(s, "GHOST", weight=x)
    p = {v: 1.0 for v in nodes} if personalization is None else dict(personalization)
    ref = nx.pagerank(g, alpha=D, weight="weight", personalization={**p, "GHOST": 0.0}, tol=1e-13, max_iter=2000)
    total = sum(v for k, v in ref.items() if k != "GHOST")
    return {k: v / total for k, v in ref.items() if k != "GHOST"}


def _shares(nodes, rows, ranks):
    """{v: {u: share of v's rank that u brought}} and {v: base share}."""
    out = {u: sum(max(w, n) for s, _d, w, n in rows if s == u) for u in nodes}
    shares = {v: {} for v in nodes}
    for s, d, w, _n in rows:
        if w > 0:
            shares[d][s] = shares[d].get(s, 0.0) + D * ranks[s] * w / out[s] / ranks[d]
    return shares, {v: 1.0 - sum(shares[v].values()) for v in nodes}


# --- the pure transforms ---------------------------------------------------------------------

TOPICS = ["art", "go"]
OFFTOPIC = 0.2
# (src, dst, w, n, m): factored slot weights as jobs.topics.slot_factors makes them (slot 0 the
# global score, 1 art, 2 go, 3 the trusted seeds); b -> c and c -> b were defended (n > w),
# d -> b has n < w (counts as w), f -> c has no n (counts as w); e engages nobody, g is isolated.
EDGES = [
    ("a", "b", 2.0, 2.0, {1: 1.0, 3: 1.0}),
    ("a", "c", 1.0, 1.0, {3: 1.0}),
    ("b", "c", 0.3, 3.0, {1: 0.6, 2: 0.4, 3: 1.0}),
    ("b", "a", 1.0, 1.0, {3: 1.0}),
    ("c", "b", 0.5, 5.0, {2: 1.0, 3: 1.0}),
    ("c", "e", 1.0, 1.0, {3: 1.0}),
    ("d", "a", 1.0, 1.0, {3: 1.0}),
    ("d", "b", 1.0, 0.5, {3: 1.0}),
    ("f", "c", 2.0, None, {2: 0.6, 3: 1.0}),
]
NODES = ["a", "b", "c", "d", "e", "f", "g"]
# teleport: global uniform, art recognition, go recognition, trusted seed
TELE = {
    "a": [1.0, 1.0, 0.0, 1.0],
    "b": [1.0, 0.0, 2.0, 0.0],
    "c": [1.0, 0.0, 1.0, 0.0],
    "d": [1.0, 0.0, 0.0, 1.0],
    "e": [1.0, 0.0, 0.0, 0.0],
    "f": [1.0, 0.0, 0.0, 0.0],
    "g": [1.0, 0.0, 0.0, 0.0],
}


@pytest.fixture(scope="module")
def ranked(spark):
    edges = spark.createDataFrame(EDGES, "src string, dst string, w double, n double, m map<int,double>")
    verts = spark.createDataFrame([(v, "net") for v in NODES], "id string, grp string")
    tele = spark.createDataFrame(list(TELE.items()), "id string, v array<double>")
    scale = T.slot_scale(len(TOPICS) + 2, OFFTOPIC)
    res = pagerank_arrays(verts, edges, tele, damping=D, tol=1e-13, max_iter=1000, scale=scale)
    ranks = {r["id"]: r["pr"] for r in res.ranks.collect()}
    rank_df = spark.createDataFrame(list(ranks.items()), "id string, pr array<double>")
    res.unpersist()
    return edges, ranks, rank_df, scale


def test_graph_edges_carry_the_weights_and_normalisers_pagerank_used(spark, ranked):
    edges, _ranks, _rank_df, _scale = ranked
    events = spark.createDataFrame(
        [("a", "b", "reply"), ("a", "b", "like"), ("a", "b", "reply"), ("b", "c", "like")],
        "actor_id string, target_id string, kind string",
    )
    got = {(r["src"], r["dst"]): r for r in graph_edges(edges, events, TOPICS, OFFTOPIC, "run-1").collect()}
    assert set(got) == {(s, d) for s, d, *_ in EDGES}
    for s, d, w, n, m in EDGES:
        r = got[(s, d)]
        assert r["weight"] == w and r["norm_weight"] == max(w, n if n is not None else w)
        assert r["out_weight"] == pytest.approx(
            sum(max(w2, n2 if n2 is not None else w2) for s2, _, w2, n2, _m in EDGES if s2 == s)
        )
        want = {TOPICS[k - 1]: v for k, v in m.items() if 1 <= k <= len(TOPICS)}
        assert (dict(r["topic_factors"]) if r["topic_factors"] else {}) == want  # the trusted-seed slot is not a topic
        assert r["offtopic_factor"] == OFFTOPIC and r["run_id"] == "run-1"
    assert (got[("a", "b")]["events"], got[("a", "b")]["kinds"]) == (3, "reply=2,like=1")
    assert (got[("a", "c")]["events"], got[("a", "c")]["kinds"]) == (0, "")


def test_graph_vertices_explain_every_account_against_networkx(spark, ranked):
    edges, ranks, _rank_df, _scale = ranked
    events = spark.createDataFrame([], "actor_id string, target_id string, kind string")
    ge = graph_edges(edges, events, TOPICS, OFFTOPIC, "r").persist()
    scores = spark.createDataFrame(
        [(v, f"h_{v}", ranks[v][0], 20.0) for v in NODES],
        "account_id string, handle string, pagerank double, influence double",
    )
    got = {r["id"]: r for r in graph_vertices(ge, scores, D, "r").collect()}
    rows = [(s, d, w, n if n is not None else w) for s, d, w, n, _m in EDGES]
    ref = _nx_ranks(NODES, rows)
    shares, base = _shares(NODES, rows, ref)
    assert set(got) == set(NODES)
    assert sum(r["pagerank"] for r in got.values()) == pytest.approx(1.0, abs=1e-12)
    for v, r in got.items():
        assert r["pagerank"] == pytest.approx(ref[v], abs=1e-9)
        assert r["in_flow"] + r["base"] == pytest.approx(r["pagerank"], abs=1e-15)
        assert r["base_share"] == pytest.approx(base[v], abs=1e-8)
        assert r["in_flow"] / r["pagerank"] == pytest.approx(sum(shares[v].values()), abs=1e-8)
        assert r["damping"] == D
    assert got["g"]["base_share"] == pytest.approx(1.0) and got["e"]["out_weight"] == 0.0
    # the global teleport is uniform: every account's base is the same, (1 - d)/N plus what the
    # dangling e and the withheld credit of b and c (n - w) return
    bases = [r["base"] for r in got.values()]
    assert max(bases) - min(bases) < 1e-12
    returned = ref["e"] + ref["g"] + ref["b"] * (3.0 - 0.3) / 4.0 + ref["c"] * (5.0 - 0.5) / 6.0
    assert bases[0] == pytest.approx(((1 - D) + D * returned) / len(NODES), abs=1e-12)
    ge.unpersist()


def test_topic_factors_give_the_topic_slots_exactly(spark, ranked):
    """On topic t an edge weighs weight * m_t and counts norm_weight * m_t, m_t =
    coalesce(topic_factors[t], offtopic_factor): with those, each account's topic rank is its
    in-flow plus a base proportional to its teleport on the topic (zero without recognition)."""
    edges, ranks, _rank_df, _scale = ranked
    events = spark.createDataFrame([], "actor_id string, target_id string, kind string")
    ge = graph_edges(edges, events, TOPICS, OFFTOPIC, "r").collect()
    for slot, topic in enumerate(TOPICS, start=1):
        mult = {(r["src"], r["dst"]): (r["topic_factors"] or {}).get(topic, r["offtopic_factor"]) for r in ge}
        out = {u: sum(r["norm_weight"] * mult[(r["src"], r["dst"])] for r in ge if r["src"] == u) for u in NODES}
        in_flow = {
            v: sum(
                D * ranks[r["src"]][slot] * r["weight"] * mult[(r["src"], r["dst"])] / out[r["src"]]
                for r in ge
                if r["dst"] == v
            )
            for v in NODES
        }
        base = {v: ranks[v][slot] - in_flow[v] for v in NODES}
        tele = {v: TELE[v][slot] for v in NODES}
        per_unit = base["a" if topic == "art" else "b"] / tele["a" if topic == "art" else "b"]
        assert per_unit > 0
        for v in NODES:
            assert base[v] == pytest.approx(per_unit * tele[v], abs=1e-12), (topic, v)


def test_contributors_shares_are_of_the_score_with_a_base_share(spark, ranked):
    edges, ranks, rank_df, scale = ranked
    top = spark.createDataFrame([("b", 0), ("c", 0), ("c", 2)], "account_id string, slot int")
    got = T.contributors(top, rank_df, edges, D, k=1, scale=scale).collect()
    by = {(r["account_id"], r["slot"]): r for r in got}
    assert set(by) == {("b", 0), ("c", 0), ("c", 2)} and all(r["contributor_rank"] == 1 for r in got)
    for (v, slot), r in by.items():
        mult = {(s, d): m.get(slot, scale[slot]) for s, d, _w, _n, m in EDGES}
        rows = [(s, d, w * mult[(s, d)], max(w, n if n is not None else w) * mult[(s, d)]) for s, d, w, n, _m in EDGES]
        out = {u: sum(n for s, _d, _w, n in rows if s == u) for u in NODES}
        flows = {s: D * ranks[s][slot] * w / out[s] for s, d, w, _n in rows if d == v and w > 0}
        best = max(flows, key=lambda u: (flows[u], u))
        assert r["contributor_id"] == best
        assert r["share"] == round(flows[best] / ranks[v][slot], 6)  # of the score, not of the inflow
        assert r["base_share"] == pytest.approx(1.0 - sum(flows.values()) / ranks[v][slot], abs=1e-12)
        assert len(flows) > 1 and r["share"] + r["base_share"] < 1.0  # the rest: the unlisted contributors


# --- a small lake, end to end -------------------------------------------------------------------

DAY2 = dt.date(2026, 11, 20)
DAY1 = DAY2 - dt.timedelta(days=1)
ACCOUNTS = [f"a{i}" for i in range(10)]
ORG = "a3"


def _interactions(day: dt.date) -> list[tuple]:
    """(actor, target, kind, hour, post_id): a0 is the hub; a7 likes everyone's posts in bulk on
    DAY2 (40 likes: over the daily credit budget, so its edges are defended); a8 engages nobody,
    a9 nobody engages with. Day 2 adds a reply a4 -> a2 and a like a6 -> a2."""
    rows = [
        ("a1", "a0", "reply", 1, None),
        ("a2", "a0", "reply", 2, None),
        ("a3", "a0", "like", 3, None),
        ("a4", "a0", "repost", 4, None),
        ("a5", "a0", "reply", 5, None),
        ("a6", "a0", "mention", 6, None),
        ("a1", "a2", "reply", 7, f"p{day}-1"),
        ("a3", "a2", "repost", 8, f"p{day}-1"),
        ("a5", "a2", "like", 9, f"p{day}-1"),
        ("a2", "a1", "like", 10, f"p{day}-5"),
        ("a0", "a1", "reply", 11, f"p{day}-5"),
        ("a4", "a5", "like", 12, f"p{day}-2"),
        ("a0", "a5", "like", 13, f"p{day}-2"),
        ("a1", "a8", "mention", 14, None),
        ("a6", "a3", "reply", 15, None),
        ("a2", "a5", "like", 16, f"p{day}-2"),
        ("a3", "a1", "like", 17, f"p{day}-5"),
    ]
    if day == DAY2:
        rows += [("a4", "a2", "reply", 18, f"p{day}-1"), ("a6", "a2", "like", 19, None)]
        rows += [("a7", ACCOUNTS[1 + i % 6], "like", 20, None) for i in range(40)]
    return rows


def _write_source(root) -> None:
    for day in (DAY1, DAY2):
        folder = root / "network=alpha" / f"dt={day}"
        folder.mkdir(parents=True)
        with open(folder / "accounts.csv", "w") as fh:
            fh.write("account_id,handle,display_name,account_type,created_at,verified,followers_count\n")
            for a in ACCOUNTS:
                fh.write(
                    f"{a},h_{a},{a.upper()},{'organization' if a == ORG else 'person'},2020-01-01T00:00:00Z,false,10\n"
                )
        with open(folder / "posts.csv", "w") as fh:
            fh.write("post_id,author_id,created_at,hashtags,topics\n")
            for i, author in ((1, "a2"), (2, "a5"), (5, "a1")):
                fh.write(f"p{day}-{i},{author},{day}T00:30:00Z,#python,\n")
        with open(folder / "interactions.csv", "w") as fh:
            fh.write("event_id,actor_id,target_id,kind,post_id,created_at\n")
            for i, (s, d, k, h, p) in enumerate(_interactions(day)):
                fh.write(f"e{day}-{i},{s},{d},{k},{p or ''},{day}T{h:02d}:{i % 60:02d}:00Z\n")
        (folder / "_SUCCESS").write_text("")


@pytest.fixture(scope="module")
def small_lake(spark, tmp_path_factory):
    from kindling.core.settings import load_settings
    from kindling.pipeline.steps import run_day

    tmp = tmp_path_factory.mktemp("explain")
    _write_source(tmp / "src")
    s = load_settings(
        env={},
        source=str(tmp / "src"),
        lake=str(tmp / "lake"),
        spark_shuffle_partitions=2,
        tol=1e-12,
        max_iter=500,
        contributors_top_n=1,
        contributors_k=3,
        drift_psi_fail=1000.0,
        drift_psi_warn=1000.0,
    )
    for day in (DAY1, DAY2):
        run_day(s, day, spark=spark, log=lambda m: None)
    return s


def _table(lake, table, day):
    return pq.read_table(Lake(lake).published(table, day) / "network=alpha").to_pylist()


def _reference(lake, day):
    """networkx ranks and shares from the day's published weights, independent of the engine: plain
    PageRank over flow_weight (the weights with the spark cap applied) gives the published ranks."""
    rows = [(r["src"], r["dst"], r["flow_weight"], r["norm_weight"]) for r in _table(lake, "graph_edges", day)]
    ranks = _nx_ranks(ACCOUNTS, rows)
    shares, base = _shares(ACCOUNTS, rows, ranks)
    return rows, ranks, shares, base


def test_graph_tables_are_published_as_a_graphframe_ready_pair(spark, small_lake):
    lake = Lake(small_lake.lake)
    for t in ("graph_edges", "graph_vertices"):
        assert lake.published_dates(t) == [DAY1, DAY2]
    v = spark.read.parquet(str(lake.published("graph_vertices", DAY2) / "network=alpha"))
    e = spark.read.parquet(str(lake.published("graph_edges", DAY2) / "network=alpha"))
    assert "id" in v.columns and {"src", "dst"} <= set(e.columns)
    scores = {r["account_id"]: r for r in _table(small_lake.lake, "account_scores", DAY2)}
    got = {r["id"]: r for r in v.collect()}
    assert set(got) == set(scores) == set(ACCOUNTS)
    assert all(
        got[a]["pagerank"] == scores[a]["pagerank"] and got[a]["influence"] == scores[a]["influence"] for a in got
    )
    # every edge joins two vertices; in-degrees through the pair as GraphFrames would compute them
    assert e.join(v.select(F.col("id").alias("src")), "src", "left_anti").count() == 0
    assert e.join(v.select(F.col("id").alias("dst")), "dst", "left_anti").count() == 0
    indeg = {r["dst"]: r["n"] for r in e.groupBy("dst").agg(F.count(F.lit(1)).alias("n")).collect()}
    assert indeg["a0"] == 6 and "a9" not in indeg and got["a8"]["out_weight"] == 0.0
    # the output gate validated both (audit-out), and the run row counts them
    quality = next((lake.root / "_runs").glob(f"{DAY2}*/quality/output-alpha.json"))
    checked = json.loads(quality.read_text())["validation_results"]
    assert {"graph_edges", "graph_vertices"} <= set(checked) and all(
        checked[t]["success"] for t in ("graph_edges", "graph_vertices")
    )


def test_published_weights_are_the_defended_weights_worked_out_by_hand(small_lake):
    s = small_lake
    edges = {(r["src"], r["dst"]): r for r in _table(s.lake, "graph_edges", DAY2)}
    end = dt.datetime.combine(DAY2 + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def decayed(day, hour, minute, kind):
        at = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)
        return s.kind_weights[kind] * 0.5 ** ((end - at).total_seconds() / 86400 / s.half_life_days)

    def sat(x):
        return s.pair_saturation * math.log1p(x / s.pair_saturation)

    # a4 -> a5: one like on each day, no defense
    raw = sum(decayed(day, 12, 11, "like") for day in (DAY1, DAY2))
    assert edges[("a4", "a5")]["weight"] == pytest.approx(sat(raw), rel=1e-12)
    assert edges[("a4", "a5")]["norm_weight"] == edges[("a4", "a5")]["weight"]
    # a7: 40 likes in a day (20 of kind weight) over the budget of 15: each carries 15/20 of its weight,
    # and PageRank still divides by the undefended weights
    minutes = [i % 60 for i, r in enumerate(_interactions(DAY2)) if r[0] == "a7" and r[1] == "a1"]
    full = sum(decayed(DAY2, 20, m, "like") for m in minutes)
    assert edges[("a7", "a1")]["norm_weight"] == pytest.approx(sat(full), rel=1e-12)
    assert edges[("a7", "a1")]["weight"] == pytest.approx(sat(full * s.actor_daily_budget / 20.0), rel=1e-12)
    assert edges[("a7", "a1")]["out_weight"] == pytest.approx(
        sum(r["norm_weight"] for (src, _), r in edges.items() if src == "a7")
    )
    assert (edges[("a7", "a1")]["events"], edges[("a7", "a1")]["kinds"]) == (len(minutes), f"like={len(minutes)}")


def test_explain_an_account_outside_the_explained_top_exactly(small_lake):
    lake = small_lake.lake
    explained = {r["account_id"] for r in _table(lake, "score_contributors", DAY2) if r["topic"] is None}
    assert explained == {"a0"}  # contributors_top_n = 1
    _rows, ranks, shares, base = _reference(lake, DAY2)
    for account in ("a2", "a5", "a1"):
        got = query.explain(lake, account, network="alpha", n=2)
        assert (got["source"], got["network"], got["dt"], got["prev_dt"]) == ("graph", "alpha", str(DAY2), str(DAY1))
        e = got["networks"]["alpha"]
        assert len(e["contributors"]) == 2 and e["others_count"] == len(shares[account]) - 2 >= 1
        total = sum(c["share"] for c in e["contributors"]) + e["others_share"] + e["base_share"]
        assert total == pytest.approx(1.0, abs=1e-6)
        want = sorted(shares[account].items(), key=lambda x: (-x[1], x[0]))
        assert [c["contributor_id"] for c in e["contributors"]] == [u for u, _ in want[:2]]
        for c, (_u, share) in zip(e["contributors"], want, strict=False):
            assert c["share"] == pytest.approx(share, abs=1e-6)
        assert e["others_share"] == pytest.approx(sum(x for _, x in want[2:]), abs=1e-6)
        assert e["base_share"] == pytest.approx(base[account], abs=1e-6)
        assert e["pagerank"] == pytest.approx(ranks[account], abs=1e-9)


def test_explain_the_top_account_agrees_with_score_contributors(small_lake):
    lake = small_lake.lake
    rows = sorted(
        (r for r in _table(lake, "score_contributors", DAY2) if r["topic"] is None and r["account_id"] == "a0"),
        key=lambda r: r["contributor_rank"],
    )
    e = query.explain(lake, "a0", network="alpha", n=3)["networks"]["alpha"]
    assert [c["contributor_id"] for c in e["contributors"]] == [r["contributor_id"] for r in rows]
    for c, r in zip(e["contributors"], rows, strict=True):
        assert r["share"] == pytest.approx(c["share"], abs=1e-6) and (c["events"], c["kinds"]) == (
            r["events"],
            r["kinds"],
        )
        assert r["base_share"] == pytest.approx(e["base_share"], abs=1e-12)
    # a topic is explained from score_contributors: listed + others + base add to 1 as well
    topic = next(r["topic"] for r in _table(lake, "score_contributors", DAY2) if r["topic"] is not None)
    top = next(r for r in _table(lake, "topic_scores", DAY2) if r["topic"] == topic and r["rank_in_topic"] == 1)
    got = query.explain(lake, top["account_id"], topic=topic)
    t = got["networks"]["alpha"]
    assert got["source"] == "score_contributors" and t["contributors"]
    assert sum(c["share"] for c in t["contributors"]) + t["others_share"] + t["base_share"] == pytest.approx(
        1.0, abs=1e-9
    )
    assert t["others_share"] >= -1e-6 and 0.0 <= t["base_share"] <= 1.0


def test_explain_shows_the_change_since_the_previous_day(small_lake, capsys, monkeypatch, tmp_path):
    from kindling.cli import main

    lake = small_lake.lake
    monkeypatch.setenv("KINDLING_LAKE", lake)
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no kindling.toml
    now = {r["account_id"]: r for r in _table(lake, "account_scores", DAY2)}
    then = {r["account_id"]: r for r in _table(lake, "account_scores", DAY1)}
    _rows, _ranks, shares1, base1 = _reference(lake, DAY1)
    e = query.explain(lake, "a2", network="alpha", n=10)["networks"]["alpha"]
    assert e["score_change"] == pytest.approx(now["a2"]["influence"] - then["a2"]["influence"])
    listed = {c["contributor_id"]: c for c in e["contributors"]}
    assert {"a4", "a6"} <= set(listed)  # new on DAY2: no edge the day before, so a share of 0 then
    for u, c in listed.items():
        assert c["share_prev"] == pytest.approx(shares1["a2"].get(u, 0.0), abs=1e-6)
        assert c["share_change"] == pytest.approx(c["share"] - c["share_prev"], abs=1e-12)
    assert listed["a4"]["share_prev"] == 0.0 and listed["a4"]["share_change"] > 0
    assert e["base_share_prev"] == pytest.approx(base1["a2"], abs=1e-6)
    assert e["base_share_change"] == pytest.approx(e["base_share"] - e["base_share_prev"], abs=1e-12)

    # the table: one line per contributor, then others, base and a total of 100%
    rc = main(["query", "explain", "a2", "--network", "alpha", "-n", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "from graph_edges" in out and "every contributor" in out
    lines = out.splitlines()
    assert any(line.split()[:1] == ["others"] for line in lines) and any(
        line.split()[:2] == ["base", "teleport"] for line in lines
    )
    assert next(line for line in lines if line.split()[:1] == ["total"]).split()[1] == "100.00"
    assert all(len(line) <= 80 for line in lines)
    rc = main(["query", "explain", "a2", "--network", "alpha", "-n", "2", "--format", "csv"])
    got = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["part"] for r in got] == ["contributor", "contributor", "others", "base"]
    assert sum(float(r["share"]) for r in got) == pytest.approx(1.0, abs=1e-6)


def test_explain_people_only_counts_the_rest_in_others(small_lake):
    lake = small_lake.lake
    everyone = query.explain(lake, "a2", network="alpha", n=10)["networks"]["alpha"]
    assert ORG in {c["contributor_id"] for c in everyone["contributors"]}
    people = query.explain(lake, "a2", network="alpha", n=10, people_only=True)["networks"]["alpha"]
    ranks = {c["contributor_id"]: c["contributor_rank"] for c in everyone["contributors"]}
    assert [c["contributor_id"] for c in people["contributors"]] == [c for c in ranks if c != ORG]
    assert all(c["contributor_rank"] == ranks[c["contributor_id"]] for c in people["contributors"])
    org = next(c["share"] for c in everyone["contributors"] if c["contributor_id"] == ORG)
    assert people["others_share"] == pytest.approx(everyone["others_share"] + org, abs=1e-12)
