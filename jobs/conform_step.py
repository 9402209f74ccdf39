"""The conform step: a day's raw snapshot files into the canonical schemas (``lake/conformed``).

Reads the pulled raw files (CSV, JSON lines, Parquet), numbers their rows, runs the pure transforms of
:mod:`jobs.conform` and writes each day's tables; :func:`conform_window` first admits every day of
the window the lake lacks, in batches. Called by :mod:`jobs.entry` (spark-submit) and in process.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import sys
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import schemas
from jobs import conform as C
from kindling.core.failpoints import failpoint
from kindling.core.settings import Settings
from kindling.storage.lake import Lake, replace_dir
from kindling.storage.runs import bad_window_day
from kindling.storage.state import load_states, save_state


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
