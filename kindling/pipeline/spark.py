"""SparkSession creation, in one place, for entry points and tests.

Transforms never create a session; only entry points (``jobs/entry.py``) and the
test fixture call :func:`session`.
"""

from __future__ import annotations

import os
import sys

from kindling.core.settings import Settings
from kindling.pipeline.jars import session_jars


def spark_confs(settings: Settings) -> dict[str, str]:
    """Spark settings every Kindling job runs with (also passed to spark-submit)."""
    # the vector engine's jar and GraphFrames' (core and graphx), as `make env` built them
    # (kindling/pipeline/jars.py); spark.jars ships them to a cluster's executors as well
    found = session_jars()
    jars = {"spark.jars": ",".join(str(j) for j in found)} if found else {}
    java = settings.spark_java_options.strip()
    jvm = (
        {}
        if java.lower() in ("", "none")
        else {"spark.driver.extraJavaOptions": java, "spark.executor.extraJavaOptions": java}
    )
    return {
        **jars,
        **jvm,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.sources.partitionOverwriteMode": "static",
        # Parquet files carry no wall-clock metadata that would change between reruns.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }


def session(settings: Settings, app_name: str = "kindling", master: str | None = None):
    """Return a SparkSession configured for Kindling.

    ``master`` is only set when given: under spark-submit the master comes from
    the command line.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
        # In process, this call starts the JVM, so the driver's heap is set here (spark-submit
        # passes --driver-memory instead); left at Spark's 1g, a 10M-edge graph thrashed in GC.
        builder = builder.config("spark.driver.memory", settings.spark_driver_memory)
    for k, v in spark_confs(settings).items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.setCheckpointDir(settings.checkpoint_path)
    return spark
