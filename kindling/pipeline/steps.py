"""The steps of the daily run, shared by Airflow tasks and ``kindling run``.

    wait -> pull -> conform* -> audit-in -> rank* -> audit-out -> publish -> report      (* Spark)

Non-Spark steps run in-process here. Spark steps run ``jobs/entry.py`` through
``spark-submit`` (:func:`submit`), or in the calling process with a given
SparkSession (tests, ``kindling run --in-process``). Every step records its
timing; a failing step appends a ``failed`` row to the ``runs`` table and
re-raises, and only ``publish`` ever touches ``<lake>/tables``.

``report`` writes ``<lake>/reports/dt=D/report.html`` from what ``publish`` made public. It
runs after the swap, so a failing report cannot unpublish anything; it still fails the run
(the task in Airflow, exit 1 from ``kindling run``) so that a missing report is seen, but it
writes no ``failed`` row: the run's row stays ``published``. ``kindling report --date D``
writes the page again.

Why one long module: it is the daily run's steps, one function each, and the run that strings
them together; the run record (``runs`` rows, timings) lives apart in :mod:`kindling.storage.runs`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import schemas
from kindling.core.settings import Settings
from kindling.gates import data_docs
from kindling.ingest.source import list_networks, network_day_ready, pull, snapshot_ready
from kindling.pipeline.spark import spark_confs
from kindling.serving import report as reports
from kindling.storage.lake import PUBLISHED_TABLES, Lake, replace_dir, window_dates
from kindling.storage.locks import date_lock
from kindling.storage.runs import (  # the run record (StepFailed, STEPS and SPARK_STEPS are also read as steps.X)
    SPARK_STEPS,
    STEPS,
    StepFailed,
    _one_line,
    _started_at,
    bad_window_day,
    networks_of_day,
    recorded,
    write_run_row,
)
from kindling.storage.state import load_states, save_state

JOBS_ENTRY = Path(__file__).resolve().parents[2] / "jobs" / "entry.py"


def new_run_id(day: dt.date) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{day.isoformat()}_{stamp}_{uuid.uuid4().hex[:6]}"


# --- non-Spark steps -----------------------------------------------------------
def step_wait(settings: Settings, day: dt.date, run_id: str) -> dict:

    if not snapshot_ready(day, settings):
        raise StepFailed(f"dt={day}: the snapshot is not complete at {settings.source} (no _SUCCESS for every network)")
    return {"ready": True}


def conformed_day(lake: Lake, network: str, day: dt.date) -> bool:
    """True when the lake holds ``network``'s conformed day (its required tables passed audit-in)."""
    return all(lake.conformed(t, network, day).is_dir() for t in ("accounts", "interactions"))


def admission_plan(settings: Settings, day: dt.date) -> dict[str, list[str]]:
    """The earlier days of ``day``'s window to admit with this run: per date (ISO, oldest first), the
    networks whose snapshot the source holds and whose conformed day the lake lacks.

    Without this a run on a fresh lake would score one day and call it a 28-day score. ``day``
    itself is not listed: a run always pulls and conforms its own day again.
    """

    lake = Lake(settings.lake)
    networks = list_networks(settings)
    plan = {}
    for d in window_dates(day, settings.window_days)[:-1]:
        todo = [n for n in networks if not conformed_day(lake, n, d) and network_day_ready(settings, n, d)]
        if todo:
            plan[d.isoformat()] = todo
    return plan


def step_pull(settings: Settings, day: dt.date, run_id: str, log=None) -> dict:
    """Copy ``day``'s snapshot into the lake, and every earlier day of its window that the lake lacks
    (:func:`admission_plan`; saved as the run's ``admit`` state for ``conform`` and ``audit-in``)."""

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    out = {n: pull(settings, n, day) for n in list_networks(settings)}
    plan = admission_plan(settings, day)
    skipped: dict[str, dict[str, str]] = {}
    if plan:
        log(
            f"[{day}] the window ({settings.window_days} days) lacks {len(plan)} day(s) the source has: admitting them first"
        )
    for d, networks in plan.items():
        for network in list(networks):
            try:
                pull(settings, network, dt.date.fromisoformat(d))
            except Exception as e:
                bad_window_day(settings, skipped, d, network, "pull", e, day)
                networks.remove(network)
    save_state(settings, run_id, "admit", {"days": {d: n for d, n in plan.items() if n}, "skipped": skipped})
    return out


