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
import re
import uuid
from pathlib import Path
from urllib.parse import unquote

import fsspec

from kindling.lake import Lake, replace_dir
from kindling.settings import Settings
from kindling.validate import InvalidArgument, network_name

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
    from kindling.settings import load_settings
    from kindling.validate import parse_date

    settings = settings or load_settings()
    day = parse_date(date) if isinstance(date, str) else date
    fs, _ = _fs(settings.source)
    try:
        nets = list_networks(settings)
    except SourceError:
        return False
    return all(fs.exists(f"{_fs(day_url(settings, n, day))[1]}/{SUCCESS}") for n in nets)


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
            with fs.open(f"{root}/{name}", "rb") as src, open(tmp / name, "wb") as dst:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    h.update(chunk)
                    dst.write(chunk)
            digests[name] = h.hexdigest()
        (tmp / SUCCESS).write_bytes(b"")
        if target.is_dir() and _same_content(target, digests):
            return {"network": network, "files": names, "copied": False}
        replace_dir(tmp, target)
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return {"network": network, "files": names, "copied": True}


def _same_content(folder: Path, digests: dict[str, str]) -> bool:
    have = sorted(p.name for p in folder.iterdir() if p.name != SUCCESS)
    if have != sorted(digests):
        return False
    for name, d in digests.items():
        if hashlib.sha256((folder / name).read_bytes()).hexdigest() != d:
            return False
    return True
