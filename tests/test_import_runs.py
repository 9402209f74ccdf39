"""Importers and gates agree: what ``kindling import snap-edgelist`` writes from a well-formed edge
list passes the input gates on the defaults and publishes, day by day.

The Higgs Twitter reply layer in ``../shared/data`` (32,523 weighted edges, 343 self-loops, one
day), on the shared SparkSession with the embedded defaults (only the lake, the source and the
shuffle partitions set).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from kindling.core.settings import load_settings
from kindling.ingest import importer as I
from kindling.pipeline.backfill import backfill
from kindling.pipeline.jars import find_beside
from kindling.pipeline.steps import run_day
from kindling.serving.query import runs
from kindling.storage.lake import Lake

HIGGS, LOOKED = find_beside(Path("shared") / "data" / "higgs-twitter" / "higgs-reply_network.edgelist")


def _settings(tmp_path):
    return load_settings(
        env={}, source=str(tmp_path / "snapshots"), lake=str(tmp_path / "lake"), spark_shuffle_partitions=2
    )


def _gate(lake: Lake, run_id: str, network: str) -> dict:
    return json.loads((lake.run_dir(run_id) / "state" / "quality-in.json").read_text())[network]


def test_the_higgs_reply_network_imports_and_publishes_on_the_defaults(spark, tmp_path):
    assert HIGGS is not None, f"the Higgs reply edge list (shared/data/higgs-twitter) is not {LOOKED}"
    day = dt.date(2012, 7, 4)
    summary = I.import_snap_edgelist(HIGGS, "higgs", "reply", tmp_path / "snapshots", date=day)
    assert (summary["edges"], summary["self_loops"], summary["third"]) == (32523, 343, "weight")
    settings = _settings(tmp_path)
    run_id = run_day(settings, day, spark=spark, log=lambda m: None)

    lake = Lake(settings.lake)
    gate = _gate(lake, run_id, "higgs")
    assert gate["success"] and gate["failed"] == []
    self_interactions = sum(1 for _ in _self_rows(tmp_path / "snapshots", "higgs", day))
    assert self_interactions >= 343  # a weighted self-loop is that many interactions
    assert any(n.startswith(f"interactions: {self_interactions} of {summary['interactions']} ") for n in gate["notes"])
    scores = pq.read_table(lake.published("account_scores", day) / "network=higgs").to_pandas()
    assert len(scores) == summary["accounts"]
    assert scores["pagerank"].sum() == pytest.approx(1.0, abs=1e-6)
    (row,) = runs(settings.lake, date=day.isoformat())
    assert row["status"] == "published"


def _self_rows(snapshots: Path, network: str, day: dt.date):
    t = pq.read_table(
        snapshots / f"network={network}" / f"dt={day}" / "interactions.parquet", columns=["actor_id", "target_id"]
    ).to_pylist()
    return [r for r in t if r["actor_id"] == r["target_id"]]


START = dt.date(2024, 3, 1)
DAYS = 7


def _history(path: Path) -> dict[dt.date, int]:
    """A timestamped edge list over DAYS days; returns the edge lines per day."""
    rng = np.random.default_rng(7)
    lines, per_day = ["# src dst unix_ts"], {}
    for k in range(DAYS):
        day = START + dt.timedelta(days=k)
        t0 = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
        if k == 4:  # a day of one edge, and it is someone answering themselves
            edges = [(17, 17)]
        else:
            n = 150 if k == 5 else int(rng.integers(30, 50))  # day 6: a busy day, about 4x the median
            src = rng.integers(0, 200, n)
            dst = np.where(
                rng.random(n) < 0.1, rng.integers(1000, 1040, n), rng.integers(0, 200, n)
            )  # 1000+: targets only
            loops = rng.random(n) < 0.04
            dst[loops] = src[loops]
            edges = list(zip(src.tolist(), dst.tolist(), strict=True))
            edges += edges[:3]  # repeated edges
        ts = sorted(rng.integers(t0, t0 + 86400, len(edges)).tolist())
        lines += [f"{a}\t{b}\t{t}" for (a, b), t in zip(edges, ts, strict=True)]
        per_day[day] = len(edges)
    path.write_text("\n".join(lines) + "\n")
    return per_day


def test_an_imported_history_runs_its_last_day_then_backfills_every_day(spark, tmp_path):
    per_day = _history(tmp_path / "history.txt")
    summary = I.import_snap_edgelist(tmp_path / "history.txt", "qa", "reply", tmp_path / "snapshots")
    assert summary["third"] == "timestamp" and len(summary["days"]) == DAYS and summary["self_loops"] > 0
    settings = _settings(tmp_path)
    last = START + dt.timedelta(days=DAYS - 1)

    run_day(settings, last, spark=spark, log=lambda m: None)  # `kindling run` on the last day: admits the window
    with open(tmp_path / "progress.txt", "w") as progress:
        results = backfill(settings, START, last, spark=spark, stream=progress)

    assert [(r.day, r.status) for r in results] == [
        (START + dt.timedelta(days=k), "skipped" if k == DAYS - 1 else "published") for k in range(DAYS)
    ], [(r.day, r.error) for r in results if r.status == "failed"]
    lake = Lake(settings.lake)
    assert lake.published_dates("account_scores") == sorted(per_day)
    for d in per_day:
        scores = pq.read_table(lake.published("account_scores", d) / "network=qa", columns=["account_id"])
        assert scores.num_rows == summary["accounts"]

    def gate(day):
        (row,) = [r for r in runs(settings.lake, date=day.isoformat()) if r["status"] == "published"]
        return _gate(lake, row["run_id"], "qa")

    quiet, busy = gate(START + dt.timedelta(days=4)), gate(START + dt.timedelta(days=5))
    # the lone self-loop is 100% of its day: over the 50% limit, on one row no evidence of anything
    assert any(
        "1 of 1 interactions (100.00%) are self-interactions" in w and "not significant" in w for w in quiet["warnings"]
    ), quiet
    # a day of 1 interaction after four days near 40: outside the band and significant, but the import's
    # manifest accounts for every row, so it is a real change in activity: reported
    assert any(
        "interactions.*: 1 rows against a median of" in w
        and "significant: p =" in w
        and "manifest accounts for every row" in w
        for w in quiet["warnings"]
    ), quiet
    # 153 after a week that held that quiet day: outside the band, not significant for so uneven a week
    assert any(
        "interactions.*: 153 rows against a median of" in w and "not significant" in w for w in busy["warnings"]
    ), busy
