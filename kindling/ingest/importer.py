"""Import external graph data as snapshot folders (``kindling import snap-edgelist``).

Sits before the daily run: it writes what a data provider would drop at the
source, in the layout ``kindling generate`` writes and ``kindling.ingest.source`` reads::

    OUT/network=<n>/dt=<YYYY-MM-DD>/accounts.parquet      every account id seen in the file
                                   /posts.parquet         empty (an edge list has no posts)
                                   /interactions.parquet  one row per interaction
                                   /_SUCCESS

**Input.** A SNAP-style edge list: one edge per line, ``src dst``, ``src dst weight``
or ``src dst unix_ts``, fields separated by any run of spaces or tabs; lines whose
first non-blank character is ``#`` or ``%`` and blank lines are skipped; CRLF and a
UTF-8 byte-order mark are accepted. Ids are non-negative integers (SNAP's anonymised
ids) and become the account ids as decimal strings (``007`` and ``7`` are the same
account). Every data line must have the same number of fields.

**The third column** (``third``): ``weight`` — a positive integer, the number of
interactions the edge stands for (no rounding: ``1.5`` is an error, so is ``0``,
and more than ``MAX_WEIGHT`` is refused as a likely timestamp); ``timestamp`` —
Unix seconds (UTC), one interaction at that moment; ``auto`` (default) —
timestamps when *every* third value is an integer >= ``TIMESTAMP_MIN``
(1e9 = 2001-09-09), weights when none is, and an error naming the first
disagreeing line when the file mixes both.

**Dates.** With timestamps, each interaction lands in the snapshot day of its UTC
date, one folder per distinct date. Without (two columns, or weights) every
interaction is stamped 00:00:00 UTC of ``date``, which is then required.

**Rows.** ``event_id`` is ``<network>-L<line>-<k>``: the file line and the copy
``k`` (0 .. weight-1), so ids are unique, deterministic and point back at the
input. Accounts carry ``handle`` = the id (the file has no names) and
``account_type`` ``unknown``; every account goes into every day folder, because a
run ranks the accounts of its own day over the interactions of its window.
``post_id`` is null and ``posts`` is empty: nothing is invented, so the network
gets global scores and no topic scores.

**Output.** The whole file is parsed and checked before anything is written; each
day is then written into a temporary folder beside its target and renamed into
place (``_SUCCESS`` included), replacing an earlier import of that day, so an
interrupted import leaves complete days or none. The same file and arguments give
byte-identical files (pyarrow, rows in file order, no clock in any metadata).

**Scale.** The file is read in blocks of ``CHUNK_BYTES``; each block is classified
line by line with numpy and parsed by ``pyarrow.csv``; only a block that pyarrow
rejects is re-read line by line in Python to name the line at fault. What is kept
is numpy arrays (four int64 per edge; ids, times and event-id strings per
interaction), never a Python object per line.

Why one long module: one format (SNAP edge lists) from the parse to the snapshot folders, in
the order it runs; the fast pyarrow parse and the slow line-by-line parse that names a bad line
stay side by side so that they agree.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import schemas
from kindling.core.files import fsync_tree, parquet_bytes, replace_dir
from kindling.core.validate import InvalidArgument, network_name, parse_date

KINDS = ("reply", "mention", "repost")
THIRD_MODES = ("auto", "weight", "timestamp")
TIMESTAMP_MIN = 1_000_000_000
"""``auto``: a third value this large is a Unix timestamp (2001-09-09T01:46:40Z)."""
TIMESTAMP_MAX = 4_102_444_800
"""Timestamps from 2100-01-01 on are refused (most likely milliseconds)."""
MAX_WEIGHT = 1_000_000
"""A weight above this is refused (it is more likely a timestamp, and would be that many rows)."""
CHUNK_BYTES = 16 << 20
SUCCESS = "_SUCCESS"
_INT64_MAX = np.iinfo(np.int64).max


class EdgeListError(InvalidArgument):
    """Bad input; the message names the file and, when there is one, the line."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class EdgeList:
    """The data lines of an edge list, as int64 arrays in file order."""

    path: str
    src: np.ndarray
    dst: np.ndarray
    third: np.ndarray | None  # None for a two-column file
    line: np.ndarray  # 1-based line number of each edge
    lines: int  # lines in the file, comments and blanks included

    @property
    def edges(self) -> int:
        return len(self.src)


# --------------------------------------------------------------------------- reading

