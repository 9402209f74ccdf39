"""Spark entry points: ``spark-submit jobs/entry.py <conform|rank> --date D --run-id R``.

The only place in ``jobs/`` that parses arguments, creates the SparkSession and
reads or writes the lake; the transforms it calls (``jobs.conform``,
``jobs.graph``, ``jobs.pagerank``, ``jobs.score``) are pure DataFrame functions.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # started as a script by spark-submit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import schemas
from jobs import conform as C
from jobs import topics as T
from jobs.explain import graph_edges, graph_vertices
from jobs.graph import decayed_events, volume_factor, window_dates
from jobs.graphframe import window_graph
from jobs.pagerank import pagerank_arrays
from jobs.responsive import responsiveness
from jobs.rings import detect_rings, discount_rings
from jobs.score import account_scores, score_contributors, topic_scores, topics_table
from jobs.trust import trusted_seeds
from kindling.failpoints import failpoint
from kindling.lake import Lake, replace_dir
from kindling.runs import bad_window_day, networks_of_day, recorded
from kindling.settings import Settings, load_settings
from kindling.spark import session
from kindling.state import load_states, save_state
from kindling.topics import topic_map
from kindling.validate import parse_date
from kindling.validate import run_id as clean_run_id


# --- conform ---------------------------------------------------------------
def _raw_files(raw_dir: Path, table: str) -> list[Path]:
    return sorted(
        p for p in raw_dir.iterdir() if p.stem == table and p.suffix in (".csv", ".jsonl", ".json", ".parquet")
    )


SMALL_FILE_BYTES = 4 << 20
"""At most Spark's default ``spark.sql.files.openCostInBytes``: a file this small is one split."""


def _with_row_numbers(df: DataFrame, one_split: bool = False) -> DataFrame:
    """``df`` with ``_source_row``: 1-based, in file order (lines of a text file, rows of Parquet).

    One split (any file under the split size, the usual daily file) needs no job: the ids
    Spark gives partition 0 are 0, 1, 2, ... For several splits each partition's offset is the
    row count of the partitions before it (one small job; no Python workers). Nothing is
    cached: a file's splits are read in the same order by every job.
    """
    mid = F.monotonically_increasing_id()
    if one_split or df.rdd.getNumPartitions() == 1:  # asking the plan costs a planning round per file
        return df.withColumn("_source_row", mid + 1)
    counts = sorted(
        (r["_pid"], r["n"])
        for r in df.groupBy(F.spark_partition_id().alias("_pid")).agg(F.count(F.lit(1)).alias("n")).collect()
    )
    offsets, acc = [], 0
    for pid, cnt in counts:
        offsets += [F.lit(pid), F.lit(acc)]
        acc += cnt
    off = F.create_map(*offsets)[F.spark_partition_id()] if offsets else F.lit(0)
    return df.withColumn("_source_row", mid - F.spark_partition_id().cast("long") * F.lit(1 << 33) + 1 + off)


