"""Spark entry points: ``spark-submit jobs/entry.py <conform|rank> --date D --run-id R``.

Argument parsing and dispatch only: the conform step is :mod:`jobs.conform_step`, the rank step
:mod:`jobs.rank_step`; the transforms they call (``jobs.conform``, ``jobs.graph``,
``jobs.pagerank``, ``jobs.score``...) are pure DataFrame functions.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script by spark-submit
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import SparkSession

from jobs.conform_step import conform_day, conform_window
from jobs.rank_step import rank_networks
from kindling.core.settings import Settings, load_settings
from kindling.core.validate import parse_date
from kindling.core.validate import run_id as clean_run_id
from kindling.pipeline import spark as sparks
from kindling.storage.runs import networks_of_day, recorded
from kindling.storage.state import save_state


def run_step(
    spark: SparkSession, step: str, settings: Settings, day: dt.date, run_id: str, networks: list[str]
) -> dict:
    if step == "conform":
        conform_window(spark, settings, day, run_id)  # the run's own day last: its quarantine counts are the run's
        return {network: conform_day(spark, settings, network, day, run_id) for network in networks}
    if step == "rank":
        return {
            network: dataclasses.asdict(r)
            for network, r in rank_networks(spark, settings, networks, day, run_id).items()
        }
    raise ValueError(f"unknown Spark step {step!r}")


def main(argv: list[str] | None = None) -> int:

    p = argparse.ArgumentParser(prog="jobs/entry.py")
    p.add_argument("step", choices=["conform", "rank"])
    p.add_argument("--date", required=True)
    p.add_argument("--run-id", required=True)
    a = p.parse_args(argv)
    settings = load_settings()
    day = parse_date(a.date)
    rid = clean_run_id(a.run_id)
    with recorded(settings, a.step, day, rid):
        networks = _networks_for(settings, day)
        spark = sparks.session(settings, app_name=f"kindling-{a.step}-{day}")
        try:
            result = run_step(spark, a.step, settings, day, rid, networks)
        finally:
            spark.stop()
        save_state(settings, rid, a.step, result)
        print(json.dumps({a.step: result}, default=str))
    return 0


def _networks_for(settings: Settings, day: dt.date) -> list[str]:
    """Networks of the run: those pulled into the lake for the day."""

    return networks_of_day(settings, day)


if __name__ == "__main__":
    sys.exit(main())
