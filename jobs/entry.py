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
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # started as a script by spark-submit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import schemas
from jobs import conform as C
from jobs.graph import build_edges, window_dates
from jobs.score import account_scores
from kindling.failpoints import failpoint
from kindling.lake import Lake
from kindling.settings import Settings, load_settings
from kindling.state import save_state
from kindling.validate import parse_date
from kindling.validate import run_id as clean_run_id


# --- conform ---------------------------------------------------------------
def _raw_files(raw_dir: Path, table: str) -> list[Path]:
    return sorted(p for p in raw_dir.iterdir() if p.stem == table and p.suffix in (".csv", ".jsonl", ".json", ".parquet"))


def _with_row_numbers(df: DataFrame) -> DataFrame:
    """``df`` with ``_source_row``: 1-based, in file order (lines of a text file, rows of Parquet).

    One split (any file under the split size, the usual daily file) needs no job: the ids
    Spark gives partition 0 are 0, 1, 2, ... For several splits each partition's offset is the
    row count of the partitions before it (one small job; no Python workers). Nothing is
    cached: a file's splits are read in the same order by every job.
    """
    mid = F.monotonically_increasing_id()
    if df.rdd.getNumPartitions() == 1:
        return df.withColumn("_source_row", mid + 1)
    counts = sorted((r["_pid"], r["n"]) for r in df.groupBy(F.spark_partition_id().alias("_pid")).agg(F.count(F.lit(1)).alias("n")).collect())
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
    if path.suffix == ".parquet":
        try:
            df = spark.read.parquet(str(path))
            present = df.columns
        except Exception as e:  # truncated or not Parquet at all
            raise C.ConformError(f"{rel}: not a readable Parquet file ({type(e).__name__}: {str(e).splitlines()[0][:300]})") from None
        missing = C.missing_columns(table, present)
        if missing:
            raise C.ConformError(f"{rel}: missing column(s) {', '.join(missing)} (table {table.name})")
        return C.conform_parquet(_with_row_numbers(df), table, rel)
    lines = _with_row_numbers(spark.read.text(str(path))).select("_source_row", "value")
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


def conform_day(spark: SparkSession, settings: Settings, network: str, day: dt.date, run_id: str,
                timings: dict | None = None) -> dict:
    """Conform one network-day into the run's staging: good rows per table, rejected rows to quarantine.

    Day-level problems (a required table or column missing, a file that cannot be read at
    all) raise :class:`ConformError`. Row-level problems (:func:`jobs.conform.row_problems`)
    send the row to ``quarantine`` with its file, line and reason; ``audit-in`` decides whether
    the day's rejected share is acceptable, and only then moves the good rows into
    ``<lake>/conformed``. Returns the kept rows per table; the rejected counts are in the
    run's ``quarantine-<network>`` state.

    Per table: one aggregation (rows, rejected rows, and for JSON lines whether each required
    column appears at all) and one write; the quarantine is written once per network.
    ``timings``, when given, receives each table's wall seconds (``bench/conform.py``).
    """
    lake = Lake(settings.lake)
    raw_dir = lake.raw(network, day)
    if not raw_dir.is_dir():
        raise C.ConformError(f"{raw_dir}: no raw snapshot (did pull run?)")
    counts, rejected, quarantined, cached = {}, {}, [], []
    known = held = None
    try:
        for name in schemas.INPUT_TABLES:
            table = schemas.table(name)
            files = _raw_files(raw_dir, name)
            if not files:
                if table.optional:
                    continue
                raise C.ConformError(f"network={network} dt={day}: missing table {name!r} (expected {name}.csv, .jsonl or .parquet)")
            if len(files) > 1:
                raise C.ConformError(f"network={network} dt={day}: table {name!r} given twice: {', '.join(f.name for f in files)}")
            path = files[0]
            t0 = time.perf_counter()
            rel = f"raw/network={network}/dt={day}/{path.name}"
            json_lines = path.suffix in (".jsonl", ".json")
            required = [f.name for f in table.fields if not f.nullable] if json_lines else []
            # Cached: only what the counts, the kept rows and the quarantine read (at 1M accounts
            # the follow table is 43M rows; the raw copies and the join flags would double it).
            checked = C.row_problems(read_raw_table(spark, path, table, rel), table, day, known, held).select(
                *table.column_names, *C.LINEAGE, C.PROBLEM, C.CORRUPT, *[f"_raw_{c}" for c in required]
            ).persist()
            cached.append(checked)
            agg = checked.agg(
                F.count(F.lit(1)).alias("rows"),
                F.count(C.PROBLEM).alias("rejected"),
                F.count(C.CORRUPT).alias("unparsed"),
                *[F.count(f"_raw_{c}").alias(c) for c in required],
            ).first()
            if json_lines and agg["rows"] > agg["unparsed"]:
                # JSON lines have no header: a required column no record carries is the same
                # day-level error as a column missing from a CSV header.
                missing = [c for c in required if agg[c] == 0]
                if missing:
                    raise C.ConformError(f"{rel}: missing column(s) {', '.join(missing)}: no record has a value for them (table {name})")
            target = lake.staged_input(run_id, name, network, day)
            C.kept_rows(checked, table).coalesce(1).write.mode("overwrite").parquet(str(target))
            counts[name] = agg["rows"] - agg["rejected"]
            rejected[name] = agg["rejected"]
            failpoint("conform:after-first-table", when=len(counts) == 1)
            if agg["rejected"]:
                quarantined.append(C.quarantine_rows(checked, table, run_id))
            if name == "accounts":
                known = spark.read.parquet(str(target)).select("account_id")
                held = checked.where(F.col(C.PROBLEM).isNotNull() & (F.trim("account_id") != "")).select("account_id")
            if timings is not None:
                timings[name] = time.perf_counter() - t0
        q = spark.createDataFrame([], schemas.table("quarantine").spark_schema())
        for bad in quarantined:
            q = q.unionByName(bad)
        q.orderBy("source_file", "source_row").coalesce(1).write.mode("overwrite").parquet(str(lake.staged(run_id, "quarantine", day, network)))
    finally:
        for df in cached:
            df.unpersist()
    save_state(settings, run_id, f"quarantine-{network}", rejected)
    return counts


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


