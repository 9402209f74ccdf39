"""Shared fixtures and the test tiers.

One SparkSession serves the whole test session (local[2], few partitions, UTC).

Every test belongs to exactly one tier, as a marker (``pytest -m unit`` and so on):

- ``integration``: Airflow, the standalone cluster, crash recovery and the browser; a module says so
  with ``pytestmark = pytest.mark.integration``.
- ``spark``: starts Spark, in this process (the ``spark`` fixture) or in a child (``kindling run``,
  spark-submit); a module or test says so with ``pytest.mark.spark`` unless it uses the fixture.
- ``unit``: everything else, no JVM. ``make check`` runs this tier, and a unit test that tries to start
  Spark fails (see ``_no_spark_in_unit_tests``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# py4j logs "Closing down clientserver connection" from __del__ at interpreter exit,
# after pytest has closed the streams; keep its chatter out.
logging.getLogger("py4j").setLevel(logging.WARNING)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from kindling.core.settings import load_settings
    from kindling.pipeline.spark import session

    os.environ["PYSPARK_PYTHON"] = sys.executable
    tmp = tmp_path_factory.mktemp("spark")
    settings = load_settings(env={}, spark_shuffle_partitions=2, checkpoint_dir=str(tmp / "checkpoints"))
    s = session(settings, app_name="kindling-tests", master="local[2]")
    yield s
    s.stop()


TIERS = ("unit", "spark", "integration")


def pytest_configure(config):
    config.addinivalue_line("markers", "unit: no Spark, no JVM, no child pipeline (make check runs these)")
    config.addinivalue_line("markers", "spark: starts Spark, in this process or a child")
    config.addinivalue_line("markers", "integration: Airflow, the standalone cluster, crash recovery, the browser")


# The slowest modules (measured: a few minutes each), slowest first. `make test` runs the suite on
# workers that take whole modules (`-n 2 --dist loadfile`) in this order (`--no-loadscope-reorder`:
# by default xdist hands out the modules with the most tests first, which left the one-test Airflow
# modules, ten minutes together, for the end); starting with the longest ones lets the short modules
# fill in at the end, so no worker is left with a long module while the others are idle.
SLOWEST_FIRST = (
    "test_readme.py",
    "test_crash.py",
    "test_airflow_scheduler.py",
    "test_cluster.py",
    "test_window.py",
    "test_airflow_e2e.py",
    "test_import_runs.py",
    "test_backfill_and_locks.py",
    "test_pipeline.py",
    "test_explain.py",
)


def _module_order(item) -> int:
    name = item.path.name
    return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)


def pytest_collection_modifyitems(config, items):
    """Give every test one tier: integration or spark when marked so or using the spark fixture, else unit.

    Also put the slowest modules first (a stable sort: tests keep their order within a module).
    """
    items.sort(key=_module_order)
    for item in items:
        if item.get_closest_marker("integration"):
            continue
        if item.get_closest_marker("spark") or "spark" in item.fixturenames:
            if not item.get_closest_marker("spark"):
                item.add_marker(pytest.mark.spark)
            continue
        item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def _no_spark_in_unit_tests(request, monkeypatch):
    """A unit test that starts Spark is in the wrong tier: fail it, naming the marker to add."""
    if not request.node.get_closest_marker("unit"):
        yield
        return
    import subprocess

    def refuse(*_args, **_kwargs):
        raise AssertionError(f"{request.node.nodeid} starts Spark: mark it pytest.mark.spark (tests/conftest.py)")

    import kindling.pipeline.spark

    monkeypatch.setattr(kindling.pipeline.spark, "session", refuse)
    real_popen = subprocess.Popen

    class GuardedPopen(real_popen):
        def __init__(self, args, *a, **kw):
            words = args if isinstance(args, (list, tuple)) else [args]
            if any("spark-submit" in str(w) or Path(str(w)).name == "airflow" for w in words):
                refuse()
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", GuardedPopen)
    # A child process (``kindling run``) that reaches Spark finds no Spark here and fails.
    monkeypatch.setenv("SPARK_HOME", str(ROOT / "unit-tier-tests-must-not-start-spark"))
    yield
