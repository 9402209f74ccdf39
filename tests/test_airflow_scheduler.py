"""Backfill through a real Airflow scheduler: `airflow standalone` + `airflow backfill create`.

The slowest test (a scheduler, a dag-processor, an API server and a triggerer, then two daily
runs each starting spark-submit twice), and the only one in which Airflow itself schedules the
runs: backfill ordering, max_active_runs, the execution API the task workers call back, the
rescheduling sensor. It backfills two days (the fewest that have an order) and checks both
published partitions and that the days ran one at a time, oldest first. (Rerunning a day identically is tested in-process, in
test_pipeline.py.) Everything the test started is stopped, whatever happens: the process group is
killed and checked empty.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kindling_dev import generate

pytestmark = pytest.mark.integration  # tier: see tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = ROOT / "infra" / "airflow.sh"
DAYS = [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
TERMINAL = {"success", "failed"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _airflow(env: dict, *args: str, timeout: float = 300) -> str:
    result = subprocess.run([str(AIRFLOW), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _runs(env: dict) -> list[dict]:
    out = _airflow(env, "dags", "list-runs", "kindling_daily", "-o", "json")
    start = out.find("[")
    return json.loads(out[start:]) if start >= 0 else []


def _published(lake: Path) -> list[dict]:
    rows = []
    for f in sorted((lake / "tables" / "account_scores").glob("dt=*/network=*/*.parquet")):
        for r in pq.read_table(f).to_pylist():
            r.pop("run_id")
            rows.append({**r, "dt": f.parent.parent.name.split("=", 1)[1], "network": f.parent.name.split("=", 1)[1]})
    return sorted(rows, key=lambda r: (r["dt"], r["network"], r["account_id"]))


def _wait_for(what: str, check, timeout: float, log: Path, every: float = 5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; Airflow's output ends:\n{log.read_text()[-4000:]}")


def _healthy(port: str) -> bool:
    """The API server answers and reports every component (scheduler, dag-processor, triggerer) healthy."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=10) as r:
            health = json.load(r)
    except OSError:
        return False
    return all(v.get("status") == "healthy" for v in health.values() if isinstance(v, dict) and "status" in v)


def _group_alive(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, from /proc.

    ``os.killpg(pgid, 0)`` is not enough: in a container whose init does not reap orphans, killed
    processes linger as zombies in the group.
    """
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            alive.append(int(stat.parent.name))
    return alive


@contextlib.contextmanager
def standalone(env: dict, log: Path):
    """`infra/airflow.sh standalone` in its own process group; the whole group is stopped on exit."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [str(AIRFLOW), "standalone"], env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 30
        while _group_alive(proc.pid) and time.time() < deadline:
            time.sleep(1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        time.sleep(1)
    survivors = _group_alive(proc.pid)
    assert not survivors, f"Airflow processes survived the shutdown: {survivors}"


def test_scheduler_backfills_days_in_order(tmp_path):
    src = tmp_path / "snapshots"
    generate.generate(src, accounts=150, days=len(DAYS), networks=("alpha", "beta"), seed=9, end_date=DAYS[-1])
    lake = tmp_path / "lake"
    env = {
        **os.environ,
        "KINDLING_SOURCE": str(src),
        "KINDLING_LAKE": str(lake),
        "KINDLING_AIRFLOW_HOME": str(tmp_path / "airflow"),
        "KINDLING_AIRFLOW_PORT": str(_free_port()),
        "KINDLING_AIRFLOW_WORKER_LOG_PORT": str(_free_port()),
        "KINDLING_AIRFLOW_TRIGGER_LOG_PORT": str(_free_port()),
        # The schedule covers only the backfilled days and does not catch up by itself: every run
        # below is one that `backfill create` asked for.
        "KINDLING_START_DATE": DAYS[0].isoformat(),
        "KINDLING_END_DATE": DAYS[-1].isoformat(),
        "KINDLING_CATCHUP": "false",
        "KINDLING_SPARK_SHUFFLE_PARTITIONS": "2",
        "KINDLING_SPARK_MASTER": "local[2]",
        # These tests check Airflow's wiring, not the scores (other tests do): a loose tolerance and
        # no topic ranking keep each run's rank step short on 2 cores.
        "KINDLING_TOL": "1e-5",
        "KINDLING_TOPIC_MIN_RECOGNIZED": "1000000",
        "KINDLING_SENSOR_POKE_SECONDS": "5",
        "KINDLING_TASK_RETRIES": "0",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    }
    log = tmp_path / "standalone.log"
    with standalone(env, log):
        _wait_for("Airflow's components to be healthy", lambda: _healthy(env["KINDLING_AIRFLOW_PORT"]), 300, log)

        def dag_known():
            out = subprocess.run(
                [str(AIRFLOW), "dags", "list", "-o", "json"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            return "kindling_daily" in out

        _wait_for("the dag-processor to parse kindling_daily", dag_known, 300, log)
        _airflow(env, "dags", "unpause", "kindling_daily")
        _airflow(
            env,
            "backfill",
            "create",
            "--dag-id",
            "kindling_daily",
            "--from-date",
            DAYS[0].isoformat(),
            "--to-date",
            DAYS[-1].isoformat(),
            "--max-active-runs",
            "1",
        )

        def all_done():
            runs = _runs(env)
            return runs if len(runs) == len(DAYS) and all(r["state"] in TERMINAL for r in runs) else None

        runs = _wait_for(f"{len(DAYS)} backfill runs to finish", all_done, 2400, log, every=10)
        assert {r["state"] for r in runs} == {"success"}, runs
        assert all(r["run_id"].startswith("backfill__") for r in runs), runs
        # A backfill run for day D has logical date D (its id names the end of its interval, D+1).
        assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in DAYS]

        first = _published(lake)
        assert sorted({r["dt"] for r in first}) == [d.isoformat() for d in DAYS]
        for day in DAYS:
            assert {r["network"] for r in first if r["dt"] == day.isoformat()} == {"alpha", "beta"}
        assert len(first) == 150 * 2 * len(DAYS)

        # Ran one at a time, oldest first: each day started after the previous one was published.
        run_rows = [
            {**r, "dt": f.parent.name.split("=", 1)[1]}
            for f in sorted((lake / "tables" / "runs").glob("dt=*/*.parquet"))
            for r in pq.read_table(f).to_pylist()
        ]
        assert [r["status"] for r in run_rows] == ["published"] * len(DAYS)
        ordered = sorted(run_rows, key=lambda r: r["started_at"])
        assert [r["dt"] for r in ordered] == [d.isoformat() for d in DAYS]
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            assert later["started_at"] >= earlier["finished_at"]

    assert _published(lake) == first  # stopping Airflow changed nothing