def _read_parquet_dir(path: Path):
    """A staged table as pandas for the quality gates, strings Arrow-backed (``string[pyarrow]``)
    and the lineage file name a categorical: a 1M-account day's 43M follows took 10.1 GiB of
    Python memory and 119 s to validate as Python strings, 7.5 GiB and 85 s so."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(path.glob("*.parquet"))
    names = pq.read_schema(str(parts[0])).names if parts else []
    table = pq.read_table(str(path), read_dictionary=[c for c in ("_source_file",) if c in names] or None)
    # maps (graph_edges.topic_factors) stay Arrow too: no Python list of tuples per edge
    return table.to_pandas(
        types_mapper=lambda t: (
            pd.StringDtype("pyarrow") if pa.types.is_string(t) else pd.ArrowDtype(t) if pa.types.is_map(t) else None
        )
    )


def _gate(settings: Settings, day: dt.date, run_id: str, side: str, validate) -> dict:
    """Run one quality suite per network (``validate(network)``); raise if any failed.

    Every network's results are also rendered into the run's Data Docs site, failed or not. A
    rendering error never changes the gate's outcome: it becomes a warning of the summary.
    """
    from kindling.gates import quality  # deferred: loads pandas; the CLI imports this module for every command

    out, failures, docs = {}, [], []
    for network in networks_of_day(settings, day):
        res = validate(network)
        out[network] = _summary(res)
        try:
            docs.append(_data_docs_pages(settings, run_id, network, res))
        except Exception as e:
            out[network]["warnings"].append(f"data docs: rendering failed: {_one_line(e)[:300]}")
        if not res.success:
            failures.append(f"network={network}: {res.message()}")
    if docs:
        try:
            data_docs.write_index(Lake(settings.lake).data_docs(run_id), docs, f"Data Docs: run {run_id} (dt={day})")
        except Exception as e:
            for summary in out.values():
                summary["warnings"].append(f"data docs: index failed: {_one_line(e)[:300]}")
    save_state(settings, run_id, f"quality-{side}", out)
    if failures:
        label = "input" if side == "in" else "output"
        raise quality.QualityError(f"{label} quality gate failed for dt={day}:\n" + "\n".join(failures))
    return out


def _audit_network_day(settings: Settings, lake: Lake, run_id: str, network: str, day: dt.date, results_dir: Path):
    """The GE input suite and the day-level rules of :mod:`kindling.gates.policy` on one staged network-day."""
    import pandas as pd

    from kindling.gates import policy, quality  # deferred: loads pandas; the CLI imports this module for every command

    tables = {}
    for name in schemas.INPUT_TABLES:
        p = lake.staged_input(run_id, name, network, day)
        if p.is_dir():
            tables[name] = _read_parquet_dir(p)
    q = lake.staged(run_id, "quarantine", day, network)
    quarantine = _read_parquet_dir(q) if q.is_dir() else pd.DataFrame(columns=schemas.table("quarantine").column_names)
    res = quality.validate_input_day(tables, day, network, results_dir)
    findings, notes = policy.audit_network(settings, lake, network, day, tables, quarantine)
    failures = [f for f in findings if f["severity"] == "fail"]
    warnings = [f for f in findings if f["severity"] != "fail"]
    policy.save(
        results_dir / f"policy-{network}.json",
        {
            "network": network,
            "day": day.isoformat(),
            "failures": failures,
            "warnings": warnings,
            "notes": notes,
            "quarantined": {
                f"{t}: {r}": int(n) for (t, r), n in quarantine.groupby(["input_table", "reason"]).size().items()
            },
        },
    )
    res.failures.extend(failures)
    res.warnings.extend(warnings)
    res.success = res.success and not failures
    return res, notes


def _promote_day(lake: Lake, run_id: str, network: str, day: dt.date) -> None:

    for name in schemas.INPUT_TABLES:
        staged = lake.staged_input(run_id, name, network, day)
        if staged.is_dir():
            _promote(staged, lake.conformed(name, network, day))


def _audit_window_days(settings: Settings, lake: Lake, day: dt.date, run_id: str, log) -> dict:
    """The input gate on the earlier window days this run admitted, oldest first; each day that
    passes moves into ``<lake>/conformed`` before the next is judged (the volume rule compares a
    day with the days before it). A failing day stops the run naming it, or is skipped
    (``window_bad_day = skip``) with its quarantined rows kept beside the run's results."""
    from kindling.gates import quality  # deferred: loads pandas; the CLI imports this module for every command

    admit = load_states(settings, run_id).get("admit") or {"days": {}, "skipped": {}}
    days, skipped = admit["days"], admit.get("skipped", {})
    total, i = sum(len(v) for v in days.values()), 0
    for d in sorted(days):
        when = dt.date.fromisoformat(d)
        for network in list(days[d]):
            i += 1
            res, _ = _audit_network_day(
                settings, lake, run_id, network, when, lake.run_dir(run_id) / "quality" / f"dt={d}"
            )
            if res.success:
                _promote_day(lake, run_id, network, when)
                log(f"[{day}] admit {i}/{total}: dt={d} network={network} passed the input gate")
                continue
            kept = _keep_quarantine(lake, run_id, when, name=f"quarantine-dt={d}")
            error = quality.QualityError(
                f"input quality gate failed for dt={d}: network={network}: {res.message()}"
                + (f"\nquarantined rows: {kept}" if kept else "")
            )
            try:
                bad_window_day(settings, skipped, d, network, "audit-in", error, day)
            except StepFailed:
                save_state(settings, run_id, "admit", {"days": days, "skipped": skipped})
                raise
            days[d].remove(network)
            log(
                f"[{day}] admit {i}/{total}: dt={d} network={network} SKIPPED (window_bad_day=skip): {res.message()[:300]}"
            )
    admit = {"days": {d: n for d, n in days.items() if n}, "skipped": skipped}
    save_state(settings, run_id, "admit", admit)
    return admit


