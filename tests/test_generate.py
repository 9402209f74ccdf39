"""The synthetic snapshot generator and the taxonomy it draws topics from (no Spark)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import schemas
from kindling.ingest.taxonomy import load_taxonomy
from kindling_dev import generate as gen

ROOT = Path(__file__).resolve().parent.parent
END = dt.date(2024, 3, 31)
DATES = ["2024-03-29", "2024-03-30", "2024-03-31"]
NETS = ("alpha", "beta")
SMALL = {"accounts": 300, "days": 3, "networks": NETS, "seed": 11, "end_date": END}
FILES = ("accounts.csv", "follows.csv", "posts.jsonl", "interactions.parquet", "_SUCCESS")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    out = tmp_path_factory.mktemp("snap")
    summary = gen.generate(out, **SMALL)
    return out, summary


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _folder(root: Path, net: str, date: str) -> Path:
    return root / f"network={net}" / f"dt={date}"


def _interactions(root: Path, net: str) -> pd.DataFrame:
    frames = []
    for d in DATES:
        df = pq.read_table(_folder(root, net, d) / "interactions.parquet").to_pandas()
        df["dt"] = d
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _posts(root: Path, net: str, date: str) -> list[dict]:
    return [json.loads(line) for line in (_folder(root, net, date) / "posts.jsonl").read_text().splitlines()]


def _truth(root: Path) -> pd.DataFrame:
    return pq.read_table(root / "ground_truth.parquet").to_pandas()


# --------------------------------------------------------------------------- layout and formats


def test_layout_and_success_markers(snap):
    root, summary = snap
    assert summary["folders"] == len(NETS) * len(DATES)
    assert sorted(p.name for p in root.iterdir()) == ["ground_truth.parquet", "network=alpha", "network=beta"]
    for net in NETS:
        assert sorted(p.name for p in (root / f"network={net}").iterdir()) == [f"dt={d}" for d in DATES]
        for d in DATES:
            folder = _folder(root, net, d)
            assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no temp files left
            assert (folder / "_SUCCESS").read_bytes() == b""
            # _SUCCESS is written last
            done = (folder / "_SUCCESS").stat().st_mtime_ns
            assert all(done >= (folder / f).stat().st_mtime_ns for f in FILES)
    rows = summary["rows"]
    assert rows["accounts"] == 300 * len(NETS) * len(DATES)
    assert rows["interactions"] > 0 and rows["posts"] > 0 and rows["follows"] > 0


def test_csv_tables_parse_to_their_schemas(snap):
    root, _ = snap
    for name in ("accounts", "follows"):
        expected = schemas.table(name).arrow_schema()
        path = _folder(root, "alpha", DATES[0]) / f"{name}.csv"
        assert path.read_text().splitlines()[0] == ",".join(expected.names)
        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types={f.name: f.type for f in expected})
        )
        assert table.schema.names == expected.names
        assert [f.type for f in table.schema] == [f.type for f in expected]
        for f in expected:
            if not f.nullable:
                assert table[f.name].null_count == 0, f.name
    path = _folder(root, "alpha", DATES[0]) / "accounts.csv"
    accounts = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert accounts["created_at"].str.match(ISO).all()
    assert set(accounts["verified"]) <= {"true", "false"}
    assert set(accounts["account_type"]) == set(schemas.table("accounts").field("account_type").allowed)
    assert accounts["account_id"].is_unique and accounts["account_id"].str.match(r"^a\d{6}$").all()
    follows = pd.read_csv(_folder(root, "alpha", DATES[0]) / "follows.csv", dtype=str)
    assert not follows.duplicated().any()


def test_posts_jsonl_matches_schema(snap):
    root, _ = snap
    schema = schemas.table("posts").arrow_schema()
    for d in DATES:
        rows = _posts(root, "beta", d)
        assert rows and all(list(r) == schema.names for r in rows)
        assert all(ISO.match(r["created_at"]) for r in rows)
        parsed = [dict(r, created_at=dt.datetime.fromisoformat(r["created_at"])) for r in rows]
        table = pa.Table.from_pylist(parsed, schema=schema)  # raises on a wrong type
        assert table.num_rows == len(rows)
        assert len({r["post_id"] for r in rows}) == len(rows)
    with_topics = [r["topics"] is not None for d in DATES for r in _posts(root, "beta", d)]
    assert 0.35 < np.mean(with_topics) < 0.65


def test_interactions_parquet_schema(snap):
    root, _ = snap
    for net in NETS:
        for d in DATES:
            table = pq.read_table(_folder(root, net, d) / "interactions.parquet")
            assert table.schema.equals(schemas.table("interactions").arrow_schema())


# --------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_bytes(snap, tmp_path):
    root, summary = snap
    again = gen.generate(tmp_path, **SMALL)
    assert again == dict(summary, out_dir=str(tmp_path))
    first, second = _files(root), _files(tmp_path)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name


def test_different_seed_gives_different_content(snap, tmp_path):
    root, _ = snap
    gen.generate(tmp_path, **dict(SMALL, seed=12))
    for f in ("accounts.csv", "follows.csv", "posts.jsonl", "interactions.parquet"):
        mine, theirs = _folder(root, "alpha", DATES[-1]) / f, _folder(tmp_path, "alpha", DATES[-1]) / f
        assert mine.read_bytes() != theirs.read_bytes(), f
    assert (root / "ground_truth.parquet").read_bytes() != (tmp_path / "ground_truth.parquet").read_bytes()


def test_a_day_does_not_depend_on_the_window(snap, tmp_path):
    root, _ = snap
    gen.generate(tmp_path, **dict(SMALL, days=1, networks=("alpha",)))
    for f in FILES:
        long_run, short_run = _folder(root, "alpha", DATES[-1]) / f, _folder(tmp_path, "alpha", DATES[-1]) / f
        assert long_run.read_bytes() == short_run.read_bytes(), f


def test_networks_differ(snap):
    root, _ = snap
    a = _interactions(root, "alpha")
    b = _interactions(root, "beta")
    assert a["event_id"].str.startswith("alpha-").all() and b["event_id"].str.startswith("beta-").all()
    truth = _truth(root)
    experts = {net: set(g.account_id) for net, g in truth[truth.role == "expert"].groupby("network")}
    assert experts["alpha"] != experts["beta"]


# --------------------------------------------------------------------------- integrity


def test_referential_integrity_and_timestamps(snap):
    root, _ = snap
    event_ids: list[str] = []
    for net in NETS:
        previous_posts: dict[str, str] = {}
        for i, d in enumerate(DATES):
            folder = _folder(root, net, d)
            ids = set(pd.read_csv(folder / "accounts.csv", dtype=str)["account_id"])
            follows = pd.read_csv(folder / "follows.csv", dtype=str)
            assert set(follows.src_id) <= ids and set(follows.dst_id) <= ids
            assert (follows.src_id != follows.dst_id).all()

            posts = _posts(root, net, d)
            start = pd.Timestamp(d, tz="UTC")
            end = start + pd.Timedelta(days=1)
            post_time = pd.to_datetime([p["created_at"] for p in posts], utc=True)
            assert ((post_time >= start) & (post_time < end)).all()
            assert {p["author_id"] for p in posts} <= ids
            authors = {p["post_id"]: p["author_id"] for p in posts}

            it = pq.read_table(folder / "interactions.parquet").to_pandas()
            event_ids += it["event_id"].tolist()
            assert set(it.actor_id) <= ids and set(it.target_id) <= ids
            assert (it.actor_id != it.target_id).all()
            assert ((it.created_at >= start) & (it.created_at < end)).all()
            assert set(it.kind) == set(gen.KINDS)
            assert it.loc[it.kind != "mention", "post_id"].notna().all()
            assert it.loc[it.kind == "mention", "post_id"].isna().mean() > 0.5
            # the post acted on belongs to the target (today's or yesterday's posts)
            known = {**previous_posts, **authors}
            with_post = it[it.post_id.notna() & it.post_id.isin(known.keys())]
            assert (with_post.post_id.map(known) == with_post.target_id).all()
            if i > 0:  # older posts are only answered through the 7-day history
                assert with_post.shape[0] / it.post_id.notna().sum() > 0.95
            previous_posts = authors
    assert len(event_ids) == len(set(event_ids))


def test_kind_mix_and_volume(snap):
    root, _ = snap
    it = _interactions(root, "alpha")
    share = it.kind.value_counts(normalize=True)
    assert share.idxmax() == "like" and share.idxmin() == "quote"
    per_account_day = len(it) / (300 * len(DATES))
    assert 1.5 < per_account_day < 6


# --------------------------------------------------------------------------- planted truth


def test_ground_truth_columns_and_roles(snap):
    root, summary = snap
    truth = _truth(root)
    assert list(truth.columns) == [f.name for f in gen.GROUND_TRUTH_SCHEMA]
    for net in NETS:
        t = truth[truth.network == net]
        assert set(t.role) == set(gen.ROLES)
        base = t[t.role == "account"]
        assert len(base) == 300 and base.account_id.is_unique
        assert base.propensity.between(0, 1).all() and t.propensity.notna().all()
        experts = t[t.role == "expert"]
        assert experts.topic.notna().all() and experts.level.between(0.2, 1).all()
        assert experts.groupby("topic").size().min() >= 3
        assert (t.loc[t.role == "loud_non_expert", "level"] == 0).all()
        rings = t[t.role == "ring_member"]
        assert rings.ring_id.notna().all() and rings.groupby("ring_id").size().between(5, 12).all()
        assert t.loc[t.role != "ring_member", "ring_id"].isna().all()
        assert (t.loc[t.role == "responsive", "propensity"] >= 0.6).all()
        assert (t.loc[t.role == "unresponsive", "propensity"] == 0).all()
        sparks = t[t.role == "spark"]
        assert len(sparks) == gen.default_sparks(300) == 1
        assert sparks.topic.notna().all() and sparks.engager_id.notna().all()
        assert t.loc[t.role != "spark", "engager_id"].isna().all()
        accounts = pd.read_csv(_folder(root, net, DATES[0]) / "accounts.csv", dtype=str)
        types = dict(zip(accounts.account_id, accounts.account_type, strict=False))
        assert (t.account_id.map(types) == t.account_type).all()
        orgs = {a for a, ty in types.items() if ty == "organization"}
        assert set(t.loc[t.role == "organization", "account_id"]) == orgs
    assert set(truth.topic.dropna()) <= set(summary["topics"])


def _experts_per_topic(t: pd.DataFrame) -> pd.DataFrame:
    """Per planted topic of one network: experts, and how many of them are responsive / unresponsive."""
    experts = t[t.role == "expert"]
    responsive = set(t.loc[t.role == "responsive", "account_id"])
    unresponsive = set(t.loc[t.role == "unresponsive", "account_id"])
    return experts.groupby("topic").account_id.agg(
        experts="size",
        responsive=lambda a: len(responsive.intersection(a)),
        unresponsive=lambda a: len(unresponsive.intersection(a)),
    )


def test_deep_topics_have_enough_responsive_experts_for_the_reachable_top_20(tmp_path):
    # From 2,000 accounts the DEEP_TOPICS most popular topics of each network get 40-50 experts
    # (capped at max(per-topic cap, accounts // 50) = 40 here), half of them responsive.
    gen.generate(tmp_path, accounts=2000, days=1, networks=NETS, seed=3, end_date=END)
    truth = _truth(tmp_path)
    per_topic_cap = int(0.2 * 2000 / 16)  # 16 topics: 2000 // 125
    for net in NETS:
        per = _experts_per_topic(truth[truth.network == net])
        assert len(per) == 16
        deep = per[per.experts > per_topic_cap]
        assert len(deep) == gen.DEEP_TOPICS == 2
        assert (deep.experts == 40).all()
        assert (deep.responsive == 20).all() and (deep.unresponsive == 10).all()
        rest = per.drop(deep.index)
        assert rest.experts.between(10, 20).all() and (rest.responsive < 20).all()
    deep_of = {
        net: set(per.index[per.experts > per_topic_cap])
        for net in NETS
        for per in [_experts_per_topic(truth[truth.network == net])]
    }
    assert deep_of["alpha"] != deep_of["beta"]  # drawn per network


def test_deep_topics_respect_the_cap_of_small_sets(snap, tmp_path):
    root, _ = snap
    truth = _truth(root)
    for net in NETS:  # 300 accounts, 3 topics: at most max(3, 0.2 * 300 / 3) = 20 experts a topic
        per = _experts_per_topic(truth[truth.network == net])
        assert per.experts.max() <= 20
        assert (per.experts == 20).sum() >= gen.DEEP_TOPICS and (per.responsive == 10).sum() >= gen.DEEP_TOPICS
    gen.generate(tmp_path, accounts=100, days=1, networks=("alpha",), seed=1, end_date=END)
    per = _experts_per_topic(_truth(tmp_path))  # 100 accounts, 3 topics: at most max(3, 6) = 6
    assert per.experts.max() <= 6 and per.experts.min() >= 3


def _role_sets(truth: pd.DataFrame) -> dict[str, set[str]]:
    return {r: set(g.account_id) for r, g in truth.groupby("role")}


def _answer_rate(asked: pd.DataFrame, accounts: set[str]) -> float:
    """Share of replies/mentions received by `accounts` whose actor got a reply or mention back."""
    pairs = set(zip(asked.actor_id, asked.target_id, strict=False))
    received = asked[asked.target_id.isin(accounts)]
    return float(
        np.mean([(tgt, act) in pairs for act, tgt in zip(received.actor_id, received.target_id, strict=False)])
    )


def test_planted_behaviour_shows_in_the_data(snap):
    root, _ = snap
    truth = _truth(root)
    for net in NETS:
        t = truth[truth.network == net]
        it = _interactions(root, net)
        role = _role_sets(t)

        # organisations never reply, quote or mention
        assert not it[it.actor_id.isin(role["organization"])].kind.isin(["reply", "quote", "mention"]).any()
        # like-bots only like, and spread their likes over many accounts
        bots = it[it.actor_id.isin(role["like_bot"])]
        assert set(bots.kind) == {"like"}
        assert bots.groupby("actor_id").target_id.nunique().median() > 50
        # ring members engage mostly inside their ring
        ring_of = dict(t.loc[t.role == "ring_member", ["account_id", "ring_id"]].values)
        ring_acts = it[it.actor_id.isin(ring_of)]
        assert (ring_acts.target_id.map(ring_of) == ring_acts.actor_id.map(ring_of)).mean() > 0.8
        # reply gamers reply to the most popular accounts
        top = set(t[t.role == "account"].nlargest(max(10, 300 // 250), "popularity").account_id)
        gamer_acts = it[it.actor_id.isin(role["reply_gamer"])]
        assert gamer_acts.kind.eq("reply").mean() > 0.6 and gamer_acts.target_id.isin(top).mean() > 0.9
        # experts receive far more engagement on their topic than loud non-experts, who post more
        posts = pd.DataFrame([p for d in DATES for p in _posts(root, net, d)])
        engaged = it[it.post_id.notna() & ~it.actor_id.isin(role["like_bot"])]
        received = engaged.groupby("target_id").size()
        experts = t[t.role == "expert"].account_id
        loud = t[t.role == "loud_non_expert"].account_id
        assert received.reindex(experts).fillna(0).mean() > 3 * received.reindex(loud).fillna(0).mean()
        posted = posts.groupby("author_id").size()
        assert posted.reindex(loud).fillna(0).mean() > 3 * posted.reindex(experts).fillna(0).mean()
        # responsive accounts answer the people who reply to or mention them, unresponsive ones never
        asked = it[it.kind.isin(["reply", "mention"])]
        responsive = _answer_rate(asked, role["responsive"])
        assert responsive > 0.5
        assert _answer_rate(asked, role["unresponsive"]) < responsive - 0.3


def test_topics_are_taxonomy_slugs_and_hashtags_name_them(snap):
    root, summary = snap
    tax = load_taxonomy()
    assert summary["topics"] and all(t in tax for t in summary["topics"])
    assert all(t in tax.leaf_topics() for t in summary["topics"])
    squash = {re.sub(r"[^a-z0-9]", "", s): s for s in summary["topics"]}
    for d in DATES:
        for p in _posts(root, "alpha", d):
            for topic in p["topics"] or []:
                assert topic in summary["topics"]
                assert any(squash.get(re.sub(r"[^a-z0-9]", "", h.lower())) == topic for h in p["hashtags"])


def test_hashtag_variants():
    v = gen.hashtag_variants("machine-learning")
    assert {"#MachineLearning", "machine_learning", "#machinelearning"} <= set(v)
    assert len(v) == len(set(v))
    assert gen.hashtag_variants("zoology")[0] == "#Zoology"


def test_topics_are_chosen_deterministically_from_the_seed():
    tax = load_taxonomy()
    assert gen.choose_topics(tax, 40, 7) == gen.choose_topics(tax, 40, 7)
    assert gen.choose_topics(tax, 40, 7) != gen.choose_topics(tax, 40, 8)
    assert len(set(gen.choose_topics(tax, 40, 7))) == 40


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        gen.generate(tmp_path, accounts=10, days=1, end_date=END)
    with pytest.raises(ValueError):
        gen.generate(tmp_path, accounts=300, days=1, networks=("../evil",), end_date=END)
    assert not any(tmp_path.rglob("*.csv"))


def test_the_twin_world_drops_the_reply_gamers_strategy_and_nothing_else(snap, tmp_path):
    """--no-gaming: the same accounts, follows, posts and truth; the interactions are the gaming
    world's minus the gamers' replies and mentions to the top accounts and the answers to them."""
    root, summary = snap
    twin = gen.generate(tmp_path, **SMALL, gaming=False)
    assert twin == dict(summary, out_dir=str(tmp_path), gaming=False, rows=twin["rows"])
    assert (root / "ground_truth.parquet").read_bytes() == (tmp_path / "ground_truth.parquet").read_bytes()
    for d in DATES:
        for f in ("accounts.csv", "follows.csv", "posts.jsonl"):
            assert (_folder(root, "alpha", d) / f).read_bytes() == (_folder(tmp_path, "alpha", d) / f).read_bytes(), f
    truth = _truth(root)
    for net in NETS:
        gamers = set(truth.loc[(truth.network == net) & (truth.role == "reply_gamer"), "account_id"])
        key = ["actor_id", "target_id", "kind", "post_id", "created_at"]
        full = _interactions(root, net)[key].fillna("").value_counts()
        mine = _interactions(tmp_path, net)[key].fillna("").value_counts()
        assert (mine.reindex(full.index).fillna(0) <= full).all() and mine.index.isin(full.index).all()
        gone = (full - mine.reindex(full.index).fillna(0)).loc[lambda c: c > 0].reset_index()
        assert len(gone) > 0
        assert (gone.actor_id.isin(gamers) | gone.target_id.isin(gamers)).all()
        assert gone.kind.isin(["reply", "mention"]).all()
        top = set(truth[(truth.network == net) & (truth.role == "account")].nlargest(10, "popularity").account_id)
        strategy = gone[gone.actor_id.isin(gamers)]
        assert len(strategy) and strategy.target_id.isin(top).all()
        # the answers dropped are the top accounts answering the strategy
        assert gone[gone.target_id.isin(gamers)].actor_id.isin(top).all()


def test_cli_arguments(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    gen.add_arguments(parser)
    args = parser.parse_args(
        [
            "--out",
            str(tmp_path),
            "--accounts",
            "150",
            "--days",
            "1",
            "--networks",
            "gamma",
            "--seed",
            "3",
            "--end-date",
            "2024-01-05",
        ]
    )
    assert not args.no_gaming and parser.parse_args(["--out", "x", "--no-gaming"]).no_gaming
    assert args.sparks is None and parser.parse_args(["--out", "x", "--sparks", "3"]).sparks == 3
    assert gen.run(args) == 0
    assert (tmp_path / "network=gamma" / "dt=2024-01-05" / "_SUCCESS").exists()
    assert json.loads(capsys.readouterr().out)["folders"] == 1


# --------------------------------------------------------------------------- sparks
#
# From 1,000 accounts and 10 days the default plants 1000 // 200 = 5 sparks per network, each
# engaged on one of the last 7 days before the end date.

SPARKS = {"accounts": 1000, "days": 10, "networks": NETS, "seed": 5, "end_date": END}
SPARK_DATES = [(END - dt.timedelta(days=i)).isoformat() for i in range(9, -1, -1)]


@pytest.fixture(scope="module")
def spark_snap(tmp_path_factory):
    """The same arguments with the default sparks and with none."""
    on, off = tmp_path_factory.mktemp("sparks"), tmp_path_factory.mktemp("no_sparks")
    return on, gen.generate(on, **SPARKS), off, gen.generate(off, **SPARKS, sparks=0)


def _all(root: Path, net: str, dates=SPARK_DATES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Interactions and posts of every date, each with its dt."""
    it = pd.concat(
        [pq.read_table(_folder(root, net, d) / "interactions.parquet").to_pandas().assign(dt=d) for d in dates],
        ignore_index=True,
    )
    posts = pd.DataFrame([dict(p, dt=d) for d in dates for p in _posts(root, net, d)])
    return it, posts


