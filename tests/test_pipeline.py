"""The daily run end to end, in-process on the shared SparkSession.

A small generated snapshot set (2 networks, 3 days) goes through every step;
the published rows are checked, a rerun of the same date must give the same
rows, and a corrupted day must fail the gate and leave every published file
byte-identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kindling.core.settings import load_settings
from kindling.gates.quality import QualityError
from kindling.ingest.taxonomy import ROOT, load_taxonomy
from kindling.pipeline.steps import run_day
from kindling.storage.lake import Lake
from kindling_dev import generate

END = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("snapshots")
    generate.generate(out, accounts=300, days=3, networks=("alpha", "beta"), seed=5, end_date=END)
    # one row-level fault on alpha's last day: quarantined, and the day still publishes
    path = out / "network=alpha" / f"dt={END}" / "interactions.parquet"
    t = pq.read_table(path).to_pylist()
    t[4]["kind"] = "poke"  # row 5 of the file
    pq.write_table(pa.Table.from_pylist(t, schema=pq.read_schema(path)), path)
    return out


def _settings(tmp_path: Path, source: Path):
    return load_settings(env={}, source=str(source), lake=str(tmp_path / "lake"), spark_shuffle_partitions=2, tol=1e-8)


def published_rows(lake: Path, day: dt.date, table: str = "account_scores") -> list[dict]:
    root = Lake(lake).published(table, day)
    rows = []
    for f in sorted(root.glob("network=*/*.parquet")):
        net = f.parent.name.split("=", 1)[1]
        for r in pq.read_table(f).to_pylist():
            r.pop("run_id")
            rows.append({**r, "network": net})
    return sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))


def assert_same_rows(got: list[dict], want: list[dict]) -> None:
    """Equal rows: everything exact except floats, which may differ in their last bits.

    Spark does not fix the order in which it adds the partial sums of a shuffle, so a rerun's
    PageRank can differ by an ulp (seen: 0.0011162955149438861 against ...886). Ids, ranks,
    counts, strings and rounded scores must match exactly.
    """
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k in g:
            if isinstance(w[k], float) and isinstance(g[k], float):
                assert g[k] == pytest.approx(w[k], rel=1e-12, abs=1e-15), (k, g, w)
            else:
                assert g[k] == w[k], (k, g, w)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (following the published links) -> sha256."""
    out = {}
    for dirpath, _dirs, files in os.walk(root, followlinks=True):
        for name in files:
            p = Path(dirpath) / name
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_run_publishes_scores_and_rerun_is_identical(spark, tmp_path, snapshots):
    s = _settings(tmp_path, snapshots)
    run1 = run_day(s, END, spark=spark, log=lambda m: None)
    first = published_rows(tmp_path / "lake", END)
    nets = {r["network"] for r in first}
    assert nets == {"alpha", "beta"}
    for net in nets:
        rows = [r for r in first if r["network"] == net]
        assert len(rows) == 300
        assert sum(r["pagerank"] for r in rows) == pytest.approx(1.0, abs=1e-6)
        assert sorted(r["rank"] for r in rows) == list(range(1, 301))
        top = min(rows, key=lambda r: r["rank"])
        assert top["pagerank"] == max(r["pagerank"] for r in rows)
        assert all(0.0 <= r["influence"] <= 100.0 for r in rows)
        # influence is monotone in pagerank
        by_pr = sorted(rows, key=lambda r: r["pagerank"])
        assert all(a["influence"] <= b["influence"] for a, b in zip(by_pr, by_pr[1:], strict=False))

    quarantine = published_rows(tmp_path / "lake", END, "quarantine")
    assert [(r["network"], r["input_table"], r["source_row"], r["column"], r["value"]) for r in quarantine] == [
        ("alpha", "interactions", 5, "kind", "poke")
    ]
    assert quarantine[0]["source_file"] == f"raw/network=alpha/dt={END}/interactions.parquet"
    assert quarantine[0]["reason"].startswith("not one of")

    topics = published_rows(tmp_path / "lake", END, "topic_scores")
    contrib = published_rows(tmp_path / "lake", END, "score_contributors")
    listed = published_rows(tmp_path / "lake", END, "topics")
    _check_topics_table(topics, listed, nets)
    for net in nets:
        trows = [r for r in topics if r["network"] == net]
        assert len({r["topic"] for r in trows}) >= 3
        for t in {r["topic"] for r in trows}:
            rows = sorted((r for r in trows if r["topic"] == t), key=lambda r: r["rank_in_topic"])
            assert [r["rank_in_topic"] for r in rows] == list(range(1, len(rows) + 1))
            # expertise is the fixed log mapping of topic_rank: monotone within a topic
            assert all(a["expertise"] >= b["expertise"] for a, b in zip(rows, rows[1:], strict=False))
            assert all(r["recognizers"] > 0 or r["own_posts"] + r["own_engagements"] > 0 for r in rows)
        crows = [r for r in contrib if r["network"] == net]
        assert {r["topic"] for r in crows if r["topic"]} <= {r["topic"] for r in trows}
        assert any(r["topic"] is None for r in crows)  # the global score is explained too
        per = {}
        for r in crows:
            per.setdefault((r["topic"], r["account_id"]), []).append(r)
        for rows in per.values():
            # shares of the score: up to 10 shares rounded to 6 decimals, and the teleport's base share
            assert len({r["base_share"] for r in rows}) == 1
            assert 0 < sum(r["share"] for r in rows) <= 1 - rows[0]["base_share"] + 1e-5
            assert sorted(r["contributor_rank"] for r in rows) == list(range(1, len(rows) + 1))
            assert all(r["events"] > 0 and "=" in r["kinds"] for r in rows)

    # the day's graph: every scored account a vertex, every edge between two of them, shares that add up
    vertices = published_rows(tmp_path / "lake", END, "graph_vertices")
    graph = published_rows(tmp_path / "lake", END, "graph_edges")
    for net in nets:
        v = {r["id"]: r for r in vertices if r["network"] == net}
        assert set(v) == {r["account_id"] for r in first if r["network"] == net}
        assert sum(r["pagerank"] for r in v.values()) == pytest.approx(1.0, abs=1e-6)
        e = [r for r in graph if r["network"] == net]
        assert e and all(
            r["src"] in v and r["dst"] in v and 0 <= r["flow_weight"] <= r["weight"] <= r["norm_weight"] for r in e
        )
        assert any(r["flow_weight"] < r["weight"] for r in e)  # the spark cap held some flow
        flows = {}
        for r in e:
            flow = v[r["src"]]["damping"] * v[r["src"]]["pagerank"] * r["flow_weight"] / r["out_weight"]
            assert flow <= 0.25 * v[r["dst"]]["pagerank"] * (1 + 1e-9)  # no contributor above spark_max_share
            flows[r["dst"]] = flows.get(r["dst"], 0.0) + flow
        for a, r in v.items():
            assert flows.get(a, 0.0) / r["pagerank"] + r["base_share"] == pytest.approx(1.0, abs=1e-9)
        bases = [r["base"] for r in v.values()]
        assert max(bases) - min(bases) < 0.01 * max(
            bases
        )  # the global teleport is uniform (up to convergence, tol 1e-8)

    run2 = run_day(s, END, spark=spark, log=lambda m: None)
    assert run2 != run1
    assert_same_rows(published_rows(tmp_path / "lake", END), first)
    assert_same_rows(published_rows(tmp_path / "lake", END, "topic_scores"), topics)
    assert_same_rows(published_rows(tmp_path / "lake", END, "score_contributors"), contrib)
    assert_same_rows(published_rows(tmp_path / "lake", END, "graph_vertices"), vertices)
    assert_same_rows(published_rows(tmp_path / "lake", END, "graph_edges"), graph)
    assert published_rows(tmp_path / "lake", END, "quarantine") == quarantine
    assert_same_rows(published_rows(tmp_path / "lake", END, "topics"), listed)
    # one immutable version per published day; the old one is gone
    versions = list(Lake(tmp_path / "lake").versions("account_scores", END).iterdir())
    assert [v.name for v in versions] == [run2]
    runs = pq.read_table(str(Lake(tmp_path / "lake").table("runs"))).to_pylist()
    assert sorted(r["status"] for r in runs) == ["published", "published"]
    assert not Lake(tmp_path / "lake").staging(run1).exists()
    assert "Score distributions" in Lake(tmp_path / "lake").report(END).read_text()  # the report step ran


