"""conform: parse one raw snapshot day into the canonical schemas.

Raw files (CSV, JSONL or Parquet, chosen by extension) arrive as lines or rows
numbered from 1; these pure transforms turn them into DataFrames with exactly the
columns of ``schemas/tables/<table>.yaml`` plus two lineage columns,
``_source_file`` and ``_source_row``, so that every later error can name the file
and row at fault. :func:`row_problems` names the row-level rule each row breaks (if any);
the entry point writes the good rows to the conformed table and the others to ``quarantine``.
"""

from __future__ import annotations

import datetime as dt
import functools

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from kindling.core.validate import CASCADED_REASON
from schemas import Field, Table

CORRUPT = "_corrupt"
LINEAGE = ("_source_file", "_source_row")
ARRAY_SEP = "|"


class ConformError(ValueError):
    """A raw file that cannot be conformed; the message names the file and rows."""


def _typed(raw: Column, f: Field, from_text: bool) -> Column:
    """Cast a raw value to the field's type; failures become null (checked by find_bad_rows)."""
    t = f.type
    if t == "string":
        return raw.cast("string")
    if t.startswith("array<"):
        if from_text:
            # CSV: "a|b|c"; empty string = empty list.
            return F.when(raw.isNull(), F.lit(None)).otherwise(
                F.when(F.trim(raw) == "", F.array().cast("array<string>")).otherwise(F.split(raw, r"\|"))
            )
        return raw.cast("array<string>")
    if t == "timestamp":
        s = raw.cast("string")
        return F.coalesce(F.try_to_timestamp(s), s.try_cast("timestamp")) if from_text else raw.try_cast("timestamp")
    if t == "boolean":
        s = F.lower(F.trim(raw.cast("string")))
        return (
            F.when(s.isin("true", "t", "1", "yes"), F.lit(True))
            .when(s.isin("false", "f", "0", "no"), F.lit(False))
            .otherwise(F.lit(None).cast("boolean"))
        )
    return raw.try_cast(t)


def _raw_type(f: Field) -> str:
    return "ARRAY<STRING>" if f.type.startswith("array<") else "STRING"


def missing_columns(table: Table, present: list[str]) -> list[str]:
    """Schema columns absent from a file's header (extra columns are allowed)."""
    return [c for c in table.column_names if c not in present]


def parse_csv_lines(lines: DataFrame, header: list[str], table: Table, source_file: str) -> DataFrame:
    """Parse CSV data lines (``_source_row``, ``value``; header line already removed)."""
    ddl = ", ".join(f"`{c}` STRING" for c in header) + f", `{CORRUPT}` STRING"
    parsed = lines.select(
        "_source_row",
        F.from_csv("value", ddl, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}).alias("p"),
    ).select("_source_row", "p.*")
    return _to_canonical(parsed, table, source_file, from_text=True)


def parse_json_lines(lines: DataFrame, table: Table, source_file: str) -> DataFrame:
    """Parse JSON-lines data (``_source_row``, ``value``). Blank lines are ignored."""
    ddl = ", ".join(f"`{f.name}` {_raw_type(f)}" for f in table.fields) + f", `{CORRUPT}` STRING"
    parsed = (
        lines.where(F.trim("value") != "")
        .select(
            "_source_row",
            F.from_json("value", ddl, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}).alias("p"),
        )
        .select("_source_row", "p.*")
    )
    return _to_canonical(parsed, table, source_file, from_text=True, keep_raw_arrays=True)


def conform_parquet(rows: DataFrame, table: Table, source_file: str) -> DataFrame:
    """Conform rows read from Parquet (already carrying ``_source_row``)."""
    rows = rows.withColumn(CORRUPT, F.lit(None).cast("string"))
    return _to_canonical(rows, table, source_file, from_text=False)


