"""The documentation site: it builds with --strict, its configuration page is the settings', and it
stays inside the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from kindling.core import config_docs
from kindling.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_the_configuration_page_is_generated_from_the_settings():
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert page == config_docs.markdown(), (
        "docs/configuration.md is stale: run `make docs` (or python -m kindling.core.config_docs)"
    )
    for name in Settings.model_fields:
        assert f"| `{name}` | `KINDLING_{name.upper()}` |" in page
    assert "(undocumented)" not in page, "every setting needs a docstring under it in kindling/core/settings.py"


def test_a_setting_without_an_entry_is_refused(monkeypatch):
    monkeypatch.setattr(config_docs, "_fields_with_docs", lambda: [(None, "lake", "Root of the lake.")])
    try:
        config_docs.markdown()
    except RuntimeError as e:
        assert "source" in str(e)
    else:
        raise AssertionError("a settings page without every field was written")


def test_the_site_builds_strict_and_lists_every_page(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        assert f" {page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"
        assert (tmp_path / "site" / ("" if page.stem == "index" else page.stem) / "index.html").is_file()
    # The getting-started page is the README itself.
    assert "Two commands" in (tmp_path / "site" / "getting-started" / "index.html").read_text(encoding="utf-8")


def test_the_readme_is_short_and_nothing_points_outside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for path in [ROOT / "README.md", *DOCS.glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        for bad in (
            r"\.\./shared",
            r"DESIGN\.md",
            r"STYLE\.md",
            r"SCORING-NOTES\.md",
            r"(^|[\s`(\"'])/(work|home|root|tmp/pytest)/",
        ):
            assert not re.search(bad, text), f"{path.name} points outside the repository: {bad}"
        assert "docs/reference.md" not in text, f"{path.name} names the old docs/reference.md"