def read_raw_table(spark: SparkSession, path: Path, table: schemas.Table, rel: str) -> DataFrame:
    """Read one raw file into canonical columns + lineage + parse diagnostics.

    Day-level problems found here raise :class:`ConformError`: a Parquet file that cannot be
    read, a CSV file without a header, a schema column missing from the header or the Parquet
    schema. (A required column missing from every JSON record is found in :func:`conform_day`,
    with the counts.)
    """
    small = path.stat().st_size <= SMALL_FILE_BYTES
    if path.suffix == ".parquet":
        try:
            df = spark.read.parquet(str(path))
            present = df.columns
        except Exception as e:  # truncated or not Parquet at all
            raise C.ConformError(
                f"{rel}: not a readable Parquet file ({type(e).__name__}: {str(e).splitlines()[0][:300]})"
            ) from None
        missing = C.missing_columns(table, present)
        if missing:
            raise C.ConformError(f"{rel}: missing column(s) {', '.join(missing)} (table {table.name})")
        return C.conform_parquet(_with_row_numbers(df, small), table, rel)
    lines = _with_row_numbers(spark.read.text(str(path)), small).select("_source_row", "value")
    if path.suffix == ".csv":
        # The lake is a local folder and pull has checked the file is UTF-8 with short lines.
        with open(path, encoding="utf-8", newline="") as fh:
            first = fh.readline()
        if not first.strip():
            raise C.ConformError(f"{rel}: empty file (no header line)")
        header = next(csv.reader(io.StringIO(first)))
        header = [h.strip().lstrip("\ufeff") for h in header]
        missing = C.missing_columns(table, header)
        if missing:
            raise C.ConformError(f"{rel}: missing column(s) {', '.join(missing)} in the header (table {table.name})")
        return C.parse_csv_lines(lines.where("_source_row > 1"), header, table, rel)
    return C.parse_json_lines(lines, table, rel)


# An earlier day of the window is admitted with the tables ranking reads over the window (and the
# accounts its references are checked against); the follow graph is read for the run's day only.
WINDOW_TABLES = ("accounts", "posts", "interactions")
DAY = "admit_dt"
"""The column naming each row's snapshot day while several days are conformed together."""


def conform_day(
    spark: SparkSession,
    settings: Settings,
    network: str,
    day: dt.date,
    run_id: str,
    timings: dict | None = None,
    tables: tuple[str, ...] = schemas.INPUT_TABLES,
) -> dict:
    """Conform one network-day into the run's staging: good rows per table, rejected rows to quarantine.

    Day-level problems (a required table or column missing, a file that cannot be read at
    all) raise :class:`ConformError`. Row-level problems (:func:`jobs.conform.row_problems`)
    send the row to ``quarantine`` with its file, line and reason; ``audit-in`` decides whether
    the day's rejected share is acceptable, and only then moves the good rows into
    ``<lake>/conformed``. Returns the kept rows per table; the rejected counts are in the
    run's ``quarantine-<network>`` state. :func:`conform_days` does the work.
    """
    counts, errors = conform_days(spark, settings, network, [day], run_id, timings=timings, tables=tables)
    if errors:
        raise errors[day.isoformat()]
    return counts[day.isoformat()]


