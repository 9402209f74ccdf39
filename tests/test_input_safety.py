"""Path traversal and SQL injection through every user-supplied argument.

Each case is (command, argument, hostile value): the command is run in-process through
``kindling.cli.main`` with every other argument valid, against a small published lake (the
tables of test_query_topics and the runs of test_query_runs_sql). A case passes when the command
exits non-zero with a message naming the argument and the value, prints no rows, writes nothing
anywhere (the whole temporary tree, lake included, is byte-identical before and after) and,
for the commands that run the pipeline, fails before any SparkSession or spark-submit starts.

Arguments that are operator-chosen paths by design (``--out`` of generate, report, import and
rank, ``--snapshots``, the edge-list file, ``KINDLING_LAKE``/``KINDLING_SOURCE``) are written or
read where given and are not in the matrix; the names they lead to (networks, dates, file
names at the source) are.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from test_query_runs_sql import _write_runs
from test_query_topics import D2, DATA, _write_lake

from kindling.cli import main
from kindling.core.validate import InvalidArgument

# Values that try to leave a folder or to end a quoted SQL literal. "{v}" is a valid value of the
# argument, so that e.g. "alpha' OR '1'='1" and "alpha\n" are tried, not only garbage.
PATH_VALUES = {
    "dotdot-slash": "../x",
    "dotdot": "..",
    "valid-then-dotdot": "{v}/../..",
    "absolute": "/etc",
    "slash": "a/b",
    "url-encoded": "%2e%2e%2f",
    "nul": "{v}\x00",
    "very-long": "a" * 5000,
    "inner-space": "a b",
    "inner-newline": "a\nb",
    "trailing-newline": "{v}\n",
}
SQL_VALUES = {
    "or-true": "{v}' OR '1'='1",
    "drop": "{v}'; DROP TABLE account_scores; --",
    "copy": "{v}\"; COPY account_scores TO 'pwned.csv'; --",
    "unicode-quotes": "{v}\u2019 OR \u20181\u2019=\u20181",
}
HOSTILE = {**PATH_VALUES, **SQL_VALUES}
# A comma-separated list trims its items and an integer its spaces: a trailing newline there is the
# valid value itself.
TRIMMED_HOSTILE = {k: v for k, v in HOSTILE.items() if k != "trailing-newline"}
TRIMMED = ("--networks", "-n")

D = D2  # the published date of the lake below
NET, TOPIC, ACCOUNT = "alpha", "python", "a1"

# (command label, argv with {} where the hostile value goes, the argument's valid value,
#  a word the error must contain)
ARGUMENTS = [
    ("query top", ["query", "top", "--network", "{}"], NET, "network"),
    ("query top", ["query", "top", "--network", NET, "--date", "{}"], D, "date"),
    ("query top", ["query", "top", "--topic", "{}"], TOPIC, "topic"),
    ("query top", ["query", "top", "--topic", TOPIC, "--network", "{}"], NET, "network"),
    ("query top", ["query", "top", "--topic", TOPIC, "--date", "{}"], D, "date"),
    ("query top", ["query", "top", "--topic", TOPIC, "--by", "{}"], "expertise", "--by"),
    ("query top", ["query", "top", "--network", NET, "-n", "{}"], "5", "-n"),
    ("query account", ["query", "account", "{}"], ACCOUNT, "account"),
    ("query account", ["query", "account", ACCOUNT, "--network", "{}"], NET, "network"),
    ("query account", ["query", "account", ACCOUNT, "--date", "{}"], D, "date"),
    ("query explain", ["query", "explain", "{}"], ACCOUNT, "account"),
    ("query explain", ["query", "explain", ACCOUNT, "--topic", "{}"], TOPIC, "topic"),
    ("query explain", ["query", "explain", ACCOUNT, "--network", "{}"], NET, "network"),
    ("query explain", ["query", "explain", ACCOUNT, "--date", "{}"], D, "date"),
    ("query runs", ["query", "runs", "--date", "{}"], D, "date"),
    ("query runs", ["query", "runs", "--status", "{}"], "failed", "--status"),
    ("query movers", ["query", "movers", "--network", "{}"], NET, "network"),
    ("query movers", ["query", "movers", "--network", NET, "--from", "{}"], "2026-11-24", "--from"),
    ("query movers", ["query", "movers", "--network", NET, "--to", "{}"], D, "--to"),
    ("query movers", ["query", "movers", "--network", NET, "--topic", "{}"], TOPIC, "topic"),
    ("report", ["report", "--date", "{}"], D, "date"),
    ("evaluate", ["evaluate", "--snapshots", "snapshots", "--date", "{}"], D, "date"),
    ("run", ["run", "--date", "{}"], D, "date"),
    ("run", ["run", "--date", "{}", "--in-process"], D, "date"),
    ("run", ["run", "--date", D, "--run-id", "{}"], "r1", "run id"),
    ("run", ["run", "--date", D, "--run-id", "{}", "--in-process"], "r1", "run id"),
    ("backfill", ["backfill", "--from", "{}", "--to", D], D, "--from"),
    ("backfill", ["backfill", "--from", D, "--to", "{}", "--in-process"], D, "--to"),
    ("step", ["step", "{}", "--date", D, "--run-id", "r1"], "pull", "step"),
    ("step", ["step", "pull", "--date", "{}", "--run-id", "r1"], D, "date"),
    ("step", ["step", "publish", "--date", D, "--run-id", "{}"], "r1", "run id"),
    ("submit", ["submit", "{}", "--date", D, "--run-id", "r1"], "conform", "step"),
    ("submit", ["submit", "conform", "--date", "{}", "--run-id", "r1"], D, "date"),
    ("submit", ["submit", "rank", "--date", D, "--run-id", "{}"], "r1", "run id"),
    (
        "import snap-edgelist",
        [
            "import",
            "snap-edgelist",
            "edges.txt",
            "--kind",
            "reply",
            "--out",
            "imported",
            "--date",
            D,
            "--network",
            "{}",
        ],
        NET,
        "network",
    ),
    (
        "import snap-edgelist",
        [
            "import",
            "snap-edgelist",
            "edges.txt",
            "--kind",
            "reply",
            "--out",
            "imported",
            "--network",
            NET,
            "--date",
            "{}",
        ],
        D,
        "--date",
    ),
    (
        "generate",
        ["generate", "--out", "generated", "--accounts", "100", "--days", "1", "--networks", "{}"],
        NET,
        "network",
    ),
    (
        "generate",
        ["generate", "--out", "generated", "--accounts", "100", "--days", "1", "--end-date", "{}"],
        D,
        "--end-date",
    ),
]


def _cases():
    for command, argv, valid, word in ARGUMENTS:
        opt = next(
            (argv[i - 1] for i, a in enumerate(argv) if a == "{}" and i and argv[i - 1].startswith("-")), None
        ) or {"query": "id", "step": "step", "submit": "step"}.get(argv[0], "arg")
        values = TRIMMED_HOSTILE if opt in TRIMMED else HOSTILE
        extra = "-in-process" if "--in-process" in argv else ""
        for label, template in values.items():
            value = template.replace("{v}", valid)
            yield pytest.param(argv, value, word, id=f"{command}|{opt}{extra}|{label}")


CASES = list(_cases())


def tree(root) -> dict[str, str]:
    """Every path under ``root``: file -> sha256, folder -> 'dir', link -> its target."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "link:" + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                with open(p, "rb") as fh:
                    out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """<base>/lake (published tables and runs), <base>/work (the working directory), an edge list."""
    root = tmp_path_factory.mktemp("safety")
    _write_lake(root / "lake", DATA)
    _write_runs(root / "lake")
    (root / "work").mkdir()
    (root / "work" / "edges.txt").write_text("1 2\n2 3\n3 1\n")
    return root


