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

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import spearmanr

import schemas
from kindling.cli import main
from kindling.evaluate import evaluate, format_report, spearman
from kindling.generate import GROUND_TRUTH_SCHEMA

DAY = "2026-11-25"

T1_EXPERTS = {"e1": 0.9, "e2": 0.7, "e3": 0.3}
T2_EXPERTS = {"x00": 1.0, "x05": 0.5, "x55": 0.8, "x99": 0.4}
T2_OWN_LOUD = ["x50", "x51", "x52", "x53", "x54", "x56"]


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
    base = dict(handle=None, account_type="person", topic_rank=0.01, recognizers=1, recognition=1.0, own_posts=1,
                own_engagements=0, expertise_change=None, run_id="r")
    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))
    return [dict(base, topic=topic, account_id=a, expertise=e, interest=i, rank_in_topic=ordered.index((a, e, i)) + 1,
                 account_type=TYPES.get(a, "person"))
            for a, e, i in rows]


TYPES = {"n2": "organization"}


def _truth(network, account_id, role, topic=None, level=None):
    return dict(network=network, account_id=account_id, role=role, topic=topic, level=level,
                propensity=PROPENSITY.get(account_id, 0.1), ring_id=None, account_type=TYPES.get(account_id, "person"),
                popularity=1.0, post_rate=1.0)


@pytest.fixture
def world(tmp_path, monkeypatch):
    lake, snapshots = tmp_path / "lake", tmp_path / "snapshots"
    scores = {
        "alpha": _topic_scores("t1", _t1_rows()) + _topic_scores("t2", _t2_rows())
        + _topic_scores("parent", [("e1", 95.0, 1.0), ("x10", 99.0, 99.0)]),  # scored, never planted
        "beta": _topic_scores("t1", [("n1", 90.0, 1.0), ("e1", 10.0, 1.0)]),
        "gamma": _topic_scores("t1", [("e1", 90.0, 1.0)]),
    }
    schema = schemas.table("topic_scores").arrow_schema()
    for net, rows in scores.items():
        folder = lake / "tables" / "topic_scores" / f"dt={DAY}" / f"network={net}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-0.parquet")

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
    assert (b["topics_evaluated"], b["planted_experts"], b["precision_at_10"], b["hits_per_k_at_10"]) == (1, 1, 1.0, 0.1)
    assert b["own_loud_recall_top_interest_mean"] is None and b["loud_share_top_interest_max"] == 0.0


# responsiveness per account of alpha: (responsiveness, asks); everyone else 0.25 with no asks
RESPONSIVENESS = {"e1": (0.05, 10), "e2": (0.9, 10), "e3": (0.8, 10), "n9": (0.5, 2), "x10": (0.3, 6)}
PROPENSITY = {"e1": 0.0, "e2": 0.9, "e3": 0.7, "n9": 0.4, "x10": 0.6}


def _account_scores(lake, accounts):
    base = dict(handle=None, pagerank=0.01, influence=20.0, rank=1, percentile=0.0, in_weight=0.0, out_weight=0.0,
                influence_change=None, trust_rank=None, spam_mass=None, spam_flag=False, answered=0, answer_hours_median=None, run_id="r")
    rows = [dict(base, account_id=a, account_type=TYPES.get(a, "person"),
                 responsiveness=RESPONSIVENESS.get(a, (0.25, 0))[0], asks=RESPONSIVENESS.get(a, (0.25, 0))[1])
            for a in sorted(accounts)]
    folder = lake / "tables" / "account_scores" / f"dt={DAY}" / "network=alpha"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schemas.table("account_scores").arrow_schema()),
                   folder / "part-0.parquet")


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