def _top(t: pd.DataFrame) -> set[str]:
    """The engagers' pool: the 1% most popular accounts of the network (at least 5)."""
    accounts = t[t.role == "account"]
    return set(accounts.nlargest(max(5, len(accounts) // 100), "popularity").account_id)


def test_sparks_are_engaged_once_by_a_top_account_and_by_nobody_else(spark_snap):
    root, summary, _, _ = spark_snap
    assert summary["sparks"] == 5 and summary["roles"]["spark"] == 5 * len(NETS)
    truth = _truth(root)
    for net in NETS:
        t = truth[truth.network == net]
        sparks = t[t.role == "spark"].set_index("account_id")
        assert len(sparks) == 5 and sparks.index.is_unique
        assert sparks.topic.isin(summary["topics"]).all()
        # ordinary persons of low popularity: no planted role but account and spark
        roles = t.groupby("account_id").role.agg(set)
        assert (roles.reindex(sparks.index) == {"account", "spark"}).all()
        accounts = t[t.role == "account"].set_index("account_id")
        assert (accounts.loc[sparks.index, "account_type"] == "person").all()
        ordinary = accounts[
            roles.reindex(accounts.index).map(lambda r: r == {"account"}) & (accounts.account_type == "person")
        ]
        assert (accounts.loc[sparks.index, "popularity"] <= ordinary.popularity.median()).all()
        assert (accounts.loc[sparks.index, "post_rate"] <= ordinary.post_rate.median()).all()  # quiet too
        top = _top(t)
        assert set(sparks.engager_id) <= top and not top & set(sparks.index)

        it, posts = _all(root, net)
        for spark, row in sparks.iterrows():
            received = it[it.target_id == spark]
            # the planted engagement is the spark's only evidence: nothing else received, from
            # people, like-bots or top accounts
            assert len(received) == 1, spark
            e = received.iloc[0]
            assert e.actor_id == row.engager_id and e.kind in ("like", "repost")
            post = posts[posts.post_id == e.post_id].iloc[0]  # the spark's own topical post of that day
            assert (post.author_id, post["dt"], post.topics) == (spark, e["dt"], [row.topic])
            squashed = re.sub(r"[^a-z0-9]", "", row.topic)
            assert [re.sub(r"[^a-z0-9]", "", h.lower()) for h in post.hashtags] == [squashed]
            assert pd.Timestamp(post.created_at) < e.created_at < pd.Timestamp(e["dt"], tz="UTC") + pd.Timedelta(days=1)
        # the sparks themselves still engage with others
        assert it.actor_id.isin(sparks.index).sum() > len(sparks)
        days = sorted(it[it.target_id.isin(sparks.index) & it.actor_id.isin(top)].dt)
        assert days[0] >= SPARK_DATES[-7] and len(set(days)) > 1  # spread over the last 7 days
        assert (
            t[t.role == "account"].set_index("account_id").loc[list(sparks.engager_id), "account_type"] != "bot"
        ).all()


def test_sparks_change_nothing_else(spark_snap):
    """Without sparks (sparks=0): the same accounts and follows; the posts and events are the same
    but for the sparks' posts and planted engagements, and every other engagement of a spark (which
    the world without sparks has, from top accounts, people and like-bots alike); the ground truth
    is the same but for the spark rows."""
    on, _, off, summary_off = spark_snap
    assert summary_off["sparks"] == 0 and "spark" not in summary_off["roles"]
    truth_on, truth_off = _truth(on), _truth(off)
    assert truth_off.engager_id.isna().all()
    assert truth_on[truth_on.role != "spark"].reset_index(drop=True).equals(truth_off)
    for net in NETS:
        for d in SPARK_DATES:
            for f in ("accounts.csv", "follows.csv"):
                assert (_folder(on, net, d) / f).read_bytes() == (_folder(off, net, d) / f).read_bytes()
        t = truth_on[truth_on.network == net]
        sparks = set(t.loc[t.role == "spark", "account_id"])
        it_on, posts_on = _all(on, net)
        it_off, posts_off = _all(off, net)
        assert set(posts_off.post_id) <= set(posts_on.post_id)
        added = posts_on[~posts_on.post_id.isin(posts_off.post_id)]
        assert sorted(added.author_id) == sorted(sparks)
        key = ["actor_id", "target_id", "kind", "post_id", "created_at"]
        both = it_on[key].fillna("").merge(it_off[key].fillna(""), how="outer", indicator=True)
        new, gone = both[both._merge == "left_only"], both[both._merge == "right_only"]
        assert sorted(new.target_id) == sorted(sparks) and set(new.post_id) == set(added.post_id)
        assert gone.target_id.isin(sparks).all()
        # what the sparks received in the world without sparks is all left out (most had some)
        assert set(gone.target_id) == set(it_off.target_id) & sparks and len(set(gone.target_id)) > len(sparks) // 2
        assert it_on.target_id.isin(sparks).sum() == len(new)  # the planted engagements, nothing else
        # the other planted roles' events are untouched
        assert len(it_on) == len(it_off) + len(new) - len(gone)


def test_sparks_are_deterministic_for_a_seed(spark_snap, tmp_path):
    on, summary, _, _ = spark_snap
    again = tmp_path / "again"
    assert gen.generate(again, **SPARKS) == dict(summary, out_dir=str(again))
    for net in NETS:
        for d in SPARK_DATES:
            for f in FILES:
                assert (_folder(on, net, d) / f).read_bytes() == (_folder(again, net, d) / f).read_bytes(), (d, f)
    assert (on / "ground_truth.parquet").read_bytes() == (again / "ground_truth.parquet").read_bytes()
    other = tmp_path / "other"
    gen.generate(other, **dict(SPARKS, seed=6, days=1, networks=("alpha",)))
    mine, theirs = _truth(on), _truth(other)
    assert set(mine[(mine.role == "spark") & (mine.network == "alpha")].account_id) != set(
        theirs[theirs.role == "spark"].account_id
    )


def test_spark_count(tmp_path):
    assert [gen.default_sparks(n) for n in (100, 300, 1000, 5000, 20000)] == [0, 1, 5, 25, 100]
    summary = gen.generate(tmp_path / "three", **dict(SPARKS, accounts=300, days=1, networks=("alpha",)), sparks=3)
    assert summary["roles"]["spark"] == 3
    with pytest.raises(ValueError, match="sparks must be >= 0"):
        gen.generate(tmp_path / "bad", **SPARKS, sparks=-1)
    with pytest.raises(ValueError, match="sparks must be at most"):
        gen.generate(tmp_path / "bad", **SPARKS, sparks=1000)


# --------------------------------------------------------------------------- taxonomy


def test_taxonomy_ancestors_follow_the_edge_file():
    tax = load_taxonomy()
    edges = pd.read_csv(ROOT / "kindling" / "ingest" / "data" / "taxonomy" / "klout_topic_edge_20180601.csv", dtype=str)
    # in the shipped file black-holes sits under astronomy and physics; astronomy under physics,
    # physics under science and natural-science, which lead to science-and-nature-super
    parents_in_file = edges.groupby("childTopicSlug")["parrentTopicSlug"].agg(set)
    assert parents_in_file["black-holes"] == {"astronomy", "physics"}
    assert parents_in_file["astronomy"] == {"physics"}
    assert set(tax.parents["black-holes"]) == {"astronomy", "physics"}
    anc = tax.ancestors("black-holes")
    assert anc == {"astronomy", "physics", "science", "natural-science", "science-and-nature-super"}
    assert tax.ancestors("astronomy") == anc - {"astronomy"}
    assert "_ROOT_" not in anc and "black-holes" not in anc
    assert tax.ancestors("science-and-nature-super") == set()
    leaves = set(tax.leaf_topics())
    assert "black-holes" in leaves and "astronomy" not in leaves and "physics" not in leaves
    assert tax.display_name("astronomy") == "Astronomy"
    assert "economics" in tax  # named only in the edge file
    assert len(tax.top_level()) == 16 and all(s.endswith("-super") for s in tax.top_level())
    assert load_taxonomy() is tax  # the default is cached
    with pytest.raises(KeyError):
        tax.ancestors("no-such-topic")


def test_taxonomy_from_a_directory(tmp_path):
    (tmp_path / "my_ontology.csv").write_text("topicId,topicSlug,topicDisplayName\n1,a-super,A\n2,b,B\n3,c,C\n4,d,D\n")
    (tmp_path / "my_edge.csv").write_text(
        "parentTopicId,parentTopicSlug,childTopicId,childTopicSlug\n"
        "0,_ROOT_,1,a-super\n1,a-super,2,b\n2,b,3,c\n1,a-super,4,d\n4,d,3,c\n"
    )
    tax = load_taxonomy(tmp_path)
    assert tax.ancestors("c") == {"b", "d", "a-super"}
    assert tax.leaf_topics() == ["c"]
    assert tax.top_level() == ["a-super"]
    (tmp_path / "other_edge.csv").write_text("x\n")
    with pytest.raises(FileNotFoundError):
        load_taxonomy(tmp_path)