def window_coverage(settings: Settings, day: dt.date, networks: list[str], admit: dict) -> dict:
    """What the run's window holds: days expected, present (every network conformed), admitted by
    this run (the earlier days it conformed, and the run's own day), missing and skipped."""
    lake = Lake(settings.lake)
    window = window_dates(day, settings.window_days)
    present = [d for d in window if all(conformed_day(lake, n, d) for n in networks)]
    admitted = sorted({*admit.get("days", {}), day.isoformat()})
    return {
        "expected": len(window),
        "present": len(present),
        "admitted": len(admitted),
        "first": window[0].isoformat(),
        "last": day.isoformat(),
        "missing": [d.isoformat() for d in window if d not in present],
        "admitted_days": admitted,
        "skipped": admit.get("skipped", {}),
    }


def step_audit_in(settings: Settings, day: dt.date, run_id: str, log=None) -> dict:
    """The input gate: the GE input suite and the day-level rules of :mod:`kindling.gates.policy`.

    Reads what ``conform`` staged: first the earlier window days this run admits
    (:func:`_audit_window_days`), then the run's own day. When every network of the day passes,
    its staged rows replace the day in ``<lake>/conformed`` (where ``rank`` reads its window);
    when one fails, nothing of that day moves, and the run's quarantined rows are kept in
    ``<lake>/_runs/<run_id>/quarantine/``. The window's coverage is saved as the run's
    ``window`` state (``runs.window_*``).
    """
    from kindling.gates import quality  # deferred: loads pandas; the CLI imports this module for every command

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    lake = Lake(settings.lake)
    admit = _audit_window_days(settings, lake, day, run_id, log)
    extra: dict[str, list[str]] = {}

    def validate(network: str):
        res, notes = _audit_network_day(settings, lake, run_id, network, day, lake.run_dir(run_id) / "quality")
        extra[network] = notes
        return res

    try:
        out = _gate(settings, day, run_id, "in", validate)
    except quality.QualityError as e:
        kept = _keep_quarantine(lake, run_id, day)
        if kept is None:
            raise
        raise quality.QualityError(
            f"{e}\nquarantined rows of this run: {kept} (kindling query sql cannot see "
            "them: read them with DuckDB or pandas)"
        ) from None
    for network in out:
        out[network]["notes"] = extra.get(network, [])
        _promote_day(lake, run_id, network, day)
    save_state(settings, run_id, "quality-in", out)
    coverage = window_coverage(settings, day, list(out), admit)
    save_state(settings, run_id, "window", coverage)
    log(
        f"[{day}] window: {coverage['present']} of {coverage['expected']} days present "
        f"({coverage['first']} .. {coverage['last']}), {coverage['admitted']} admitted by this run"
    )
    return out


