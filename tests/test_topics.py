"""Topics: hashtag matching, roll-up, and topic-sensitive PageRank against networkx."""

from __future__ import annotations

import math
import random

import networkx as nx
import pytest
from pyspark.sql import functions as F

from jobs import topics as T
from jobs.graph import saturate
from jobs.pagerank import pagerank_arrays
from jobs.score import influence
from kindling.core.settings import load_settings
from kindling.ingest.taxonomy import load_taxonomy
from kindling.ingest.topics import build_topic_map, read_aliases, tag_key, topic_map

# --- matching -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "#MachineLearning",
        "#machine_learning",
        "machinelearning",
        "#MACHINE-LEARNING",
        " #Machine_Learning ",
        "#ML",
        "ml",
    ],
)
def test_hashtags_reach_their_topic_however_written(tag):
    m = topic_map(load_settings(env={}))
    assert m.topic_for_tag(tag) == "machine-learning"


def test_unknown_and_empty_tags_match_nothing():
    m = topic_map(load_settings(env={}))
    assert m.topic_for_tag("#tbt") is None
    assert m.topic_for_tag("#") is None
    assert m.topic_for_tag("") is None


def test_rollup_adds_every_ancestor_and_only_them():
    m = topic_map(load_settings(env={}))
    tax = load_taxonomy()
    up = m.rollup("zoology")
    assert "zoology" in up and "biology" in up and "science-and-nature-super" in up
    assert set(up) == {"zoology"} | tax.ancestors("zoology")
    assert m.rollup("not-a-topic") == []


def test_slug_clash_resolves_to_the_slug_that_is_its_own_key():
    m = topic_map(load_settings(env={}))
    assert tag_key("flo-rida") == tag_key("florida")
    assert m.topic_for_tag("#Florida") == "florida"


def test_alias_file_errors_name_file_and_line(tmp_path):
    tax = load_taxonomy()
    good = tmp_path / "a.csv"
    good.write_text("alias,topic\n// comment\nstargazing,astronomy\n")
    assert build_topic_map(tax, read_aliases(good, tax)).topic_for_tag("#StarGazing") == "astronomy"
    bad = tmp_path / "b.csv"
    bad.write_text("alias,topic\nstargazing,astronomy\nfoo,no-such-topic\n")
    with pytest.raises(ValueError, match=r"b\.csv: line 3: topic 'no-such-topic'"):
        read_aliases(bad, tax)
    nohead = tmp_path / "c.csv"
    nohead.write_text("stargazing,astronomy\n")
    with pytest.raises(ValueError, match="line 1 must be the header"):
        read_aliases(nohead, tax)


def test_another_taxonomy_through_settings(tmp_path):
    tdir = tmp_path / "tax"
    tdir.mkdir()
    (tdir / "my_ontology.csv").write_text(
        "topicId,topicSlug,topicDisplayName\n1,birds,Birds\n2,owls,Owls\n3,nature,Nature\n"
    )
    (tdir / "my_edge.csv").write_text(
        "parentTopicId,parentTopicSlug,childTopicId,childTopicSlug\n3,nature,1,birds\n1,birds,2,owls\n"
    )
    (tmp_path / "aliases.csv").write_text("alias,topic\nhoot,owls\n")
    s = load_settings(env={"KINDLING_TAXONOMY_DIR": str(tdir), "KINDLING_TOPIC_ALIASES": str(tmp_path / "aliases.csv")})
    m = topic_map(s)
    assert m.topic_for_tag("#Hoot") == "owls"
    assert m.rollup("owls") == ["birds", "nature", "owls"]
    assert m.topic_for_tag("#MachineLearning") is None


# --- post topics and evidence (Spark) ----------------------------------------------------


def _maps(spark):
    m = topic_map(load_settings(env={}))
    return (
        spark.createDataFrame(m.tag_rows(), "key string, topic string"),
        spark.createDataFrame(m.slug_rows(), "slug string, topic string"),
    )


