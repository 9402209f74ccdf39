"""Engagement rings (jobs/rings.py): detection on small graphs, the discount, and its effect on PageRank."""

from __future__ import annotations

import datetime as dt

import pytest
from frames import accounts_frame
from pyspark.sql import functions as F

import schemas
from jobs import topics as T
from jobs.graph import build_edges
from jobs.pagerank import pagerank_arrays
from jobs.rings import components, detect_rings, discount_rings
from kindling.core.settings import load_settings

DAY = dt.date(2026, 11, 20)
NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def _replies(a, b, k, kind="reply"):
    return [(a, b, kind)] * k


def world():
    """A pod p1..p4 (3 replies each way between every two members, one like outside each); friends
    f1..f3 (2 replies each way) who reply twice each to six other accounts as well; a heavy pair
    q1, q2; a chain c0..c11 of heavy pairs; fans who like p1 and the outsiders."""
    rows = []
    pod = ["p1", "p2", "p3", "p4"]
    for a in pod:
        rows += [r for b in pod if b != a for r in _replies(a, b, 3)]
        rows += _replies(a, "x", 1, "like")
    friends = ["f1", "f2", "f3"]
    for a in friends:
        rows += [r for b in friends if b != a for r in _replies(a, b, 2)]
        rows += [r for i in range(6) for r in _replies(a, f"o{i}", 2)]
    rows += _replies("q1", "q2", 2) + _replies("q2", "q1", 2)
    for i in range(11):
        rows += _replies(f"c{i}", f"c{i + 1}", 2) + _replies(f"c{i + 1}", f"c{i}", 2)
    rows += [r for i in range(10) for r in _replies(f"fan{i}", "p1", 1, "like") + _replies(f"fan{i}", "x", 1, "like")]
    ids = sorted({x for a, b, _ in rows for x in (a, b)})
    return rows, ids


def _edges(spark, s, rows, ids):
    data = [
        {"event_id": f"e{i}", "actor_id": a, "target_id": b, "kind": k, "post_id": None, "created_at": NOON}
        for i, (a, b, k) in enumerate(rows)
    ]
    inter = spark.createDataFrame(data, schemas.table("interactions").spark_schema())
    return build_edges(inter, accounts_frame(spark, ids), DAY, s)


def settings(**kw):
    return load_settings(env={}, half_life_days=1e12, actor_daily_budget=0.0, **kw)


def test_a_closed_insular_group_is_a_ring_and_friends_pairs_and_long_chains_are_not(spark):
    s = settings()
    rows, ids = world()
    rings = {r["account_id"]: r["ring_id"] for r in detect_rings(_edges(spark, s, rows, ids), max_size=5).collect()}
    # f1..f3: heavy both ways, but two thirds of their engagement goes outside (share 0.25 < 0.6);
    # q1, q2: two accounts (ring_min_size 3); c0..c11: 12 accounts in one chain (ring_max_size 5).
    assert rings == {"p1": "ring-p1", "p2": "ring-p1", "p3": "ring-p1", "p4": "ring-p1"}
    # a chain of 5 is within the size: a ring (its members engage nobody else)
    short = [r for r in rows if not (r[0].startswith("c") or r[1].startswith("c"))]
    short += [r for i in range(4) for r in _replies(f"c{i}", f"c{i + 1}", 2) + _replies(f"c{i + 1}", f"c{i}", 2)]
    ids = sorted({x for a, b, _ in short for x in (a, b)})
    rings = {r["account_id"]: r["ring_id"] for r in detect_rings(_edges(spark, s, short, ids), max_size=5).collect()}
    assert {a for a, r in rings.items() if r == "ring-c0"} == {f"c{i}" for i in range(5)}
    # thresholds are parameters (the settings ring_*): one reply each way is not a heavy pair (2.35 < 3); a lower bar makes it one
    one = [r for a, b in (("m1", "m2"), ("m2", "m3"), ("m3", "m1")) for r in _replies(a, b, 1) + _replies(b, a, 1)]
    e = _edges(spark, s, one, ["m1", "m2", "m3"])
    assert detect_rings(e, max_size=5).count() == 0
    assert detect_rings(e, pair_weight=2.0, max_size=5).count() == 3
    # no heavy pair skips the components; the empty answer has the columns and types of a full one
    assert detect_rings(e).schema == detect_rings(e, pair_weight=2.0).schema
    # an internal-share bar above the pod's (0.97) leaves it out
    assert detect_rings(_edges(spark, s, *world()), max_size=5, internal_share=0.99).count() == 0


def test_components_take_the_smallest_id(spark):
    pairs = [("a", "b"), ("b", "c"), ("d", "e"), ("c", "z")]
    df = spark.createDataFrame([p for a, b in pairs for p in ((a, b), (b, a))], "src string, dst string")
    got = {r["id"]: r["label"] for r in components(df).collect()}
    assert got == {"a": "a", "b": "a", "c": "a", "z": "a", "d": "d", "e": "d"}


