"""kindling query top --topic / account / explain on small published tables written with pyarrow.

The lake has two dates and two networks: dt=D1 is a plain folder with alpha only, dt=D2 is a link
to a version folder (as publishing makes it) with alpha and beta. Expected values are computed
from the rows written here, not copied from the output.
"""

from __future__ import annotations

import csv
import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import schemas
from kindling.cli import main
from kindling.serving import query

D1, D2 = "2026-11-24", "2026-11-25"

BASE = {
    "account_scores": dict(
        account_type="person",
        pagerank=0.1,
        percentile=50.0,
        in_weight=1.0,
        out_weight=1.0,
        influence_change=None,
        trust_rank=None,
        spam_mass=None,
        spam_flag=False,
        ring_id=None,
        ring_flag=False,
        responsiveness=0.25,
        asks=0,
        answered=0,
        answer_hours_median=None,
        run_id="r",
    ),
    "topic_scores": dict(
        account_type="person", topic_rank=0.1, recognition=1.0, own_engagements=0, expertise_change=None, run_id="r"
    ),
    "score_contributors": dict(contributor_type="person", base_share=0.0, run_id="r"),
    "topics": dict(same_as=None, run_id="r"),
}


def _acc(account_id, handle, influence, rank, **over):
    return {**dict(account_id=account_id, handle=handle, influence=influence, rank=rank), **over}


