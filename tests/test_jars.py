"""The GraphFrames jar as a build step (kindling/pipeline/jars.py): the three ways in their order, against a
local file Maven repository and fake source trees, and the jar ``make env`` built being on every
Spark session's classpath."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kindling.core.settings import load_settings
from kindling.pipeline import jars
from kindling.pipeline.jars import (
    GRAPHFRAMES_ARTIFACTS,
    GRAPHFRAMES_CLASSES,
    GraphFramesJarError,
    ensure_graphframes_jar,
)


def _jar(path: Path, *names: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        for n in names:
            z.writestr(n, b"\xca\xfe\xba\xbe" + n.encode())
    return path


def _repo(root: Path, sha1: bool = True, only: tuple[str, ...] = GRAPHFRAMES_ARTIFACTS, corrupt: bool = False) -> str:
    """A local Maven repository laid out the standard way, serving the two artifacts (each with one
    of the classes the check looks for)."""
    core, graphx = GRAPHFRAMES_CLASSES
    for artifact, cls in zip(GRAPHFRAMES_ARTIFACTS, (core, graphx), strict=True):
        if artifact not in only:
            continue
        url = jars.maven_url(root.as_uri(), artifact)
        path = Path(url[len("file://") :])
        _jar(path, cls, f"{artifact}/Other.class")
        if sha1:
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            path.with_name(path.name + ".sha1").write_text(("0" * 40 if corrupt else digest) + "\n")
    return root.as_uri()


def _settings(**kw):
    kw.setdefault("graphframes_maven_repos", ())
    kw.setdefault("graphframes_source", "/nonexistent/graphframes-source")
    return load_settings(env={}, **kw)


def _names(jar: Path) -> set[str]:
    with zipfile.ZipFile(jar) as z:
        return set(z.namelist())


def test_maven_coordinates_resolve_from_a_local_file_repository(tmp_path):
    repo = _repo(tmp_path / "m2")
    out = tmp_path / "build" / "gf.jar"
    log = []
    assert ensure_graphframes_jar(_settings(graphframes_maven_repos=(repo,)), out=out, log=log.append) == out
    names = _names(out)
    assert set(GRAPHFRAMES_CLASSES) <= names  # core and graphx merged into one jar
    assert {f"{a}/Other.class" for a in GRAPHFRAMES_ARTIFACTS} <= names
    assert log == [f"build_engine: GraphFrames jar gf.jar from {repo}"]
    # the standard layout: group as folders, artifact, version, artifact-version.jar
    assert jars.maven_url("https://r.example/m2/", "graphframes-spark4_2.13") == (
        "https://r.example/m2/io/graphframes/graphframes-spark4_2.13/0.11.0/graphframes-spark4_2.13-0.11.0.jar"
    )

    # inputs unchanged: nothing is fetched or written again
    before = out.stat().st_mtime_ns
    log.clear()
    ensure_graphframes_jar(_settings(graphframes_maven_repos=(repo,)), out=out, log=log.append)
    assert log == [] and out.stat().st_mtime_ns == before


def test_repositories_are_tried_in_order_and_a_bad_checksum_is_refused(tmp_path):
    partial = _repo(tmp_path / "partial", only=GRAPHFRAMES_ARTIFACTS[:1])  # core without graphx
    corrupt = _repo(tmp_path / "corrupt", corrupt=True)
    good = _repo(tmp_path / "good", sha1=False)  # no .sha1 published: accepted as it is
    out = tmp_path / "gf.jar"
    log = []
    ensure_graphframes_jar(_settings(graphframes_maven_repos=(partial, corrupt, good)), out=out, log=log.append)
    assert log == [f"build_engine: GraphFrames jar gf.jar from {good}"]
    with pytest.raises(GraphFramesJarError) as e:
        ensure_graphframes_jar(_settings(graphframes_maven_repos=(partial, corrupt)), out=tmp_path / "other.jar")
    msg = str(e.value)
    assert f"{partial}: io.graphframes:graphframes-graphx-spark4_2.13:0.11.0 not served" in msg
    assert "does not match the repository's 0000000000000000000000000000000000000000" in msg


def test_a_named_jar_comes_first_and_is_checked(tmp_path):
    named = _jar(tmp_path / "mine.jar", *GRAPHFRAMES_CLASSES)
    repo = _repo(tmp_path / "m2")
    out = tmp_path / "build" / "gf.jar"
    log = []
    ensure_graphframes_jar(
        _settings(graphframes_jar=str(named), graphframes_maven_repos=(repo,)), out=out, log=log.append
    )
    assert log == [f"build_engine: GraphFrames jar gf.jar copied from {named}"]
    assert _names(out) == _names(named)
    # a changed jar is copied again; an unchanged one is not
    log.clear()
    ensure_graphframes_jar(_settings(graphframes_jar=str(named)), out=out, log=log.append)
    assert log == []
    _jar(named, *GRAPHFRAMES_CLASSES, "org/graphframes/New.class")
    ensure_graphframes_jar(_settings(graphframes_jar=str(named)), out=out, log=log.append)
    assert "org/graphframes/New.class" in _names(out) and len(log) == 1

    with pytest.raises(GraphFramesJarError, match=r"KINDLING_GRAPHFRAMES_JAR='.*nope.jar': no such file"):
        ensure_graphframes_jar(_settings(graphframes_jar=str(tmp_path / "nope.jar")), out=out)
    wrong = _jar(tmp_path / "wrong.jar", "com/example/Thing.class")
    with pytest.raises(GraphFramesJarError, match="not a GraphFrames core and graphx jar"):
        ensure_graphframes_jar(_settings(graphframes_jar=str(wrong)), out=out)
    assert "org/graphframes/New.class" in _names(out)  # a refused jar replaces nothing


def _fake_source(root: Path) -> Path:
    for rel in (
        "core/src/main/scala/org/graphframes/GraphFrame.scala",
        "core/src/main/scala-spark-4/org/apache/spark/sql/graphframes/SparkShims.scala",
        "core/src/main/scala-spark-3/org/apache/spark/sql/graphframes/SparkShims.scala",
        "core/src/main/java/org/graphframes/examples/TriangleCountExample.java",
        "graphx/src/main/scala/org/apache/spark/graphframes/graphx/Graph.scala",
        "graphx/src/main/scala/org/apache/spark/graphframes/graphx/package-info.java",
        "graphx/src/main/java/org/apache/spark/graphframes/graphx/TripletFields.java",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"// {rel}\n")
    return root


def test_the_source_files_are_spark_4s(tmp_path):
    source = _fake_source(tmp_path / "gf")
    scala, java = jars.source_files(source)
    rel = lambda ps: [p.relative_to(source).as_posix() for p in ps]  # noqa: E731
    assert sorted(rel(scala)) == [
        "core/src/main/scala-spark-4/org/apache/spark/sql/graphframes/SparkShims.scala",
        "core/src/main/scala/org/graphframes/GraphFrame.scala",
        "graphx/src/main/scala/org/apache/spark/graphframes/graphx/Graph.scala",
    ]
    assert rel(java) == [
        "core/src/main/java/org/graphframes/examples/TriangleCountExample.java",
        "graphx/src/main/java/org/apache/spark/graphframes/graphx/TripletFields.java",
    ]


def test_the_source_is_compiled_when_no_repository_serves_the_jar_and_again_only_when_it_changes(tmp_path, monkeypatch):
    source = _fake_source(tmp_path / "gf")
    compiled = []

    def fake_compile(src, out, log):
        compiled.append(src)
        _jar(out, *GRAPHFRAMES_CLASSES)

    monkeypatch.setattr(jars, "compile_source", fake_compile)
    out = tmp_path / "build" / "gf.jar"
    empty_repo = (tmp_path / "empty-m2").as_uri()
    settings = _settings(graphframes_maven_repos=(empty_repo,), graphframes_source=str(source))
    log = []
    ensure_graphframes_jar(settings, out=out, log=log.append)
    assert compiled == [source.resolve()]
    assert log == [f"build_engine: GraphFrames jar gf.jar compiled from {source.resolve()}"]
    ensure_graphframes_jar(settings, out=out, log=log.append)
    assert len(compiled) == 1  # unchanged source, same repositories: nothing to do
    (source / "core/src/main/scala/org/graphframes/GraphFrame.scala").write_text("// changed\n")
    ensure_graphframes_jar(settings, out=out, log=log.append)
    assert len(compiled) == 2
    # the Spark 3 shims are not part of the build: changing them changes nothing
    (source / "core/src/main/scala-spark-3/org/apache/spark/sql/graphframes/SparkShims.scala").write_text("// x\n")
    ensure_graphframes_jar(settings, out=out, log=log.append)
    assert len(compiled) == 2
    # a repository that now serves the artifacts is used (the repositories are an input)
    repo = _repo(tmp_path / "m2")
    ensure_graphframes_jar(
        _settings(graphframes_maven_repos=(repo,), graphframes_source=str(source)), out=out, log=log.append
    )
    assert log[-1] == f"build_engine: GraphFrames jar gf.jar from {repo}" and len(compiled) == 2


def test_when_no_way_works_the_error_names_all_three(tmp_path):
    settings = _settings(
        graphframes_maven_repos=((tmp_path / "empty").as_uri(),), graphframes_source=str(tmp_path / "no-source")
    )
    with pytest.raises(GraphFramesJarError) as e:
        ensure_graphframes_jar(settings, out=tmp_path / "gf.jar")
    msg = str(e.value)
    assert "1. a jar named by KINDLING_GRAPHFRAMES_JAR (graphframes_jar): not set" in msg
    assert (
        "2. Maven (io.graphframes:graphframes-spark4_2.13:0.11.0, io.graphframes:graphframes-graphx-spark4_2.13:0.11.0)"
        in msg
    )
    assert "not served" in msg
    assert (
        f"3. a compile of the source release (KINDLING_GRAPHFRAMES_SOURCE): KINDLING_GRAPHFRAMES_SOURCE='{tmp_path / 'no-source'}' has no core/src/main"
        in msg
    )
    assert not (tmp_path / "gf.jar").exists()
    # the build step's own exit: 1 and the same message, no traceback
    env = {
        **os.environ,
        "KINDLING_GRAPHFRAMES_MAVEN_REPOS": (tmp_path / "empty").as_uri(),
        "KINDLING_GRAPHFRAMES_SOURCE": str(tmp_path / "no-source"),
        "KINDLING_GRAPHFRAMES_JAR": "",
    }
    p = subprocess.run(
        [sys.executable, "-m", "kindling.pipeline.jars", "--out", str(tmp_path / "cli.jar")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1
    assert p.stderr.startswith("build_engine: no GraphFrames 0.11.0 jar for") and "Traceback" not in p.stderr
    assert "KINDLING_GRAPHFRAMES_JAR" in p.stderr and "KINDLING_GRAPHFRAMES_SOURCE" in p.stderr


def test_the_vendored_source_is_found_beside_a_parent_folder(tmp_path, monkeypatch):
    project = tmp_path / "work" / "clones" / "kindling"
    project.mkdir(parents=True)
    vendored = _fake_source(tmp_path / "work" / jars.VENDORED)
    monkeypatch.setattr(jars, "ROOT", project)
    found, _ = jars.find_source(load_settings(env={}))
    assert found == vendored.resolve()
    monkeypatch.setattr(jars, "ROOT", tmp_path / "elsewhere" / "kindling")
    monkeypatch.setattr(jars, "_clone_origin", lambda: None)
    found, where = jars.find_source(load_settings(env={}))
    assert found is None and str(jars.VENDORED) in where


def test_make_env_built_the_jar_and_every_session_loads_it(spark):
    """The jar ``make env`` made (from whichever way) holds GraphFrames, is on ``spark.jars`` for
    in-process sessions and spark-submit alike, and the JVM resolves its classes."""
    import datetime as dt

    from kindling.pipeline.spark import spark_confs
    from kindling.pipeline.steps import submit_command

    jars.check_jar(jars.GRAPHFRAMES_JAR)
    way = __import__("json").loads(jars.stamp_path(jars.GRAPHFRAMES_JAR).read_text())["way"]
    assert way in ("jar", "maven", "source")
    settings = load_settings(env={})
    assert str(jars.GRAPHFRAMES_JAR) in spark_confs(settings)["spark.jars"].split(",")
    cmd = submit_command(settings.replace(spark_master="spark://h:7077"), "rank", dt.date(2026, 11, 20), "r1")
    assert f"spark.jars={spark_confs(settings)['spark.jars']}" in [
        cmd[i + 1] for i, a in enumerate(cmd) if a == "--conf"
    ]
    assert str(jars.GRAPHFRAMES_JAR) in spark.sparkContext.getConf().get("spark.jars").split(",")
    loader = spark._jvm.java.lang.Thread.currentThread().getContextClassLoader()
    assert loader.loadClass("org.graphframes.GraphFrame").getName() == "org.graphframes.GraphFrame"
    assert loader.loadClass("org.apache.spark.graphframes.graphx.Graph") is not None
