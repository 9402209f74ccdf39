"""kindling query movers on small published tables written with pyarrow (the helpers of test_query_topics).

alpha is published on three dates; beta only on the last. Between D1 and D2 some accounts rise,
some fall, one is unchanged, one is new and one is gone. Expected values come from the rows
written here.
"""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from test_query_topics import D1, D2, _acc, _complete, _ts, _write_lake, assert_80_columns, run

from kindling.serving import formatting, query

D0 = "2026-11-23"

ALPHA_D1 = [
    _acc("a1", "ann", 60.0, 1),
    _acc("a2", "bob", 48.0, 2),
    _acc("a3", "cy", 41.0, 3),
    _acc("a4", "dee_org", 30.0, 4, account_type="organization"),
    _acc("a5", "eve", 22.0, 5),
    _acc("g1", "gone_guy", 25.0, 6),
]
ALPHA_D2 = [
    _acc("a1", "ann", 62.5, 1),
    _acc("a2", "bob", 50.0, 2),
    _acc("a3", "cy", 40.0, 4),
    _acc("a4", "dee_org", 30.0, 5, account_type="organization"),
    _acc("a5", "eve", 12.0, 6),
    _acc("n1", "<script>", 45.0, 3),
]
DATA = {
    "account_scores": {
        (D0, "alpha"): [_acc("a1", "ann", 55.0, 1)],
        (D1, "alpha"): ALPHA_D1,
        (D2, "alpha"): ALPHA_D2,
        (D2, "beta"): [_acc("b1", "bee", 70.0, 1)],
    },
    "topic_scores": {
        (D1, "alpha"): [
            _ts("python", "a1", 75.0, 4.0),
            _ts("python", "a2", 62.0, 30.0),
            _ts("cooking", "a5", 65.0, 10.0),
        ],
        (D2, "alpha"): [
            _ts("python", "a1", 80.0, 5.0),
            _ts("python", "a2", 60.0, 40.0),
            _ts("python", "a3", 40.0, 90.0),
            _ts("cooking", "a5", 70.0, 10.0),
        ],
    },
}


def _write(root):
    # D0 is an extra plain folder next to the helper's D1 (folder) and D2 (link to a version)
    _write_lake(root, {t: {k: v for k, v in parts.items() if k[0] != D0} for t, parts in DATA.items()})
    import pyarrow as pa
    import pyarrow.parquet as pq

    import schemas

    folder = root / "tables" / "account_scores" / f"dt={D0}" / "network=alpha"
    folder.mkdir(parents=True)
    rows = _complete("account_scores", DATA["account_scores"][(D0, "alpha")], D0, "alpha")
    pq.write_table(
        pa.Table.from_pylist(rows, schema=schemas.table("account_scores").arrow_schema()), folder / "part-0.parquet"
    )


@pytest.fixture
def lake(tmp_path, monkeypatch):
    root = tmp_path / "lake"
    _write(root)
    monkeypatch.setenv("KINDLING_LAKE", str(root))
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return root


def _changes(before, after):
    b = {r["account_id"]: r for r in before}
    a = {r["account_id"]: r for r in after}
    return {k: a[k]["influence"] - b[k]["influence"] for k in a.keys() & b.keys()}