def test_post_topics_prefer_provider_topics_and_roll_up(spark):
    posts = spark.createDataFrame(
        [
            ("p1", "a", ["#MachineLearning", "#tbt"], None),
            ("p2", "b", ["machine_learning"], []),
            ("p3", "c", ["#MachineLearning"], ["zoology"]),  # provider topics win
            ("p4", "d", ["#nothing-here"], None),
            ("p5", "e", None, None),
        ],
        "post_id string, author_id string, hashtags array<string>, topics array<string>",
    )
    tag_map, slug_map = _maps(spark)
    got = {}
    for r in T.post_topics(posts, tag_map, slug_map).collect():
        got.setdefault(r["post_id"], set()).add(r["topic"])
    m = topic_map(load_settings(env={}))
    assert got["p1"] == set(m.rollup("machine-learning"))
    assert got["p2"] == set(m.rollup("machine-learning"))
    assert got["p3"] == set(m.rollup("zoology"))
    assert "p4" not in got and "p5" not in got


def _world(seed: int = 3):
    """A random small network: posts on two topics (or none), weighted engagements on them."""
    rnd = random.Random(seed)
    accounts = [f"u{i:02d}" for i in range(30)]
    topics = ["astronomy", "baking"]
    posts = []
    for i in range(90):
        author = rnd.choice(accounts[:20])
        t = rnd.choice(topics + [None])
        posts.append((f"p{i}", author, [f"#{t.capitalize()}"] if t else ["#tbt"], None))
    events = []
    for _ in range(400):
        p = rnd.choice(posts)
        actor = rnd.choice(accounts)
        if actor == p[1]:
            continue
        kind = rnd.choice(["reply", "like", "repost"])
        events.append((actor, p[1], kind, p[0], round(rnd.uniform(0.1, 3.0), 3)))
    # engagement with no post (off-topic by construction)
    for _ in range(40):
        a, b = rnd.sample(accounts, 2)
        events.append((a, b, "mention", None, 1.5))
    return accounts, posts, events


def test_topic_sensitive_pagerank_matches_networkx_per_topic(spark):
    """Every topic's vector (and the global one), all from ONE pass, against networkx to 1e-6 in L1."""
    accounts, posts, events = _world()
    f, s_sat = 0.2, 5.0
    posts_df = spark.createDataFrame(
        posts, "post_id string, author_id string, hashtags array<string>, topics array<string>"
    )
    ev = spark.createDataFrame(events, "actor_id string, target_id string, kind string, post_id string, w double")
    acc = spark.createDataFrame([(a,) for a in accounts], "account_id string")
    tag_map, slug_map = _maps(spark)
    ptop = T.post_topics(posts_df, tag_map, slug_map)
    tev = T.topic_events(ev, ptop)
    rec = T.recognition(tev)
    topics = T.ranked_topics(rec, 3)
    m = topic_map(load_settings(env={}))
    assert set(m.rollup("astronomy")) | set(m.rollup("baking")) >= set(topics) >= {"astronomy", "baking"}
    edges = ev.groupBy(F.col("actor_id").alias("src"), F.col("target_id").alias("dst")).agg(
        F.sum("w").alias("raw_weight")
    )
    edges = edges.select("src", "dst", "raw_weight", saturate(F.col("raw_weight"), s_sat).alias("weight"))
    res = pagerank_arrays(
        acc.select(F.col("account_id").alias("id"), F.lit("n").alias("grp")),
        T.slot_edges(edges, tev, topics, f),
        T.slot_teleport(acc, rec, topics),
        tol=1e-12,
        max_iter=300,
    )
    assert res.converged
    got = {r["id"]: r["pr"] for r in res.ranks.collect()}
    res.unpersist()

    # The reference, computed here from the raw events without the Spark transforms.
    post_topic = {p[0]: set(m.rollup(m.topic_for_tag(p[2][0]))) if m.topic_for_tag(p[2][0]) else set() for p in posts}
    post_author = {p[0]: p[1] for p in posts}
    raw, on = {}, {}
    best = {}  # (target, topic, actor) -> strongest weight
    for a, b, _kind, pid, w in events:
        raw[(a, b)] = raw.get((a, b), 0.0) + w
        if pid is not None and post_author[pid] == b:
            for t in post_topic[pid]:
                on[(a, b, t)] = on.get((a, b, t), 0.0) + w
                best[(b, t, a)] = max(best.get((b, t, a), 0.0), w)
    for slot, topic in enumerate([None, *topics]):
        g = nx.DiGraph()
        g.add_nodes_from(accounts)
        for (a, b), r in raw.items():
            sat = s_sat * math.log1p(r / s_sat)
            w = sat if topic is None else sat * (f + (1 - f) * on.get((a, b, topic), 0.0) / r)
            g.add_edge(a, b, weight=w)
        pers = None
        if topic is not None:
            pers = {u: 0.0 for u in accounts}
            for (b, t, _a), w in best.items():
                if t == topic:
                    pers[b] += w
        want = nx.pagerank(g, alpha=0.85, weight="weight", personalization=pers, tol=1e-13, max_iter=1000)
        l1 = sum(abs(got.get(u, [0.0] * (len(topics) + 1))[slot] - want[u]) for u in accounts)
        assert l1 < 1e-6, (topic, l1)
    # topics really differ from each other and from the global vector
    a_slot, b_slot = 1 + topics.index("astronomy"), 1 + topics.index("baking")
    top_a = max(accounts, key=lambda u: got[u][a_slot])
    top_b = max(accounts, key=lambda u: got[u][b_slot])
    assert top_a != top_b