def _promote(staged: Path, target: Path) -> None:
    """Put a staged conformed table in place (hard links: instant, and the staging copy stays intact)."""

    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(staged, tmp, copy_function=os.link)
    replace_dir(tmp, target)


def _keep_quarantine(lake: Lake, run_id: str, day: dt.date, name: str = "quarantine") -> Path | None:
    """A failed day's quarantined rows, kept with the run's results (staging is cleaned up)."""
    staged = lake.staged(run_id, "quarantine", day)
    if not staged.is_dir():
        return None
    target = lake.run_dir(run_id) / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(staged, target)
    return target


def _data_docs_pages(settings: Settings, run_id: str, network: str, res) -> dict:

    lake = Lake(settings.lake)
    return data_docs.write_pages(lake.data_docs(run_id), res, network, run_id, _started_at(lake, run_id))


def step_audit_out(settings: Settings, day: dt.date, run_id: str) -> dict:
    """The output suite on the staged tables, then the drift gates against the previous published day.

    A failed drift gate (PSI above ``drift_psi_fail``) fails the suite like a failed expectation;
    its message says how to accept a genuine shift.
    """
    from kindling.gates import drift, quality  # deferred: loads pandas; the CLI imports this module for every command

    lake = Lake(settings.lake)

    def validate(network: str):

        tables = {}
        for table in PUBLISHED_TABLES:
            p = lake.staged(run_id, table, day, network)
            if not p.is_dir():
                raise StepFailed(f"{p}: nothing staged for table {table}, network={network} (did rank run?)")
            tables[table] = _read_parquet_dir(p)
        res = quality.validate_output(tables, network, lake.run_dir(run_id) / "quality")
        result = _drift(settings, lake, day, network, tables["account_scores"], run_id)
        quality.add_checks(res, "drift", result, drift.findings(result, day, run_id))
        return res

    return _gate(settings, day, run_id, "out", validate)


def _drift(settings: Settings, lake: Lake, day: dt.date, network: str, scores, run_id: str | None = None) -> dict:
    from kindling.gates import drift  # deferred: loads pandas; the CLI imports this module for every command

    missing = [c for c in (drift.ID, drift.SCORE, drift.RANK) if c not in scores.columns]
    if missing:  # the output suite reports the missing columns
        return {"status": drift.SKIPPED, "reason": f"staged account_scores lacks {', '.join(missing)}"}
    prev_day, prev = drift.previous_scores(lake, network, day) or (None, None)
    filling = None
    if prev_day is not None:
        now = load_states(settings, run_id).get("window") if run_id else None
        filling = drift.window_filling(
            (now["present"], now["expected"]) if now and "present" in now else None,
            drift.published_window(lake, prev_day),
            prev_day,
        )
    return drift.check(
        scores,
        prev,
        prev_day,
        psi_warn=settings.drift_psi_warn,
        psi_fail=settings.drift_psi_fail,
        spearman_warn=settings.drift_spearman_warn,
        top_k=settings.drift_top_k,
        alpha=settings.gate_alpha,
        filling=filling,
    )


def _summary(res) -> dict:
    return {
        "success": res.success,
        "failed": [f"{f['table']}.{f.get('column') or '*'}: {f['rule']}" for f in res.failures],
        "warnings": [f"{f['table']}.{f.get('column') or '*'}: {f['rule']}" for f in res.warnings],
        "results_path": res.results_path,
    } | res.checks  # e.g. "drift": the drift gates' values, or why they were skipped


def step_publish(settings: Settings, day: dt.date, run_id: str) -> dict:

    lake = Lake(settings.lake)
    states = load_states(settings, run_id)
    for need in ("quality-in", "quality-out"):
        if need not in states or not all(v.get("success") for v in states[need].values()):
            raise StepFailed(f"run {run_id}: refusing to publish dt={day}: {need} did not pass")
    staged = {table: lake.staged(run_id, table, day) for table in PUBLISHED_TABLES}
    for table, path in staged.items():
        if not path.is_dir():
            raise StepFailed(f"{path}: nothing staged for table {table}")
    published = {t: str(v.relative_to(lake.root)) for t, v in lake.publish_day(day, staged, run_id).items()}
    write_run_row(settings, day, run_id, status="published")
    shutil.rmtree(lake.staging(run_id), ignore_errors=True)
    return published


