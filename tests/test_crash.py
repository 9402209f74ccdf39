"""Crash safety: a run killed with SIGKILL at each named crash point, then run again.

Every case starts from the same lake, in which dt=D was published from one input (the "old"
day). The source then changes and ``kindling run --date D --in-process`` is started in its own
process group with ``KINDLING_FAILPOINT`` naming a crash point (kindling/core/failpoints.py): the run
kills its whole group there, JVM included, as ``kill -9 -PGID`` would. Then:

* every published table of dt=D is the old day, whole (both networks, readable by pyarrow and
  DuckDB), and everything published is byte-identical to what it was (a publish killed before
  its swap has only added unpublished version folders);
* a rerun without the failpoint completes, publishes the rows of an uninterrupted run of the
  new input (floats to 1e-12 relative; see test_pipeline.assert_same_rows), and leaves no
  staging, no half-written version and no temporary link behind.

Only the killed run is a separate process; the old day, the reference run and the reruns use
the session's SparkSession. The day has two networks, so the publish crash interrupts a
multi-table, multi-partition day.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from test_pipeline import assert_same_rows, published_rows, tree_digest

from kindling.core.failpoints import POINTS
from kindling.core.settings import load_settings
from kindling.pipeline.steps import remove_leftovers, run_day
from kindling.storage.lake import PUBLISHED_TABLES, Lake
from kindling_dev import generate

pytestmark = pytest.mark.integration  # tier: see tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
END = dt.date(2026, 11, 20)
NETWORKS = ("alpha", "beta")
# A loose tolerance keeps PageRank at a few blocks of supersteps; rank:mid-pagerank needs more
# than one block (it fires after the first), which the test checks through the failpoint's message.
# No topic is ranked (crash safety does not depend on them, and they multiply the rank step's
# cost); every table, topic_scores included, is still staged and published.
SETTINGS = {"spark_shuffle_partitions": 2, "tol": 1e-4, "topic_min_recognized": 1_000_000}
CRASH_TIMEOUT = 900


def _settings(lake: Path, source: Path):
    return load_settings(env={}, source=str(source), lake=str(lake), **SETTINGS)


def _quiet(_msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """The old and the new input of dt=D: the same shape, different seeds, so every table differs."""
    root = tmp_path_factory.mktemp("crash-sources")
    for name, seed in (("old", 11), ("new", 12)):
        generate.generate(root / name, accounts=100, days=1, networks=NETWORKS, seed=seed, end_date=END)
    return {"old": root / "old", "new": root / "new"}


@pytest.fixture(scope="module")
def old_lake(spark, sources, tmp_path_factory) -> Path:
    """A lake with dt=D published from the old input: each case starts from a copy."""
    lake = tmp_path_factory.mktemp("crash-old") / "lake"
    run_day(_settings(lake, sources["old"]), END, spark=spark, log=_quiet)
    return lake


@pytest.fixture(scope="module")
def old_rows(old_lake) -> dict[str, list[dict]]:
    return {t: published_rows(old_lake, END, t) for t in PUBLISHED_TABLES}


@pytest.fixture(scope="module")
def new_rows(spark, sources, old_lake, tmp_path_factory) -> dict[str, list[dict]]:
    """What an uninterrupted run of the new input over the old lake publishes."""
    lake = tmp_path_factory.mktemp("crash-ref") / "lake"
    shutil.copytree(old_lake, lake, symlinks=True)
    run_day(_settings(lake, sources["new"]), END, spark=spark, log=_quiet)
    rows = {t: published_rows(lake, END, t) for t in PUBLISHED_TABLES}
    assert rows["account_scores"] and rows["score_contributors"]
    return rows


def _group_alive(pgid: int) -> list[str]:
    """Processes (not zombies) still in process group ``pgid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(text.split(")", 1)[0] + ")")
    return alive