def test_movers_between_the_latest_date_and_the_one_before(lake):
    got = query.movers(lake, "alpha")
    assert (got["from_dt"], got["to_dt"], got["score_name"], got["topic"]) == (D1, D2, "influence", None)
    changes = _changes(ALPHA_D1, ALPHA_D2)
    rises = sorted((k for k, v in changes.items() if v > 0), key=lambda k: -changes[k])
    falls = sorted((k for k, v in changes.items() if v < 0), key=lambda k: changes[k])
    assert [r["account_id"] for r in got["rises"]] == rises == ["a1", "a2"]
    assert [r["account_id"] for r in got["falls"]] == falls == ["a5", "a3"]
    a5 = got["falls"][0]
    assert (a5["score_from"], a5["score_to"], a5["rank_from"], a5["rank_to"]) == (22.0, 12.0, 5, 6)
    assert a5["change"] == pytest.approx(-10.0)
    assert (a5["handle"], a5["account_type"]) == ("eve", "person")
    # unchanged a4 is neither; new and gone accounts have no change and are listed apart
    assert got["compared"] == len(changes) == 5
    assert [(r["account_id"], r["score_from"], r["score_to"], r["change"], r["rank_to"]) for r in got["new"]] == [
        ("n1", None, 45.0, None, 3)
    ]
    assert [(r["account_id"], r["score_from"], r["score_to"], r["change"], r["rank_from"]) for r in got["gone"]] == [
        ("g1", 25.0, None, None, 6)
    ]
    assert (got["accounts_from"], got["accounts_to"], got["new_count"], got["gone_count"]) == (6, 6, 1, 1)


def test_movers_n_and_explicit_dates(lake):
    got = query.movers(lake, "alpha", n=1)
    assert [r["account_id"] for r in got["rises"]] == ["a1"] and [r["account_id"] for r in got["falls"]] == ["a5"]
    got = query.movers(lake, "alpha", date_from=D0, date_to=D2)
    assert (got["from_dt"], got["to_dt"]) == (D0, D2)
    assert [(r["account_id"], r["change"]) for r in got["rises"]] == [("a1", 7.5)]
    assert got["new_count"] == 5 and got["gone_count"] == 0
    got = query.movers(lake, "alpha", date_to=D1)  # --from defaults to the date before --to
    assert (got["from_dt"], got["to_dt"]) == (D0, D1)


def test_movers_of_a_topic_use_expertise(lake):
    got = query.movers(lake, "alpha", topic="python")
    assert (got["score_name"], got["topic"]) == ("expertise", "python")
    assert [(r["account_id"], r["change"]) for r in got["rises"]] == [("a1", 5.0)]
    assert [(r["account_id"], r["change"]) for r in got["falls"]] == [("a2", -2.0)]
    assert [r["account_id"] for r in got["new"]] == ["a3"] and got["gone"] == []
    assert got["rises"][0]["rank_to"] == 1  # rank_in_topic
    with pytest.raises(LookupError, match="did you mean: python"):
        query.movers(lake, "alpha", topic="pyton")


def test_movers_table_csv_and_json(lake, capsys):
    rc, out, _ = run(capsys, "query", "movers", "--network", "alpha")
    assert rc == 0
    assert out.startswith(f"influence on alpha, {D1} -> {D2}")
    assert "5 accounts scored on both dates" in out and "1 new and 1 gone" in out
    assert out.index("largest rises") < out.index("largest falls") < out.index("new:") < out.index("gone:")
    a5 = next(line for line in out.splitlines() if line.startswith("a5 "))
    assert a5.split() == ["a5", "eve", "person", "22.00", "12.00", "-10.00", "5→6"]
    assert "dee_org" not in out  # unchanged
    assert_80_columns(out)

    rc, out, _ = run(capsys, "query", "movers", "--network", "alpha", "--format", "csv", "-n", "1")
    assert rc == 0
    got = list(csv.DictReader(io.StringIO(out)))
    assert [(r["list"], r["account_id"]) for r in got] == [
        ("rises", "a1"),
        ("falls", "a5"),
        ("new", "n1"),
        ("gone", "g1"),
    ]
    assert {(r["from_dt"], r["to_dt"]) for r in got} == {(D1, D2)}

    rc, out, _ = run(capsys, "query", "movers", "--network", "alpha", "--topic", "python", "--format", "json")
    assert rc == 0 and json.loads(out)["rises"][0]["account_id"] == "a1"


