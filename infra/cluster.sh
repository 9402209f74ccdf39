#!/usr/bin/env bash
# A Spark standalone cluster on this machine: one master and one worker, bound to 127.0.0.1,
# run with the Spark that the project installs (pyspark's bundled spark-class, so the cluster
# and the driver that `kindling submit` starts are always the same Spark version).
#
#   infra/cluster.sh up        start the master and the worker; wait until the worker has registered
#   infra/cluster.sh status    what runs, where; exit 1 when the master or the worker is down
#   infra/cluster.sh down      stop both (worker first), remove the pid files
#
# `up` and `down` are idempotent: a running process is left alone, a stopped one is not an error,
# and a pid file whose process is gone (or is something else now) is removed.
#
# Environment (defaults in brackets):
#   KINDLING_CLUSTER_DIR             pid files, logs/ and the worker's work/ folder [<project>/.cluster]
#   KINDLING_CLUSTER_HOST            address the master and worker bind to [127.0.0.1]
#   KINDLING_CLUSTER_MASTER_PORT     master RPC port: KINDLING_SPARK_MASTER=spark://<host>:<port> [7077]
#   KINDLING_CLUSTER_MASTER_UI_PORT  master web UI, JSON state at /json/ [8081; Airflow's api-server has 8080]
#   KINDLING_CLUSTER_WORKER_UI_PORT  worker web UI [8082]
#   KINDLING_CLUSTER_WORKER_CORES    cores the worker offers to executors [2]
#   KINDLING_CLUSTER_WORKER_MEMORY   memory the worker offers to executors [2g]
#   KINDLING_CLUSTER_TIMEOUT         seconds `up` waits for the master, then for the worker to register [180]
#   SPARK_DAEMON_MEMORY              heap of the master and worker JVMs themselves [512m]
set -euo pipefail

project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${KINDLING_CLUSTER_DIR:-$project/.cluster}"
host="${KINDLING_CLUSTER_HOST:-127.0.0.1}"
master_port="${KINDLING_CLUSTER_MASTER_PORT:-7077}"
master_ui="${KINDLING_CLUSTER_MASTER_UI_PORT:-8081}"
worker_ui="${KINDLING_CLUSTER_WORKER_UI_PORT:-8082}"
worker_cores="${KINDLING_CLUSTER_WORKER_CORES:-2}"
worker_memory="${KINDLING_CLUSTER_WORKER_MEMORY:-2g}"
timeout="${KINDLING_CLUSTER_TIMEOUT:-180}"
python="$project/.venv/bin/python"
master_url="spark://$host:$master_port"
json_url="http://$host:$master_ui/json/"

die() { echo "cluster: $*" >&2; exit 1; }

# The class each pid file must belong to: a recycled pid running something else is not ours.
class_of() {
    case "$1" in
        master) echo org.apache.spark.deploy.master.Master ;;
        worker) echo org.apache.spark.deploy.worker.Worker ;;
    esac
}

