"""The graph layer: a network's graph as a GraphFrame.

GraphFrames (``graphframes-py`` on PyPI, with the JVM jar that ``make env`` obtains,
:mod:`kindling.pipeline.jars`) is how the jobs hold a graph: vertices with ``id``, edges with ``src`` and
``dst``, GraphFrames' own names, the names the lake's ``graph_vertices`` and ``graph_edges``
use too. Every GraphFrame of the project is made by :func:`graph_frame`, which says how to get
the jar when the session lacks it.

* :func:`window_graph`: the window's weighted interaction graph, as the rank job builds it from
  the conformed window (:func:`jobs.graph.build_edges`, before the ring discount and the spark
  cap), the graph that engagement rings are found on (:mod:`jobs.rings`);
* :func:`connected_components`: GraphFrames' ``connectedComponents``, as the project runs it;
* :func:`kindling.serving.graphs.day_graph` loads a published day's graph for an analyst.
"""

from __future__ import annotations

import datetime as dt

from graphframes import GraphFrame
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.graph import build_edges
from kindling.core.settings import Settings

JAR_HINT = (
    "`make env` builds build/graphframes-spark4_2.13-0.11.0.jar (kindling/pipeline/jars.py); start Spark with "
    "kindling.pipeline.spark.session, or give the jar to pyspark/spark-submit with --jars"
)


class GraphFramesMissing(RuntimeError):
    """The Spark session cannot load GraphFrames' JVM classes."""


def require_graphframes(spark) -> None:
    """Raise :class:`GraphFramesMissing` unless ``spark``'s JVM can load ``org.graphframes.GraphFrame``."""
    jvm = spark.sparkContext._jvm
    try:
        jvm.java.lang.Thread.currentThread().getContextClassLoader().loadClass("org.graphframes.GraphFrame")
    except Exception:  # py4j's Py4JJavaError wrapping ClassNotFoundException
        raise GraphFramesMissing(f"this Spark session has no GraphFrames classes: {JAR_HINT}") from None


def graph_frame(vertices: DataFrame, edges: DataFrame) -> GraphFrame:
    """``GraphFrame(vertices, edges)`` (``id``; ``src``, ``dst``), after checking the session has the jar."""
    require_graphframes(vertices.sparkSession)
    return GraphFrame(vertices, edges)


def window_graph(
    accounts: DataFrame,
    interactions: DataFrame,
    day: dt.date,
    settings: Settings,
    events: DataFrame | None = None,
    volume: DataFrame | None = None,
) -> GraphFrame:
    """The scoring window's graph on ``day``: every account known that day (``id``, ``handle``) and
    the weighted pairs of :func:`jobs.graph.build_edges` (``src, dst, weight, raw_weight, events,
    norm_weight``), every per-event and per-pair defense applied, rings not yet discounted."""

    vertices = (
        accounts.where(F.col("account_id").isNotNull())
        .select(F.col("account_id").alias("id"), "handle")
        .dropDuplicates(["id"])
    )
    edges = build_edges(interactions, accounts, day, settings, events=events, volume=volume)
    return graph_frame(vertices, edges)


def connected_components(g: GraphFrame) -> DataFrame:
    """``id, component``: each vertex's connected component (edges taken both ways), by GraphFrames'
    ``connectedComponents`` on its GraphX module, run until no label changes. ``component`` is a
    number shared by the component's vertices, not one of their ids.

    GraphX rather than GraphFrames' default DataFrame algorithm (``two_phase``): on the rings'
    pair graphs of the ``make run`` sample (a few thousand pairs) it took 5.4-8.9 s a network
    against 15.4-24.0 s, with the same components. The iteration cap is set, not left to
    graphframes-py's default (``2 ^ 31 - 2``, which Python reads as 27 rounds: a longer chain
    would be cut into pieces).
    """
    return g.connectedComponents(algorithm="graphx", max_iter=2**31 - 1).select("id", "component")
