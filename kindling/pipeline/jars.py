"""The JVM jars every Spark session of the project loads, and how ``make env`` obtains GraphFrames'.

Two jars go on ``spark.jars`` (:mod:`kindling.pipeline.spark`): the vector engine's
(``build/kindling-engine.jar``, compiled from ``engine/`` by ``infra/build_engine.sh``) and
GraphFrames 0.11.0's, core and graphx in one jar (``build/graphframes-spark4_2.13-0.11.0.jar``).
The GraphFrames jar is obtained the first of three ways that works (``python -m kindling.pipeline.jars``,
which ``infra/build_engine.sh`` runs):

1. the jar named by ``graphframes_jar`` (``KINDLING_GRAPHFRAMES_JAR``), copied as it is;
2. the Maven coordinates ``io.graphframes:graphframes-spark4_2.13:0.11.0`` and
   ``io.graphframes:graphframes-graphx-spark4_2.13:0.11.0`` from the first repository of
   ``graphframes_maven_repos`` that serves both (checked against their ``.sha1`` when the
   repository has one), merged into one jar;
3. a compile of the source release in ``graphframes_source`` (by default the
   ``shared/vendor/graphframes-0.11.0`` found beside the project) with the Scala compiler that
   pyspark ships in its ``jars/`` folder, as that folder's ``VENDOR.md`` describes. The source is
   read where it is: never copied into the repository, never changed.

A stamp beside the jar records which way made it and from what; ``make env`` does nothing while
those inputs are unchanged. When no way works, the error names all three and why each failed.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from kindling.core.settings import SettingError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
ENGINE_JAR = BUILD / "kindling-engine.jar"

GRAPHFRAMES_VERSION = "0.11.0"
GRAPHFRAMES_GROUP = "io.graphframes"
GRAPHFRAMES_ARTIFACTS = ("graphframes-spark4_2.13", "graphframes-graphx-spark4_2.13")
GRAPHFRAMES_JAR = BUILD / f"graphframes-spark4_2.13-{GRAPHFRAMES_VERSION}.jar"
VENDORED = Path("shared") / "vendor" / f"graphframes-{GRAPHFRAMES_VERSION}"
# one class of each module: a jar without them is not the one Spark needs
GRAPHFRAMES_CLASSES = ("org/graphframes/GraphFrame.class", "org/apache/spark/graphframes/graphx/Graph.class")


class GraphFramesJarError(RuntimeError):
    """No way of obtaining the GraphFrames jar worked; the message names each way and why."""


def session_jars() -> list[Path]:
    """The jars a Spark session of the project loads: those ``make env`` has built."""
    return [j for j in (ENGINE_JAR, GRAPHFRAMES_JAR) if j.is_file()]


def stamp_path(jar: Path) -> Path:
    return jar.with_name(jar.name + ".inputs")


# --- the three ways ----------------------------------------------------------------------------
def maven_url(repo: str, artifact: str, version: str = GRAPHFRAMES_VERSION, group: str = GRAPHFRAMES_GROUP) -> str:
    """The address of an artifact's jar in a Maven repository laid out the standard way."""
    return f"{repo.rstrip('/')}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"


class NotServed(Exception):
    pass