def _to_canonical(
    parsed: DataFrame, table: Table, source_file: str, from_text: bool, keep_raw_arrays: bool = False
) -> DataFrame:
    cols = []
    raw_cols = []
    for f in table.fields:
        raw = F.col(f"`{f.name}`")
        if keep_raw_arrays and f.type.startswith("array<"):
            typed = raw
        else:
            typed = _typed(raw, f, from_text)
        cols.append(typed.alias(f.name))
        raw_cols.append(raw.cast("string").alias(f"_raw_{f.name}"))
    return parsed.select(
        *cols,
        F.lit(source_file).alias("_source_file"),
        F.col("_source_row").cast("long").alias("_source_row"),
        F.col(CORRUPT).alias(CORRUPT),
        *raw_cols,
    )


def _problem(column, value: Column, reason) -> Column:
    col = column if isinstance(column, Column) else F.lit(column)
    why = reason if isinstance(reason, Column) else F.lit(reason)
    return F.struct(col.alias("column"), F.substring(value.cast("string"), 1, 200).alias("value"), why.alias("reason"))


def _parse_checks(table: Table) -> list[Column]:
    """A row that did not parse, or a value that did not convert to its field's type."""
    checks = [F.when(F.col(CORRUPT).isNotNull(), _problem("*", F.col(CORRUPT), "malformed line"))]
    for f in table.fields:
        if f.type in ("string",) or f.type.startswith("array<"):
            continue
        raw = F.col(f"_raw_{f.name}")
        checks.append(
            F.when(
                raw.isNotNull() & (F.trim(raw) != "") & F.col(f.name).isNull(),
                _problem(f.name, raw, f"not a valid {f.type}"),
            )
        )
    return checks


def find_bad_rows(df: DataFrame, table: Table) -> DataFrame:
    """Rows that did not parse, or whose value did not convert to the field's type.

    Returns ``_source_file``, ``_source_row``, ``column``, ``value``, ``reason``.
    Nulls are not bad here: see :func:`row_problems` for every row-level rule.
    """
    return (
        df.select("_source_file", "_source_row", F.explode(F.array(*_parse_checks(table))).alias("bad"))
        .where(F.col("bad").isNotNull())
        .select("_source_file", "_source_row", "bad.column", "bad.value", "bad.reason")
    )


PROBLEM = "_problem"


