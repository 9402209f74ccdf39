"""infra/airflow.sh's retry of `backfill create` on SQLite's "database is locked".

The script is copied into a throwaway project whose `.venv/bin/airflow` is a fake that fails
with the lock error a given number of times, then succeeds; the real one is not run. The test
checks that the script retries only that error, only for `backfill create`, at most 5 times,
and passes the last output and exit code through.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # tier: see tests/conftest.py

SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "airflow.sh"

FAKE = """#!/usr/bin/env bash
n=$(( $(cat "$CALLS" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$CALLS"
echo "$*" >> "$CALLS.args"
if [[ "$n" -le "$FAILS" ]]; then
    echo "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) $ERROR" >&2
    exit 1
fi
echo "Created backfill Dag run."
"""


def _project(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "project"
    (root / "infra").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "infra" / "airflow.sh")
    bin_ = root / ".venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "airflow").write_text(FAKE)
    (bin_ / "airflow").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".migrated-unknown").touch()  # no `airflow db migrate`
    env = {**os.environ, "KINDLING_AIRFLOW_HOME": str(home), "CALLS": str(tmp_path / "calls")}
    # the version probe runs `python`: let it report a version whose marker exists, so no migration
    (bin_ / "python").write_text(
        '#!/usr/bin/env bash\nif [[ "$1" == "-c" && "$2" == *importlib.metadata* ]]; then echo unknown; '
        'else exec python3 "$@"; fi\n'
    )
    (bin_ / "python").chmod(0o755)
    return root, env


def _run(root: Path, env: dict, *args: str, fails: int, error: str = "database is locked"):
    return subprocess.run(
        [str(root / "infra" / "airflow.sh"), *args],
        env={**env, "FAILS": str(fails), "ERROR": error},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _calls(env: dict) -> int:
    return int(Path(env["CALLS"]).read_text())


@pytest.mark.parametrize("fails, ok, calls", [(0, True, 1), (2, True, 3), (5, False, 5)])
def test_backfill_create_is_retried_on_the_sqlite_lock_only(tmp_path, fails, ok, calls):
    root, env = _project(tmp_path)
    r = _run(root, env, "backfill", "create", "--dag-id", "kindling_daily", "--from-date", "2026-11-18", fails=fails)
    assert (r.returncode == 0) is ok, r.stderr
    assert _calls(env) == calls
    assert r.stderr.count("retrying in 5 s") == min(fails, 4)
    if ok:
        assert "Created backfill Dag run." in r.stdout
    else:
        assert "database is locked" in r.stderr  # the last attempt's error is shown
    args = Path(env["CALLS"] + ".args").read_text().splitlines()
    assert set(args) == {"backfill create --dag-id kindling_daily --from-date 2026-11-18"}


def test_other_errors_and_other_commands_are_not_retried(tmp_path):
    root, env = _project(tmp_path)
    r = _run(root, env, "backfill", "create", "--dag-id", "x", fails=1, error="no such table: dag")
    assert r.returncode == 1 and _calls(env) == 1 and "no such table" in r.stderr
    Path(env["CALLS"]).unlink()
    r = _run(root, env, "dags", "unpause", "kindling_daily", fails=1)
    assert r.returncode == 1 and _calls(env) == 1 and "database is locked" in r.stderr
