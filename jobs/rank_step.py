"""The rank step: every network of a day ranked in one PageRank pass, then its tables staged.

:func:`rank_networks` reads the window's conformed tables of each network into a
:class:`NetworkEvidence` (the graph, topic evidence, rings, seeds, responsiveness), ranks every
network's global and topic slots together, and stages ``account_scores``, ``topic_scores``,
``score_contributors``, ``topics``, ``graph_vertices`` and ``graph_edges`` for audit-out.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import schemas
from jobs import topics as T
from jobs.explain import graph_edges, graph_vertices
from jobs.graph import decayed_events, volume_factor, window_dates
from jobs.graphframe import window_graph
from jobs.pagerank import pagerank_arrays
from jobs.responsive import responsiveness
from jobs.rings import detect_rings, discount_rings
from jobs.score import account_scores, score_contributors, topic_scores, topics_table
from jobs.trust import trusted_seeds
from kindling.core.failpoints import failpoint
from kindling.core.settings import Settings
from kindling.ingest.topics import topic_map
from kindling.storage.lake import Lake


def _read_conformed(spark: SparkSession, lake: Lake, table: str, network: str, days: list[dt.date]) -> DataFrame | None:
    paths = [str(lake.conformed(table, network, d)) for d in days if lake.conformed(table, network, d).is_dir()]
    if not paths:
        return None
    return spark.read.schema(schemas.table(table).spark_schema()).parquet(*paths)


def previous_table(spark: SparkSession, lake: Lake, table: str, network: str, day: dt.date) -> DataFrame | None:
    """The latest published partition of ``table`` for ``network`` before ``day`` (or None)."""
    for d in reversed([d for d in lake.published_dates(table) if d < day]):
        p = lake.published(table, d) / f"network={network}"
        if p.is_dir():
            return spark.read.parquet(str(p))
    return None


def _qualified(network: str, col: str) -> F.Column:
    """A vertex id unique across networks (networks share account id spaces)."""
    return F.concat(F.lit(network + "/"), F.col(col))


_MAPS: dict[tuple, tuple[SparkSession, DataFrame, DataFrame]] = {}


def _mapping_frames(spark: SparkSession, settings: Settings) -> tuple[DataFrame, DataFrame]:
    """The hashtag and slug maps of the settings' taxonomy as DataFrames, made once per
    SparkSession: sending the ~70,000 rows from Python took about 1.8 s a run, which in a
    backfill of small days in one session was paid again every day."""

    key = (settings.taxonomy_dir, settings.topic_aliases)
    held = _MAPS.get(key)
    if held is not None and held[0] is spark:
        return held[1], held[2]
    tm = topic_map(settings)
    tag_map = spark.createDataFrame(tm.tag_rows(), "key string, topic string")
    slug_map = spark.createDataFrame(tm.slug_rows(), "slug string, topic string")
    _MAPS[key] = (spark, tag_map, slug_map)
    return tag_map, slug_map


def _stage(df: DataFrame, lake: Lake, run_id: str, table: str, day: dt.date, network: str, order: list[str]) -> int:
    target = lake.staged(run_id, table, day, network)
    df.orderBy(*order).coalesce(1).write.mode("overwrite").parquet(str(target))
    failpoint("rank:after-first-staged-table")
    return df.sparkSession.read.parquet(str(target)).count()


@dataclass
class NetworkEvidence:
    """One network's inputs to the day's PageRank pass and to its staged tables (read and built by
    :func:`rank_networks` from the window's conformed tables)."""

    accounts: DataFrame  # the day's accounts
    edges: DataFrame  # the window's weighted graph, defenses and ring discounts applied
    events: DataFrame  # the window's interactions between known accounts, decayed
    posts: DataFrame
    ptopics: DataFrame  # (post, topic) pairs
    tev: DataFrame  # topic events: interactions on posts with a topic
    rec: DataFrame  # recognition: the evidence for expertise, per (account, topic)
    topics: list[str]  # the ranked topics (a slot each)
    resp: DataFrame  # responsiveness per account
    seeds: DataFrame  # trusted seeds
    seed_count: int
    rings: DataFrame  # ring members
    volume: DataFrame | None  # posting-volume factors, None without posts
    same_as: dict[str, str]  # folded topic -> the topic keeping its board
    act: DataFrame  # own activity per (account, topic): interest
    evidence: DataFrame  # the (account, topic) pairs with evidence
    slot_edges: DataFrame | None = None  # the edges as PageRank reads them (factored slot weights)


@dataclass
class NetworkRanked:
    """What :func:`rank_networks` staged for one network: rows per table and how PageRank went
    (kept as the run's ``rank`` state, field for field)."""

    edges: int  # the window's weighted graph
    accounts: int  # account_scores rows
    topics_ranked: int
    topics_folded: int  # topics sharing another topic's board
    topics: int  # rows of the topics table
    trusted_seeds: int
    ring_members: int
    topic_scores: int
    score_contributors: int
    graph_edges: int
    graph_vertices: int
    iterations: int  # PageRank supersteps, all networks together
    converged: bool
    pagerank_seconds: float
    spark_cap_supersteps: int  # of the iterations, those run with the spark cap
    spark_pairs_capped: int  # graph edges whose flow the cap held below their weight


def rank_networks(
    spark: SparkSession, settings: Settings, networks: list[str], day: dt.date, run_id: str
) -> dict[str, NetworkRanked]:
    """Rank every network of the day — global score and every ranked topic — in one PageRank pass.

    Each network is a vertex group with its own slots (slot 0: the global
    score with a uniform teleport; slots 1..K: its ranked topics, teleporting
    to the recognition others give on the topic). Networks' graphs are disjoint
    and every slot's mass stays inside its network: the result is exactly one
    PageRank per (network, slot), nothing merged, at the cost of one pass over
    the edges per superstep. Then each network's ``account_scores``,
    ``topic_scores``, ``score_contributors`` and ``topics`` are staged.
    """

    settings = settings.effective()  # with defenses=false, every defense off (evaluation only)
    lake = Lake(settings.lake)
    tag_map, slug_map = _mapping_frames(spark, settings)
    taxonomy = topic_map(settings).taxonomy
    window = window_dates(day, settings.window_days)
    per_net: dict[str, NetworkEvidence] = {}
    for network in networks:
        accounts = _read_conformed(spark, lake, "accounts", network, [day])
        if accounts is None:
            raise RuntimeError(f"network={network} dt={day}: no conformed accounts (did conform run?)")
        interactions = _read_conformed(spark, lake, "interactions", network, window)
        if interactions is None:
            raise RuntimeError(f"network={network} dt={day}: no conformed interactions in the window")
        posts = _read_conformed(spark, lake, "posts", network, window)
        post_days = sum(1 for d in window if lake.conformed("posts", network, d).is_dir())
        known = accounts.select(F.col("account_id")).distinct()
        events = (
            decayed_events(interactions, day, settings)
            .join(known.withColumnRenamed("account_id", "actor_id"), "actor_id", "left_semi")
            .join(known.withColumnRenamed("account_id", "target_id"), "target_id", "left_semi")
            .persist()
        )
        volume = volume_factor(posts, post_days, settings) if posts is not None else None
        if volume is not None:
            volume = volume.persist()
        # the window's graph as a GraphFrame (jobs/graphframe.py); its rings by GraphFrames' components
        edges = window_graph(accounts, interactions, day, settings, events=events, volume=volume).edges.persist()
        rings = detect_rings(
            edges,
            pair_weight=settings.ring_pair_weight,
            min_size=settings.ring_min_size,
            max_size=settings.ring_max_size,
            internal_share=settings.ring_internal_share,
        )
        if min(settings.ring_discount, settings.ring_member_credit) < 1:
            discounted = discount_rings(
                edges, rings, settings.ring_discount, outside=settings.ring_member_credit
            ).persist()
            edges.unpersist()
            edges = discounted
        if posts is None:
            posts = spark.createDataFrame([], schemas.table("posts").spark_schema())
        ptopics = T.post_topics(posts, tag_map, slug_map).persist()
        tev = T.topic_events(events, ptopics).persist()
        # recognition of ring members is discounted as their edges are, and recognition is counted
        # relative to the account's posting volume, as its edges are
        rec = T.recognition(
            discount_rings(
                tev, rings, settings.ring_discount, "actor_id", "target_id", "w", outside=settings.ring_member_credit
            ),
            settings.recognition_max_share,
        )
        rec = T.scale_recognition(rec, volume).persist()
        topics = T.ranked_topics(rec, settings.topic_min_recognized)
        # a topic whose board would be another's (the same posts on it: a parent with one active
        # child, an alias) is published once, under the most specific: no slot of its own
        same_as = T.same_boards(ptopics, topics, taxonomy.ancestors)
        topics = [t for t in topics if t not in same_as]
        follows = _read_conformed(spark, lake, "follows", network, [day])
        resp = responsiveness(interactions, known, follows, day, settings)
        seeds = trusted_seeds(spark, accounts, network, day, settings).persist()
        act = T.activity(posts, ptopics, events, tev, settings.interest_prior).persist()
        # the (account, topic) pairs with evidence: recognised on it, or posting/engaging on it
        evidence = rec.select("account_id", "topic").unionByName(act.select("account_id", "topic"))
        per_net[network] = NetworkEvidence(
            accounts=accounts,
            edges=edges,
            events=events,
            posts=posts,
            ptopics=ptopics,
            tev=tev,
            rec=rec,
            topics=topics,
            resp=resp,
            seeds=seeds,
            seed_count=seeds.count(),
            rings=rings,
            volume=volume,
            same_as=same_as,
            act=act,
            evidence=evidence,
        )

    vertices = teleport = None
    for network, d in per_net.items():
        v = (
            d.accounts.where(F.col("account_id").isNotNull())
            .select(_qualified(network, "account_id").alias("id"), F.lit(network).alias("grp"))
            .distinct()
        )
        # factored slot weights: one weight per edge, the few slots that differ in a map
        d.slot_edges = T.slot_factors(d.edges, d.tev, d.topics, settings.offtopic_factor, trust=True).persist()
        t = T.slot_teleport(d.accounts, d.rec, d.topics, seeds=d.seeds).select(
            _qualified(network, "id").alias("id"), "v"
        )
        vertices = v if vertices is None else vertices.unionByName(v)
        teleport = t if teleport is None else teleport.unionByName(t)
    # every group's slots: global, its topics, trusted seeds (a narrower group's extra slots stay empty)
    scale = T.slot_scale(max(len(d.topics) + 2 for d in per_net.values()), settings.offtopic_factor)
    assert vertices is not None and teleport is not None, "rank needs at least one network"
    t0 = time.time()
    result = _rank(
        {n: d.slot_edges for n, d in per_net.items() if d.slot_edges is not None},
        {n: len(d.topics) for n, d in per_net.items()},
        vertices,
        teleport,
        scale,
        settings,
    )
    seconds = time.time() - t0

    out = {}
    for network, d in per_net.items():
        accounts, edges, topics = d.accounts, d.edges, d.topics
        slot_edges = d.slot_edges
        assert slot_edges is not None  # set above, before PageRank
        ranks = _network_ranks(result, network).persist()
        glob = ranks.select("id", F.get("pr", 0).alias("pagerank"))
        trust = ranks.select(F.col("id").alias("account_id"), F.get("pr", len(topics) + 1).alias("trust_rank"))
        scores = account_scores(
            glob,
            accounts,
            edges,
            previous_table(spark, lake, "account_scores", network, day),
            run_id,
            resp=d.resp,
            trust=trust,
            seeds=d.seed_count,
            settings=settings,
            rings=d.rings,
        )
        n_scores = _stage(scores, lake, run_id, "account_scores", day, network, ["rank"])

        # topic ranks of the accounts with evidence on the topic only: the rows topic_scores keeps
        ts = topic_scores(
            T.topic_ranks(ranks, topics, only=d.evidence),
            d.rec,
            d.act,
            accounts,
            previous_table(spark, lake, "topic_scores", network, day),
            run_id,
        )
        n_topic = _stage(ts, lake, run_id, "topic_scores", day, network, ["topic", "rank_in_topic"])

        top_n = settings.contributors_top_n
        slot_of = (
            F.create_map(*[x for i, t in enumerate(topics, start=1) for x in (F.lit(t), F.lit(i))]) if topics else None
        )
        staged_topics = spark.read.parquet(str(lake.staged(run_id, "topic_scores", day, network)))
        top = (
            spark.read.parquet(str(lake.staged(run_id, "account_scores", day, network)))
            .where(F.col("rank") <= top_n)
            .select("account_id", F.lit(0).alias("slot"))
        )
        if slot_of is not None:
            top = top.unionByName(
                staged_topics.where(F.col("rank_in_topic") <= top_n).select(
                    "account_id", slot_of[F.col("topic")].alias("slot")
                )
            )
        cap = spark_cap_shares(len(topics), settings.spark_max_share)
        contrib = T.contributors(
            top, ranks, slot_edges, settings.damping, settings.contributors_k, scale=scale, cap=cap
        ).persist()
        # the interactions behind each pair: every pair's for graph_edges (aggregated once, used
        # twice), and per topic only for the pairs score_contributors lists, not for every topic
        # event (several times the events; no measurable wall-time gain on the make-run sample:
        # docs/performance.md)
        pair_mix = T.kinds_mix(
            d.events.select(F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), "kind"), ["src", "dst"]
        ).persist()
        listed = contrib.select(F.col("contributor_id").alias("src"), F.col("account_id").alias("dst")).distinct()
        listed_tev = d.tev.select(
            F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), "topic", "kind"
        ).join(listed, ["src", "dst"], "left_semi")
        mix = (
            pair_mix.join(listed, ["src", "dst"], "left_semi")
            .select("src", "dst", F.lit(None).cast("string").alias("topic"), "events", "kinds")
            .unionByName(T.kinds_mix(listed_tev, ["src", "dst", "topic"]))
        )
        sc = score_contributors(contrib, topics, accounts, mix, run_id)
        n_contrib = _stage(
            sc, lake, run_id, "score_contributors", day, network, ["topic", "account_id", "contributor_rank"]
        )
        contrib.unpersist()
        # the graph exactly as ranked (slot_edges as PageRank read it): any account's score explained (jobs/explain.py)
        n_graph_edges = _stage(
            graph_edges(
                slot_edges,
                d.events,
                topics,
                settings.offtopic_factor,
                run_id,
                ranks=glob,
                damping=settings.damping,
                cap=cap[0],
                mix=pair_mix,
            ),
            lake,
            run_id,
            "graph_edges",
            day,
            network,
            ["dst", "src"],
        )
        pair_mix.unpersist()
        staged_edges = spark.read.parquet(str(lake.staged(run_id, "graph_edges", day, network)))
        n_graph_vertices = _stage(
            graph_vertices(
                staged_edges,
                spark.read.parquet(str(lake.staged(run_id, "account_scores", day, network))),
                settings.damping,
                run_id,
            ),
            lake,
            run_id,
            "graph_vertices",
            day,
            network,
            ["id"],
        )
        n_topic_list = _stage(
            topics_table(staged_topics, topics, d.same_as, taxonomy, run_id),
            lake,
            run_id,
            "topics",
            day,
            network,
            ["topic"],
        )

        out[network] = NetworkRanked(
            edges=edges.count(),
            accounts=n_scores,
            topics_ranked=len(topics),
            topics_folded=len(d.same_as),
            topics=n_topic_list,
            trusted_seeds=d.seed_count,
            ring_members=d.rings.count(),
            topic_scores=n_topic,
            score_contributors=n_contrib,
            graph_edges=n_graph_edges,
            graph_vertices=n_graph_vertices,
            iterations=result.iterations,
            converged=result.converged,
            pagerank_seconds=round(seconds, 3),
            spark_cap_supersteps=result.capped_iterations,
            spark_pairs_capped=staged_edges.where(F.col("flow_weight") < F.col("weight")).count(),
        )
        for k in ("edges", "events", "ptopics", "tev", "rec", "slot_edges", "act", "seeds", "rings", "volume"):
            frame = getattr(d, k)
            if frame is not None:
                frame.unpersist()
        ranks.unpersist()
    result.unpersist()
    return out


