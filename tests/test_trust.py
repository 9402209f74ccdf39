"""Trusted-seed PageRank and spam mass (jobs/trust.py) on small graphs, against networkx."""

from __future__ import annotations

import datetime as dt

import networkx as nx
import pytest
from pyspark.sql import functions as F

import schemas
from jobs import topics as T
from jobs.pagerank import pagerank_arrays
from jobs.score import account_scores
from jobs.trust import SeedFileError, read_seed_file, trusted_seeds, with_spam_mass
from kindling.core.settings import load_settings

DAY = dt.date(2026, 11, 20)

# Seeds s1, s2 and the people they engage with; a farm f1..f6 that only feeds "spam", which feeds it back.
LEGIT = [
    ("s1", "expert", 3.0),
    ("s2", "expert", 2.0),
    ("s1", "s2", 1.0),
    ("s2", "s1", 1.0),
    ("expert", "s1", 1.0),
    ("fan", "expert", 1.0),
    ("fan", "spam", 0.5),
]
FARM = [(f"f{i}", "spam", 3.0) for i in range(1, 7)] + [("spam", f"f{i}", 1.0) for i in range(1, 7)]
IDS = ["s1", "s2", "expert", "fan", "spam"] + [f"f{i}" for i in range(1, 7)]


def accounts(spark, rows):
    """rows: (id, verified, age in days at DAY)."""
    data = [
        {
            "account_id": i,
            "handle": i,
            "display_name": None,
            "account_type": "person",
            "created_at": dt.datetime.combine(DAY, dt.time()) - dt.timedelta(days=age),
            "verified": v,
            "followers_count": 1,
        }
        for i, v, age in rows
    ]
    return spark.createDataFrame(data, schemas.table("accounts").spark_schema())


def test_default_seeds_are_verified_and_old_enough(spark):
    acc = accounts(
        spark,
        [("old_verified", True, 400), ("young_verified", True, 100), ("old", False, 900), ("unknown_age", True, 0)],
    )
    acc = acc.withColumn(
        "created_at", F.when(F.col("account_id") == "unknown_age", None).otherwise(F.col("created_at"))
    )
    got = {r["account_id"] for r in trusted_seeds(spark, acc, "n", DAY, load_settings(env={})).collect()}
    assert got == {"old_verified"}
    got = {
        r["account_id"]
        for r in trusted_seeds(spark, acc, "n", DAY, load_settings(env={}, trust_seed_min_age_days=30)).collect()
    }
    assert got == {"old_verified", "young_verified"}


def test_a_seed_file_names_the_seeds_per_network(spark, tmp_path):
    f = tmp_path / "seeds.csv"
    f.write_text("network,account_id\nn,old\nother,old_verified\nn,ghost\n\n")
    acc = accounts(spark, [("old_verified", True, 400), ("old", False, 900)])
    got = {
        r["account_id"]
        for r in trusted_seeds(spark, acc, "n", DAY, load_settings(env={}, trust_seeds=str(f))).collect()
    }
    assert got == {"old"}  # not the verified account (listed for another network), not an unknown one


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "does not exist"),
        ("account_id\nx\n", "line 1 must be the header"),
        ("network,account_id\nn,a\nn\n", "line 3: expected network,account_id"),
    ],
)
def test_bad_seed_files_are_named_with_the_line(tmp_path, text, message):
    f = tmp_path / "seeds.csv"
    if text is not None:
        f.write_text(text)
    with pytest.raises(SeedFileError, match=message) as err:
        read_seed_file(f)
    assert str(f) in str(err.value)


