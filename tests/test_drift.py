"""Drift gates of audit-out (PSI of influence, rank stability of the top k) and the run's Data Docs.

No Spark: the previous day is published with ``Lake.publish_partition`` from Parquet written with
pyarrow, today's outputs are staged the same way, and the steps are called directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_quality import day_tables

import schemas
from kindling.cli import main
from kindling.core.settings import load_settings
from kindling.gates import drift
from kindling.gates.quality import QualityError
from kindling.pipeline.steps import (
    StepFailed,
    run_local_step,
    step_audit_in,
    step_audit_out,
    step_publish,
    write_run_row,
)
from kindling.serving import query
from kindling.storage.lake import PUBLISHED_TABLES, Lake

DAY = dt.date(2026, 11, 20)
PREV = DAY - dt.timedelta(days=1)
NET = "mastodon"
N = 200
BASE_INFLUENCE = np.linspace(10.0, 60.0, N)


# --- psi ------------------------------------------------------------------------------------


def test_psi_of_identical_distributions_is_zero():
    assert drift.psi(BASE_INFLUENCE, BASE_INFLUENCE) == 0.0
    assert drift.psi(BASE_INFLUENCE, BASE_INFLUENCE[::-1]) == 0.0  # order does not matter


def test_psi_of_a_shift_matches_a_hand_computation():
    prev = np.arange(100.0)  # deciles 9.9, 19.8, ..., 89.1: ten values in each bin
    cur = prev + 10  # 10..109: the first bin empties, the last holds 20%
    p, c = 0.1, 0.2
    expected = (drift.EPSILON - p) * math.log(drift.EPSILON / p) + (c - p) * math.log(c / p)
    assert drift.psi(prev, cur) == pytest.approx(expected, rel=1e-12)
    assert drift.psi(prev, cur) == pytest.approx(0.7594, abs=1e-4)


def test_repeated_decile_edges_merge_into_one_bin():
    # Half the accounts share the floor score: deciles 1-4 are all 0, so 0 is one edge.
    prev = np.array([0.0] * 50 + list(range(1, 51)), dtype=float)
    edges = drift.decile_edges(prev)
    assert list(edges) == sorted(set(edges)) and edges[0] == 0.0 and len(edges) == 6
    shares = drift.bin_shares(prev, edges)
    assert shares[0] == 0.5 and shares.sum() == pytest.approx(1.0)
    assert drift.psi(prev, prev) == 0.0


def test_a_pile_on_an_edge_moving_less_than_the_resolution_is_not_drift():
    # Half the accounts share the floor score, which moves by a quarter point between two days.
    rest = np.linspace(1.0, 70.0, 500)
    prev, cur = np.r_[np.full(500, 0.92), rest], np.r_[np.full(500, 1.17), rest]
    assert drift.psi(prev, cur) > 5  # plain deciles: the pile left its bin for the next one
    assert drift.psi(prev, cur, resolution=1.0) == 0.0
    edges = drift.decile_edges(prev, resolution=1.0)
    assert edges[0] == pytest.approx(1.92) and np.all(np.diff(edges) >= 1.0)
    # a move of more than the resolution is still seen
    assert drift.psi(prev, np.r_[np.full(500, 3.0), rest], resolution=1.0) > 0.25


def test_empty_bins_give_a_large_finite_psi():
    prev, cur = np.full(100, 5.0), np.full(100, 6.0)  # one edge (5): all of prev left of it, all of cur right
    eps = drift.EPSILON
    expected = (eps - 1) * math.log(eps / 1) + (1 - eps) * math.log(1 / eps)  # shares (1, 0) -> (0, 1)
    assert drift.psi(prev, cur) == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(expected) and expected > 18


def test_psi_ignores_non_finite_values_and_needs_values():
    assert drift.psi([*BASE_INFLUENCE, np.nan, np.inf], BASE_INFLUENCE) == 0.0
    with pytest.raises(ValueError):
        drift.psi([np.nan], BASE_INFLUENCE)


# --- spearman of the top k --------------------------------------------------------------------


def _ranks(ids):
    return pd.DataFrame({"account_id": ids, "rank": range(1, len(ids) + 1)})


def test_spearman_identical_is_one_and_reversed_is_minus_one():
    ids = [f"a{i}" for i in range(20)]
    same = drift.spearman_top_k(_ranks(ids), _ranks(ids), k=10)
    assert same["spearman"] == pytest.approx(1.0) and (same["top"], same["common"], same["left"]) == (10, 10, 0)
    # today's order reversed: the previous top 10 are today's ranks 20..11
    rev = drift.spearman_top_k(_ranks(ids), _ranks(ids[::-1]), k=10)
    assert rev["spearman"] == pytest.approx(-1.0)


def test_spearman_leaves_out_accounts_that_left_and_counts_them():
    ids = [f"a{i}" for i in range(20)]
    today = _ranks([i for i in ids if i not in ("a0", "a3")])  # two of the top 10 are gone
    res = drift.spearman_top_k(_ranks(ids), today, k=10)
    assert (res["common"], res["left"]) == (8, 2)
    assert res["spearman"] == pytest.approx(1.0)  # the stayers kept their order
    swapped = _ranks(["a1", "a0", *ids[2:]])
    assert drift.spearman_top_k(_ranks(ids), swapped, k=10)["spearman"] == pytest.approx(1 - 6 * 2 / (10 * 99))


def test_spearman_is_none_when_too_few_stay():
    ids = [f"a{i}" for i in range(20)]
    res = drift.spearman_top_k(_ranks(ids), _ranks(["a1", "a2", *[f"b{i}" for i in range(18)]]), k=10)
    assert (res["spearman"], res["common"], res["left"]) == (None, 2, 8)
    result = drift.check(
        _scores(BASE_INFLUENCE[:20]).assign(account_id=[f"b{i}" for i in range(20)]),
        _scores(BASE_INFLUENCE[:20]),
        PREV,
        psi_warn=0.1,
        psi_fail=0.25,
        spearman_warn=0.5,
        top_k=10,
    )
    assert result["spearman"]["status"] == "warn"
    (finding,) = drift.findings(result, DAY, "r1")
    assert "not computable" in finding["rule"] and "10 left" in finding["rule"]


def test_the_gates_read_columns_of_account_scores():
    names = schemas.table("account_scores").column_names
    assert {drift.ID, drift.SCORE, drift.RANK} <= set(names)


# --- the step, on a lake --------------------------------------------------------------------


def _scores(influence, ids=None, run_id="r") -> pd.DataFrame:
    """account_scores rows that pass the output suite; rank follows influence (highest first)."""
    influence = np.asarray(influence, dtype=float)
    n = len(influence)
    ids = ids if ids is not None else [f"a{i:04d}" for i in range(n)]
    pr = 2 ** (influence / 10)
    order = np.argsort(-influence, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    return pd.DataFrame(
        {
            "account_id": ids,
            "handle": [f"h_{i}" for i in ids],
            "account_type": "person",
            "pagerank": pr / pr.sum(),
            "influence": influence,
            "rank": rank,
            "percentile": 100.0 * (n - rank) / n,
            "in_weight": 1.0,
            "out_weight": 1.0,
            "influence_change": None,
            "trust_rank": None,
            "spam_mass": None,
            "spam_flag": False,
            "ring_id": None,
            "ring_flag": False,
            "responsiveness": 0.25,
            "asks": 0,
            "answered": 0,
            "answer_hours_median": None,
            "run_id": run_id,
        }
    )


def _write(folder, table, df=None):
    folder.mkdir(parents=True, exist_ok=True)
    schema = schemas.table(table).arrow_schema()
    t = pa.Table.from_pandas(df, schema=schema, preserve_index=False) if df is not None else schema.empty_table()
    pq.write_table(t, folder / "part-0.parquet")


def _vertices(scores: pd.DataFrame) -> pd.DataFrame:
    """graph_vertices of ``scores`` with no edges: every account's score is all base."""
    return pd.DataFrame(
        {
            "id": scores["account_id"],
            "handle": scores["handle"],
            "pagerank": scores["pagerank"],
            "influence": scores["influence"],
            "in_flow": 0.0,
            "base": scores["pagerank"],
            "base_share": 1.0,
            "out_weight": 0.0,
            "damping": 0.85,
            "run_id": scores["run_id"],
        }
    )


