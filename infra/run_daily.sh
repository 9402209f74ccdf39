#!/usr/bin/env bash
# `make run`: the daily job on the embedded defaults, from a fresh clone.
#   1. sample snapshots into the source folder when it is empty (2 networks, 5,000 accounts, 35 days)
#   2. the kindling_daily DAG through Airflow (`airflow dags test`, SQLite under .airflow/)
#      for the day before the latest snapshot date found at the source (which admits the whole
#      scoring window into the lake), then for the latest
#   3. the top 10 accounts of each network with the window's coverage, the busiest topic, the movers
set -euo pipefail
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$project"
export PATH="$project/.venv/bin:$PATH"

source_dir="${KINDLING_SOURCE:-./data/snapshots}"
if [[ "$source_dir" != *://* ]] && [[ -z "$(ls -A "$source_dir" 2>/dev/null)" ]]; then
    echo "== generating sample snapshots into $source_dir"
    kindling generate --out "$source_dir" --accounts 5000 --days 35 --networks alpha,beta --seed 7 >/dev/null
fi

latest="$(python - "$source_dir" <<'PY'
import sys
from kindling.core.settings import load_settings
from kindling.ingest.source import latest_snapshot_date
print(latest_snapshot_date(load_settings(source=sys.argv[1])))
PY
)"
# The day before the latest first, then the latest: the first run admits the whole 28-day window
# into the lake (its days through the same conform and input gate, in one Spark application), the
# second adds one day, and the latest day's scores then have a previous day to move from.
previous="$(python -c "import datetime,sys; print(datetime.date.fromisoformat(sys.argv[1]) - datetime.timedelta(days=1))" "$latest")"
mkdir -p "$project/.airflow"
for day in "$previous" "$latest"; do
    if [ "$day" = "$previous" ] && python - "$day" <<'PY'
import datetime, sys
from kindling.storage.lake import Lake
from kindling.core.settings import load_settings
sys.exit(0 if datetime.date.fromisoformat(sys.argv[1]) in Lake(load_settings().lake).published_dates("account_scores") else 1)
PY
    then
        echo "== dt=$day is published already"
        continue
    fi
    logical="$(python -c "import datetime,sys; print(datetime.date.fromisoformat(sys.argv[1]) + datetime.timedelta(days=1))" "$day")"
    echo "== running kindling_daily through Airflow for dt=$day (logical date $logical)"
    # A manual run with logical date L covers the day before L (see dags/kindling_daily.py).
    # No retries and no waiting here: a failure should show at once.
    KINDLING_SENSOR_TIMEOUT_HOURS=0 KINDLING_TASK_RETRIES=0 \
        "$project/infra/airflow.sh" dags test kindling_daily "$logical" > "$project/.airflow/last-run.log" 2>&1 || {
        tail -n 60 "$project/.airflow/last-run.log" >&2
        echo "make run: the DAG run failed; full log in .airflow/last-run.log" >&2
        exit 1
    }
    # what the run admitted and how much of the window it scored (the task logs carry the lines)
    grep -ohE '\[[0-9-]+\] (the window .*|window: .*)' "$project/.airflow/last-run.log" | sed 's/ \[airflow.*//' | sort -u || true
done
for network in $(python -c "
from kindling.core.settings import load_settings
from kindling.ingest.source import list_networks
print(' '.join(list_networks(load_settings())))"); do
    echo
    echo "== top 10 of network $network, dt=$latest (kindling query top --network $network)"
    kindling query top --network "$network" -n 10
    echo
    echo "== top 5 people of network $network (kindling query top --network $network --people-only):"
    echo "   the ranking above includes organizations and brands by design; this one is people only"
    # the table only (its footer is the one above); sed reads all of it, so no broken pipe
    kindling query top --network "$network" -n 5 --people-only | sed -n '1,7p'
done
topic=$(python - "$latest" <<'PY'
import sys, duckdb
from kindling.core.settings import load_settings
glob = f"{load_settings().lake}/tables/topic_scores/dt={sys.argv[1]}/network=*/*.parquet"
rows = duckdb.execute("SELECT topic FROM read_parquet(?) WHERE topic NOT LIKE '%-super' "
                      "GROUP BY topic ORDER BY count(*) DESC, topic LIMIT 1", [glob]).fetchall()
print(rows[0][0] if rows else "")
PY
)
if [ -n "$topic" ]; then
    echo
    echo "== the busiest topic, $topic: top 5 by expertise, then by interest (kindling query top --topic $topic [--by interest])"
    kindling query top --topic "$topic" -n 5
    echo
    kindling query top --topic "$topic" -n 5 --by interest
fi
echo
echo "== biggest movers on alpha since the day before (kindling query movers --network alpha)"
kindling query movers --network alpha -n 5
echo
echo "== more: kindling query topics, kindling query explain ID --network N, kindling query runs; the report: lake/reports/dt=$latest/report.html"