def _ts(topic, account_id, expertise, interest, **over):
    return {
        **dict(
            topic=topic,
            account_id=account_id,
            handle=f"h_{account_id}",
            expertise=expertise,
            interest=interest,
            recognizers=int(expertise // 10),
            own_posts=int(interest // 10),
        ),
        **over,
    }


def _sc(topic, account_id, contributor_id, share, events, kinds, **over):
    return {
        **dict(
            topic=topic,
            account_id=account_id,
            contributor_id=contributor_id,
            contributor_handle=f"h_{contributor_id}",
            share=share,
            events=events,
            kinds=kinds,
        ),
        **over,
    }


DATA = {
    "account_scores": {
        (D2, "alpha"): [
            _acc(
                "a1",
                "ann",
                62.5,
                1,
                influence_change=2.5,
                percentile=80.0,
                pagerank=0.4,
                responsiveness=0.1,
                asks=26,
                answered=2,
                answer_hours_median=30.0,
            ),
            _acc("a2", "bob", 50.0, 2, responsiveness=0.8, asks=16, answered=13, answer_hours_median=3.5),
            _acc("a3", "cy", 40.0, 3, responsiveness=0.9, asks=26, answered=23, answer_hours_median=1.0),
            _acc(
                "a4",
                "dee_org",
                30.0,
                4,
                account_type="organization",
                responsiveness=0.95,
                asks=36,
                answered=34,
                answer_hours_median=0.5,
            ),
            _acc("a5", "eve", 20.0, 5),
        ],
        (D2, "beta"): [_acc("a6", "fay", 70.0, 1), _acc("a1", "ann_b", 45.0, 2), _acc("a2", "bob", 10.0, 3)],
        (D1, "alpha"): [
            _acc("a1", "ann", 60.0, 1),
            _acc("a2", "bob", 48.0, 2),
            _acc("a3", "cy", 41.0, 3),
            _acc("a4", "dee_org", 30.0, 4),
            _acc("a5", "eve", 22.0, 5),
        ],
    },
    "topic_scores": {
        # python on alpha: a2 and a4 tie on both scores (ties go by account_id); a3 is loud.
        (D2, "alpha"): [
            _ts("python", "a1", 80.0, 5.0),
            _ts("python", "a2", 60.0, 40.0),
            _ts("python", "a4", 60.0, 40.0, account_type="organization", expertise_change=1.5),
            _ts("python", "a3", 40.0, 90.0),
            _ts("cooking", "a1", 30.0, 70.0),
            _ts("cooking", "a5", 70.0, 10.0),
        ],
        (D2, "beta"): [_ts("python", "a6", 90.0, 20.0), _ts("python", "a1", 50.0, 50.0)],
        (D1, "alpha"): [
            _ts("python", "a1", 75.0, 4.0),
            _ts("python", "a2", 62.0, 30.0),
            _ts("cooking", "a5", 65.0, 10.0),
        ],
    },
    # shares of the score: the listed ones + others (unlisted contributors) + base_share add to 1
    "score_contributors": {
        (D2, "alpha"): [
            _sc(None, "a1", "a2", 0.4, 3, "reply=2,like=1", base_share=0.15),
            _sc(None, "a1", "a3", 0.25, 2, "like=2", base_share=0.15),
            _sc(None, "a1", "a4", 0.15, 1, "repost=1", contributor_type="organization", base_share=0.15),
            _sc(None, "a2", "a1", 0.7, 4, "reply=4", base_share=0.3),
            _sc("python", "a1", "a2", 0.6, 2, "reply=2", base_share=0.2),
            _sc("python", "a1", "a3", 0.2, 1, "like=1", base_share=0.2),
        ],
        (D2, "beta"): [
            _sc(None, "a1", "a6", 0.8, 5, "reply=5", base_share=0.2),
            _sc(None, "a6", "a1", 0.75, 1, "like=1", base_share=0.25),
            _sc("python", "a6", "a1", 0.7, 1, "like=1", base_share=0.3),
        ],
        (D1, "alpha"): [
            _sc(None, "a1", "a2", 0.35, 2, "reply=2", base_share=0.15),
            _sc(None, "a1", "a3", 0.3, 2, "like=2", base_share=0.15),
            _sc(None, "a1", "a5", 0.2, 1, "quote=1", base_share=0.15),
            _sc("python", "a1", "a2", 0.8, 3, "reply=3", base_share=0.1),
            _sc("python", "a1", "a5", 0.1, 1, "like=1", base_share=0.1),
        ],
    },
}


def _tp(topic, display_name, parent, accounts, **over):
    return {**dict(topic=topic, display_name=display_name, parent=parent, accounts=accounts), **over}


# The topics of D2 (dt=D1 was published before the table existed): python's parents and cooking's
# were folded into them (the same posts), as the pipeline folds a parent with one active child.
TOPICS = {
    (D2, "alpha"): [
        _tp("python", "Python", "computer-programming,software-development", 4),
        _tp("cooking", "Cooking", "food-and-drink-super", 2),
        _tp("computer-programming", "Computer Programming", "technology-super", 4, same_as="python"),
        _tp("software-development", "Software Development", "technology", 4, same_as="python"),
        _tp("food-and-drink-super", "Food & Drink", None, 2, same_as="cooking"),
    ],
    (D2, "beta"): [
        _tp("python", "Python", "computer-programming,software-development", 2),
        _tp("computer-programming", "Computer Programming", "technology-super", 2, same_as="python"),
    ],
}
DATA["topics"] = TOPICS


def _complete(table, rows, day, network):
    """Fill the columns a test does not care about; ranks follow the table's own ordering rules."""
    out = [{**BASE[table], **r} for r in rows]
    if table == "topic_scores":
        for topic in {r["topic"] for r in out}:
            mine = sorted((r for r in out if r["topic"] == topic), key=lambda r: (-r["expertise"], r["account_id"]))
            for i, r in enumerate(mine, 1):
                r["rank_in_topic"] = i
    if table == "score_contributors":
        for key in {(r["topic"], r["account_id"]) for r in out}:
            mine = sorted((r for r in out if (r["topic"], r["account_id"]) == key), key=lambda r: -r["share"])
            for i, r in enumerate(mine, 1):
                r["contributor_rank"] = i
    return out


def _write_lake(root, data):
    for table, parts in data.items():
        schema = schemas.table(table).arrow_schema()
        for (day, network), rows in parts.items():
            if day == D2:  # published the way the pipeline does it: dt= is a link to a version folder
                folder = root / "tables" / "_versions" / table / f"dt={day}" / "run-2"
            else:
                folder = root / "tables" / table / f"dt={day}"
            (folder / f"network={network}").mkdir(parents=True, exist_ok=True)
            pq.write_table(
                pa.Table.from_pylist(_complete(table, rows, day, network), schema=schema),
                folder / f"network={network}" / "part-0.parquet",
            )
        link = root / "tables" / table / f"dt={D2}"
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)  # a table with no D1 partition (topics)
            os.symlink(os.path.relpath(root / "tables" / "_versions" / table / f"dt={D2}" / "run-2", link.parent), link)


@pytest.fixture
def lake(tmp_path, monkeypatch):
    root = tmp_path / "lake"
    _write_lake(root, DATA)
    monkeypatch.setenv("KINDLING_LAKE", str(root))
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no kindling.toml from the repo
    return root


def _rows(table, day, network, **match):
    return [r for r in DATA[table][(day, network)] if all(r.get(k) == v for k, v in match.items())]


def _one(table, day, network, **match):
    (row,) = _rows(table, day, network, **match)
    return row


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_80_columns(text):
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert not too_wide, too_wide


# --------------------------------------------------------------------------- top --topic


def test_topic_top_by_expertise_and_by_interest_differ(lake, capsys):
    rows = _rows("topic_scores", D2, "alpha", topic="python")
    want_e = [r["account_id"] for r in sorted(rows, key=lambda r: (-r["expertise"], -r["interest"], r["account_id"]))]
    want_i = [r["account_id"] for r in sorted(rows, key=lambda r: (-r["interest"], -r["expertise"], r["account_id"]))]
    assert want_e != want_i

    rc, out, _ = run(capsys, "query", "top", "--topic", "python", "--network", "alpha", "--format", "json")
    assert rc == 0
    got = json.loads(out)
    assert [r["account_id"] for r in got] == want_e
    assert [r["rank"] for r in got] == list(range(1, len(rows) + 1))
    assert {r["network"] for r in got} == {"alpha"} and {r["dt"] for r in got} == {D2}
    a4 = next(r for r in got if r["account_id"] == "a4")
    assert a4["expertise_change"] == 1.5 and a4["recognizers"] == 6 and a4["own_posts"] == 4

    rc, out, _ = run(
        capsys, "query", "top", "--topic", "python", "--network", "alpha", "--by", "interest", "--format", "json"
    )
    assert rc == 0
    assert [r["account_id"] for r in json.loads(out)] == want_i


def test_topic_top_every_network_as_csv_and_n(lake, capsys):
    rc, out, _ = run(capsys, "query", "top", "--topic", "python", "-n", "2", "--format", "csv")
    assert rc == 0
    got = list(csv.DictReader(io.StringIO(out)))
    assert [(r["network"], r["account_id"]) for r in got] == [
        ("alpha", "a1"),
        ("alpha", "a2"),
        ("beta", "a6"),
        ("beta", "a1"),
    ]
    assert float(got[2]["expertise"]) == _one("topic_scores", D2, "beta", topic="python", account_id="a6")["expertise"]

    # cooking exists on alpha only: beta is simply not listed
    rc, out, _ = run(capsys, "query", "top", "--topic", "cooking", "--format", "json")
    assert rc == 0
    assert [(r["network"], r["account_id"]) for r in json.loads(out)] == [("alpha", "a5"), ("alpha", "a1")]


def test_topic_top_table_is_one_block_per_network(lake, capsys):
    rc, out, _ = run(capsys, "query", "top", "--topic", "python")
    assert rc == 0
    assert f"python on alpha, by expertise, dt={D2}" in out
    assert f"python on beta, by expertise, dt={D2}" in out
    assert out.index("on alpha") < out.index("on beta")
    assert "org " in out  # organization is shortened to fit
    assert_80_columns(out)


def test_topic_top_of_an_earlier_date(lake, capsys):
    rc, out, _ = run(capsys, "query", "top", "--topic", "python", "--date", D1, "--format", "json")
    assert rc == 0
    got = json.loads(out)
    assert [(r["network"], r["account_id"], r["expertise"]) for r in got] == [
        ("alpha", r["account_id"], r["expertise"]) for r in _rows("topic_scores", D1, "alpha", topic="python")
    ]


def test_misspelt_topic_suggests_close_names(lake, capsys):
    rc, _, err = run(capsys, "query", "top", "--topic", "pyton", "--network", "alpha")
    assert rc == 2
    assert "'pyton'" in err and "did you mean: python" in err
    with pytest.raises(LookupError, match="did you mean: cooking"):
        query.topic_top(lake, "cookin")
    # a topic that is only on another network is unknown on this one
    with pytest.raises(LookupError, match="'cooking' has no scores on network beta .*1 topic is published"):
        query.topic_top(lake, "cooking", network="beta")


def test_global_top_still_needs_a_network(lake, capsys):
    rc, _, err = run(capsys, "query", "top")
    assert rc == 2 and "--network" in err
    rc, _, err = run(capsys, "query", "top", "--network", "alpha", "--by", "interest")
    assert rc == 2 and "--topic" in err

    rc, out, _ = run(capsys, "query", "top", "--network", "alpha", "-n", "3", "--format", "json")
    assert rc == 0
    want = sorted(DATA["account_scores"][(D2, "alpha")], key=lambda r: r["rank"])[:3]
    assert [r["account_id"] for r in json.loads(out)] == [r["account_id"] for r in want]

    rc, out, _ = run(capsys, "query", "top", "--network", "alpha")
    assert rc == 0 and "+2.50" in out  # a1's influence_change, signed
    assert_80_columns(out)


# --------------------------------------------------------------------------- account


def test_account_id_on_two_networks_needs_network(lake, capsys):
    """a1 is scored on alpha (ann) and on beta (ann_b): two accounts, never shown as one."""
    for fmt in ("table", "json", "csv"):
        rc, out, err = run(capsys, "query", "account", "a1", "--format", fmt)
        assert (rc, out) == (2, ""), (fmt, out)
        assert err.count("\n") == 1 and err.startswith("kindling: error: "), err
        assert "'a1'" in err and "alpha" in err and "beta" in err and "--network N" in err, err
        assert "'ann'" in err and "'ann_b'" in err, err  # which account is which
    with pytest.raises(query.AmbiguousAccount) as e:
        query.account(lake, "a1")
    assert e.value.networks == ["alpha", "beta"]


def test_account_of_one_network(lake, capsys):
    for net, other in (("alpha", "beta"), ("beta", "alpha")):
        rc, out, err = run(capsys, "query", "account", "a1", "--network", net, "--format", "json")
        assert rc == 0, err
        got = json.loads(out)
        assert (got["dt"], got["network"], got["account_id"]) == (D2, net, "a1") and "networks" not in got
        assert other not in out
        want = _one("account_scores", D2, net, account_id="a1")
        scores = got["scores"]
        assert (scores["influence"], scores["rank"], scores["handle"]) == (
            want["influence"],
            want["rank"],
            want["handle"],
        )
        mine = _rows("topic_scores", D2, net, account_id="a1")
        assert got["topic_count"] == len(mine)
        by_e = [r["topic"] for r in sorted(mine, key=lambda r: (-r["expertise"], -r["interest"], r["topic"]))]
        by_i = [r["topic"] for r in sorted(mine, key=lambda r: (-r["interest"], -r["expertise"], r["topic"]))]
        assert [t["topic"] for t in got["topics_by_expertise"]] == by_e
        assert [t["topic"] for t in got["topics_by_interest"]] == by_i
        assert got == query.account(lake, "a1", network=net) | {"scores": got["scores"]}
    assert (
        query.account(lake, "a1", network="alpha")["topics_by_expertise"]
        != query.account(lake, "a1", network="alpha")["topics_by_interest"]
    )

    rc, out, _ = run(capsys, "query", "account", "a1", "--network", "beta")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == f"account a1 on beta, dt={D2}"
    assert next(line for line in lines if line.startswith("influence")).split() == ["influence", "45.00"]
    assert next(line for line in lines if line.startswith("handle")).split() == ["handle", "ann_b"]
    assert "alpha" not in out and "62.50" not in out and "ann\n" not in out  # nothing of alpha's a1
    assert "top 1 of 1 topics by interest" in out
    assert_80_columns(out)


def test_account_csv_and_topics_limit(lake, capsys):
    rc, out, _ = run(capsys, "query", "account", "a1", "--network", "alpha", "--topics", "1", "--format", "csv")
    assert rc == 0
    got = list(csv.DictReader(io.StringIO(out)))
    assert [(r["network"], r["list"], r["topic"]) for r in got] == [
        ("alpha", "expertise", "python"),
        ("alpha", "interest", "cooking"),
    ]
    assert {float(r["influence"]) for r in got} == {62.5}


def test_account_on_one_network_only_and_unknown_account(lake, capsys):
    rc, out, err = run(capsys, "query", "account", "a6", "--format", "json")  # only on beta: no --network needed
    assert rc == 0, err
    got = json.loads(out)
    assert got["network"] == "beta" and got["scores"]["handle"] == "fay" and got["scores"]["influence"] == 70.0

    rc, _, err = run(capsys, "query", "account", "nobody")
    assert rc == 2 and "'nobody'" in err and "any network" in err
    rc, _, err = run(capsys, "query", "account", "a6", "--network", "alpha")
    assert rc == 2 and "network alpha" in err


# --------------------------------------------------------------------------- explain


def test_explain_global_against_the_previous_date(lake, capsys):
    """A day published without the graph tables: influence is explained from score_contributors."""
    rc, out, _ = run(capsys, "query", "explain", "a1", "--network", "alpha", "--format", "json")
    assert rc == 0
    got = json.loads(out)
    assert (got["dt"], got["prev_dt"], got["topic"], got["score_name"]) == (D2, D1, None, "influence")
    assert (got["network"], got["source"]) == ("alpha", "score_contributors")
    e = got["networks"]["alpha"]
    now, before = (_one("account_scores", d, "alpha", account_id="a1")["influence"] for d in (D2, D1))
    assert e["score"] == now and e["score_prev"] == before
    assert e["score_change"] == pytest.approx(now - before)

    today = _rows("score_contributors", D2, "alpha", topic=None, account_id="a1")
    earlier = {
        r["contributor_id"]: r["share"] for r in _rows("score_contributors", D1, "alpha", topic=None, account_id="a1")
    }
    assert [c["contributor_id"] for c in e["contributors"]] == [
        r["contributor_id"] for r in sorted(today, key=lambda r: -r["share"])
    ]
    for c in e["contributors"]:
        want = next(r for r in today if r["contributor_id"] == c["contributor_id"])
        assert (c["share"], c["events"], c["kinds"]) == (want["share"], want["events"], want["kinds"])
        if c["contributor_id"] in earlier:
            assert c["share_prev"] == earlier[c["contributor_id"]]
            assert c["share_change"] == pytest.approx(want["share"] - earlier[c["contributor_id"]])
        else:
            assert c["share_prev"] is None and c["share_change"] is None
    assert any(c["share_prev"] is None for c in e["contributors"])  # the data has a newcomer (a4)
    gone = set(earlier) - {r["contributor_id"] for r in today}
    assert {g["contributor_id"] for g in e["former_contributors"]} == gone == {"a5"}
    # the listed shares, the others (contributors not listed) and the base add to 100%
    base = today[0]["base_share"]
    assert e["base_share"] == base and e["others_share"] == pytest.approx(1 - base - sum(r["share"] for r in today))
    assert sum(c["share"] for c in e["contributors"]) + e["others_share"] + e["base_share"] == pytest.approx(1.0)
    assert (
        e["base_share_prev"] == _rows("score_contributors", D1, "alpha", topic=None, account_id="a1")[0]["base_share"]
    )


def test_explain_table_shows_percent_shares_and_changes(lake, capsys):
    rc, out, _ = run(capsys, "query", "explain", "a1", "--network", "alpha")
    assert rc == 0
    a2_now = _one("score_contributors", D2, "alpha", topic=None, account_id="a1", contributor_id="a2")["share"]
    a2_then = _one("score_contributors", D1, "alpha", topic=None, account_id="a1", contributor_id="a2")["share"]
    line = next(line for line in out.splitlines() if " a2 " in f" {line} ")
    assert f"{100 * a2_now:.2f}" in line and f"{100 * a2_then:.2f}" in line
    assert f"{100 * (a2_now - a2_then):+.2f}" in line and "reply=2,like=1" in line
    now, before = (_one("account_scores", d, "alpha", account_id="a1")["influence"] for d in (D2, D1))
    assert f"change {now - before:+.2f}" in out
    assert "no longer among them: a5" in out
    today = _rows("score_contributors", D2, "alpha", topic=None, account_id="a1")
    base = today[0]["base_share"]
    lines = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.split()[:1] in (["others"], ["base"], ["total"])
    }
    assert lines["base"][1:3] == ["teleport", f"{100 * base:.2f}"]
    assert lines["others"][1] == f"{100 * (1 - base - sum(r['share'] for r in today)):.2f}"
    assert lines["total"][1] == "100.00"
    assert_80_columns(out)


