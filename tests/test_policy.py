"""The day-level rules of ``kindling.gates.policy`` and the PSI gate know their sample size.

Pure functions on small pandas frames (no Spark, no lake): each rule is shown both ways, a small
day that is merely small passes (a warning at most), a small day that is genuinely broken fails,
and a big day fails as soon as it is measurably over the limit.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kindling.core.settings import load_settings
from kindling.gates import drift, policy
from kindling.ingest.source import manifest_rows
from kindling.storage.lake import Lake

DAY = dt.date(2026, 11, 20)


def _interactions(n: int, self_loops: int) -> pd.DataFrame:
    actors = [f"a{i}" for i in range(n)]
    targets = [a if i < self_loops else f"b{i}" for i, a in enumerate(actors)]
    return pd.DataFrame(
        {
            "actor_id": actors,
            "target_id": targets,
            "_source_file": "raw/x/interactions.parquet",
            "_source_row": np.arange(1, n + 1),
        }
    )


def _quarantine(table: str, n: int, reason: str = "malformed line") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input_table": table,
            "reason": reason,
            "source_file": "raw/x/posts.jsonl",
            "source_row": np.arange(1, n + 1),
            "column": None,
            "value": "x",
        }
    )


# --- the tests themselves -------------------------------------------------------------------


def test_share_p_value_is_the_binomial_tail_at_the_limit():
    assert policy.share_p_value(2, 19, 0.05) == pytest.approx(stats.binom.sf(1, 19, 0.05))
    assert policy.share_p_value(0, 19, 0.05) == 1.0
    # more of the same share on a bigger day is stronger evidence
    assert (
        policy.share_p_value(20, 100, 0.1)
        > policy.share_p_value(200, 1000, 0.1)
        > policy.share_p_value(2000, 10000, 0.1)
    )


def test_volume_p_value_widens_with_a_bursty_history():
    steady, bursty = [12] * 7, [4, 20, 8, 15, 30, 12, 6]
    assert policy.volume_p_value(30, 4, 36, steady) == 1.0  # inside the band
    assert policy.volume_p_value(60, 4, 36, steady) < 0.001
    assert policy.volume_p_value(60, 4, 36, bursty) > 0.01  # dispersion about 3.6: a burst like the history's
    assert policy.volume_p_value(6280, 628 / 3, 1884, [628] * 7) < 1e-30
    assert policy.volume_p_value(62, 628 / 3, 1884, [628] * 7) < 1e-30


# --- self-interactions ----------------------------------------------------------------------


def test_a_small_day_with_a_few_self_interactions_passes_and_counts_them():
    """The SNAP Q&A day of the issue: 2 of 19 interactions are people answering themselves."""
    findings, notes = policy.check_self_interactions(_interactions(19, 2), 0.5)
    assert findings == []
    assert notes == [
        "interactions: 2 of 19 (10.53%) are self-interactions, carrying no credit (self_interaction_max_share 50.00%)"
    ]
    # the same under the old 5% limit: over it, but 2 of 19 is no evidence of a broken feed
    (found,), _ = policy.check_self_interactions(_interactions(19, 2), 0.05)
    assert found["severity"] == "warn" and "not significant" in found["rule"]


def test_self_interactions_that_dominate_a_day_fail_it():
    (found,), _ = policy.check_self_interactions(_interactions(19, 17), 0.5)
    assert found["severity"] == "fail" and found["expectation"] == "self_interaction_share"
    assert (
        "17 of 19 interactions (89.47%) are self-interactions, above self_interaction_max_share 50.00%" in found["rule"]
    )
    assert "significant: p = 0.00036" in found["rule"]
    assert [s["_source_row"] for s in found["sample"]] == [1, 2, 3, 4, 5]
    (found,), _ = policy.check_self_interactions(_interactions(19, 12), 0.5)  # 63%: over, but not significant
    assert found["severity"] == "warn"
    (found,), _ = policy.check_self_interactions(_interactions(10_000, 5_200), 0.5)  # 52% of 10,000: measurable
    assert found["severity"] == "fail"


# --- quarantined share ----------------------------------------------------------------------


def test_a_few_quarantined_rows_of_a_small_table_warn_and_a_broken_small_table_fails():
    (warned,) = policy.check_quarantine({"posts": 17}, _quarantine("posts", 2), 0.01)
    assert warned["severity"] == "warn"
    assert warned["rule"].startswith(
        "2 of 19 rows (10.53%) were quarantined, above quarantine_max_share 1.00% (malformed line 2); not significant"
    )
    (failed,) = policy.check_quarantine({"posts": 16}, _quarantine("posts", 3), 0.01)
    assert failed["severity"] == "fail" and "significant: p = 0.00086" in failed["rule"]
    (broken,) = policy.check_quarantine({"interactions": 2}, _quarantine("interactions", 17, "unknown kind"), 0.01)
    assert broken["severity"] == "fail" and "unknown kind 17" in broken["rule"]


def test_a_big_table_fails_as_soon_as_it_is_measurably_over_the_limit():
    assert policy.check_quarantine({"posts": 1_000_000 - 10_000}, _quarantine("posts", 10_000), 0.01) == []
    (failed,) = policy.check_quarantine({"posts": 1_000_000 - 10_500}, _quarantine("posts", 10_500), 0.01)
    assert failed["severity"] == "fail"  # 1.05% of a million rows: p = 3e-7


def test_a_cascaded_row_is_not_counted_in_the_share():
    q = pd.concat([_quarantine("posts", 2), _quarantine("posts", 30, policy.CASCADED_REASON)])
    (found,) = policy.check_quarantine({"posts": 50}, q, 0.01)
    assert found["unexpected_count"] == 2 and "and 30 naming a quarantined account, not counted" in found["rule"]


# --- volume ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "n", "severity"),
    [
        ([12] * 7, 40, None),  # 3.3 times the median, on a few dozen rows: a warning
        ([12] * 7, 80, "fail"),
        ([4, 20, 8, 15, 30, 12, 6], 80, None),  # the same day after a bursty week: a warning
        ([628] * 7, 6280, "fail"),
        ([628] * 7, 62, "fail"),
    ],
)
def test_the_volume_band_needs_significance(monkeypatch, history, n, severity):
    monkeypatch.setattr(
        policy, "published_history", lambda lake, network, day: {"interactions": history, "accounts": [100] * 7}
    )
    findings, notes = policy.check_volume(None, "net", DAY, {"interactions": n, "accounts": 100}, 3.0, 3)
    (found,) = findings
    assert found["expectation"] == "volume_band" and found["table"] == "interactions"
    assert found["severity"] == (severity or "warn")
    assert ("KINDLING_VOLUME_BAND raised" in found["rule"]) == (severity == "fail")
    assert notes == ["accounts: 100 rows, trailing median 100 over 7 day(s)"]


def test_audit_network_returns_warnings_apart_from_failures(monkeypatch, tmp_path):
    monkeypatch.setattr(policy, "published_history", lambda lake, network, day: {})
    settings = load_settings(env={})
    tables = {"interactions": _interactions(19, 2), "posts": pd.DataFrame({"post_id": range(17)})}
    findings, notes = policy.audit_network(settings, Lake(tmp_path), "net", DAY, tables, _quarantine("posts", 2))
    assert [f["severity"] for f in findings] == ["warn"]
    assert any("2 of 19 (10.53%) are self-interactions" in n for n in notes)
    strict = settings.replace(gate_alpha=0.5)  # a lax test: the same day now fails on both counts
    findings, _ = policy.audit_network(strict, Lake(tmp_path), "net", DAY, tables, _quarantine("posts", 2))
    assert [f["severity"] for f in findings] == ["fail"]


def test_gate_alpha_is_validated():
    with pytest.raises(ValueError, match="gate_alpha must be between 0 and 1"):
        load_settings(env={"KINDLING_GATE_ALPHA": "0"})


# --- PSI ------------------------------------------------------------------------------------


def test_psi_p_value_is_the_two_sample_chi_squared_tail():
    assert drift.psi_p_value(0.28, 200, 200, 10) == pytest.approx(stats.chi2.sf(28.0, 9))
    assert drift.psi_p_value(1.0, 20, 20, 10) > 0.001 > drift.psi_p_value(1.0, 200, 200, 10)


def test_a_large_psi_on_a_small_network_warns_and_on_a_big_one_fails():
    def scores(values):
        values = np.asarray(values, dtype=float)
        return pd.DataFrame(
            {
                "account_id": [f"a{i}" for i in range(len(values))],
                "influence": values,
                "rank": pd.Series(-values).rank(method="first").astype(int).to_numpy(),
            }
        )

    kw = dict(psi_warn=0.1, psi_fail=0.25, spearman_warn=0.5, top_k=1000)
    small = drift.check(scores(np.linspace(10, 60, 20) + 8), scores(np.linspace(10, 60, 20)), DAY, **kw)
    assert small["psi"]["value"] > 0.25 and small["psi"]["p_value"] > 0.001
    assert small["status"] == "warn"
    (finding,) = [f for f in drift.findings(small, DAY, "r") if f["expectation"] == "drift_psi"]
    assert finding["severity"] == "warn"
    assert "> drift_psi_fail 0.25, not significant on 20 and 20 accounts" in finding["rule"]
    big = drift.check(scores(np.linspace(10, 60, 2000) + 8), scores(np.linspace(10, 60, 2000)), DAY, **kw)
    assert big["status"] == "fail" and big["psi"]["p_value"] < 1e-10


# --- a delivery's manifest ------------------------------------------------------------------


def test_a_manifest_that_accounts_for_every_row_turns_a_volume_failure_into_a_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(policy, "published_history", lambda lake, network, day: {"interactions": [40] * 7})
    marker = Lake(tmp_path).raw("net", DAY) / "_SUCCESS"
    marker.parent.mkdir(parents=True)
    tables = {"interactions": _interactions(1, 0)}
    none = pd.DataFrame(columns=["input_table", "reason"])
    settings = load_settings(env={})
    for content in (b"", b"not json", b'{"rows": {"interactions": 2}}'):  # no manifest, or one that disagrees
        marker.write_bytes(content)
        findings, notes = policy.audit_network(settings, Lake(tmp_path), "net", DAY, tables, none)
        assert [(f["expectation"], f["severity"]) for f in findings] == [("volume_band", "fail")], content
    assert "interactions: the delivery's manifest promises 2 rows, 1 were read" in notes
    marker.write_bytes(b'{"producer": "x", "rows": {"interactions": 1, "posts": 0}}')
    assert manifest_rows(marker) == {"interactions": 1, "posts": 0}
    (found,), _ = policy.audit_network(settings, Lake(tmp_path), "net", DAY, tables, none)
    assert found["severity"] == "warn" and "the delivery's manifest accounts for every row" in found["rule"]


def test_a_large_psi_while_the_window_fills_warns():
    prev = dt.date(2026, 11, 19)
    assert drift.window_filling((28, 28), (28, 28), prev) is None
    assert drift.window_filling(None, None, prev) is None  # unknown windows count as full
    assert drift.window_filling((9, 28), (28, 28), prev) == "this run's window holds 9 of its 28 days (still filling)"
    assert (
        drift.window_filling((28, 28), (7, 28), prev) == "dt=2026-11-19's window holds 7 of its 28 days (still filling)"
    )

    values = np.linspace(10, 60, 2000)
    scores = pd.DataFrame({"account_id": [f"a{i}" for i in range(2000)], "rank": np.arange(2000, 0, -1)})
    kw = dict(psi_warn=0.1, psi_fail=0.25, spearman_warn=0.5, top_k=1000)
    full = drift.check(scores.assign(influence=values + 8), scores.assign(influence=values), prev, **kw)
    filling = drift.check(
        scores.assign(influence=values + 8),
        scores.assign(influence=values),
        prev,
        **kw,
        filling=drift.window_filling((9, 28), (8, 28), prev),
    )
    assert full["status"] == "fail" and filling["psi"]["status"] == "warn"
    (finding,) = [f for f in drift.findings(filling, DAY, "r") if f["expectation"] == "drift_psi"]
    assert finding["rule"].endswith(
        "> drift_psi_fail 0.25, but this run's window holds 9 of its 28 days (still filling): warned, not failed"
    )
