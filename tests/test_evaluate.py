"""kindling evaluate on a hand-built ground truth and topic_scores, with the metrics worked out by hand.

Network alpha, two planted topics that are scored and one (t3) that is not:

* t1, 13 scored accounts: experts e1 (level 0.9), e2 (0.7) rank 1-2 and e3 (0.3) ranks 11th, so 2 of
  its 3 experts are in the top 10 (precision@10 = 2/3, hits/10 = 0.2) and all 3 in the top 50
  (1.0, hits/50 = 3/50). x10 is its only loud non-expert: 1 of 13 in both top 50s, recall 1.
* t2, 60 scored accounts x00..x59 ranked in that order by expertise: experts x00, x05, x55 and x99
  (not scored), so precision@10 = 2/4, hits/10 = 0.2, precision@50 = 2/4, hits/50 = 2/50. Its own
  loud non-experts x50..x54 top the interest ranking, x56 does not make its top 50; x10 (loud, of t1)
  sits in both of its top 50s: loud share 1/50 by expertise, 6/50 by interest, recall 5/6.

Network beta ranks its single expert first; gamma is scored but has no ground truth, delta the reverse.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import spearmanr

import schemas
from kindling.cli import main
from kindling_dev.evaluate import evaluate, evidence_ceiling, format_report, rank_without, spearman
from kindling_dev.generate import GROUND_TRUTH_SCHEMA

DAY = "2026-11-25"

T1_EXPERTS = {"e1": 0.9, "e2": 0.7, "e3": 0.3}
T2_EXPERTS = {"x00": 1.0, "x05": 0.5, "x55": 0.8, "x99": 0.4}
T2_OWN_LOUD = ["x50", "x51", "x52", "x53", "x54", "x56"]

# A row of each published table with neutral values: a test names only the columns it is about.
TOPIC_ROW = dict(
    topic="t1",
    handle=None,
    account_type="person",
    expertise=50.0,
    interest=5.0,
    topic_rank=0.01,
    rank_in_topic=1,
    recognizers=1,
    recognition=1.0,
    own_posts=1,
    own_engagements=0,
    expertise_change=None,
    run_id="r",
)
ACCOUNT_ROW = dict(
    handle=None,
    account_type="person",
    pagerank=0.01,
    influence=20.0,
    rank=1,
    percentile=0.0,
    in_weight=0.0,
    out_weight=0.0,
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
)
CONTRIBUTOR_ROW = dict(
    topic="t1",
    contributor_handle=None,
    contributor_type="person",
    base_share=0.1,
    contributor_rank=1,
    events=1,
    kinds="like=1",
    run_id="r",
)


def _t1_rows():
    rows = [("e1", 90.0, 5.0), ("e2", 80.0, 5.0)]
    rows += [(f"n{i}", 71.0 - i, 5.0) for i in range(1, 9)]  # n1..n8: 70..63
    rows += [("e3", 50.0, 5.0), ("n9", 20.0, 5.0), ("x10", 10.0, 80.0)]
    return rows


def _t2_rows():
    rows = []
    for i in range(60):
        interest = 99.0 - (i - 50) if 50 <= i <= 54 else 1.0
        rows.append((f"x{i:02d}", 100.0 - i, interest))
    return rows


def _topic_scores(topic, rows):
    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))
    return [
        dict(
            TOPIC_ROW,
            topic=topic,
            account_id=a,
            expertise=e,
            interest=i,
            rank_in_topic=ordered.index((a, e, i)) + 1,
            account_type=TYPES.get(a, "person"),
        )
        for a, e, i in rows
    ]


TYPES = {"n2": "organization"}


def _truth(network, account_id, role, topic=None, level=None):
    return dict(
        network=network,
        account_id=account_id,
        role=role,
        topic=topic,
        level=level,
        propensity=PROPENSITY.get(account_id, 0.1),
        ring_id=None,
        account_type=TYPES.get(account_id, "person"),
        popularity=1.0,
        post_rate=1.0,
    )


@pytest.fixture
def world(tmp_path, monkeypatch):
    lake, snapshots = tmp_path / "lake", tmp_path / "snapshots"
    scores = {
        "alpha": _topic_scores("t1", _t1_rows())
        + _topic_scores("t2", _t2_rows())
        + _topic_scores("parent", [("e1", 95.0, 1.0), ("x10", 99.0, 99.0)]),  # scored, never planted
        "beta": _topic_scores("t1", [("n1", 90.0, 1.0), ("e1", 10.0, 1.0)]),
        "gamma": _topic_scores("t1", [("e1", 90.0, 1.0)]),
    }
    for net, rows in scores.items():
        _write(lake, "topic_scores", net, rows)

    accounts = {a for rows in (_t1_rows(), _t2_rows()) for a, _, _ in rows} | {"x99", "z1"}
    truth = [_truth("alpha", a, "account") for a in sorted(accounts)]
    truth += [_truth("alpha", a, "expert", "t1", lvl) for a, lvl in T1_EXPERTS.items()]
    truth += [_truth("alpha", a, "expert", "t2", lvl) for a, lvl in T2_EXPERTS.items()]
    truth += [_truth("alpha", "z1", "expert", "t3", 0.6)]
    truth += [_truth("alpha", "x10", "loud_non_expert", "t1", 0.0)]
    truth += [_truth("alpha", a, "loud_non_expert", "t2", 0.0) for a in T2_OWN_LOUD]
    truth += [_truth("alpha", "n9", "ring_member", "t1"), _truth("alpha", "n1", "responsive")]
    truth += [_truth("alpha", a, "responsive") for a in ("e2", "e3", "x05")]
    truth += [_truth("beta", "n1", "expert", "t1", 0.5), _truth("beta", "e1", "account")]
    truth += [_truth("delta", "e1", "expert", "t1", 0.5)]
    snapshots.mkdir()
    pq.write_table(pa.Table.from_pylist(truth, schema=GROUND_TRUTH_SCHEMA), snapshots / "ground_truth.parquet")
    monkeypatch.setenv("KINDLING_LAKE", str(lake))
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return lake, snapshots


def _expected_spearman():
    def pairs(rows, levels):
        return [e for _, e, _ in rows], [levels.get(a, 0.0) for a, _, _ in rows]

    (e1, l1), (e2, l2) = pairs(_t1_rows(), T1_EXPERTS), pairs(_t2_rows(), T2_EXPERTS)
    per_topic = [spearmanr(e1, l1).statistic, spearmanr(e2, l2).statistic]
    return spearmanr(e1 + e2, l1 + l2).statistic, sum(per_topic) / 2


def test_metrics_match_the_hand_computation(world):
    lake, snapshots = world
    got = evaluate(lake, snapshots, DAY)
    assert set(got) == {"alpha", "beta"}  # gamma has no ground truth, delta no scores
    a = got["alpha"]
    assert a["dt"] == DAY
    assert (a["planted_topics"], a["topics_evaluated"], a["topics_not_scored"]) == (3, 2, ["t3"])
    assert a["planted_experts"] == len(T1_EXPERTS) + len(T2_EXPERTS)

    t1, t2 = a["per_topic"]
    assert (t1["topic"], t1["precision_at_10"], t1["hits_per_k_at_10"]) == ("t1", pytest.approx(2 / 3), 0.2)
    assert (t1["precision_at_50"], t1["hits_per_k_at_50"]) == (1.0, pytest.approx(3 / 50))
    assert (t2["precision_at_10"], t2["precision_at_50"], t2["hits_per_k_at_50"]) == (0.5, 0.5, pytest.approx(2 / 50))

    assert a["precision_at_10"] == pytest.approx((2 / 3 + 2 / 4) / 2)
    assert a["hits_per_k_at_10"] == pytest.approx(0.2)
    assert a["precision_at_50"] == pytest.approx((3 / 3 + 2 / 4) / 2)
    assert a["hits_per_k_at_50"] == pytest.approx((3 / 50 + 2 / 50) / 2)

    assert a["loud_share_top_expertise_mean"] == pytest.approx((1 / 13 + 1 / 50) / 2)
    assert a["loud_share_top_expertise_max"] == pytest.approx(1 / 13)
    assert a["loud_share_top_interest_mean"] == pytest.approx((1 / 13 + 6 / 50) / 2)
    assert a["loud_share_top_interest_max"] == pytest.approx(6 / 50)
    assert a["own_loud_recall_top_interest_mean"] == pytest.approx((1 + 5 / 6) / 2)
    assert a["topics_with_own_loud"] == 2

    overall, per_topic_mean = _expected_spearman()
    assert a["spearman"] == pytest.approx(overall)
    assert a["spearman_per_topic_mean"] == pytest.approx(per_topic_mean)
    assert 0 < a["spearman"] < 1

    b = got["beta"]  # alpha's experts do not count on beta
    assert (b["topics_evaluated"], b["planted_experts"], b["precision_at_10"], b["hits_per_k_at_10"]) == (
        1,
        1,
        1.0,
        0.1,
    )
    assert b["own_loud_recall_top_interest_mean"] is None and b["loud_share_top_interest_max"] == 0.0


# responsiveness per account of alpha: (responsiveness, asks); everyone else 0.25 with no asks
RESPONSIVENESS = {"e1": (0.05, 10), "e2": (0.9, 10), "e3": (0.8, 10), "n9": (0.5, 2), "x10": (0.3, 6)}
PROPENSITY = {"e1": 0.0, "e2": 0.9, "e3": 0.7, "n9": 0.4, "x10": 0.6}


def _account_scores(lake, accounts):
    rows = [
        dict(
            ACCOUNT_ROW,
            account_id=a,
            account_type=TYPES.get(a, "person"),
            responsiveness=RESPONSIVENESS.get(a, (0.25, 0))[0],
            asks=RESPONSIVENESS.get(a, (0.25, 0))[1],
        )
        for a in sorted(accounts)
    ]
    _write(lake, "account_scores", "alpha", rows)


def test_responsiveness_and_reachable_against_the_planted_truth(world):
    lake, snapshots = world
    assert evaluate(lake, snapshots, DAY)["alpha"]["reach"] is None  # no account_scores published yet
    accounts = {a for rows in (_t1_rows(), _t2_rows()) for a, _, _ in rows}
    _account_scores(lake, accounts)
    r = evaluate(lake, snapshots, DAY)["alpha"]["reach"]

    for k in (1, 5):
        ids = sorted(a for a, (_, asks) in RESPONSIVENESS.items() if asks >= k)
        assert r[f"accounts_asks_{k}"] == len(ids)
        want = spearmanr([RESPONSIVENESS[a][0] for a in ids], [PROPENSITY[a] for a in ids]).statistic
        assert r[f"spearman_asks_{k}"] == pytest.approx(want)
        assert r[f"ceiling_asks_{k}"] == pytest.approx(
            evidence_ceiling([RESPONSIVENESS[a][1] for a in ids], [PROPENSITY[a] for a in ids], (1.0, 3.0))
        )
    # t1: expertise x responsiveness lists all 13 accounts; its planted responsive experts are e2 and
    # e3 (n1 is responsive but no expert), both listed; n2, an organization, is listed unless --people-only.
    # t2: x05 is its only responsive expert; at 95 x 0.25 it is within the top 20 (x00..x19 by expertise).
    t1, t2 = r["per_topic"]
    assert (t1["topic"], t1["responsive_experts"], t1["hits"], t1["precision"]) == ("t1", 2, 2, 1.0)
    assert (t1["organizations"], t1["organizations_people_only"]) == (1, 0)
    assert (t2["topic"], t2["responsive_experts"], t2["hits"], t2["precision"]) == ("t2", 1, 1, 1.0)
    assert (r["hits_mean"], r["hits_max"], r["responsive_experts_max"]) == (1.5, 2, 2)
    assert (r["organizations_max"], r["organizations_people_only_max"]) == (1, 0)
    text = format_report(evaluate(lake, snapshots, DAY))
    assert f"Spearman responsiveness ~ planted propensity: {r['spearman_asks_1']:.3f} (5 accounts" in text
    assert "planted responsive experts mean 1.500  max 2 (of at most 2)" in text
    assert "with --people-only max 0" in text and "responsiveness: n/a" in text  # beta has no account_scores
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_evidence_ceiling_is_what_the_same_asks_can_tell():
    # propensities 0 and 1 answer deterministically: scores (0+1)/(1+4), (2+1)/(2+4), (10+1)/(10+4)
    want = spearmanr([1 / 5, 3 / 6, 11 / 14], [0.0, 1.0, 1.0]).statistic
    assert evidence_ceiling([1, 2, 10], [0.0, 1.0, 1.0], (1.0, 3.0)) == pytest.approx(want)
    # a different prior changes the scores, here not their order
    assert evidence_ceiling([1, 2, 10], [0.0, 1.0, 1.0], (2.0, 2.0)) == pytest.approx(want)
    # the more asks, the closer the ceiling comes to 1; seeded, so the same every time
    p = np.linspace(0.0, 0.95, 200)
    few, many = evidence_ceiling(np.full(200, 2), p, (1.0, 3.0)), evidence_ceiling(np.full(200, 100), p, (1.0, 3.0))
    assert few < 0.8 < 0.95 < many < 1.0
    assert evidence_ceiling(np.full(200, 2), p, (1.0, 3.0)) == few
    assert evidence_ceiling([3], [0.5], (1.0, 3.0)) is None


def test_spearman_is_rank_based_and_handles_ties():
    assert spearman([1, 2, 3, 4], [10, 200, 3000, 40000]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # average ranks: x 1,2,3,4 and y 1.5,1.5,3.5,3.5 -> 4 / sqrt(5 * 4)
    assert spearman([1, 2, 3, 4], [0, 0, 1, 1]) == pytest.approx(4 / 20**0.5)
    assert spearman([1, 2, 3], [0, 0, 0]) is None


def test_cli_json_and_table(world, capsys):
    lake, snapshots = world
    assert main(["evaluate", "--snapshots", str(snapshots), "--date", DAY, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == json.loads(json.dumps(evaluate(lake, snapshots, DAY)))

    assert main(["evaluate", "--snapshots", str(snapshots), "--date", "latest"]) == 0
    out = capsys.readouterr().out
    assert out.index("alpha, dt=") < out.index("beta, dt=")
    assert f"precision@10  {(2 / 3 + 2 / 4) / 2:.3f}   (hits/10: 0.200)" in out
    assert "not scored: t3" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_cli_errors(world, capsys, tmp_path):
    _, snapshots = world
    assert main(["evaluate", "--snapshots", str(tmp_path / "nowhere"), "--date", DAY]) == 2
    assert "ground_truth.parquet" in capsys.readouterr().err
    assert main(["evaluate", "--snapshots", str(snapshots), "--date", "2026-11-24"]) == 2
    assert "not published" in capsys.readouterr().err
    assert main(["evaluate", "--snapshots", str(snapshots), "--date", "../../etc"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


# --------------------------------------------------------------------------- rings and reply gamers
#
# A separate world (network alpha, plus beta with nothing planted) with two lakes of the same date:
# "on" (account_scores with ring_id/ring_flag) and "off" (the baseline lake, written like a partition
# published before the ring columns: it needs none of them).
#
# Planted rings: alpha-ring-0 = r1 r2 r3, alpha-ring-1 = s1 s2 s3 s4, alpha-ring-2 = q1 q2.
# Detected (lake on): ring-r1 = {r1, r2, r3}; ring-f1 = {f1, f2, s1, s2, s3} (two outsiders, s4 missed);
# ring-q1 = {q1} and ring-q2 = {q2} (one planted ring split in two).
#   flagged 10, planted 9, flagged and planted 8: precision 8/10, recall 8/9;
#   whole: only alpha-ring-0 (ring-1 misses s4, ring-2 is split); 4 detected rings.
# Best ranks, lake on: global r2 at 150 (f1, flagged but not planted, is 1st: it does not count);
#   topics: t1 has s2 at 120 and r1 at 130, t2 has q1 at 101: best 101 (t2, q1); none in a top 100.
# Lake off: global s1 at 2; topics: s2 1st of t1 and q1 1st of t2: the tie goes to t1 (topic order).
#
# Reply gamers g1 (planted popularity e^1.0) and g2 (e^5.5). Ordinary persons o00..o59 have popularity
# e^(0.1 i) and influence i (lake on) or i + 1 (lake off). |log popularity difference| = |0.1 i - 1.0|
# for g1: the 50 nearest are o00..o49 (o49 at 3.9, o50 at 4.0), median influence 24.5 (on), 25.5 (off).
# For g2, |0.1 i - 5.5|: o10..o59 (o10 at 4.5, o09 at 4.6), median 34.5 (on), 35.5 (off).
# Not ordinary, though as close to g1 as can be: p1 (person, also planted responsive) and u1 (type
# unknown), both at influence 0 (counted, they would pull g1's median down to 22.5), and m1 (ordinary
# but not scored). Ring members, f1 and f2 (popularity 100, |log 100 - 5.5| = 0.9) score 99.
#   on:  g1 29.0 - 24.5 = 4.5, g2 32.5 - 34.5 = -2.0: mean 1.25, max 4.5 <= 5 (met)
#   off: g1 40.0 - 25.5 = 14.5, g2 44.5 - 35.5 = 9.0: mean 11.75, max 14.5 (not met)


RINGS = {"alpha-ring-0": ["r1", "r2", "r3"], "alpha-ring-1": ["s1", "s2", "s3", "s4"], "alpha-ring-2": ["q1", "q2"]}
DETECTED = {
    "r1": "ring-r1",
    "r2": "ring-r1",
    "r3": "ring-r1",
    "s1": "ring-f1",
    "s2": "ring-f1",
    "s3": "ring-f1",
    "f1": "ring-f1",
    "f2": "ring-f1",
    "q1": "ring-q1",
    "q2": "ring-q2",
}
GAMER_POP = {"g1": 1.0, "g2": 5.5}  # log popularity
ORDINARY = [f"o{i:02d}" for i in range(60)]
RANKS_ON = {
    "f1": 1,
    "g1": 2,
    "r2": 150,
    "s1": 210,
    "s2": 220,
    "s3": 230,
    "s4": 240,
    "r1": 300,
    "r3": 400,
    "q1": 500,
    "q2": 501,
}
RANKS_OFF = dict(RANKS_ON, s1=2, g1=1, r2=5, f1=3)
TOPIC_RANKS_ON = {"t1": {"f1": 1, "s2": 120, "r1": 130}, "t2": {"o00": 1, "q1": 101}}
TOPIC_RANKS_OFF = {"t1": {"s2": 1, "f1": 2}, "t2": {"q1": 1, "o00": 2}}
RING_COLUMNS = ("ring_id", "ring_flag")


def _ring_truth():
    def row(net, a, role, account_type="person", popularity=1.0, ring_id=None):
        return dict(
            network=net,
            account_id=a,
            role=role,
            topic=None,
            level=None,
            propensity=0.1,
            ring_id=ring_id,
            account_type=account_type,
            popularity=popularity,
            post_rate=1.0,
        )

    pop = {**{a: math.exp(lp) for a, lp in GAMER_POP.items()}, **{o: math.exp(0.1 * i) for i, o in enumerate(ORDINARY)}}
    pop.update(p1=math.exp(1.0), u1=math.exp(1.0), m1=math.exp(1.0))
    members = {a: ring for ring, ms in RINGS.items() for a in ms}
    everyone = sorted(set(members) | set(pop) | {"f1", "f2"})
    rows = [row("alpha", a, "account", "unknown" if a == "u1" else "person", pop.get(a, 100.0)) for a in everyone]
    rows += [row("alpha", a, "ring_member", ring_id=ring) for a, ring in members.items()]
    rows += [row("alpha", a, "reply_gamer") for a in GAMER_POP]
    rows += [row("alpha", a, "responsive") for a in ("f1", "f2", "p1")]
    rows += [row("beta", "b1", "account")]
    return rows


def _influence(a, off):
    if a in ORDINARY:
        return float(ORDINARY.index(a)) + (1.0 if off else 0.0)
    return {"g1": 40.0 if off else 29.0, "g2": 44.5 if off else 32.5, "p1": 0.0, "u1": 0.0}.get(a, 99.0)


def _write(lake, table, net, rows, drop=(), part=0):
    """Rows as one Parquet file of ``table``'s partition (DAY, net), without the ``drop`` columns."""
    schema = schemas.table(table).arrow_schema()
    schema = pa.schema([f for f in schema if f.name not in drop])
    folder = lake / "tables" / table / f"dt={DAY}" / f"network={net}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / f"part-{part}.parquet")


