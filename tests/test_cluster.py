"""The daily job on a real Spark standalone cluster (``infra/cluster.sh``), against ``local[2]``.

A master and one worker start on free ports of 127.0.0.1, in a temporary folder, so a
cluster of the user's own (``make cluster-up``) is never touched. One small generated day
goes through ``kindling run`` (the spark-submit path) twice: once with
``KINDLING_SPARK_MASTER=spark://…`` and once with ``local[2]`` into a second lake. The
published tables must hold the same values, and the master's and worker's JSON and the
worker's work folder must show that both Spark steps ran on the worker, and that the rank step's
executors loaded GraphFrames' classes from the jar ``spark.jars`` shipped them. Both runs rank
on the distributed engine (``KINDLING_PAGERANK_ENGINE=graphframes``), the one made for clusters:
its classes (kindling-engine.jar) must have reached the executors too. The cluster is
stopped even when the test fails, and no Master, Worker or executor process may outlive it.

Slow: four spark-submits plus two JVM daemons, 14–21 minutes on a shared, busy 2-core machine
(three runs); most of it is the two ``kindling run``s.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kindling.pipeline.steps import code_archive
from kindling_dev import generate

pytestmark = pytest.mark.integration  # tier: see tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SH = ROOT / "infra" / "cluster.sh"
KINDLING = Path(sys.executable).parent / "kindling"
DAY = dt.date(2026, 11, 20)

# Natural keys of the compared tables: the rows must match one to one on these.
KEYS = {
    "account_scores": ("network", "account_id"),
    "topic_scores": ("network", "topic", "account_id"),
    "score_contributors": ("network", "topic", "account_id", "contributor_rank"),
}


@dataclass
class Cluster:
    url: str
    master_json: str
    worker_json: str
    dir: Path
    pids: dict[str, int]

    def state(self, which: str = "master") -> dict:
        with urllib.request.urlopen(self.master_json if which == "master" else self.worker_json, timeout=10) as r:
            return json.load(r)


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _processes_mentioning(text: str) -> list[str]:
    # -ww: whole command lines (a JVM's is thousands of characters; ps cuts it to $COLUMNS otherwise)
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -ww" not in line]


def _clean_env() -> dict[str, str]:
    """The caller's environment without its KINDLING_* settings (a user's lake, master, config)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KINDLING_")}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    master_port, master_ui, worker_ui = _free_ports(3)
    env = {
        **_clean_env(),
        "KINDLING_CLUSTER_DIR": str(d),
        "KINDLING_CLUSTER_MASTER_PORT": str(master_port),
        "KINDLING_CLUSTER_MASTER_UI_PORT": str(master_ui),
        "KINDLING_CLUSTER_WORKER_UI_PORT": str(worker_ui),
        "KINDLING_CLUSTER_WORKER_CORES": "2",
        "KINDLING_CLUSTER_WORKER_MEMORY": "1g",
        "KINDLING_CLUSTER_TIMEOUT": "300",
    }

    def sh(command: str) -> str:
        p = subprocess.run([str(CLUSTER_SH), command], env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"cluster.sh {command} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
        return p.stdout

    with ExitStack() as stack:
        pids: dict[str, int] = {}

        def down() -> None:
            # Read the pid files first: `down` removes them.
            for name in ("master", "worker"):
                f = d / f"{name}.pid"
                if f.exists():
                    pids[name] = int(f.read_text())
            sh("down")
            assert not list(d.glob("*.pid"))
            assert not [n for n, pid in pids.items() if _alive(pid)], f"still alive after down: {pids}"
            # Executors are children of the worker; their command line names the worker's work folder
            # only through --worker-url, so look for any application id this cluster served.
            leftovers = [p for app in d.glob("work/app-*") for p in _processes_mentioning(app.name)]
            assert not leftovers, f"executor processes left behind: {leftovers}"

        stack.callback(down)  # also when `up` fails half-way
        out = sh("up")
        assert "1 worker(s) alive" in out, out
        pids.update({name: int((d / f"{name}.pid").read_text()) for name in ("master", "worker")})
        # up is idempotent: a second call starts nothing
        again = sh("up")
        assert "master already running" in again and "worker already running" in again, again
        yield Cluster(
            url=f"spark://127.0.0.1:{master_port}",
            master_json=f"http://127.0.0.1:{master_ui}/json/",
            worker_json=f"http://127.0.0.1:{worker_ui}/json/",
            dir=d,
            pids=pids,
        )


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("snapshots")
    generate.generate(out, accounts=150, days=2, networks=("alpha", "beta"), seed=13, end_date=DAY)
    return out


def _kindling_run(workdir: Path, source: Path, master: str) -> tuple[Path, float]:
    """``kindling run --date DAY`` in a fresh lake under ``workdir``; returns the lake and seconds."""
    workdir.mkdir()
    lake = workdir / "lake"
    env = {
        **_clean_env(),
        "KINDLING_SOURCE": str(source),
        "KINDLING_LAKE": str(lake),
        "KINDLING_SPARK_MASTER": master,
        "KINDLING_SPARK_SHUFFLE_PARTITIONS": "2",
        "KINDLING_SPARK_DRIVER_MEMORY": "1g",
        "KINDLING_SPARK_EXECUTOR_MEMORY": "1g",
        "KINDLING_TOL": "1e-5",
        "KINDLING_PAGERANK_ENGINE": "graphframes",
        # The driver binds to loopback too (this host name may resolve to another interface).
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    if master.startswith("spark://"):
        # every JVM logs the classes it loads, and from where, into classload.log in its working
        # folder (an executor's: its folder under the worker's work/): GraphFrames' must be there
        env["KINDLING_SPARK_JAVA_OPTIONS"] = "-XX:+UseParallelGC -Xlog:class+load=info:file=classload.log"
    log = workdir / "run.log"
    t0 = time.time()
    with open(log, "w") as fh:
        rc = subprocess.call(
            [str(KINDLING), "run", "--date", DAY.isoformat()],
            env=env,
            cwd=workdir,
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=2400,
        )
    seconds = time.time() - t0
    assert rc == 0, f"kindling run with master {master} failed; log {log}:\n" + log.read_text()[-4000:]
    return lake, seconds


def _published(lake: Path, table: str) -> dict[tuple, dict]:
    root = lake / "tables" / table / f"dt={DAY}"
    rows = {}
    for f in sorted(root.glob("network=*/*.parquet")):
        for r in pq.read_table(f).to_pylist():
            r.pop("run_id")
            r["network"] = f.parent.name.split("=", 1)[1]
            key = tuple(r[k] for k in KEYS[table])
            assert key not in rows, f"{table}: duplicate key {key}"
            rows[key] = r
    return rows


def _compare(table: str, a: dict[tuple, dict], b: dict[tuple, dict]) -> dict[str, float]:
    """Assert the same rows: ids, ranks, integers and strings exactly, floats to 1e-12 relative.

    Floats may differ in their last bits: a sum's order follows the order in which shuffle blocks
    are read, which Spark does not fix. Returns, per float column that is not bit-identical, the
    largest absolute difference (empty when every value is identical).
    """
    assert a.keys() == b.keys(), f"{table}: rows differ: {sorted(a.keys() ^ b.keys())[:5]}"
    worst: dict[str, float] = {}
    for key, ra in a.items():
        rb = b[key]
        assert ra.keys() == rb.keys()
        for col, va in ra.items():
            vb = rb[col]
            if isinstance(va, float) and isinstance(vb, float) and va != vb:
                assert math.isclose(va, vb, rel_tol=1e-12, abs_tol=1e-12), f"{table} {key} {col}: {va!r} != {vb!r}"
                worst[col] = max(worst.get(col, 0.0), abs(va - vb))
            else:
                assert va == vb, f"{table} {key} {col}: {va!r} != {vb!r}"
    return worst


def test_code_archive_is_importable_without_the_checkout(tmp_path):
    """What --py-files ships: the project's packages, importable from the zip alone."""
    archive = code_archive(tmp_path)
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"jobs/entry.py", "kindling/pipeline/steps.py", "kindling/core/settings.py", "schemas/__init__.py"} <= names
    assert not any("__pycache__" in n for n in names)
    # -I -S: no site-packages, so no editable install of the checkout; only the zip on sys.path. The
    # probe is a module of a subpackage that needs nothing outside the standard library (the settings
    # need pydantic, which an executor has from its environment, not from the zip).
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import kindling.core.validate as s; print(s.__file__)"
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(archive)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert out.strip() == str(archive / "kindling" / "core" / "validate.py")
    # same code, same bytes (fixed timestamps, sorted entries)
    (tmp_path / "again").mkdir()
    assert code_archive(tmp_path / "again").read_bytes() == archive.read_bytes()


def test_java_options_reach_driver_and_executors_and_can_be_cleared():
    """``spark_java_options`` goes to spark-submit as the driver's and the executors' JVM options;
    ``none`` (or empty in kindling.toml), neither is passed (a spark-defaults.conf keeps its own)."""
    from kindling.core.settings import load_settings
    from kindling.pipeline.steps import submit_command

    cmd = submit_command(load_settings(env={}, spark_master="spark://h:7077"), "rank", DAY, "r1")
    confs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--conf"]
    assert "spark.driver.extraJavaOptions=-XX:+UseParallelGC" in confs
    assert "spark.executor.extraJavaOptions=-XX:+UseParallelGC" in confs
    for cleared in (
        load_settings(env={"KINDLING_SPARK_JAVA_OPTIONS": "none"}),
        load_settings(env={}, spark_java_options=""),
    ):
        assert not any("extraJavaOptions" in a for a in submit_command(cleared, "rank", DAY, "r1"))


def test_the_session_jvm_runs_the_parallel_collector(spark):
    """The in-process session (tests, ``--in-process``) starts its JVM with the same options."""
    beans = spark._jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    names = {beans.get(i).getName() for i in range(beans.size())}
    assert names == {"PS Scavenge", "PS MarkSweep"}, names


def test_cluster_run_publishes_the_same_values_as_local(cluster, snapshots, tmp_path):
    t_start = time.time()
    cluster_lake, cluster_seconds = _kindling_run(tmp_path / "on-cluster", snapshots, cluster.url)
    local_lake, local_seconds = _kindling_run(tmp_path / "on-local", snapshots, "local[2]")

    # --- the Spark steps really ran on the cluster -------------------------------------------
    apps = {a["name"]: a for a in cluster.state()["completedapps"]}
    assert set(apps) == {f"kindling-conform-{DAY}", f"kindling-rank-{DAY}"}, apps.keys()  # none from local[2]
    assert {a["state"] for a in apps.values()} == {"FINISHED"}
    worker = cluster.state("worker")
    ran_here = {e["appid"] for e in worker["finishedexecutors"]}
    assert {a["id"] for a in apps.values()} <= ran_here
    for app in apps.values():
        executor_dirs = list((cluster.dir / "work" / app["id"]).iterdir())
        assert executor_dirs, f"no executor folder for {app['name']}"
        for ex in executor_dirs:
            assert "Finished task" in (ex / "stderr").read_text(), f"{app['name']}: the executor ran no task"
            assert (ex / "kindling-code.zip").is_file(), f"{app['name']}: the code archive did not reach the executor"
    # GraphFrames ran on the executors: the rank step's rings (connectedComponents on GraphFrames'
    # GraphX module) made them load its classes from the jar that spark.jars shipped
    rank_dirs = list((cluster.dir / "work" / apps[f"kindling-rank-{DAY}"]["id"]).iterdir())
    # (a line: "[…][info][class,load] org.apache.spark.graphframes.graphx.Graph source: file:…/<jar>";
    # the lambdas the JVM spins up name their class as the source instead)
    loaded = [
        line
        for ex in rank_dirs
        for line in (ex / "classload.log").read_text().splitlines()
        if str(cluster.dir / "work") in line
    ]
    from_jar = {line.split()[1] for line in loaded if line.endswith("/graphframes-spark4_2.13-0.11.0.jar")}
    assert "org.apache.spark.graphframes.graphx.Graph" in from_jar, sorted(from_jar)[:10]
    assert any(c.startswith("org.graphframes.") for c in from_jar), sorted(from_jar)[:10]
    # the PageRank supersteps ran there: the engine's vertex class came from the shipped engine jar
    from_engine = {line.split()[1] for line in loaded if line.endswith("/kindling-engine.jar")}
    assert "kindling.engine.GraphXBase" in from_engine, sorted(from_engine)[:10]

    # --- and published what local[2] publishes -------------------------------------------------
    report = {}
    for table in KEYS:
        on_cluster, on_local = _published(cluster_lake, table), _published(local_lake, table)
        assert on_cluster, f"{table}: nothing published on the cluster"
        report[table] = {
            "rows": len(on_cluster),
            "float_columns_not_bit_identical": _compare(table, on_cluster, on_local),
        }
    print(
        json.dumps(
            {
                "cluster_run_seconds": round(cluster_seconds, 1),
                "local_run_seconds": round(local_seconds, 1),
                "test_seconds_without_cluster_start": round(time.time() - t_start, 1),
                "tables": report,
            },
            indent=2,
        )
    )