def _stage(lake: Lake, run_id: str, scores: pd.DataFrame, day=DAY, network=NET):
    for table in PUBLISHED_TABLES:
        rows = {"account_scores": scores, "graph_vertices": _vertices(scores)}.get(table)
        _write(lake.staged(run_id, table, day, network), table, rows)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no kindling.toml
    root = tmp_path / "lake"
    (root / "raw" / f"network={NET}" / f"dt={DAY}").mkdir(parents=True)
    return load_settings(env={}, lake=str(root))


def _publish_previous(settings, scores=None):
    lake = Lake(settings.lake)
    _stage(lake, "prev-run", _scores(BASE_INFLUENCE) if scores is None else scores, day=PREV)
    for table in PUBLISHED_TABLES:
        lake.publish_partition(table, PREV, lake.staged("prev-run", table, PREV), "prev-run")


def _published_bytes(settings) -> dict:
    tables = Lake(settings.lake).tables
    return {
        str(p.relative_to(tables)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(tables.rglob("*.parquet"))
        if "runs" not in p.parts
    }


def _drift_state(settings, run_id):
    state = Lake(settings.lake).run_dir(run_id) / "state" / "quality-out.json"
    return json.loads(state.read_text())[NET]


def test_small_shift_passes_with_both_values_recorded(settings):
    _publish_previous(settings)
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE + 1))
    out = step_audit_out(settings, DAY, "r1")
    summary = out[NET]
    assert summary["success"] and summary["failed"] == [] and summary["warnings"] == []
    d = summary["drift"]
    assert (d["status"], d["previous_dt"]) == ("ok", PREV.isoformat())
    assert 0 < d["psi"]["value"] < 0.1 and d["spearman"]["spearman"] == pytest.approx(1.0)
    assert d["spearman"]["top"] == N  # fewer than drift_top_k accounts: all of them
    saved = json.loads((Lake(settings.lake).run_dir("r1") / "quality" / f"output-{NET}.json").read_text())
    assert saved["drift"] == d and saved["success"] is True


