"""kindling query runs and kindling query sql, on small published tables written with pyarrow.

The score tables are the ones of test_query_topics (two dates, two networks, one date published
through a version link); the runs table gets three attempts written here, one of them failed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_query_topics import D1, D2, DATA, _write_lake

import schemas
from kindling.cli import main
from kindling.serving import query

T0 = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
RUNS = [
    dict(
        run_id=f"{D1}_20261126T010000_aaaaaa",
        dt=D1,
        status="published",
        started=T0,
        seconds=61.5,
        timings={"conform": 20.0, "rank": 40.0},
    ),
    dict(
        run_id=f"{D2}_20261126T020000_bbbbbb",
        dt=D2,
        status="failed",
        started=T0 + dt.timedelta(hours=1),
        seconds=12.0,
        failed_step="audit-in",
        error="QualityError: input quality gate failed for dt=2026-11-25:\n"
        "network=beta: interactions.parquet row 7: kind 'poke' is not one of reply, quote, repost, mention, like",
        quality={
            "quality-in": {
                "alpha": {"success": True, "failed": [], "warnings": []},
                "beta": {"success": False, "failed": ["interactions.kind: values_in_set"], "warnings": []},
            }
        },
    ),
    dict(
        run_id=f"{D2}_20261126T030000_cccccc",
        dt=D2,
        status="published",
        started=T0 + dt.timedelta(hours=2),
        seconds=70.25,
        timings={"conform": 21.0, "rank": 45.0},
    ),
]


def _write_runs(root):
    schema = schemas.table("runs").arrow_schema()
    for r in RUNS:
        row = {
            "run_id": r["run_id"],
            "networks": ["alpha", "beta"],
            "status": r["status"],
            "failed_step": r.get("failed_step"),
            "error": r.get("error"),
            "input_rows": None,
            "output_rows": None,
            "quality": json.dumps(r["quality"]) if "quality" in r else None,
            "quality_results_path": f"_runs/{r['run_id']}/quality",
            "started_at": r["started"],
            "finished_at": r["started"] + dt.timedelta(seconds=r["seconds"]),
            "timings": json.dumps(r.get("timings", {})),
        }
        folder = root / "tables" / "runs" / f"dt={r['dt']}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([row], schema=schema), folder / f"{r['run_id']}-{r['status']}.parquet")


@pytest.fixture
def lake(tmp_path, monkeypatch):
    root = tmp_path / "lake"
    _write_lake(root, DATA)
    _write_runs(root)
    monkeypatch.setenv("KINDLING_LAKE", str(root))
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return root


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# ----------------------------------------------------------------------------- runs


def test_runs_newest_first_with_failed_step_and_checks(lake, capsys):
    rc, out, err = run(capsys, "query", "runs", "--format", "json")
    assert rc == 0, err
    rows = json.loads(out)
    assert [r["run_id"] for r in rows] == [r["run_id"] for r in reversed(RUNS)]
    failed = rows[1]
    assert (failed["status"], failed["failed_step"]) == ("failed", "audit-in")
    assert failed["failed_checks"] == ["in:beta:interactions.kind: values_in_set"]
    assert "row 7" in failed["error"]
    assert rows[0]["seconds"] == round(RUNS[2]["seconds"], 1)
    assert rows[2]["timings"] == {"conform": 20.0, "rank": 40.0}
    assert rows[2]["quality_results_path"] == f"_runs/{RUNS[0]['run_id']}/quality"


def test_runs_of_one_date_and_status(lake, capsys):
    rc, out, _ = run(capsys, "query", "runs", "--date", D2, "--format", "json")
    assert rc == 0
    assert {r["dt"] for r in json.loads(out)} == {D2} and len(json.loads(out)) == 2
    rc, out, _ = run(capsys, "query", "runs", "--status", "failed", "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["run_id"] == RUNS[1]["run_id"] and row["failed_checks"] == "in:beta:interactions.kind: values_in_set"
    rc, out, _ = run(capsys, "query", "runs", "-n", "1", "--format", "json")
    assert [r["run_id"] for r in json.loads(out)] == [RUNS[2]["run_id"]]
    assert query.runs(lake, date="2026-01-01") == []


def test_runs_table_names_the_failure_and_fits_80_columns(lake, capsys):
    rc, out, _ = run(capsys, "query", "runs")
    assert rc == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    i = next(i for i, line in enumerate(lines) if " failed " in f"{line} ")
    assert "20261126T020000_bbbbbb" in lines[i] and lines[i].startswith(D2)
    assert lines[i + 1].strip() == "audit-in failed: in:beta:interactions.kind: values_in_set"


@pytest.mark.parametrize("argv", [["--date", "2026-13-01"], ["--date", "../../etc"], ["-n", "0"]])
def test_runs_rejects_bad_arguments(lake, capsys, argv):
    rc, out, err = run(capsys, "query", "runs", *argv)
    assert (rc, out) == (2, "") and "kindling: error:" in err


def test_runs_status_must_be_known(lake, capsys):
    with pytest.raises(SystemExit):
        run(capsys, "query", "runs", "--status", "running")
    with pytest.raises(query.InvalidArgument):
        query.runs(lake, status="running")


# ----------------------------------------------------------------------------- sql


def _published_count(table):
    return sum(len(rows) for rows in DATA[table].values())


def test_sql_sees_every_published_table_with_dt_and_network(lake, capsys):
    rc, out, err = run(
        capsys,
        "query",
        "sql",
        "SELECT network, CAST(dt AS VARCHAR) AS dt, count(*) AS n FROM account_scores GROUP BY ALL ORDER BY ALL",
        "--format",
        "json",
    )
    assert rc == 0, err
    got = {(r["network"], r["dt"]): r["n"] for r in json.loads(out)}
    assert got == {(net, day): len(rows) for (day, net), rows in DATA["account_scores"].items()}
    for table in ("topic_scores", "score_contributors"):
        (row,) = query.sql(lake, f"SELECT count(*) AS n FROM {table}")
        assert row["n"] == _published_count(table)
    (row,) = query.sql(lake, "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'failed') AS failed FROM runs")
    assert (row["n"], row["failed"]) == (3, 1)
    top = query.sql(
        lake, "SELECT handle FROM topic_scores WHERE topic = 'python' AND network = 'beta' ORDER BY expertise DESC"
    )
    assert [r["handle"] for r in top] == ["h_a6", "h_a1"]


def test_sql_reads_partitions_published_before_a_column_existed(lake):
    # dt=D1 of alpha as an older release wrote it: no responsiveness or spam columns
    part = lake / "tables" / "account_scores" / f"dt={D1}" / "network=alpha" / "part-0.parquet"
    new = [
        "trust_rank",
        "spam_mass",
        "spam_flag",
        "ring_id",
        "ring_flag",
        "responsiveness",
        "asks",
        "answered",
        "answer_hours_median",
    ]
    pq.write_table(pq.read_table(part).drop(new), part)
    rows = query.sql(
        lake,
        "SELECT CAST(dt AS VARCHAR) AS dt, network, count(*) AS n, count(responsiveness) AS r, "
        "count(spam_flag) AS f FROM account_scores GROUP BY ALL ORDER BY ALL",
    )
    want = {(day, net): len(r) for (day, net), r in DATA["account_scores"].items()}
    assert {(r["dt"], r["network"]): r["n"] for r in rows} == want
    assert {(r["dt"], r["network"]): r["r"] for r in rows} == {
        k: 0 if k == (D1, "alpha") else v for k, v in want.items()
    }
    assert {(r["dt"], r["network"]): r["f"] for r in rows} == {
        k: 0 if k == (D1, "alpha") else v for k, v in want.items()
    }


def test_sql_formats(lake, capsys):
    stmt = "SELECT account_id, influence FROM account_scores WHERE network = 'beta' ORDER BY influence DESC"
    rc, out, _ = run(capsys, "query", "sql", stmt, "--format", "csv")
    assert list(csv.reader(io.StringIO(out)))[:2] == [["account_id", "influence"], ["a6", "70.0"]]
    rc, out, _ = run(capsys, "query", "sql", stmt)
    assert out.splitlines()[2].split() == ["a6", "70.00"]


def test_sql_does_not_see_staged_or_other_lake_files(lake):
    staged = lake / "_staging" / "run-x" / "account_scores" / f"dt={D2}" / "network=alpha"
    staged.mkdir(parents=True)
    pq.write_table(pa.table({"account_id": ["ghost"]}), staged / "part-0.parquet")
    assert query.sql(lake, "SELECT count(*) AS n FROM account_scores WHERE account_id = 'ghost'")[0]["n"] == 0
    with pytest.raises(query.InvalidArgument, match="Permission"):
        query.sql(lake, f"SELECT * FROM read_parquet('{staged}/part-0.parquet')")


@pytest.mark.parametrize(
    "statement",
    [
        "COPY account_scores TO 'out.csv'",
        "CREATE TABLE t AS SELECT 1",
        "DROP VIEW account_scores",
        "INSERT INTO runs VALUES (1)",
        "ATTACH 'other.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "PRAGMA version",
        "SELECT 1; DROP VIEW runs",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/*')",
    ],
)
def test_sql_refuses_anything_but_reading_the_views(lake, capsys, statement, tmp_path):
    rc, out, err = run(capsys, "query", "sql", statement)
    assert rc == 2, (out, err)
    assert "sql:" in err
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.db").exists()
    # and the views are still there for the next query
    assert query.sql(lake, "SELECT count(*) AS n FROM runs")[0]["n"] == 3


def test_sql_on_a_lake_with_runs_only_binds_with_no_rows(tmp_path):
    _write_runs(tmp_path / "runs-only")  # nothing published yet: the score views bind, empty
    assert query.sql(tmp_path / "runs-only", "SELECT count(*) AS n, max(influence) AS top FROM account_scores") == [
        {"n": 0, "top": None}
    ]
    assert len(query.sql(tmp_path / "runs-only", "SELECT * FROM runs")) == len(RUNS)


def test_sql_on_a_missing_or_empty_lake_is_an_error(tmp_path):
    """Not a count of 0: a wrong path would otherwise look like a lake with nothing in it."""
    with pytest.raises(query.NoLake, match="the folder does not exist"):
        query.sql(tmp_path / "missing", "SELECT count(*) FROM account_scores")
    (tmp_path / "empty" / "tables").mkdir(parents=True)
    with pytest.raises(query.NoLake, match="no published tables and no runs"):
        query.sql(tmp_path / "empty", "SELECT * FROM runs")
