"""The spark cap (jobs/sparks.py): no account's rank may rest on one engager."""

from __future__ import annotations

import networkx as nx
import pytest
from pyspark.sql import functions as F

from jobs import sparks as S
from jobs import topics as T
from jobs.entry import _rank_without_sparks
from kindling.settings import load_settings

# A hub that 30 fans engage with; the hub likes "spark" once, and nobody else engages with it.
# "crowd" is engaged with by 12 of the fans: many small trees, no big spark.
FANS = [f"f{i:02d}" for i in range(30)]
EDGES = (
    [(f, "hub", 3.0) for f in FANS]
    + [("hub", "spark", 0.5), ("hub", "crowd", 0.5)]
    + [(f, "crowd", 1.0) for f in FANS[:12]]
    + [(FANS[i], FANS[(i + 1) % 30], 1.0) for i in range(30)]
)
IDS = sorted({x for e in EDGES for x in e[:2]})


def _per_net(spark, topics=()):
    edges = spark.createDataFrame(EDGES, "src string, dst string, weight double").select(
        "src", "dst", "weight", F.col("weight").alias("raw_weight"), F.col("weight").alias("norm_weight"))
    per_net = {"n": {"slot_edges_raw": T.slot_factors(edges, None, list(topics), 0.2, trust=False).persist(), "caps": None,
                     "topics": list(topics), "evidence": None}}
    vertices = spark.createDataFrame([(f"n/{i}", "n") for i in IDS], "id string, grp string")
    teleport = spark.createDataFrame([(f"n/{i}", [1.0]) for i in IDS], "id string, v array<double>")
    return per_net, vertices, teleport


def _shares(spark, per_net, ranks):
    cands = S.candidates(ranks, depth=1000)
    flows = S.contributions(cands, ranks, per_net["n"]["slot_edges"], 0.85, [1.0])
    return {(r["src"], r["dst"]): r["flow"] / r["rank"] for r in flows.collect()}


def test_one_big_engagement_is_capped_and_the_rest_goes_to_the_teleport(spark):
    settings = load_settings(env={}, tol=1e-12, max_iter=500)
    per_net, vertices, teleport = _per_net(spark)
    off = settings.replace(spark_max_share=1.0)
    result, report = _rank_without_sparks(per_net, vertices, teleport, [1.0], off)
    before = {r["id"][2:]: r["pr"][0] for r in result.ranks.collect()}
    ranks = result.ranks.select(F.expr("substring(id, 3)").alias("id"), "pr")
    shares = _shares(spark, per_net, ranks)
    assert shares[("hub", "spark")] > 0.8  # without the rule, one like makes the spark's score
    assert report["n"]["spark_pairs_capped"] == 0
    result.unpersist()

    per_net, vertices, teleport = _per_net(spark)
    result, report = _rank_without_sparks(per_net, vertices, teleport, [1.0], settings)
    after = {r["id"][2:]: r["pr"][0] for r in result.ranks.collect()}
    ranks = result.ranks.select(F.expr("substring(id, 3)").alias("id"), "pr")
    shares = _shares(spark, per_net, ranks)
    assert max(shares.values()) <= settings.spark_max_share + 1e-9
    assert shares[("hub", "spark")] == pytest.approx(settings.spark_max_share * S.MARGIN, rel=0.05)
    assert report["n"]["spark_pairs_capped"] >= 1 and report["n"]["spark_pairs_over_cap"] == 0
    assert after["spark"] < before["spark"] / 3
    # the capped pair keeps its normaliser: the hub's other target gets no more than before ...
    capped = {(r["src"], r["dst"]): r for r in per_net["n"]["slot_edges"].collect()}
    assert capped[("hub", "spark")]["w"] < 0.5 and capped[("hub", "spark")]["n"] == 0.5
    # ... and the ranks are exactly networkx's on the capped weights with the ghost normaliser
    g = nx.DiGraph()
    g.add_nodes_from(IDS + ["ghost"])
    for (s, d), r in capped.items():
        g.add_edge(s, d, weight=r["w"])
    for s in IDS:
        out_n = sum(r["n"] for (a, _b), r in capped.items() if a == s)
        out_w = sum(r["w"] for (a, _b), r in capped.items() if a == s)
        if out_n > out_w:
            g.add_edge(s, "ghost", weight=out_n - out_w)
    pers = {i: 1.0 for i in IDS} | {"ghost": 0.0}
    want = nx.pagerank(g, alpha=0.85, personalization=pers, weight="weight", dangling=pers, tol=1e-14, max_iter=2000)
    total = sum(want[i] for i in IDS)
    assert sum(abs(after[i] - want[i] / total) for i in IDS) < 1e-6
    # many small trees are left alone
    assert ("f00", "crowd") not in {k for k, r in capped.items() if r["w"] < 1.0}
    result.unpersist()


def test_caps_follow_the_formula_for_several_contributors(spark):
    flows = spark.createDataFrame(
        [("v", 0, "a", 0.4, 1.0), ("v", 0, "b", 0.3, 1.0), ("v", 0, "c", 0.1, 1.0), ("w", 0, "a", 0.2, 1.0)],
        "dst string, slot int, src string, flow double, rank double")
    caps = {(r["src"], r["dst"]): r["factor"] for r in S.spark_caps(flows, 0.25).collect()}
    c = 0.25 * S.MARGIN
    capped_rank = (1.0 - 0.7) / (1 - 2 * c)  # two contributors above the cap
    assert caps == {("a", "v"): pytest.approx(c * capped_rank / 0.4), ("b", "v"): pytest.approx(c * capped_rank / 0.3)}
    # after the cap each makes c of the new rank
    assert 0.4 * caps[("a", "v")] / (capped_rank) == pytest.approx(c)


def test_capped_sum_water_fills_and_one_recognizer_alone_makes_nothing(spark):
    rows = ([("one", 5.0)] + [("two", 1.0), ("two", 1.0)] + [("four", 1.0)] * 4
            + [("big", 9.0)] + [("big", 1.0)] * 8 + [("plain", 1.0)] * 5 + [("pair", 3.0), ("pair", 2.0)] + [("pair", 1.0)] * 6)
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
