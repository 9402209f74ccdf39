"""One run per date at a time: an advisory lock file per date under ``<lake>/_locks``.

The lock is ``flock``-based, so the kernel releases it when the holding process
dies: a crashed run never leaves a date locked. A second run for the same date
is refused at once with a message naming the holder; runs for different dates
take different locks and proceed in parallel. The lock is re-entrant within a
process (``kindling run`` holds it for the whole run while its steps take it too).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import threading

from kindling.storage.lake import Lake

_held: dict[str, int] = {}
_guard = threading.Lock()


class DateLocked(RuntimeError):
    """Another run holds the date's lock."""


@contextlib.contextmanager
def date_lock(lake_root: str, day: dt.date, run_id: str):
    path = Lake(lake_root).root / "_locks" / f"dt={day.isoformat()}.lock"
    # One key per lock file however the lake is spelled ("./lake" or its absolute path), and
    # whether or not the file exists yet: a second key for the same file would open it again,
    # and flock would refuse this very process.
    key = str(path.resolve())
    with _guard:
        if key in _held:
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
            raise DateLocked(
                f"dt={day}: another run holds {path} ({holder}); wait for it to finish or stop it "
                "(a crashed run releases the lock by itself)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "run_id": run_id}).encode(), 0)
        with _guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _guard:
                _held.pop(key, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
