"""The graph layer (jobs/graphframe.py, kindling/serving/graphs.py): GraphFrames built from the window and
from the published graph tables, its components, and a clear error without the jar."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from frames import accounts_frame
from graphframes import GraphFrame

import schemas
from jobs.graph import build_edges
from jobs.graphframe import GraphFramesMissing, connected_components, graph_frame, require_graphframes, window_graph
from kindling.core.settings import load_settings
from kindling.serving.graphs import day_graph

DAY = dt.date(2026, 11, 20)
NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def _accounts(spark, ids):
    return accounts_frame(spark, ids, handle="h_{}")


def _interactions(spark, rows):
    return spark.createDataFrame(
        [
            {"event_id": f"e{n}", "actor_id": a, "target_id": b, "kind": k, "post_id": None, "created_at": NOON}
            for n, (a, b, k) in enumerate(rows)
        ],
        schemas.table("interactions").spark_schema(),
    )


def test_the_window_graph_is_build_edges_as_a_graphframe(spark):
    s = load_settings(env={})
    rows = [("a", "b", "reply"), ("a", "b", "like"), ("b", "c", "reply"), ("c", "a", "quote"), ("z", "a", "like")]
    accounts = _accounts(spark, ["a", "b", "c", "d"])  # z is unknown that day; d engages nobody
    inter = _interactions(spark, rows)
    g = window_graph(accounts, inter, DAY, s)
    assert isinstance(g, GraphFrame)
    assert {(r["id"], r["handle"]) for r in g.vertices.collect()} == {
        ("a", "h_a"),
        ("b", "h_b"),
        ("c", "h_c"),
        ("d", "h_d"),
    }
    want = {
        tuple(r) for r in build_edges(inter, accounts, DAY, s).select("src", "dst", "weight", "norm_weight").collect()
    }
    got = {tuple(r) for r in g.edges.select("src", "dst", "weight", "norm_weight").collect()}
    assert got == want and {(a, b) for a, b, *_ in got} == {("a", "b"), ("b", "c"), ("c", "a")}
    # a GraphFrames algorithm runs on it as it is
    deg = {r["id"]: r["inDegree"] for r in g.inDegrees.collect()}
    assert deg == {"a": 1, "b": 1, "c": 1}


def test_connected_components_group_the_vertices(spark):
    v = spark.createDataFrame([(x,) for x in "abcdexy"], "id string")
    e = spark.createDataFrame([("a", "b"), ("c", "b"), ("d", "e"), ("x", "x")], "src string, dst string")
    comp = {r["id"]: r["component"] for r in connected_components(graph_frame(v, e)).collect()}
    groups = {}
    for vid, c in comp.items():
        groups.setdefault(c, set()).add(vid)
    assert sorted(map(sorted, groups.values())) == [["a", "b", "c"], ["d", "e"], ["x"], ["y"]]
    # a chain longer than graphframes-py's default cap (27 rounds) is still one component
    chain = [f"c{i:02d}" for i in range(40)]
    g = graph_frame(
        spark.createDataFrame([(c,) for c in chain], "id string"),
        spark.createDataFrame(list(zip(chain, chain[1:], strict=False)), "src string, dst string"),
    )
    assert connected_components(g).select("component").distinct().count() == 1


def _write(path, rows, schema):
    path.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path / "part-0.parquet")


def test_day_graph_loads_a_published_day_and_names_what_is_missing(spark, tmp_path):
    lake = tmp_path / "lake"
    vs = pa.schema([("id", pa.string()), ("pagerank", pa.float64())])
    es = pa.schema([("src", pa.string()), ("dst", pa.string()), ("weight", pa.float64())])
    for day, n in ((dt.date(2026, 11, 19), 2), (DAY, 3)):
        for net in ("alpha", "beta"):
            ids = [f"{net[0]}{i}" for i in range(n)]
            _write(
                lake / "tables" / "graph_vertices" / f"dt={day}" / f"network={net}",
                [{"id": i, "pagerank": 1 / n} for i in ids],
                vs,
            )
            _write(
                lake / "tables" / "graph_edges" / f"dt={day}" / f"network={net}",
                [{"src": a, "dst": b, "weight": 1.0} for a, b in zip(ids, ids[1:], strict=False)],
                es,
            )
    s = load_settings(env={}, lake=str(lake))
    g = day_graph(spark, "beta", settings=s)  # latest
    assert sorted(r["id"] for r in g.vertices.collect()) == ["b0", "b1", "b2"]
    assert sorted((r["src"], r["dst"]) for r in g.edges.collect()) == [("b0", "b1"), ("b1", "b2")]
    assert g.vertices.count() == 3
    assert sorted(r["id"] for r in day_graph(spark, "alpha", "2026-11-19", settings=s).vertices.collect()) == [
        "a0",
        "a1",
    ]
    with pytest.raises(
        LookupError, match=r"dt=2026-11-18 has no published graph .*; published: 2026-11-19 \.\. 2026-11-20"
    ):
        day_graph(spark, "alpha", dt.date(2026, 11, 18), settings=s)
    with pytest.raises(
        LookupError, match="network 'gamma' has no published graph on dt=2026-11-20; networks: alpha, beta"
    ):
        day_graph(spark, "gamma", settings=s)
    with pytest.raises(LookupError, match="no published graph in the lake at"):
        day_graph(spark, "alpha", settings=load_settings(env={}, lake=str(tmp_path / "empty")))


def test_a_session_without_the_jar_is_told_how_to_get_it():
    class NoClass:
        def __getattr__(self, name):
            return self

        def __call__(self, *a):
            return self

        def loadClass(self, name):  # noqa: N802 (the JVM's name)
            raise RuntimeError(f"java.lang.ClassNotFoundException: {name}")

    class Spark:
        class sparkContext:  # noqa: N801
            _jvm = NoClass()

    with pytest.raises(
        GraphFramesMissing, match=r"no GraphFrames classes: `make env` builds build/graphframes-spark4_2.13-0.11.0.jar"
    ):
        require_graphframes(Spark())
