"""The lake's layout, and the write-audit-publish swap.

    <lake>/raw/network=<n>/dt=<D>/...                 pulled snapshot files, unchanged
    <lake>/conformed/<table>/network=<n>/dt=<D>/      canonical Parquet (+ lineage columns)
    <lake>/_staging/<run_id>/_input/<table>/network=<n>/dt=<D>/   a run's conformed input before audit-in
    <lake>/_staging/<run_id>/<table>/dt=<D>/network=<n>/   a run's outputs (and quarantine) before audit
    <lake>/_runs/<run_id>/                            a run's state, quality results
    <lake>/_runs/<run_id>/data_docs/index.html        its Great Expectations Data Docs (kindling.gates.data_docs)
    <lake>/tables/<table>/dt=<D>  ->  ../_versions/<table>/dt=<D>/<run_id>   (symlink)
    <lake>/tables/runs/dt=<D>/<run_id>.parquet
    <lake>/reports/dt=<D>/report.html                 the day's HTML report (kindling.serving.report)

A published date partition is a symbolic link to an immutable version folder.
Publishing writes the new version beside the old one and then replaces the link
with ``os.replace``, which is atomic on POSIX: a reader (DuckDB, Spark, pyarrow
all follow the link) sees the old day or the new day, never a mix, and a crash
at any moment leaves one of the two in place. Folders whose names start with
``_`` are ignored by those readers.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

from kindling.core.failpoints import failpoint
from kindling.core.files import fsync_tree, replace_dir, write_atomic_bytes  # noqa: F401  (re-exported: lake.replace_dir...)
from kindling.core.validate import network_name

PUBLISHED_TABLES = (
    "account_scores",
    "topic_scores",
    "score_contributors",
    "quarantine",
    "topics",
    "graph_edges",
    "graph_vertices",
)


def window_dates(day: dt.date, window_days: int) -> list[dt.date]:
    """The dates of the scoring window ending on ``day`` (inclusive), oldest first."""
    return [day - dt.timedelta(days=i) for i in range(window_days - 1, -1, -1)]


class Lake:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    # --- paths --------------------------------------------------------------
    def raw(self, network: str, day: dt.date) -> Path:
        return self.root / "raw" / f"network={network_name(network)}" / f"dt={day.isoformat()}"

    def conformed(self, table: str, network: str, day: dt.date) -> Path:
        return self.root / "conformed" / table / f"network={network_name(network)}" / f"dt={day.isoformat()}"

    def staging(self, run_id: str) -> Path:
        return self.root / "_staging" / run_id

    def staged(self, run_id: str, table: str, day: dt.date, network: str | None = None) -> Path:
        p = self.staging(run_id) / table / f"dt={day.isoformat()}"
        return p / f"network={network_name(network)}" if network else p

    def staged_input(self, run_id: str, table: str, network: str, day: dt.date) -> Path:
        """A run's conformed input rows, before ``audit-in`` moves them into ``conformed/``."""
        return self.staging(run_id) / "_input" / table / f"network={network_name(network)}" / f"dt={day.isoformat()}"

    def run_dir(self, run_id: str) -> Path:
        return self.root / "_runs" / run_id

    def data_docs(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "data_docs"

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    def table(self, table: str) -> Path:
        return self.tables / table

    def published(self, table: str, day: dt.date) -> Path:
        return self.table(table) / f"dt={day.isoformat()}"

    def versions(self, table: str, day: dt.date) -> Path:
        return self.tables / "_versions" / table / f"dt={day.isoformat()}"

    def report(self, day: dt.date) -> Path:
        return self.root / "reports" / f"dt={day.isoformat()}" / "report.html"

    # --- reading what is published -----------------------------------------
    def published_dates(self, table: str) -> list[dt.date]:
        root = self.table(table)
        if not root.is_dir():
            return []
        out = []
        for p in root.iterdir():
            if p.name.startswith("dt=") and p.exists():
                try:
                    out.append(dt.date.fromisoformat(p.name[3:]))
                except ValueError:
                    continue
        return sorted(out)

    def published_networks(self, table: str, day: dt.date) -> list[str]:
        p = self.published(table, day)
        if not p.exists():
            return []
        return sorted(q.name.split("=", 1)[1] for q in p.iterdir() if q.name.startswith("network="))

    # --- publishing ----------------------------------------------------------
    def publish_partition(self, table: str, day: dt.date, staged_day: Path, run_id: str) -> Path:
        """Publish one table's ``dt=day`` (see :meth:`publish_day`); return its version folder."""
        return self.publish_day(day, {table: staged_day}, run_id)[table]

    def days(self, day: dt.date) -> Path:
        """``tables/_days/dt=D``: the day's manifests and its ``current`` link."""
        return self.tables / "_days" / f"dt={day.isoformat()}"

    def publish_day(self, day: dt.date, staged: dict[str, Path], run_id: str) -> dict[str, Path]:
        """Atomically make the staged tables (each a folder of network=<n>/ folders) the published ``dt=day``.

        Every table's version is written first, beside the published one; then one manifest
        folder names the version of every table of the day; then the single link
        ``_days/dt=D/current`` is swapped to it with ``os.replace``. Each table's
        ``<table>/dt=D`` link points through ``current``, so that one swap changes every
        table of the day at once: a reader, or a crash at any moment, sees the old day or
        the new day of all of them, never some of each. Tables of the day not in ``staged``
        keep their version, and networks published earlier and absent from a table's staged
        folder are carried over (hard links), so publishing one network never drops another.
        """

        days = self.days(day)
        days.mkdir(parents=True, exist_ok=True)
        self._adopt_per_table_links(day)
        before = self._current_versions(day)
        targets = {}
        for table, staged_day in staged.items():
            targets[table] = self._write_version(table, day, staged_day, run_id, before.get(table))
            failpoint("publish:after-first-table", when=len(targets) == 1)
        versions = {**before, **targets}
        manifest = self._write_manifest(day, versions, run_id)
        for table in versions:
            self._link_through_current(table, day)
        _swap_link(days / "current", manifest.name)  # the atomic swap of the whole day
        self.gc_day(day)
        return targets

    def _current_versions(self, day: dt.date) -> dict[str, Path]:
        """The version folder each published table of ``day`` resolves to now."""
        out = {}
        for table in PUBLISHED_TABLES:
            link = self.published(table, day)
            if link.is_symlink() and link.exists():
                out[table] = Path(os.path.realpath(link))
        return out

    def _write_version(self, table: str, day: dt.date, staged_day: Path, run_id: str, old: Path | None) -> Path:
        versions = self.versions(table, day)
        versions.mkdir(parents=True, exist_ok=True)
        target = versions / run_id
        if target.exists():
            if old is not None and old == target.resolve():
                raise RuntimeError(f"{target} is the published version of {table}; a run publishes once")
            shutil.rmtree(target)
        tmp = versions / f".{run_id}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        shutil.copytree(staged_day, tmp)
        if old is not None and old.is_dir():
            for net in old.iterdir():
                if net.name.startswith("network=") and not (tmp / net.name).exists():
                    shutil.copytree(net, tmp / net.name, copy_function=os.link)
        fsync_tree(tmp)
        os.replace(tmp, target)
        return target

    def _write_manifest(self, day: dt.date, versions: dict[str, Path], run_id: str) -> Path:
        """A folder of links, one per table, to the versions of one publish of the day."""
        days = self.days(day)
        name = f"{run_id}.{uuid.uuid4().hex[:8]}"
        tmp = days / f".{name}.tmp"
        tmp.mkdir(parents=True)
        for table, version in sorted(versions.items()):
            os.symlink(os.path.relpath(version, days / name), tmp / table)
        os.replace(tmp, days / name)
        return days / name

    def _link_through_current(self, table: str, day: dt.date) -> None:
        link = self.published(table, day)
        want = os.path.relpath(self.days(day) / "current" / table, link.parent)
        if link.is_symlink() and os.readlink(link) == want:
            return
        if link.exists() and not link.is_symlink():
            raise RuntimeError(f"{link} is a real folder, not a published link; refusing to replace it")
        link.parent.mkdir(parents=True, exist_ok=True)
        _swap_link(link, want)

    def _adopt_per_table_links(self, day: dt.date) -> None:
        """A day published before ``_days`` existed (one link per table, straight to a version):
        give it a manifest and a ``current`` first, so re-pointing its links changes nothing seen."""
        current = self.days(day) / "current"
        if current.is_symlink():
            return
        versions = self._current_versions(day)
        if not versions:
            return
        manifest = self._write_manifest(day, versions, "adopted")
        _swap_link(current, manifest.name)
        for table in versions:
            self._link_through_current(table, day)

    def gc_day(self, day: dt.date) -> list[Path]:
        """Remove the day's manifests and versions the ``current`` link no longer reaches; return them."""
        removed = self._gc_manifests(day)
        for table in PUBLISHED_TABLES:
            removed += self.gc_versions(table, day)
        return removed

    def _gc_manifests(self, day: dt.date) -> list[Path]:
        removed = []
        days = self.days(day)
        current = days / "current"
        live = Path(os.path.realpath(current)) if current.is_symlink() else None
        if days.is_dir() and live is not None:
            for m in sorted(days.iterdir()):
                if m.name != "current" and not m.name.startswith(".") and m.resolve() != live:
                    shutil.rmtree(m, ignore_errors=True)
                    removed.append(m)
        return removed

    def gc_versions(self, table: str, day: dt.date) -> list[Path]:
        """Remove version folders of ``day`` that the published link does not point at; return them."""
        versions = self.versions(table, day)
        link = self.published(table, day)
        current = Path(os.path.realpath(link)) if link.is_symlink() else None
        if not versions.is_dir():
            return []
        removed = []
        for v in sorted(versions.iterdir()):
            if current is None or v.resolve() != current:
                shutil.rmtree(v, ignore_errors=True)
                removed.append(v)
        return removed

    # --- what crashed runs leave behind --------------------------------------
    def remove_leftovers(self, day: dt.date, run_id: str) -> list[Path]:
        """Remove what killed runs of ``day`` left in the lake; return the removed paths.

        Call it only while holding the date's lock (:func:`kindling.storage.locks.date_lock`), as the
        ``pull`` step does: then no other run of ``day`` is inside a step, and every temporary
        folder below belongs to a run that died inside one (each is made and consumed, or renamed,
        within a single step). Removed: other runs' ``_staging/<run_id>/`` folders holding
        ``dt=day`` (or named ``<day>_...``, as ``kindling run`` names runs); unfinished
        ``_versions/<table>/dt=day/.<run_id>.tmp`` copies and version folders the published link
        does not point at (a publish killed between the rename and the swap); ``.dt=<day>.*.lnk``
        links not yet swapped in; ``.dt=<day>.*.tmp`` / ``.old`` folders of pull, conform and
        :func:`replace_dir`; ``.*.tmp`` files of :func:`write_atomic_bytes` in the runs table.
        Nothing published, no other date's files, and no run's record (``_runs/``) is touched.
        """
        d = day.isoformat()
        removed: list[Path] = []

        def rm(p: Path) -> None:
            if p.is_symlink() or p.is_file():
                p.unlink(missing_ok=True)
            else:
                shutil.rmtree(p, ignore_errors=True)
            removed.append(p)

        staging = self.root / "_staging"
        if staging.is_dir():
            for p in sorted(staging.iterdir()):
                if p.name != run_id and p.is_dir() and (p.name.startswith(f"{d}_") or any(p.glob(f"*/dt={d}"))):
                    rm(p)
        versions_root = self.tables / "_versions"
        for table in sorted(q.name for q in versions_root.iterdir()) if versions_root.is_dir() else []:
            for tmp in sorted(self.versions(table, day).glob(".*.tmp")):
                rm(tmp)
            removed += self.gc_versions(table, day)
        removed += self._gc_manifests(day)
        for pattern in (
            f"tables/*/.dt={d}.*",
            f"raw/*/.dt={d}.*",
            f"conformed/*/*/.dt={d}.*",
            f"tables/*/dt={d}/.*.tmp",
            f"tables/_days/dt={d}/.*",
        ):
            for p in sorted(self.root.glob(pattern)):
                if p.name.endswith((".tmp", ".old", ".lnk")):
                    rm(p)
        return removed

    def published_by(self, day: dt.date) -> dict[str, str]:
        """For each published table with ``dt=day``: the run id whose version its link points at."""
        return {
            t: os.path.basename(os.path.realpath(self.published(t, day)))
            for t in PUBLISHED_TABLES
            if self.published(t, day).is_symlink()
        }


def _swap_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` atomically: a new link beside it, renamed over it."""
    tmp = link.parent / f".{link.name}.{uuid.uuid4().hex}.lnk"
    os.symlink(target, tmp)
    os.replace(tmp, link)
