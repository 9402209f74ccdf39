"""A published day's graph as a GraphFrame, for analysts (README, "GraphFrames").

``day_graph(spark, "alpha")`` loads the latest published ``graph_vertices`` (``id``, the scores
and what explains them) and ``graph_edges`` (``src``, ``dst``, the weights as ranked) of a
network into :func:`jobs.graphframe.graph_frame`: the graph exactly as the global PageRank ranked
it, ready for any GraphFrames algorithm (``pageRank``, ``connectedComponents``, motifs, ...).
"""

from __future__ import annotations

import datetime as dt

from jobs.graphframe import graph_frame
from kindling.core.settings import Settings, load_settings
from kindling.storage.lake import Lake


def day_graph(spark, network: str, day: dt.date | str = "latest", settings: Settings | None = None):
    """The published graph of ``network`` on ``day`` (a date, ``YYYY-MM-DD`` or ``latest``) in the
    lake of ``settings`` (default: :func:`kindling.core.settings.load_settings`).

    Raises LookupError naming the lake and what is missing: no published graph at all, the day
    not published, or the network not in it.
    """

    settings = settings or load_settings()
    lake = Lake(settings.lake)
    days = sorted(set(lake.published_dates("graph_edges")) & set(lake.published_dates("graph_vertices")))
    if not days:
        raise LookupError(
            f"no published graph in the lake at {settings.lake} (graph_edges, graph_vertices): run the daily job first"
        )
    if day == "latest":
        day = days[-1]
    elif isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if day not in days:
        raise LookupError(f"dt={day} has no published graph in {settings.lake}; published: {days[0]} .. {days[-1]}")
    parts = {t: lake.published(t, day) / f"network={network}" for t in ("graph_vertices", "graph_edges")}
    if not all(p.is_dir() for p in parts.values()):
        nets = lake.published_networks("graph_edges", day)
        raise LookupError(f"network {network!r} has no published graph on dt={day}; networks: {', '.join(nets)}")
    return graph_frame(spark.read.parquet(str(parts["graph_vertices"])), spark.read.parquet(str(parts["graph_edges"])))