def remove_leftovers(settings: Settings, day: dt.date, run_id: str, log=None) -> list[str]:
    """Remove what killed runs of ``day`` left (see :meth:`Lake.remove_leftovers`) and say so.

    Runs at the start of ``pull``, holding the date's lock, so every run of a date — ``kindling
    run``, a backfill, or the DAG's ``pull`` task — starts from a lake without another run's
    staging or half-written temporary folders. Airflow runs one DAG run at a time
    (``max_active_runs=1``), so no other run of the date is between its tasks then. The removed
    paths go to stderr (the task log) and to the run's state (``cleanup``).
    """
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    lake = Lake(settings.lake)
    by = lake.published_by(day)
    if len(set(by.values())) > 1:
        log(
            f"[{day}] the published tables come from different runs ({', '.join(f'{t}: {r}' for t, r in sorted(by.items()))}): "
            "a publish was killed between two tables; this run publishes every table again"
        )
    removed = [str(p.relative_to(lake.root)) for p in lake.remove_leftovers(day, run_id)]
    for p in removed:
        log(f"[{day}] removed a killed run's leftover: {p}")
    save_state(settings, run_id, "cleanup", {"removed": removed, "published_by": by})
    return removed


def step_report(settings: Settings, day: dt.date, run_id: str) -> dict:
    """The day's HTML report; only reads published tables, so nothing it does can unpublish."""

    try:
        path = reports.write_report(settings.lake, day.isoformat())
    except Exception as e:
        err = StepFailed(
            f"dt={day} is published (run {run_id}), but its report failed: {_one_line(e)}; "
            f"`kindling report --date {day}` writes it again"
        )
        err.step = "report"
        raise err from e
    return {"path": str(path)}


# --- Spark steps ------------------------------------------------------------------
# The packages a Spark step's Python code may import. The driver (spark-submit's default client
# mode) runs jobs/entry.py from this checkout, which puts the checkout first on sys.path.
CODE_PACKAGES = ("jobs", "kindling", "schemas")
PROJECT_ROOT = JOBS_ENTRY.parent.parent


def is_local_master(master: str) -> bool:
    """True for ``local``, ``local[N]``, ``local[*]``, ``local[N,F]``: executors in the driver's JVM.

    ``local-cluster[...]`` starts separate executor processes and counts as a cluster.
    """
    return master == "local" or master.startswith("local[")


def code_archive(dest: Path) -> Path:
    """Zip the Python sources of :data:`CODE_PACKAGES` into ``dest/kindling-code.zip``.

    Shipped with ``--py-files``: Spark copies it to every executor and puts it on the sys.path
    of the executors' Python workers, so anything they unpickle or run (Python UDFs, functions
    passed to RDD operations, rows built by ``createDataFrame`` from local data) can import the
    project's modules on machines that have no checkout. Only ``.py`` files: package data read
    through ``Path(__file__)`` (the schema YAML, the taxonomy) is read by the driver, which
    uses the checkout. Entries are sorted and carry a fixed timestamp, so the same code gives
    the same bytes.
    """
    import zipfile

    path = dest / "kindling-code.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in CODE_PACKAGES:
            for src in sorted((PROJECT_ROOT / package).rglob("*.py")):
                if "__pycache__" in src.parts:
                    continue
                info = zipfile.ZipInfo(str(src.relative_to(PROJECT_ROOT)), date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, src.read_bytes())
    return path


def submit_command(settings: Settings, step: str, day: dt.date, run_id: str, py_files: str | None = None) -> list[str]:
    """The spark-submit command line of a Spark step.

    With a cluster master (spark://, yarn, k8s://) the executors are separate processes,
    possibly on other machines: they get their own memory and cores settings, the project's
    code through ``py_files`` (see :func:`code_archive`), and ``spark.pyspark.python`` from
    ``spark_executor_python`` when set. With a local master the command is what it always was.
    """

    exe = shutil.which("spark-submit") or str(Path(sys.executable).parent / "spark-submit")
    cmd = [exe, "--master", settings.spark_master, "--driver-memory", settings.spark_driver_memory]
    local = is_local_master(settings.spark_master)
    if not local:
        cmd += ["--executor-memory", settings.spark_executor_memory]
        if settings.spark_executor_cores > 0:
            cmd += ["--executor-cores", str(settings.spark_executor_cores)]
        if py_files:
            cmd += ["--py-files", py_files]
    for k, v in spark_confs(settings).items():
        cmd += ["--conf", f"{k}={v}"]
    # The driver runs here (client mode), so its Python is this one. The executors' Python is this
    # one too unless spark_executor_python names another: right on one machine, but a path that
    # exists on every executor host is needed on a remote cluster.
    executor_python = (not local and settings.spark_executor_python) or sys.executable
    cmd += [
        "--conf",
        f"spark.pyspark.python={executor_python}",
        "--conf",
        f"spark.pyspark.driver.python={sys.executable}",
    ]
    return [*cmd, str(JOBS_ENTRY), step, "--date", day.isoformat(), "--run-id", run_id]