def test_moderate_shift_warns_and_publishes(settings):
    _publish_previous(settings)
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE + 4))
    out = step_audit_out(settings, DAY, "r1")
    summary = out[NET]
    assert summary["success"] and summary["failed"] == []
    (warning,) = summary["warnings"]
    assert re.search(r"PSI of influence against dt=2026-11-19 is 0\.1\d+ > drift_psi_warn 0\.1", warning), warning
    (Lake(settings.lake).run_dir("r1") / "state" / "quality-in.json").write_text(json.dumps({NET: {"success": True}}))
    step_publish(settings, DAY, "r1")
    assert DAY in Lake(settings.lake).published_dates("account_scores")
    rows = query.runs(settings.lake, date=DAY.isoformat())
    assert rows[0]["status"] == "published" and rows[0]["warnings"] == [f"out:{NET}:{warning}"]


def test_large_shift_fails_names_network_and_psi_and_publishes_nothing(settings):
    _publish_previous(settings)
    before = _published_bytes(settings)
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE + 8))
    with pytest.raises(QualityError) as err:
        run_local_step(settings, "audit-out", DAY, "r1")
    msg = str(err.value)
    assert f"network={NET}" in msg
    assert re.search(r"PSI of influence against dt=2026-11-19 is 1\.04\d+ > drift_psi_fail 0\.25", msg), msg
    assert "KINDLING_DRIFT_PSI_FAIL=1.05 kindling step audit-out --date 2026-11-20 --run-id r1" in msg
    assert _drift_state(settings, "r1")["drift"]["status"] == "fail"
    with pytest.raises(StepFailed, match="quality-"):
        step_publish(settings, DAY, "r1")
    assert Lake(settings.lake).published_dates("account_scores") == [PREV]
    assert _published_bytes(settings) == before
    (row,) = query.runs(settings.lake, date=DAY.isoformat())
    assert (row["status"], row["failed_step"]) == ("failed", "audit-out")
    assert row["failed_checks"] == [
        f"out:{NET}:account_scores.influence: PSI of influence against dt=2026-11-19 "
        f"is {_drift_state(settings, 'r1')['drift']['psi']['value']:.4f} "
        "> drift_psi_fail 0.25"
    ]