def test_recognition_counts_others_not_own_volume(spark):
    """A loud poster nobody engages with gets no recognition however much it posts."""
    posts = [(f"l{i}", "loud", ["#Astronomy"], None) for i in range(50)] + [("e1", "expert", ["#Astronomy"], None)]
    events = [(f"fan{i}", "expert", "reply", "e1", 1.0) for i in range(4)] + [("fan0", "expert", "like", "e1", 0.5)]
    posts_df = spark.createDataFrame(
        posts, "post_id string, author_id string, hashtags array<string>, topics array<string>"
    )
    ev = spark.createDataFrame(events, "actor_id string, target_id string, kind string, post_id string, w double")
    tag_map, slug_map = _maps(spark)
    ptop = T.post_topics(posts_df, tag_map, slug_map)
    tev = T.topic_events(ev, ptop)
    rec = {(r["account_id"], r["topic"]): r for r in T.recognition(tev).collect()}
    assert rec[("expert", "astronomy")]["recognizers"] == 4  # fan0's like and reply count once
    assert rec[("expert", "astronomy")]["recognition"] == pytest.approx(4.0)  # strongest per recognizer
    assert ("loud", "astronomy") not in rec
    act = {(r["account_id"], r["topic"]): r for r in T.activity(posts_df, ptop, ev, tev, prior=10.0).collect()}
    assert act[("loud", "astronomy")]["own_posts"] == 50
    assert act[("loud", "astronomy")]["interest"] == pytest.approx(100 * 50 / 60, abs=1e-4)
    assert act[("fan1", "astronomy")]["own_engagements"] == 1
    assert act[("fan1", "astronomy")]["interest"] == pytest.approx(100 * 1 / 11, abs=1e-4)


def test_recognition_of_a_busy_poster_is_scaled_by_the_volume_rule(spark):
    rec = spark.createDataFrame(
        [("busy", "astronomy", 5, 8.0), ("calm", "astronomy", 5, 8.0)],
        "account_id string, topic string, recognizers long, recognition double",
    )
    volume = spark.createDataFrame([("busy", 0.25)], "dst string, volume double")  # 16 posts a day
    got = {r["account_id"]: r for r in T.scale_recognition(rec, volume).collect()}
    assert got["busy"]["recognition"] == pytest.approx(2.0) and got["calm"]["recognition"] == pytest.approx(8.0)
    assert got["busy"]["recognizers"] == 5 and T.scale_recognition(rec, volume).columns == rec.columns
    assert T.scale_recognition(rec, None) is rec


