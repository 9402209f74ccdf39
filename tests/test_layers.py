"""The code's layers: import-linter's contracts hold, and a project module is imported inside a
function only where a heavy dependency is deferred on purpose, with a comment saying so."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("kindling", "kindling_dev", "jobs", "schemas")


def _function_level_project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, source line) of every import of a project module inside a function of ``path``."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    out = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n.split(".")[0] in PROJECT for n in names):
                out.append((node.lineno, lines[node.lineno - 1]))
    return out


def test_function_level_imports_of_the_project_say_why_they_are_deferred():
    files = [p for d in (*PROJECT, "dags") for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 30
    bare = [
        f"{p.relative_to(ROOT)}:{line}: {text.strip()}"
        for p in files
        for line, text in _function_level_project_imports(p)
        if "# deferred:" not in text
    ]
    assert not bare, "import at module level, or say what is deferred (# deferred: ...):\n" + "\n".join(bare)


def test_the_check_finds_a_bare_function_level_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from kindling.storage.lake import Lake\n    import json\n    return Lake, json\n")
    assert _function_level_project_imports(f) == [(2, "    from kindling.storage.lake import Lake")]


def test_import_linter_contracts_are_kept():
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " kept, 0 broken" in proc.stdout


def test_a_long_module_says_why_at_its_top():
    """A module past about 500 lines explains, in its docstring, why it is one module."""
    long = []
    for d in PROJECT:
        for p in sorted((ROOT / d).rglob("*.py")):
            source = p.read_text(encoding="utf-8")
            doc = ast.get_docstring(ast.parse(source)) or ""
            if len(source.splitlines()) > 520 and "Why one long module" not in doc:
                long.append(f"{p.relative_to(ROOT)}: {len(source.splitlines())} lines")
    assert not long, "split these, or say why at the top (Why one long module: ...):\n" + "\n".join(long)
