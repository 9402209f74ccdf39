"""Quality gates: a clean day passes, and each derived rule catches its bad row by file and row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from kindling.gates import quality
from kindling.gates.quality import (
    QualityError,
    raise_for,
    validate_input_day,
    validate_output,
)
from schemas import Field
from schemas import table as table_def

DAY = dt.date(2026, 11, 20)
NOON = pd.Timestamp("2026-11-20T12:00:00Z")
N = 10  # rows per table; lineage rows are 1..N

BASE = {
    "accounts": {
        "handle": "ann",
        "display_name": "Ann",
        "account_type": "person",
        "created_at": pd.Timestamp("2020-01-01T00:00:00Z"),
        "verified": False,
        "followers_count": 10,
    },
    "follows": {},
    "posts": {"author_id": "a1", "created_at": NOON, "hashtags": ["py"], "topics": ["tech"]},
    "interactions": {"kind": "reply", "post_id": "p1", "created_at": NOON},
    "account_scores": {
        "handle": "ann",
        "account_type": "person",
        "pagerank": 1 / N,
        "influence": 20.0,
        "percentile": 50.0,
        "in_weight": 1.0,
        "out_weight": 1.0,
        "influence_change": np.nan,
        "trust_rank": 1 / N,
        "spam_mass": 0.0,
        "spam_flag": False,
        "ring_id": None,
        "ring_flag": False,
        "responsiveness": 0.4,
        "asks": 1,
        "answered": 1,
        "answer_hours_median": 2.5,
        "run_id": "run-1",
    },
    "topic_scores": {
        "topic": "astronomy",
        "handle": "ann",
        "account_type": "person",
        "expertise": 40.0,
        "interest": 10.0,
        "topic_rank": 0.05,
        "recognizers": 3,
        "recognition": 4.5,
        "own_posts": 2,
        "own_engagements": 1,
        "expertise_change": np.nan,
        "run_id": "run-1",
    },
    "score_contributors": {
        "topic": None,
        "account_id": "a1",
        "contributor_handle": "bob",
        "contributor_type": "person",
        "share": 0.1,
        "base_share": 0.3,
        "events": 2,
        "kinds": "reply=2",
        "run_id": "run-1",
    },
    "graph_edges": {
        "weight": 1.0,
        "flow_weight": 1.0,
        "norm_weight": 2.0,
        "out_weight": 2.0,
        "events": 3,
        "kinds": "reply=2,like=1",
        "topic_factors": None,
        "offtopic_factor": 0.2,
        "run_id": "run-1",
    },
    "graph_vertices": {
        "handle": "ann",
        "pagerank": 1 / N,
        "influence": 20.0,
        "in_flow": 0.5 / N,
        "base": 0.5 / N,
        "base_share": 0.5,
        "out_weight": 2.0,
        "damping": 0.85,
        "run_id": "run-1",
    },
}


def _keys(table: str, r: int) -> dict:
    """Per-row values that keep keys unique and references valid (r is 1-based)."""
    nxt = f"a{r % N + 1}"
    return {
        "accounts": {"account_id": f"a{r}"},
        "follows": {"src_id": f"a{r}", "dst_id": nxt},
        "posts": {"post_id": f"p{r}"},
        "interactions": {"event_id": f"e{r}", "actor_id": f"a{r}", "target_id": nxt},
        "account_scores": {"account_id": f"a{r}", "rank": r},
        "topic_scores": {"account_id": f"a{r}", "rank_in_topic": r},
        "score_contributors": {"contributor_id": f"a{r}", "contributor_rank": r},
        "graph_edges": {"src": f"a{r}", "dst": nxt},
        "graph_vertices": {"id": f"a{r}"},
    }[table]


def make(table: str, overrides: dict[int, dict] | None = None, n: int = N) -> pd.DataFrame:
    """N rows of the base row, with ``overrides`` by 1-based row; input tables get lineage."""
    overrides = overrides or {}
    rows = []
    for r in range(1, n + 1):
        row = {**BASE[table], **_keys(table, r), **overrides.get(r, {})}
        if table_def(table).kind == "input":
            row |= {"_source_file": f"{table}.parquet", "_source_row": r}
        rows.append(row)
    return pd.DataFrame(rows)


def day_tables(**overrides: dict[int, dict]) -> dict[str, pd.DataFrame]:
    return {t: make(t, overrides.get(t)) for t in ("accounts", "follows", "posts", "interactions")}


def check_day(tables, tmp_path=None):
    return validate_input_day(tables, DAY, "mastodon", tmp_path)


# --- input day -------------------------------------------------------------------


def test_clean_day_passes_and_saves_results(tmp_path):
    result = check_day(day_tables(), tmp_path)
    assert result.success, result.message()
    assert result.failures == [] and result.warnings == []
    assert result.results_path == str(tmp_path / "input-mastodon.json")
    saved = json.loads((tmp_path / "input-mastodon.json").read_text())
    assert saved["success"] is True
    assert set(saved["validation_results"]) == {"accounts", "follows", "posts", "interactions"}
    raise_for(result)  # does not raise


@pytest.mark.parametrize(
    ("table", "override", "column", "rule", "expectation"),
    [
        ("interactions", {"actor_id": None}, "actor_id", "must not be null", "expect_column_values_to_not_be_null"),
        ("interactions", {"kind": "poke"}, "kind", "must be one of", "expect_column_values_to_be_in_set"),
        (
            "interactions",
            {"created_at": pd.Timestamp("2026-11-21T00:00:00Z")},
            "created_at",
            "must fall within the snapshot day",
            "expect_column_values_to_be_between",
        ),
        (
            "posts",
            {"created_at": pd.Timestamp("2026-11-19T23:59:59Z")},
            "created_at",
            "must fall within the snapshot day",
            "expect_column_values_to_be_between",
        ),
        (
            "interactions",
            {"target_id": "ghost"},
            "target_id",
            "must reference an account",
            "expect_column_values_to_be_null",
        ),
        ("follows", {"dst_id": "ghost"}, "dst_id", "must reference an account", "expect_column_values_to_be_null"),
        ("posts", {"author_id": "ghost"}, "author_id", "must reference an account", "expect_column_values_to_be_null"),
        (
            "interactions",
            {"event_id": "e3"},
            "event_id",
            "primary key event_id must be unique",
            "expect_column_values_to_be_unique",
        ),
        (
            "follows",
            {"src_id": "a3", "dst_id": "a4"},
            "src_id,dst_id",
            "primary key (src_id, dst_id) must be unique",
            "expect_compound_columns_to_be_unique",
        ),
        ("accounts", {"account_type": "alien"}, "account_type", "must be one of", "expect_column_values_to_be_in_set"),
    ],
)
def test_bad_row_fails_naming_table_column_rule_file_and_row(table, override, column, rule, expectation, tmp_path):
    result = check_day(day_tables(**{table: {7: override}}), tmp_path)
    assert not result.success
    [failure] = result.failures
    assert (failure["table"], failure["column"], failure["expectation"]) == (table, column, expectation)
    assert failure["severity"] == "fail" and rule in failure["rule"]
    assert failure["file"] == f"{table}.parquet"
    assert 7 in [s["_source_row"] for s in failure["sample"]]
    msg = result.message()
    assert msg.startswith(f"input: {table}.{column}: {rule}")
    assert f"({expectation})" in msg and f"file {table}.parquet row 7" in msg
    with pytest.raises(QualityError, match=f"{table}.parquet row 7"):
        raise_for(result)
    saved = json.loads((tmp_path / "input-mastodon.json").read_text())
    assert saved["success"] is False and saved["failures"][0]["column"] == column


def test_null_actor_message_names_value_and_count():
    result = check_day(day_tables(interactions={7: {"actor_id": None}}))
    assert result.message() == (
        "input: interactions.actor_id: must not be null (expect_column_values_to_not_be_null)"
        " failed for 1 row, e.g. file interactions.parquet row 7 value None"
    )
    assert result.failures[0]["unexpected_count"] == 1


def test_dangling_reference_sample_shows_the_missing_id():
    result = check_day(day_tables(interactions={7: {"target_id": "ghost"}}))
    [failure] = result.failures
    assert failure["sample"] == [{"target_id": "ghost", "_source_file": "interactions.parquet", "_source_row": 7}]
    assert "value ghost" in result.message()


def test_duplicate_event_names_both_rows():
    result = check_day(day_tables(interactions={7: {"event_id": "e3"}}))
    [failure] = result.failures
    assert failure["unexpected_count"] == 2
    assert sorted(s["_source_row"] for s in failure["sample"]) == [3, 7]


def test_missing_column_fails_once():
    tables = day_tables()
    tables["interactions"] = tables["interactions"].drop(columns=["kind"])
    result = check_day(tables)
    [failure] = result.failures  # the kind rules are skipped, not errors
    assert failure["expectation"] == "expect_table_columns_to_match_set"
    assert failure["column"] == "kind"
    assert "input: interactions.kind: every schema column must be present" in result.message()


@pytest.mark.parametrize("table", ["interactions", "accounts"])
def test_empty_table_fails(table):
    tables = day_tables()
    tables[table] = tables[table].iloc[0:0]
    if table == "accounts":  # every reference now dangles; only the empty table matters here
        tables = {
            "accounts": tables["accounts"],
            "posts": tables["posts"].iloc[0:0],
            "interactions": tables["interactions"].iloc[0:0],
        }
    result = check_day(tables)
    assert not result.success
    assert any(
        f["table"] == table and f["expectation"] == "expect_table_row_count_to_be_between" for f in result.failures
    )
    assert f"input: {table}: must have at least one row" in result.message()


def test_empty_posts_and_absent_follows_pass():
    tables = day_tables()
    tables["posts"] = tables["posts"].iloc[0:0]
    del tables["follows"]
    result = check_day(tables)
    assert result.success, result.message()


def test_absent_required_table_fails():
    tables = day_tables()
    del tables["posts"]
    result = check_day(tables)
    assert not result.success
    assert [f["expectation"] for f in result.failures] == ["table_present"]
    assert "input: posts: required table must be present" in result.message()


def test_warning_does_not_fail_the_suite():
    result = check_day(day_tables(accounts={7: {"created_at": pd.Timestamp("2026-11-22T00:00:00Z")}}))
    assert result.success
    [warning] = result.warnings
    assert (warning["table"], warning["column"], warning["severity"]) == ("accounts", "created_at", "warn")
    assert "file accounts.parquet row 7" in result.message() and "[warn]" in result.message()
    raise_for(result)  # does not raise


def test_clean_day_after_a_bad_one_passes():
    # GE caches metrics per batch id; the same asset is validated with new data each time.
    assert not check_day(day_tables(interactions={7: {"kind": "poke"}})).success
    assert check_day(day_tables()).success


def test_unknown_table_is_a_programming_error():
    with pytest.raises(ValueError, match="not input tables"):
        check_day({**day_tables(), "account_scores": make("account_scores")})


def test_rules_follow_the_definition():
    # A value rule added to a table definition becomes an expectation, with no code change.
    t = table_def("interactions")
    extra = Field(name="lang", type="string", nullable=False, allowed=("en", "fr"))
    rules = quality.rules_for(dataclasses.replace(t, fields=t.fields + (extra,)), day=DAY)
    lang = {r.expectation for r in rules if r.column == "lang"}
    assert lang == {"ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeInSet"}
    columns_rule = next(r for r in rules if r.expectation == "ExpectTableColumnsToMatchSet")
    assert "lang" in columns_rule.kwargs["column_set"]


# --- output ------------------------------------------------------------------------


def check_output(frame, tmp_path=None):
    return validate_output({"account_scores": frame}, "mastodon", tmp_path)


def test_clean_output_passes(tmp_path):
    result = check_output(make("account_scores"), tmp_path)
    assert result.success, result.message()
    assert json.loads((tmp_path / "output-mastodon.json").read_text())["success"] is True


@pytest.mark.parametrize(
    ("override", "column", "rule", "expectation"),
    [
        ({"influence": np.nan}, "influence", "must not be null or NaN", "expect_column_values_to_not_be_null"),
        ({"influence": 100.5}, "influence", "must be between 0 and 100", "expect_column_values_to_be_between"),
        ({"responsiveness": 1.2}, "responsiveness", "must be between 0 and 1", "expect_column_values_to_be_between"),
        ({"asks": -1}, "asks", "must be >= 0", "expect_column_values_to_be_between"),
        ({"spam_mass": -0.5}, "spam_mass", "must be between 0 and 1", "expect_column_values_to_be_between"),
        (
            {"responsiveness": np.nan},
            "responsiveness",
            "must not be null or NaN",
            "expect_column_values_to_not_be_null",
        ),
        ({"in_weight": np.inf}, "in_weight", "must be a finite number", "expect_column_values_to_be_null"),
        (
            {"account_id": "a3"},
            "account_id",
            "primary key account_id must be unique",
            "expect_column_values_to_be_unique",
        ),
    ],
)
def test_bad_output_row_fails(override, column, rule, expectation, tmp_path):
    result = check_output(make("account_scores", {7: override}), tmp_path)
    assert not result.success
    [failure] = result.failures
    assert (failure["column"], failure["expectation"]) == (column, expectation)
    assert rule in failure["rule"]
    assert f"output: account_scores.{column}: {rule}" in result.message()
    if column != "account_id":
        assert "account_id a7" in result.message()  # rows are named by primary key
    json.loads((tmp_path / "output-mastodon.json").read_text())  # strict JSON despite NaN/inf


def test_nan_in_nullable_float64_extension_column_fails():
    # pandas' Float64 keeps NaN apart from NA: not null, yet not a number either.
    values, mask = np.zeros(N), np.ones(N, dtype=bool)  # all NA ...
    values[6], mask[6] = np.nan, False  # ... except row 7, a NaN
    frame = make("account_scores")
    frame["influence_change"] = pd.arrays.FloatingArray(values, mask)
    assert not frame["influence_change"].isna().iloc[6]
    result = check_output(frame)
    [failure] = result.failures
    assert failure["column"] == "influence_change" and "finite" in failure["rule"]


def test_pagerank_not_summing_to_one_fails():
    result = check_output(make("account_scores", {7: {"pagerank": 0.09}}))
    [failure] = result.failures
    assert (failure["column"], failure["expectation"]) == ("pagerank", "expect_column_sum_to_be_between")
    assert "output: account_scores.pagerank: must sum to 1" in result.message()
    assert "observed 0.99" in result.message()


def test_pagerank_within_tolerance_passes():
    assert check_output(make("account_scores", {7: {"pagerank": 0.1 + 5e-7}})).success


def test_empty_output_fails():
    result = check_output(make("account_scores").iloc[0:0])
    assert not result.success
    assert "output: account_scores: must have at least one row" in result.message()


def check_outputs(**overrides):
    tables = {
        t: make(t, overrides.get(t))
        for t in ("account_scores", "topic_scores", "score_contributors", "graph_edges", "graph_vertices")
    }
    return validate_output(tables, "mastodon", None)


def test_clean_topic_and_contributor_tables_pass():
    result = check_outputs()
    assert result.success, result.message()


@pytest.mark.parametrize(
    ("table", "override", "column", "rule"),
    [
        ("topic_scores", {"expertise": 120.0}, "expertise", "must be between 0 and 100"),
        ("topic_scores", {"interest": -1.0}, "interest", "must be between 0 and 100"),
        ("topic_scores", {"account_id": "a3"}, "topic,account_id", "primary key (topic, account_id) must be unique"),
        ("topic_scores", {"rank_in_topic": 0}, "rank_in_topic", "must be >= 1"),
        ("topic_scores", {"account_type": "brand"}, "account_type", "must be one of"),
        ("score_contributors", {"share": 1.5}, "share", "must be between 0 and 1"),
        ("score_contributors", {"kinds": None}, "kinds", "must not be null"),
        ("score_contributors", {"contributor_type": "brand"}, "contributor_type", "must be one of"),
        ("score_contributors", {"base_share": 1.5}, "base_share", "must be <= 1"),
        ("graph_edges", {"weight": -0.5}, "weight", "must be >= 0"),
        ("graph_edges", {"src": "a6", "dst": "a7"}, "src,dst", "primary key (src, dst) must be unique"),
        ("graph_edges", {"kinds": None}, "kinds", "must not be null"),
        ("graph_vertices", {"id": "a3"}, "id", "primary key id must be unique"),
        ("graph_vertices", {"damping": 1.5}, "damping", "must be between 0 and 1"),
        ("graph_vertices", {"base": float("inf")}, "base", "must be a finite number"),
    ],
)
def test_bad_topic_or_contributor_row_fails(table, override, column, rule):
    result = check_outputs(**{table: {7: override}})
    assert not result.success
    [failure] = result.failures
    assert failure["table"] == table and failure["column"] == column
    assert rule in failure["rule"], failure["rule"]
    assert f"output: {table}.{column}: {rule}" in result.message()


def test_graph_tables_as_the_audit_out_step_reads_them_pass(tmp_path):
    """graph_edges' topic_factors is a map: read as the output gate reads staged Parquet
    (kindling.pipeline.steps._read_parquet_dir: Arrow-backed), the suite checks the pair."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kindling.pipeline.steps import _read_parquet_dir

    tables = {}
    for t in ("graph_edges", "graph_vertices"):
        rows = make(t).to_dict("records")
        if t == "graph_edges":
            rows[0]["topic_factors"] = [("jazz", 1.0), ("music", 0.6)]
        (tmp_path / t).mkdir()
        pq.write_table(pa.Table.from_pylist(rows, schema=table_def(t).arrow_schema()), tmp_path / t / "part-0.parquet")
        tables[t] = _read_parquet_dir(tmp_path / t)
    assert isinstance(tables["graph_edges"]["topic_factors"].dtype, pd.ArrowDtype)
    result = validate_output({"account_scores": make("account_scores"), **tables}, "mastodon", None)
    assert result.success, result.message()
    tables["graph_vertices"].loc[3, "pagerank"] = 0.5
    result = validate_output({"account_scores": make("account_scores"), **tables}, "mastodon", None)
    assert [(f["table"], f["column"]) for f in result.failures] == [("graph_vertices", "pagerank")]


def test_empty_topic_tables_pass_but_scores_must_not_be_empty():
    """A network with no topic activity publishes empty topic tables; no scores at all is an error."""
    tables = {
        "account_scores": make("account_scores"),
        "topic_scores": make("topic_scores").iloc[0:0],
        "score_contributors": make("score_contributors").iloc[0:0],
    }
    assert validate_output(tables, "mastodon", None).success