def test_explain_topic(lake, capsys):
    rc, out, _ = run(capsys, "query", "explain", "a1", "--topic", "python", "--network", "alpha", "--format", "json")
    assert rc == 0
    got = json.loads(out)
    e = got["networks"]["alpha"]
    assert got["source"] == "score_contributors"
    now, before = (_one("topic_scores", d, "alpha", topic="python", account_id="a1")["expertise"] for d in (D2, D1))
    assert (e["score"], e["score_prev"]) == (now, before)
    a2 = next(c for c in e["contributors"] if c["contributor_id"] == "a2")
    want_now = _one("score_contributors", D2, "alpha", topic="python", account_id="a1", contributor_id="a2")["share"]
    want_then = _one("score_contributors", D1, "alpha", topic="python", account_id="a1", contributor_id="a2")["share"]
    assert a2["share_change"] == pytest.approx(want_now - want_then)
    assert sum(c["share"] for c in e["contributors"]) + e["others_share"] + e["base_share"] == pytest.approx(1.0)

    # a1 has python scores on alpha and on beta: account ids are network-local
    rc, _, err = run(capsys, "query", "explain", "a1", "--topic", "python")
    assert rc == 2 and "alpha, beta" in err and "--network" in err
    rc, out, _ = run(capsys, "query", "explain", "a1", "--topic", "python", "--network", "alpha")
    assert rc == 0 and "expertise in python" in out and "a1 on alpha" in out
    assert_80_columns(out)


