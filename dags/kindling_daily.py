"""
### kindling_daily — one day of influence scores, from snapshot to published tables

One run per day D, covering the data interval [D 00:00 UTC, D+1 00:00 UTC). It starts once
D has ended and reads the snapshot `dt=D`, which is complete only then. Tasks, in order
(DESIGN.md, "The data flow"):

| task | command | what it does |
|---|---|---|
| `wait` | `kindling.ingest.source.snapshot_ready(D)` | sensor: every network of D has its `_SUCCESS` marker |
| `pull` | `kindling step pull` | remove what killed runs of D left; copy D's raw snapshot into `lake/raw/`, and every earlier day of D's window that the source has and the lake lacks |
| `conform` | `kindling submit conform` (Spark) | parse those days (in batches, oldest first) and D into the canonical schemas |
| `audit_in` | `kindling step audit-in` | quality suite on each admitted day, oldest first, then on D, into `lake/conformed/`; a failure stops the run naming the day; records the window's coverage |
| `rank` | `kindling submit rank` (Spark) | graph, PageRanks, scores, staged in `lake/_staging/<run_id>/` |
| `audit_out` | `kindling step audit-out` | quality suite on the staged tables; a failure stops the run |
| `publish` | `kindling step publish` | atomic swap of D's staged partitions into `lake/tables/` |
| `report` | `kindling step report` | D's self-contained HTML report, `lake/reports/dt=D/report.html` |

`report` reads only what `publish` made public, so its failure unpublishes nothing. It still
fails the task (and the DAG run), with retries, so a missing report is seen; the run's row in
the `runs` table stays `published`. `kindling report --date D` writes the page again by hand.

This file only wires tasks. The job code lives in `kindling/` (the `kindling` CLI, settings,
quality suites, publishing) and in `jobs/` (the Spark entry points that `kindling submit`
starts with `spark-submit`, on the master named by `KINDLING_SPARK_MASTER`). Every command gets
`--date D` and `--run-id` (Airflow's run id, which the CLI sanitises); the sensor gets D.

**Dates.** The schedule is `CronDataIntervalTimetable`, not `@daily` (which in Airflow 3 is a
trigger timetable with an empty data interval), and every task takes its date from
`data_interval_start`. A scheduled or backfill run for D has logical date D and interval
[D, D+1). A *manual* run (`airflow dags test`, `airflow dags trigger -l`) with logical date L
gets the last complete interval before L: `dags test kindling_daily 2026-11-21` processes
2026-11-20.

**Waiting.** `wait` pokes every 300 s in reschedule mode (no worker slot held between pokes)
and fails after 24 h without retrying. `KINDLING_SENSOR_POKE_SECONDS` and
`KINDLING_SENSOR_TIMEOUT_HOURS` in the environment change that; with the timeout at 0 a missing
snapshot fails at the first poke, which is what `airflow dags test` usually wants.

**Schedule.** Days from `KINDLING_START_DATE` (default 2026-01-01) to `KINDLING_END_DATE`
(default: none), catching up on every missed day once unpaused unless `KINDLING_CATCHUP=false`.
The DAG is created paused; `airflow dags unpause kindling_daily` starts the schedule, and both
scheduled and backfill runs need it unpaused. One run at a time (`max_active_runs=1`); give
`airflow backfill create` `--max-active-runs 1` too.

**Configuration** reaches the tasks through the environment of the Airflow worker (`KINDLING_*`
variables, or `KINDLING_CONFIG` naming a TOML file). Shell tasks run in the project directory
(the parent of `dags/`), so relative settings such as the default `./lake` mean the same as
when `kindling` is run by hand from the repository root.

**Idempotent.** Re-running a date replaces that date's partitions and nothing else; catch-up and
`airflow backfill create` are ranges of the same daily run. One run at a time: the Spark steps
are heavy, and a day's "change since the previous published day" wants the days in order.
"""

from __future__ import annotations

import os
import shlex
import sys
from datetime import UTC, datetime, timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, chain, task

