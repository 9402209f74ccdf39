"""Responsiveness (jobs/responsive.py): asks, answers within 72 hours, mutual followers, smoothing."""

from __future__ import annotations

import datetime as dt

import pytest
from frames import accounts_frame

import schemas
from jobs.responsive import responsiveness, with_responsiveness
from jobs.score import account_scores
from kindling.core.settings import load_settings

DAY = dt.date(2026, 11, 20)
END = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)  # end of DAY


def at(hours_before_end: float) -> dt.datetime:
    return END - dt.timedelta(hours=hours_before_end)


def events(spark, *rows):
    """rows: (actor, target, kind, hours before the end of DAY)."""
    data = [
        {"event_id": f"e{i}", "actor_id": a, "target_id": t, "kind": k, "post_id": None, "created_at": at(h)}
        for i, (a, t, k, h) in enumerate(rows)
    ]
    return spark.createDataFrame(data, schemas.table("interactions").spark_schema())


def known(spark, ids):
    return spark.createDataFrame([(i,) for i in ids], "account_id string")


def follows(spark, pairs):
    return spark.createDataFrame(
        [{"src_id": s, "dst_id": d} for s, d in pairs], schemas.table("follows").spark_schema()
    )


def resp(spark, rows, ids="abcdefg", fol=None, **kw):
    settings = load_settings(env={}, **kw)
    out = responsiveness(events(spark, *rows), known(spark, list(ids)), fol, DAY, settings)
    return {r["account_id"]: r.asDict() for r in out.collect()}


def test_answered_within_72_hours_counts_later_does_not(spark):
    r = resp(
        spark,
        [
            ("a", "b", "reply", 200),
            ("b", "a", "reply", 190),  # answered after 10 h
            ("c", "b", "mention", 200),
            ("b", "c", "mention", 100),  # answered after 100 h: too late
            ("d", "b", "reply", 150),  # never answered
        ],
    )
    assert r["b"]["asks"] == 3 and r["b"]["answered"] == 1
    assert r["b"]["answer_hours_median"] == pytest.approx(10.0)
    assert r["b"]["responsiveness"] == pytest.approx((1 + 1) / (3 + 4), abs=1e-6)


def test_an_answer_before_the_ask_or_to_someone_else_is_no_answer(spark):
    r = resp(
        spark,
        [
            ("b", "a", "reply", 300),
            ("a", "b", "reply", 200),  # b wrote to a first, a's reply is the ask
            ("c", "b", "reply", 200),
            ("b", "d", "reply", 199),  # b answered d, not c
        ],
    )
    assert r["b"]["asks"] == 2 and r["b"]["answered"] == 0
    assert r["b"]["answer_hours_median"] is None
    assert r["b"]["responsiveness"] == pytest.approx(1 / 6, abs=1e-6)
    # a was asked by b at 300 h and answered at 200 h: 100 h later, past 72 h
    assert r["a"]["asks"] == 1 and r["a"]["answered"] == 0


def test_likes_and_reposts_are_neither_asks_nor_answers(spark):
    r = resp(
        spark, [("a", "b", "like", 200), ("b", "a", "like", 199), ("c", "b", "reply", 200), ("b", "c", "repost", 199)]
    )
    assert r["b"]["asks"] == 1 and r["b"]["answered"] == 0
    assert "a" not in r


def test_asks_younger_than_72_hours_wait_for_their_answer(spark):
    # 71 h before the end of the day the ask has not had its full time: not counted either way.
    r = resp(spark, [("a", "b", "reply", 71), ("b", "a", "reply", 70), ("c", "b", "reply", 73)])
    assert r["b"]["asks"] == 1 and r["b"]["answered"] == 0
    r = resp(spark, [("a", "b", "reply", 71)], answer_hours=24.0)
    assert r["b"]["asks"] == 1


def test_asks_from_mutual_followers_are_left_out(spark):
    rows = [("a", "b", "reply", 200), ("b", "a", "reply", 199), ("c", "b", "reply", 200), ("b", "c", "reply", 199)]
    assert resp(spark, rows)["b"]["asks"] == 2
    # a and b follow each other: a's ask is a friend's; c only follows b, so c still counts
    r = resp(spark, rows, fol=follows(spark, [("a", "b"), ("b", "a"), ("c", "b")]))
    assert r["b"]["asks"] == 1 and r["b"]["answered"] == 1


