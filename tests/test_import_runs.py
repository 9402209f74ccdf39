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

import pyarrow.parquet as pq
import pytest

from kindling import importer as I
from kindling.jars import find_beside
from kindling.lake import Lake
from kindling.query import runs
from kindling.settings import load_settings
from kindling.steps import run_day

HIGGS, LOOKED = find_beside(Path("shared") / "data" / "higgs-twitter" / "higgs-reply_network.edgelist")


def _settings(tmp_path):
    return load_settings(env={}, source=str(tmp_path / "snapshots"), lake=str(tmp_path / "lake"),
                         spark_shuffle_partitions=2)


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
    t = pq.read_table(snapshots / f"network={network}" / f"dt={day}" / "interactions.parquet",
                      columns=["actor_id", "target_id"]).to_pylist()
    return [r for r in t if r["actor_id"] == r["target_id"]]
