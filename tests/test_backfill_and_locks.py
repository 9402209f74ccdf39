"""`kindling backfill` (order, skip, resume, summary) and the per-date run lock."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kindling.core.settings import load_settings
from kindling.pipeline.backfill import backfill, summary
from kindling.storage.lake import Lake
from kindling.storage.locks import DateLocked, date_lock
from kindling_dev import generate

ROOT = Path(__file__).resolve().parent.parent
END = dt.date(2026, 11, 20)
D1 = END - dt.timedelta(days=1)


def test_backfill_skips_published_days_reports_failures_and_resumes(spark, tmp_path):
    src = tmp_path / "src"
    generate.generate(src, accounts=120, days=2, networks=("alpha",), seed=4, end_date=END)
    good = tmp_path / "good-interactions.parquet"
    bad_file = src / "network=alpha" / f"dt={END}" / "interactions.parquet"
    shutil.copy(bad_file, good)
    rows = pq.read_table(bad_file).to_pylist()
    for r in rows[:50]:
        r["kind"] = "superlike"  # an unknown kind, on 50 rows
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(bad_file)), bad_file)

    s = load_settings(env={}, source=str(src), lake=str(tmp_path / "lake"), spark_shuffle_partitions=2, tol=1e-7)
    out = io.StringIO()
    results = backfill(s, D1, END, spark=spark, stream=out)
    assert [(r.day, r.status) for r in results] == [(D1, "published"), (END, "failed")]
    assert results[1].failed_step == "audit-in" and "kind" in results[1].error and "superlike" in results[1].error
    text = summary(results)
    assert "1 published, 0 skipped, 1 failed" in text and "audit-in" in text
    progress = out.getvalue()
    assert "day 1/2" in progress and "day 2/2" in progress and "publish" in progress and "left ~" in progress
    assert Lake(s.lake).published_dates("account_scores") == [D1]

    # Fix the day and run the same range again: D1 is skipped, END resumes and publishes.
    shutil.copy(good, bad_file)
    again = backfill(s, D1, END, spark=spark, stream=io.StringIO())
    assert [(r.day, r.status) for r in again] == [(D1, "skipped"), (END, "published")]
    assert Lake(s.lake).published_dates("account_scores") == [D1, END]

    # --force reruns a published day (a new run id publishes it again).
    before = os.path.realpath(Lake(s.lake).published("account_scores", D1))
    forced = backfill(s, D1, D1, force=True, spark=spark, stream=io.StringIO())
    assert [(r.day, r.status) for r in forced] == [(D1, "published")]
    assert os.path.realpath(Lake(s.lake).published("account_scores", D1)) != before
    assert forced[0].run_id in os.path.realpath(Lake(s.lake).published("account_scores", D1))


HOLDER = """
import datetime, sys, time
from kindling.storage.locks import date_lock
with date_lock(sys.argv[1], datetime.date(2026, 11, 20), "holder-run"):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_second_run_for_a_date_is_refused_and_a_killed_holder_releases_the_lock(tmp_path):
    lake = str(tmp_path / "lake")
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, lake], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert p.stdout.readline().strip() == "locked"
        with pytest.raises(DateLocked) as err:
            with date_lock(lake, END, "second-run"):
                pass
        assert "holder-run" in str(err.value) and str(p.pid) in str(err.value)
        with date_lock(lake, D1, "other-date"):  # another date proceeds in parallel
            pass
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        deadline = time.time() + 10
        while True:
            try:
                with date_lock(lake, END, "after-crash"):
                    break
            except DateLocked:
                assert time.time() < deadline, "lock not released after the holder was killed"
                time.sleep(0.1)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)


def test_lock_is_reentrant_within_a_process(tmp_path):
    with date_lock(str(tmp_path), END, "r"), date_lock(str(tmp_path), END, "r"):
        pass
    with date_lock(str(tmp_path), END, "again"):
        pass


def test_lock_is_reentrant_with_a_relative_lake_before_its_file_exists(tmp_path, monkeypatch):
    """The default lake is "./lake": the nested lock of a step must be the run's own, not a second flock."""
    monkeypatch.chdir(tmp_path)
    assert not (tmp_path / "lake").exists()
    with date_lock("./lake", END, "r"), date_lock("./lake", END, "r"), date_lock(str(tmp_path / "lake"), END, "r"):
        pass


def _cli_env(lake) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINDLING_")}
    return {
        **env,
        "KINDLING_LAKE": str(lake),
        "KINDLING_SOURCE": str(lake.parent / "no-source"),
        "PYTHONPATH": str(ROOT),
    }


def test_kindling_run_for_a_locked_date_is_refused_naming_the_holder(tmp_path):
    """A second `kindling run` of the same date, as a process: exit 1, the holder named, the lake untouched."""
    lake = tmp_path / "lake"
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lake)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert p.stdout.readline().strip() == "locked"
        second = subprocess.run(
            [sys.executable, "-m", "kindling.cli", "run", "--date", END.isoformat()],
            cwd=tmp_path,
            env=_cli_env(lake),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1, second.stderr
        assert "DateLocked" in second.stderr and f"dt={END}" in second.stderr
        assert "holder-run" in second.stderr and f'"pid": {p.pid}' in second.stderr
        assert sorted(x.name for x in lake.iterdir()) == ["_locks"]  # no step ran: no state, no staging
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


BARRIER = """
import datetime, pathlib, sys, time
from kindling.storage.locks import date_lock
lake, day, barrier = sys.argv[1], datetime.date.fromisoformat(sys.argv[2]), pathlib.Path(sys.argv[3])
with date_lock(lake, day, "run-" + sys.argv[2]):
    (barrier / sys.argv[2]).touch()
    deadline = time.time() + 60
    while len(list(barrier.iterdir())) < 2:  # wait, holding the lock, until the other date's run is in too
        if time.time() > deadline:
            sys.exit(3)
        time.sleep(0.05)
print("both inside", flush=True)
"""


def test_runs_for_different_dates_hold_their_locks_at_the_same_time(tmp_path):
    """Two processes, two dates: each enters its lock and waits there for the other; both get through."""
    lake, barrier = tmp_path / "lake", tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BARRIER, str(lake), d.isoformat(), str(barrier)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for d in (D1, END)
    ]
    try:
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0 and out.strip() == "both inside", (p.returncode, out, err)
    assert sorted(x.name for x in barrier.iterdir()) == [D1.isoformat(), END.isoformat()]
