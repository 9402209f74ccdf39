"""conform: parse one raw snapshot day into the canonical schemas.

Raw files (CSV, JSONL or Parquet, chosen by extension) arrive as lines or rows
numbered from 1; these pure transforms turn them into DataFrames with exactly the
columns of ``schemas/tables/<table>.yaml`` plus two lineage columns,
``_source_file`` and ``_source_row``, so that every later error can name the file
and row at fault. Rows that cannot be parsed or typed are returned separately by
:func:`find_bad_rows`; the entry point decides what to do with them.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

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
                F.when(F.trim(raw) == "", F.array().cast("array<string>")).otherwise(
                    F.split(raw, r"\|")
                )
            )
        return raw.cast("array<string>")
    if t == "timestamp":
        s = raw.cast("string")
        return F.coalesce(F.try_to_timestamp(s), s.try_cast("timestamp")) if from_text else raw.try_cast(
            "timestamp"
        )
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


def find_bad_rows(df: DataFrame, table: Table) -> DataFrame:
    """Rows that did not parse, or whose value did not convert to the field's type.

    Returns ``_source_file``, ``_source_row``, ``column``, ``value``, ``reason``.
    Nulls are not bad here: nullability is the quality suite's business.
    """
    checks = [
        F.when(F.col(CORRUPT).isNotNull(), F.struct(F.lit("*").alias("column"), F.substring(CORRUPT, 1, 200).alias("value"), F.lit("malformed line").alias("reason")))
    ]
    for f in table.fields:
        if f.type in ("string",) or f.type.startswith("array<"):
            continue
        checks.append(
            F.when(
                F.col(f"_raw_{f.name}").isNotNull()
                & (F.trim(F.col(f"_raw_{f.name}")) != "")
                & F.col(f.name).isNull(),
                F.struct(
                    F.lit(f.name).alias("column"),
                    F.substring(f"_raw_{f.name}", 1, 200).alias("value"),
                    F.lit(f"not a valid {f.type}").alias("reason"),
                ),
            )
        )
    return (
        df.select("_source_file", "_source_row", F.explode(F.array(*checks)).alias("bad"))
        .where(F.col("bad").isNotNull())
        .select("_source_file", "_source_row", "bad.column", "bad.value", "bad.reason")
    )


def finalize(df: DataFrame, table: Table) -> DataFrame:
    """The output contract: schema columns in order, then the lineage columns."""
    return df.select(*[F.col(c) for c in table.column_names], *[F.col(c) for c in LINEAGE])