def conform_days(
    spark: SparkSession,
    settings: Settings,
    network: str,
    days: list[dt.date],
    run_id: str,
    timings: dict | None = None,
    tables: tuple[str, ...] = schemas.INPUT_TABLES,
) -> tuple[dict[str, dict], dict[str, C.ConformError]]:
    """Conform several days of one network together: per table, one read of every day's file, one
    aggregation and one write, each row judged within its own day (:func:`jobs.conform.row_problems`
    with ``day_column``), so that the result is what conforming each day alone gives.

    Returns the kept rows per day (ISO) and table, and the day-level error of each day that has
    one (that day is left out of the later tables; nothing of it is staged). ``tables``: the input
    tables to conform (an earlier window day: :data:`WINDOW_TABLES`; its rejected counts are then
    not saved as the run's ``quarantine-<network>`` state, which is the run's own day's).
    ``timings``, when given, receives each table's wall seconds (``bench/conform.py``).
    """
    lake = Lake(settings.lake)
    errors: dict[str, C.ConformError] = {}
    for d in days:
        if not lake.raw(network, d).is_dir():
            errors[d.isoformat()] = C.ConformError(f"{lake.raw(network, d)}: no raw snapshot (did pull run?)")
    counts: dict[str, dict] = {d.isoformat(): {} for d in days}
    rejected: dict[str, dict] = {d.isoformat(): {} for d in days}
    quarantined, cached = [], []
    known = held = None
    try:
        for name in tables:
            table = schemas.table(name)
            t0 = time.perf_counter()
            parts, rels, json_days = [], {}, set()
            for d in days:
                key = d.isoformat()
                if key in errors:
                    continue
                files = _raw_files(lake.raw(network, d), name)
                if not files:
                    if not table.optional:
                        errors[key] = C.ConformError(
                            f"network={network} dt={d}: missing table {name!r} (expected {name}.csv, .jsonl or .parquet)"
                        )
                    continue
                if len(files) > 1:
                    errors[key] = C.ConformError(
                        f"network={network} dt={d}: table {name!r} given twice: {', '.join(f.name for f in files)}"
                    )
                    continue
                path = files[0]
                rels[key] = f"raw/network={network}/dt={d}/{path.name}"
                try:
                    parts.append(read_raw_table(spark, path, table, rels[key]).withColumn(DAY, F.lit(key)))
                except C.ConformError as e:
                    errors[key] = e
                    continue
                if path.suffix in (".jsonl", ".json"):
                    json_days.add(key)
            if not parts:
                continue
            required = [f.name for f in table.fields if not f.nullable]
            raw = parts[0]
            for part in parts[1:]:
                raw = raw.unionByName(part)
            # Cached: only what the counts, the kept rows and the quarantine read (at 1M accounts
            # the follow table is 43M rows; the raw copies and the join flags would double it).
            checked = (
                C.row_problems(raw, table, None, known, held, day_column=DAY)
                .select(*table.column_names, *C.LINEAGE, C.PROBLEM, C.CORRUPT, *[f"_raw_{c}" for c in required], DAY)
                .persist()
            )
            cached.append(checked)
            per_day = (
                checked.groupBy(DAY)
                .agg(
                    F.count(F.lit(1)).alias("rows"),
                    F.count(C.PROBLEM).alias("rejected"),
                    F.count(C.CORRUPT).alias("unparsed"),
                    *[F.count(f"_raw_{c}").alias(c) for c in required],
                )
                .collect()
            )
            agg = {r[DAY]: r for r in per_day}
            for key in json_days:
                r = agg.get(key)
                if r is not None and r["rows"] > r["unparsed"]:
                    # JSON lines have no header: a required column no record carries is the same
                    # day-level error as a column missing from a CSV header.
                    missing = [c for c in required if r[c] == 0]
                    if missing:
                        errors[key] = C.ConformError(
                            f"{rels[key]}: missing column(s) {', '.join(missing)}: "
                            f"no record has a value for them (table {name})"
                        )
            good = [d.isoformat() for d in days if d.isoformat() in rels and d.isoformat() not in errors]
            if not good:
                continue
            ok = checked.where(F.col(DAY).isin(good))
            _write_per_day(
                C.kept_rows(ok, table, keep=(DAY,)),
                good,
                ["_source_row"],
                lambda key, name=name: lake.staged_input(run_id, name, network, dt.date.fromisoformat(key)),
                lake.staging(run_id) / "_batch" / name / f"network={network}",
                empty_too=True,
            )
            for key in good:
                r = agg.get(key)
                n_rows, n_bad = (r["rows"], r["rejected"]) if r is not None else (0, 0)
                counts[key][name] = n_rows - n_bad
                rejected[key][name] = n_bad
            failpoint("conform:after-first-table", when=name == tables[0])
            if any(rejected[key][name] for key in good):
                quarantined.append(C.quarantine_rows(ok, table, run_id, keep=(DAY,)))
            if name == "accounts":
                known = ok.where(F.col(C.PROBLEM).isNull()).select("account_id", DAY)
                held = ok.where(F.col(C.PROBLEM).isNotNull() & (F.trim("account_id") != "")).select("account_id", DAY)
            if timings is not None:
                timings[name] = time.perf_counter() - t0
        good = [d.isoformat() for d in days if d.isoformat() not in errors]
        q = spark.createDataFrame([], schemas.table("quarantine").spark_schema()).withColumn(
            DAY, F.lit(None).cast("string")
        )
        for bad in quarantined:
            q = q.unionByName(bad)
        if good:
            _write_per_day(
                q.where(F.col(DAY).isin(good)),
                good,
                ["source_file", "source_row"],
                lambda key: lake.staged(run_id, "quarantine", dt.date.fromisoformat(key), network),
                lake.staging(run_id) / "_batch" / "quarantine" / f"network={network}",
                empty_too=len(good) == 1,
            )
    finally:
        for df in cached:
            df.unpersist()
    if tables == schemas.INPUT_TABLES:
        for key in counts:
            if key not in errors:
                save_state(settings, run_id, f"quarantine-{network}", rejected[key])
    return {k: v for k, v in counts.items() if k not in errors}, errors


