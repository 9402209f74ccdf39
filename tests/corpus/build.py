"""Build a broken snapshot day from ``base/`` and a case folder's ``case.toml``.

A case is a small folder: ``case.toml`` says what is broken (the mutations below, applied to
a copy of the clean ``base/`` day, in the order written here) and what the pipeline must do
about it; any other file in the folder is copied over the base verbatim. Line numbers are
the file's own (CSV: the header is line 1; JSON lines: line 1 is the first record; Parquet:
row 1 is the first row), the numbers the pipeline's messages and the quarantine table use.

Mutations (all optional):

    network = ".."                      the network folder's name (default "corpus")
    no_success = true                   no _SUCCESS marker
    remove = ["follows.csv"]            files removed
    rename = {"a.csv" = "b.csv"}        files renamed
    [[set]]                             values replaced on some lines of a table's file
    file = "interactions.parquet"
    lines = [8, 9]  or  every = 10      (every 10th line of data)  or  first = 30
    values = {kind = "superlike"}       ("" = empty, "@null" = null, "@drop" = key removed: JSON lines)
    [[text]]                            raw text lines replaced (CSV/JSON lines)
    file = "accounts.csv"
    line = 5
    text = "a,b,c"    or  hex = "c3"    (bytes appended to the line, e.g. not UTF-8)
    pad = 2000000                       (the line padded with this many spaces at its end)
    [[keep]]                            only the first rows of a file kept
    file = "interactions.parquet"
    first = 60
    repeat = {file = "interactions.parquet", times = 10}      rows repeated with fresh keys
    truncate = {file = "interactions.parquet", bytes = 3000}  the file cut short
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CORPUS = Path(__file__).resolve().parent
BASE = CORPUS / "base"
DAY = "2026-11-20"
KEYS = {"accounts": "account_id", "interactions": "event_id", "posts": "post_id"}


def cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if (p / "case.toml").is_file())


def load(case: str) -> dict:
    return tomllib.loads((CORPUS / case / "case.toml").read_text())


def build(case: str, source: Path) -> tuple[dict, Path]:
    """Write the broken day under ``source/network=<n>/dt=<DAY>/``; return (spec, the day folder)."""
    spec = load(case)
    day = source / f"network={spec.get('network', 'corpus')}" / f"dt={DAY}"
    day.mkdir(parents=True)
    for f in BASE.iterdir():
        shutil.copy(f, day / f.name)
    for f in (CORPUS / case).iterdir():
        if f.name != "case.toml":
            shutil.copy(f, day / f.name)
    for name in spec.get("remove", []):
        (day / name).unlink()
    for old, new in spec.get("rename", {}).items():
        (day / old).rename(day / new)
    for edit in spec.get("set", []):
        _set(day / edit["file"], edit)
    for edit in spec.get("text", []):
        _text(day / edit["file"], edit)
    for keep in spec.get("keep", []):
        _rows(day / keep["file"], lambda rows, n=keep["first"]: rows[:n])
    if "repeat" in spec:
        f = day / spec["repeat"]["file"]
        key = KEYS[f.stem]
        _rows(
            f,
            lambda rows: [
                {**r, key: f"{r[key]}-r{k}"} if k else r for k in range(spec["repeat"]["times"]) for r in rows
            ],
        )
    if "truncate" in spec:
        f = day / spec["truncate"]["file"]
        f.write_bytes(f.read_bytes()[: spec["truncate"]["bytes"]])
    if not spec.get("no_success"):
        (day / "_SUCCESS").write_bytes(b"")
    return spec, day


def edited_lines(spec: dict, total: dict[str, int]) -> dict[str, set[int]]:
    """The lines each ``[[set]]``/``[[text]]`` edit touched, per file (for the quarantine check)."""
    out: dict[str, set[int]] = {}
    for edit in spec.get("set", []):
        out.setdefault(edit["file"], set()).update(_chosen(edit, Path(edit["file"]).suffix, total[edit["file"]]))
    for edit in spec.get("text", []):
        out.setdefault(edit["file"], set()).add(edit["line"])
    return out


def data_lines(path: Path) -> int:
    """How many data lines (rows) the base file has, numbered as in messages: see :func:`_chosen`."""
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    return len(path.read_text().splitlines()) - (1 if path.suffix == ".csv" else 0)


def _chosen(edit: dict, suffix: str, n_rows: int) -> list[int]:
    first_line = 2 if suffix == ".csv" else 1  # CSV line 1 is the header
    all_lines = list(range(first_line, first_line + n_rows))
    if "lines" in edit:
        return list(edit["lines"])
    if "every" in edit:
        return all_lines[edit["every"] - 1 :: edit["every"]]
    return all_lines[: edit["first"]]


def _value(v):
    return None if v == "@null" else v


def _set(path: Path, edit: dict) -> None:
    def change(rows: list[dict]) -> list[dict]:
        first_line = 2 if path.suffix == ".csv" else 1
        for line in _chosen(edit, path.suffix, len(rows)):
            row = rows[line - first_line]
            for k, v in edit["values"].items():
                if v == "@drop":
                    row.pop(k, None)
                else:
                    row[k] = _value(v)
        return rows

    _rows(path, change)


def _rows(path: Path, change) -> None:
    """Read a table file as dicts, apply ``change``, write it back in the same format."""
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(path.read_text()))
        rows = change(list(reader))
        out = io.StringIO()
        w = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        path.write_text(out.getvalue())
    elif path.suffix == ".jsonl":
        rows = change([json.loads(line) for line in path.read_text().splitlines()])
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        table = pq.read_table(path)
        rows = change(table.to_pylist())
        schema = table.schema
        if any(r[f.name] is None for f in schema if not f.nullable for r in rows):
            # a null set into a column declared non-nullable: the file declares it nullable
            schema = pa.schema([f.with_nullable(True) for f in schema])
        try:
            new = pa.Table.from_pylist(rows, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            # a string set into a column of another type: the file gets that column as strings
            odd = {
                f.name
                for f in table.schema
                if not pa.types.is_string(f.type) and any(isinstance(r[f.name], str) for r in rows)
            }
            rows = [{k: (_iso(v) if k in odd else v) for k, v in r.items()} for r in rows]
            schema = pa.schema([pa.field(f.name, pa.string()) if f.name in odd else f for f in schema])
            new = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(new, path)


def _iso(v):
    return v.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(v, "strftime") else v


def _text(path: Path, edit: dict) -> None:
    lines = path.read_bytes().split(b"\n")
    i = edit["line"] - 1
    if "text" in edit:
        lines[i] = edit["text"].encode()
    if "hex" in edit:
        lines[i] += bytes.fromhex(edit["hex"])
    if "pad" in edit:
        lines[i] += b" " * edit["pad"]
    path.write_bytes(b"\n".join(lines))