# The project root (the parent of dags/): the working directory of the shell tasks.
PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The `kindling` console script of the interpreter running Airflow: the package must be installed
# there anyway (the sensor imports it), and this does not depend on PATH, which is not the venv's
# when Airflow is started as `.venv/bin/airflow` without activating the venv.
KINDLING = shlex.quote(os.path.join(os.path.dirname(sys.executable), "kindling"))

# Snapshot sensor timing: poke every 5 minutes, give up after 24 hours. The defaults of
# Settings.sensor_poke_seconds / sensor_timeout_hours, which cannot be loaded here (reading
# kindling.toml is I/O at parse time). Only their environment overrides are honoured, so that
# e.g. `KINDLING_SENSOR_TIMEOUT_HOURS=0 airflow dags test ...` fails at once on a missing snapshot.
WAIT_POKE_SECONDS = float(os.environ.get("KINDLING_SENSOR_POKE_SECONDS", 300))
WAIT_TIMEOUT = timedelta(hours=float(os.environ.get("KINDLING_SENSOR_TIMEOUT_HOURS", 24)))

# Retries of every task (2, five minutes apart); KINDLING_TASK_RETRIES=0 in the environment turns
# them off, which `make run` does so that a failure shows at once.
RETRIES = int(os.environ.get("KINDLING_TASK_RETRIES", 2))

# The first and (optional) last day the schedule covers, and whether an unpaused DAG catches up on
# every missed day since START_DATE. Backfills (`airflow backfill create`) are not bound by them.
# A deployment whose snapshots begin later sets KINDLING_START_DATE to its first day, so that
# unpausing does not queue a run per day since 2026-01-01; the scheduler test bounds the schedule
# with KINDLING_END_DATE so that only its backfill runs exist.
START_DATE = datetime.fromisoformat(os.environ.get("KINDLING_START_DATE") or "2026-01-01").replace(tzinfo=UTC)
END_DATE = (
    datetime.fromisoformat(os.environ["KINDLING_END_DATE"]).replace(tzinfo=UTC)
    if os.environ.get("KINDLING_END_DATE")
    else None
)
CATCHUP = os.environ.get("KINDLING_CATCHUP", "true").strip().lower() in ("1", "true", "yes", "on")

DATE = "{{ data_interval_start | ds }}"
ARGS = f"--date {DATE} --run-id {{{{ run_id | shquote }}}}"


def kindling(task_id: str, command: str) -> BashOperator:
    """A task running one `kindling` CLI command for the run's date."""
    return BashOperator(
        task_id=task_id,
        bash_command=f"{KINDLING} {command} {ARGS}",
        cwd=PROJECT_DIR,
        # Any non-zero exit fails the task; BashOperator would skip on 99 by default.
        skip_on_exit_code=None,
    )


with DAG(
    dag_id="kindling_daily",
    description="Daily influence scores: snapshot -> lake -> Spark -> audited, published tables",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    end_date=END_DATE,
    catchup=CATCHUP,
    max_active_runs=1,
    default_args={"retries": RETRIES, "retry_delay": timedelta(minutes=5)},
    user_defined_filters={"shquote": shlex.quote},
    tags=["kindling", "spark"],
) as dag:

    @task.sensor(
        task_id="wait",
        mode="reschedule",
        poke_interval=WAIT_POKE_SECONDS,
        timeout=WAIT_TIMEOUT,
    )
    def wait(date: str) -> bool:
        """True once every configured network has its `_SUCCESS` marker for `date`."""
        from kindling.ingest.source import snapshot_ready  # deferred: Airflow parses this file without the project

        return snapshot_ready(date)

    chain(
        wait(date=DATE),
        kindling("pull", "step pull"),
        kindling("conform", "submit conform"),
        kindling("audit_in", "step audit-in"),
        kindling("rank", "submit rank"),
        kindling("audit_out", "step audit-out"),
        kindling("publish", "step publish"),
        kindling("report", "step report"),
    )