# The pid of a running daemon (master|worker), or nothing; a stale pid file is removed.
running_pid() {
    local name="$1" pidfile="$dir/$1.pid" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && ps -ww -p "$pid" -o args= 2>/dev/null | grep -q "$(class_of "$name")"; then
        echo "$pid"
    else
        echo "cluster: removing stale $name pid file (pid $pid is not a running $name)" >&2
        rm -f "$pidfile"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

# The master's JSON state, or nothing when it does not answer.
master_state() { curl -fsS --max-time 2 "$json_url" 2>/dev/null || true; }

alive_workers() {
    master_state | "$python" -c '
import json, sys
try:
    print(json.load(sys.stdin).get("aliveworkers", 0))
except ValueError:
    print(0)'
}

use_venv_spark() {
    SPARK_HOME="$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')" \
        || die "no pyspark in $project/.venv; run make env first"
    # spark-class honours SPARK_HOME: pin it to the venv's pyspark, so that an unrelated Spark
    # installation named in the caller's environment never serves this cluster.
    export SPARK_HOME
}

start() {  # start <name> <class args...>
    local name="$1"; shift
    local log="$dir/logs/$name.log"
    # nohup execs spark-class, which ends in `exec java`: $! is the JVM's pid.
    # stdin/stdout/stderr are detached so that callers capturing output (pytest) do not wait on us.
    nohup "$SPARK_HOME/bin/spark-class" "$@" </dev/null >>"$log" 2>&1 &
    echo $! >"$dir/$name.pid"
    echo "cluster: started $name (pid $!, log $log)"
}

# Wait for a condition, failing fast when the daemon died.
wait_for() {  # wait_for <name> <what> <command...>
    local name="$1" what="$2"; shift 2
    local deadline=$((SECONDS + timeout))
    until "$@"; do
        if [[ -z "$(running_pid "$name" 2>/dev/null)" ]]; then
            tail -n 30 "$dir/logs/$name.log" >&2 || true
            die "the $name exited while waiting for $what; log: $dir/logs/$name.log"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 30 "$dir/logs/$name.log" >&2 || true
            die "timed out after ${timeout}s waiting for $what (KINDLING_CLUSTER_TIMEOUT); log: $dir/logs/$name.log"
        fi
        sleep 1
    done
}

master_answers() { [[ -n "$(master_state)" ]]; }
worker_registered() { [[ "$(alive_workers)" -ge 1 ]]; }

up() {
    [[ -x "$python" ]] || die "no $python; run make env first"
    use_venv_spark
    mkdir -p "$dir/logs" "$dir/work"
    # Spark, when a port is taken, silently tries the next 16; the daemons get
    # spark.port.maxRetries=0 instead, and the ports are checked here first for a clear message.
    export SPARK_DAEMON_JAVA_OPTS="${SPARK_DAEMON_JAVA_OPTS:-} -Dspark.port.maxRetries=0"
    # No REST submission server (port 6066, fixed): spark-submit talks to the master's RPC port.
    export SPARK_MASTER_OPTS="${SPARK_MASTER_OPTS:-} -Dspark.master.rest.enabled=false"
    export SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-512m}"
    export SPARK_LOCAL_IP="$host"

    if [[ -n "$(running_pid master)" ]]; then
        echo "cluster: master already running (pid $(cat "$dir/master.pid")) at $master_url"
    else
        for port in "$master_port" "$master_ui"; do
            ! port_in_use "$port" || die "port $port on $host is in use; pick others with KINDLING_CLUSTER_MASTER_PORT / KINDLING_CLUSTER_MASTER_UI_PORT"
        done
        start master org.apache.spark.deploy.master.Master \
            --host "$host" --port "$master_port" --webui-port "$master_ui"
    fi
    wait_for master "the master's web UI at $json_url" master_answers

    if [[ -n "$(running_pid worker)" ]]; then
        echo "cluster: worker already running (pid $(cat "$dir/worker.pid"))"
    else
        ! port_in_use "$worker_ui" || die "port $worker_ui on $host is in use; pick another with KINDLING_CLUSTER_WORKER_UI_PORT"
        start worker org.apache.spark.deploy.worker.Worker \
            --host "$host" --webui-port "$worker_ui" --cores "$worker_cores" --memory "$worker_memory" \
            --work-dir "$dir/work" "$master_url"
    fi
    wait_for worker "the worker to register with the master" worker_registered
    echo "cluster: up — master $master_url, UI http://$host:$master_ui, $(alive_workers) worker(s) alive"
    echo "cluster: run against it with KINDLING_SPARK_MASTER=$master_url"
}

stop() {  # stop <name>
    local name="$1" pid
    pid="$(running_pid "$name")"
    if [[ -z "$pid" ]]; then
        echo "cluster: $name not running"
        rm -f "$dir/$name.pid"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "cluster: $name (pid $pid) ignored SIGTERM for 15s; sending SIGKILL" >&2
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$name.pid"
    echo "cluster: stopped $name (pid $pid)"
}

down() {
    # The worker first: on SIGTERM it kills the executors it launched.
    stop worker
    stop master
}

status() {
    local ok=0 pid
    for name in master worker; do
        pid="$(running_pid "$name")"
        if [[ -n "$pid" ]]; then
            echo "cluster: $name running (pid $pid, log $dir/logs/$name.log)"
        else
            echo "cluster: $name not running"
            ok=1
        fi
    done
    if ((ok == 0)); then
        echo "cluster: master $master_url, UI http://$host:$master_ui, $(alive_workers) worker(s) alive"
    fi
    return "$ok"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: infra/cluster.sh up|down|status" >&2; exit 2 ;;
esac
