"""Answers from the published tables, through DuckDB (read-only, bound parameters).

Readers see only published partitions: ``<lake>/tables/<table>/dt=*/network=*/*.parquet``
(the ``dt=`` entries are links to immutable versions; staging lives elsewhere).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from kindling.lake import Lake
from kindling.validate import InvalidArgument, network_name, parse_date


def _connect():
    import duckdb

    return duckdb.connect(database=":memory:")


def _glob(lake: Lake, table: str) -> str:
    return str(lake.table(table) / "dt=*" / "network=*" / "*.parquet")


def resolve_date(lake: Lake, table: str, date: str | None) -> dt.date:
    dates = lake.published_dates(table)
    if not dates:
        raise LookupError(f"nothing is published in {lake.table(table)} yet")
    if date in (None, "latest"):
        return dates[-1]
    day = parse_date(date)
    if day not in dates:
        raise LookupError(f"{table}: dt={day} is not published (latest is {dates[-1]})")
    return day


def top(lake_root: str | Path, network: str, date: str | None = "latest", n: int = 20) -> list[dict]:
    lake = Lake(lake_root)
    network = network_name(network)
    if not (1 <= int(n) <= 100000):
        raise InvalidArgument("-n must be between 1 and 100000")
    day = resolve_date(lake, "account_scores", date)
    path = lake.published("account_scores", day) / f"network={network}"
    if not path.is_dir():
        raise LookupError(f"account_scores: network={network} is not published for dt={day}")
    con = _connect()
    rows = con.execute(
        "SELECT rank, account_id, handle, account_type, influence, pagerank, influence_change "
        "FROM read_parquet(?) ORDER BY rank LIMIT ?",
        [str(path / "*.parquet"), int(n)],
    ).fetchall()
    cols = ["rank", "account_id", "handle", "account_type", "influence", "pagerank", "influence_change"]
    return [dict(zip(cols, r, strict=False), dt=day.isoformat(), network=network) for r in rows]


def format_rows(rows: list[dict], fmt: str = "table", columns: list[str] | None = None) -> str:
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0].keys())
    if fmt == "json":
        return json.dumps(rows, default=str, indent=1)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue().rstrip("\n")
    if fmt != "table":
        raise InvalidArgument(f"--format must be table, json or csv, not {fmt!r}")

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.6g}" if abs(v) < 1e-3 and v != 0 else f"{v:.2f}"
        s = str(v)
        return s if len(s) <= 20 else s[:19] + "…"

    grid = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(g[i]) for g in grid)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(g[i].rjust(widths[i]) if _numeric(rows, columns[i]) else g[i].ljust(widths[i]) for i in range(len(columns))) for g in grid]
    return "\n".join(lines)


def _numeric(rows, col) -> bool:
    return any(isinstance(r.get(col), (int, float)) for r in rows)
