"""``kindling import snap-edgelist``: parsing, checking, the snapshot folders it writes, and a run on them.

Inputs are a few lines written per test; the end-to-end test imports a tiny reply
graph and runs the daily job in-process on the shared SparkSession.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kindling import cli
from kindling.core.validate import InvalidArgument
from kindling.ingest import importer as I
from kindling.ingest.source import manifest_rows

DAY = dt.date(2012, 7, 4)
# 2012-07-04T23:59:59Z and 2012-07-05T00:00:00Z: one second apart, two snapshot days.
TS_LAST_OF_4TH = 1341446399
TS_FIRST_OF_5TH = 1341446400


def write(tmp_path: Path, text: str, name: str = "edges.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


def day_dir(out: Path, network: str, day: dt.date | str) -> Path:
    return out / f"network={network}" / f"dt={day}"


def rows(folder: Path, table: str) -> list[dict]:
    return pq.read_table(folder / f"{table}.parquet").to_pylist()


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- formats


def test_weights_become_that_many_interactions(tmp_path):
    src = write(tmp_path, "1 2 3\n2 3 1\n3 1 2\n")
    s = I.import_snap_edgelist(src, "net", "reply", tmp_path / "out", date="2012-07-04")
    assert s["third"] == "weight"
    folder = day_dir(tmp_path / "out", "net", DAY)
    inter = rows(folder, "interactions")
    pairs = [(r["actor_id"], r["target_id"]) for r in inter]
    assert pairs == [("1", "2")] * 3 + [("2", "3")] + [("3", "1")] * 2
    assert len({r["event_id"] for r in inter}) == 6
    assert {r["kind"] for r in inter} == {"reply"}
    assert all(r["post_id"] is None for r in inter)
    midnight = dt.datetime(2012, 7, 4, tzinfo=dt.UTC)
    assert {r["created_at"] for r in inter} == {midnight}
    assert manifest_rows(folder / "_SUCCESS") == {
        "accounts": pq.read_metadata(folder / "accounts.parquet").num_rows,
        "interactions": pq.read_metadata(folder / "interactions.parquet").num_rows,
        "posts": 0,
    }
    assert rows(folder, "posts") == []
    acc = rows(folder, "accounts")
    assert [a["account_id"] for a in acc] == ["1", "2", "3"]
    assert {a["account_type"] for a in acc} == {"unknown"}
    assert s["accounts"] == 3 and s["interactions"] == 6 and s["edges"] == 3


def test_two_columns_give_one_interaction_per_edge(tmp_path):
    src = write(tmp_path, "10 20\n10 20\n20 30\n")
    s = I.import_snap_edgelist(src, "net", "mention", tmp_path / "out", date=DAY)
    assert s["third"] == "none"
    inter = rows(day_dir(tmp_path / "out", "net", DAY), "interactions")
    assert [(r["actor_id"], r["target_id"], r["kind"]) for r in inter] == [
        ("10", "20", "mention"),
        ("10", "20", "mention"),
        ("20", "30", "mention"),
    ]
    assert len({r["event_id"] for r in inter}) == 3


def test_timestamps_give_one_folder_per_utc_day(tmp_path):
    src = write(tmp_path, f"1 2 {TS_FIRST_OF_5TH}\n3 1 {TS_LAST_OF_4TH}\n2 3 {TS_FIRST_OF_5TH + 7200}\n")
    s = I.import_snap_edgelist(src, "net", "repost", tmp_path / "out")
    assert s["third"] == "timestamp"
    assert s["days"] == {"2012-07-04": 1, "2012-07-05": 2}
    d4, d5 = day_dir(tmp_path / "out", "net", "2012-07-04"), day_dir(tmp_path / "out", "net", "2012-07-05")
    assert (d4 / "_SUCCESS").exists() and (d5 / "_SUCCESS").exists()
    r4, r5 = rows(d4, "interactions"), rows(d5, "interactions")
    assert [(r["actor_id"], r["target_id"]) for r in r4] == [("3", "1")]
    assert r4[0]["created_at"] == dt.datetime(2012, 7, 4, 23, 59, 59, tzinfo=dt.UTC)
    assert [(r["actor_id"], r["target_id"]) for r in r5] == [("1", "2"), ("2", "3")]
    assert [r["created_at"].hour for r in r5] == [0, 2]
    # every account in every day, since a run ranks its own day's accounts over the window
    assert [a["account_id"] for a in rows(d4, "accounts")] == ["1", "2", "3"]
    assert rows(d4, "accounts") == rows(d5, "accounts")


def test_comments_blank_lines_tabs_and_crlf(tmp_path):
    plain = I.read_edgelist(write(tmp_path, "1 2 5\n7 8 1\n", "plain.txt"))
    messy = I.read_edgelist(
        write(
            tmp_path,
            "# SNAP header\n% matrix-market style\n\n 1\t\t2   5 \r\n   \n\t# indented comment\n7 8\t1",
            "messy.txt",
        )
    )
    for col in ("src", "dst", "third"):
        assert getattr(messy, col).tolist() == getattr(plain, col).tolist()
    assert messy.line.tolist() == [4, 7]
    assert messy.lines == 7


def test_good_input_never_takes_the_slow_path(tmp_path, monkeypatch):
    def slow(*args):
        raise AssertionError("pyarrow refused a well-formed block")

    monkeypatch.setattr(I, "_parse_slow", slow)
    text = "\ufeff# c\n\n \t1\t\t2   5 \r\n\n% x\n7 8\t1\r\n  9 10 3"
    for chunk in (I.CHUNK_BYTES, 7):
        e = I.read_edgelist(write(tmp_path, text), chunk_bytes=chunk)
        assert e.src.tolist() == [1, 7, 9] and e.dst.tolist() == [2, 8, 10] and e.third.tolist() == [5, 1, 3]
        assert e.line.tolist() == [3, 6, 7]


def test_block_boundaries_do_not_change_the_result(tmp_path):
    text = "".join(f"{i} {i * 7 % 13} {1 + i % 4}\n" if i % 5 else f"# c {i}\n" for i in range(400))
    src = write(tmp_path, text)
    whole = I.read_edgelist(src)
    tiny = I.read_edgelist(src, chunk_bytes=37)
    for col in ("src", "dst", "third", "line"):
        assert getattr(tiny, col).tolist() == getattr(whole, col).tolist()
    assert len(whole.line) == 320
    # the slow reference parser agrees with the pyarrow path
    data = src.read_bytes()
    slow = I._parse_slow(src, data, 1, 3, 2, "auto")
    assert [c.tolist() for c in slow] == [whole.src.tolist(), whole.dst.tolist(), whole.third.tolist()]


@pytest.mark.parametrize(
    ("third", "values", "expected"),
    [
        ("auto", [TS_LAST_OF_4TH, TS_FIRST_OF_5TH], "timestamp"),
        ("auto", [1, 999_999], "weight"),
        ("timestamp", [5, 86400], "timestamp"),  # explicit: small values are early timestamps
        ("weight", [1, 2], "weight"),
    ],
)
def test_third_column_reading(tmp_path, third, values, expected):
    src = write(tmp_path, "".join(f"1 2 {v}\n" for v in values))
    assert I.resolve_third(I.read_edgelist(src, third), third) == expected


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("1 2 3\n# ok\n1 x 3\n", 3, "target id 'x' is not an integer"),
        ("1 2 3\n4 5 1.5\n", 2, "'1.5' is not an integer"),
        ("1 2\n\n3\n", 3, "too few columns: 1"),
        ("7\n", 1, "too few columns: 1"),
        ("1 2 3 4\n", 1, "too many columns: 4"),
        ("1 2\n3 4 5\n", 2, "too many columns: 3, but the first edge (line 1) has 2"),
        ("1 2 3\n4 5\n", 2, "too few columns: 2, but the first edge (line 1) has 3"),
        ("1 2 3\n2 3 -4\n", 2, "negative third value -4"),
        ("1 2 3\n2 3 0\n", 2, "weight 0"),
        ("-1 2 3\n", 1, "source id -1 is negative"),
        (
            f"1 2 {TS_FIRST_OF_5TH}\n2 3 {TS_FIRST_OF_5TH}\n3 1 4\n",
            3,
            "third value 4 looks like a weight but line 1 has 1341446400, a timestamp",
        ),
        (f"1 2 4\n3 1 {TS_FIRST_OF_5TH}\n", 2, "looks like a timestamp but line 1 has 4, a weight"),
        ("1 2 99999999999999999999\n", 1, "out of range"),
        ("1 2 NA\n", 1, "'NA' is not an integer"),
        ("1 2 1_000\n", 1, "'1_000' is not an integer"),
        ("1 \u0663 1\n", 1, "target id '\u0663' is not an integer"),  # an Arabic-Indic digit
    ],
)
@pytest.mark.parametrize("chunk", [I.CHUNK_BYTES, 5])
def test_bad_input_names_file_and_line(tmp_path, text, line, words, chunk):
    src = write(tmp_path, text)
    out = tmp_path / "out"
    with pytest.raises(I.EdgeListError) as e:
        I.import_snap_edgelist(src, "net", "reply", out, date="2012-07-04", chunk_bytes=chunk)
    assert str(e.value).startswith(f"{src}, line {line}: "), str(e.value)
    assert words in str(e.value)
    assert e.value.line == line
    assert not out.exists() or not any(out.rglob("*"))  # nothing written


@pytest.mark.parametrize(
    ("third", "text", "line", "words"),
    [
        ("weight", f"1 2 3\n2 3 {TS_FIRST_OF_5TH}\n", 2, "weight above 1,000,000"),
        ("weight", "1 2 3\n2 3 -1\n", 2, "negative weight -1"),
        ("timestamp", "1 2 1341446400\n1 2 1341446400000\n", 2, "milliseconds?"),
        ("timestamp", "1 2\n", 1, "the file has two columns"),
    ],
)
def test_explicit_third_checks_values(tmp_path, third, text, line, words):
    src = write(tmp_path, text)
    with pytest.raises(I.EdgeListError, match=rf"line {line}: .*{words}"):
        I.import_snap_edgelist(src, "net", "reply", tmp_path / "out", date="2012-07-04", third=third)


def test_byte_order_mark_is_skipped_and_missing_file_named(tmp_path):
    e = I.read_edgelist(write(tmp_path, "\ufeff4 5\n6 4\n"))
    assert e.src.tolist() == [4, 6] and e.line.tolist() == [1, 2]
    with pytest.raises(InvalidArgument, match=f"{tmp_path / 'nope.txt'}: no such file"):
        I.import_snap_edgelist(tmp_path / "nope.txt", "net", "reply", tmp_path / "out", date="2012-07-04")
    with pytest.raises(InvalidArgument, match="no such file"):
        I.read_edgelist(tmp_path)


def test_only_comments_is_an_error(tmp_path):
    src = write(tmp_path, "# nothing\n\n% here\n")
    with pytest.raises(I.EdgeListError, match=rf"^{src}: no edges"):
        I.read_edgelist(src)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"network": "../etc", "date": "2012-07-04"}, "network name '../etc' is not allowed"),
        ({"network": "Net", "date": "2012-07-04"}, "network name 'Net' is not allowed"),
        ({"network": "net", "date": "2012-7-4"}, "--date must be YYYY-MM-DD"),
        ({"network": "net", "date": "2012-02-30"}, "not a calendar date"),
        ({"network": "net", "date": None}, "give --date"),
        ({"network": "net", "date": "2012-07-04", "kind": "like"}, "kind must be one of reply, mention, repost"),
    ],
)
def test_arguments_are_validated(tmp_path, kwargs, words):
    src = write(tmp_path, "1 2\n")
    kwargs = {"kind": "reply", **kwargs}
    with pytest.raises(InvalidArgument, match=words):
        I.import_snap_edgelist(src, out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_date_with_timestamps_is_refused(tmp_path):
    src = write(tmp_path, f"1 2 {TS_FIRST_OF_5TH}\n")
    with pytest.raises(InvalidArgument, match="--date is only for files without timestamps"):
        I.import_snap_edgelist(src, "net", "reply", tmp_path / "out", date="2012-07-04")


# --------------------------------------------------------------------------- output


def test_reimport_is_byte_identical(tmp_path):
    text = f"5 6 {TS_LAST_OF_4TH}\n6 5 {TS_FIRST_OF_5TH}\n7 5 {TS_FIRST_OF_5TH + 1}\n"
    src = write(tmp_path, text)
    I.import_snap_edgelist(src, "net", "reply", tmp_path / "a")
    first = digests(tmp_path / "a")
    I.import_snap_edgelist(src, "net", "reply", tmp_path / "b")
    I.import_snap_edgelist(src, "net", "reply", tmp_path / "a")  # over the first import
    assert digests(tmp_path / "b") == first == digests(tmp_path / "a")
    assert len(first) == 8  # 2 days x (accounts, posts, interactions, _SUCCESS); no temp leftovers
    # ...and the bytes depend on the input
    write(tmp_path, text.replace("7 5", "7 6"))
    I.import_snap_edgelist(src, "net", "reply", tmp_path / "c")
    assert digests(tmp_path / "c") != first


def test_failed_write_leaves_no_half_day(tmp_path, monkeypatch):
    src = write(tmp_path, "1 2 2\n")
    out = tmp_path / "out"
    I.import_snap_edgelist(src, "net", "reply", out, date="2012-07-04")
    before = digests(out)
    write(tmp_path, "1 2 3\n3 1 1\n")
    real = I._write_parquet

    def failing(path, table):
        if path.name == "interactions.parquet":
            raise OSError("disk full")
        real(path, table)

    monkeypatch.setattr(I, "_write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        I.import_snap_edgelist(src, "net", "reply", out, date="2012-07-04")
    assert digests(out) == before  # the earlier day untouched, no temporary folder left
    assert sorted(p.name for p in (out / "network=net").iterdir()) == ["dt=2012-07-04"]


def test_cli_prints_summary_and_names_bad_line(tmp_path, capsys):
    args = ["--network", "net", "--kind", "reply", "--out", str(tmp_path / "out"), "--date", "2012-07-04"]
    good = write(tmp_path, "1 2 2\n2 1 1\n", "good.txt")
    rc = cli.main(["import", "snap-edgelist", str(good), *args])
    out = capsys.readouterr().out
    assert rc == 0
    assert "2 edges" in out and "2 accounts, 3 reply interactions" in out
    assert (day_dir(tmp_path / "out", "net", DAY) / "_SUCCESS").exists()
    bad = write(tmp_path, "1 2 2\n2 one 1\n", "bad.txt")
    rc = cli.main(["import", "snap-edgelist", str(bad), *args])
    assert rc == 2
    assert f"{bad}, line 2: target id 'one' is not an integer" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end


def test_imported_edges_run_through_the_pipeline(spark, tmp_path):
    from kindling.core.settings import load_settings
    from kindling.pipeline.steps import run_day
    from kindling.storage.lake import Lake

    # Account 50 is replied to by seven accounts; 60 by two; the rest by one or none.
    edges = [
        (1, 50, 1),
        (2, 50, 2),
        (3, 50, 1),
        (4, 50, 1),
        (5, 50, 1),
        (9, 50, 1),
        (11, 50, 2),
        (50, 1, 1),
        (6, 60, 1),
        (7, 60, 3),
        (60, 6, 1),
        (1, 2, 1),
        (8, 8, 4),
    ]
    src = write(tmp_path, "# src dst weight\n" + "".join(f"{a}\t{b}\t{w}\n" for a, b, w in edges))
    I.import_snap_edgelist(src, "tiny", "reply", tmp_path / "snapshots", date="2012-07-04")
    settings = load_settings(
        env={}, source=str(tmp_path / "snapshots"), lake=str(tmp_path / "lake"), spark_shuffle_partitions=2, tol=1e-6
    )  # 13 accounts: a loose tol saves supersteps
    # the self-loop (8, 8, 4) is 4 of 20 interactions: counted by the gate, dropped by the graph
    run_day(settings, DAY, spark=spark, log=lambda m: None)

    published = Lake(tmp_path / "lake").published("account_scores", DAY) / "network=tiny"
    scores = sorted(pq.read_table(published).to_pylist(), key=lambda r: r["rank"])
    repliers: dict[str, set[str]] = {}
    for a, b, _ in edges:
        if a != b:
            repliers.setdefault(str(b), set()).add(str(a))
    most_replied = max(repliers, key=lambda k: len(repliers[k]))
    assert scores[0]["account_id"] == most_replied == "50"
    # 60 is replied to by two accounts; 1 only by 50, whose single reply would otherwise carry it to second
    # place. One big spark is capped (spark_max_share): two trees catching outrank it.
    assert scores[1]["account_id"] == "60"
    by_id = {r["account_id"]: r for r in scores}
    unreplied = [by_id[a] for a in by_id if a not in repliers]
    assert by_id["1"]["pagerank"] > max(r["pagerank"] for r in unreplied)  # capped, not erased
    assert {r["account_id"] for r in scores} == {str(x) for e in edges for x in e[:2]}
    assert sum(r["pagerank"] for r in scores) == pytest.approx(1.0, abs=1e-6)
    assert scores[0]["influence"] > scores[-1]["influence"]
