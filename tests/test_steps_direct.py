"""The Spark steps called directly on small hand-made graphs, without the DAG or the CLI.

:func:`jobs.conform_step.conform_day` turns one network-day of raw files into staged conformed
tables and a quarantine; :func:`jobs.rank_step.rank_networks` ranks the window's conformed tables
and stages the scores. Each is tested here on a day small enough to reason about by hand.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from jobs.conform_step import conform_day, conform_days
from jobs.rank_step import NetworkRanked, rank_networks
from kindling.core.files import replace_dir
from kindling.core.settings import load_settings
from kindling.storage.lake import Lake

DAY = dt.date(2026, 3, 10)
ENGAGERS = [f"e{i}" for i in range(10)]


def _ts(minute: int, day: dt.date = DAY) -> str:
    return f"{day}T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"


def _write_raw(lake: Lake, network: str, bad_rows: bool, day: dt.date = DAY) -> dict[str, int]:
    """One day: ``hub`` gets one reply from each of ten engagers; ``big`` gets ten replies from
    ``whale`` alone. With ``bad_rows``, two interactions break a row rule. Returns the good rows."""
    raw = lake.raw(network, day)
    raw.mkdir(parents=True)
    ids = ["hub", "big", "whale", *ENGAGERS]
    (raw / "accounts.csv").write_text(
        "account_id,handle,display_name,account_type,created_at,verified,followers_count\n"
        + "".join(f"{a},{a}_h,{a.title()},person,2020-01-01T00:00:00Z,false,10\n" for a in ids)
    )
    posts = [
        {"post_id": f"p-{a}", "author_id": a, "created_at": _ts(0, day), "hashtags": ["poutine"], "topics": ["poutine"]}
        for a in ("hub", "big")
    ]
    (raw / "posts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in posts))
    rows = [(f"x{i}", e, "hub", "reply", "p-hub", _ts(1 + i, day)) for i, e in enumerate(ENGAGERS)]
    rows += [(f"y{i}", "whale", "big", "reply", "p-big", _ts(20 + i, day)) for i in range(10)]
    good = len(rows)
    if bad_rows:
        rows += [
            ("z1", "e1", "hub", "poke", "p-hub", _ts(40, day)),
            ("z2", "stranger", "hub", "like", "p-hub", _ts(41, day)),
        ]
    (raw / "interactions.csv").write_text(
        "event_id,actor_id,target_id,kind,post_id,created_at\n" + "".join(",".join(r) + "\n" for r in rows)
    )
    return {"accounts": len(ids), "posts": len(posts), "interactions": good}


@pytest.fixture(scope="module")
def two_networks(spark, tmp_path_factory):
    """A lake holding the same small day for networks ``n`` and ``m`` (``m`` without bad rows),
    conformed by :func:`conform_day` and moved into ``conformed/`` as ``audit-in`` would."""
    root = tmp_path_factory.mktemp("steps")
    # a topic is ranked once one account is recognised on it (the default asks for three)
    settings = load_settings(env={}, lake=str(root / "lake"), spark_shuffle_partitions=2, topic_min_recognized=1)
    lake = Lake(settings.lake)
    out = {}
    for network, bad in (("n", True), ("m", False)):
        expected = _write_raw(lake, network, bad)
        run_id = f"conform-{network}"
        counts = conform_day(spark, settings, network, DAY, run_id)
        out[network] = (expected, counts, run_id)
        for table in ("accounts", "posts", "interactions"):
            replace_dir(lake.staged_input(run_id, table, network, DAY), lake.conformed(table, network, DAY))
    return settings, lake, out


def test_conform_day_keeps_the_good_rows_and_quarantines_the_bad_ones_by_line(two_networks):
    settings, lake, out = two_networks
    expected, counts, run_id = out["n"]
    assert {t: counts[t] for t in expected} == expected
    kept = pd.read_parquet(lake.conformed("interactions", "n", DAY))
    assert len(kept) == expected["interactions"] and set(kept["event_id"]) >= {"x0", "y9"}
    assert not {"z1", "z2"} & set(kept["event_id"])
    q = pd.read_parquet(lake.staged(run_id, "quarantine", DAY, "n")).sort_values("source_row")
    assert list(q["input_table"]) == ["interactions", "interactions"]
    assert list(q["source_file"]) == [f"raw/network=n/dt={DAY}/interactions.csv"] * 2
    assert list(q["source_row"]) == [22, 23]  # the header is line 1
    assert list(q["column"]) == ["kind", "actor_id"]
    assert q["reason"].iloc[0].startswith("not one of reply, quote") and q["reason"].iloc[1] == "unknown account"


def test_conform_day_names_a_missing_required_table(spark, tmp_path):
    from jobs.conform import ConformError

    settings = load_settings(env={}, lake=str(tmp_path / "lake"), spark_shuffle_partitions=2)
    lake = Lake(settings.lake)
    _write_raw(lake, "n", bad_rows=False)
    (lake.raw("n", DAY) / "posts.jsonl").unlink()
    with pytest.raises(ConformError, match=f"network=n dt={DAY}: missing table 'posts'"):
        conform_day(spark, settings, "n", DAY, "r")


def test_conform_days_in_one_batch_give_what_each_day_alone_gives(spark, tmp_path):
    """Each row is judged within its own day: a row of the second day's file dated the first day is
    rejected, although that day is in the batch too."""
    settings = load_settings(env={}, lake=str(tmp_path / "lake"), spark_shuffle_partitions=2)
    lake = Lake(settings.lake)
    d1, d2 = DAY - dt.timedelta(days=1), DAY
    _write_raw(lake, "n", bad_rows=True, day=d1)
    _write_raw(lake, "n", bad_rows=False, day=d2)
    with (lake.raw("n", d2) / "interactions.csv").open("a") as f:
        f.write(f"w1,e2,hub,reply,p-hub,{_ts(50, d1)}\n")
    counts, errors = conform_days(spark, settings, "n", [d1, d2], "batch")
    assert errors == {}
    assert counts == {d.isoformat(): conform_day(spark, settings, "n", d, f"alone-{d}") for d in (d1, d2)}
    assert counts[d2.isoformat()]["interactions"] == 20  # w1 is out of its day

    def rows(path, order):
        return pd.read_parquet(path).sort_values(order).reset_index(drop=True) if path.is_dir() else None

    for d in (d1, d2):
        for table, key in (("accounts", "account_id"), ("posts", "post_id"), ("interactions", "event_id")):
            batch = rows(lake.staged_input("batch", table, "n", d), key)
            alone = rows(lake.staged_input(f"alone-{d}", table, "n", d), key)
            pd.testing.assert_frame_equal(batch, alone)
        q_batch = rows(lake.staged("batch", "quarantine", d, "n"), "source_row")
        q_alone = rows(lake.staged(f"alone-{d}", "quarantine", d, "n"), "source_row")
        cols = ["input_table", "source_file", "source_row", "column", "reason"]
        pd.testing.assert_frame_equal(q_batch[cols], q_alone[cols])
    assert list(q_batch["reason"]) == [f"outside the snapshot day {d2} (UTC)"]


def _scores(lake: Lake, run_id: str, network: str) -> pd.DataFrame:
    return pd.read_parquet(lake.staged(run_id, "account_scores", DAY, network)).set_index("account_id")


@pytest.fixture(scope="module")
def ranked_alone(spark, two_networks):
    """Network ``n`` ranked on its own (run ``rank-n``): the summary :func:`rank_networks` returns."""
    settings, _lake, _out = two_networks
    return rank_networks(spark, settings, ["n"], DAY, "rank-n")["n"]


def test_rank_networks_many_engagers_outrank_one_heavy_endorser(two_networks, ranked_alone):
    _settings, lake, _out = two_networks
    assert isinstance(ranked_alone, NetworkRanked)
    assert (ranked_alone.accounts, ranked_alone.topics_ranked, ranked_alone.converged) == (13, 1, True)
    assert ranked_alone.graph_vertices == 13 and ranked_alone.iterations >= ranked_alone.spark_cap_supersteps
    s = _scores(lake, "rank-n", "n")
    assert len(s) == ranked_alone.accounts and s["influence"].between(0, 100).all()
    # ten distinct engagers make an influential account; ten replies from one make far less
    assert s.loc["hub", "rank"] == 1
    assert s.loc["hub", "influence"] > s.loc["big", "influence"] + 10
    topic = pd.read_parquet(lake.staged("rank-n", "topic_scores", DAY, "n"))
    assert len(topic) == ranked_alone.topic_scores
    poutine = topic[topic["topic"] == "poutine"].set_index("account_id")
    # recognised by ten accounts, hub is the expert; big's one recognizer makes no recognition at all
    assert poutine.loc["hub", "rank_in_topic"] == 1 and poutine.loc["hub", "expertise"] > 0
    assert "big" not in poutine.index or poutine.loc["big", "expertise"] == 0


def test_rank_networks_ranks_each_network_as_if_alone(spark, two_networks, ranked_alone):
    """Networks are disjoint vertex groups of one PageRank pass: ranking two together gives each
    the scores it gets alone."""
    settings, lake, _out = two_networks
    both = rank_networks(spark, settings, ["n", "m"], DAY, "rank-nm")
    assert set(both) == {"n", "m"} and both["n"].accounts == ranked_alone.accounts
    together, alone = _scores(lake, "rank-nm", "n"), _scores(lake, "rank-n", "n")
    assert sorted(together.index) == sorted(alone.index)
    pd.testing.assert_series_equal(
        together["pagerank"].sort_index(), alone["pagerank"].sort_index(), check_exact=False, rtol=1e-9
    )
    # and the two networks, given the same good rows, score the same
    m = _scores(lake, "rank-nm", "m")
    pd.testing.assert_series_equal(
        together["influence"].sort_index(), m["influence"].sort_index(), check_exact=False, rtol=1e-9
    )