@pytest.fixture
def no_spark(monkeypatch):
    """Records (and refuses) any SparkSession or spark-submit start.

    (Not by patching subprocess.Popen: pyspark binds Popen when first imported, and a patched
    one would then outlive the test.)
    """
    import kindling.pipeline.spark
    import kindling.pipeline.steps

    started = []

    def refuse(what):
        def f(*a, **k):
            started.append(what)
            raise AssertionError(f"{what} started for a hostile argument")

        return f

    monkeypatch.setattr(kindling.pipeline.spark, "session", refuse("SparkSession"))
    monkeypatch.setattr(kindling.pipeline.steps, "_submit", refuse("spark-submit"))
    return started


@pytest.fixture
def env(base, monkeypatch, no_spark):
    monkeypatch.setenv("KINDLING_LAKE", str(base / "lake"))
    monkeypatch.setenv("KINDLING_SOURCE", str(base / "source"))  # absent: a run that gets that far fails
    for k in ("KINDLING_CONFIG", "KINDLING_NETWORKS"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.chdir(base / "work")
    return base


def run_cli(capsys, argv) -> tuple[int, str, str, float]:
    t0 = time.perf_counter()
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's usage errors
        rc = e.code
    seconds = time.perf_counter() - t0
    out, err = capsys.readouterr()
    return rc, out, err, seconds


@pytest.mark.parametrize(("argv", "value", "word"), CASES)
def test_hostile_argument_is_refused_and_writes_nothing(env, no_spark, capsys, argv, value, word):
    before = tree(env)
    rc, out, err, seconds = run_cli(capsys, [value if a == "{}" else a for a in argv])
    assert rc not in (0, None), f"accepted {value!r}: {out[:300]}"
    assert out == "", "no rows may be printed for a hostile value"
    assert word in err, err[:500]
    assert repr(value) in err or value in err, err[:500]
    assert tree(env) == before, "something was written or changed"
    assert no_spark == []
    assert seconds < 5, f"took {seconds:.1f}s to refuse"


def test_the_matrix_covers_every_hostile_value_for_every_argument():
    assert len(CASES) == sum(len(TRIMMED_HOSTILE if set(TRIMMED) & set(a) else HOSTILE) for _, a, _, _ in ARGUMENTS)
    # every subcommand that takes a date, a network, a topic, an account or a run id is in it
    assert {c for c, *_ in ARGUMENTS} >= {
        "query top",
        "query account",
        "query explain",
        "query runs",
        "query movers",
        "report",
        "evaluate",
        "run",
        "backfill",
        "step",
        "submit",
        "import snap-edgelist",
        "generate",
    }


# ----------------------------------------------------------------------------- valid values still work


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "top", "--network", NET, "--date", D, "-n", "2", "--format", "json"],
        ["query", "top", "--topic", TOPIC, "--network", NET, "--format", "json"],
        ["query", "account", ACCOUNT, "--network", NET, "--format", "json"],
    ],
)
def test_the_valid_values_of_the_matrix_answer(env, capsys, argv):
    """The matrix's valid values are accepted, so its refusals are the hostile part's doing."""
    rc, out, err, _ = run_cli(capsys, argv)
    assert rc == 0, err
    assert out.strip()