_FIELD_NAMES = {"auto": "third value", "weight": "weight", "timestamp": "timestamp"}
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_WHITESPACE = np.zeros(256, dtype=bool)  # as bytes.split() sees it, newline included
_WHITESPACE[list(b" \t\n\r\x0b\x0c")] = True


def read_edgelist(path: str | Path, third: str = "auto", chunk_bytes: int = CHUNK_BYTES) -> EdgeList:
    """Parse an edge list; raise :class:`EdgeListError` naming the line of the first problem.

    ``third`` only words the messages about the third column here.
    """
    if third not in THIRD_MODES:
        raise InvalidArgument(f"third must be one of {', '.join(THIRD_MODES)}, got {third!r}")
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument(f"{path}: no such file")
    parts: list[tuple[np.ndarray, ...]] = []
    ncols: int | None = None
    first_data_line: int | None = None
    next_line = 1
    with open(path, "rb") as fh:
        pending = b""
        if fh.read(3) != b"\xef\xbb\xbf":  # a UTF-8 byte-order mark is not part of line 1
            fh.seek(0)
        while True:
            block = fh.read(chunk_bytes)
            eof = not block
            data = pending + block
            if not eof:
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # a line longer than a block: keep reading
                    pending = data
                    continue
                data, pending = data[:cut], data[cut:]
            else:
                pending = b""
            if data:
                parsed, n_lines, ncols, first_data_line = _parse_block(
                    path, data, next_line, ncols, first_data_line, third
                )
                if parsed is not None:
                    parts.append(parsed)
                next_line += n_lines
            if eof:
                break
    lines = next_line - 1
    if not parts:
        raise EdgeListError(path, None, f"no edges: the file's {lines} line(s) are all comments or blank")
    cols = [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]
    line = cols.pop()
    for name, values in (("source id", cols[0]), ("target id", cols[1])):
        bad = np.flatnonzero(values < 0)
        if len(bad):
            raise EdgeListError(
                path, int(line[bad[0]]), f"{name} {values[bad[0]]} is negative (ids are non-negative integers)"
            )
    return EdgeList(str(path), cols[0], cols[1], cols[2] if len(cols) == 3 else None, line, lines)


def _parse_block(
    path: Path, data: bytes, first_line: int, ncols: int | None, first_data_line: int | None, third: str
) -> tuple[tuple[np.ndarray, ...] | None, int, int | None, int | None]:
    """One block of whole lines -> (columns + line numbers, lines in block, ncols, first data line)."""
    a = np.frombuffer(data, np.uint8)
    newline = a == 10
    vis = ~_WHITESPACE[a]
    nl = np.flatnonzero(newline)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(a)]))
    if a[-1] == 10:  # the empty remainder after the final newline is not a line
        starts, ends = starts[:-1], ends[:-1]
    n_lines = len(starts)
    # The first non-whitespace byte of each line decides: blank, comment or data.
    visible = np.flatnonzero(vis)
    pos = np.searchsorted(visible, starts)
    first = np.full(n_lines, len(a), dtype=np.int64)
    found = pos < len(visible)
    first[found] = visible[pos[found]]
    blank = first >= ends
    head = a[np.minimum(first, len(a) - 1)]
    is_data = ~blank & (head != ord("#")) & (head != ord("%"))
    rows = np.flatnonzero(is_data)
    if len(rows) == 0:
        return None, n_lines, ncols, first_data_line
    line_nos = first_line + rows.astype(np.int64)
    if ncols is None:
        i = rows[0]
        fields = data[starts[i] : ends[i]].split()
        first_data_line = int(line_nos[0])
        _check_count(path, first_data_line, len(fields), None, None)
        ncols = len(fields)
    cols = _parse_fast(_clean(a, newline, vis, first[is_data], is_data), ncols, len(rows))
    if cols is None:  # pyarrow refused something: find and name the line
        cols = _parse_slow(path, data, first_line, ncols, first_data_line, third)
    return (*cols, line_nos), n_lines, ncols, first_data_line


def _clean(a: np.ndarray, newline: np.ndarray, vis: np.ndarray, data_first: np.ndarray, is_data: np.ndarray) -> bytes:
    """The block's data lines only, fields separated by exactly one space (what pyarrow.csv reads).

    Per byte: the line it is on, whether it starts a field, and whether it is the whitespace
    byte just before a field that is not its line's first (that byte becomes the one space).
    """
    line_of = np.cumsum(newline, dtype=np.int32)
    line_of -= newline  # a newline belongs to the line it ends
    field_start = vis.copy()
    field_start[1:] &= ~vis[:-1]
    field_start[data_first] = False  # a line's first field needs no separator
    sep = np.zeros(len(a), dtype=bool)
    sep[:-1] = ~vis[:-1] & ~newline[:-1] & field_start[1:]
    keep = (vis | newline | sep) & is_data[line_of]
    out = a[keep]
    out[sep[keep]] = ord(" ")
    return out.tobytes()


