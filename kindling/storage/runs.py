"""The run record: the steps of a daily run, their timings and the ``runs`` table's rows.

Below :mod:`kindling.pipeline.steps` (the orchestration) and :mod:`jobs.entry` (the Spark steps): both time
their work with :func:`recorded` and write ``runs`` rows through :func:`write_run_row`, so neither
imports the other for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from pathlib import Path

import schemas
from kindling.core.files import parquet_bytes, write_atomic_bytes
from kindling.core.settings import Settings
from kindling.core.validate import network_name
from kindling.storage.lake import Lake
from kindling.storage.state import load_states, save_state

STEPS = ("wait", "pull", "conform", "audit-in", "rank", "audit-out", "publish", "report")
SPARK_STEPS = ("conform", "rank")


class StepFailed(RuntimeError):
    """A step failed; the message says which and why."""

    step: str | None = None
    """The failed step, when no ``failed`` row of the runs table names it (``report``)."""


def networks_of_day(settings: Settings, day: dt.date) -> list[str]:
    """The networks pulled into the lake for ``day`` (restricted to ``settings.networks`` if set)."""
    raw = Lake(settings.lake).root / "raw"
    found = (
        sorted(p.name.split("=", 1)[1] for p in raw.glob("network=*") if (p / f"dt={day.isoformat()}").is_dir())
        if raw.is_dir()
        else []
    )
    if settings.networks:
        found = [n for n in found if n in settings.networks]
    if not found:
        raise StepFailed(f"dt={day}: no network pulled into {raw} (did pull run?)")
    return [network_name(n) for n in found]


@contextlib.contextmanager
def recorded(settings: Settings, step: str, day: dt.date, run_id: str, failed_row: bool = True):
    """Time a step; on failure append a failed row to ``runs`` (unless ``failed_row`` is false) and re-raise."""
    _started_at(Lake(settings.lake), run_id)
    t0 = time.time()
    try:
        yield
    except BaseException as e:
        _record_timing(settings, run_id, step, time.time() - t0)
        if failed_row:
            with contextlib.suppress(Exception):
                write_run_row(settings, day, run_id, status="failed", failed_step=step, error=_one_line(e))
        raise
    _record_timing(settings, run_id, step, time.time() - t0)


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:4000]


def _record_timing(settings: Settings, run_id: str, step: str, seconds: float) -> None:
    save_state(settings, run_id, f"timing-{step}", {"seconds": round(seconds, 3)})


def bad_window_day(settings: Settings, skipped: dict, d: str, network: str, step: str, e: BaseException, day: dt.date):
    """An earlier window day failed ``step``: stop the run naming it, or (``window_bad_day = skip``) record it."""
    message = f"{step}: {_one_line(e)}"
    if settings.window_bad_day != "skip":
        err = StepFailed(
            f"dt={day}: window day dt={d} (network={network}) could not be admitted: {message}\n"
            f"(set KINDLING_WINDOW_BAD_DAY=skip to leave bad window days out of the score, recorded in runs.window)"
        )
        raise err from e
    skipped.setdefault(d, {})[network] = message[:1000]


def write_run_row(
    settings: Settings, day: dt.date, run_id: str, status: str, failed_step: str | None = None, error: str | None = None
) -> Path:
    # pyarrow is loaded when a row is written, not when the module is: every CLI command imports it.
    import pyarrow as pa

    lake = Lake(settings.lake)
    states = load_states(settings, run_id)
    timings = {k[len("timing-") :]: v["seconds"] for k, v in states.items() if k.startswith("timing-")}
    started = _started_at(lake, run_id)
    quality = {k: v for k, v in states.items() if k.startswith("quality-")}
    docs = lake.data_docs(run_id) / "index.html"
    window = states.get("window") or {}
    row = {
        "run_id": run_id,
        "networks": sorted(set(states.get("conform", {})) | set(states.get("pull", {}))),
        "status": status,
        "failed_step": failed_step,
        "error": error,
        "input_rows": json.dumps(_input_rows(states)) if "conform" in states else None,
        "output_rows": json.dumps(states.get("rank")) if "rank" in states else None,
        "quality": json.dumps(quality) if quality else None,
        "quality_results_path": str((lake.run_dir(run_id) / "quality").relative_to(lake.root)),
        "data_docs_path": str(docs.relative_to(lake.root)) if docs.is_file() else None,
        "started_at": started,
        "finished_at": dt.datetime.now(dt.UTC),
        "timings": json.dumps(timings),
        "window_expected": window.get("expected"),
        "window_present": window.get("present"),
        "window_admitted": window.get("admitted"),
        "window": json.dumps(window) if window else None,
    }
    schema = schemas.table("runs").arrow_schema()
    tbl = pa.Table.from_pylist([row], schema=schema)
    path = lake.table("runs") / f"dt={day.isoformat()}" / f"{run_id}-{status}.parquet"
    write_atomic_bytes(path, parquet_bytes(tbl))
    return path


def _input_rows(states: dict) -> dict:
    """Kept rows per network and input table, with the quarantined rows per table beside them."""
    out = {}
    for network, counts in states["conform"].items():
        out[network] = dict(counts)
        quarantined = states.get(f"quarantine-{network}")
        if quarantined is not None:
            out[network]["quarantined"] = quarantined
    return out


def _started_at(lake: Lake, run_id: str) -> dt.datetime:
    marker = lake.run_dir(run_id) / "started_at"
    if marker.exists():
        return dt.datetime.fromisoformat(marker.read_text().strip())
    now = dt.datetime.now(dt.UTC)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(now.isoformat())
    return now
