"""Every run scores its whole window: a run on a fresh lake admits the window's earlier days first.

A fresh lake's run for D must publish the scores a run after a backfill publishes; the run
records its window coverage; a bad earlier day stops the run naming it, or, with
``window_bad_day = skip``, is left out and recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kindling.core.settings import load_settings
from kindling.pipeline.steps import run_day
from kindling.serving import formatting, query
from kindling.storage.lake import Lake
from kindling_dev import generate

END = dt.date(2026, 11, 20)
WINDOW = 4


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("window-src")
    generate.generate(out, accounts=250, days=6, networks=("alpha", "beta"), seed=11, end_date=END)
    return out


def _settings(lake: Path, source: Path, **kw):
    return load_settings(
        env={}, source=str(source), lake=str(lake), spark_shuffle_partitions=2, tol=1e-10, window_days=WINDOW, **kw
    )


def _ranks(lake: Path, day: dt.date, table: str = "account_scores", key=("account_id",), col="pagerank") -> dict:
    out = {}
    for f in sorted(Lake(lake).published(table, day).glob("network=*/*.parquet")):
        net = f.parent.name.split("=", 1)[1]
        for r in pq.read_table(f).to_pylist():
            out[(net, *[r[k] for k in key])] = r[col]
    return out


def test_a_fresh_lake_scores_the_whole_window_as_a_backfilled_one(spark, snapshots, tmp_path):
    fresh = tmp_path / "fresh"
    run_day(_settings(fresh, snapshots), END, spark=spark, log=lambda m: None)
    # the window's earlier days went through conform and the input gate into the lake
    for d in range(WINDOW):
        day = END - dt.timedelta(days=d)
        assert (fresh / "conformed" / "interactions" / "network=alpha" / f"dt={day}").is_dir()
    assert not (
        fresh / "conformed" / "interactions" / "network=alpha" / f"dt={END - dt.timedelta(days=WINDOW)}"
    ).exists()
    run = query.runs(str(fresh), status="published", n=1)[0]
    assert (run["window_expected"], run["window_present"], run["window_admitted"]) == (WINDOW, WINDOW, WINDOW)
    assert run["window"]["missing"] == [] and run["window"]["first"] == str(END - dt.timedelta(days=WINDOW - 1))
    assert "window: 4 of 4 days" in formatting.window_text(run)
    from kindling.serving.report import write_report

    assert "window: 4 of 4 days" in write_report(str(fresh), "latest").read_text()

    # the same day after the days before it were published one run at a time
    backfilled = tmp_path / "backfilled"
    s = _settings(backfilled, snapshots)
    for d in (END - dt.timedelta(days=1), END):
        run_day(s, d, spark=spark, log=lambda m: None)
    run = query.runs(str(backfilled), date=str(END), status="published", n=1)[0]
    assert run["window_admitted"] == 1 and run["window_present"] == WINDOW  # only its own day was new

    a, b = _ranks(fresh, END), _ranks(backfilled, END)
    assert a.keys() == b.keys() and len(a) == 500
    assert sum(abs(a[k] - b[k]) for k in a) < 1e-9
    ta = _ranks(fresh, END, "topic_scores", ("topic", "account_id"), "topic_rank")
    tb = _ranks(backfilled, END, "topic_scores", ("topic", "account_id"), "topic_rank")
    assert ta.keys() == tb.keys() and sum(abs(ta[k] - tb[k]) for k in ta) < 1e-9


def test_a_bad_earlier_day_stops_the_run_naming_it_or_is_skipped_and_recorded(spark, snapshots, tmp_path):
    import shutil

    src = tmp_path / "src"
    shutil.copytree(snapshots, src)
    bad = END - dt.timedelta(days=2)
    (src / "network=beta" / f"dt={bad}" / "accounts.csv").unlink()  # a required table missing

    lake = tmp_path / "lake"
    with pytest.raises(Exception, match=f"dt={bad}") as err:
        run_day(_settings(lake, src), END, spark=spark, log=lambda m: None)
    assert "beta" in str(err.value) and "accounts" in str(err.value)
    assert not Lake(lake).published_dates("account_scores")  # nothing published

    run_day(_settings(lake, src, window_bad_day="skip"), END, spark=spark, log=lambda m: None)
    run = query.runs(str(lake), status="published", n=1)[0]
    assert run["window_present"] == WINDOW - 1 and run["window"]["missing"] == [str(bad)]
    assert "accounts" in json.dumps(run["window"]["skipped"][str(bad)]["beta"])
    assert "1 skipped as bad" in formatting.window_text(run)
    # alpha's copy of that day passed and is in the lake; beta's is not
    assert (lake / "conformed" / "interactions" / "network=alpha" / f"dt={bad}").is_dir()
    assert not (lake / "conformed" / "interactions" / "network=beta" / f"dt={bad}").exists()


def test_an_unknown_bad_day_policy_is_refused():
    with pytest.raises(Exception, match="window_bad_day"):
        load_settings(env={"KINDLING_WINDOW_BAD_DAY": "ignore"})
