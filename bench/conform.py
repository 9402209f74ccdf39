"""Conform of one large generated day, table by table, under several Spark settings in one session.

    .venv/bin/python bench/conform.py [--accounts 1000000] [--keep DIR] [--variants default,broadcast64m]

`kindling generate` writes one day of one network (at 1M accounts: about 43M follows, 3.1M
interactions), `wait` and `pull` copy it into the lake, and then `conform` (the step's own code,
``jobs.conform_step.conform_day``) runs once per variant in the same Spark session (local[2], the
project's settings), each into a run of its own, and the script prints every table's wall time
per variant and the ratio of each variant's total to the first one's. Variants, each a set of
Spark settings applied for its run and reset after it:

  default        the project's settings as they are
  broadcast64m   spark.sql.adaptive.autoBroadcastJoinThreshold 64 MiB: the day's account ids
                 (the reference check's small side) broadcast instead of shuffling the big table
  nobroadcast    spark.sql.autoBroadcastJoinThreshold and its adaptive twin -1: every join shuffles

The first variant also runs first as a warm-up (not counted) so that JIT and file cache favour no one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "default": {},
    "broadcast64m": {"spark.sql.adaptive.autoBroadcastJoinThreshold": str(64 << 20)},
    "nobroadcast": {
        "spark.sql.autoBroadcastJoinThreshold": "-1",
        "spark.sql.adaptive.autoBroadcastJoinThreshold": "-1",
    },
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--keep", help="write the snapshot and lake here and keep them (default: a temporary folder)")
    ap.add_argument("--variants", default="default,broadcast64m", help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--no-warmup", action="store_true")
    a = ap.parse_args()
    names = [v.strip() for v in a.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        ap.error(f"unknown variant(s) {', '.join(unknown) or '(none)'}; known: {', '.join(VARIANTS)}")

    from jobs.conform_step import conform_day
    from kindling.core.settings import load_settings
    from kindling.pipeline import steps
    from kindling.pipeline.spark import session
    from kindling_dev.generate import generate

    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="kindling-conform-"))
    day = dt.date(2026, 11, 20)
    t0 = time.perf_counter()
    summary = generate(work / "snapshots", accounts=a.accounts, days=1, networks=["bench"], end_date=day)
    print(
        f"generated {a.accounts:,} accounts x 1 day in {time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{v:,} {k}" for k, v in summary["rows"].items()),
        flush=True,
    )
    settings = load_settings(source=str(work / "snapshots"), lake=str(work / "lake"))
    first = steps.new_run_id(day)
    for step in ("wait", "pull"):
        steps.run_local_step(settings, step, day, first)
    spark = session(settings, app_name="bench-conform", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")

    def run(variant: str) -> dict:
        confs = VARIANTS[variant]
        before = {k: spark.conf.get(k, None) for k in confs}
        for k, v in confs.items():
            spark.conf.set(k, v)
        timings: dict = {}
        try:
            # every run conforms the same raw day (pulled once) into a staging of its own
            conform_day(spark, settings, "bench", day, f"{first}-{variant}-{time.monotonic_ns()}", timings=timings)
        finally:
            for k, v in before.items():
                if v is None:
                    spark.conf.unset(k)
                else:
                    spark.conf.set(k, v)
        return timings

    if not a.no_warmup:
        t0 = time.perf_counter()
        run(names[0])
        print(f"warm-up ({names[0]}): {time.perf_counter() - t0:.1f} s", flush=True)
    results = {}
    for v in names:
        results[v] = run(v)
        print(f"{v}: " + ", ".join(f"{t} {s:.1f} s" for t, s in results[v].items()), flush=True)

    tables = list(results[names[0]])
    print(
        f"\n## conform of one day, {a.accounts:,} accounts ({summary['rows']['follows']:,} follows, "
        f"{summary['rows']['interactions']:,} interactions), local[2], seconds"
    )
    print(f"{'variant':<14}" + "".join(f"{t:>14}" for t in tables) + f"{'total':>10}{'x first':>9}")
    base = sum(results[names[0]].values())
    for v in names:
        total = sum(results[v].values())
        print(
            f"{v:<14}"
            + "".join(f"{results[v].get(t, float('nan')):>14.1f}" for t in tables)
            + f"{total:>10.1f}{total / base:>9.2f}"
        )
    spark.stop()
    if not a.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