def test_explain_needs_a_network_when_the_account_is_on_several(lake, capsys):
    rc, _, err = run(capsys, "query", "explain", "a1", "--format", "json")
    assert rc == 2 and "scored on 2 networks" in err and "(alpha, beta)" in err and "give --network" in err
    with pytest.raises(query.InvalidArgument, match="network-local"):
        query.explain(lake, "a1")
    # beta was not published on D1: no previous score or shares
    rc, out, _ = run(capsys, "query", "explain", "a1", "--network", "beta", "--format", "json")
    beta = json.loads(out)["networks"]["beta"]
    assert beta["score"] == _one("account_scores", D2, "beta", account_id="a1")["influence"]
    assert beta["score_prev"] is None and beta["score_change"] is None
    assert [c["share_prev"] for c in beta["contributors"]] == [None]
    # an account on one network needs no --network
    rc, out, _ = run(capsys, "query", "explain", "a6")
    assert rc == 0 and "a6 on beta" in out

    rc, out, _ = run(capsys, "query", "explain", "a1", "--network", "alpha", "--format", "csv")
    got = list(csv.DictReader(io.StringIO(out)))
    assert [r["part"] for r in got] == ["contributor"] * len(
        _rows("score_contributors", D2, "alpha", topic=None, account_id="a1")
    ) + ["others", "base"]
    assert {r["network"] for r in got} == {"alpha"} and {r["prev_dt"] for r in got} == {D1}
    assert sum(float(r["share"]) for r in got) == pytest.approx(1.0)


