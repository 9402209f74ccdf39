"""Named crash points, for the crash-safety tests (tests/test_crash.py).

A crash point is one line in the pipeline, ``failpoint("publish:after-first-table")``. It does
nothing unless the environment variable ``KINDLING_FAILPOINT`` equals its name; then it sends
SIGKILL to its own process group, the way an operator's ``kill -9 -PGID`` or the OOM killer
would end a run. Nothing is cleaned up: no ``finally``, no ``atexit``, no failed row in the
runs table, and the Spark JVM (a child in the same group) dies with Python.

Why: a crash test must stop the run at an exact moment (between the first and the second
table's swap, in the middle of PageRank) every time, not at whatever point a timer happens
to hit. The points are listed in :data:`POINTS`; the test runs each, then reruns the day.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "KINDLING_FAILPOINT"

POINTS = (
    "conform:after-first-table",  # jobs/conform_step.py conform_day: one conformed table written
    "rank:mid-pagerank",  # jobs/pagerank.py: after the first block of supersteps
    "rank:after-first-staged-table",  # jobs/rank_step.py _stage: one table staged, others not
    "publish:after-first-table",  # steps.step_publish: one table swapped, others not
)


def failpoint(name: str, when: bool = True) -> None:
    """SIGKILL this process group if ``KINDLING_FAILPOINT`` is ``name`` (and ``when`` holds)."""
    if when and os.environ.get(ENV) == name:
        print(f"kindling: failpoint {name}: SIGKILL to process group {os.getpgrp()}", file=sys.stderr, flush=True)
        os.killpg(os.getpgrp(), signal.SIGKILL)
