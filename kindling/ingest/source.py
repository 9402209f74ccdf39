"""Snapshot source: find a day's snapshot and pull its raw files into the lake.

The source (``KINDLING_SOURCE``) is a local path, ``file://`` or ``http(s)://``
URL read through fsspec, holding ``network=<n>/dt=<YYYY-MM-DD>/`` folders. A
day is complete once its ``_SUCCESS`` marker exists; ``pull`` then copies its
files unchanged into ``<lake>/raw/`` (a temporary folder renamed into place, so
a half-copied day is never seen) and does nothing when the same bytes are
already there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import uuid
from pathlib import Path
from urllib.parse import unquote

import fsspec

from kindling.core.settings import Settings, load_settings
from kindling.core.validate import InvalidArgument, network_name, parse_date
from kindling.storage.lake import Lake, replace_dir

SUCCESS = "_SUCCESS"
EXTENSIONS = (".csv", ".jsonl", ".json", ".parquet")
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # fullmatch: "$" matches before a newline


class SourceError(RuntimeError):
    pass


def _fs(source: str):
    fs, _, (root,) = fsspec.get_fs_token_paths(source)
    return fs, root.rstrip("/")


def _name(entry) -> str:
    """The last path component of a listing entry (HTTP listings URL-encode '=')."""
    return unquote(str(entry).rstrip("/").rsplit("/", 1)[-1])


def day_url(settings: Settings, network: str, day: dt.date) -> str:
    return f"{settings.source.rstrip('/')}/network={network_name(network)}/dt={day.isoformat()}"


def list_networks(settings: Settings) -> list[str]:
    """The configured networks, or every ``network=<n>`` folder at the source."""
    if settings.networks:
        return [network_name(n) for n in settings.networks]
    fs, root = _fs(settings.source)
    try:
        entries = fs.ls(root, detail=False)
    except FileNotFoundError:
        raise SourceError(f"snapshot source {settings.source} does not exist") from None
    nets = []
    for e in entries:
        name = _name(e)
        if name.startswith("network="):
            try:
                nets.append(network_name(name.split("=", 1)[1]))
            except InvalidArgument as err:  # name the folder as listed ('a%2F..') too, not only as decoded
                listed = str(e).rstrip("/").rsplit("/", 1)[-1]
                raise InvalidArgument(f"snapshot source {settings.source}: folder {listed!r}: {err}") from None
    if not nets:
        raise SourceError(f"no network=<name> folders at snapshot source {settings.source}")
    return sorted(nets)


def latest_snapshot_date(settings: Settings) -> dt.date:
    """The latest date for which every network has a complete snapshot."""
    fs, root = _fs(settings.source)
    per_net = []
    for n in list_networks(settings):
        dates = set()
        for e in fs.ls(f"{root}/network={n}", detail=False):
            name = _name(e)
            if name.startswith("dt="):
                with contextlib.suppress(ValueError):
                    d = dt.date.fromisoformat(name[3:])
                    if fs.exists(f"{root}/network={n}/{name}/{SUCCESS}"):
                        dates.add(d)
        per_net.append(dates)
    common = set.intersection(*per_net) if per_net else set()
    if not common:
        raise SourceError(f"no complete snapshot day common to every network at {settings.source}")
    return max(common)


def snapshot_ready(date: str | dt.date, settings: Settings | None = None) -> bool:
    """True when every network has the day's ``_SUCCESS`` marker (the sensor's test)."""

    settings = settings or load_settings()
    day = parse_date(date) if isinstance(date, str) else date
    fs, _ = _fs(settings.source)
    try:
        nets = list_networks(settings)
    except SourceError:
        return False
    return all(fs.exists(f"{_fs(day_url(settings, n, day))[1]}/{SUCCESS}") for n in nets)


def network_day_ready(settings: Settings, network: str, day: dt.date) -> bool:
    """True when the source holds ``network``'s snapshot of ``day`` with its ``_SUCCESS`` marker."""
    fs, root = _fs(day_url(settings, network, day))
    try:
        return fs.exists(f"{root}/{SUCCESS}")
    except (FileNotFoundError, OSError):
        return False


def _day_files(fs, root: str) -> list[str]:
    try:
        names = [_name(p) for p in fs.ls(root, detail=False)]
    except (FileNotFoundError, NotImplementedError):
        names = []
    return sorted(n for n in names if n != SUCCESS and not _hidden(n))


def _hidden(name: str) -> bool:
    """A dotfile (``.part-0.crc``), skipped; not a name that decodes to ``../x`` (refused by ``pull``)."""
    return name.startswith(".") and ".." not in name and _FILE_NAME.fullmatch(name[1:]) is not None