def test_explain_an_account_that_is_not_explained(lake, capsys):
    """Without the graph tables only the accounts of score_contributors are explained."""
    rc, _, err = run(capsys, "query", "explain", "a5", "--network", "alpha")
    assert rc == 2
    rank = _one("account_scores", D2, "alpha", account_id="a5")["rank"]
    assert "not among the accounts explained" in err and f"its rank is {rank}" in err
    explained = {r["account_id"] for r in _rows("score_contributors", D2, "alpha", topic=None)}
    assert f"only the top {len(explained)} are explained" in err

    # a3 is scored on alpha only: no --network needed to be told so
    rc, _, err = run(capsys, "query", "explain", "a3")
    assert rc == 2
    assert f"alpha: its rank is {_one('account_scores', D2, 'alpha', account_id='a3')['rank']}" in err
    rc, _, err = run(capsys, "query", "explain", "nobody")
    assert rc == 2 and "has no influence score on any network" in err


def test_explain_on_the_first_date_has_no_previous(lake, capsys):
    rc, out, _ = run(capsys, "query", "explain", "a1", "--network", "alpha", "--date", D1)
    assert rc == 0 and "no earlier published date" in out


def _write_graph(root, day, network, ranks, edges, damping=0.85):
    """graph_edges and graph_vertices of one day as the rank step publishes them, from (src, dst,
    weight, norm_weight) and the given ranks: in_flow, base and base_share worked out here."""
    out = {u: sum(n for s, _d, _w, n in edges if s == u) for u in ranks}
    e_rows = [
        dict(
            src=s,
            dst=d,
            weight=w,
            flow_weight=w,
            norm_weight=n,
            out_weight=out[s],
            events=1,
            kinds="reply=1",
            topic_factors=None,
            offtopic_factor=0.2,
            run_id="r",
        )
        for s, d, w, n in edges
    ]
    in_flow = {v: sum(damping * ranks[s] * w / out[s] for s, d, w, _n in edges if d == v) for v in ranks}
    v_rows = [
        dict(
            id=v,
            handle=f"h_{v}",
            pagerank=r,
            influence=20.0,
            in_flow=in_flow[v],
            base=r - in_flow[v],
            base_share=(r - in_flow[v]) / r,
            out_weight=out[v],
            damping=damping,
            run_id="r",
        )
        for v, r in ranks.items()
    ]
    for table, rows in (("graph_edges", e_rows), ("graph_vertices", v_rows)):
        folder = root / "tables" / table / f"dt={day}" / f"network={network}"
        folder.mkdir(parents=True)
        pq.write_table(
            pa.Table.from_pylist(rows, schema=schemas.table(table).arrow_schema()), folder / "part-0.parquet"
        )
    return in_flow


def test_explain_any_account_from_the_graph_tables(lake, capsys):
    """With graph_edges and graph_vertices published, every scored account is explained: each
    contributor's share d * pagerank(u) * weight / out_weight / pagerank(v), the others summed, the
    base; against the previous day's graph per contributor (0 when it had no edge then)."""
    ranks = {"a1": 0.2, "a2": 0.15, "a3": 0.1, "a4": 0.05, "a5": 0.5}
    edges = [
        ("a1", "a5", 2.0, 2.0),
        ("a1", "a2", 1.0, 1.5),
        ("a2", "a5", 1.0, 1.0),
        ("a3", "a5", 0.5, 2.0),
        ("a4", "a5", 0.2, 0.2),
        ("a4", "a1", 1.0, 1.0),
        ("a2", "a1", 3.0, 3.0),
    ]
    before = [("a1", "a5", 1.0, 1.0), ("a3", "a5", 2.0, 2.0), ("a3", "a1", 1.0, 1.0), ("a4", "a5", 1.0, 1.0)]
    _write_graph(lake, D2, "alpha", ranks, edges)
    _write_graph(lake, D1, "alpha", ranks, before)

    def shares(rows):
        out = {u: sum(n for s, _d, _w, n in rows if s == u) for u in ranks}
        return {s: 0.85 * ranks[s] * w / out[s] / ranks["a5"] for s, d, w, _n in rows if d == "a5"}

    want, then = shares(edges), shares(before)
    got = query.explain(lake, "a5", network="alpha", n=2)
    assert (got["source"], got["prev_dt"]) == ("graph", D1)  # a5 is not among score_contributors' accounts
    e = got["networks"]["alpha"]
    assert [c["contributor_id"] for c in e["contributors"]] == ["a1", "a2"] and e["others_count"] == 2
    for c in e["contributors"]:
        assert c["share"] == pytest.approx(want[c["contributor_id"]], rel=1e-12)
        assert c["weight"] == next(w for s, d, w, _n in edges if (s, d) == (c["contributor_id"], "a5"))
    assert e["contributors"][0]["out_weight"] == 3.5
    assert e["others_share"] == pytest.approx(want["a3"] + want["a4"], rel=1e-12)
    assert e["base_share"] == pytest.approx(1 - sum(want.values()), rel=1e-12)
    assert sum(c["share"] for c in e["contributors"]) + e["others_share"] + e["base_share"] == pytest.approx(
        1.0, abs=1e-12
    )
    a1, a2 = e["contributors"]
    assert a1["share_prev"] == pytest.approx(then["a1"]) and a2["share_prev"] == 0.0  # no a2 -> a5 edge then
    assert a1["share_change"] == pytest.approx(want["a1"] - then["a1"])
    assert e["base_share_prev"] == pytest.approx(1 - sum(then.values()))
    assert e["others_share_prev"] == pytest.approx(then["a3"] + then["a4"])
    # D1's top 2 were a1 and a3: a3 is no longer listed
    assert [(g["contributor_id"], g["share_prev"], g["share"]) for g in e["former_contributors"]] == [
        ("a3", pytest.approx(then["a3"]), pytest.approx(want["a3"]))
    ]

    # people only: a4 is an organization (account_scores): the persons keep their ranks, a4 counts in others
    people = query.explain(lake, "a5", network="alpha", n=4, people_only=True)["networks"]["alpha"]
    assert [(c["contributor_id"], c["contributor_rank"]) for c in people["contributors"]] == [
        ("a1", 1),
        ("a2", 2),
        ("a3", 3),
    ]
    assert people["others_share"] == pytest.approx(want["a4"])

    rc, out, _ = run(capsys, "query", "explain", "a5", "--network", "alpha", "-n", "4")
    assert rc == 0 and "from graph_edges" in out and "every contributor" in out
    rows = {line.split()[1]: line for line in out.splitlines() if line[:1].strip().isdigit()}
    assert set(rows) == {"a1", "a2", "a3", "a4"} and f"{100 * want['a3']:.2f}" in rows["a3"]
    assert "0 accounts" in next(line for line in out.splitlines() if line.split()[:1] == ["others"])
    assert_80_columns(out)