def _get(url: str, timeout: float = 60) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        raise NotServed(f"HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise NotServed(f"not reachable ({reason})") from None


def fetch_maven(repos: tuple[str, ...] | list[str]) -> tuple[str, list[bytes]]:
    """Both GraphFrames artifacts from the first repository that serves them: ``(repo, jars)``.

    A jar whose ``.sha1`` the repository serves must match it. Raises :class:`NotServed` with each
    repository's reason when none serves both.
    """
    reasons = []
    for repo in repos:
        jars = []
        try:
            for artifact in GRAPHFRAMES_ARTIFACTS:
                url = maven_url(repo, artifact)
                try:
                    data = _get(url)
                except NotServed as e:
                    raise NotServed(f"{GRAPHFRAMES_GROUP}:{artifact}:{GRAPHFRAMES_VERSION} not served ({e})") from None
                try:
                    expected = _get(url + ".sha1").decode("ascii", "replace").split()[0].lower()
                except (NotServed, IndexError):
                    expected = None
                if expected and hashlib.sha1(data).hexdigest() != expected:
                    raise NotServed(
                        f"{url}: SHA-1 {hashlib.sha1(data).hexdigest()} does not match the repository's {expected}"
                    )
                jars.append(data)
        except NotServed as e:
            reasons.append(f"{repo}: {e}")
            continue
        return repo, jars
    raise NotServed("; ".join(reasons) if reasons else "no repository given")


def find_source(settings: Settings) -> tuple[Path | None, str]:
    """The GraphFrames source release to compile, and where it was looked for (for the error)."""
    if settings.graphframes_source:
        p = Path(settings.graphframes_source).expanduser()
        if (p / "core" / "src" / "main").is_dir():
            return p.resolve(), str(p)
        return None, f"KINDLING_GRAPHFRAMES_SOURCE={settings.graphframes_source!r} has no core/src/main"
    found, where = find_beside(VENDORED / "core" / "src" / "main")
    if found is not None:
        return found.parents[2], str(found.parents[2])
    return None, f"no {VENDORED} {where}"


def find_beside(relative: Path) -> tuple[Path | None, str]:
    """``relative`` (e.g. ``shared/data/...``) in the folder holding this checkout or one of its
    parents, else beside the local repository it was cloned from; and where it was looked for."""
    bases = [ROOT.parent, *ROOT.parent.parents]
    origin = _clone_origin()
    if origin is not None:
        bases += [origin.parent, *origin.parent.parents]
    for base in bases:
        if (base / relative).exists():
            return (base / relative).resolve(), str(base / relative)
    return None, f"beside {ROOT} or its parent folders" + (f", or beside {origin}" if origin else "")


def _clone_origin() -> Path | None:
    """The local repository this checkout was cloned from, if it was cloned from a folder."""
    try:
        url = subprocess.run(
            ["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if url.startswith("file://"):
        url = url[len("file://") :]
    if not url or "://" in url or (":" in url.split("/")[0]):  # a remote (https://, git@host:path)
        return None
    p = (ROOT / url).resolve()
    return p if p.is_dir() else None


def source_files(source: Path) -> tuple[list[Path], list[Path]]:
    """The ``.scala`` and ``.java`` files that make GraphFrames for Spark 4: every file under
    ``core/src/main`` and ``graphx/src/main`` except the Spark 3 shims and ``package-info.java``."""
    scala, java = [], []
    for module in ("core", "graphx"):
        for p in sorted((source / module / "src" / "main").rglob("*")):
            if "scala-spark-3" in p.parts or not p.is_file():
                continue
            if p.suffix == ".scala":
                scala.append(p)
            elif p.suffix == ".java" and p.name != "package-info.java":
                java.append(p)
    return scala, java


def source_fingerprint(source: Path) -> str:
    """SHA-256 over the compiled files' paths and bytes, and the pyspark they compile against."""
    import pyspark

    h = hashlib.sha256(f"pyspark {pyspark.__version__}\n".encode())
    scala, java = source_files(source)
    for p in scala + java:
        h.update(str(p.relative_to(source)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def pyspark_jars() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "jars"


def _java_tool(name: str) -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / name) if home else name


def compile_source(source: Path, out: Path, log: Callable[[str], None] = print) -> None:
    """Compile GraphFrames' core and graphx from ``source`` into the jar ``out`` (VENDOR.md's
    recipe: scalac from pyspark's jars on the Scala and Java files, javac on the Java files)."""
    scala, java = source_files(source)
    if not scala:
        raise GraphFramesJarError(f"{source}: no .scala files under core/src/main or graphx/src/main")
    cp = f"{pyspark_jars()}/*"
    with tempfile.TemporaryDirectory(prefix="graphframes-build-") as tmp:
        classes = Path(tmp) / "classes"
        classes.mkdir()
        log(
            f"build_engine: compiling GraphFrames {GRAPHFRAMES_VERSION} from {source} ({len(scala)} Scala and "
            f"{len(java)} Java files; about a minute)"
        )
        steps = [
            [
                _java_tool("java"),
                "-Xss8m",
                "-cp",
                cp,
                "scala.tools.nsc.Main",
                "-Xsource:3",
                "-release",
                "17",
                "-nowarn",
                "-classpath",
                cp,
                "-d",
                str(classes),
                *map(str, scala),
                *map(str, java),
            ],
            [
                _java_tool("javac"),
                "--release",
                "17",
                "-nowarn",
                "-cp",
                f"{classes}{os.pathsep}{cp}",
                "-d",
                str(classes),
                *map(str, java),
            ],
        ]
        for cmd in steps:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-20:])
                raise GraphFramesJarError(
                    f"compiling {source} failed ({Path(cmd[0]).name} exited {r.returncode}):\n{tail}"
                )
        meta = classes / "META-INF"
        meta.mkdir(exist_ok=True)
        for name in ("LICENSE", "NOTICE"):  # Apache 2.0: the licence and notice travel with the binary
            if (source / name).is_file():
                shutil.copyfile(source / name, meta / name)
        _write_jar(out, [classes])


def _write_jar(out: Path, roots: list[Path] | None = None, jars: list[bytes] | None = None) -> None:
    """Write ``out`` (through a temporary file) from class folders or from jars, first entry of a
    name winning (both GraphFrames artifacts carry a manifest and a licence)."""
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    seen = set()
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: kindling (kindling/pipeline/jars.py)\r\n\r\n"
        )
        seen.add("META-INF/MANIFEST.MF")
        for root in roots or []:
            for p in sorted(root.rglob("*")):
                name = p.relative_to(root).as_posix()
                if p.is_file() and name not in seen:
                    seen.add(name)
                    z.write(p, name)
        for data in jars or []:
            with zipfile.ZipFile(io.BytesIO(data)) as src:
                for info in src.infolist():
                    if info.is_dir() or info.filename in seen:
                        continue
                    seen.add(info.filename)
                    z.writestr(info, src.read(info))
    check_jar(tmp)
    os.replace(tmp, out)


def check_jar(path: Path) -> None:
    """Refuse a file that is not a jar holding GraphFrames' core and graphx classes."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as e:
        raise GraphFramesJarError(f"{path}: not a jar ({e})") from None
    missing = [c for c in GRAPHFRAMES_CLASSES if c not in names]
    if missing:
        raise GraphFramesJarError(f"{path}: not a GraphFrames core and graphx jar (no {', '.join(missing)})")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_stamp(jar: Path) -> dict | None:
    import json

    try:
        return json.loads(stamp_path(jar).read_text()) if jar.is_file() else None
    except (OSError, ValueError):
        return None


def _write_stamp(jar: Path, inputs: dict) -> None:
    import json

    stamp_path(jar).write_text(json.dumps(inputs, indent=1, sort_keys=True) + "\n")


# --- the resolution ------------------------------------------------------------------------------
def ensure_graphframes_jar(
    settings: Settings | None = None, out: Path = GRAPHFRAMES_JAR, log: Callable[[str], None] = print
) -> Path:
    """Make ``out`` the GraphFrames jar, the first of the three ways that works (module docstring).

    Nothing is done when the stamp beside ``out`` records the same inputs: the same named jar
    (by SHA-256); or, with none named, the same repositories and, for a compile, the same source
    bytes and pyspark. Raises :class:`GraphFramesJarError` naming all three ways when none works.
    """
    settings = settings or load_settings()
    stamp = _read_stamp(out)
    if settings.graphframes_jar:
        named = Path(settings.graphframes_jar).expanduser()
        if not named.is_file():
            raise GraphFramesJarError(f"KINDLING_GRAPHFRAMES_JAR={settings.graphframes_jar!r}: no such file")
        inputs = {"way": "jar", "jar": str(named.resolve()), "sha256": _sha256(named)}
        if stamp == inputs:
            return out
        check_jar(named)
        _write_jar(out, jars=[named.read_bytes()])
        _write_stamp(out, inputs)
        log(f"build_engine: GraphFrames jar {out.name} copied from {named}")
        return out

    repos = list(settings.graphframes_maven_repos)
    if stamp and stamp.get("repos") == repos:
        if stamp.get("way") == "maven":
            return out
        if stamp.get("way") == "source":
            source, _ = find_source(settings)
            if source is not None and stamp.get("fingerprint") == source_fingerprint(source):
                return out
    reasons = ["1. a jar named by KINDLING_GRAPHFRAMES_JAR (graphframes_jar): not set"]
    if repos:
        try:
            repo, jars = fetch_maven(repos)
        except NotServed as e:
            reasons.append(
                f"2. Maven ({', '.join(f'{GRAPHFRAMES_GROUP}:{a}:{GRAPHFRAMES_VERSION}' for a in GRAPHFRAMES_ARTIFACTS)}) "
                f"from KINDLING_GRAPHFRAMES_MAVEN_REPOS: {e}"
            )
        else:
            _write_jar(out, jars=jars)
            _write_stamp(out, {"way": "maven", "repos": repos, "repo": repo})
            log(f"build_engine: GraphFrames jar {out.name} from {repo}")
            return out
    else:
        reasons.append("2. Maven: KINDLING_GRAPHFRAMES_MAVEN_REPOS is empty")
    source, where = find_source(settings)
    if source is None:
        reasons.append(f"3. a compile of the source release (KINDLING_GRAPHFRAMES_SOURCE): {where}")
    else:
        try:
            compile_source(source, out, log)
        except GraphFramesJarError as e:
            reasons.append(f"3. a compile of the source release in {source}: {e}")
        else:
            _write_stamp(
                out, {"way": "source", "repos": repos, "source": str(source), "fingerprint": source_fingerprint(source)}
            )
            log(f"build_engine: GraphFrames jar {out.name} compiled from {source}")
            return out
    raise GraphFramesJarError(
        f"no GraphFrames {GRAPHFRAMES_VERSION} jar for {out}; each way failed:\n  " + "\n  ".join(reasons)
    )


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m kindling.pipeline.jars", description="obtain the GraphFrames jar (make env runs this)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=GRAPHFRAMES_JAR,
        help=f"where the jar goes (default {GRAPHFRAMES_JAR.relative_to(ROOT)})",
    )
    a = p.parse_args(argv)
    try:
        ensure_graphframes_jar(out=a.out)
    except (GraphFramesJarError, SettingError) as e:
        print(f"build_engine: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
