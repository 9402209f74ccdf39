"""The ``kindling`` command line as a tool: --lake, a missing lake, bad settings, bare ``kindling``,
--version, the influence scale under ``query top``, accounts that are per network, and one error
style (``kindling: error: ...`` on stderr, exit 2 for usage and settings, 1 for failed steps).

The lakes are a few rows per table written with pyarrow and published with ``Lake.publish_day``
(the pipeline's own layout: ``tables/<table>/dt=D`` links through ``_days/dt=D/current``); no
Spark. A few cases run the installed entry point (``.venv/bin/kindling``) in a subprocess; the
rest call ``kindling.cli.main`` in process.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import schemas
from kindling.cli import build_parser, main
from kindling.core.settings import SettingError, load_settings
from kindling.serving import query
from kindling.storage.lake import Lake

D = "2026-11-25"
DAY = dt.date.fromisoformat(D)
KINDLING = Path(sys.executable).parent / "kindling"
FLOOR = 8.1234  # the influence of alpha's accounts nobody engaged with (in_weight 0)


def _filler(f: schemas.Field):
    """A value for a column a test does not care about: None when allowed, else the type's simplest."""
    if f.nullable:
        return None
    if f.allowed:
        return f.allowed[0]
    t = f.type
    if t in ("double", "float"):
        return float(f.min) if f.min is not None else 0.0
    if t in ("long", "int"):
        return int(f.min) if f.min is not None else 0
    if t == "boolean":
        return False
    if t == "timestamp":
        return dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    if t == "date":
        return DAY
    if t.startswith("array<"):
        return []
    if t.startswith("map<"):
        return {}
    return "x"


def _acc(account_id, handle, influence, rank, in_weight, **over):
    return dict(
        account_id=account_id,
        handle=handle,
        account_type="person",
        influence=influence,
        rank=rank,
        pagerank=2 ** ((influence - 20) / 10) / 100,
        percentile=50.0,
        in_weight=in_weight,
        run_id="r1",
        **over,
    )


def _ts(topic, account_id, handle, expertise, interest, rank):
    return dict(
        topic=topic,
        account_id=account_id,
        handle=handle,
        account_type="person",
        expertise=expertise,
        interest=interest,
        rank_in_topic=rank,
        run_id="r1",
    )


# account id a001301 is on both networks, and they are two different people (zoe on alpha, zed on beta).
TABLES = {
    "account_scores": {
        "alpha": [
            _acc("a1", "ann", 62.5, 1, 9.0, influence_change=1.5),
            _acc("a001301", "zoe", 30.0, 2, 2.0),
            _acc("a3", "cy", FLOOR, 3, 0.0),
            _acc("a4", "dee", FLOOR, 4, 0.0),
        ],
        "beta": [_acc("b1", "bea", 45.0, 1, 3.0), _acc("a001301", "zed", 12.0, 2, 0.5)],
    },
    "topic_scores": {
        "alpha": [
            _ts("python", "a1", "ann", 80.0, 5.0, 1),
            _ts("python", "a001301", "zoe", 40.0, 60.0, 2),
            _ts("cooking", "a001301", "zoe", 70.0, 10.0, 1),
        ],
        "beta": [_ts("knitting", "a001301", "zed", 90.0, 30.0, 1)],
    },
}


def _publish(root: Path, tables: dict) -> Path:
    """Write ``tables`` ({table: {network: rows}}) as staged Parquet and publish them as dt=D."""
    staged = {}
    for table, per_net in tables.items():
        t = schemas.table(table)
        for net, rows in per_net.items():
            folder = root / "_staging" / "r1" / table / f"dt={D}" / f"network={net}"
            folder.mkdir(parents=True, exist_ok=True)
            full = [{f.name: r.get(f.name, _filler(f)) for f in t.fields} for r in rows]
            pq.write_table(pa.Table.from_pylist(full, schema=t.arrow_schema()), folder / "part-0.parquet")
        staged[table] = root / "_staging" / "r1" / table / f"dt={D}"
    Lake(root).publish_day(DAY, staged, "r1")
    return root