def _write_ring_lake(lake, off=False, ring_columns=True, influence=None):
    drop = () if ring_columns else RING_COLUMNS
    scored = sorted({r["account_id"] for r in _ring_truth() if r["network"] == "alpha"} - {"m1"})
    ranks = RANKS_OFF if off else RANKS_ON
    free = iter(range(1000, 2000))
    rows = []
    for a in scored:
        ring = None if off else DETECTED.get(a)
        rows.append(
            dict(
                ACCOUNT_ROW,
                account_id=a,
                account_type="unknown" if a == "u1" else "person",
                influence=(influence or _influence)(a, off),
                rank=ranks.get(a) or next(free),
                ring_id=ring,
                ring_flag=ring is not None,
            )
        )
    _write(lake, "account_scores", "alpha", rows, drop)
    ranks = TOPIC_RANKS_OFF if off else TOPIC_RANKS_ON
    _write(
        lake,
        "topic_scores",
        "alpha",
        [dict(TOPIC_ROW, topic=t, account_id=a, rank_in_topic=r) for t, by in ranks.items() for a, r in by.items()],
    )
    if not off:  # beta: scored, nothing planted but its account; absent from the baseline lake
        _write(lake, "topic_scores", "beta", [dict(TOPIC_ROW, topic="t1", account_id="b1", rank_in_topic=1)])
        _write(
            lake,
            "account_scores",
            "beta",
            [dict(ACCOUNT_ROW, account_id="b1")],
            drop,
        )