def _mapping_frames(spark: SparkSession, settings: Settings) -> tuple[DataFrame, DataFrame]:
    from kindling.topics import topic_map

    tm = topic_map(settings)
    tag_map = spark.createDataFrame(tm.tag_rows(), "key string, topic string")
    slug_map = spark.createDataFrame(tm.slug_rows(), "slug string, topic string")
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
    ``topic_scores`` and ``score_contributors`` are staged.
    """
    from jobs import topics as T
    from jobs.graph import decayed_events, volume_factor
    from jobs.pagerank import pagerank_arrays
    from jobs.responsive import responsiveness
    from jobs.rings import detect_rings, discount_rings
    from jobs.score import score_contributors, topic_scores
    from jobs.trust import trusted_seeds

    settings = settings.effective()  # with defenses=false, every defense off (evaluation only)
    lake = Lake(settings.lake)
    tag_map, slug_map = _mapping_frames(spark, settings)
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
        edges = build_edges(interactions, accounts, day, settings, events=events, volume=volume).persist()
        rings = detect_rings(edges, settings)
        if min(settings.ring_discount, settings.ring_member_credit) < 1:
            discounted = discount_rings(edges, rings, settings.ring_discount, outside=settings.ring_member_credit).persist()
            edges.unpersist()
            edges = discounted
        if posts is None:
            posts = spark.createDataFrame([], schemas.table("posts").spark_schema())
        ptopics = T.post_topics(posts, tag_map, slug_map).persist()
        tev = T.topic_events(events, ptopics).persist()
        # recognition of ring members is discounted as their edges are, and recognition is counted
        # relative to the account's posting volume, as its edges are
        rec = T.recognition(discount_rings(tev, rings, settings.ring_discount, "actor_id", "target_id", "w",
                                           outside=settings.ring_member_credit))
        rec = T.scale_recognition(rec, volume).persist()
        topics = T.ranked_topics(rec, settings.topic_min_recognized)
        follows = _read_conformed(spark, lake, "follows", network, [day])
        resp = responsiveness(interactions, known, follows, day, settings)
        seeds = trusted_seeds(spark, accounts, network, day, settings).persist()
        per_net[network] = dict(accounts=accounts, edges=edges, events=events, posts=posts, ptopics=ptopics, tev=tev, rec=rec, topics=topics, resp=resp,
                                seeds=seeds, seed_count=seeds.count(), rings=rings,
                                volume=volume)

    vertices = edges_all = teleport = None
    for network, d in per_net.items():
        v = d["accounts"].where(F.col("account_id").isNotNull()).select(_qualified(network, "account_id").alias("id"), F.lit(network).alias("grp")).distinct()
        # factored slot weights: one weight per edge, the few slots that differ in a map
        e = T.slot_factors(d["edges"], d["tev"], d["topics"], settings.offtopic_factor, trust=True)
        d["slot_edges"] = e.persist()
        e = d["slot_edges"].select(_qualified(network, "src").alias("src"), _qualified(network, "dst").alias("dst"), "w", "n", "m")
        t = T.slot_teleport(d["accounts"], d["rec"], d["topics"], seeds=d["seeds"]).select(_qualified(network, "id").alias("id"), "v")
        vertices = v if vertices is None else vertices.unionByName(v)
        edges_all = e if edges_all is None else edges_all.unionByName(e)
        teleport = t if teleport is None else teleport.unionByName(t)
    # every group's slots: global, its topics, trusted seeds (a narrower group's extra slots stay empty)
    scale = T.slot_scale(max(len(d["topics"]) + 2 for d in per_net.values()), settings.offtopic_factor)
    t0 = time.time()
    result = pagerank_arrays(vertices, edges_all, teleport, damping=settings.damping, tol=settings.tol, max_iter=settings.max_iter,
                             engine=settings.pagerank_engine, vector_max_mb=settings.pagerank_vector_max_mb, scale=scale)
    seconds = time.time() - t0

    out = {}
    for network, d in per_net.items():
        accounts, edges, topics = d["accounts"], d["edges"], d["topics"]
        prefix = len(network) + 2  # 1-based substring start after "<network>/"
        ranks = result.ranks.where(F.col("grp") == network).select(F.expr(f"substring(id, {prefix})").alias("id"), "pr").persist()
        glob = ranks.select("id", F.get("pr", 0).alias("pagerank"))
        trust = ranks.select(F.col("id").alias("account_id"), F.get("pr", len(topics) + 1).alias("trust_rank"))
        scores = account_scores(glob, accounts, edges, previous_table(spark, lake, "account_scores", network, day), run_id,
                                resp=d["resp"], trust=trust, seeds=d["seed_count"], settings=settings,
                                rings=d["rings"])
        n_scores = _stage(scores, lake, run_id, "account_scores", day, network, ["rank"])

        act = T.activity(d["posts"], d["ptopics"], d["events"], d["tev"], settings.interest_prior)
        # topic ranks of the accounts with evidence on the topic only: the rows topic_scores keeps
        evidence = d["rec"].select("account_id", "topic").unionByName(act.select("account_id", "topic"))
        ts = topic_scores(T.topic_ranks(ranks, topics, only=evidence), d["rec"], act, accounts,
                          previous_table(spark, lake, "topic_scores", network, day), run_id)
        n_topic = _stage(ts, lake, run_id, "topic_scores", day, network, ["topic", "rank_in_topic"])

        top_n = settings.contributors_top_n
        slot_of = F.create_map(*[x for i, t in enumerate(topics, start=1) for x in (F.lit(t), F.lit(i))]) if topics else None
        staged_topics = spark.read.parquet(str(lake.staged(run_id, "topic_scores", day, network)))
        top = spark.read.parquet(str(lake.staged(run_id, "account_scores", day, network))).where(F.col("rank") <= top_n).select("account_id", F.lit(0).alias("slot"))
        if slot_of is not None:
            top = top.unionByName(staged_topics.where(F.col("rank_in_topic") <= top_n).select("account_id", slot_of[F.col("topic")].alias("slot")))
        contrib = T.contributors(top, ranks, d["slot_edges"], settings.damping, settings.contributors_k, scale=scale)
        mix = T.kinds_mix(d["events"].select(F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), "kind"), ["src", "dst"]).select(
            "src", "dst", F.lit(None).cast("string").alias("topic"), "events", "kinds"
        ).unionByName(T.kinds_mix(d["tev"].select(F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), "topic", "kind"), ["src", "dst", "topic"]))
        sc = score_contributors(contrib, topics, accounts, mix, run_id)
        n_contrib = _stage(sc, lake, run_id, "score_contributors", day, network, ["topic", "account_id", "contributor_rank"])

        out[network] = {
            "edges": edges.count(),
            "accounts": n_scores,
            "topics_ranked": len(topics),
            "trusted_seeds": d["seed_count"],
            "ring_members": d["rings"].count(),
            "topic_scores": n_topic,
            "score_contributors": n_contrib,
            "iterations": result.iterations,
            "converged": result.converged,
            "pagerank_seconds": round(seconds, 3),
        }
        for k in ("edges", "events", "ptopics", "tev", "rec", "slot_edges", "seeds", "rings", "volume"):
            if d[k] is not None:
                d[k].unpersist()
        ranks.unpersist()
    result.unpersist()
    return out


# --- shared ------------------------------------------------------------------
def run_step(spark: SparkSession, step: str, settings: Settings, day: dt.date, run_id: str, networks: list[str]) -> dict:
    if step == "conform":
        return {network: conform_day(spark, settings, network, day, run_id) for network in networks}
    if step == "rank":
        return rank_networks(spark, settings, networks, day, run_id)
    raise ValueError(f"unknown Spark step {step!r}")


def main(argv: list[str] | None = None) -> int:
    from kindling.spark import session
    from kindling.steps import recorded

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
    from kindling.steps import networks_of_day

    return networks_of_day(settings, day)


if __name__ == "__main__":
    sys.exit(main())
