"""Publishing a day: every table of dt=D changes in one swap, or none does (no Spark)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kindling.storage.lake import PUBLISHED_TABLES, Lake

DAY = dt.date(2026, 11, 20)


def _stage(root: Path, run_id: str, networks=("alpha", "beta"), tables=PUBLISHED_TABLES) -> dict[str, Path]:
    out = {}
    for t in tables:
        for n in networks:
            folder = root / "_staging" / run_id / t / f"dt={DAY}" / f"network={n}"
            folder.mkdir(parents=True)
            pq.write_table(pa.table({"run_id": [run_id], "network": [n]}), folder / "part-0.parquet")
        out[t] = root / "_staging" / run_id / t / f"dt={DAY}"
    return out


def _seen(lake: Lake) -> dict[str, set[tuple[str, str]]]:
    """What a reader sees of each table's dt=D: (run_id, network) pairs, through DuckDB."""
    out = {}
    with duckdb.connect() as con:
        for t in PUBLISHED_TABLES:
            files = str(lake.published(t, DAY) / "network=*" / "*.parquet")
            out[t] = set(con.execute("SELECT run_id, network FROM read_parquet(?)", [files]).fetchall())
    return out


def test_a_day_is_published_in_one_swap_and_old_versions_are_collected(tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.publish_day(DAY, _stage(tmp_path, "r1"), "r1")
    assert _seen(lake) == {t: {("r1", "alpha"), ("r1", "beta")} for t in PUBLISHED_TABLES}
    assert all(os.readlink(lake.published(t, DAY)) == f"../_days/dt={DAY}/current/{t}" for t in PUBLISHED_TABLES)

    lake.publish_day(DAY, _stage(tmp_path, "r2"), "r2")
    assert _seen(lake) == {t: {("r2", "alpha"), ("r2", "beta")} for t in PUBLISHED_TABLES}
    assert lake.published_by(DAY) == {t: "r2" for t in PUBLISHED_TABLES}
    for t in PUBLISHED_TABLES:
        assert [p.name for p in lake.versions(t, DAY).iterdir()] == ["r2"]
    assert {p.name for p in lake.days(DAY).iterdir()} == {"current", os.readlink(lake.days(DAY) / "current")}


def test_a_publish_interrupted_before_its_swap_changes_nothing_a_reader_sees(tmp_path, monkeypatch):
    lake = Lake(tmp_path / "lake")
    lake.publish_day(DAY, _stage(tmp_path, "r1"), "r1")
    old = _seen(lake)

    def crash(*_a, **_k):  # the moment between the last version written and the manifest
        raise KeyboardInterrupt

    monkeypatch.setattr(Lake, "_write_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        lake.publish_day(DAY, _stage(tmp_path, "r2"), "r2")
    assert _seen(lake) == old  # every table: still r1
    assert all((lake.versions(t, DAY) / "r2").is_dir() for t in PUBLISHED_TABLES)  # written, unpublished
    monkeypatch.undo()

    removed = lake.remove_leftovers(DAY, "r3")  # what the next run of the date does first
    assert {p.name for p in removed if p.parent.name == f"dt={DAY}"} >= {"r2"}
    assert all(not (lake.versions(t, DAY) / "r2").exists() for t in PUBLISHED_TABLES)
    assert _seen(lake) == old
    lake.publish_day(DAY, _stage(tmp_path, "r3"), "r3")
    assert _seen(lake) == {t: {("r3", "alpha"), ("r3", "beta")} for t in PUBLISHED_TABLES}


def test_one_table_or_one_network_republished_keeps_the_rest(tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.publish_day(DAY, _stage(tmp_path, "r1"), "r1")
    lake.publish_partition(
        "account_scores",
        DAY,
        _stage(tmp_path, "r2", networks=("beta",), tables=("account_scores",))["account_scores"],
        "r2",
    )
    seen = _seen(lake)
    assert seen["account_scores"] == {("r1", "alpha"), ("r2", "beta")}  # alpha carried over
    assert all(seen[t] == {("r1", "alpha"), ("r1", "beta")} for t in PUBLISHED_TABLES if t != "account_scores")


def test_a_day_published_with_one_link_per_table_is_adopted_without_a_gap(tmp_path):
    """Lakes written before the day manifests: each table's link points straight at a version."""
    lake = Lake(tmp_path / "lake")
    staged = _stage(tmp_path, "old")
    for t in PUBLISHED_TABLES:
        lake.versions(t, DAY).mkdir(parents=True)
        os.rename(staged[t], lake.versions(t, DAY) / "old")
        lake.published(t, DAY).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f"../_versions/{t}/dt={DAY}/old", lake.published(t, DAY))
    old = _seen(lake)
    lake._adopt_per_table_links(DAY)
    assert _seen(lake) == old and lake.published_by(DAY) == {t: "old" for t in PUBLISHED_TABLES}
    assert os.readlink(lake.published("account_scores", DAY)) == f"../_days/dt={DAY}/current/account_scores"
    lake.publish_day(DAY, _stage(tmp_path, "r2"), "r2")
    assert _seen(lake) == {t: {("r2", "alpha"), ("r2", "beta")} for t in PUBLISHED_TABLES}