def test_movers_table_fits_80_columns_with_long_values(tmp_path):
    long_handle = "a_rather_long_handle_" * 2
    ids = [f"account_{i:09d}" for i in range(30)]
    data = {
        "account_scores": {
            (D1, "alpha"): [
                _acc(a, long_handle, 100.0 if i % 2 else 0.0, 100000 + i, account_type="organization")
                for i, a in enumerate(ids[:25])
            ],
            (D2, "alpha"): [
                _acc(a, long_handle, 0.0 if i % 2 else 100.0, 199999 - i, account_type="unknown")
                for i, a in enumerate(ids[5:], 5)
            ],
        }
    }
    _write_lake(tmp_path / "lake", data)
    out = formatting.format_movers(query.movers(tmp_path / "lake", "alpha", n=100))
    assert "+100.00" in out and "-100.00" in out
    assert len(out.splitlines()) > 30
    assert_80_columns(out)


def test_movers_without_two_dates_or_network(lake, capsys):
    with pytest.raises(LookupError, match="nothing is published before"):
        query.movers(lake, "alpha", date_to=D0)
    rc, _, err = run(capsys, "query", "movers", "--network", "beta")  # beta is published on D2 only
    assert rc == 2 and f"network=beta is not published for dt={D1}" in err
    rc, _, err = run(capsys, "query", "movers", "--network", "alpha", "--from", D2, "--to", D1)
    assert rc == 2 and "must be before" in err
    rc, _, err = run(capsys, "query", "movers", "--network", "alpha", "--from", "2026-01-01")
    assert rc == 2 and "dt=2026-01-01 is not published" in err


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--network", "alpha' OR '1'='1"], "not allowed"),
        (["--network", "../alpha"], "not allowed"),
        (["--network", "alpha", "--from", "2026-11-24' OR '1'='1"], "YYYY-MM-DD"),
        (["--network", "alpha", "--from", "../../etc"], "YYYY-MM-DD"),
        (["--network", "alpha", "--from", "2026-02-30"], "not a calendar date"),
        (["--network", "alpha", "--to", "2026-11-25; DROP TABLE x"], "YYYY-MM-DD"),
        (["--network", "alpha", "--topic", "x' OR '1'='1"], "not a topic slug"),
        (["--network", "alpha", "--topic", "x'--"], "has no scores"),
        (["--network", "alpha", "--topic", "../../etc"], "has no scores"),
        (["--network", "alpha", "-n", "0"], "between 1 and"),
        (["--network", "alpha", "-n", "-5"], "between 1 and"),
        (["--network", "alpha", "-n", "1000001"], "between 1 and"),
    ],
)
def test_hostile_movers_arguments_are_rejected(lake, capsys, args, message):
    before = _tree(lake)
    rc, out, err = run(capsys, "query", "movers", *args)
    assert rc == 2, (out, err)
    assert message in err
    assert "syntax" not in err.lower() and "parser error" not in err.lower()
    assert _tree(lake) == before


def test_an_injected_topic_matches_nothing_in_the_api(lake):
    with pytest.raises(LookupError):
        query.movers(lake, "alpha", topic="python'--")
    assert os.path.isdir(lake / "tables" / "account_scores")


def test_movers_people_only_leave_organizations_out_of_lists_and_counts(lake, capsys):
    everyone = query.movers(lake, "alpha", n=100)
    people = query.movers(lake, "alpha", n=100, people_only=True)
    orgs = {r["account_id"] for r in ALPHA_D1 + ALPHA_D2 if r.get("account_type") == "organization"}
    assert orgs == {"a4"}
    for name in ("rises", "falls", "new", "gone"):
        assert [r["account_id"] for r in people[name]] == [
            r["account_id"] for r in everyone[name] if r["account_id"] not in orgs
        ]
    assert (
        people["accounts_from"] == everyone["accounts_from"] - 1
        and people["accounts_to"] == everyone["accounts_to"] - 1
    )
    assert people["compared"] == everyone["compared"] - 1
    rc, out, _ = run(capsys, "query", "movers", "--network", "alpha", "--people-only", "--format", "json")
    assert rc == 0 and json.loads(out)["compared"] == people["compared"]
