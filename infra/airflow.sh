#!/usr/bin/env bash
# Run the Airflow CLI against this project's DAGs, with a private, self-contained Airflow home.
#
#   infra/airflow.sh dags test kindling_daily 2026-11-21   # runs the day 2026-11-20 (see below)
#   infra/airflow.sh dags list
#   infra/airflow.sh standalone                            # scheduler, dag-processor, triggerer and
#                                                          # the UI/API on http://127.0.0.1:8080
#   infra/airflow.sh backfill create --dag-id kindling_daily --from-date D1 --to-date D2 --max-active-runs 1
#
# AIRFLOW_HOME is <project>/.airflow (git-ignored), holding airflow.cfg and the SQLite metadata DB.
# The DB is migrated on first use only; delete .airflow/ to start over. The project's .venv/bin,
# when present, goes first on PATH, so `airflow`, `kindling` and `spark-submit` are the venv's.
# Airflow runs from the project directory, so relative kindling settings (the default ./lake,
# ./data/snapshots, ./kindling.toml) mean the same to every task and to `kindling` run by hand.
#
# Dates: kindling_daily uses a data-interval timetable, and a manual run (dags test, dags trigger)
# with logical date L processes the last complete day before L. To run day D, pass D + 1 day.
# Scheduled and backfill runs (`backfill create --from-date D ...`) process D for logical date D.
# Task output is at INFO; set AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING for less, or
# AIRFLOW__LOGGING__NAMESPACE_LEVELS= (empty) for everything.
set -euo pipefail

project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -d "$project/.venv/bin" ]]; then
    export PATH="$project/.venv/bin:$PATH"
fi
if ! command -v airflow >/dev/null; then
    echo "airflow.sh: no airflow on PATH and no $project/.venv; create the venv first (uv sync)" >&2
    exit 1
fi

# KINDLING_AIRFLOW_HOME moves the Airflow home elsewhere (the tests use a temporary one).
export AIRFLOW_HOME="${KINDLING_AIRFLOW_HOME:-$project/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$project/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
# SQLite under AIRFLOW_HOME is Airflow's default; spelled out so that an inherited setting does
# not point this private home at someone else's database.
# `timeout`: how long a connection waits for another's write lock before "database is locked".
# The scheduler, dag-processor, API server and CLI all write this one file; SQLite's 5 s default
# can be too short on a busy 2-core machine while the scheduler and a CLI command both write.
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db?timeout=60"
# Ports. The API server (UI, REST and the task execution API that workers call back) listens on
# 127.0.0.1 only; KINDLING_AIRFLOW_PORT moves it, and the two log servers, so that a second Airflow
# (the scheduler test) runs beside a developer's own. Workers reach the API at the same address.
api_port="${KINDLING_AIRFLOW_PORT:-8080}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="$api_port"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:$api_port/execution/}"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${KINDLING_AIRFLOW_WORKER_LOG_PORT:-8793}"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="${KINDLING_AIRFLOW_TRIGGER_LOG_PORT:-8794}"
# One task runs at a time (the DAG's runs are sequential), so a few executor processes suffice;
# Airflow's default of 32 costs memory and start-up time on a laptop. A task calls the API server
# back over HTTP; Spark jobs on a busy 2-core machine can slow the API past the 5 s default timeout.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="${AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT:-30}"
export AIRFLOW__LOGGING__LOGGING_LEVEL="${AIRFLOW__LOGGING__LOGGING_LEVEL:-INFO}"
# Keep the task output and the [DAG TEST] progress lines; drop the in-process API server's chatter.
export AIRFLOW__LOGGING__NAMESPACE_LEVELS="${AIRFLOW__LOGGING__NAMESPACE_LEVELS:-airflow.api_fastapi=WARNING airflow.serialization=WARNING airflow.dag_processing=WARNING airflow.models.dag=WARNING py.warnings=ERROR sqlalchemy=WARNING alembic=WARNING}"
export AIRFLOW__LOGGING__COLORED_CONSOLE_LOG="${AIRFLOW__LOGGING__COLORED_CONSOLE_LOG:-False}"

cd "$project"

# `airflow db migrate` is idempotent but takes seconds; the marker skips it once it has succeeded.
# The marker names the Airflow version, so an upgrade migrates again.
# (`airflow version` would take seconds; importlib.metadata takes milliseconds.)
version="$(python -c 'import importlib.metadata as m; print(m.version("apache-airflow-core"))' 2>/dev/null || echo unknown)"
marker="$AIRFLOW_HOME/.migrated-$version"
if [[ ! -f "$marker" ]]; then
    mkdir -p "$AIRFLOW_HOME"
    airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || {
        cat "$AIRFLOW_HOME/db-migrate.log" >&2
        echo "airflow.sh: airflow db migrate failed" >&2
        exit 1
    }
    touch "$marker"
fi
# `backfill create` beside a running scheduler can still fail at once with "database is locked":
# it reads, then writes, inside a SAVEPOINT, and SQLite refuses the write without waiting if the
# scheduler committed in between (Airflow already runs SQLite in WAL mode). Airflow removes the
# partial backfill on that error "so the user can retry"; this retries for you, up to 5 times.
# (With PostgreSQL or MySQL this does not happen.)
if [[ "${1:-}" == "backfill" && "${2:-}" == "create" ]]; then
    for attempt in 1 2 3 4 5; do
        if out="$(airflow "$@" 2>&1)"; then
            printf '%s\n' "$out"
            exit 0
        fi
        if [[ $attempt -lt 5 ]] && grep -q "database is locked" <<<"$out"; then
            echo "airflow.sh: backfill create met SQLite's write lock (attempt $attempt of 5); retrying in 5 s" >&2
            sleep 5
            continue
        fi
        printf '%s\n' "$out" >&2
        exit 1
    done
fi

exec airflow "$@"
