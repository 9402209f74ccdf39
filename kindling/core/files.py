"""Files written whole or not at all, and the one set of Parquet writer options.

Every file Kindling writes outside Spark goes through here: a temporary name beside the target,
flushed to disk, then ``os.replace``\\ d over it (atomic on POSIX), so a reader or a crash never sees
half a file. Folders are replaced the same way (:func:`replace_dir`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1 << 20,
    "version": "2.6",
}
"""pyarrow's ``write_table`` options for every Parquet file written outside Spark (snapshots,
imports, the runs table). pyarrow writes no clock into the metadata: the same rows give the same bytes."""


def _tmp_beside(path: Path, suffix: str) -> Path:
    return path.parent / f".{path.name}.{uuid.uuid4().hex}.{suffix}"


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file below ``root`` to disk (before the folder is renamed into place)."""
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            fsync_file(Path(dirpath) / f)


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` or what it held before, never a part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(path, "tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def parquet_bytes(table) -> bytes:
    """``table`` (a pyarrow Table) as Parquet bytes, with :data:`PARQUET_OPTIONS`."""
    import pyarrow as pa  # deferred: the callers that need Parquet load pyarrow, the others do not
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **PARQUET_OPTIONS)
    return sink.getvalue().to_pybytes()


def write_atomic_parquet(path: Path, table) -> None:
    """``table`` written to ``path`` with :data:`PARQUET_OPTIONS`, atomically (streamed, not held in memory)."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(path, "tmp")
    try:
        pq.write_table(table, tmp, **PARQUET_OPTIONS)
        fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def replace_dir(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``, replacing what was there: the old one is renamed aside
    first, then ``new`` renamed in, then the old one removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    trash = _tmp_beside(target, "old")
    if target.exists():
        os.replace(target, trash)
    os.replace(new, target)
    if trash.exists():
        shutil.rmtree(trash, ignore_errors=True)
