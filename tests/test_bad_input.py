"""The bad-input corpus (``tests/corpus/``): every broken day is stopped or quarantined as the
policy says, the message names the file and the row or the rule at fault, and nothing
published before changes by a byte.

Each case builds one broken network-day from the clean ``base/`` day (``corpus/build.py``) and
runs the steps of the daily job up to the input gate — wait, pull, conform (on the shared
SparkSession), audit-in — the same step functions ``run_day`` calls. The lake starts with
seven published days in the ``runs`` table (the volume check's history, at the base day's
row counts) and a published ``account_scores`` partition.

* ``expect = "fail"``: the named step raises, with every fragment of ``messages`` in its
  message; the run's ``failed`` row names the step; nothing reaches ``tables/`` or
  ``conformed/`` for the day.
* ``expect = "quarantine"``: the gate passes; the rejected rows are in the run's staged
  ``quarantine`` table with the file, the exact lines edited, and the reason; the kept rows
  are the rest; ``tables/`` is untouched until the day is published. Fragments listed in
  ``warnings`` are in the gate's saved warnings (a limit crossed without significance).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import schemas
from kindling.core.settings import load_settings
from kindling.gates.policy import CASCADED_REASON
from kindling.pipeline.steps import run_local_step, run_spark_in_process
from kindling.storage.lake import Lake
from tests.test_pipeline import tree_digest


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "corpus_build", Path(__file__).resolve().parent / "corpus" / "build.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_builder()

DAY = dt.date.fromisoformat(build.DAY)
STEPS = ("wait", "pull", "conform", "audit-in")
BASE_ROWS = {f.stem: build.data_lines(f) for f in build.BASE.iterdir()}
HISTORY = [DAY - dt.timedelta(days=k) for k in range(7, 0, -1)]


def _value_for(t: str, i: int):
    if t == "string":
        return f"x{i}"
    if t in ("long", "int"):
        return i + 1
    if t == "double":
        return 0.5
    if t == "boolean":
        return False
    if t == "timestamp":
        return dt.datetime(2026, 11, 19, tzinfo=dt.UTC)
    if t.startswith("array<"):
        return []
    raise AssertionError(t)


def _published_lake(root: Path) -> None:
    """Seven published runs at the base day's counts, and a published account_scores day."""
    lake = Lake(root)
    runs = schemas.table("runs")
    for d in HISTORY:
        run_id = f"{d}_T000000_hist00"
        row = {f.name: None for f in runs.fields} | {
            "run_id": run_id,
            "networks": ["corpus"],
            "status": "published",
            "input_rows": json.dumps({"corpus": {k: v for k, v in BASE_ROWS.items()}}),
            "started_at": dt.datetime(d.year, d.month, d.day, 1, tzinfo=dt.UTC),
            "finished_at": dt.datetime(d.year, d.month, d.day, 2, tzinfo=dt.UTC),
            "timings": "{}",
        }
        path = lake.table("runs") / f"dt={d}" / f"{run_id}-published.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([row], schema=runs.arrow_schema()), path)
    scores = schemas.table("account_scores")
    staged = root / "_seed" / "account_scores"
    (staged / "network=corpus").mkdir(parents=True)
    rows = [{f.name: _value_for(f.type, i) for f in scores.fields} for i in range(3)]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=scores.arrow_schema()), staged / "network=corpus" / "part-0.parquet"
    )
    lake.publish_partition("account_scores", HISTORY[-1], staged, "seed")


def _run(settings, spark, run_id: str) -> tuple[str | None, BaseException | None]:
    for step in STEPS:
        try:
            if step == "conform":
                run_spark_in_process(spark, settings, step, DAY, run_id)
            else:
                run_local_step(settings, step, DAY, run_id)
        except Exception as e:  # the step under test; anything unexpected fails the assertions below
            return step, e
    return None, None


def test_corpus_is_large_enough_and_every_case_is_described():
    names = build.cases()
    assert len(names) >= 30
    for name in names:
        spec = build.load(name)
        assert spec["description"] and spec["expect"] in ("fail", "quarantine"), name
        if spec["expect"] == "fail":
            assert spec["step"] in STEPS and spec["messages"], name
        else:
            assert spec["quarantined"] and spec["reasons"], name