# --- the 0-100 scale -------------------------------------------------------------------------


def test_expertise_and_influence_scale_is_fixed_log2(spark):
    rows = [(r, m) for r in (1e-9, 0.001, 0.002, 0.004, 0.05, 0.5) for m in (10.0, 1000.0)]
    df = spark.createDataFrame(rows, "r double, m double").select(
        "r", "m", influence(F.col("r"), F.col("m")).alias("x")
    )
    got = {(r["r"], r["m"]): r["x"] for r in df.collect()}
    for (r, m), x in got.items():
        want = min(100.0, max(0.0, 20 + 10 * math.log2(r * m)))
        assert x == pytest.approx(want, abs=1e-4)
    assert got[(0.002, 1000.0)] - got[(0.001, 1000.0)] == pytest.approx(10.0)  # a doubling adds 10
    assert got[(0.001, 1000.0)] == pytest.approx(20.0)  # the average account scores 20
    assert got[(1e-9, 10.0)] == 0.0 and got[(0.5, 1000.0)] == 100.0  # clamped


def test_contributors_equal_up_to_noise_rank_by_id(spark):
    """Two contributors whose flows differ far below the published precision (the ranks' float
    noise varies between runs with the summation order) share the published share and are ranked
    by contributor_id, so a rerun ranks them alike."""
    top = spark.createDataFrame([("x", 0)], "account_id string, slot int")
    ranks = spark.createDataFrame(
        [("a", [0.3]), ("b", [0.3 + 1e-12]), ("c", [0.1]), ("x", [0.3])], "id string, pr array<double>"
    )
    edges = spark.createDataFrame(
        [("a", "x", [1.0]), ("b", "x", [1.0]), ("c", "x", [1.0])], "src string, dst string, w array<double>"
    )
    got = T.contributors(top, ranks, edges, damping=0.85, k=10).orderBy("contributor_rank").collect()
    assert [(r["contributor_id"], r["contributor_rank"]) for r in got] == [("a", 1), ("b", 2), ("c", 3)]
    # shares of x's score: d * rank(u) * w / out(u) / rank(x)
    assert got[0]["share"] == got[1]["share"] == round(0.85 * 0.3 / 0.3, 6)
    assert got[2]["share"] == round(0.85 * 0.1 / 0.3, 6)


def test_topic_ranks_of_given_pairs_match_the_exploded_arrays(spark):
    """``topic_ranks(only=...)`` looks the pairs up in the arrays: the same rows as exploding
    every account's every topic slot and keeping those pairs; the trusted-seed slot after the
    topics, unranked topics and accounts without ranks give no row."""
    topics = ["art", "go", "jazz"]
    ranks = spark.createDataFrame(
        [("a", [0.5, 0.1, 0.2, 0.3, 0.9]), ("b", [0.5, 0.0, 0.4, 0.6, 0.1])], "id string, pr array<double>"
    )
    only = spark.createDataFrame(
        [("a", "go"), ("a", "jazz"), ("a", "go"), ("b", "art"), ("b", "cooking"), ("c", "go")],
        "account_id string, topic string",
    )
    got = sorted(tuple(r) for r in T.topic_ranks(ranks, topics, only=only).collect())
    every = {(r["account_id"], r["topic"]): r["topic_rank"] for r in T.topic_ranks(ranks, topics).collect()}
    assert len(every) == 6 and ("a", "go") in every
    assert got == [("a", "go", 0.2), ("a", "jazz", 0.3), ("b", "art", 0.0)]
    assert all(every[(a, t)] == x for a, t, x in got)


# --- distinct boards: topics whose boards would be identical are folded ------------------------