def _ranks(spark, seeds):
    edges = spark.createDataFrame(LEGIT + FARM, "src string, dst string, weight double")
    acc = spark.createDataFrame([(i,) for i in IDS], "account_id string")
    rec = spark.createDataFrame([], "account_id string, topic string, recognition double")
    res = pagerank_arrays(
        acc.select(F.col("account_id").alias("id"), F.lit("n").alias("grp")),
        T.slot_edges(edges.withColumn("raw_weight", F.col("weight")), None, [], 0.2, trust=True),
        T.slot_teleport(acc, rec, [], seeds=spark.createDataFrame([(s,) for s in seeds], "account_id string")),
        tol=1e-12,
        max_iter=300,
    )
    assert res.converged
    got = {r["id"]: list(r["pr"]) for r in res.ranks.collect()}
    res.unpersist()
    return got


def test_trust_rank_is_the_seed_teleport_pagerank_in_the_same_pass(spark):
    got = _ranks(spark, ["s1", "s2"])
    g = nx.DiGraph()
    g.add_nodes_from(IDS)
    g.add_weighted_edges_from(LEGIT + FARM)
    pr = nx.pagerank(g, alpha=0.85, weight="weight", tol=1e-13, max_iter=1000)
    tr = nx.pagerank(g, alpha=0.85, weight="weight", personalization={"s1": 1, "s2": 1}, tol=1e-13, max_iter=1000)
    assert sum(abs(got[i][0] - pr[i]) for i in IDS) < 1e-6
    assert sum(abs(got[i][1] - tr[i]) for i in IDS) < 1e-6


def test_spam_mass_is_high_for_a_farm_fed_account_and_low_for_the_seeds_expert(spark):
    got = _ranks(spark, ["s1", "s2"])
    ranks = spark.createDataFrame([(i, got[i][0]) for i in IDS], "id string, pagerank double")
    trust = spark.createDataFrame([(i, got[i][1]) for i in IDS], "account_id string, trust_rank double")
    acc = accounts(spark, [(i, False, 10) for i in IDS])
    edges = spark.createDataFrame(LEGIT + FARM, "src string, dst string, weight double")
    s = load_settings(env={}, spam_flag_min_influence=30.0)  # 11 accounts: none reaches the default 40 (4x the average)
    rows = {
        r["account_id"]: r
        for r in account_scores(ranks, acc, edges, None, "r", trust=trust, seeds=2, settings=s).collect()
    }
    assert rows["spam"]["influence"] >= 30.0
    for i in IDS:
        want = min(1.0, max(0.0, 1 - s.trust_good_share * got[i][1] / got[i][0]))
        assert rows[i]["spam_mass"] == pytest.approx(want, abs=1e-6)
    assert rows["spam"]["pagerank"] > rows["expert"]["pagerank"]  # the farm lifts it above the expert ...
    # ... but not from trusted ground; half of the expert's comes from the seeds (the rest: teleport, the fan)
    assert rows["spam"]["spam_mass"] > 0.9 and rows["expert"]["spam_mass"] < 0.6
    assert rows["spam"]["spam_flag"] and not rows["expert"]["spam_flag"]
    assert not any(rows[f"f{i}"]["spam_flag"] for i in range(1, 7))  # high mass, low influence: not flagged
    # the flag follows its two settings
    strict = s.replace(spam_flag_min_influence=100.0)
    rows = {
        r["account_id"]: r
        for r in account_scores(ranks, acc, edges, None, "r", trust=trust, seeds=2, settings=strict).collect()
    }
    assert not rows["spam"]["spam_flag"]


def test_without_seeds_trust_and_mass_are_null_and_nothing_is_flagged(spark):
    scored = spark.createDataFrame(
        [("a", 0.5, 90.0), ("b", 0.5, 90.0)], "account_id string, pagerank double, influence double"
    )
    rows = with_spam_mass(scored, None, 0).collect()
    assert all(r["trust_rank"] is None and r["spam_mass"] is None and r["spam_flag"] is False for r in rows)
    got = _ranks(spark, [])  # a slot with no seed stays all zero in the pass
    assert all(v[1] == 0.0 for v in got.values()) and sum(v[0] for v in got.values()) == pytest.approx(1.0)