@pytest.fixture
def ring_world(tmp_path, monkeypatch):
    on, off, snapshots = tmp_path / "on", tmp_path / "off", tmp_path / "snapshots"
    _write_ring_lake(on)
    _write_ring_lake(off, off=True, ring_columns=False)
    snapshots.mkdir()
    pq.write_table(pa.Table.from_pylist(_ring_truth(), schema=GROUND_TRUTH_SCHEMA), snapshots / "ground_truth.parquet")
    monkeypatch.setenv("KINDLING_LAKE", str(on))
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return on, off, snapshots


def test_ring_detection_best_ranks_and_gamer_gains(ring_world):
    on, _, snapshots = ring_world
    d = evaluate(on, snapshots, DAY)["alpha"]["defenses"]
    assert (d["ring_flagged"], d["ring_planted"], d["ring_hits"]) == (10, 9, 8)
    assert d["ring_precision"] == pytest.approx(8 / 10) and d["ring_recall"] == pytest.approx(8 / 9)
    assert (d["rings_planted"], d["rings_whole"], d["rings_detected"]) == (3, 1, 4)

    assert (d["ring_best_global_rank"], d["ring_best_global_account"]) == (150, "r2")
    assert (d["ring_best_topic_rank"], d["ring_best_topic"], d["ring_best_topic_account"]) == (101, "t2", "q1")
    assert d["ring_top"] == 100 and d["ring_target_met"] is True

    assert (d["gamers_planted"], d["gamers"], d["gamer_baseline_k"]) == (2, 2, 50)
    gains = {g["account_id"]: g for g in d["per_gamer"]}
    assert gains["g1"]["baseline"] == pytest.approx(24.5) and gains["g1"]["gain"] == pytest.approx(4.5)
    assert gains["g2"]["baseline"] == pytest.approx(34.5) and gains["g2"]["gain"] == pytest.approx(-2.0)
    assert d["gamer_gain_mean"] == pytest.approx(1.25) and d["gamer_gain_max"] == pytest.approx(4.5)
    assert d["gamer_target_met"] is True
    assert d["baseline_lake"] is None and d["baseline"] is None

    b = evaluate(on, snapshots, DAY)["beta"]["defenses"]  # nothing planted: nothing to measure
    assert (b["ring_flagged"], b["ring_planted"], b["ring_precision"], b["ring_recall"]) == (0, 0, None, None)
    assert (b["ring_best_global_rank"], b["ring_best_topic_rank"], b["ring_target_met"]) == (None, None, None)
    assert (b["gamers"], b["gamer_gain_max"], b["gamer_target_met"]) == (0, None, None)


