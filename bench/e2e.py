"""The whole daily pipeline on a large generated day: each step's wall time and the driver's memory.

    make bench BENCH_ARGS=--e2e                       # 1M accounts, about 10M interactions in the window
    .venv/bin/python bench/e2e.py [--accounts 1000000] [--days 3] [--keep DIR] [--driver-memory 10g]

`kindling generate` writes ``--days`` days of one network (about 3.1 interactions
per account per day, so 1M accounts x 3 days is about 9.3M interactions). The
days before the last are conformed and admitted (``wait``, ``pull``,
``conform``, ``audit-in``) so that they sit in the scoring window; the last day
then runs every step in one Spark session (local[2], the project's settings),
and the script prints:

  - each step's wall time;
  - the peak resident memory of the Spark driver JVM over the measured day
    (VmHWM, reset first) and of this Python process;
  - the JVM's heap in use, sampled every 2 s during ``rank``, at each quarter of
    the step: flat means no growth from superstep to superstep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pagerank import _jvm_pid, _peak, _reset_peak  # noqa: E402

ADMIT = ("wait", "pull", "conform", "audit-in")


class HeapSampler:
    """JVM heap in use (total - free), every ``every`` seconds, from a thread of its own."""

    def __init__(self, spark, every: float = 2.0):
        self.runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
        self.every, self.samples, self._stop = every, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(self.runtime.totalMemory() - self.runtime.freeMemory())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=3, help="days generated; all but the last are only admitted")
    ap.add_argument("--keep", help="write snapshots and lake here and keep them (default: a temporary folder)")
    ap.add_argument(
        "--driver-memory",
        help="the Spark driver's heap (default: KINDLING_SPARK_DRIVER_MEMORY if set, "
        "else 10g: the 1M-account day needs it for the vector engine, docs/performance.md)",
    )
    ap.add_argument(
        "--no-gaming",
        action="store_true",
        help="generate the twin world without the reply gamers' strategy (kindling evaluate --twin-lake)",
    )
    ap.add_argument(
        "--sparks",
        type=int,
        default=None,
        help="planted sparks (default: kindling generate's, one per 200 accounts); 0 gives the same world "
        "without them, where the accounts they would be rank on their own evidence",
    )
    a = ap.parse_args()

    from kindling.core.settings import load_settings
    from kindling.pipeline import steps
    from kindling.pipeline.spark import session
    from kindling_dev.generate import generate

    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="kindling-e2e-"))
    end = dt.date(2026, 11, 20)
    t0 = time.perf_counter()
    summary = generate(
        work / "snapshots",
        accounts=a.accounts,
        days=a.days,
        networks=["bench"],
        end_date=end,
        gaming=not a.no_gaming,
        sparks=a.sparks,
    )
    print(
        f"generated {a.accounts:,} accounts x {a.days} days in {time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{v:,} {k}" for k, v in summary["rows"].items()),
        flush=True,
    )

    memory = a.driver_memory or os.environ.get("KINDLING_SPARK_DRIVER_MEMORY") or "10g"
    settings = load_settings(source=str(work / "snapshots"), lake=str(work / "lake"), spark_driver_memory=memory)
    spark = session(settings, app_name="bench-e2e", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    pid = _jvm_pid(spark)
    days = [end - dt.timedelta(days=i) for i in range(a.days - 1, -1, -1)]
    for day in days[:-1]:
        run_id = steps.new_run_id(day)
        t0 = time.perf_counter()
        for step in ADMIT:
            if step in steps.SPARK_STEPS:
                steps.run_spark_in_process(spark, settings, step, day, run_id)
            else:
                steps.run_local_step(settings, step, day, run_id)
        print(f"[{day}] admitted into the window in {time.perf_counter() - t0:.0f} s", flush=True)

    day, run_id = days[-1], steps.new_run_id(days[-1])
    _reset_peak(pid)
    times, heap = {}, []
    for step in steps.STEPS:
        t0 = time.perf_counter()
        if step in steps.SPARK_STEPS:
            with HeapSampler(spark) as sampler:
                steps.run_spark_in_process(spark, settings, step, day, run_id)
            if step == "rank":
                heap = sampler.samples
        else:
            steps.run_local_step(settings, step, day, run_id)
        times[step] = time.perf_counter() - t0
        print(f"[{day}] {step:<10} {times[step]:8.1f} s", flush=True)
    total = sum(times.values())
    print(
        f"\n## daily pipeline, {a.accounts:,} accounts, window of {a.days} generated days "
        f"({summary['rows']['interactions']:,} interactions), local[2], driver memory {settings.spark_driver_memory}"
    )
    print(f"{'step':<12}{'seconds':>10}{'share':>8}")
    for step, s in times.items():
        print(f"{step:<12}{s:>10.1f}{s / total:>8.0%}")
    print(f"{'total':<12}{total:>10.1f}")
    print(
        f"peak RSS: Spark driver JVM {_peak(pid) / 2**30:.2f} GiB; this Python process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    )
    if heap:
        q = [heap[min(len(heap) - 1, round(i * (len(heap) - 1) / 4))] / 2**30 for i in range(5)]
        print(
            f"JVM heap in use during rank ({len(heap)} samples), at 0/4..4/4 of the step: "
            + " ".join(f"{x:.2f}" for x in q)
            + " GiB"
        )
    spark.stop()
    if not a.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