def test_explain_a_day_published_before_base_share_existed(lake, capsys):
    """score_contributors written before base_share: its shares were of the inflow, so no base line and
    no comparison with them."""
    for day in (D1, D2):
        folder = lake / "tables" / "score_contributors" / f"dt={day}" / "network=alpha"
        pq.write_table(pq.read_table(folder / "part-0.parquet").drop(["base_share"]), folder / "part-0.parquet")
    got = query.explain(lake, "a1", network="alpha")
    e = got["networks"]["alpha"]
    assert e["base_share"] is None and e["others_share"] is None and got["prev_dt"] is None
    assert all(c["share_prev"] is None for c in e["contributors"]) and e["former_contributors"] == []
    rc, out, _ = run(capsys, "query", "explain", "a1", "--network", "alpha")
    assert rc == 0 and "published before base_share existed" in out


# --------------------------------------------------------------------------- hostile input


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["query", "account", "x' OR '1'='1"], "has no scores"),
        (["query", "account", "../../etc"], "has no scores"),
        (["query", "account", "a1'; DROP TABLE t; --"], "has no scores"),
        (["query", "explain", "x' OR '1'='1", "--network", "alpha"], "has no influence score"),
        (["query", "explain", "a1", "--topic", "../../etc"], "has no scores"),
        (["query", "explain", "a1", "--topic", "x' OR '1'='1"], "not a topic slug"),
        (["query", "top", "--topic", "x' OR '1'='1"], "not a topic slug"),
        (["query", "top", "--topic", "x'--"], "has no scores"),
        (["query", "top", "--topic", "../../etc"], "has no scores"),
        (["query", "top", "--network", "x' OR '1'='1"], "not allowed"),
        (["query", "top", "--network", "../../etc"], "not allowed"),
        (["query", "top", "--topic", "python", "--network", "../../etc"], "not allowed"),
        (["query", "account", "a1", "--network", "x' OR '1'='1"], "not allowed"),
        (["query", "explain", "a1", "--network", "../alpha"], "not allowed"),
        (["query", "top", "--topic", "python", "--date", "2026-11-25' OR '1'='1"], "YYYY-MM-DD"),
        (["query", "account", "a1", "--date", "../../etc"], "YYYY-MM-DD"),
    ],
)
def test_hostile_values_are_rejected_or_match_nothing(lake, capsys, argv, message):
    before = _tree(lake)
    rc, out, err = run(capsys, *argv)
    assert rc == 2, (out, err)
    assert message in err
    assert "syntax" not in err.lower() and "parser error" not in err.lower()
    assert _tree(lake) == before


def test_an_injected_account_id_matches_nothing_in_the_api(lake):
    with pytest.raises(LookupError):
        query.account(lake, "' OR 1=1 OR account_id='")
    rows = query.topic_top(lake, "python", network="alpha")
    assert all(r["topic"] == "python" for r in rows)


def test_tables_fit_80_columns_with_long_values(tmp_path, monkeypatch, capsys):
    """Long handles and kinds, 3-digit ranks, 5-digit counts, signed three-digit changes."""
    long_handle = "a_rather_long_handle_" * 2
    accounts = [f"a{i:06d}" for i in range(120)]
    data = {
        "account_scores": {
            (day, "alpha"): [
                _acc(a, long_handle, 100.0 - i / 2, i + 1, account_type="organization", influence_change=-100.0)
                for i, a in enumerate(accounts)
            ]
            for day in (D1, D2)
        },
        "topic_scores": {
            (day, "alpha"): [
                _ts(
                    "some-long-topic-slug-name",
                    a,
                    100.0 - i / 2,
                    99.99,
                    recognizers=12345,
                    own_posts=99999,
                    handle=long_handle,
                    account_type="organization",
                    expertise_change=-100.0,
                )
                for i, a in enumerate(accounts)
            ]
            for day in (D1, D2)
        },
        "score_contributors": {
            (day, "alpha"): [
                _sc(
                    None,
                    accounts[0],
                    c,
                    share,
                    12345,
                    "reply=123,like=45,repost=6,quote=7,mention=8",
                    contributor_handle=long_handle,
                )
                for c, share in zip(
                    accounts[1:11], (0.5, *([0.05] * 9)) if day == D2 else (*([0.05] * 9), 0.55), strict=True
                )
            ]
            for day in (D1, D2)
        },
    }
    root = tmp_path / "lake"
    _write_lake(root, data)
    monkeypatch.setenv("KINDLING_LAKE", str(root))
    monkeypatch.chdir(tmp_path)
    for argv in (
        ["query", "top", "--network", "alpha", "-n", "100"],
        ["query", "top", "--topic", "some-long-topic-slug-name", "-n", "100"],
        ["query", "account", accounts[0], "--topics", "100"],
        ["query", "explain", accounts[0]],
    ):
        rc, out, err = run(capsys, *argv)
        assert rc == 0, err
        assert len(out.splitlines()) > 5
        assert_80_columns(out)


