"""Unit tests of the pure transforms (conform, graph, score) on the shared SparkSession.

Inputs are built from one base row per table plus per-test overrides.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from frames import accounts_frame

import schemas
from jobs import conform as C
from jobs.graph import build_edges, decayed_events, window_dates
from jobs.score import account_scores
from kindling.core.settings import load_settings

DAY = dt.date(2026, 11, 20)
T = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
BASE_INTERACTION = {
    "event_id": "e1",
    "actor_id": "a",
    "target_id": "b",
    "kind": "reply",
    "post_id": "p1",
    "created_at": T,
}


def interactions(spark, *overrides):
    rows = [{**BASE_INTERACTION, "event_id": f"e{i}", **o} for i, o in enumerate(overrides)]
    return spark.createDataFrame(rows, schemas.table("interactions").spark_schema())


def accounts(spark, ids):
    return accounts_frame(spark, ids, handle="h{}")


def lines(spark, *text):
    return spark.createDataFrame([(i + 2, t) for i, t in enumerate(text)], "_source_row long, value string")


def settings(**kw):
    return load_settings(env={}, **kw)


# --- conform -----------------------------------------------------------------------
def test_csv_lines_conform_to_schema_with_lineage(spark):
    table = schemas.table("interactions")
    header = ["event_id", "actor_id", "target_id", "kind", "post_id", "created_at", "extra"]
    df = C.parse_csv_lines(
        lines(spark, "e1,a,b,like,p1,2026-11-20T10:00:00Z,zzz", 'e2,"c,d",b,reply,,2026-11-20T11:00:00Z,'),
        header,
        table,
        "raw/x.csv",
    )
    out = C.finalize(df, table)
    assert out.columns == [*table.column_names, "_source_file", "_source_row"]
    rows = sorted(out.collect(), key=lambda r: r["event_id"])
    assert rows[0]["created_at"] == dt.datetime(2026, 11, 20, 10, 0)  # session time zone is UTC
    assert rows[1]["actor_id"] == "c,d" and rows[1]["post_id"] is None and rows[1]["_source_row"] == 3
    assert C.find_bad_rows(df, table).count() == 0


def test_malformed_and_mistyped_rows_are_named_by_line(spark):
    table = schemas.table("accounts")
    header = table.column_names
    df = C.parse_csv_lines(
        lines(
            spark, "a1,h,n,person,2020-01-01T00:00:00Z,true,10", "a2,h,n,person", "a3,h,n,person,yesterday,true,lots"
        ),
        header,
        table,
        "raw/accounts.csv",
    )
    bad = sorted((r["_source_row"], r["column"], r["reason"]) for r in C.find_bad_rows(df, table).collect())
    assert (3, "*", "malformed line") in bad
    assert (4, "created_at", "not a valid timestamp") in bad
    assert (4, "followers_count", "not a valid long") in bad
    assert not any(row == 2 for row, *_ in bad)


def test_json_lines_keep_arrays_and_flag_invalid_json(spark):
    table = schemas.table("posts")
    df = C.parse_json_lines(
        lines(
            spark,
            '{"post_id":"p1","author_id":"a","created_at":"2026-11-20T01:00:00Z","hashtags":["#AI"],"topics":null}',
            "{not json",
            "",
        ),
        table,
        "raw/posts.jsonl",
    )
    good = [r for r in df.collect() if r["post_id"] == "p1"][0]
    assert good["hashtags"] == ["#AI"] and good["topics"] is None
    bad = C.find_bad_rows(df, table).collect()
    assert [(r["_source_row"], r["reason"]) for r in bad] == [(3, "malformed line")]


def test_missing_columns_are_reported():
    assert C.missing_columns(schemas.table("posts"), ["post_id", "created_at"]) == ["author_id", "hashtags", "topics"]


# --- graph -----------------------------------------------------------------------
def test_weights_decay_with_age_and_follow_kind(spark):
    s = settings()
    old = T - dt.timedelta(days=7)
    ev = decayed_events(
        interactions(spark, {"kind": "reply"}, {"kind": "like"}, {"kind": "reply", "created_at": old}), DAY, s
    )
    w = sorted(r["w"] for r in ev.collect())
    end_age = 0.5  # 12:00 is half a day before the end of the run date
    reply_now = 3.0 * 0.5 ** (end_age / 7)
    assert w == pytest.approx(sorted([0.5 * 0.5 ** (end_age / 7), reply_now, reply_now / 2]))


def test_pairs_saturate_and_self_interactions_and_unknown_accounts_drop(spark):
    s = settings(half_life_days=1e12, actor_daily_budget=0.0)  # no decay, no credit spread: the saturation alone
    many = [{"actor_id": "a", "target_id": "b", "kind": "reply"}] * 20
    df = interactions(
        spark,
        *many,
        {"actor_id": "c", "target_id": "b", "kind": "reply"},
        {"actor_id": "a", "target_id": "a"},
        {"actor_id": "a", "target_id": "ghost"},
    )
    edges = {(r["src"], r["dst"]): r for r in build_edges(df, accounts(spark, ["a", "b", "c"]), DAY, s).collect()}
    assert set(edges) == {("a", "b"), ("c", "b")}
    assert edges[("c", "b")]["weight"] == pytest.approx(5 * math.log1p(3 / 5))
    assert edges[("a", "b")]["weight"] == pytest.approx(5 * math.log1p(60 / 5))
    assert edges[("a", "b")]["weight"] < 20 * edges[("c", "b")]["weight"] / 3  # far less than linear
    assert edges[("a", "b")]["events"] == 20


# --- defenses (README "Defenses"): each rule on a small graph, and off by its setting -----------
def posts(spark, author_counts):
    rows = [
        {"post_id": f"{a}-{i}", "author_id": a, "created_at": T, "hashtags": [], "topics": []}
        for a, k in author_counts.items()
        for i in range(k)
    ]
    return spark.createDataFrame(rows, schemas.table("posts").spark_schema())


def _edges(spark, s, rows, ids, **kw):
    out = build_edges(interactions(spark, *rows), accounts(spark, ids), DAY, s, **kw).collect()
    return {(r["src"], r["dst"]): r["weight"] for r in out}


def test_credit_spread_an_actor_that_likes_everything_gives_little_to_each(spark):
    s = settings(half_life_days=1e12, pair_saturation=0.0)  # no decay, no saturation: the spread alone
    yesterday = T - dt.timedelta(days=1)
    bot = [{"actor_id": "bot", "target_id": f"t{i}", "kind": "like"} for i in range(60)]  # 30 kind weight today
    quiet = [{"actor_id": "bot", "target_id": "t0", "kind": "like", "created_at": yesterday}]  # 0.5 yesterday
    fan = [{"actor_id": "fan", "target_id": "t0", "kind": "reply"}]  # 3, far under the budget of 15
    ids = ["bot", "fan"] + [f"t{i}" for i in range(60)]
    w = _edges(spark, s, bot + quiet + fan, ids)
    assert w[("bot", "t1")] == pytest.approx(0.5 * 15 / 30)  # today's likes share the budget
    assert w[("bot", "t0")] == pytest.approx(0.5 * 15 / 30 + 0.5)  # yesterday's single like is whole
    assert w[("fan", "t0")] == pytest.approx(3.0)
    assert sum(v for (a, _), v in w.items() if a == "bot") == pytest.approx(15 + 0.5)
    off = _edges(spark, s.replace(actor_daily_budget=0.0), bot + quiet + fan, ids)
    assert off[("bot", "t1")] == pytest.approx(0.5)


def test_volume_engagement_counts_relative_to_the_target_posting_volume(spark):
    s = settings(half_life_days=1e12, actor_daily_budget=0.0, pair_saturation=0.0)
    rows = [{"actor_id": "fan", "target_id": t, "kind": "reply"} for t in ("brand", "expert")]
    ids = ["fan", "brand", "expert"]
    # over 2 days the brand posted 16 (8 a day), the expert 2 (1 a day, the free rate)
    w = _edges(spark, s, rows, ids, posts=posts(spark, {"brand": 16, "expert": 2}), post_days=2)
    assert w[("fan", "expert")] == pytest.approx(3.0)
    assert w[("fan", "brand")] == pytest.approx(3.0 * (1 / 8) ** 0.5)
    # the fan's PageRank now flows mostly to the expert: its transition shares
    assert w[("fan", "expert")] / (w[("fan", "expert")] + w[("fan", "brand")]) == pytest.approx(1 / (1 + 8**-0.5))
    for off in (s.replace(received_volume_exponent=0.0), s):
        kw = {"posts": posts(spark, {"brand": 16, "expert": 2}), "post_days": 2} if off is not s else {}
        w = _edges(spark, off, rows, ids, **kw)
        assert w[("fan", "brand")] == pytest.approx(w[("fan", "expert")])


def test_reciprocity_heavy_pairs_feeding_each_other_are_discounted(spark):
    s = settings(half_life_days=1e12, actor_daily_budget=0.0)
    pod = [{"actor_id": a, "target_id": b, "kind": "reply"} for a, b in (("a", "b"), ("b", "a")) for _ in range(4)]
    one_way = [{"actor_id": "c", "target_id": "b", "kind": "reply"}] * 4 + [
        {"actor_id": "b", "target_id": "c", "kind": "reply"}
    ]
    heavy = 5 * math.log1p(12 / 5)  # 4 replies: 6.12 >= 6
    w = _edges(spark, s, pod + one_way, ["a", "b", "c"])
    assert w[("a", "b")] == pytest.approx(0.5 * heavy) and w[("b", "a")] == pytest.approx(0.5 * heavy)
    assert w[("c", "b")] == pytest.approx(heavy)  # heavy one way only: no pod
    assert w[("b", "c")] == pytest.approx(5 * math.log1p(3 / 5))
    off = _edges(spark, s.replace(reciprocal_discount=1.0), pod + one_way, ["a", "b", "c"])
    assert off[("a", "b")] == pytest.approx(heavy)


def test_responses_a_reply_you_asked_for_is_not_an_endorsement(spark):
    s = settings(half_life_days=1e12, actor_daily_budget=0.0, pair_saturation=0.0)
    h = dt.timedelta(hours=1)
    rows = [
        {"actor_id": "gamer", "target_id": "star", "kind": "reply", "created_at": T - 10 * h},  # the ask
        {
            "actor_id": "star",
            "target_id": "gamer",
            "kind": "reply",
            "created_at": T - 9 * h,
        },  # answered: answer_credit of it
        {"actor_id": "star", "target_id": "gamer", "kind": "like", "created_at": T - 8 * h},  # any kind
        {"actor_id": "star", "target_id": "fan", "kind": "reply", "created_at": T},  # nobody asked: whole
        {"actor_id": "fan", "target_id": "star", "kind": "reply", "created_at": T + h},  # fan answers the star
        {"actor_id": "old", "target_id": "star", "kind": "mention", "created_at": T - 80 * h},  # 80 h before: too old
        {"actor_id": "star", "target_id": "old", "kind": "reply", "created_at": T},
    ]
    ev = {
        (r["actor_id"], r["target_id"], r["kind"]): r
        for r in decayed_events(interactions(spark, *rows), DAY, s).collect()
    }
    c = s.answer_credit
    assert 0 < c < 1
    assert ev[("star", "gamer", "reply")]["w"] == pytest.approx(c * 3.0)
    assert ev[("star", "gamer", "like")]["w"] == pytest.approx(c * 0.5)
    assert ev[("star", "gamer", "reply")]["w_full"] == pytest.approx(3.0)  # the normaliser keeps it whole
    assert ev[("star", "fan", "reply")]["w"] == pytest.approx(3.0)
    assert ev[("fan", "star", "reply")]["w"] == pytest.approx(c * 3.0)
    assert ev[("star", "old", "reply")]["w"] == pytest.approx(3.0)
    assert ev[("gamer", "star", "reply")]["w"] == pytest.approx(3.0)  # the ask itself
    off = {
        (r["actor_id"], r["target_id"], r["kind"]): r
        for r in decayed_events(interactions(spark, *rows), DAY, s.replace(answer_credit=1.0)).collect()
    }
    assert off[("star", "gamer", "reply")]["w"] == pytest.approx(3.0)


def test_norm_weight_is_the_saturated_weight_before_any_defense(spark):
    s = settings(half_life_days=1e12)
    bot = [{"actor_id": "bot", "target_id": f"t{i}", "kind": "like"} for i in range(60)]  # 30 kind weight: spread to 15
    pod = [{"actor_id": a, "target_id": b, "kind": "reply"} for a, b in (("a", "b"), ("b", "a")) for _ in range(4)]
    ids = ["bot", "a", "b"] + [f"t{i}" for i in range(60)]
    out = {
        (r["src"], r["dst"]): r
        for r in build_edges(interactions(spark, *bot, *pod), accounts(spark, ids), DAY, s).collect()
    }
    heavy = 5 * math.log1p(12 / 5)
    assert out[("a", "b")]["norm_weight"] == pytest.approx(heavy) and out[("a", "b")]["weight"] == pytest.approx(
        0.5 * heavy
    )
    assert out[("bot", "t1")]["norm_weight"] == pytest.approx(5 * math.log1p(0.5 / 5))  # the like before the spread
    assert out[("bot", "t1")]["weight"] == pytest.approx(5 * math.log1p(0.25 / 5))
    off = {
        (r["src"], r["dst"]): r
        for r in build_edges(
            interactions(spark, *bot, *pod), accounts(spark, ids), DAY, s.replace(defenses=False).effective()
        ).collect()
    }
    assert all(r["weight"] == pytest.approx(r["norm_weight"]) for r in off.values())
    assert off[("a", "b")]["weight"] == pytest.approx(12.0)  # no saturation either


def test_defense_settings_are_checked_when_loaded():
    with pytest.raises(ValueError, match="reciprocal_discount"):
        settings(reciprocal_discount=1.5)
    with pytest.raises(ValueError, match="actor_daily_budget"):
        load_settings(env={"KINDLING_ACTOR_DAILY_BUDGET": "-1"})
    with pytest.raises(ValueError, match="received_free_posts_per_day"):
        settings(received_free_posts_per_day=0.0)
    with pytest.raises(ValueError, match="ring_discount"):
        settings(ring_discount=2.0)
    with pytest.raises(ValueError, match="ring_min_size"):
        settings(ring_min_size=40)
    assert load_settings(env={"KINDLING_DEFENSES": "off"}).effective().reciprocal_discount == 1.0


def test_window_dates_end_on_the_run_date():
    w = window_dates(DAY, 28)
    assert len(w) == 28 and w[-1] == DAY and w[0] == DAY - dt.timedelta(days=27)


# --- score -----------------------------------------------------------------------
def test_influence_is_log_scaled_relative_to_the_average(spark):
    ranks = spark.createDataFrame([("a", 0.5), ("b", 0.25), ("c", 0.125), ("d", 0.125)], "id string, pagerank double")
    edges = spark.createDataFrame([("b", "a", 1.0)], "src string, dst string, weight double")
    prev = spark.createDataFrame([("a", 40.0)], "account_id string, influence double")
    out = {r["account_id"]: r for r in account_scores(ranks, accounts(spark, "abcd"), edges, prev, "r1").collect()}
    # N = 4: N * pr = 2, 1, 0.5 -> 30, 20, 10
    assert out["a"]["influence"] == pytest.approx(30.0)
    assert out["b"]["influence"] == pytest.approx(20.0)
    assert out["c"]["influence"] == pytest.approx(10.0)
    assert out["a"]["rank"] == 1 and {out["c"]["rank"], out["d"]["rank"]} == {3, 4} and out["c"]["rank"] == 3
    assert out["a"]["influence_change"] == pytest.approx(-10.0) and out["b"]["influence_change"] is None
    assert out["a"]["in_weight"] == 1.0 and out["b"]["out_weight"] == 1.0 and out["c"]["in_weight"] == 0.0
    assert out["a"]["percentile"] == pytest.approx(100.0) and out["c"]["percentile"] == 0.0
    assert list(out["a"].asDict()) == schemas.table("account_scores").column_names


def test_influence_clamps_to_0_and_100(spark):
    ranks = spark.createDataFrame(
        [("a", 0.999999), *[(f"x{i}", 1e-6 / 999) for i in range(999)]], "id string, pagerank double"
    )
    edges = spark.createDataFrame([], "src string, dst string, weight double")
    out = {
        r["account_id"]: r["influence"]
        for r in account_scores(ranks, accounts(spark, ["a"]), edges, None, "r").collect()
    }
    assert out["a"] == 100.0 and out["x0"] == 0.0