def test_one_of_one_is_not_certainty_and_the_prior_is_configurable(spark):
    r = resp(spark, [("a", "b", "reply", 200), ("b", "a", "reply", 199)])
    assert r["b"]["responsiveness"] == pytest.approx(2 / 5, abs=1e-6)
    many = [x for i in range(20) for x in ((f"x{i}", "b", "reply", 200), ("b", f"x{i}", "reply", 199))]
    r = resp(spark, many, ids=["b"] + [f"x{i}" for i in range(20)])
    assert r["b"]["asks"] == 20 and r["b"]["responsiveness"] == pytest.approx(21 / 24, abs=1e-6)
    r = resp(
        spark,
        [("a", "b", "reply", 200), ("b", "a", "reply", 199)],
        responsiveness_prior_answered=2.0,
        responsiveness_prior_unanswered=2.0,
    )
    assert r["b"]["responsiveness"] == pytest.approx(3 / 5, abs=1e-6)


def test_one_answer_settles_every_open_ask_of_that_actor_and_median_latency(spark):
    r = resp(
        spark,
        [
            ("a", "b", "reply", 300),
            ("a", "b", "reply", 290),
            ("b", "a", "reply", 280),  # 20 h and 10 h
            ("c", "b", "reply", 300),
            ("b", "c", "mention", 299),
            ("b", "c", "reply", 250),  # first answer: 1 h
        ],
    )
    assert r["b"]["asks"] == 3 and r["b"]["answered"] == 3
    assert r["b"]["answer_hours_median"] == pytest.approx(10.0)


def test_unknown_accounts_and_self_interactions_do_not_count(spark):
    r = resp(spark, [("zz", "b", "reply", 200), ("b", "b", "reply", 200)], ids="ab")
    assert r == {}


def test_bad_settings_fail_when_loaded():
    with pytest.raises(ValueError, match="answer_hours"):
        load_settings(env={"KINDLING_ANSWER_HOURS": "0"})
    with pytest.raises(ValueError, match="responsiveness_prior_unanswered"):
        load_settings(env={}, responsiveness_prior_unanswered=0.0)


def test_account_scores_carry_responsiveness_with_the_prior_for_accounts_without_asks(spark):
    settings = load_settings(env={})
    ranks = spark.createDataFrame([("a", 0.25), ("b", 0.25), ("c", 0.5)], "id string, pagerank double")
    acc = accounts_frame(spark, "abc")
    edges = spark.createDataFrame([("a", "c", 1.0)], "src string, dst string, weight double")
    r = responsiveness(
        events(spark, ("a", "b", "reply", 200), ("b", "a", "reply", 199)), known(spark, "abc"), None, DAY, settings
    )
    rows = {
        x["account_id"]: x for x in account_scores(ranks, acc, edges, None, "r1", resp=r, settings=settings).collect()
    }
    assert (
        rows["b"]["responsiveness"] == pytest.approx(0.4, abs=1e-6)
        and rows["b"]["asks"] == 1
        and rows["b"]["answered"] == 1
    )
    assert rows["c"]["responsiveness"] == 0.25 and rows["c"]["asks"] == 0 and rows["c"]["answer_hours_median"] is None
    # without any evidence table at all, every account gets the prior
    plain = with_responsiveness(ranks.withColumnRenamed("id", "account_id"), None, 0.25).collect()
    assert {x["responsiveness"] for x in plain} == {0.25} and {x["asks"] for x in plain} == {0}


def test_a_reply_to_the_account_own_reply_is_no_ask(spark):
    r = resp(
        spark,
        [
            ("b", "a", "reply", 150),
            ("a", "b", "reply", 149),  # b started it: a's answer is not an ask of b
            ("c", "b", "reply", 300),
            ("b", "c", "reply", 299),  # c asked, b answered ...
            ("c", "b", "reply", 298),  # ... and c's thanks is not a new ask
            ("b", "d", "reply", 290),
            ("d", "b", "mention", 200),  # 90 h after b wrote to d: a new ask
        ],
    )
    assert r["b"]["asks"] == 2 and r["b"]["answered"] == 1
    assert r["a"]["asks"] == 1 and r["a"]["answered"] == 1  # b's reply asked a, and a answered it


def test_mutual_pairs_from_one_pass_over_the_follows(spark):
    """Both orders of every pair that follows each other, whatever the repeats; a self-follow or a
    one-way follow is not mutual; ``pairs`` keeps only the pairs asked about, in either order."""
    from jobs.responsive import mutual_pairs

    fol = follows(
        spark, [("a", "b"), ("b", "a"), ("b", "a"), ("c", "b"), ("d", "d"), ("c", "e"), ("e", "c"), ("f", "g")]
    )
    got = sorted(tuple(r) for r in mutual_pairs(fol).collect())
    assert got == [("a", "b"), ("b", "a"), ("c", "e"), ("e", "c")]
    asked = spark.createDataFrame([("e", "c"), ("b", "c"), ("d", "d")], "acc string, other string")
    assert sorted(tuple(r) for r in mutual_pairs(fol, asked).collect()) == [("c", "e"), ("e", "c")]
    assert mutual_pairs(None) is None
