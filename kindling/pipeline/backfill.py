"""``kindling backfill``: a range of daily runs without a scheduler.

Days run oldest first (a day's "change since the previous published day" wants
its predecessor). A day already published is skipped unless ``force``, which is
also what makes an interrupted backfill resume where it stopped. A failed day is
reported and the backfill goes on with the next one; the summary lists the days
published, skipped and failed, with the failed step and checks.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from kindling.core.settings import Settings
from kindling.core.validate import InvalidArgument
from kindling.pipeline.steps import STEPS, new_run_id, run_day
from kindling.storage.lake import Lake


@dataclass
class DayResult:
    day: dt.date
    status: str  # published, skipped, failed
    seconds: float = 0.0
    run_id: str | None = None
    failed_step: str | None = None
    error: str | None = None


@dataclass
class Progress:
    """Text progress: day k of n, the step, elapsed time and an estimate of what is left."""

    total_days: int
    stream: TextIO = field(default=sys.stderr)
    started: float = field(default_factory=time.time)
    done_days: int = 0
    run_seconds: list[float] = field(default_factory=list)

    def step(self, day: dt.date, index: int, step: str, day_started: float) -> None:
        now = time.time()
        per_day = sum(self.run_seconds) / len(self.run_seconds) if self.run_seconds else None
        left = self.total_days - self.done_days
        eta = "?" if per_day is None else _hms(max(0.0, per_day * left - (now - day_started)))
        bar_w = 20
        filled = int(bar_w * (self.done_days + index / len(STEPS)) / max(1, self.total_days))
        bar = "#" * filled + "-" * (bar_w - filled)
        print(
            f"[{bar}] day {self.done_days + 1}/{self.total_days} {day} step {index + 1}/{len(STEPS)} {step:<9} "
            f"day {_hms(now - day_started)} total {_hms(now - self.started)} left ~{eta}",
            file=self.stream,
            flush=True,
        )


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise InvalidArgument(f"--to {end} is before --from {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def backfill(
    settings: Settings, start: dt.date, end: dt.date, force: bool = False, spark=None, stream=sys.stderr
) -> list[DayResult]:
    lake = Lake(settings.lake)
    days = days_between(start, end)
    published = set(lake.published_dates("account_scores"))
    todo = [d for d in days if force or d not in published]
    progress = Progress(total_days=len(todo), stream=stream)
    results = []
    for day in days:
        if day not in todo:
            results.append(DayResult(day, "skipped"))
            continue
        t0 = time.time()
        run_id = new_run_id(day)
        try:
            run_day(
                settings,
                day,
                run_id=run_id,
                spark=spark,
                log=lambda m: None,
                on_step=lambda step, i, day=day, t0=t0: progress.step(day, i, step, t0),
            )
            results.append(DayResult(day, "published", time.time() - t0, run_id))
        except KeyboardInterrupt:
            raise
        except Exception as e:  # a failed day is reported; the next day still runs
            failed_step = _failed_step(lake, day, run_id) or getattr(e, "step", None)
            results.append(DayResult(day, "failed", time.time() - t0, run_id, failed_step, f"{type(e).__name__}: {e}"))
        progress.done_days += 1
        progress.run_seconds.append(time.time() - t0)
    return results


def _failed_step(lake: Lake, day: dt.date, run_id: str) -> str | None:
    import pyarrow.parquet as pq

    p = lake.table("runs") / f"dt={day.isoformat()}" / f"{run_id}-failed.parquet"
    if p.exists():
        return pq.read_table(p).column("failed_step")[0].as_py()
    return None


def summary(results: list[DayResult]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ("published", "skipped", "failed")}
    lines = [f"{'date':<10}  {'status':<9}  {'seconds':>7}  detail", f"{'-' * 10}  {'-' * 9}  {'-' * 7}  {'-' * 40}"]
    for r in results:
        detail = ""
        if r.status == "failed":
            first = (r.error or "").splitlines()
            detail = f"{r.failed_step or '?'}: " + " | ".join(x.strip() for x in first[:4])
        lines.append(f"{r.day.isoformat():<10}  {r.status:<9}  {r.seconds:7.1f}  {detail[:200]}")
    lines.append(f"{counts['published']} published, {counts['skipped']} skipped, {counts['failed']} failed")
    return "\n".join(lines)