def _corrupt_interactions(src_day: Path) -> None:
    """Above the 1% quarantine limit: row 7 of an unknown kind, every 25th from row 10 dangling."""
    path = src_day / "interactions.parquet"
    t = pq.read_table(path).to_pylist()
    t[6]["kind"] = "superlike"  # row 7 of the file
    for i in range(9, len(t), 25):
        t[i]["target_id"] = "nobody-knows-me"
    pq.write_table(pa.Table.from_pylist(t, schema=pq.read_schema(path)), path)


def _check_topics_table(topic_scores: list[dict], listed: list[dict], nets: set[str]) -> None:
    """Every board of topic_scores is listed with its accounts, the folded topics point to boards,
    and no two boards are the same (a parent with one active child is folded into it)."""
    tax = load_taxonomy()
    for net in nets:
        mine = {r["topic"]: r for r in listed if r["network"] == net}
        assert len(mine) == len([r for r in listed if r["network"] == net])
        scored = Counter(r["topic"] for r in topic_scores if r["network"] == net)
        boards = {t for t, r in mine.items() if r["same_as"] is None}
        folded = {t: r["same_as"] for t, r in mine.items() if r["same_as"] is not None}
        assert boards == set(scored)
        assert {t: mine[t]["accounts"] for t in boards} == dict(scored)
        assert folded and set(folded.values()) <= boards
        assert all(mine[t]["accounts"] == scored[b] for t, b in folded.items())
        # here every fold is a parent whose posts are all on one descendant
        assert all(t in tax.ancestors(b) for t, b in folded.items()), folded
        for t, r in mine.items():
            assert r["display_name"] == tax.display_name(t)
            assert r["parent"] == (",".join(p for p in tax.parents.get(t, ()) if p != ROOT) or None)
        boards_rows = {
            t: frozenset(
                (r["account_id"], r["expertise"], r["interest"], r["recognizers"], r["own_posts"])
                for r in topic_scores
                if r["network"] == net and r["topic"] == t
            )
            for t in boards
        }
        assert len(set(boards_rows.values())) == len(boards)  # every board published once