def _write_per_day(
    df: DataFrame, days: list[str], order: list[str], target_of, batch_dir: Path, empty_too: bool
) -> None:
    """Write ``df`` (carrying :data:`DAY`) as one Parquet folder per day at ``target_of(day)``.

    One day: one file in its folder, as ever. Several: one partitioned write into ``batch_dir``
    whose folders are then moved into place; with ``empty_too``, a day without rows still gets a
    folder holding an empty file with the schema (a table that exists and is empty)."""

    if len(days) == 1:
        out = df.drop(DAY)
        out = out.orderBy(*order) if order != ["_source_row"] else out
        out.coalesce(1).write.mode("overwrite").parquet(str(target_of(days[0])))
        return
    df.repartition(DAY).sortWithinPartitions(DAY, *order).write.partitionBy(DAY).mode("overwrite").parquet(
        str(batch_dir)
    )
    for key in days:
        folder = batch_dir / f"{DAY}={key}"
        if folder.is_dir():
            replace_dir(folder, target_of(key))
        elif empty_too:
            df.where(F.lit(False)).drop(DAY).coalesce(1).write.mode("overwrite").parquet(str(target_of(key)))
    shutil.rmtree(batch_dir, ignore_errors=True)


# --- rank ------------------------------------------------------------------
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


