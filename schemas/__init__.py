"""Table definitions: the single source of every schema in Kindling.

Each table is one YAML file in ``schemas/tables/`` (fields, types, nullability,
descriptions, partitioning, and the value rules the quality suites check). The
Spark ``StructType``, the Arrow schema and the Great Expectations expectations
are all derived from these definitions here; no other module spells a schema out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TABLES_DIR = Path(__file__).parent / "tables"

INPUT_TABLES = ("accounts", "follows", "posts", "interactions")

# Partition columns are strings in every table ("dt" is YYYY-MM-DD).
PARTITION_TYPE = "string"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    allowed: tuple[str, ...] | None = None
    references: str | None = None
    min: float | None = None
    max: float | None = None
    in_snapshot_day: bool = False
    sums_to_one: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # "input" or "output"
    description: str
    partitioning: tuple[str, ...]
    primary_key: tuple[str, ...]
    fields: tuple[Field, ...]
    optional: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"table {self.name!r} has no field {name!r}")

    # --- derived schemas -------------------------------------------------
    def spark_schema(self, with_partitions: bool = False):
        from pyspark.sql import types as T

        cols = [T.StructField(f.name, _spark_type(f.type), f.nullable) for f in self.fields]
        if with_partitions:
            cols += [T.StructField(p, T.StringType(), False) for p in self.partitioning]
        return T.StructType(cols)

    def arrow_schema(self, with_partitions: bool = False):
        import pyarrow as pa

        cols = [pa.field(f.name, _arrow_type(f.type), f.nullable) for f in self.fields]
        if with_partitions:
            cols += [pa.field(p, pa.string(), False) for p in self.partitioning]
        return pa.schema(cols)


_SIMPLE = {"string", "long", "double", "boolean", "timestamp", "date", "int"}


def _spark_type(t: str):
    from pyspark.sql import types as T

    simple = {
        "string": T.StringType(),
        "long": T.LongType(),
        "int": T.IntegerType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "timestamp": T.TimestampType(),
        "date": T.DateType(),
    }
    if t in simple:
        return simple[t]
    if t.startswith("array<") and t.endswith(">"):
        return T.ArrayType(_spark_type(t[6:-1]), True)
    if t.startswith("map<") and t.endswith(">"):
        k, v = _map_types(t)
        return T.MapType(_spark_type(k), _spark_type(v), True)
    raise ValueError(f"unknown type {t!r} in schema")


def _arrow_type(t: str):
    import pyarrow as pa

    simple = {
        "string": pa.string(),
        "long": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }
    if t in simple:
        return simple[t]
    if t.startswith("array<") and t.endswith(">"):
        return pa.list_(_arrow_type(t[6:-1]))
    if t.startswith("map<") and t.endswith(">"):
        k, v = _map_types(t)
        return pa.map_(_arrow_type(k), _arrow_type(v))
    raise ValueError(f"unknown type {t!r} in schema")


def _map_types(t: str) -> tuple[str, str]:
    """``map<string,double>`` -> ("string", "double") (simple key and value types only)."""
    k, _, v = t[4:-1].partition(",")
    if k.strip() not in _SIMPLE or v.strip() not in _SIMPLE:
        raise ValueError(f"unknown type {t!r} in schema (a map's key and value must be simple types)")
    return k.strip(), v.strip()


def _load(path: Path) -> Table:
    raw = yaml.safe_load(path.read_text())
    fields = []
    for f in raw["fields"]:
        f = dict(f)
        if "allowed" in f:
            f["allowed"] = tuple(f["allowed"])
        fields.append(Field(**f))
    known = {"name", "kind", "description", "partitioning", "primary_key", "fields", "optional"}
    return Table(
        name=raw["name"],
        kind=raw["kind"],
        description=raw.get("description", ""),
        partitioning=tuple(raw.get("partitioning", [])),
        primary_key=tuple(raw.get("primary_key", [])),
        fields=tuple(fields),
        optional=bool(raw.get("optional", False)),
        extra={k: v for k, v in raw.items() if k not in known},
    )


@cache
def all_tables() -> dict[str, Table]:
    tables = {}
    for path in sorted(TABLES_DIR.glob("*.yaml")):
        t = _load(path)
        if t.name != path.stem:
            raise ValueError(f"{path}: table name {t.name!r} differs from the file name")
        tables[t.name] = t
    return tables


def table(name: str) -> Table:
    try:
        return all_tables()[name]
    except KeyError:
        raise KeyError(f"no table definition named {name!r} in {TABLES_DIR}") from None