# ----------------------------------------------------------------------------- query sql


SQL_STATEMENTS = {
    "drop": "DROP VIEW account_scores",
    "stacked-drop": "SELECT 1; DROP VIEW account_scores",
    "copy-to": "COPY (SELECT * FROM account_scores) TO 'pwned.csv'",
    "copy-from": "COPY account_scores FROM '/etc/passwd'",
    "export": "EXPORT DATABASE 'pwned'",
    "create-table": "CREATE TABLE pwned AS SELECT * FROM account_scores",
    "insert": "INSERT INTO account_scores SELECT * FROM account_scores",
    "delete": "DELETE FROM account_scores",
    "update": "UPDATE account_scores SET influence = 0",
    "attach": "ATTACH 'pwned.duckdb' AS p",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "set": "SET enable_external_access = true",
    "pragma": "PRAGMA database_list",
    "call": "CALL pragma_version()",
    "read-etc": "SELECT * FROM read_csv('/etc/passwd')",
    "read-text": "SELECT * FROM read_text('/etc/hostname')",
    "read-outside-tables": "SELECT * FROM read_parquet('../lake/tables/../../*/*.parquet')",
    "glob-root": "SELECT * FROM glob('/*')",
    "copy-in-cte": "WITH x AS (SELECT 1) COPY (SELECT * FROM x) TO 'pwned.csv'",
    "unicode-semicolon": "SELECT 1\uff1b DROP VIEW account_scores",
    "nul": "SELECT 1\x00; DROP VIEW account_scores",
}


@pytest.mark.parametrize(
    "statement", list(SQL_STATEMENTS.values()), ids=[f"query sql|statement|{k}" for k in SQL_STATEMENTS]
)
def test_query_sql_refuses_writes_and_outside_reads(env, capsys, statement):
    before = tree(env)
    rc, out, err, _ = run_cli(capsys, ["query", "sql", statement])
    assert rc == 2, out[:300]
    assert out == ""
    assert "sql:" in err
    assert tree(env) == before


# ----------------------------------------------------------------------------- the DAG's entry point