def rank_networks(spark: SparkSession, settings: Settings, networks: list[str], day: dt.date, run_id: str) -> dict:
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
    per_net = {}
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
        rings = detect_rings(edges, settings)
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
        per_net[network] = dict(
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
            d["accounts"]
            .where(F.col("account_id").isNotNull())
            .select(_qualified(network, "account_id").alias("id"), F.lit(network).alias("grp"))
            .distinct()
        )
        # factored slot weights: one weight per edge, the few slots that differ in a map
        d["slot_edges"] = T.slot_factors(
            d["edges"], d["tev"], d["topics"], settings.offtopic_factor, trust=True
        ).persist()
        t = T.slot_teleport(d["accounts"], d["rec"], d["topics"], seeds=d["seeds"]).select(
            _qualified(network, "id").alias("id"), "v"
        )
        vertices = v if vertices is None else vertices.unionByName(v)
        teleport = t if teleport is None else teleport.unionByName(t)
    # every group's slots: global, its topics, trusted seeds (a narrower group's extra slots stay empty)
    scale = T.slot_scale(max(len(d["topics"]) + 2 for d in per_net.values()), settings.offtopic_factor)
    assert vertices is not None and teleport is not None, "rank needs at least one network"
    t0 = time.time()
    result, sparks = _rank(per_net, vertices, teleport, scale, settings)
    seconds = time.time() - t0

    out = {}
    for network, d in per_net.items():
        accounts, edges, topics = d["accounts"], d["edges"], d["topics"]
        ranks = _network_ranks(result, network).persist()
        glob = ranks.select("id", F.get("pr", 0).alias("pagerank"))
        trust = ranks.select(F.col("id").alias("account_id"), F.get("pr", len(topics) + 1).alias("trust_rank"))
        scores = account_scores(
            glob,
            accounts,
            edges,
            previous_table(spark, lake, "account_scores", network, day),
            run_id,
            resp=d["resp"],
            trust=trust,
            seeds=d["seed_count"],
            settings=settings,
            rings=d["rings"],
        )
        n_scores = _stage(scores, lake, run_id, "account_scores", day, network, ["rank"])

        # topic ranks of the accounts with evidence on the topic only: the rows topic_scores keeps
        ts = topic_scores(
            T.topic_ranks(ranks, topics, only=d["evidence"]),
            d["rec"],
            d["act"],
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
            top, ranks, d["slot_edges"], settings.damping, settings.contributors_k, scale=scale, cap=cap
        ).persist()
        # the interactions behind each pair: every pair's for graph_edges (aggregated once, used
        # twice), and per topic only for the pairs score_contributors lists, not for every topic
        # event (several times the events; no measurable wall-time gain on the make-run sample:
        # docs/performance.md)
        pair_mix = T.kinds_mix(
            d["events"].select(F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), "kind"), ["src", "dst"]
        ).persist()
        listed = contrib.select(F.col("contributor_id").alias("src"), F.col("account_id").alias("dst")).distinct()
        listed_tev = (
            d["tev"]
            .select(F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), "topic", "kind")
            .join(listed, ["src", "dst"], "left_semi")
        )
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
        # the graph exactly as ranked (d["slot_edges"] as PageRank read it): any account's score explained (jobs/explain.py)
        n_graph = {
            "graph_edges": _stage(
                graph_edges(
                    d["slot_edges"],
                    d["events"],
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
        }
        pair_mix.unpersist()
        staged_edges = spark.read.parquet(str(lake.staged(run_id, "graph_edges", day, network)))
        n_graph["graph_vertices"] = _stage(
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
            topics_table(staged_topics, topics, d["same_as"], taxonomy, run_id),
            lake,
            run_id,
            "topics",
            day,
            network,
            ["topic"],
        )

        out[network] = {
            "edges": edges.count(),
            "accounts": n_scores,
            "topics_ranked": len(topics),
            "topics_folded": len(d["same_as"]),
            "topics": n_topic_list,
            "trusted_seeds": d["seed_count"],
            "ring_members": d["rings"].count(),
            "topic_scores": n_topic,
            "score_contributors": n_contrib,
            **n_graph,
            "iterations": result.iterations,
            "converged": result.converged,
            "pagerank_seconds": round(seconds, 3),
            **sparks[network],
            "spark_pairs_capped": staged_edges.where(F.col("flow_weight") < F.col("weight")).count(),
        }
        for k in ("edges", "events", "ptopics", "tev", "rec", "slot_edges", "act", "seeds", "rings", "volume"):
            if d[k] is not None:
                d[k].unpersist()
        ranks.unpersist()
    result.unpersist()
    return out


def _network_ranks(result, network: str) -> DataFrame:
    """One network's ``id, pr`` from a pass over every network (ids without the network prefix)."""
    prefix = len(network) + 2  # 1-based substring start after "<network>/"
    return result.ranks.where(F.col("grp") == network).select(F.expr(f"substring(id, {prefix})").alias("id"), "pr")


def _rank(per_net: dict, vertices: DataFrame, teleport: DataFrame, scale: list[float], settings: Settings):
    """One PageRank over every network's slot edges (``d["slot_edges"]``), with the spark cap
    (:mod:`jobs.sparks`): in the global slot and every topic slot, no contributor's flow into an
    account counts for more than ``spark_max_share`` of its rank (the trusted-seed slot is left
    uncapped: its teleport is a few seeds). Returns the result and, per network, the supersteps
    the cap took."""

    edges_all = None
    for network, d in per_net.items():
        e = d["slot_edges"].select(
            _qualified(network, "src").alias("src"), _qualified(network, "dst").alias("dst"), "w", "n", "m"
        )
        edges_all = e if edges_all is None else edges_all.unionByName(e)
    cap = {network: spark_cap_shares(len(d["topics"]), settings.spark_max_share) for network, d in per_net.items()}
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
    return result, {n: {"spark_cap_supersteps": result.capped_iterations} for n in per_net}


def spark_cap_shares(n_topics: int, max_share: float) -> list[float]:
    """A network's cap per slot (:func:`jobs.pagerank.pagerank_arrays`): the global slot 0 and the
    topic slots 1..K at ``max_share``, the trusted-seed slot K + 1 uncapped (0)."""
    return [float(max_share)] * (n_topics + 1) + [0.0]


# --- shared ------------------------------------------------------------------
def conform_window(spark: SparkSession, settings: Settings, day: dt.date, run_id: str, log=None) -> dict:
    """Conform the earlier window days that ``pull`` admitted (the run's ``admit`` state), oldest
    first, in this Spark application, with a progress line per network-day. A day that fails stops
    the run naming it, or with ``window_bad_day = skip`` is left out and recorded."""

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    admit = load_states(settings, run_id).get("admit") or {"days": {}, "skipped": {}}
    days, skipped = admit["days"], admit.get("skipped", {})
    networks = sorted({n for nets in days.values() for n in nets})
    for network in networks:
        mine = sorted(d for d, nets in days.items() if network in nets)
        # A small day is a handful of tiny Spark jobs whose cost is scheduling, not work: the
        # days are conformed in batches, each table of a batch in one pass.
        for start in range(0, len(mine), max(1, settings.admit_batch_days)):
            batch = mine[start : start + max(1, settings.admit_batch_days)]
            t0 = time.time()
            counts, errors = conform_days(
                spark, settings, network, [dt.date.fromisoformat(d) for d in batch], run_id, tables=WINDOW_TABLES
            )
            seconds = (time.time() - t0) / len(batch)
            for d in batch:
                if d in errors:
                    bad_window_day(settings, skipped, d, network, "conform", errors[d], day)
                    days[d].remove(network)
                    continue
                log(
                    f"[{day}] admit: dt={d} network={network} conformed ({counts[d].get('interactions', 0)} "
                    f"interactions, {counts[d].get('posts', 0)} posts; {seconds:.1f}s a day in a batch of {len(batch)})"
                )
    admit = {"days": {d: n for d, n in days.items() if n}, "skipped": skipped}
    save_state(settings, run_id, "admit", admit)
    return admit


def run_step(
    spark: SparkSession, step: str, settings: Settings, day: dt.date, run_id: str, networks: list[str]
) -> dict:
    if step == "conform":
        conform_window(spark, settings, day, run_id)  # the run's own day last: its quarantine counts are the run's
        return {network: conform_day(spark, settings, network, day, run_id) for network in networks}
    if step == "rank":
        return rank_networks(spark, settings, networks, day, run_id)
    raise ValueError(f"unknown Spark step {step!r}")


def main(argv: list[str] | None = None) -> int:

    p = argparse.ArgumentParser(prog="jobs/entry.py")
    p.add_argument("step", choices=["conform", "rank"])
    p.add_argument("--date", required=True)
    p.add_argument("--run-id", required=True)
    a = p.parse_args(argv)
    settings = load_settings()
    day = parse_date(a.date)
    rid = clean_run_id(a.run_id)
    with recorded(settings, a.step, day, rid):
        networks = _networks_for(settings, day)
        spark = session(settings, app_name=f"kindling-{a.step}-{day}")
        try:
            result = run_step(spark, a.step, settings, day, rid, networks)
        finally:
            spark.stop()
        save_state(settings, rid, a.step, result)
        print(json.dumps({a.step: result}, default=str))
    return 0


def _networks_for(settings: Settings, day: dt.date) -> list[str]:
    """Networks of the run: those pulled into the lake for the day."""

    return networks_of_day(settings, day)


if __name__ == "__main__":
    sys.exit(main())