def test_the_discount_applies_inside_one_ring_only(spark):
    edges = spark.createDataFrame(
        [("a", "b", 2.0, 2.0), ("b", "a", 2.0, 2.0), ("a", "x", 1.0, 1.0), ("c", "d", 2.0, 2.0)],
        "src string, dst string, weight double, norm_weight double",
    )
    rings = spark.createDataFrame(
        [("a", "ring-a"), ("b", "ring-a"), ("c", "ring-c"), ("d", "ring-d")], "account_id string, ring_id string"
    )
    got = {(r["src"], r["dst"]): (r["weight"], r["norm_weight"]) for r in discount_rings(edges, rings, 0.1).collect()}
    assert got == {
        ("a", "b"): (pytest.approx(0.2), 2.0),
        ("b", "a"): (pytest.approx(0.2), 2.0),
        ("a", "x"): (1.0, 1.0),
        ("c", "d"): (2.0, 2.0),
    }
    assert discount_rings(edges, rings, 1.0) is edges
    # the topic events (the recognition members give each other) by their own column names
    tev = spark.createDataFrame(
        [("a", "b", "reply", 3.0, "t"), ("x", "b", "reply", 3.0, "t")],
        "actor_id string, target_id string, kind string, w double, topic string",
    )
    got = {r["actor_id"]: r["w"] for r in discount_rings(tev, rings, 0.1, "actor_id", "target_id", "w").collect()}
    assert got == {"a": pytest.approx(0.3), "x": 3.0}


def test_a_ring_member_keeps_a_share_of_its_outside_credit(spark):
    """``outside`` scales every edge into a member from outside its ring (from an outsider or
    from a member of another ring); edges inside take ``factor``, edges to outsiders stay whole."""
    edges = spark.createDataFrame(
        [("a", "b", 2.0, 2.0), ("x", "a", 4.0, 4.0), ("c", "a", 2.0, 2.0), ("a", "x", 1.0, 1.0), ("x", "y", 1.0, 1.0)],
        "src string, dst string, weight double, norm_weight double",
    )
    rings = spark.createDataFrame(
        [("a", "ring-a"), ("b", "ring-a"), ("c", "ring-c")], "account_id string, ring_id string"
    )
    got = {
        (r["src"], r["dst"]): (r["weight"], r["norm_weight"])
        for r in discount_rings(edges, rings, 0.1, outside=0.25).collect()
    }
    assert got == {
        ("a", "b"): (pytest.approx(0.2), 2.0),
        ("x", "a"): (1.0, 4.0),
        ("c", "a"): (0.5, 2.0),
        ("a", "x"): (1.0, 1.0),
        ("x", "y"): (1.0, 1.0),
    }
    # the outside share alone, the inside discount off
    got = {(r["src"], r["dst"]): r["weight"] for r in discount_rings(edges, rings, 1.0, outside=0.25).collect()}
    assert got[("a", "b")] == 2.0 and got[("x", "a")] == 1.0
    # the topic events: recognition from outsiders is scaled the same way
    tev = spark.createDataFrame(
        [("x", "b", "reply", 3.0, "t"), ("x", "y", "reply", 3.0, "t")],
        "actor_id string, target_id string, kind string, w double, topic string",
    )
    got = {
        r["target_id"]: r["w"]
        for r in discount_rings(tev, rings, 0.1, "actor_id", "target_id", "w", outside=0.25).collect()
    }
    assert got == {"b": pytest.approx(0.75), "y": 3.0}
    s = load_settings(env={})
    assert s.ring_member_credit == 0.1
    assert s.replace(defenses=False).effective().ring_member_credit == 1.0
    with pytest.raises(ValueError, match="ring_member_credit"):
        load_settings(env={}, ring_member_credit=1.5)


def _ring_share(spark, edges, ids, with_norm=True):
    e = T.slot_edges(edges, None, [], 0.2)
    if not with_norm:
        e = e.drop("n")
    verts = spark.createDataFrame([(i, "g") for i in ids], "id string, grp string")
    res = pagerank_arrays(verts, e, verts.select("id", F.array(F.lit(1.0)).alias("v")), tol=1e-12, max_iter=300)
    pr = {r["id"]: r["pr"][0] for r in res.ranks.collect()}
    res.unpersist()
    return sum(pr[p] for p in ("p1", "p2", "p3", "p4"))


def test_the_discount_takes_credit_out_of_the_ring(spark):
    """The pod traps the fans' credit; discounted (with PageRank dividing by the undiscounted
    weights) it keeps much less of it, while only redistributing it would leave most in place."""
    s = settings()
    rows, ids = world()
    edges = _edges(spark, s, rows, ids).persist()
    rings = detect_rings(edges)
    before = _ring_share(spark, edges, ids)
    after = _ring_share(spark, discount_rings(edges, rings, s.ring_discount), ids)
    moved = _ring_share(spark, discount_rings(edges, rings, s.ring_discount), ids, with_norm=False)
    uniform = 4 / len(ids)
    assert before > 2 * uniform  # the trap works without the discount
    # what the ring holds above its teleport share (the trapped credit) shrinks by more than
    # two thirds, and by more than when the discounted credit only goes to the members' other targets
    assert after - uniform < (before - uniform) / 3
    assert after < moved
    # members keeping a tenth of the fans' likes as well: the pod is left about its teleport share
    outside = _ring_share(spark, discount_rings(edges, rings, s.ring_discount, outside=s.ring_member_credit), ids)
    assert outside < after
    assert outside - uniform < (after - uniform) / 2
    edges.unpersist()
