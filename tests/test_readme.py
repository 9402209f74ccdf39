"""The README's runnable examples, run as written.

Every ``kindling …`` command in a fenced code block of README.md runs (and every ``python`` block,
as a script), from a folder laid out as
``make run`` leaves the repository (``data/snapshots`` from the same generator call at a smaller
size, ``lake`` from a daily run for the latest snapshot day and the day before it, as
``infra/run_daily.sh`` runs them), and must exit 0 with output. A block preceded by the comment
``<!-- example: error -->`` shows an error: its commands must fail, with a message.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The files whose examples run, in this order (the pages as mkdocs.yml lists them after the README;
# cluster.md's example needs a cluster: tests/test_cluster.py runs it).
DOCS = (
    README,
    *(
        ROOT / "docs" / f"{p}.md"
        for p in (
            "pipeline",
            "querying",
            "input-contract",
            "methodology",
            "evaluation",
            "operations",
            "graphframes",
            "limits",
        )
    ),
)
ERROR_MARK = "<!-- example: error -->"


def readme_commands(text: str) -> list[tuple[str, bool, int]]:
    """``(command, is_error_example, line)`` for each ``kindling`` command in a fenced block.

    A command is a line starting with ``kindling`` or ``$ kindling`` (optionally after
    ``NAME=value`` environment assignments), with its ``\\``-continued lines; ``#`` comments
    at the end of a line are dropped by the shell."""
    out: list[tuple[str, bool, int]] = []
    lines = text.splitlines()
    in_block, error, prev = False, False, ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            if not in_block:
                error = prev.strip() == ERROR_MARK
            in_block = not in_block
            prev = line
            i += 1
            continue
        if in_block:
            cmd = line[2:] if line.startswith("$ ") else line
            words = cmd.split()
            j = 0
            while j < len(words) and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[j]):
                j += 1
            if j < len(words) and words[j] == "kindling":
                start = i + 1
                while cmd.rstrip().endswith("\\") and i + 1 < len(lines):
                    i += 1
                    cmd = cmd.rstrip()[:-1] + " " + lines[i].strip()
                out.append((cmd, error, start))
        if line.strip():
            prev = line
        i += 1
    return out


def test_the_parser_finds_commands_continuations_and_error_blocks():
    text = "\n".join(
        [
            "```bash",
            "kindling query top --network alpha   # a comment",
            "make run",
            "```",
            ERROR_MARK,
            "```console",
            "$ kindling query sql \\",
            '    "SELECT 1"',
            "kindling: error: ...",
            "```",
            "kindling outside a block",
            "```",
            "KINDLING_LAKE=x kindling query runs",
            "```",
        ]
    )
    assert readme_commands(text) == [
        ("kindling query top --network alpha   # a comment", False, 2),
        ('kindling query sql  "SELECT 1"', True, 7),
        ("KINDLING_LAKE=x kindling query runs", False, 13),
    ]


COMMANDS = [
    (cmd, error, f"{doc.name}:{line}")
    for doc in DOCS
    for cmd, error, line in readme_commands(doc.read_text(encoding="utf-8"))
]


def test_the_readme_has_runnable_examples_and_no_placeholders():
    assert sum(where.startswith("README.md") for _c, _e, where in COMMANDS) >= 10
    for cmd, _error, where in COMMANDS:
        # a synopsis ("[--date D]", "DIR", "N") is not a command: it cannot be pasted
        assert not re.search(r"\[--|\bDIR\b|<[a-z]", cmd), f"{where}: not runnable as written: {cmd}"


@pytest.fixture(scope="module")
def sample(tmp_path_factory, spark):
    """A folder as ``make run`` leaves one: the same generator call, smaller; the latest day and the one before it run."""
    import datetime as dt

    from kindling.core.settings import load_settings
    from kindling.ingest.source import latest_snapshot_date
    from kindling.pipeline.steps import run_day

    home = tmp_path_factory.mktemp("readme")
    (home / "docs").symlink_to(ROOT / "docs")  # files the examples name, as in the repository
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for k in [k for k in env if k.startswith("KINDLING_")]:
        del env[k]
    subprocess.run(
        [
            str(Path(sys.executable).parent / "kindling"),
            "generate",
            "--out",
            "data/snapshots",
            "--accounts",
            "1200",
            "--days",
            "35",
            "--networks",
            "alpha,beta",
            "--seed",
            "7",
        ],
        cwd=home,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    settings = load_settings(env={}, lake=str(home / "lake"), source=str(home / "data" / "snapshots"))
    latest = latest_snapshot_date(settings)
    for day in (latest - dt.timedelta(days=1), latest):
        run_day(settings, day, spark=spark, log=lambda m: None)
    return home, env


def python_blocks(text: str) -> list[tuple[str, int]]:
    """``(code, line)`` of each fenced block opened with ```` ```python ````."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out.append(("\n".join(body) + "\n", start + 1))
        i += 1
    return out


PYTHON = [(code, f"{doc.name}:{line}") for doc in DOCS for code, line in python_blocks(doc.read_text(encoding="utf-8"))]


def test_python_blocks_are_found():
    assert python_blocks("x\n```python\nprint(1)\n```\n```\nno\n```\n") == [("print(1)\n", 3)]
    assert any(where.startswith("README.md") for _c, where in PYTHON)


@pytest.mark.parametrize(("code", "where"), PYTHON, ids=[w for _c, w in PYTHON])
def test_readme_python_example_runs(sample, code, where):
    home, env = sample
    proc = subprocess.run([sys.executable, "-c", code], cwd=home, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0 and proc.stdout.strip(), (
        f"{where}\nexit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )


@pytest.mark.parametrize(("cmd", "error", "where"), COMMANDS, ids=[w for _c, _e, w in COMMANDS])
def test_readme_example_runs(sample, cmd, error, where):
    home, env = sample
    proc = subprocess.run(["bash", "-c", cmd], cwd=home, env=env, capture_output=True, text=True, timeout=900)
    where = f"{where}: {cmd}\nexit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    if error:
        assert proc.returncode != 0 and proc.stderr.strip(), where
        assert "Traceback" not in proc.stderr, where
    else:
        assert proc.returncode == 0 and proc.stdout.strip(), where


SAMPLE_MARK = "<!-- sample output -->"


def sample_outputs(text: str) -> list[tuple[str, list[str], int]]:
    """``(command, shown output lines, line)`` of each console block marked ``<!-- sample output -->``."""
    out, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == SAMPLE_MARK:
            assert lines[i + 1].startswith("```") and lines[i + 2].startswith("$ kindling "), f"README.md:{i + 1}"
            end = next(j for j in range(i + 3, len(lines)) if lines[j].startswith("```"))
            out.append((lines[i + 2][2:], lines[i + 3 : end], i + 3))
    return out


def test_the_readme_sample_output_has_the_shape_the_command_prints(sample):
    """The README's sample is real output of a run on the full sample; on the test's smaller lake the
    numbers differ, but the command prints the same title, columns and number of rows."""
    home, env = sample
    shown = sample_outputs(README.read_text(encoding="utf-8"))
    assert shown, "README.md has no sample output"
    for cmd, lines, where in shown:
        proc = subprocess.run(["bash", "-c", cmd], cwd=home, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"README.md:{where}: {cmd}\n{proc.stderr}"
        got = proc.stdout.rstrip("\n").splitlines()
        assert len(got) == len(lines), f"README.md:{where}: {cmd}\n{proc.stdout}"
        no_date = re.compile(r"dt=\d{4}-\d\d-\d\d")
        assert no_date.sub("dt=D", got[0]) == no_date.sub("dt=D", lines[0])
        assert got[1].split() == lines[1].split()
        for g, s in zip(got[2:], lines[2:], strict=True):
            assert len(g.split()) == len(s.split()), f"README.md:{where}: {g!r} vs {s!r}"