def row_problems(
    df: DataFrame,
    table: Table,
    day: dt.date | None,
    known_accounts: DataFrame | None = None,
    held_accounts: DataFrame | None = None,
    day_column: str | None = None,
) -> DataFrame:
    """Add ``_problem``: the first row-level rule the row breaks, as (column, value, reason), else null.

    The row-level rules, in the order they are tried: the line parses; each value converts to
    its field's type; required fields are neither null nor blank; values are in the field's
    allowed set; ``in_snapshot_day`` timestamps fall within ``day`` (UTC); references name an
    account of ``known_accounts`` (one column, ``account_id``: the day's accounts that passed,
    unique) — a reference to one of ``held_accounts`` (accounts whose own row was quarantined)
    is quarantined as :data:`CASCADED_REASON`, which the rejected-share limit does not count,
    so that one bad account row is one fault, not one per interaction; the primary key was not already seen on an earlier line (the first line keeps it). A row
    with a problem is quarantined; a table or column missing altogether is a day-level error
    and never reaches this function.

    ``day_column`` (instead of ``day``): rows of several snapshot days at once, each day named by
    that column (``YYYY-MM-DD``); every rule then applies within the row's own day (its snapshot
    day, its day's accounts — ``known_accounts`` and ``held_accounts`` carry the column too — and
    key uniqueness per day), so the result is the same as conforming each day alone.
    """
    by_day = [day_column] if day_column else []
    if day_column:
        start = F.to_timestamp(F.col(day_column))
        end = start + F.expr("INTERVAL 1 DAY")
        day_text = F.col(day_column)
    else:
        assert day is not None, "conform needs a day or a day column"
        start = F.lit(dt.datetime(day.year, day.month, day.day))
        end = F.lit(dt.datetime(day.year, day.month, day.day) + dt.timedelta(days=1))
        day_text = F.lit(day.isoformat())
    checks = _parse_checks(table)
    for f in table.fields:
        c = F.col(f.name)
        if not f.nullable:
            blank = c.isNull() | (F.trim(c) == "") if f.type == "string" else c.isNull()
            checks.append(F.when(blank, _problem(f.name, F.col(f"_raw_{f.name}"), "null or empty")))
        if f.allowed:
            checks.append(
                F.when(c.isNotNull() & ~c.isin(*f.allowed), _problem(f.name, c, "not one of " + ", ".join(f.allowed)))
            )
        if f.in_snapshot_day:
            out = c.isNotNull() & ((c < start) | (c >= end))
            reason = F.concat(F.lit("outside the snapshot day "), day_text, F.lit(" (UTC)"))
            checks.append(F.when(out, _problem(f.name, F.date_format(c, "yyyy-MM-dd'T'HH:mm:ss'Z'"), reason)))
    refs = [f for f in table.fields if f.references == "accounts.account_id"]
    if known_accounts is not None:
        for f in refs:
            known, held = f"_known_{f.name}", f"_held_{f.name}"
            df = df.join(
                known_accounts.select(F.col("account_id").alias(f.name), *by_day, F.lit(True).alias(known)),
                [f.name, *by_day],
                "left",
            )
            unknown = F.col(f.name).isNotNull() & F.col(known).isNull()
            if held_accounts is not None:
                df = df.join(
                    held_accounts.select(
                        F.col("account_id").alias(f.name), *by_day, F.lit(True).alias(held)
                    ).distinct(),
                    [f.name, *by_day],
                    "left",
                )
                checks.append(
                    F.when(unknown & F.col(held).isNotNull(), _problem(f.name, F.col(f.name), CASCADED_REASON))
                )
            checks.append(F.when(unknown, _problem(f.name, F.col(f.name), "unknown account")))
    pk = list(table.primary_key)
    if pk:
        any_null = functools.reduce(lambda a, b: a | b, [F.col(k).isNull() for k in pk])
        first = F.min("_source_row").over(Window.partitionBy(*by_day, *pk))
        df = df.withColumn("_first_row", F.when(any_null, F.lit(None)).otherwise(first))
        key = F.concat_ws(",", *[F.col(k) for k in pk])
        checks.append(
            F.when(
                F.col("_first_row").isNotNull() & (F.col("_first_row") < F.col("_source_row")),
                _problem(
                    ",".join(pk),
                    key,
                    F.concat(F.lit("duplicate key (first on row "), F.col("_first_row").cast("string"), F.lit(")")),
                ),
            )
        )
    return df.withColumn(PROBLEM, F.coalesce(*checks))


def quarantine_rows(checked: DataFrame, table: Table, run_id: str, keep: tuple[str, ...] = ()) -> DataFrame:
    """The rows :func:`row_problems` flagged, in the ``quarantine`` table's columns (then ``keep``)."""
    return (
        checked.where(F.col(PROBLEM).isNotNull())
        .select(
            F.lit(table.name).alias("input_table"),
            "_source_file",
            "_source_row",
            (
                F.concat_ws(",", *[F.col(k).cast("string") for k in table.primary_key])
                if table.primary_key
                else F.lit(None)
            )
            .cast("string")
            .alias("row_key"),
            F.col(f"{PROBLEM}.column").alias("column"),
            F.col(f"{PROBLEM}.value").alias("value"),
            F.col(f"{PROBLEM}.reason").alias("reason"),
            F.lit(run_id).alias("run_id"),
            *keep,
        )
        .withColumnRenamed("_source_file", "source_file")
        .withColumnRenamed("_source_row", "source_row")
    )


def kept_rows(checked: DataFrame, table: Table, keep: tuple[str, ...] = ()) -> DataFrame:
    """The rows that break no row-level rule, in the output contract of :func:`finalize` (then ``keep``)."""
    return finalize(checked.where(F.col(PROBLEM).isNull()), table, keep)


def finalize(df: DataFrame, table: Table, keep: tuple[str, ...] = ()) -> DataFrame:
    """The output contract: schema columns in order, then the lineage columns (then ``keep``)."""
    return df.select(*[F.col(c) for c in table.column_names], *[F.col(c) for c in LINEAGE], *keep)