def _fold_world(spark):
    """Posts on tractors and livestock (agriculture: two active children, and animals: only
    livestock), volcanoes (nature: one active child), geology (earth-science, natural-science and
    science: no other active child), and one post on baking and jazz at once (provider topics)."""
    posts = [
        ("t1", "a0", ["#Tractors"], None),
        ("t2", "a1", ["#tractors"], None),
        ("l1", "a2", ["#Livestock"], None),
        ("v1", "a3", ["#Volcanoes"], None),
        ("v2", "a4", ["#volcanoes"], None),
        ("g1", "a5", ["#Geology"], None),
        ("b1", "a6", None, ["baking", "jazz"]),
        ("o1", "a7", ["#tbt"], None),
    ]
    events = [
        ("a8", "a0", "reply", "t1", 1.0),
        ("a9", "a0", "like", "t1", 0.5),
        ("a2", "a1", "reply", "t2", 1.0),
        ("a8", "a2", "repost", "l1", 0.8),
        ("a0", "a2", "reply", "l1", 1.0),
        ("a9", "a3", "reply", "v1", 1.0),
        ("a10", "a4", "like", "v2", 0.5),
        ("a3", "a4", "reply", "v2", 1.0),
        ("a11", "a5", "reply", "g1", 1.0),
        ("a7", "a5", "like", "g1", 0.5),
        ("a1", "a6", "reply", "b1", 1.0),
        ("a10", "a7", "reply", "o1", 1.0),
        ("a5", "a9", "mention", None, 1.5),
        ("a6", "a11", "mention", None, 1.0),
        ("a4", "a8", "mention", None, 1.0),
    ]
    posts_df = spark.createDataFrame(
        posts, "post_id string, author_id string, hashtags array<string>, topics array<string>"
    )
    ev = spark.createDataFrame(events, "actor_id string, target_id string, kind string, post_id string, w double")
    acc = spark.createDataFrame([(f"a{i}",) for i in range(12)], "account_id string")
    tag_map, slug_map = _maps(spark)
    ptop = T.post_topics(posts_df, tag_map, slug_map).persist()
    tev = T.topic_events(ev, ptop).persist()
    rec = T.recognition(tev).persist()
    return acc, ev, ptop, tev, rec


FOLDED = {
    "animals": "livestock",
    "nature": "volcanoes",
    "earth-science": "geology",
    "natural-science": "geology",
    "science": "geology",
    "entertainment-super": "baking",
    "food-and-drink-super": "baking",
    "jazz": "baking",
}


def test_topics_with_the_same_posts_fold_into_the_most_specific_and_their_boards_were_identical(spark):
    acc, ev, ptop, tev, rec = _fold_world(spark)
    ranked = T.ranked_topics(rec, 1)
    folded = T.same_boards(ptop, ranked, load_taxonomy().ancestors)
    # a parent with one active child points to it, through chains and several parents (geology's
    # parents earth-science and science, and natural-science above earth-science); unrelated topics
    # always on the same posts (baking and jazz) keep the deepest, then the first slug
    assert folded == FOLDED
    # agriculture has two active children and science-and-nature-super several: their own boards,
    # with the roll-up kept (a tractors expert and a livestock expert both count toward agriculture)
    assert sorted(set(ranked) - set(folded)) == [
        "agriculture",
        "baking",
        "geology",
        "livestock",
        "science-and-nature-super",
        "tractors",
        "volcanoes",
    ]
    recognised = {}
    for r in rec.collect():
        recognised.setdefault(r["topic"], set()).add(r["account_id"])
    assert recognised["agriculture"] == recognised["tractors"] | recognised["livestock"] == {"a0", "a1", "a2"}
    assert T.same_boards(ptop, ["agriculture"], load_taxonomy().ancestors) == {}

    # The evidence rule is exact: unfolded, the folded topics' slots equal their boards' slots for
    # every account, and agriculture's differs from each of its children's.
    edges = ev.groupBy(F.col("actor_id").alias("src"), F.col("target_id").alias("dst")).agg(
        F.sum("w").alias("raw_weight")
    )
    edges = edges.select("src", "dst", "raw_weight", saturate(F.col("raw_weight"), 5.0).alias("weight"))
    res = pagerank_arrays(
        acc.select(F.col("account_id").alias("id"), F.lit("n").alias("grp")),
        T.slot_edges(edges, tev, ranked, 0.2),
        T.slot_teleport(acc, rec, ranked),
        tol=1e-12,
        max_iter=300,
    )
    got = {r["id"]: r["pr"] for r in res.ranks.collect()}
    res.unpersist()
    slot = {t: i for i, t in enumerate(ranked, start=1)}
    for f, board in folded.items():
        assert all(pr[slot[f]] == pytest.approx(pr[slot[board]], abs=1e-15) for pr in got.values()), f
    for child in ("tractors", "livestock"):
        assert max(abs(pr[slot["agriculture"]] - pr[slot[child]]) for pr in got.values()) > 1e-3
    for df in (ptop, tev, rec):
        df.unpersist()