def test_the_hint_accepts_the_shift_for_one_rerun(settings):
    _publish_previous(settings)
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE + 8))
    with pytest.raises(QualityError):
        step_audit_out(settings, DAY, "r1")
    summary = step_audit_out(settings.replace(drift_psi_fail=1.05), DAY, "r1")[NET]
    assert summary["success"] and summary["drift"]["status"] == "warn"
    assert any("> drift_psi_warn 0.1" in w for w in summary["warnings"])


def test_reordered_top_warns_on_rank_stability_only(settings):
    _publish_previous(settings)
    # the same scores, handed to other accounts: the distribution is identical, the order reversed
    today = _scores(BASE_INFLUENCE, ids=[f"a{i:04d}" for i in range(N)][::-1])
    _stage(Lake(settings.lake), "r1", today)
    summary = step_audit_out(settings.replace(drift_top_k=50), DAY, "r1")[NET]
    assert summary["success"]
    d = summary["drift"]
    assert d["psi"]["value"] == 0.0 and d["psi"]["status"] == "ok"
    # the previous top 50 (ranks 1..50) are today's ranks 200..151
    assert d["spearman"]["spearman"] == pytest.approx(-1.0) and d["spearman"]["status"] == "warn"
    (warning,) = summary["warnings"]
    assert warning.startswith("account_scores.rank: Spearman of the top 50 ranks against dt=2026-11-19 is")
    assert "< drift_spearman_warn 0.5" in warning


def test_no_previous_day_skips_the_gates(settings):
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE + 30))
    summary = step_audit_out(settings, DAY, "r1")[NET]
    assert summary["success"] and summary["warnings"] == []
    assert summary["drift"] == {"status": "skipped", "reason": "no previous published day for this network"}


def test_a_previous_day_of_another_network_is_not_compared(settings):
    lake = Lake(settings.lake)
    _stage(lake, "prev-run", _scores(BASE_INFLUENCE), day=PREV, network="other")
    for table in PUBLISHED_TABLES:
        lake.publish_partition(table, PREV, lake.staged("prev-run", table, PREV), "prev-run")
    _stage(lake, "r1", _scores(BASE_INFLUENCE + 30))
    assert step_audit_out(settings, DAY, "r1")[NET]["drift"]["status"] == "skipped"


# --- Data Docs ------------------------------------------------------------------------------------


def _conform(settings, tables, run_id="r1"):
    """The day as conform leaves it for audit-in: in the run's staging."""
    lake = Lake(settings.lake)
    for name, df in tables.items():
        folder = lake.staged_input(run_id, name, NET, DAY)
        folder.mkdir(parents=True, exist_ok=True)
        df.to_parquet(folder / "part-0.parquet", index=False)


def _text(path) -> str:
    h = re.sub(r"(?s)<style.*?</style>|<script.*?</script>", "", path.read_text())
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", h))


def test_data_docs_site_links_every_suite_page_and_the_runs_row_points_at_it(settings, capsys):
    _publish_previous(settings)
    _conform(settings, day_tables())
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE + 4))
    step_audit_in(settings, DAY, "r1")
    step_audit_out(settings, DAY, "r1")
    docs = Lake(settings.lake).data_docs("r1")
    index = docs / "index.html"
    links = re.findall(r"href='([^']+)'", index.read_text())
    pages = [docs / link for link in links if link.startswith("validations/")]
    suites = {p.relative_to(docs / "validations").parts[:2] for p in pages}
    assert suites == {("input", t) for t in schemas.INPUT_TABLES} | {("output", t) for t in PUBLISHED_TABLES}
    assert all(p.is_file() and p.name == f"{NET}.html" for p in pages)
    assert all((docs / link).is_file() for link in links)  # suite pages too
    interactions = _text(next(p for p in pages if "interactions" in p.parts))
    assert "Expectation Suite: input.interactions" in interactions and "Run Name r1" in interactions
    assert "values must belong to this set: reply quote repost mention like" in interactions
    assert "values must be unique" in interactions
    scores = _text(next(p for p in pages if p.parts[-5:-3] == ("output", "account_scores")))
    assert "values must be greater than or equal to 0.0 and less than or equal to 100.0" in scores
    home = re.search(r'<a href="([^"]+index\.html)">', next(iter(pages)).read_text()).group(1)
    assert (next(iter(pages)).parent / home).resolve() == index.resolve()  # GE's "Home" link works
    assert "drift" in _text(index) and "PSI of influence" in _text(index)

    write_run_row(settings, DAY, "r1", status="published")
    rc = main(["query", "runs", "--date", DAY.isoformat(), "--format", "json"])
    (row,) = json.loads(capsys.readouterr().out)
    assert rc == 0 and row["data_docs_path"] == "_runs/r1/data_docs/index.html"
    assert (Lake(settings.lake).root / row["data_docs_path"]).resolve() == index.resolve()
    main(["query", "runs", "--date", DAY.isoformat(), "--format", "csv"])
    assert "_runs/r1/data_docs/index.html" in capsys.readouterr().out
    main(["query", "runs", "--date", DAY.isoformat()])
    assert "    data docs: _runs/r1/data_docs/index.html" in capsys.readouterr().out.splitlines()