def submit(settings: Settings, step: str, day: dt.date, run_id: str) -> int:

    with date_lock(settings.lake, day, run_id):
        return _submit(settings, step, day, run_id)


def _submit(settings: Settings, step: str, day: dt.date, run_id: str) -> int:
    import tempfile

    env = dict(os.environ)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    # Settings reach the job through the environment (plus kindling.toml, read there too).
    env.update({"KINDLING_LAKE": str(Path(settings.lake).resolve()), "KINDLING_SOURCE": settings.source})
    if settings.networks:
        env["KINDLING_NETWORKS"] = ",".join(settings.networks)
    if is_local_master(settings.spark_master):
        return subprocess.call(submit_command(settings, step, day, run_id), env=env)
    # The archive is needed only while spark-submit runs: in client mode the driver serves it to
    # the executors; in cluster mode spark-submit uploads it before it returns.
    with tempfile.TemporaryDirectory(prefix="kindling-submit-") as tmp:
        archive = code_archive(Path(tmp))
        return subprocess.call(submit_command(settings, step, day, run_id, py_files=str(archive)), env=env)


def run_spark_in_process(spark, settings: Settings, step: str, day: dt.date, run_id: str) -> dict:
    from jobs.entry import run_step  # deferred: loads pyspark, which only the in-process Spark steps need

    with date_lock(settings.lake, day, run_id), recorded(settings, step, day, run_id):
        result = run_step(spark, step, settings, day, run_id, networks_of_day(settings, day))
        save_state(settings, run_id, step, result)
    return result


LOCAL_STEPS = {
    "wait": step_wait,
    "pull": step_pull,
    "audit-in": step_audit_in,
    "audit-out": step_audit_out,
    "publish": step_publish,
    "report": step_report,
}
AFTER_PUBLISH = ("report",)
"""Steps that run on published data: their failure writes no ``failed`` row to ``runs``."""


def run_local_step(settings: Settings, step: str, day: dt.date, run_id: str) -> dict:

    with (
        date_lock(settings.lake, day, run_id),
        recorded(settings, step, day, run_id, failed_row=step not in AFTER_PUBLISH),
    ):
        if step == "pull":  # the first step that writes to the lake, in kindling run and in Airflow
            remove_leftovers(settings, day, run_id)
        result = LOCAL_STEPS[step](settings, day, run_id)
        if step not in ("publish",):
            save_state(settings, run_id, step, result)
    return result


def run_day(settings: Settings, day: dt.date, run_id: str | None = None, spark=None, log=print, on_step=None) -> str:
    """All steps for one date, in order, holding the date's lock throughout.

    Spark steps use ``spark`` when given, else spark-submit. ``on_step(step, index)``
    is called before each step (progress reporting).
    """

    run_id = run_id or new_run_id(day)
    with date_lock(settings.lake, day, run_id):
        for i, step in enumerate(STEPS):
            if on_step:
                on_step(step, i)
            t0 = time.time()
            log(f"[{day}] {step} ...")
            if step in SPARK_STEPS:
                if spark is not None:
                    run_spark_in_process(spark, settings, step, day, run_id)
                else:
                    rc = submit(settings, step, day, run_id)
                    if rc != 0:
                        err = StepFailed(f"dt={day}: Spark step {step} failed (exit {rc}); see its output above")
                        with contextlib.suppress(Exception):
                            write_run_row(settings, day, run_id, status="failed", failed_step=step, error=str(err))
                        raise err
            else:
                run_local_step(settings, step, day, run_id)
            log(f"[{day}] {step} done in {time.time() - t0:.1f}s")
    return run_id


# --- the runs table ---------------------------------------------------------------
