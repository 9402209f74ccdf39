"""Snapshot source and pull: local paths, file:// and http(s):// through fsspec."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import threading

import pytest

from kindling.core.settings import load_settings
from kindling.core.validate import InvalidArgument
from kindling.ingest.source import SourceError, latest_snapshot_date, list_networks, pull, snapshot_ready
from kindling.storage.lake import Lake
from kindling_dev import generate

DAY = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    out = tmp_path_factory.mktemp("snap")
    generate.generate(out, accounts=100, days=2, networks=("alpha", "beta"), seed=1, end_date=DAY)
    return out


@pytest.fixture(scope="module")
def http_source(snapshots):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(snapshots))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("kind", ["path", "file", "http"])
def test_pull_copies_the_day_unchanged_and_idempotently(tmp_path, snapshots, http_source, kind):
    source = {"path": str(snapshots), "file": f"file://{snapshots}", "http": http_source}[kind]
    s = load_settings(env={}, source=source, lake=str(tmp_path / "lake"))
    assert list_networks(s) == ["alpha", "beta"]
    assert snapshot_ready(DAY.isoformat(), s)
    assert latest_snapshot_date(s) == DAY
    first = pull(s, "alpha", DAY)
    assert first["copied"] is True
    raw = Lake(s.lake).raw("alpha", DAY)
    src_day = snapshots / "network=alpha" / f"dt={DAY}"
    for name in ("accounts.csv", "follows.csv", "posts.jsonl", "interactions.parquet"):
        assert (raw / name).read_bytes() == (src_day / name).read_bytes()
    assert pull(s, "alpha", DAY)["copied"] is False


def test_incomplete_day_is_not_ready_and_cannot_be_pulled(tmp_path, snapshots):
    import shutil

    src = tmp_path / "src"
    shutil.copytree(snapshots, src)
    (src / "network=beta" / f"dt={DAY}" / "_SUCCESS").unlink()
    s = load_settings(env={}, source=str(src), lake=str(tmp_path / "lake"))
    assert not snapshot_ready(DAY.isoformat(), s)
    assert latest_snapshot_date(s) == DAY - dt.timedelta(days=1)
    with pytest.raises(SourceError, match="_SUCCESS"):
        pull(s, "beta", DAY)
    assert not Lake(s.lake).raw("beta", DAY).exists()


@pytest.mark.parametrize("bad", ["../etc", "Alpha", "a/b", ""])
def test_network_names_are_validated_before_reaching_a_path(tmp_path, snapshots, bad):
    s = load_settings(env={}, source=str(snapshots), lake=str(tmp_path / "lake"))
    with pytest.raises(InvalidArgument):
        pull(s, bad, DAY)