def test_a_failed_input_gate_still_gets_its_data_docs(settings):
    _conform(settings, day_tables(interactions={3: {"kind": "poke"}}))
    with pytest.raises(QualityError):
        step_audit_in(settings, DAY, "r1")
    index = Lake(settings.lake).data_docs("r1") / "index.html"
    assert re.search(r"interactions</a></td><td class='failed'>failed", index.read_text())
    page = next((Lake(settings.lake).data_docs("r1") / "validations" / "input" / "interactions").rglob("*.html"))
    assert "poke" in _text(page)


def test_a_rendering_error_is_a_warning_and_never_hides_the_gate(settings, monkeypatch):
    from kindling.gates import data_docs

    def broken(*a, **k):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(data_docs, "write_pages", broken)
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE))
    summary = step_audit_out(settings, DAY, "r1")[NET]
    assert summary["success"]
    assert summary["warnings"] == ["data docs: rendering failed: RuntimeError: renderer exploded"]
    assert not (Lake(settings.lake).data_docs("r1") / "index.html").exists()
    write_run_row(settings, DAY, "r1", status="failed", failed_step="publish")
    (row,) = query.runs(settings.lake, date=DAY.isoformat())
    assert row["data_docs_path"] is None


def test_runs_files_without_data_docs_path_still_read(settings, capsys):
    old = schemas.table("runs").arrow_schema()
    old = old.remove(old.get_field_index("data_docs_path"))
    folder = Lake(settings.lake).table("runs") / f"dt={PREV}"
    folder.mkdir(parents=True)
    t0 = dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC)
    pq.write_table(
        pa.Table.from_pylist(
            [
                {
                    "run_id": "old",
                    "networks": [NET],
                    "status": "published",
                    "quality_results_path": "_runs/old/quality",
                    "started_at": t0,
                    "finished_at": t0 + dt.timedelta(seconds=5),
                    "timings": "{}",
                }
            ],
            schema=old,
        ),
        folder / "old-published.parquet",
    )
    _stage(Lake(settings.lake), "r1", _scores(BASE_INFLUENCE))
    step_audit_out(settings, DAY, "r1")
    write_run_row(settings, DAY, "r1", status="published")
    rows = query.runs(settings.lake)
    assert [(r["run_id"], r["data_docs_path"]) for r in rows] == [
        ("r1", "_runs/r1/data_docs/index.html"),
        ("old", None),
    ]
    got = query.sql(settings.lake, "SELECT run_id, data_docs_path FROM runs ORDER BY run_id")
    assert got == [
        {"run_id": "old", "data_docs_path": None},
        {"run_id": "r1", "data_docs_path": "_runs/r1/data_docs/index.html"},
    ]


def test_data_docs_render_numpy_observed_values_without_errors(tmp_path, caplog):
    """GE's renderer formats repr(value); NumPy 2 spells it np.float64(...), and the cell failed
    (seen for the PageRank sum). The page must render the observed value, with nothing logged."""
    import datetime as dt

    from kindling.gates import quality
    from kindling.gates.data_docs import write_pages

    res = quality.validate_output({"account_scores": _scores(BASE_INFLUENCE)}, NET, tmp_path / "q")
    entry = write_pages(tmp_path / "docs", res, NET, "r1", dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    assert "num_to_str" not in caplog.text and "invalid value" not in caplog.text
    page = _text(tmp_path / "docs" / entry["pages"][0]["page"])
    assert "sum" in page.lower() and "np.float64" not in page