# --------------------------------------------------------------------------- --people-only


def test_people_only_leaves_out_organizations_and_keeps_published_ranks(lake, capsys):
    scores = DATA["account_scores"][(D2, "alpha")]
    people = [r for r in sorted(scores, key=lambda r: r["rank"]) if r.get("account_type", "person") == "person"]
    assert len(people) < len(scores)  # the fixture has an organization to leave out
    rc, out, _ = run(capsys, "query", "top", "--network", "alpha", "--people-only", "--format", "json")
    assert rc == 0
    got = json.loads(out)
    assert [(r["account_id"], r["rank"]) for r in got] == [(r["account_id"], r["rank"]) for r in people]
    assert {r["account_type"] for r in got} == {"person"}
    rc, out, _ = run(capsys, "query", "top", "--network", "alpha", "--people-only", "-n", "4", "--format", "json")
    assert [r["account_id"] for r in json.loads(out)] == [r["account_id"] for r in people[:4]]

    # a topic: persons only, counted among persons; rank_in_topic is still the published one
    rows = _rows("topic_scores", D2, "alpha", topic="python")
    want = [
        r
        for r in sorted(rows, key=lambda r: (-r["expertise"], -r["interest"], r["account_id"]))
        if r.get("account_type", "person") == "person"
    ]
    assert len(want) < len(rows)
    got = query.topic_top(lake, "python", network="alpha", people_only=True)
    assert [r["account_id"] for r in got] == [r["account_id"] for r in want]
    assert [r["rank"] for r in got] == list(range(1, len(want) + 1))
    everyone = {r["account_id"]: r["rank_in_topic"] for r in query.topic_top(lake, "python", network="alpha")}
    assert [r["rank_in_topic"] for r in got] == [everyone[r["account_id"]] for r in want]
    rc, out, _ = run(capsys, "query", "top", "--topic", "python", "--network", "alpha", "--people-only")
    assert rc == 0 and "dee_org" not in out and "h_a4" not in out and "h_a1" in out


# --------------------------------------------------------------------------- reachable


def test_reachable_ranks_expertise_times_responsiveness_with_the_evidence(lake, capsys):
    resp = {r["account_id"]: r for r in DATA["account_scores"][(D2, "alpha")]}
    rows = _rows("topic_scores", D2, "alpha", topic="python")
    want = sorted(
        (
            (round(r["expertise"] * resp[r["account_id"]]["responsiveness"], 4), r["expertise"], r["account_id"])
            for r in rows
        ),
        key=lambda x: (-x[0], -x[1], x[2]),
    )
    got = query.reachable(lake, "python", network="alpha")
    assert [(r["reachability"], r["expertise"], r["account_id"]) for r in got] == want
    assert [r["rank"] for r in got] == list(range(1, len(want) + 1))
    # the most expert account (a1) answers rarely and falls below two who answer
    assert got[0]["account_id"] != max(rows, key=lambda r: r["expertise"])["account_id"]
    for r in got:
        src = resp[r["account_id"]]
        assert (r["responsiveness"], r["asks"], r["answered"], r["answer_hours_median"]) == (
            src["responsiveness"],
            src["asks"],
            src["answered"],
            src["answer_hours_median"],
        )
    # --people-only drops the organization; the CLI prints the formula, both numbers and the evidence
    people = query.reachable(lake, "python", network="alpha", people_only=True)
    assert [r["account_id"] for r in people] == [
        x[2] for x in want if resp[x[2]].get("account_type", "person") == "person"
    ]
    rc, out, _ = run(
        capsys, "query", "reachable", "--topic", "python", "--network", "alpha", "--people-only", "-n", "2"
    )
    assert rc == 0 and "expertise x responsiveness" in out and "dee_org" not in out and "h_a4" not in out
    assert len([line for line in out.splitlines() if line.strip().startswith(("1 ", "2 "))]) == 2
    assert "16" in out and "13" in out  # bob's asks and answered
    assert_80_columns(out)


def test_reachable_on_every_network_and_errors(lake, capsys):
    got = query.reachable(lake, "python")
    assert {r["network"] for r in got} == {"alpha", "beta"}
    rc, out, err = run(capsys, "query", "reachable", "--topic", "pythn")
    assert rc != 0 and "python" in err  # suggests the close name
    with pytest.raises(SystemExit) as exit_:
        main(["query", "reachable"])
    assert exit_.value.code == 2 and "--topic" in capsys.readouterr().err


def test_reachable_on_a_day_published_before_responsiveness_says_so(lake):
    folder = lake / "tables" / "account_scores" / f"dt={D1}" / "network=alpha"
    old = pq.read_table(folder / "part-0.parquet").drop(["responsiveness", "asks", "answered", "answer_hours_median"])
    pq.write_table(old, folder / "part-0.parquet")
    with pytest.raises(LookupError, match="before responsiveness.*existed.*rerun"):
        query.reachable(lake, "python", network="alpha", date=D1)