def _parse_fast(clean: bytes, ncols: int, expected_rows: int) -> list[np.ndarray] | None:
    """pyarrow.csv over the cleaned block; None when it refuses anything."""
    from pyarrow import csv

    names = [f"c{i}" for i in range(ncols)]
    try:
        table = csv.read_csv(
            io.BytesIO(clean),
            read_options=csv.ReadOptions(column_names=names, block_size=max(1 << 20, len(clean) + 1)),
            parse_options=csv.ParseOptions(
                delimiter=" ", quote_char=False, double_quote=False, escape_char=False, ignore_empty_lines=True
            ),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.int64()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != expected_rows or any(c.null_count for c in table.columns):
        return None
    return [table.column(n).to_numpy() for n in names]


def _parse_slow(
    path: Path, data: bytes, first_line: int, ncols: int, first_data_line: int | None, third: str
) -> list[np.ndarray]:
    """Line by line: the reference parser, used to name the line at fault."""
    what = ("source id", "target id", _FIELD_NAMES[third])
    out: list[list[int]] = [[] for _ in range(ncols)]
    for i, raw in enumerate(data.split(b"\n")):
        fields = raw.split()
        if not fields or fields[0][:1] in (b"#", b"%"):
            continue
        line = first_line + i
        _check_count(path, line, len(fields), ncols, first_data_line)
        for j, f in enumerate(fields):
            text = f.decode("utf-8", "replace")
            if not _INTEGER.fullmatch(f):  # int() alone would take '1_000' and non-ASCII digits
                raise EdgeListError(path, line, f"{what[j]} {text!r} is not an integer")
            v = int(f)
            if not -_INT64_MAX <= v <= _INT64_MAX:
                raise EdgeListError(path, line, f"{what[j]} {text} is out of range")
            out[j].append(v)
    return [np.array(c, dtype=np.int64) for c in out]


def _check_count(path: Path, line: int, n: int, ncols: int | None, first_data_line: int | None) -> None:
    if ncols is not None:
        if n != ncols:
            more = "too many" if n > ncols else "too few"
            raise EdgeListError(
                path, line, f"{more} columns: {n}, but the first edge (line {first_data_line}) has {ncols}"
            )
        return
    if n < 2:
        raise EdgeListError(
            path, line, f"too few columns: {n} (expected 'src dst', 'src dst weight' or 'src dst unix_ts')"
        )
    if n > 3:
        raise EdgeListError(
            path, line, f"too many columns: {n} (expected 'src dst', 'src dst weight' or 'src dst unix_ts')"
        )


# --------------------------------------------------------------------------- interpreting


def resolve_third(edges: EdgeList, third: str = "auto") -> str:
    """What the third column holds: ``none`` (two columns), ``weight`` or ``timestamp``.

    Checks the values against that reading and raises :class:`EdgeListError` at the first bad line.
    """
    if third not in THIRD_MODES:
        raise InvalidArgument(f"third must be one of {', '.join(THIRD_MODES)}, got {third!r}")
    v, line = edges.third, edges.line
    if v is None:
        if third != "auto":
            raise EdgeListError(
                edges.path, int(line[0]), f"--third {third}: the file has two columns (src dst), no {third}"
            )
        return "none"
    neg = np.flatnonzero(v < 0)
    if len(neg):
        i = neg[0]
        label = _FIELD_NAMES[third]
        raise EdgeListError(
            edges.path,
            int(line[i]),
            f"negative {label} {v[i]} (weights are positive integers, timestamps Unix seconds)",
        )
    mode = third
    if third == "auto":
        big = v >= TIMESTAMP_MIN
        if big.all():
            mode = "timestamp"
        elif big.any():
            i = int(np.flatnonzero(big != big[0])[0])
            first_kind, this_kind = ("a timestamp", "a weight") if big[0] else ("a weight", "a timestamp")
            raise EdgeListError(
                edges.path,
                int(line[i]),
                f"third value {v[i]} looks like {this_kind} but line {line[0]} has {v[0]}, {first_kind}: "
                "the third column mixes timestamps and weights (say which with --third weight|timestamp)",
            )
        else:
            mode = "weight"
    if mode == "weight":
        checks = [
            (v == 0, "weight 0: weights are positive integers (drop the line or give it 1)"),
            (v > MAX_WEIGHT, f"weight above {MAX_WEIGHT:,} (a timestamp? say --third timestamp)"),
        ]
    else:
        checks = [(v >= TIMESTAMP_MAX, "timestamp after 2100-01-01 (milliseconds? timestamps are Unix seconds)")]
    for bad, why in checks:
        idx = np.flatnonzero(bad)
        if len(idx):
            raise EdgeListError(edges.path, int(line[idx[0]]), f"{why}: {v[idx[0]]}")
    return mode


@dataclass(frozen=True)
class Interactions:
    """Rows of the interactions table, in file order (line, then copy)."""

    edge: np.ndarray  # index of the interaction's edge in the EdgeList
    copy: np.ndarray  # 0 .. weight-1 within its edge
    micros: np.ndarray  # created_at, microseconds since the epoch (UTC)
    day: np.ndarray  # days since the epoch (UTC) of created_at


def build_interactions(edges: EdgeList, mode: str, date: dt.date | None) -> Interactions:
    """One interaction per edge, or ``weight`` of them; dated by timestamp or at 00:00 UTC of ``date``."""
    n = edges.edges
    if mode == "weight":
        assert edges.third is not None, "weight mode needs the edge list's third column"
        counts = edges.third
    else:
        counts = np.ones(n, dtype=np.int64)
    rep = np.repeat(np.arange(n), counts)
    copy = np.arange(len(rep), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    if mode == "timestamp":
        assert edges.third is not None, "timestamp mode needs the edge list's third column"
        seconds = edges.third[rep]
        day = seconds // 86400
    else:
        if date is None:
            raise InvalidArgument("--date is required when the file has no timestamps")
        epoch_day = (date - dt.date(1970, 1, 1)).days
        day = np.full(len(rep), epoch_day, dtype=np.int64)
        seconds = day * 86400
    return Interactions(rep, copy, seconds * 1_000_000, day)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    # np.unique (hash-based in numpy 2.3+) took seconds on a few million ids here; a sort takes 0.1 s.
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if len(x) else x


# --------------------------------------------------------------------------- tables


def _text(ids: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(ids, pa.int64()), pa.string())


def accounts_table(ids: np.ndarray) -> pa.Table:
    """Every account id (sorted numerically) with the schema's columns; unknowns stay null."""
    schema = schemas.table("accounts").arrow_schema()
    text = _text(ids)
    n = len(ids)
    cols = {
        "account_id": text,
        "handle": text,
        "account_type": pa.array(np.full(n, "unknown"), pa.string()),
    }
    return pa.Table.from_arrays(
        [cols[f.name] if f.name in cols else pa.nulls(n, f.type) for f in schema], schema=schema
    )


def interactions_table(
    edges: EdgeList, rows: Interactions, network: str, kind: str, index: np.ndarray | slice = slice(None)
) -> pa.Table:
    """The interactions table of the rows at ``index`` (one day's); event ids ``<network>-L<line>-<copy>``."""
    schema = schemas.table("interactions").arrow_schema()
    edge = rows.edge[index]
    n = len(edge)
    event_id = pc.binary_join_element_wise(f"{network}-L", _text(edges.line[edge]), "-", _text(rows.copy[index]), "")
    cols = {
        "event_id": event_id,
        "actor_id": _text(edges.src[edge]),
        "target_id": _text(edges.dst[edge]),
        "kind": pa.repeat(pa.scalar(kind, pa.string()), n),
        "post_id": pa.nulls(n, pa.string()),
        "created_at": pa.array(rows.micros[index], pa.timestamp("us", tz="UTC")),
    }
    return pa.Table.from_arrays([cols[f.name].cast(f.type) for f in schema], schema=schema)


def posts_table() -> pa.Table:
    return schemas.table("posts").arrow_schema().empty_table()


def _write_parquet(path: Path, table: pa.Table | bytes) -> None:
    path.write_bytes(table if isinstance(table, bytes) else parquet_bytes(table))


def write_day(out: Path, network: str, day: dt.date, tables: dict[str, pa.Table | bytes]) -> Path:
    """Write one snapshot day into a temporary folder, then rename it into place.

    ``tables`` maps a table name to its rows or to Parquet bytes already encoded (the
    accounts, identical in every day folder, are encoded once).
    """
    parent = out / f"network={network_name(network)}"
    target = parent / f"dt={day.isoformat()}"
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        for name, table in tables.items():
            _write_parquet(tmp / f"{name}.parquet", table)
        (tmp / SUCCESS).write_bytes(manifest(tables))
        fsync_tree(tmp)
        replace_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def manifest(tables: dict[str, pa.Table | bytes]) -> bytes:
    """The ``_SUCCESS`` marker's content: the rows of each table written (``kindling.ingest.source.manifest_rows``).

    The file was read whole, so the day is complete by construction: the input gate then takes a
    day far from the usual volume as a real change (a warning), not a partial delivery.
    """
    rows = {
        name: (t.num_rows if isinstance(t, pa.Table) else pq.read_metadata(io.BytesIO(t)).num_rows)
        for name, t in sorted(tables.items())
    }
    return json.dumps({"producer": "kindling import snap-edgelist", "rows": rows}, sort_keys=True).encode()


def import_snap_edgelist(
    path: str | Path,
    network: str,
    kind: str,
    out: str | Path,
    date: str | dt.date | None = None,
    third: str = "auto",
    chunk_bytes: int = CHUNK_BYTES,
) -> dict:
    """Parse, check, then write one snapshot folder per day. Returns a summary."""
    t0 = time.perf_counter()
    network = network_name(network)
    if kind not in KINDS:
        raise InvalidArgument(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    day = parse_date(date, "--date") if isinstance(date, str) else date
    edges = read_edgelist(path, third, chunk_bytes)
    mode = resolve_third(edges, third)
    if mode == "timestamp" and day is not None:
        raise InvalidArgument(
            f"{path}: --date is only for files without timestamps; "
            "the third column holds Unix timestamps, which give the dates"
        )
    if mode != "timestamp" and day is None:
        raise InvalidArgument(
            f"{path}: the file has no timestamps ({'weights' if mode == 'weight' else 'two columns'}): "
            "give --date YYYY-MM-DD for its interactions"
        )
    rows = build_interactions(edges, mode, day)
    ids = sorted_unique(np.concatenate([edges.src, edges.dst]))
    t_parsed = time.perf_counter()

    accounts = parquet_bytes(accounts_table(ids))
    posts = parquet_bytes(posts_table())
    out = Path(out)
    order = np.argsort(rows.day, kind="stable")  # by day, file order within a day
    by_day = rows.day[order]
    starts = np.flatnonzero(np.concatenate(([True], by_day[1:] != by_day[:-1])))
    days = by_day[starts]
    bounds = [*starts.tolist(), len(order)]
    written = []
    per_day = {}
    for i, d in enumerate(days):
        date_d = dt.date(1970, 1, 1) + dt.timedelta(days=int(d))
        inter = interactions_table(edges, rows, network, kind, order[bounds[i] : bounds[i + 1]])
        written.append(
            str(write_day(out, network, date_d, {"accounts": accounts, "posts": posts, "interactions": inter}))
        )
        per_day[date_d.isoformat()] = inter.num_rows
    return {
        "file": str(path),
        "network": network,
        "kind": kind,
        "third": mode,
        "lines": edges.lines,
        "edges": edges.edges,
        "self_loops": int((edges.src == edges.dst).sum()),
        "accounts": len(ids),
        "interactions": len(rows.edge),
        "days": per_day,
        "folders": written,
        "parse_seconds": round(t_parsed - t0, 3),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def format_summary(s: dict) -> str:
    third = {"none": "none (src dst)", "weight": "weight", "timestamp": "unix timestamp"}[s["third"]]
    days = s["days"]
    span = next(iter(days)) if len(days) == 1 else f"{min(days)} .. {max(days)}"
    lines = [
        f"read {s['file']}: {s['lines']:,} lines, {s['edges']:,} edges ({s['self_loops']:,} self-loops), third column: {third}",
        f"network={s['network']}: {s['accounts']:,} accounts, {s['interactions']:,} {s['kind']} interactions, "
        f"{len(days):,} day(s) {span}",
    ]
    if len(days) <= 10:
        lines += [f"  {f}  ({n:,} interactions)" for f, n in zip(s["folders"], days.values(), strict=True)]
    else:
        lines.append(f"  {s['folders'][0]} .. {s['folders'][-1]}")
    lines.append(f"done in {s['seconds']:.2f} s (parsing and checking {s['parse_seconds']:.2f} s)")
    return "\n".join(lines)
