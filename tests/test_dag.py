"""The Airflow DAGs in dags/: they import cleanly, wire kindling_daily's steps in order, hand
every task the date of the run's data interval, and import nothing heavy at parse time.

Hermetic: Airflow gets a throwaway AIRFLOW_HOME, set before airflow is first imported, and no
metadata database is touched (templates are rendered against a hand-built context).
"""

from __future__ import annotations

import atexit
import itertools
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DAGS = PROJECT / "dags"

if "airflow" not in sys.modules:
    _home = tempfile.mkdtemp(prefix="kindling-test-airflow-")
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = _home
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

import pendulum  # noqa: E402
from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.serialization.encoders import coerce_to_core_timetable  # noqa: E402
from airflow.timetables.base import TimeRestriction  # noqa: E402

TASKS = ["wait", "pull", "conform", "audit_in", "rank", "audit_out", "publish", "report"]
COMMANDS = {
    "pull": "step pull",
    "conform": "submit conform",
    "audit_in": "step audit-in",
    "rank": "submit rank",
    "audit_out": "step audit-out",
    "publish": "step publish",
    "report": "step report",
}
DAY = pendulum.datetime(2026, 11, 20, tz="UTC")
# Read by the DAG at parse time; the tests check its defaults.
SENSOR_ENV = ("KINDLING_SENSOR_POKE_SECONDS", "KINDLING_SENSOR_TIMEOUT_HOURS")


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    with pytest.MonkeyPatch.context() as mp:
        for name in SENSOR_ENV:
            mp.delenv(name, raising=False)
        return DagBag(dag_folder=str(DAGS), safe_mode=False)


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["kindling_daily"]


@pytest.fixture(scope="module")
def timetable(dag):
    # The scheduler's view of the DAG's schedule (the Task SDK object only describes it).
    return coerce_to_core_timetable(dag.timetable)


def render(task, data_interval, run_id="scheduled__2026-11-20T00:00:00+00:00"):
    """Render a task's command (or a sensor's arguments) as the worker would for that run."""
    context = {
        "data_interval_start": data_interval.start,
        "data_interval_end": data_interval.end,
        "run_id": run_id,
    }
    field = task.bash_command if task.task_id != "wait" else task.op_kwargs
    # The DAG's template undefined is StrictUndefined: a variable missing from the context fails.
    return task.render_template(field, context)


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}
    assert "kindling_daily" in dagbag.dag_ids


def test_tasks_form_one_chain_in_order(dag):
    assert sorted(dag.task_ids) == sorted(TASKS)
    for upstream, downstream in itertools.pairwise(TASKS):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert dag.get_task(TASKS[0]).upstream_task_ids == set()
    assert dag.get_task(TASKS[-1]).downstream_task_ids == set()


def test_scheduling_settings(dag):
    assert dag.catchup is True
    assert dag.max_active_runs == 1
    assert dag.start_date == pendulum.datetime(2026, 1, 1, tz="UTC")
    assert dag.end_date is None
    assert dag.doc_md and "jobs/" in dag.doc_md and "kindling/" in dag.doc_md
    assert dag.tags
    for task in dag.tasks:
        assert task.retries == 2
        assert task.retry_delay == pendulum.duration(minutes=5)


def test_wait_is_a_rescheduling_sensor(dag):
    wait = dag.get_task("wait")
    assert wait.mode == "reschedule"
    assert wait.poke_interval == 300
    assert wait.timeout == 24 * 3600


def test_sensor_timing_follows_the_settings_environment_overrides(monkeypatch):
    monkeypatch.setenv("KINDLING_SENSOR_POKE_SECONDS", "7")
    monkeypatch.setenv("KINDLING_SENSOR_TIMEOUT_HOURS", "0")
    wait = runpy.run_path(str(DAGS / "kindling_daily.py"))["dag"].get_task("wait")
    assert (wait.poke_interval, wait.timeout) == (7, 0)


def test_schedule_bounds_follow_the_environment(monkeypatch):
    monkeypatch.setenv("KINDLING_START_DATE", "2026-11-18")
    monkeypatch.setenv("KINDLING_END_DATE", "2026-11-20")
    monkeypatch.setenv("KINDLING_CATCHUP", "false")
    dag = runpy.run_path(str(DAGS / "kindling_daily.py"))["dag"]
    assert dag.start_date == pendulum.datetime(2026, 11, 18, tz="UTC")
    assert dag.end_date == pendulum.datetime(2026, 11, 20, tz="UTC")
    assert dag.catchup is False


def test_shell_tasks_fail_on_any_nonzero_exit(dag):
    for task_id in COMMANDS:
        task = dag.get_task(task_id)
        # BashOperator's default would turn exit code 99 into a skip, and a skip is not a failure.
        assert not task.skip_on_exit_code
        assert task.cwd == str(PROJECT)


def test_scheduled_run_for_a_day_covers_that_day(timetable):
    """The trap of Airflow 3's `@daily`: its data interval is empty. Ours is the whole day."""
    info = timetable.next_dagrun_info_v2(
        last_dagrun_info=None,
        restriction=TimeRestriction(earliest=DAY, latest=None, catchup=True),
    )
    assert info.data_interval.start == DAY
    assert info.data_interval.end == DAY.add(days=1)
    assert info.logical_date == DAY
    assert info.run_after == DAY.add(days=1)  # the snapshot of D is complete only after D ends


def test_manual_run_processes_the_last_complete_day(timetable):
    """`airflow dags test kindling_daily L` (and `dags trigger -l L`) processes the day before L."""
    interval = timetable.infer_manual_data_interval(run_after=DAY.add(days=1))
    assert (interval.start, interval.end) == (DAY, DAY.add(days=1))
    assert timetable.infer_manual_data_interval(run_after=DAY).start == DAY.subtract(days=1)


def test_every_task_gets_the_date_of_its_data_interval(dag, timetable):
    interval = timetable.infer_manual_data_interval(run_after=DAY.add(days=1))
    # The scheduled run for the previous day starts at 00:00 of 2026-11-19: it must not leak in.
    assert render(dag.get_task("wait"), interval) == {"date": "2026-11-20"}
    for task_id, command in COMMANDS.items():
        rendered = render(dag.get_task(task_id), interval)
        words = rendered.split()
        assert Path(words[0]).name == "kindling"
        assert " ".join(words[1:3]) == command
        assert "--date 2026-11-20" in rendered
        assert "--run-id scheduled__2026-11-20T00:00:00+00:00" in rendered


def test_run_id_is_quoted_for_the_shell(dag, timetable):
    interval = timetable.infer_manual_data_interval(run_after=DAY.add(days=1))
    rendered = render(dag.get_task("publish"), interval, run_id="manual $(touch x); y")
    assert rendered.endswith("--run-id 'manual $(touch x); y'")


def test_kindling_is_the_interpreters_console_script(dag):
    command = dag.get_task("pull").bash_command
    assert command.split()[0] == str(Path(sys.executable).parent / "kindling")


def test_dag_file_imports_nothing_heavy_at_parse_time(tmp_path):
    code = (
        "import runpy, sys\n"
        "runpy.run_path(sys.argv[1])\n"
        "heavy = {'pyspark', 'pandas', 'great_expectations', 'kindling', 'jobs', 'duckdb', 'pyarrow'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code, str(DAGS / "kindling_daily.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