def _write_run(root: Path, status: str) -> None:
    t = schemas.table("runs")
    row = {f.name: _filler(f) for f in t.fields}
    row.update(run_id=f"{D}_r1", status=status, networks=["alpha", "beta"])
    folder = root / "tables" / "runs" / f"dt={D}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([row], schema=t.arrow_schema()), folder / f"{D}_r1-{status}.parquet")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No KINDLING_* variable from the caller's environment, and a working folder without kindling.toml."""
    for k in list(os.environ):
        if k.startswith("KINDLING_"):
            monkeypatch.delenv(k)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def lake(tmp_path, clean_env):
    """A published lake that KINDLING_LAKE does not point at (tests give --lake, or set it)."""
    return _publish(tmp_path / "lake", TABLES)


def run(capsys, *argv):
    try:
        rc = main(list(argv))
    except SystemExit as e:  # argparse's usage errors, --help and --version
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def kindling(*argv, env_extra=None, cwd=None):
    """The installed entry point, in a subprocess with no KINDLING_* variable but those given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINDLING_")}
    env.update(env_extra or {})
    return subprocess.run([str(KINDLING), *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def one_error_line(err: str) -> str:
    """The single ``kindling: error: ...`` line of a user error (no traceback, nothing else)."""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kindling: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- accounts are per network


def test_an_id_on_two_networks_needs_network_and_names_them(lake, capsys):
    rc, out, err = run(capsys, "query", "account", "a001301", "--lake", str(lake))
    assert (rc, out) == (2, "")
    line = one_error_line(err)
    assert "'a001301'" in line and "2 networks" in line and f"dt={D}" in line
    assert "alpha (handle 'zoe')" in line and "beta (handle 'zed')" in line
    assert "--network N" in line
    with pytest.raises(query.AmbiguousAccount) as e:
        query.account(lake, "a001301")
    assert e.value.networks == ["alpha", "beta"] and isinstance(e.value, query.InvalidArgument)


@pytest.mark.parametrize(
    "net, handle, influence, topics",
    [
        ("alpha", "zoe", 30.0, ["cooking", "python"]),
        ("beta", "zed", 12.0, ["knitting"]),
    ],
)
def test_with_network_the_account_is_that_networks_only(lake, capsys, net, handle, influence, topics):
    other = {"alpha": ("zed", "knitting"), "beta": ("zoe", "cooking")}[net]
    rc, out, err = run(capsys, "query", "account", "a001301", "--network", net, "--lake", str(lake), "--format", "json")
    assert rc == 0, err
    got = json.loads(out)
    assert (got["network"], got["scores"]["handle"], got["scores"]["influence"]) == (net, handle, influence)
    assert [t["topic"] for t in got["topics_by_expertise"]] == topics and got["topic_count"] == len(topics)
    assert "networks" not in got and other[0] not in out and other[1] not in out

    rc, out, _ = run(capsys, "query", "account", "a001301", "--network", net, "--lake", str(lake))
    assert rc == 0
    assert out.splitlines()[0] == f"account a001301 on {net}, dt={D}"
    assert f"handle     {handle}\n" in out and f"influence  {influence:.2f}\n" in out
    assert other[0] not in out and other[1] not in out

    rc, out, _ = run(capsys, "query", "account", "a001301", "--network", net, "--lake", str(lake), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {(r["network"], r["handle"]) for r in rows} == {(net, handle)}
    assert [r["topic"] for r in rows if r["list"] == "expertise"] == topics


def test_an_id_on_one_network_needs_no_network(lake, capsys):
    rc, out, err = run(capsys, "query", "account", "b1", "--lake", str(lake), "--format", "json")
    assert rc == 0, err
    got = json.loads(out)
    assert (got["network"], got["scores"]["handle"], got["topic_count"]) == ("beta", "bea", 0)
    rc, out, _ = run(capsys, "query", "account", "b1", "--lake", str(lake))
    assert rc == 0 and "no topic scores on beta" in out

    rc, out, err = run(capsys, "query", "account", "nobody", "--lake", str(lake))
    assert (rc, out) == (2, "") and "has no scores on any network (alpha, beta)" in one_error_line(err)
    rc, out, err = run(capsys, "query", "account", "b1", "--network", "alpha", "--lake", str(lake))
    assert (rc, out) == (2, "") and "has no scores on network alpha" in one_error_line(err)


# --------------------------------------------------------------------------- --lake


def test_lake_flag_on_the_subcommand_and_before_it(lake, capsys):
    want = ["a1", "a001301", "a3", "a4"]
    for argv in (
        ["query", "top", "--network", "alpha", "--lake", str(lake)],
        ["--lake", str(lake), "query", "top", "--network", "alpha"],
        ["query", "--lake", str(lake), "top", "--network", "alpha"],
    ):
        rc, out, err = run(capsys, *argv, "--format", "json")
        assert rc == 0, (argv, err)
        assert [r["account_id"] for r in json.loads(out)] == want


def test_lake_flag_wins_over_the_environment(lake, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KINDLING_LAKE", str(tmp_path / "elsewhere"))
    rc, out, err = run(
        capsys, "query", "sql", "SELECT count(*) AS n FROM account_scores", "--lake", str(lake), "--format", "json"
    )
    assert rc == 0, err
    assert json.loads(out) == [{"n": 6}]
    rc, _, err = run(capsys, "query", "sql", "SELECT 1")  # the environment alone: its (missing) lake
    assert rc == 2 and str(tmp_path / "elsewhere") in one_error_line(err)

    monkeypatch.setenv("KINDLING_LAKE", str(lake))
    rc, _, err = run(capsys, "query", "top", "--network", "alpha", "--lake", str(tmp_path / "other"))
    assert rc == 2 and str(tmp_path / "other") in one_error_line(err)
    # a later --lake (the subcommand's) wins over an earlier one
    rc, out, err = run(
        capsys,
        "--lake",
        str(tmp_path / "other"),
        "query",
        "top",
        "--network",
        "beta",
        "--lake",
        str(lake),
        "--format",
        "json",
    )
    assert rc == 0, err
    assert [r["account_id"] for r in json.loads(out)] == ["b1", "a001301"]


def test_empty_lake_flag_is_a_usage_error(lake, capsys):
    rc, out, err = run(capsys, "query", "top", "--network", "alpha", "--lake", "")
    assert (rc, out) == (2, "") and "--lake" in err and "needs a path" in err


MINIMAL_ARGV = {
    "run": ["run", "--date", D],
    "backfill": ["backfill", "--from", D, "--to", D],
    "step": ["step", "publish", "--date", D, "--run-id", "r1"],
    "submit": ["submit", "conform", "--date", D, "--run-id", "r1"],
    "rank": ["rank", "edges.csv", "--out", "ranks.csv"],
    "report": ["report"],
    "evaluate": ["evaluate", "--snapshots", "s", "--date", D],
    "query top": ["query", "top", "--network", "alpha"],
    "query reachable": ["query", "reachable", "--topic", "python"],
    "query account": ["query", "account", "a1"],
    "query explain": ["query", "explain", "a1"],
    "query runs": ["query", "runs"],
    "query sql": ["query", "sql", "SELECT 1"],
    "query movers": ["query", "movers", "--network", "alpha"],
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_command_that_uses_the_lake_takes_lake():
    parser = build_parser()
    commands = _subcommands(parser)
    queries = _subcommands(commands["query"])
    argvs = {name: MINIMAL_ARGV[name] for name in commands if name not in ("generate", "import", "query")}
    # every query, also one added later without arguments of its own
    argvs.update({f"query {q}": MINIMAL_ARGV.get(f"query {q}", ["query", q]) for q in queries})
    assert len(argvs) >= 14
    for name, argv in argvs.items():
        assert parser.parse_args([*argv, "--lake", "/x/lake"]).lake == "/x/lake", name
        assert parser.parse_args(["--lake", "/y/lake", *argv]).lake == "/y/lake", name
        assert getattr(parser.parse_args(argv), "lake", None) is None, name
    with pytest.raises(SystemExit):  # generate never touches a lake: no --lake there
        parser.parse_args(["generate", "--out", "o", "--lake", "/x/lake"])


@pytest.mark.parametrize("argv", [["report"], ["evaluate", "--snapshots", "s", "--date", "latest"]])
def test_report_and_evaluate_read_the_lake_given(clean_env, tmp_path, capsys, argv):
    rc, out, err = run(capsys, *argv, "--lake", str(tmp_path / "given"))
    assert (rc, out) == (2, "")
    assert f"no lake at {tmp_path / 'given'}" in one_error_line(err)


def test_run_backfill_and_step_get_the_lake_as_their_settings(clean_env, tmp_path, monkeypatch, capsys):
    import kindling.pipeline.backfill
    import kindling.pipeline.steps

    seen = {}
    monkeypatch.setattr(
        kindling.pipeline.steps, "run_day", lambda s, day, **kw: seen.setdefault("run", s.lake) and "r1"
    )
    monkeypatch.setattr(
        kindling.pipeline.backfill, "backfill", lambda s, a, b, **kw: seen.setdefault("backfill", s.lake) and []
    )
    monkeypatch.setattr(kindling.pipeline.backfill, "summary", lambda results: "")
    monkeypatch.setattr(kindling.pipeline.steps, "run_local_step", lambda s, *a: seen.setdefault("step", s.lake))
    given = str(tmp_path / "given")
    for argv in (MINIMAL_ARGV["run"], [*MINIMAL_ARGV["backfill"], "--spark-submit"], MINIMAL_ARGV["step"]):
        rc, _, err = run(capsys, *argv, "--lake", given)
        assert rc == 0, err
    assert seen == {"run": given, "backfill": given, "step": given}


class _Session:
    stopped = False

    def stop(self):
        self.stopped = True


def test_backfill_keeps_one_spark_session_unless_told_to_spark_submit(clean_env, tmp_path, monkeypatch, capsys):
    """The default backfill runs every day in one SparkSession (stopped at the end); --spark-submit
    passes none, so each Spark step of each day is its own spark-submit; both at once is refused."""
    import kindling.pipeline.backfill
    import kindling.pipeline.spark

    sessions, given = [], []
    monkeypatch.setattr(
        kindling.pipeline.spark, "session", lambda settings, **kw: sessions.append(_Session()) or sessions[-1]
    )
    monkeypatch.setattr(
        kindling.pipeline.backfill, "backfill", lambda s, a, b, spark=None, **kw: given.append(spark) or []
    )
    monkeypatch.setattr(kindling.pipeline.backfill, "summary", lambda results: "")
    lake = ["--lake", str(tmp_path / "lake")]
    for extra in ([], ["--in-process"]):
        assert run(capsys, *MINIMAL_ARGV["backfill"], *extra, *lake)[0] == 0
    assert len(sessions) == 2 and given == sessions and all(s.stopped for s in sessions)
    assert run(capsys, *MINIMAL_ARGV["backfill"], "--spark-submit", *lake)[0] == 0
    assert given[-1] is None and len(sessions) == 2
    rc, out, err = run(capsys, *MINIMAL_ARGV["backfill"], "--spark-submit", "--in-process", *lake)
    assert (rc, out) == (2, "") and "--spark-submit and --in-process contradict each other" in err
    assert len(sessions) == 2


def test_submitted_spark_steps_get_the_lake_in_their_environment(clean_env, tmp_path, monkeypatch, capsys):
    """spark-submit's child reads its settings from the environment: KINDLING_LAKE is --lake's."""
    import kindling.pipeline.steps

    calls = []
    monkeypatch.setattr(kindling.pipeline.steps.subprocess, "call", lambda cmd, env: calls.append((cmd, env)) or 0)
    monkeypatch.setenv("KINDLING_LAKE", str(tmp_path / "from-env"))
    rc, _, err = run(capsys, *MINIMAL_ARGV["submit"], "--lake", str(tmp_path / "given"))
    assert rc == 0, err
    ((cmd, env),) = calls
    assert env["KINDLING_LAKE"] == str((tmp_path / "given").resolve())
    assert cmd[-5:] == ["conform", "--date", D, "--run-id", "r1"]
    assert (tmp_path / "given" / "_locks").is_dir() and not (tmp_path / "from-env").exists()


def test_rank_checkpoints_under_the_lake_given(clean_env, tmp_path, monkeypatch, capsys):
    import jobs.rank_edges
    import kindling.pipeline.spark

    class Session:
        def stop(self):
            pass

    seen = {}
    monkeypatch.setattr(
        kindling.pipeline.spark,
        "session",
        lambda s, **kw: seen.setdefault("checkpoints", s.checkpoint_path) and Session(),
    )
    monkeypatch.setattr(
        jobs.rank_edges, "rank_edges", lambda *a, **kw: {"vertices": 3, "iterations": 7, "converged": True}
    )
    rc, out, err = run(capsys, *MINIMAL_ARGV["rank"], "--lake", str(tmp_path / "given"))
    assert rc == 0, err
    assert seen["checkpoints"] == str(tmp_path / "given" / "_checkpoints")


def test_installed_entry_point_takes_lake(lake):
    r = kindling("query", "top", "--network", "beta", "--lake", str(lake), "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert [row["account_id"] for row in csv.DictReader(io.StringIO(r.stdout))] == ["b1", "a001301"]


# --------------------------------------------------------------------------- a missing or empty lake


def test_query_sql_in_a_folder_without_a_lake_is_an_error(clean_env, tmp_path):
    """It used to print a count of 0 and exit 0."""
    r = kindling("query", "sql", "SELECT count(*) FROM account_scores", cwd=clean_env)
    assert (r.returncode, r.stdout) == (2, "")
    line = one_error_line(r.stderr)
    assert f"no lake at {clean_env / 'lake'}: the folder does not exist" in line
    assert "--lake PATH" in line and "KINDLING_LAKE" in line


QUERIES = [
    ["query", "top", "--network", "alpha"],
    ["query", "top", "--topic", "python"],
    ["query", "reachable", "--topic", "python"],
    ["query", "account", "a1"],
    ["query", "explain", "a1"],
    ["query", "movers", "--network", "alpha"],
    ["query", "runs"],
    ["query", "sql", "SELECT count(*) FROM account_scores"],
    ["report"],
]


@pytest.mark.parametrize("state", ["missing", "empty folder", "empty tables"])
@pytest.mark.parametrize("argv", QUERIES, ids=lambda a: " ".join(a[:2]))
def test_every_reader_refuses_a_missing_or_empty_lake(clean_env, tmp_path, capsys, argv, state):
    root = tmp_path / "nolake"
    if state != "missing":
        root.mkdir()
    if state == "empty tables":
        (root / "tables" / "account_scores").mkdir(parents=True)
    rc, out, err = run(capsys, *argv, "--lake", str(root))
    assert (rc, out) == (2, ""), err
    line = one_error_line(err)
    why = "the folder does not exist" if state == "missing" else "it has no published tables and no runs"
    assert f"no lake at {root}: {why}" in line and "--lake PATH or KINDLING_LAKE" in line


def test_a_lake_with_only_runs_answers_runs_and_sql(clean_env, tmp_path, capsys):
    root = tmp_path / "failed-only"
    _write_run(root, "failed")
    rc, out, err = run(capsys, "query", "runs", "--lake", str(root), "--format", "json")
    assert rc == 0, err
    assert [r["status"] for r in json.loads(out)] == ["failed"]
    rc, out, err = run(
        capsys, "query", "sql", "SELECT count(*) AS n FROM account_scores", "--lake", str(root), "--format", "json"
    )
    assert rc == 0 and json.loads(out) == [{"n": 0}], err
    rc, _, err = run(capsys, "query", "top", "--network", "alpha", "--lake", str(root))
    assert rc == 2 and "nothing is published in" in one_error_line(err)


# --------------------------------------------------------------------------- bad settings


@pytest.mark.parametrize(
    "var, value, says",
    [
        ("KINDLING_WINDOW_DAYS", "abc", "expected a whole number"),
        ("KINDLING_WINDOW_DAYS", "0", "window_days must be at least 1 day"),
        ("KINDLING_HALF_LIFE_DAYS", "soon", "expected a number"),
        ("KINDLING_DEFENSES", "maybe", "expected true or false"),
        ("KINDLING_KIND_WEIGHTS", "reply", "expected name=number pairs"),
        ("KINDLING_ANSWER_CREDIT", "2", "answer_credit must be between 0 and 1"),
        ("KINDLING_DAMPING", "1.5", "damping must be between 0 and 1"),
        ("KINDLING_PAGERANK_ENGINE", "fast", "pagerank_engine must be one of"),
        ("KINDLING_RING_MIN_SIZE", "40", "ring_min_size <= ring_max_size"),
    ],
)
def test_a_bad_environment_setting_is_one_line_naming_it(lake, monkeypatch, capsys, var, value, says):
    monkeypatch.setenv(var, value)
    rc, out, err = run(capsys, "query", "top", "--network", "alpha", "--lake", str(lake))
    assert (rc, out) == (2, "")
    line = one_error_line(err)
    assert line.startswith(f"kindling: error: {var}={value!r}: ") and says in line, line


def test_a_bad_setting_through_the_installed_entry_point(lake):
    r = kindling(
        "query", "top", "--network", "alpha", env_extra={"KINDLING_WINDOW_DAYS": "abc", "KINDLING_LAKE": str(lake)}
    )
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "kindling: error: KINDLING_WINDOW_DAYS='abc': expected a whole number\n"


@pytest.mark.parametrize(
    "toml, says",
    [
        ('window_days = "abc"\n', "kindling.toml: window_days = 'abc': expected a whole number"),
        ("[kindling]\nanswer_credit = 3\n", "kindling.toml: answer_credit = 3: answer_credit must be between 0 and 1"),
        ("defenses = 1\n", "kindling.toml: defenses = 1: expected true or false"),
        ("windw_days = 3\n", "kindling.toml: unknown setting 'windw_days' (did you mean window_days?)"),
        ("window_days = \n", "kindling.toml: not valid TOML"),
    ],
)
def test_a_bad_config_file_setting_names_the_file_and_key(lake, clean_env, capsys, toml, says):
    (clean_env / "kindling.toml").write_text(toml)
    rc, out, err = run(capsys, "query", "top", "--network", "alpha", "--lake", str(lake))
    assert (rc, out) == (2, "")
    assert says in one_error_line(err)


def test_the_environment_overrides_a_bad_config_value_and_config_errors_name_the_variable(
    lake, clean_env, monkeypatch, capsys
):
    (clean_env / "kindling.toml").write_text("window_days = 7\n")
    monkeypatch.setenv("KINDLING_CONFIG", str(clean_env / "missing.toml"))
    rc, _, err = run(capsys, "query", "top", "--network", "alpha", "--lake", str(lake))
    assert rc == 2
    assert (
        one_error_line(err)
        == f"kindling: error: KINDLING_CONFIG: config file {clean_env / 'missing.toml'} does not exist"
    )
    monkeypatch.delenv("KINDLING_CONFIG")
    assert load_settings().window_days == 7
    monkeypatch.setenv("KINDLING_WINDOW_DAYS", "14")
    assert load_settings().window_days == 14


def test_setting_errors_in_the_api(clean_env):
    with pytest.raises(SettingError, match=r"^KINDLING_TOL='x': expected a number$"):
        load_settings(env={"KINDLING_TOL": "x"})
    with pytest.raises(ValueError, match=r"^max_iter=0: max_iter must be at least 1, got 0$"):
        load_settings(env={}, max_iter=0)
    assert load_settings(env={"KINDLING_KIND_WEIGHTS": "reply=4"}).kind_weights["reply"] == 4.0
    assert load_settings(env={"KINDLING_DEFENSES": "off"}).defenses is False


# --------------------------------------------------------------------------- bare kindling, --version


def test_bare_kindling_prints_help():
    r = kindling()
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("usage: kindling")
    for command in ("generate", "run", "backfill", "query", "report", "evaluate", "import", "--lake", "--version"):
        assert command in r.stdout


def test_version():
    r = kindling("--version")
    assert (r.returncode, r.stdout, r.stderr) == (0, f"kindling {version('kindling')}\n", "")
    assert version("kindling") == "0.1.0"


# --------------------------------------------------------------------------- the scale under query top


def test_top_footer_explains_the_scale_and_the_days_floor(lake, capsys):
    rc, out, err = run(capsys, "query", "top", "--network", "alpha", "--lake", str(lake))
    assert rc == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    text = " ".join(out.split())
    assert "20 = the network's average account" in text and "each +10 = twice the PageRank" in text
    assert "50 = 8x" in text and "90 = 128x" in text and "100 = 256x or more" in text
    assert f"2 accounts nobody engaged with in the window score {FLOOR:.2f}, the floor on alpha for dt={D}" in text

    rc, out, err = run(capsys, "query", "top", "--network", "beta", "--lake", str(lake))
    assert rc == 0, err
    assert (
        f"Every account on beta got some engagement in the window; the lowest influence for dt={D} is 12.00"
        in " ".join(out.split())
    )


def test_top_json_and_csv_have_no_footer(lake, capsys):
    rc, out, _ = run(capsys, "query", "top", "--network", "alpha", "--lake", str(lake), "--format", "json")
    assert rc == 0 and len(json.loads(out)) == 4 and "average" not in out
    rc, out, _ = run(capsys, "query", "top", "--network", "alpha", "--lake", str(lake), "--format", "csv")
    assert rc == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 4 and "average" not in out


def test_influence_floor_is_read_from_the_table(lake):
    got = query.influence_floor(lake, "alpha")
    assert (got["floor"], got["accounts"], got["lowest"]) == (FLOOR, 2, FLOOR)
    got = query.influence_floor(lake, "beta", D)
    assert (got["floor"], got["accounts"], got["lowest"]) == (None, 0, 12.0)


def test_top_help_explains_the_scale(capsys):
    rc, out, _ = run(capsys, "query", "top", "--help")
    assert rc == 0
    text = " ".join(out.split())
    for words in (
        "20 the network's average account",
        "each +10 doubles it",
        "50 8x the average",
        "90 = 128x",
        "100 = 256x or more",
        "nobody engages with",
        "floor",
    ):
        assert words in text, words


# --------------------------------------------------------------------------- one error style


def test_usage_errors_are_argparses_with_exit_2(capsys):
    rc, out, err = run(capsys, "query", "top", "--format", "xml")
    assert (rc, out) == (2, "") and "kindling query top: error: argument --format" in err
    rc, out, err = run(capsys, "frobnicate")
    assert (rc, out) == (2, "") and "kindling: error: argument command: invalid choice" in err


def test_user_errors_are_one_line_with_exit_2(lake, capsys):
    rc, out, err = run(capsys, "query", "top", "--network", "alpha", "--date", "2026-1-1", "--lake", str(lake))
    assert (rc, out) == (2, "") and "YYYY-MM-DD" in one_error_line(err)
    rc, out, err = run(capsys, "query", "top", "--network", "gamma", "--lake", str(lake))
    assert (rc, out) == (2, "") and "network=gamma is not published" in one_error_line(err)


def test_a_failed_step_is_one_line_with_exit_1(clean_env, tmp_path, monkeypatch, capsys):
    import kindling.pipeline.steps

    def fail(*a, **kw):
        raise kindling.pipeline.steps.StepFailed(f"dt={D}: Spark step rank failed (exit 3); see its output above")

    monkeypatch.setattr(kindling.pipeline.steps, "run_day", fail)
    rc, out, err = run(capsys, "run", "--date", D, "--lake", str(tmp_path / "l"))
    assert (rc, out) == (1, "")
    assert (
        one_error_line(err)
        == f"kindling: error: StepFailed: dt={D}: Spark step rank failed (exit 3); see its output above"
    )