def test_corrupted_day_fails_gate_and_leaves_published_data_untouched(spark, tmp_path, snapshots):
    src = tmp_path / "src"
    shutil.copytree(snapshots, src)
    s = _settings(tmp_path, src)
    day1 = END - dt.timedelta(days=1)
    run_day(s, day1, spark=spark, log=lambda m: None)
    tables = tmp_path / "lake" / "tables"
    before = tree_digest(tables)
    assert any("account_scores" in k for k in before)

    _corrupt_interactions(src / "network=beta" / f"dt={END}")
    with pytest.raises(QualityError) as err:
        run_day(s, END, spark=spark, log=lambda m: None)
    msg = str(err.value)
    assert "network=beta" in msg and "interactions.parquet" in msg
    assert "quarantine_max_share" in msg
    assert "kind" in msg and "row 7" in msg and "superlike" in msg
    assert "target_id" in msg and "nobody-knows-me" in msg and "row 10" in msg

    after = tree_digest(tables)
    # the only new file is the failed run's row in the runs table
    new = set(after) - set(before)
    assert all(k.startswith(f"runs/dt={END}/") and k.endswith("-failed.parquet") for k in new), new
    assert {k: after[k] for k in before} == before
    assert not Lake(tmp_path / "lake").published("account_scores", END).exists()
    failed = pq.read_table(str(tables / "runs" / f"dt={END}")).to_pylist()
    assert failed[0]["status"] == "failed" and failed[0]["failed_step"] == "audit-in"
