"""Shared fixtures: one SparkSession for the whole test session (local[2], few partitions, UTC)."""

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
    from kindling.settings import load_settings
    from kindling.spark import session

    os.environ["PYSPARK_PYTHON"] = sys.executable
    tmp = tmp_path_factory.mktemp("spark")
    settings = load_settings(env={}, spark_shuffle_partitions=2, checkpoint_dir=str(tmp / "checkpoints"))
    s = session(settings, app_name="kindling-tests", master="local[2]")
    yield s
    s.stop()