def _network_ranks(result, network: str) -> DataFrame:
    """One network's ``id, pr`` from a pass over every network (ids without the network prefix)."""
    prefix = len(network) + 2  # 1-based substring start after "<network>/"
    return result.ranks.where(F.col("grp") == network).select(F.expr(f"substring(id, {prefix})").alias("id"), "pr")


def _rank(
    slot_edges: dict[str, DataFrame],
    n_topics: dict[str, int],
    vertices: DataFrame,
    teleport: DataFrame,
    scale: list[float],
    settings: Settings,
):
    """One PageRank over every network's slot edges (``slot_edges``; ``n_topics`` per network), with the spark cap
    (:mod:`jobs.sparks`): in the global slot and every topic slot, no contributor's flow into an
    account counts for more than ``spark_max_share`` of its rank (the trusted-seed slot is left
    uncapped: its teleport is a few seeds). Returns the result (``capped_iterations``: the
    supersteps the cap took)."""

    edges_all = None
    for network, edges in slot_edges.items():
        e = edges.select(
            _qualified(network, "src").alias("src"), _qualified(network, "dst").alias("dst"), "w", "n", "m"
        )
        edges_all = e if edges_all is None else edges_all.unionByName(e)
    cap = {network: spark_cap_shares(n, settings.spark_max_share) for network, n in n_topics.items()}
    assert edges_all is not None, "rank needs at least one network"
    result = pagerank_arrays(
        vertices,
        edges_all,
        teleport,
        damping=settings.damping,
        tol=settings.tol,
        max_iter=settings.max_iter,
        engine=settings.pagerank_engine,
        vector_max_mb=settings.pagerank_vector_max_mb,
        scale=scale,
        cap=cap,
    )
    print(
        f"PageRank: {result.iterations - result.capped_iterations} supersteps, then {result.capped_iterations} with "
        f"the spark cap ({settings.spark_max_share:.0%} of an account's rank from one contributor at most)",
        file=sys.stderr,
        flush=True,
    )
    return result


def spark_cap_shares(n_topics: int, max_share: float) -> list[float]:
    """A network's cap per slot (:func:`jobs.pagerank.pagerank_arrays`): the global slot 0 and the
    topic slots 1..K at ``max_share``, the trusted-seed slot K + 1 uncapped (0)."""
    return [float(max_share)] * (n_topics + 1) + [0.0]