def test_explain_people_only_lists_person_contributors_with_published_ranks(lake, capsys):
    rows = _rows("score_contributors", D2, "alpha", topic=None, account_id="a1")
    people = sorted((r for r in rows if r.get("contributor_type", "person") == "person"), key=lambda r: -r["share"])
    assert len(people) < len(rows)  # the fixture has an organization among a1's contributors
    everyone = {
        c["contributor_id"]: c["contributor_rank"]
        for c in query.explain(lake, "a1", network="alpha")["networks"]["alpha"]["contributors"]
    }
    got = query.explain(lake, "a1", network="alpha", people_only=True)["networks"]["alpha"]["contributors"]
    assert [c["contributor_id"] for c in got] == [r["contributor_id"] for r in people]
    assert [c["contributor_rank"] for c in got] == [everyone[r["contributor_id"]] for r in people]
    rc, out, _ = run(capsys, "query", "explain", "a1", "--network", "alpha", "--people-only")
    assert rc == 0 and "h_a2" in out and "h_a4" not in out


def test_explain_people_only_on_a_day_published_before_contributor_type_says_so(lake, capsys):
    folder = lake / "tables" / "score_contributors" / f"dt={D1}" / "network=alpha"
    pq.write_table(pq.read_table(folder / "part-0.parquet").drop(["contributor_type"]), folder / "part-0.parquet")
    assert query.explain(lake, "a1", network="alpha")["prev_dt"] == D1  # without the flag nothing changes
    with pytest.raises(LookupError, match=f"score_contributors dt={D1} network=alpha .*contributor_type.*rerun"):
        query.explain(lake, "a1", network="alpha", people_only=True)


# --------------------------------------------------------------------------- topics


def test_fixture_topics_count_the_accounts_of_their_boards():
    for (day, net), rows in TOPICS.items():
        for r in rows:
            assert r["accounts"] == len(_rows("topic_scores", day, net, topic=r.get("same_as") or r["topic"]))
        assert {r["topic"] for r in rows if not r.get("same_as")} == {
            r["topic"] for r in DATA["topic_scores"][(day, net)]
        }


def test_query_topics_lists_boards_and_where_folded_topics_point(lake, capsys):
    rc, out, err = run(capsys, "query", "topics", "--format", "json")
    assert rc == 0, err
    want = [
        dict(r, same_as=r.get("same_as"), dt=D2, network=net)
        for net in ("alpha", "beta")
        for r in sorted(TOPICS[(D2, net)], key=lambda r: r["topic"])
    ]
    assert json.loads(out) == want
    assert query.topics(lake, network="beta") == [r for r in want if r["network"] == "beta"]

    rc, out, _ = run(capsys, "query", "topics", "--network", "alpha")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == f"topics on alpha, dt={D2}: 2 with a board, 3 folded into one"
    assert lines[1].split() == ["topic", "accounts", "parent", "same", "board", "as"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert list(rows) == ["computer-programming", "cooking", "food-and-drink-super", "python", "software-development"]
    assert rows["python"] == ["4", "computer-programmin…"]  # a board: no same_as; parents cut to fit
    assert rows["computer-programming"] == ["4", "technology-super", "python"]
    assert rows["food-and-drink-super"] == ["2", "cooking"]  # no parent: a top-level category
    assert "beta" not in out
    assert_80_columns(out)

    rc, out, _ = run(capsys, "query", "topics", "--format", "csv")
    got = list(csv.DictReader(io.StringIO(out)))
    assert list(got[0]) == ["dt", "network", "topic", "display_name", "parent", "accounts", "same_as"]
    assert [(r["network"], r["topic"], r["accounts"], r["same_as"]) for r in got if r["network"] == "beta"] == [
        ("beta", "computer-programming", "2", "python"),
        ("beta", "python", "2", ""),
    ]


def test_query_topics_of_a_day_published_before_the_table(lake, capsys):
    rc, _, err = run(capsys, "query", "topics", "--date", D1)
    assert rc == 2 and f"topics: dt={D1} is not published" in err
    rc, _, err = run(capsys, "query", "topics", "--network", "gamma")
    assert rc == 2 and "network=gamma is not published" in err
    # topic rankings of that day still work without it
    assert [r["account_id"] for r in query.topic_top(lake, "python", date=D1)] == ["a1", "a2"]


def test_top_topic_on_a_folded_topic_shows_the_board_it_shares(lake, capsys):
    rc, out, err = run(capsys, "query", "top", "--topic", "computer-programming")
    assert rc == 0, err
    assert "computer-programming: same board as python\npython on alpha, by expertise" in out
    assert "computer-programming: same board as python\npython on beta, by expertise" in out
    assert_80_columns(out)

    got = query.topic_top(lake, "computer-programming", network="alpha")
    want = query.topic_top(lake, "python", network="alpha")
    assert [r["account_id"] for r in got] == [r["account_id"] for r in want] == ["a1", "a2", "a4", "a3"]
    assert {(r["topic"], r["same_as"]) for r in got} == {("computer-programming", "python")}
    assert {r["same_as"] for r in want} == {None}
    assert [(k, v) for r in got for k, v in r.items() if k not in ("topic", "same_as")] == [
        (k, v) for r in want for k, v in r.items() if k not in ("topic", "same_as")
    ]

    # folded on alpha only: beta does not know the topic and is left out, as for any topic
    rc, out, _ = run(capsys, "query", "top", "--topic", "food-and-drink-super", "--format", "json")
    assert rc == 0
    assert [(r["network"], r["account_id"], r["same_as"]) for r in json.loads(out)] == [
        ("alpha", "a5", "cooking"),
        ("alpha", "a1", "cooking"),
    ]
    rc, _, err = run(capsys, "query", "top", "--topic", "food-and-drink-super", "--network", "beta")
    assert rc == 2 and "'food-and-drink-super' has no scores on network beta" in err

    # the commands that do not follow the fold say where the board is
    rc, _, err = run(capsys, "query", "reachable", "--topic", "software-development")
    assert rc == 2 and "same board as python" in err