def test_the_baseline_lake_gives_the_defenses_off_side(ring_world):
    on, off, snapshots = ring_world
    got = evaluate(on, snapshots, DAY, baseline_lake=off)
    d = got["alpha"]["defenses"]
    assert d["baseline_lake"] == str(off)
    assert (d["ring_precision"], d["ring_best_global_rank"], d["gamer_gain_max"]) == (
        pytest.approx(0.8),
        150,
        pytest.approx(4.5),
    )  # the lake evaluated is still the "on" side
    o = d["baseline"]
    assert (o["ring_best_global_rank"], o["ring_best_global_account"]) == (2, "s1")
    assert (o["ring_best_topic_rank"], o["ring_best_topic"], o["ring_best_topic_account"]) == (1, "t1", "s2")
    assert o["ring_target_met"] is False
    gains = {g["account_id"]: g["gain"] for g in o["per_gamer"]}
    assert gains == {"g1": pytest.approx(40.0 - 25.5), "g2": pytest.approx(44.5 - 35.5)}
    assert o["gamer_gain_mean"] == pytest.approx(11.75) and o["gamer_gain_max"] == pytest.approx(14.5)
    assert o["gamer_target_met"] is False
    assert got["beta"]["defenses"]["baseline"] is None  # the baseline lake has no beta

    text = format_report(got)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "rings flagged: 10 accounts, 8 of the 9 planted members" in text
    assert "precision 0.800  recall 0.889; 1 of 3 planted rings whole (4 detected)" in text
    alpha, beta = text.split("\n\nbeta")
    assert "defenses on          off" in alpha
    assert alpha.split("    global")[1].splitlines()[0].split() == ["150", "2"]
    assert alpha.split("    any topic")[1].splitlines()[0].split() == ["101", "1"]
    assert "      on:  t2 (q1)\n      off: t1 (s2)" in alpha
    assert alpha.split("    none in a top 100")[1].splitlines()[0].split() == ["yes", "no"]
    assert alpha.split("    mean (influence points)")[1].splitlines()[0].split() == ["+1.250", "+11.750"]
    assert alpha.split("    max  ")[1].splitlines()[0].split() == ["+4.500", "+14.500"]
    assert alpha.split("    max <= 5")[1].splitlines()[0].split() == ["yes", "no"]
    assert "(2 of 2 gamers scored)" in alpha
    assert beta.split("    global")[1].splitlines()[0].split() == ["n/a", "n/a"]


def test_a_partition_without_ring_flag_skips_rings_and_gamers(ring_world, tmp_path):
    _, off, snapshots = ring_world
    # the baseline lake was written without ring_id and ring_flag, as published before them
    got = evaluate(off, snapshots, DAY)
    assert got["alpha"]["defenses"] is None
    assert "alpha" in got and got["alpha"]["reach"] is not None  # the rest is evaluated
    assert "rings and reply gamers: n/a (account_scores of the day has no ring_flag)" in format_report(got)
    # no account_scores at all: the same
    lake = tmp_path / "topics_only"
    _write(
        lake,
        "topic_scores",
        "alpha",
        [dict(TOPIC_ROW, account_id="r1", interest=1.0, topic_rank=0.1)],
    )
    assert evaluate(lake, snapshots, DAY)["alpha"]["defenses"] is None