@pytest.mark.parametrize(
    ("arg", "value"),
    [
        *(("--date", v.replace("{v}", D)) for v in HOSTILE.values()),
        *(("--run-id", v.replace("{v}", "r1")) for v in HOSTILE.values()),
    ],
    ids=[f"jobs/entry.py|{a}|{k}" for a in ("--date", "--run-id") for k in HOSTILE],
)
def test_spark_entry_point_refuses_before_spark(env, no_spark, arg, value):
    from jobs import entry

    argv = {"--date": D, "--run-id": "r1"}
    argv[arg] = value
    before = tree(env)
    with pytest.raises(InvalidArgument) as e:
        entry.main(["conform", "--date", argv["--date"], "--run-id", argv["--run-id"]])
    assert repr(value) in str(e.value)
    assert no_spark == []
    assert tree(env) == before


# ----------------------------------------------------------------------------- the snapshot source


def _source_day(root, network="alpha", files=("accounts.csv",)):
    day = root / f"network={network}" / f"dt={D}"
    day.mkdir(parents=True)
    for name in files:
        (day / name).write_text("account_id\n1\n")
    (day / "_SUCCESS").write_text("")
    return day


@pytest.fixture
def source_env(tmp_path, monkeypatch, no_spark):
    """A fresh lake (published tables) and a local snapshot source with a good alpha day."""
    _write_lake(tmp_path / "lake", DATA)
    src = tmp_path / "source"
    _source_day(src)
    (tmp_path / "work").mkdir()
    monkeypatch.setenv("KINDLING_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("KINDLING_SOURCE", str(src))
    for k in ("KINDLING_CONFIG", "KINDLING_NETWORKS"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


def _pull(capsys, root):
    """`kindling step pull`; returns (rc, stderr, what changed outside <lake>/_runs, _locks, raw/network=alpha)."""
    before = tree(root)
    rc, out, err, _ = run_cli(capsys, ["step", "pull", "--date", D, "--run-id", "r1"])
    after = tree(root)
    allowed = ("lake/_runs", "lake/_locks", "lake/tables/runs", "lake/raw")
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    return rc, err, {p for p in changed if not p.startswith(allowed)}, after


NETWORK_FOLDERS = {
    "dotdot": "network=..",
    "encoded-slash": "network=a%2F..",
    "encoded-dotdot": "network=%2e%2e",
    "injection": "network=x' OR '1'='1",
    "trailing-newline": "network=alpha\n",
    "nul-escape": "network=a%00b",
}


@pytest.mark.parametrize(
    "folder", list(NETWORK_FOLDERS.values()), ids=[f"source|network folder|{k}" for k in NETWORK_FOLDERS]
)
def test_pull_refuses_a_hostile_network_folder(source_env, capsys, folder):
    _source_day(source_env / "source", network=folder.removeprefix("network="))
    rc, err, changed, after = _pull(capsys, source_env)
    assert rc != 0
    assert "network name" in err and repr(folder) in err, err
    assert changed == set()
    assert not any(p.startswith("lake/raw/") and "alpha" not in p for p in after), "a hostile network was pulled"


FILE_NAMES = {
    "encoded-slash": "..%2Fx.csv",
    "encoded-dotdot-slash": "%2e%2e%2fx.csv",
    "dotdot-inside": "a..b.csv",
    "injection": "x'; DROP TABLE t; --.csv",
    "space": "a b.csv",
    "trailing-newline": "x.csv\n",
    "leading-dash": "-x.csv",
}


@pytest.mark.parametrize("name", list(FILE_NAMES.values()), ids=[f"source|file name|{k}" for k in FILE_NAMES])
def test_pull_refuses_a_hostile_file_name(source_env, capsys, name):
    (source_env / "source" / "network=alpha" / f"dt={D}" / name).write_text("x\n")
    rc, err, changed, after = _pull(capsys, source_env)
    assert rc != 0
    assert "file name" in err, err
    assert changed == set()
    assert not any(p.startswith("lake/raw/network=alpha/dt=") for p in after), "the day was pulled anyway"


@pytest.mark.parametrize(
    "networks", ["../x", "alpha,../x", "x' OR '1'='1", "Alpha"], ids=lambda v: f"KINDLING_NETWORKS|{v}"
)
def test_pull_refuses_hostile_configured_networks(source_env, capsys, monkeypatch, networks):
    monkeypatch.setenv("KINDLING_NETWORKS", networks)
    rc, err, changed, after = _pull(capsys, source_env)
    assert rc != 0
    assert "network name" in err and repr(networks.split(",")[-1]) in err, err
    assert changed == set()
    assert not any(p.startswith("lake/raw/") for p in after)