def pull(settings: Settings, network: str, day: dt.date) -> dict:
    """Copy one network-day from the source into ``<lake>/raw`` unchanged. Idempotent."""
    lake = Lake(settings.lake)
    url = day_url(settings, network, day)
    fs, root = _fs(url)
    if not fs.exists(f"{root}/{SUCCESS}"):
        raise SourceError(f"{url}: no {SUCCESS} marker; the snapshot is not complete")
    names = _day_files(fs, root)
    if not names:
        raise SourceError(f"{url}: the snapshot folder holds no files")
    for name in names:
        if not _FILE_NAME.fullmatch(name) or ".." in name:
            raise InvalidArgument(f"{url}: file name {name!r} is not allowed")
    target = lake.raw(network, day)
    digests = {}
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir(parents=True)
    try:
        for name in names:
            h = hashlib.sha256()
            lines = TextCheck(f"{url}/{name}", settings.max_line_bytes) if name.endswith(TEXT_EXTENSIONS) else None
            with fs.open(f"{root}/{name}", "rb") as src, open(tmp / name, "wb") as dst:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    if lines:
                        lines.feed(chunk)
                    h.update(chunk)
                    dst.write(chunk)
            if lines:
                lines.close()
            digests[name] = h.hexdigest()
        marker = _marker_bytes(fs, f"{root}/{SUCCESS}")
        (tmp / SUCCESS).write_bytes(marker)
        if target.is_dir() and _same_content(target, digests) and (target / SUCCESS).read_bytes() == marker:
            return {"network": network, "files": names, "copied": False}
        replace_dir(tmp, target)
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return {"network": network, "files": names, "copied": True}


TEXT_EXTENSIONS = (".csv", ".jsonl", ".json")


class TextCheck:
    """Streamed checks of a text file while it is copied: UTF-8 throughout, and no line longer
    than ``max_line`` bytes (one enormous line would land in one Spark task and in every
    error message). Both fail the day, naming the file and the line.

    Cost per 1 MiB chunk: one incremental decode and one newline count, both in C; lines are
    only walked one by one in a chunk that holds a line longer than the limit.
    """

    def __init__(self, name: str, max_line: int):
        import codecs

        self.name, self.max_line = name, max_line
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.line = 1  # the line the next byte belongs to
        self.run = 0  # bytes since the last newline

    def _too_long(self, line: int) -> SourceError:
        return SourceError(
            f"{self.name}: line {line} is longer than max_line_bytes ({self.max_line:,} bytes); the file is refused"
        )

    def feed(self, chunk: bytes) -> None:
        try:
            self.decoder.decode(chunk)
        except UnicodeDecodeError as e:
            line = self.line + chunk.count(b"\n", 0, max(e.start, 0))
            raise SourceError(
                f"{self.name}: line {line}: bytes that are not UTF-8 "
                f"({chunk[e.start : e.start + 4]!r}); the file must be UTF-8"
            ) from None
        first = chunk.find(b"\n")
        if first == -1:
            self.run += len(chunk)
            if self.run > self.max_line:
                raise self._too_long(self.line)
            return
        if self.run + first > self.max_line:
            raise self._too_long(self.line)
        last = chunk.rfind(b"\n")
        if last - first > self.max_line:  # a long line may sit between the first and last newline
            pos, line = first, self.line + 1
            while pos < last:
                nxt = chunk.find(b"\n", pos + 1)
                if nxt - pos - 1 > self.max_line:
                    raise self._too_long(line)
                pos, line = nxt, line + 1
        self.line += chunk.count(b"\n")
        self.run = len(chunk) - last - 1
        if self.run > self.max_line:
            raise self._too_long(self.line)

    def close(self) -> None:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SourceError(f"{self.name}: line {self.line}: the file ends inside a UTF-8 character") from None


MANIFEST_MAX_BYTES = 65536
"""A ``_SUCCESS`` marker longer than this is not read as a manifest (it is copied empty)."""


def _marker_bytes(fs, path: str) -> bytes:
    """The ``_SUCCESS`` marker's bytes, copied into raw: empty, or a manifest (:func:`manifest_rows`)."""
    with fs.open(path, "rb") as f:
        data = f.read(MANIFEST_MAX_BYTES + 1)
    return b"" if len(data) > MANIFEST_MAX_BYTES else data


def manifest_rows(marker: Path) -> dict[str, int] | None:
    """The row counts a delivery's ``_SUCCESS`` manifest promises, per table, or None.

    A producer may write JSON into the marker, ``{"rows": {"interactions": 19, ...}}``
    (``kindling import snap-edgelist`` does). An empty marker, or one that is not such JSON, is
    a plain marker: None.
    """
    try:
        data = json.loads(marker.read_bytes() or b"null")
    except (OSError, ValueError):
        return None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        return None
    return {str(t): n for t, n in rows.items() if isinstance(n, int) and not isinstance(n, bool) and n >= 0}


def _same_content(folder: Path, digests: dict[str, str]) -> bool:
    have = sorted(p.name for p in folder.iterdir() if p.name != SUCCESS)
    if have != sorted(digests):
        return False
    for name, d in digests.items():
        if hashlib.sha256((folder / name).read_bytes()).hexdigest() != d:
            return False
    return True