def crash_run(lake: Path, source: Path, point: str, cwd: Path) -> subprocess.CompletedProcess:
    """``kindling run --date D --in-process`` with the failpoint set, in its own process group."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINDLING_")}
    env.update({f"KINDLING_{k.upper()}": str(v) for k, v in SETTINGS.items()})
    env.update(
        {
            "KINDLING_LAKE": str(lake),
            "KINDLING_SOURCE": str(source),
            "KINDLING_FAILPOINT": point,
            "KINDLING_SPARK_MASTER": "local[2]",
            "PYTHONPATH": str(ROOT),
            "PYSPARK_PYTHON": sys.executable,
        }
    )
    p = subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", "run", "--date", END.isoformat(), "--in-process"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = p.communicate(timeout=CRASH_TIMEOUT)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    deadline = time.time() + 20
    while _group_alive(p.pid) and time.time() < deadline:
        time.sleep(0.2)
    assert not _group_alive(p.pid), f"the JVM or another child outlived the kill: {_group_alive(p.pid)}"
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def assert_whole_table(lake: Path, table: str, want: list[dict]) -> None:
    """dt=D of ``table`` is complete and readable by pyarrow and DuckDB, and its rows are ``want``."""
    part = Lake(lake).published(table, END)
    assert Lake(lake).published_networks(table, END) == sorted(NETWORKS)
    n = pq.read_table(str(part)).num_rows
    files = str(part / "network=*" / "*.parquet")
    with duckdb.connect() as con:
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0] == n == len(want)
    assert_same_rows(published_rows(lake, END, table), want)


def assert_no_leftovers(lake: Path) -> None:
    staging = lake / "_staging"
    assert not staging.exists() or not any(staging.iterdir()), list(staging.iterdir())
    for table in PUBLISHED_TABLES:
        versions = sorted(p.name for p in Lake(lake).versions(table, END).iterdir())
        assert versions == [os.path.basename(os.path.realpath(Lake(lake).published(table, END)))], versions
    days = Lake(lake).days(END)
    assert {p.name for p in days.iterdir()} == {"current", os.readlink(days / "current")}
    hidden = [p for p in (lake / "tables").rglob(".*") if p.name.endswith((".tmp", ".lnk", ".old"))]
    hidden += [p for p in (lake / "conformed").rglob(".dt=*")] + [p for p in (lake / "raw").rglob(".dt=*")]
    assert not hidden, hidden


@pytest.mark.parametrize("point", POINTS)
def test_killed_run_leaves_published_day_whole_and_rerun_equals_uninterrupted_run(
    point, spark, sources, old_lake, old_rows, new_rows, tmp_path
):
    lake = tmp_path / "lake"
    shutil.copytree(old_lake, lake, symlinks=True)
    before = tree_digest(lake / "tables")
    links_before = Lake(lake).published_by(END)

    crashed = crash_run(lake, sources["new"], point, tmp_path)
    assert crashed.returncode == -signal.SIGKILL, (crashed.returncode, crashed.stderr[-3000:])
    assert f"failpoint {point}:" in crashed.stderr  # killed at this point, not anywhere else
    assert "published dt=" not in crashed.stdout

    after = Lake(lake).published_by(END)
    if point == "publish:after-first-table":
        # Killed between writing the first table's new version and the day's swap: every table
        # still shows the old day; only unpublished version folders were added.
        assert after == links_before
        for t in PUBLISHED_TABLES:
            assert_whole_table(lake, t, old_rows[t])
        digest = tree_digest(lake / "tables")
        assert {k: v for k, v in digest.items() if not k.startswith("_versions/")} == {
            k: v for k, v in before.items() if not k.startswith("_versions/")
        }
        assert {k: v for k, v in before.items() if k.startswith("_versions/")}.items() <= digest.items()
    else:
        # Killed before publishing: not one published byte changed (no runs row either).
        assert after == links_before
        assert tree_digest(lake / "tables") == before
        for t in PUBLISHED_TABLES:
            assert_whole_table(lake, t, old_rows[t])
    if point == "rank:after-first-staged-table":  # the kill left a partly staged run behind
        staged = list((lake / "_staging").glob(f"*/account_scores/dt={END}/network=*"))
        assert staged and not list((lake / "_staging").glob("*/score_contributors"))

    rerun = run_day(_settings(lake, sources["new"]), END, spark=spark, log=_quiet)
    assert Lake(lake).published_by(END) == {t: rerun for t in PUBLISHED_TABLES}
    for t in PUBLISHED_TABLES:
        assert_whole_table(lake, t, new_rows[t])
        # (quarantine and, with no topic ranked, topic_scores are published empty)
        assert set(pq.read_table(str(Lake(lake).published(t, END))).column("run_id").to_pylist()) == (
            {rerun} if new_rows[t] else set()
        )
    assert_no_leftovers(lake)


def test_remove_leftovers_takes_the_dates_debris_and_nothing_else(tmp_path):
    """Without Spark: plant what killed runs leave at every stage, for dt=D and for the day before."""
    lake = Lake(tmp_path / "lake")
    other = END - dt.timedelta(days=1)
    d, o = END.isoformat(), other.isoformat()

    def mk(rel: str, content: bytes | None = b"x") -> Path:
        p = lake.root / rel
        if content is None:
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
        return p

    for day in (d, o):
        # published: a version and its link; plus an orphaned version (killed between rename and swap)
        for table in PUBLISHED_TABLES:
            mk(f"tables/_versions/{table}/dt={day}/{day}_old/network=alpha/part-0.parquet")
            mk(f"tables/_versions/{table}/dt={day}/{day}_orphan/network=alpha/part-0.parquet")
            mk(f"tables/_versions/{table}/dt={day}/.{day}_killed.tmp/network=alpha/part-0.parquet")
            link = lake.published(table, dt.date.fromisoformat(day))
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(f"../_versions/{table}/dt={day}/{day}_old", link)
            os.symlink(f"../_versions/{table}/dt={day}/{day}_orphan", link.parent / f".dt={day}.abc.lnk")
        mk(f"_staging/{day}_killed/account_scores/dt={day}/network=alpha/_temporary/x")
        mk(f"_staging/scheduled__{day}T00:00:00+00:00/account_scores/dt={day}/network=beta/part-0.parquet")
        mk(f"_staging/{day}_empty", None)
        mk(f"raw/network=alpha/.dt={day}.abc.tmp/interactions.csv")
        mk(f"conformed/accounts/network=alpha/.dt={day}.abc.tmp/_temporary/x")
        mk(f"conformed/accounts/network=alpha/.dt={day}.def.old/part-0.parquet")
        mk(f"conformed/accounts/network=alpha/dt={day}/part-0.parquet")
        mk(f"tables/runs/dt={day}/.{day}_r-published.parquet.abc.tmp")
        mk(f"tables/runs/dt={day}/{day}_r-published.parquet")
        mk(f"_runs/{day}_killed/state/pull.json")
    mk(f"_staging/{d}_current/account_scores/dt={d}/network=alpha/part-0.parquet")  # the calling run's own

    before = {str(p.relative_to(lake.root)) for p in lake.root.rglob("*")}
    logged: list[str] = []
    removed = remove_leftovers(load_settings(env={}, lake=str(lake.root)), END, f"{d}_current", log=logged.append)

    want = {
        f"_staging/{d}_killed",
        f"_staging/scheduled__{d}T00:00:00+00:00",
        f"_staging/{d}_empty",
        f"raw/network=alpha/.dt={d}.abc.tmp",
        f"conformed/accounts/network=alpha/.dt={d}.abc.tmp",
        f"conformed/accounts/network=alpha/.dt={d}.def.old",
        f"tables/runs/dt={d}/.{d}_r-published.parquet.abc.tmp",
        *(f"tables/_versions/{t}/dt={d}/.{d}_killed.tmp" for t in PUBLISHED_TABLES),
        *(f"tables/_versions/{t}/dt={d}/{d}_orphan" for t in PUBLISHED_TABLES),
        *(f"tables/{t}/.dt={d}.abc.lnk" for t in PUBLISHED_TABLES),
    }
    assert set(removed) == want
    assert all(any(w in m for m in logged) for w in want)
    after = {str(p.relative_to(lake.root)) for p in lake.root.rglob("*")}
    gone = before - after
    assert all(any(g == w or g.startswith(w + "/") for w in want) for g in gone), sorted(gone)
    assert all(not (lake.root / w).exists() and not (lake.root / w).is_symlink() for w in want)
    # kept: the other date's debris (its own run cleans it), what is published, the run records,
    # the calling run's staging
    assert all(not p.startswith(tuple(want)) for p in after)
    assert f"_staging/{o}_killed" in after and f"tables/_versions/account_scores/dt={o}/{o}_orphan" in after
    assert f"_staging/{d}_current" in after and f"_runs/{d}_killed/state/pull.json" in after
    for t in PUBLISHED_TABLES:
        assert (lake.published(t, END) / "network=alpha" / "part-0.parquet").is_file()
    assert remove_leftovers(load_settings(env={}, lake=str(lake.root)), END, f"{d}_current", log=logged.append) == []


def test_a_publish_killed_between_tables_is_reported_by_the_next_run(tmp_path):
    lake = Lake(tmp_path / "lake")
    for table, run in zip(PUBLISHED_TABLES, ("new",) + ("old",) * (len(PUBLISHED_TABLES) - 1), strict=True):
        (lake.versions(table, END) / run).mkdir(parents=True)
        lake.published(table, END).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f"../_versions/{table}/dt={END}/{run}", lake.published(table, END))
    logged: list[str] = []
    remove_leftovers(load_settings(env={}, lake=str(lake.root)), END, "next", log=logged.append)
    assert any("different runs" in m and "account_scores: new" in m and "topic_scores: old" in m for m in logged), (
        logged
    )