def test_base_day_passes_clean(spark, tmp_path):
    """The corpus' base day goes through with nothing quarantined (so each case's effect is its own)."""
    settings = load_settings(
        env={}, source=str(tmp_path / "src"), lake=str(tmp_path / "lake"), spark_shuffle_partitions=2
    )
    (tmp_path / "src" / "network=corpus" / f"dt={DAY}").mkdir(parents=True)
    for f in build.BASE.iterdir():
        (tmp_path / "src" / "network=corpus" / f"dt={DAY}" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "src" / "network=corpus" / f"dt={DAY}" / "_SUCCESS").write_bytes(b"")
    _published_lake(tmp_path / "lake")
    step, err = _run(settings, spark, f"{DAY}_T000000_base00")
    assert err is None, (step, err)
    lake = Lake(tmp_path / "lake")
    assert pq.read_table(lake.staged(f"{DAY}_T000000_base00", "quarantine", DAY, "corpus")).num_rows == 0
    for table, n in BASE_ROWS.items():
        assert pq.read_table(lake.conformed(table, "corpus", DAY)).num_rows == n


@pytest.mark.parametrize("case", build.cases())
def test_bad_input_case(case, spark, tmp_path):
    source, root = tmp_path / "src", tmp_path / "lake"
    spec, _ = build.build(case, source)
    _published_lake(root)
    lake = Lake(root)
    before = tree_digest(lake.tables)
    settings = load_settings(env={}, source=str(source), lake=str(root), spark_shuffle_partitions=2)
    run_id = f"{DAY}_T000000_{case[:6]}"

    step, err = _run(settings, spark, run_id)
    after = tree_digest(lake.tables)

    if spec["expect"] == "fail":
        assert step == spec["step"], f"{case}: expected {spec['step']} to fail, got {step}: {err}"
        msg = str(err)
        for fragment in spec["messages"]:
            assert fragment in msg, f"{case}: {fragment!r} not in the message:\n{msg}"
        failed = pq.read_table(lake.table("runs") / f"dt={DAY}" / f"{run_id}-failed.parquet").to_pylist()
        assert failed[0]["status"] == "failed" and failed[0]["failed_step"] == step
        assert spec["messages"][0] in failed[0]["error"]
        assert set(after) - set(before) == {f"runs/dt={DAY}/{run_id}-failed.parquet"}
        assert not (root / "conformed").exists() or not list((root / "conformed").glob(f"*/*/dt={DAY}")), (
            "a failed day must not reach the conformed layer (later windows read it)"
        )
        if step == "audit-in" and "quarantine_max_share" in spec["messages"]:
            assert "quarantined rows of this run" in msg
            assert pq.read_table(lake.run_dir(run_id) / "quarantine").num_rows > 0
    else:
        assert err is None, f"{case}: expected the gate to pass with rows quarantined; {step} failed: {err}"
        assert after == before  # nothing published before the publish step
        rows = pq.read_table(lake.staged(run_id, "quarantine", DAY, "corpus")).to_pylist()
        # rows naming an account whose own row was quarantined follow it: checked, then set aside
        q = [r for r in rows if r["reason"] != CASCADED_REASON]
        held = {r["row_key"] for r in q if r["input_table"] == "accounts"}
        assert all(
            r["value"] in held and r["column"] in ("actor_id", "target_id", "author_id", "src_id", "dst_id")
            for r in rows
            if r["reason"] == CASCADED_REASON
        )
        if spec.get("cascaded"):
            assert sum(r["reason"] == CASCADED_REASON for r in rows) >= spec["cascaded"]
        if spec.get("warnings"):  # a limit crossed on too few rows: reported with the run, not failed
            state = json.loads((lake.run_dir(run_id) / "state" / "quality-in.json").read_text())
            warned = "\n".join(state["corpus"]["warnings"])
            for fragment in spec["warnings"]:
                assert fragment in warned, f"{case}: {fragment!r} not in the gate's warnings:\n{warned}"
        counts = {}
        for r in q:
            counts[r["input_table"]] = counts.get(r["input_table"], 0) + 1
        assert counts == spec["quarantined"], q
        for r in q:
            assert any(reason in r["reason"] for reason in spec["reasons"]), r
            assert r["source_file"].startswith(f"raw/network=corpus/dt={DAY}/") and r["run_id"] == run_id
        edited = build.edited_lines(spec, {f.name: build.data_lines(f) for f in build.BASE.iterdir()})
        assert {(Path(r["source_file"]).name, r["source_row"]) for r in q} == {
            (f, line) for f, lines in edited.items() for line in lines
        }
        for table in BASE_ROWS:
            n = sum(r["input_table"] == table for r in rows)
            assert pq.read_table(lake.conformed(table, "corpus", DAY)).num_rows == BASE_ROWS[table] - n
