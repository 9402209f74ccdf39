"""The kindling_daily DAG through `airflow dags test`, the way `make run` runs it.

Slow (one Airflow run starting spark-submit twice). It checks the manual run's date: logical
date D+1 processes dt=D. Scheduling proper (backfill, ordering, reprocessing a day identically)
is tests/test_airflow_scheduler.py.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kindling_dev import generate

pytestmark = pytest.mark.integration  # tier: see tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 11, 20)


def _published(lake: Path) -> list[dict]:
    root = lake / "tables" / "account_scores"
    rows = []
    for f in sorted(root.glob("dt=*/network=*/*.parquet")):
        for r in pq.read_table(f).to_pylist():
            r.pop("run_id")
            rows.append({**r, "dt": f.parent.parent.name, "network": f.parent.name})
    return sorted(rows, key=lambda r: (r["dt"], r["network"], r["account_id"]))


def _dags_test(env: dict, logical_date: dt.date, log: Path) -> None:
    with open(log, "w") as fh:
        rc = subprocess.call(
            [str(ROOT / "infra" / "airflow.sh"), "dags", "test", "kindling_daily", logical_date.isoformat()],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            timeout=900,
        )
    assert rc == 0, log.read_text()[-4000:]


def test_dag_test_publishes_the_interval_day(tmp_path):
    src = tmp_path / "snapshots"
    generate.generate(src, accounts=150, days=2, networks=("alpha", "beta"), seed=9, end_date=DAY)
    lake = tmp_path / "lake"
    env = {
        **os.environ,
        "KINDLING_SOURCE": str(src),
        "KINDLING_LAKE": str(lake),
        "KINDLING_AIRFLOW_HOME": str(tmp_path / "airflow"),
        "KINDLING_SPARK_SHUFFLE_PARTITIONS": "2",
        "KINDLING_SPARK_MASTER": "local[2]",
        # These tests check Airflow's wiring, not the scores (other tests do): a loose tolerance and
        # no topic ranking keep each run's rank step short on 2 cores.
        "KINDLING_TOL": "1e-5",
        "KINDLING_TOPIC_MIN_RECOGNIZED": "1000000",
        "KINDLING_SENSOR_TIMEOUT_HOURS": "0",
        "KINDLING_TASK_RETRIES": "0",
    }
    # A manual run with logical date D+1 covers the interval [D, D+1): it must read dt=D.
    _dags_test(env, DAY + dt.timedelta(days=1), tmp_path / "run1.log")
    first = _published(lake)
    assert first, "nothing published"
    assert {r["dt"] for r in first} == {f"dt={DAY}"}
    assert {r["network"] for r in first} == {"network=alpha", "network=beta"}
    assert len(first) == 300
    runs = pq.read_table(str(lake / "tables" / "runs")).to_pylist()
    assert [r["status"] for r in runs] == ["published"]