def test_cli_baseline_lake(ring_world, capsys, tmp_path):
    on, off, snapshots = ring_world
    argv = ["evaluate", "--snapshots", str(snapshots), "--date", DAY, "--baseline-lake", str(off)]
    assert main(argv + ["--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == json.loads(json.dumps(evaluate(on, snapshots, DAY, baseline_lake=off)))
    assert got["alpha"]["defenses"]["baseline"]["ring_best_global_rank"] == 2

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "defenses on          off" in out and "Defenses off: the tables of --baseline-lake." in out
    assert max(len(line) for line in out.splitlines()) <= 80

    assert main(argv[:-1] + [str(tmp_path / "nowhere")]) == 2
    assert "baseline lake" in capsys.readouterr().err


# The twin lakes (the same world without the gamers' strategy): g1 26.0, g2 25.0 (on), 30.0 and 44.0
# (off); ordinary o_i one half lower at even i, the same at odd i. Gains over the twin:
#   on:  g1 29.0 - 26.0 = 3.0, g2 32.5 - 25.0 = 7.5: mean 5.25, max 7.5 (not met)
#   off: g1 40.0 - 30.0 = 10.0, g2 44.5 - 44.0 = 0.5: mean 5.25, max 10.0 (not met)
#   ordinary (o00..o59; p1, u1, ring members, f1/f2 are not ordinary, m1 unscored): 30 at +0.5 and
#   30 at 0: mean 0.25, 95th percentile 0.5, max 0.5 on both sides.
def _twin_influence(a, off):
    if a in ORDINARY:
        return _influence(a, off) - (0.5 if ORDINARY.index(a) % 2 == 0 else 0.0)
    return {"g1": 30.0 if off else 26.0, "g2": 44.0 if off else 25.0}.get(a, _influence(a, off))


def test_the_twin_lake_gives_each_gamer_its_planted_baseline(ring_world, capsys, tmp_path):
    on, off, snapshots = ring_world
    twin, twin_off = tmp_path / "twin", tmp_path / "twin_off"
    _write_ring_lake(twin, influence=_twin_influence)
    _write_ring_lake(twin_off, off=True, ring_columns=False, influence=_twin_influence)
    got = evaluate(on, snapshots, DAY, baseline_lake=off, twin_lake=twin, baseline_twin_lake=twin_off)
    d = got["alpha"]["defenses"]
    assert d["twin_lake"] == str(twin) and d["twin_gamers"] == 2
    assert {g["account_id"]: g["gain"] for g in d["per_gamer_twin"]} == {
        "g1": pytest.approx(3.0),
        "g2": pytest.approx(7.5),
    }
    assert (d["twin_gain_mean"], d["twin_gain_max"], d["twin_target_met"]) == (
        pytest.approx(5.25),
        pytest.approx(7.5),
        False,
    )
    assert (d["twin_ordinary_mean"], d["twin_ordinary_p95"], d["twin_ordinary_max"]) == (
        pytest.approx(0.25),
        pytest.approx(0.5),
        pytest.approx(0.5),
    )
    assert d["gamer_gain_max"] == pytest.approx(4.5)  # the popularity-matched measure is unchanged
    o = d["baseline"]
    assert o["twin_lake"] == str(twin_off)
    assert (o["twin_gain_mean"], o["twin_gain_max"], o["twin_target_met"]) == (
        pytest.approx(5.25),
        pytest.approx(10.0),
        False,
    )

    text = format_report(got)
    assert max(len(line) for line in text.splitlines()) <= 80
    alpha = text.split("\n\nbeta")[0]
    twin_part = alpha.split("gain over their twin (2 gamers scored in both):")[1]
    assert twin_part.split("    max  ")[1].splitlines()[0].split() == ["+7.500", "+10.000"]
    assert twin_part.split("    max <= 5")[1].splitlines()[0].split() == ["no", "no"]
    assert twin_part.split("    95th percentile")[1].splitlines()[0].split() == ["+0.500", "+0.500"]

    # without a twin: no twin figures, and no twin block in the report
    plain = evaluate(on, snapshots, DAY)["alpha"]["defenses"]
    assert plain["twin_lake"] is None and plain["twin_gain_max"] is None and plain["per_gamer_twin"] == []
    assert "over their twin" not in format_report(evaluate(on, snapshots, DAY))
    with pytest.raises(ValueError, match="baseline twin lake needs a baseline lake"):
        evaluate(on, snapshots, DAY, baseline_twin_lake=twin_off)

    argv = ["evaluate", "--snapshots", str(snapshots), "--date", DAY, "--twin-lake", str(twin), "--format", "json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["alpha"]["defenses"]["twin_gain_max"] == pytest.approx(7.5)
    assert main(argv[:-4] + ["--twin-lake", str(tmp_path / "nowhere")]) == 2
    assert "twin lake" in capsys.readouterr().err


def test_the_gain_measure_taken_for_ordinary_accounts_gives_its_noise(monkeypatch):
    """Ordinary o1..o4 (popularity e^1..e^4, influence 10..40) and one gamer; K = 2 nearest."""
    from kindling_dev import evaluate as ev

    monkeypatch.setattr(ev, "GAMER_BASELINE_K", 2)
    truth = pd.DataFrame(
        [
            dict(network="n", account_id=f"o{i}", role="account", account_type="person", popularity=math.exp(i))
            for i in range(1, 5)
        ]
        + [
            dict(network="n", account_id="g", role="account", account_type="person", popularity=math.exp(2.4)),
            dict(network="n", account_id="g", role="reply_gamer", account_type="person", popularity=math.exp(2.4)),
        ]
    )
    acc = pd.DataFrame({"account_id": ["o1", "o2", "o3", "o4", "g"], "influence": [10.0, 20.0, 30.0, 40.0, 31.0]})
    got = ev.gamer_gains(acc, truth)
    # the gamer: nearest o2 (0.4) and o3 (0.6), median 25, gain +6: mean and max 6, over 5
    assert got["gamer_gain_mean"] == pytest.approx(6.0) and got["gamer_target_met"] is False
    assert got["gamer_mean_target_met"] is False
    # o1: o2, o3 -> 25, -15; o2: o1, o3 (tie at 1, both) -> 20, 0; o3: o2, o4 -> 30, 0; o4: o3, o2 -> 25, +15
    assert got["ordinary_gain_mean"] == pytest.approx(0.0) and got["ordinary_gain_max"] == pytest.approx(15.0)
    assert got["ordinary_gain_p95"] == pytest.approx(float(np.percentile([-15, 0, 0, 15], 95)))


# --------------------------------------------------------------------------- sparks, shares and flags
#
# Network alpha. Planted sparks k1, k2, k3 (engaged once by "top1"); like_bot b1, reply_gamer g1,
# ring members r1 and r2; x1 is a planted expert, the rest have no planted role.
#
# Sparks: k1 is 50th globally (in the top 100); k2 150th and 101st of t1; k3 300th, 120th of t1
# and 7th of t2 (in a topic's top 100). One in the global top, one in a topic's: offenders k1, k3;
# best ranks: global 50 (k1), topic 7 (t2, k3).
#
# Global shares, damping 0.8, pagerank A 0.2, B 0.1, k1 0.1, C 0.25, D 0.01; the global top 100
# (rank <= 100) is A, B and k1. Edges (weight, out_weight of the source):
#   C -> k1 (1, 5):    0.8 * 0.25 * 1 / 5 = 0.04, of k1's 0.1: 0.4
#   C -> A  (1, 5):    0.04 of 0.2: 0.2;   B -> A (2, 8): 0.8 * 0.1 * 2 / 8 = 0.02 of 0.2: 0.1
#   A -> B  (1.5, 8):  0.8 * 0.2 * 1.5 / 8 = 0.03 of 0.1: 0.3
#   C -> D  (1, 5):    0.04 of 0.01: 4.0, but D (rank 500) is not in the top
#   max 0.4 (k1 <- C); above 0.25: k1 and B, 2 of 3.
# Topic shares (score_contributors, rows of a top 100 only): t1: A <- C 0.3, A <- B 0.1, B <- A 0.2;
#   t2: k3 <- top1 0.6; k3's row of t1 (120th) and the global rows (topic null) do not count.
#   Pairs in a top 100: (t1, A), (t1, B), (t2, A), (t2, k3): 4. Max 0.6 (t2: k3 <- top1); above
#   0.25: (t1, A) and (t2, k3), 2 pairs of 2 accounts.
# Flags: influence >= 40 are h1..h6 (unflagged), b1 45 (spam), r1 50 (ring), x1 60 (spam), x2 40.0
#   (ring): 10 accounts, x1 and x2 flagged but not planted: 2/10 = 0.2 (> 0.1, not met).
#   Below 40: r2 10 (ring), y1 5 (ring), g1 30 (none). Flagged: b1 r1 x1 x2 r2 y1, planted b1 r1 r2:
#   precision 3/6 = 0.5 (< 0.8, not met).

SPARK_RANKS = {"A": 1, "B": 2, "k1": 50, "k2": 150, "k3": 300, "C": 400, "D": 500}
SPARK_TOPIC_RANKS = {"t1": {"A": 1, "B": 2, "k2": 101, "k3": 120}, "t2": {"A": 1, "k3": 7}}
PAGERANK = {"A": 0.2, "B": 0.1, "k1": 0.1, "C": 0.25, "D": 0.01}
EDGES = [("C", "k1", 1.0, 5.0), ("C", "A", 1.0, 5.0), ("B", "A", 2.0, 8.0), ("A", "B", 1.5, 8.0), ("C", "D", 1.0, 5.0)]
CONTRIBUTORS = [
    ("t1", "A", "C", 0.3),
    ("t1", "A", "B", 0.1),
    ("t1", "B", "A", 0.2),
    ("t2", "k3", "top1", 0.6),
    ("t1", "k3", "top1", 0.9),
    (None, "A", "C", 0.99),
]
FLAGS = {
    "b1": (45.0, "spam"),
    "r1": (50.0, "ring"),
    "x1": (60.0, "spam"),
    "x2": (40.0, "ring"),
    "r2": (10.0, "ring"),
    "y1": (5.0, "ring"),
    "g1": (30.0, None),
    **{f"h{i}": (41.0 + i, None) for i in range(1, 7)},
}


def _spark_truth():
    def row(a, role, topic=None, engager=None, ring_id=None):
        return dict(
            network="alpha",
            account_id=a,
            role=role,
            topic=topic,
            level=0.5 if role == "expert" else None,
            propensity=0.1,
            ring_id=ring_id,
            account_type="person",
            popularity=1.0,
            post_rate=1.0,
            engager_id=engager,
        )

    everyone = sorted(set(SPARK_RANKS) | set(FLAGS) | {"top1"})
    rows = [row(a, "account") for a in everyone]
    rows += [row(k, "spark", "t1", "top1") for k in ("k1", "k2", "k3")]
    rows += [row("b1", "like_bot"), row("g1", "reply_gamer"), row("x1", "expert", "t1")]
    rows += [row(r, "ring_member", ring_id="alpha-ring-0") for r in ("r1", "r2")]
    return rows


def _write_spark_lake(lake, graph=True, base_share=True):
    free = iter(range(1000, 2000))
    rows = []
    for a in sorted(set(SPARK_RANKS) | set(FLAGS) | {"top1"}):
        influence, flag = FLAGS.get(a, (20.0, None))
        rows.append(
            dict(
                ACCOUNT_ROW,
                account_id=a,
                influence=influence,
                rank=SPARK_RANKS.get(a) or next(free),
                spam_flag=flag == "spam",
                ring_flag=flag == "ring",
                ring_id="ring-r1" if flag == "ring" else None,
            )
        )
    _write(lake, "account_scores", "alpha", rows)
    _write(
        lake,
        "topic_scores",
        "alpha",
        [
            dict(TOPIC_ROW, topic=t, account_id=a, rank_in_topic=r)
            for t, by in SPARK_TOPIC_RANKS.items()
            for a, r in by.items()
        ],
    )
    contributors = [
        dict(CONTRIBUTOR_ROW, topic=t, account_id=a, contributor_id=c, share=x) for t, a, c, x in CONTRIBUTORS
    ]
    _write(lake, "score_contributors", "alpha", contributors, drop=() if base_share else ("base_share",))
    if graph:
        _write(
            lake,
            "graph_vertices",
            "alpha",
            [
                dict(
                    id=a,
                    handle=None,
                    pagerank=p,
                    influence=20.0,
                    in_flow=0.0,
                    base=p,
                    base_share=1.0,
                    out_weight=1.0,
                    damping=0.8,
                    run_id="r",
                )
                for a, p in PAGERANK.items()
            ],
        )
        _write(
            lake,
            "graph_edges",
            "alpha",
            [
                dict(
                    src=s,
                    dst=d,
                    weight=w,
                    flow_weight=w,
                    norm_weight=w,
                    out_weight=o,
                    events=1,
                    kinds="like=1",
                    topic_factors=None,
                    offtopic_factor=0.1,
                    run_id="r",
                )
                for s, d, w, o in EDGES
            ],
        )


@pytest.fixture
def spark_world(tmp_path, monkeypatch):
    lake, snapshots = tmp_path / "lake", tmp_path / "snapshots"
    _write_spark_lake(lake)
    snapshots.mkdir()
    pq.write_table(pa.Table.from_pylist(_spark_truth(), schema=GROUND_TRUTH_SCHEMA), snapshots / "ground_truth.parquet")
    monkeypatch.setenv("KINDLING_LAKE", str(lake))
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return lake, snapshots


def test_sparks_in_the_top_100s(spark_world):
    lake, snapshots = spark_world
    s = evaluate(lake, snapshots, DAY)["alpha"]["sparks"]
    assert (s["sparks_planted"], s["sparks_scored"], s["sparks_in_global_top"], s["sparks_in_topic_top"]) == (
        3,
        3,
        1,
        1,
    )
    assert (s["best_global_rank"], s["best_global_account"]) == (50, "k1")
    assert (s["best_topic_rank"], s["best_topic"], s["best_topic_account"]) == (7, "t2", "k3")
    assert s["target_met"] is False
    # k1's global in-flow is C's (top1 has no edge to it): nothing to take away; k3 keeps 7th on t2
    # without top1's 0.6 (A, above it, is the board's only other account): neither is there by its spark
    assert s["offenders"] == [
        {
            "account_id": "k1",
            "engager_id": "top1",
            "global_rank": 50,
            "topics": [],
            "global_without": {"engager_share": 0.0, "rank_without": 50},
        },
        {
            "account_id": "k3",
            "engager_id": "top1",
            "global_rank": None,
            "topics": [{"topic": "t2", "rank_in_topic": 7, "engager_share": 0.6, "rank_without": 7}],
        },
    ]
    assert s["sparks_lifted"] == 0 and s["lifted_target_met"] is True


def test_the_sparks_peers_on_the_boards_on_their_own_evidence(spark_world):
    """The peers: persons with no planted role but ``account`` (the sparks' pool less the sparks),
    at most the median popularity and posting rate. All at 1.0 here: A B C D x2 y1 h1..h6 top1
    (13; b1 g1 x1 r1 r2 have roles). A and B are 1st and 2nd globally and on t1 (A on t2 too)."""
    lake, snapshots = spark_world
    s = evaluate(lake, snapshots, DAY)["alpha"]["sparks"]
    assert s["peers"] == {"peers": 13, "peers_in_global_top": 2, "peers_in_topic_top": 2}
    text = " ".join(format_report(evaluate(lake, snapshots, DAY)).split())
    assert (
        "their 13 unplanted peers (the sparks' pool: quiet, unpopular persons) on their own evidence: "
        "2 (15%) in a topic's top 100, 2 (15%) in the global top 100 (against 33% of the sparks"
    ) in text
    # above the median popularity (A) or posting rate (B) is out of the pool; the medians are over
    # the pool's persons, sparks included (all 1.0 but these two: still 1.0)
    truth = pq.read_table(snapshots / "ground_truth.parquet").to_pandas()
    truth.loc[truth["account_id"] == "A", "popularity"] = 5.0
    truth.loc[truth["account_id"] == "B", "post_rate"] = 5.0
    truth.loc[truth["account_id"] == "C", "account_type"] = "organization"
    pq.write_table(
        pa.Table.from_pandas(truth, schema=GROUND_TRUTH_SCHEMA, preserve_index=False),
        snapshots / "ground_truth.parquet",
    )
    s = evaluate(lake, snapshots, DAY)["alpha"]["sparks"]
    assert s["peers"] == {"peers": 10, "peers_in_global_top": 0, "peers_in_topic_top": 0}
    # a ground truth from before post_rate: no peers figure, the rest as before
    pq.write_table(
        pa.Table.from_pandas(truth.drop(columns="post_rate"), preserve_index=False), snapshots / "ground_truth.parquet"
    )
    s = evaluate(lake, snapshots, DAY)["alpha"]["sparks"]
    assert s["peers"] is None and s["sparks_in_topic_top"] == 1
    assert "unplanted peers" not in format_report(evaluate(lake, snapshots, DAY))


def test_the_same_world_without_sparks_says_which_spark_its_spark_lifted(spark_world, tmp_path, capsys):
    """--no-sparks-lake: the same lake but k1 150th globally (out of the top 100: lifted) and k3 9th
    on t2 (still in: not lifted). Then k3 with expertise 0 on t2 there (unranked: lifted too), and
    a no-sparks lake without the date is an error naming it. Expertise 0 alone does not take an
    account off a board: far down a board a recognised account's expertise clamps at 0."""
    lake, snapshots = spark_world
    ns = tmp_path / "nosparks"
    _write_spark_lake(ns)
    folder = ns / "tables" / "account_scores" / f"dt={DAY}" / "network=alpha"
    acc = pq.read_table(folder).to_pandas()
    acc.loc[acc["account_id"] == "k1", "rank"] = 150
    pq.write_table(
        pa.Table.from_pandas(acc, schema=schemas.table("account_scores").arrow_schema(), preserve_index=False),
        next(folder.glob("*.parquet")),
    )
    topics = ns / "tables" / "topic_scores" / f"dt={DAY}" / "network=alpha"
    ts = pq.read_table(topics).to_pandas()
    ts.loc[(ts["account_id"] == "k3") & (ts["topic"] == "t2"), "rank_in_topic"] = 9
    schema = schemas.table("topic_scores").arrow_schema()
    pq.write_table(pa.Table.from_pandas(ts, schema=schema, preserve_index=False), next(topics.glob("*.parquet")))

    ts.loc[(ts["account_id"] == "k3") & (ts["topic"] == "t2"), "expertise"] = 0.0  # recognised, clamped
    pq.write_table(pa.Table.from_pandas(ts, schema=schema, preserve_index=False), next(topics.glob("*.parquet")))
    s = evaluate(lake, snapshots, DAY, no_sparks_lake=ns)["alpha"]["sparks"]
    k1, k3 = s["offenders"]
    assert (k1["account_id"], k1["global_no_spark_rank"]) == ("k1", 150)
    assert k3["topics"][0]["topic"] == "t2" and k3["topics"][0]["no_spark_rank"] == 9
    assert s["world_lifted"] == 1 and s["world_lifted_target_met"] is False
    assert s["sparks_lifted"] == 0  # the first-order estimate missed it (k1's in-flow is C's, not top1's)
    text = " ".join(format_report(evaluate(lake, snapshots, DAY, no_sparks_lake=ns)).split())
    assert (
        "1 there by their spark: out of a top 100 in the same world without sparks (--no-sparks-lake; target 0: no)"
    ) in text
    assert "k1 (global: 50, 50 without 0.00, 150 with no spark)" in text
    assert "k3 (t2: 7, 7 without 0.60, 9 with no spark)" in text
    assert main(["evaluate", "--snapshots", str(snapshots), "--date", DAY, "--no-sparks-lake", str(ns)]) == 0
    out = capsys.readouterr().out
    assert "1 there by their spark: out of a top 100 in the same world" in out
    assert max(len(line) for line in out.splitlines()) <= 80

    ts.loc[(ts["account_id"] == "k3") & (ts["topic"] == "t2"), "recognition"] = 0.0
    pq.write_table(pa.Table.from_pandas(ts, schema=schema, preserve_index=False), next(topics.glob("*.parquet")))
    s = evaluate(lake, snapshots, DAY, no_sparks_lake=ns)["alpha"]["sparks"]
    assert s["offenders"][1]["topics"][0]["no_spark_rank"] is None and s["world_lifted"] == 2
    assert "t2: 7, 7 without 0.60, unranked with no spark" in " ".join(
        format_report(evaluate(lake, snapshots, DAY, no_sparks_lake=ns)).split()
    )
    # without the option nothing of it is reported
    assert "world_lifted" not in evaluate(lake, snapshots, DAY)["alpha"]["sparks"]
    with pytest.raises(LookupError, match="no-sparks lake"):
        evaluate(lake, snapshots, DAY, no_sparks_lake=tmp_path / "empty")


def test_a_spark_its_engagement_lifted_into_a_top_100(spark_world):
    """Board t3: 150 accounts, topic_rank 1.0 for the 1st down to 0.851 for the 150th (0.001 a
    place); spark k2 is 100th (0.901) with 0.3 of it from top1. Without it k2 keeps 0.6307 and the
    50 accounts below it (0.9 .. 0.851) all stay above: 150th, out of the top 100. k3 is 101st of
    t3 (not in the top) and 7th of t2 as before."""
    lake, snapshots = spark_world
    others = iter(f"o{i}" for i in range(200))
    rows = [
        dict(
            TOPIC_ROW,
            topic="t3",
            account_id="k2" if r == 100 else ("k3" if r == 101 else next(others)),
            topic_rank=1.0 - 0.001 * (r - 1),
            rank_in_topic=r,
            recognizers=3,
        )
        for r in range(1, 151)
    ]
    _write(lake, "topic_scores", "alpha", rows, part=1)
    contrib = [dict(CONTRIBUTOR_ROW, topic="t3", account_id="k2", contributor_id="top1", share=0.3, base_share=0.5)]
    _write(lake, "score_contributors", "alpha", contrib, part=1)
    s = evaluate(lake, snapshots, DAY)["alpha"]["sparks"]
    assert s["sparks_in_topic_top"] == 2
    k2 = next(o for o in s["offenders"] if o["account_id"] == "k2")
    assert k2["topics"] == [{"topic": "t3", "rank_in_topic": 100, "engager_share": 0.3, "rank_without": 150}]
    assert s["sparks_lifted"] == 1 and s["lifted_target_met"] is False
    text = " ".join(format_report(evaluate(lake, snapshots, DAY)).split())
    assert "1 there by their spark: out of the top 100 without it (target 0: no)" in text
    assert "t3: 100, 150 without 0.30" in text


def test_rank_without_counts_only_the_accounts_below_that_it_falls_under():
    board = pd.DataFrame(
        {"account_id": ["a", "b", "c", "d", "e"], "rank": [1, 2, 3, 4, 5], "score": [0.5, 0.4, 0.3, 0.2, 0.1]}
    )
    assert rank_without(board, "b", 0.0) == 2
    assert rank_without(board, "b", 0.3) == 3  # keeps 0.28: under c (0.3), above d
    assert rank_without(board, "b", 0.9) == 5  # keeps 0.04: under c, d and e; a, above, not counted twice
    assert rank_without(board, "e", 0.5) == 5  # the last stays last


def test_largest_single_contributor_shares(spark_world):
    lake, snapshots = spark_world
    sh = evaluate(lake, snapshots, DAY)["alpha"]["shares"]
    assert (sh["top"], sh["cap"]) == (100, 0.25)
    assert sh["global_published"] is True and sh["global_accounts"] == 3
    assert sh["global_max_share"] == pytest.approx(0.4)
    assert (sh["global_max_account"], sh["global_max_contributor"], sh["global_over"]) == ("k1", "C", 2)
    assert sh["topic_published"] is True and sh["topic_pairs"] == 4
    assert sh["topic_max_share"] == pytest.approx(0.6)
    assert (sh["topic_max_topic"], sh["topic_max_account"], sh["topic_max_contributor"]) == ("t2", "k3", "top1")
    assert (sh["topic_over"], sh["topic_over_accounts"]) == (2, 2)


def test_flagged_share_and_flag_precision(spark_world):
    lake, snapshots = spark_world
    f = evaluate(lake, snapshots, DAY)["alpha"]["flags"]
    assert f["flag_columns"] == ["spam_flag", "ring_flag"]
    assert (f["accounts_high"], f["flagged_high"], f["flagged_unplanted_high"]) == (10, 4, 2)
    assert f["flagged_unplanted_share"] == pytest.approx(0.2) and f["flagged_unplanted_target_met"] is False
    assert f["flagged_unplanted_roles"] == {"account": 1, "expert": 1}
    assert (f["flagged"], f["flagged_planted"], f["flag_precision"]) == (6, 3, 0.5)
    assert f["flag_precision_target_met"] is False


def test_the_report_lists_sparks_shares_and_flags(spark_world, capsys):
    lake, snapshots = spark_world
    got = evaluate(lake, snapshots, DAY)
    text = format_report(got)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "  sparks (3 planted, 3 scored): 1 in the global top 100,\n" in text
    assert "    1 in a topic's top 100 (target 0: no); best rank: global 50, topic 7\n" in text
    assert "    0 there by their spark: out of the top 100 without it (target 0: yes)\n" in text
    assert (
        "in a top 100 (rank, rank without the engager's share): k1 (global: 50, 50 without 0.00); "
        "k3 (t2: 7, 7 without 0.60)"
    ) in " ".join(text.split())
    assert "  largest share of a score from one contributor (cap 0.25):\n" in text
    assert "    global top 100: max 0.400, 2 of 3 accounts above 0.25\n      k1 <- C\n" in text
    assert "    topics' top 100: max 0.600, 2 of 4 (topic, account) above 0.25\n      t2: k3 <- top1\n" in text
    assert "    influence >= 40: 2 of 10 flagged, not planted: 0.200 (<= 0.1: no)\n" in text
    assert "    precision 0.500: 3 of 6 flagged accounts planted (>= 0.8: no)\n" in text
    assert "      flagged, not planted, by role: account 1, expert 1" in text
    assert main(["evaluate", "--snapshots", str(snapshots), "--date", DAY, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["alpha"]["sparks"]["offenders"][0]["account_id"] == "k1"


def test_a_lake_without_the_graph_tables_says_not_published(spark_world, tmp_path):
    _, snapshots = spark_world
    old = tmp_path / "old"
    _write_spark_lake(old, graph=False, base_share=False)  # before graph_* and score_contributors.base_share
    got = evaluate(old, snapshots, DAY)["alpha"]
    sh = got["shares"]
    assert sh["global_published"] is False and sh["global_max_share"] is None
    assert sh["topic_published"] is False and sh["topic_max_share"] is None
    assert got["sparks"]["sparks_in_global_top"] == 1 and got["flags"]["flagged"] == 6  # the rest is there
    text = format_report({"alpha": got})
    assert "    global top 100: not published (no graph_edges, graph_vertices)" in text
    assert "    topics' top 100: not published (score_contributors with base_share)" in text
    # no account_scores, no spark in the ground truth: no global figures, no flags, nothing planted
    lake = tmp_path / "topics_only"
    _write(
        lake,
        "topic_scores",
        "alpha",
        [dict(TOPIC_ROW, account_id="k1", interest=1.0, topic_rank=0.1)],
    )
    got = evaluate(lake, snapshots, DAY)["alpha"]
    assert got["flags"] is None and got["sparks"]["sparks_in_global_top"] is None
    assert got["sparks"]["sparks_in_topic_top"] == 1 and got["sparks"]["target_met"] is False
    assert "  sparks (3 planted): n/a in the global top 100," in format_report({"alpha": got})
    truth = pq.read_table(snapshots / "ground_truth.parquet").drop_columns(["engager_id"]).to_pandas()
    pq.write_table(
        pa.Table.from_pandas(truth[truth.role != "spark"], preserve_index=False), snapshots / "ground_truth.parquet"
    )
    got = evaluate(lake, snapshots, DAY)["alpha"]
    assert got["sparks"]["sparks_planted"] == 0 and got["sparks"]["target_met"] is None
    assert "  sparks: none planted" in format_report({"alpha": got})