def test_topics_table_lists_boards_and_folded_topics_and_passes_the_output_suite(spark, tmp_path):
    import datetime as dt

    import schemas
    from jobs.rank_step import _stage
    from jobs.score import topics_table
    from kindling.gates.quality import validate_output
    from kindling.pipeline.steps import _read_parquet_dir
    from kindling.storage.lake import Lake

    tax = load_taxonomy()
    boards = ["agriculture", "livestock", "tractors", "volcanoes"]
    scores = spark.createDataFrame(
        [
            ("agriculture", "a0"),
            ("agriculture", "a1"),
            ("agriculture", "a2"),
            ("tractors", "a0"),
            ("tractors", "a1"),
            ("livestock", "a2"),
            ("volcanoes", "a3"),
        ],
        "topic string, account_id string",
    )
    lake, day = Lake(tmp_path / "lake"), dt.date(2026, 11, 20)

    def staged(df, network):
        assert _stage(df, lake, "r1", "topics", day, network, ["topic"]) == df.count()
        return _read_parquet_dir(lake.staged("r1", "topics", day, network))

    got = staged(topics_table(scores, boards, {"animals": "livestock", "nature": "volcanoes"}, tax, "r1"), "alpha")
    assert list(got.columns) == schemas.table("topics").column_names
    rows = {r["topic"]: r for r in got.to_dict("records")}
    assert list(rows) == sorted(boards + ["animals", "nature"])  # staged ordered by topic
    assert {t: (r["accounts"], r["same_as"]) for t, r in rows.items()} == {
        "agriculture": (3, None),
        "livestock": (1, None),
        "tractors": (2, None),
        "volcanoes": (1, None),
        "animals": (1, "livestock"),
        "nature": (1, "volcanoes"),
    }  # a folded topic counts its board's accounts
    assert rows["livestock"]["parent"] == "agriculture,animals" and rows["tractors"]["parent"] == "agriculture"
    assert rows["nature"]["parent"] == "science-and-nature-super" and rows["nature"]["display_name"] == "Nature"
    assert {r["run_id"] for r in rows.values()} == {"r1"}
    assert rows["volcanoes"]["display_name"] == tax.display_name("volcanoes")
    top = staged(topics_table(scores, ["science-and-nature-super"], {}, tax, "r1"), "gamma").to_dict("records")
    assert top[0]["parent"] is None and top[0]["accounts"] == 0  # under the root; no rows on that board here

    # a network without ranked topics stages an empty table with the schema
    empty = staged(topics_table(scores.limit(0), [], {}, tax, "r1"), "beta")
    assert len(empty) == 0 and list(empty.columns) == schemas.table("topics").column_names

    for table in (got, empty):
        res = validate_output({"topics": table}, "alpha", None)
        assert [f for f in res.failures if f["table"] == "topics"] == []
    bad = got.copy()
    bad.loc[bad["topic"] == "nature", "topic"] = "animals"
    res = validate_output({"topics": bad}, "alpha", None)
    assert any(f["table"] == "topics" and f["column"] == "topic" for f in res.failures)
