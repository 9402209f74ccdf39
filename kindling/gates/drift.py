"""Drift gates: today's staged scores against the previous published day of the same network.

Part of ``audit-out`` (:func:`kindling.pipeline.steps.step_audit_out`), after the Great Expectations
suite and before ``publish``. Two checks per network:

- **Score distribution**: population stability index (PSI) of ``account_scores.influence``.
  The 0-100 influence score is used rather than ``pagerank`` because PageRank sums to 1 per
  network, so every account's PageRank falls when the network grows: PSI on PageRank would
  report plain growth as drift. Influence is normalised by the network's size (20 is the
  average account on any day) and is the score readers see.
- **Rank stability**: Spearman correlation between the previous and the current ranks of the
  accounts in the previous day's top k that are still scored today.

The functions here are pure (pandas/numpy in, plain dicts out); reading the previous
partition is :func:`previous_scores`, with pyarrow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from kindling.gates.policy import newest_published_run
from kindling.storage.lake import Lake

TABLE = "account_scores"
ID, SCORE, RANK = "account_id", "influence", "rank"
"""Columns of ``account_scores`` (schemas/tables/account_scores.yaml) the gates read."""

BINS = 10
"""PSI bins: the deciles of the previous day's scores."""

RESOLUTION = 1.0
"""Influence points (a 7% change of PageRank) below which a move is not drift: every decile
edge is raised by this much and edges closer than this are merged (see :func:`decile_edges`)."""

EPSILON = 1e-4
"""A bin's share is taken as at least this, so an empty bin adds a large but finite term
(ln(share / 1e-4)) instead of an infinite one. Shares are not renormalised afterwards."""

MIN_COMMON = 3
"""Spearman needs at least this many accounts of the previous top k present today."""

OK, WARN, FAIL, SKIPPED = "ok", "warn", "fail", "skipped"


def decile_edges(previous: np.ndarray, bins: int = BINS, resolution: float = 0.0) -> np.ndarray:
    """Inner bin edges: the previous day's quantiles 1/bins .. (bins-1)/bins, repeated edges dropped.

    Scores pile up on a few values (every account without credit gets the same floor score, and
    influence is clamped to 0-100), so several deciles can be equal: the edge is kept once,
    which merges those deciles into one bin holding the whole pile. Bins are right-closed,
    ``(e[i-1], e[i]]``, with open ends, so today's values outside yesterday's range still fall
    in a bin.

    A pile sits exactly on its edge, so without ``resolution`` it leaves its bin as soon as it
    moves up at all: seen on generated data, where the floor score of half the accounts moved
    from 0.92 to 1.17 between two days and the PSI was 5. ``resolution`` raises every edge by
    that much and drops an edge closer than that to the one below, so moves smaller than
    ``resolution`` never cross an edge (on those days the PSI is then 0.002).
    """
    qs = np.unique(np.quantile(previous, np.arange(1, bins) / bins)) + resolution
    if resolution <= 0:
        return qs
    kept = [qs[0]]
    for q in qs[1:]:
        if q - kept[-1] >= resolution:
            kept.append(q)
    return np.array(kept)


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each bin of :func:`decile_edges` (len(edges) + 1 bins)."""
    idx = np.searchsorted(edges, values, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def psi(previous, current, bins: int = BINS, epsilon: float = EPSILON, resolution: float = 0.0) -> float:
    """Population stability index of ``current`` against ``previous``.

    PSI = sum over bins of (c - p) * ln(c / p), where p and c are the previous and current shares
    of the bin (:func:`decile_edges`), each at least ``epsilon``. 0 means the same distribution;
    by convention below 0.1 is stable, 0.1-0.25 a moderate shift, above 0.25 a large one.
    Non-finite values are ignored.
    """
    prev = _finite(previous)
    cur = _finite(current)
    if len(prev) == 0 or len(cur) == 0:
        raise ValueError("psi needs at least one finite value on each side")
    edges = decile_edges(prev, bins, resolution)
    p = np.maximum(bin_shares(prev, edges), epsilon)
    c = np.maximum(bin_shares(cur, edges), epsilon)
    return float(np.sum((c - p) * np.log(c / p)))


def psi_p_value(value: float, n_previous: int, n_current: int, bins: int) -> float:
    """How likely a PSI of at least ``value`` is between two samples of one distribution.

    The PSI is the symmetric Kullback-Leibler divergence of the binned shares, and between two
    independent samples of ``n_previous`` and ``n_current`` values of the same distribution
    ``PSI / (1/n_previous + 1/n_current)`` is about chi-squared with ``bins - 1`` degrees of
    freedom (the two-sample chi-squared statistic). A network of 20 accounts then needs a PSI
    near 2.8 over 10 bins before a shift is told from noise at 0.001; one of 100,000, about 0.0006.
    Scores of the same accounts on consecutive days are not independent samples (they move
    less), so the test errs on the side of not failing a small network.
    """
    from scipy import stats

    if n_previous <= 0 or n_current <= 0 or bins < 2:
        return 1.0
    return float(stats.chi2.sf(value / (1 / n_previous + 1 / n_current), bins - 1))


def _finite(values) -> np.ndarray:
    a = np.asarray(values, dtype="float64")
    return a[np.isfinite(a)]


def spearman(x, y) -> float | None:
    """Spearman's rho: Pearson correlation of average ranks (None when either side is constant)."""
    rx = pd.Series(x).reset_index(drop=True).rank()
    ry = pd.Series(y).reset_index(drop=True).rank()
    if len(rx) < 2 or rx.nunique() < 2 or ry.nunique() < 2:
        return None
    return float(rx.corr(ry))


def spearman_top_k(previous: pd.DataFrame, current: pd.DataFrame, k: int) -> dict:
    """Rank stability of the previous day's top ``k`` (frames with ``account_id`` and ``rank``).

    The accounts of the previous top k (rank <= k) that are scored today are paired with their
    current rank (in the whole network, not only among them), and the Spearman correlation of
    the two rank lists is returned. Accounts that left (not scored today) cannot be ranked and
    are left out of the correlation; their number is returned as ``left`` and named in the
    message, so a top that emptied out is visible even when the stayers kept their order.
    ``spearman`` is None when fewer than :data:`MIN_COMMON` accounts stayed.
    """
    top = previous.loc[previous[RANK] <= k, [ID, RANK]]
    both = top.merge(current[[ID, RANK]], on=ID, suffixes=("_prev", "_cur"))
    out: dict[str, Any] = {"k": k, "top": len(top), "common": len(both), "left": len(top) - len(both), "spearman": None}
    if len(both) >= MIN_COMMON:
        out["spearman"] = spearman(both[f"{RANK}_prev"], both[f"{RANK}_cur"])
    return out


def previous_scores(lake: Lake, network: str, day: dt.date) -> tuple[dt.date, pd.DataFrame] | None:
    """The latest published ``account_scores`` of ``network`` before ``day``, with its date (or None).

    Like ``jobs/rank_step.py::previous_table``: the newest published date before ``day`` on which
    this network has a partition (a network absent from the newest date is looked up further back).
    """
    import pyarrow.parquet as pq

    for d in reversed([d for d in lake.published_dates(TABLE) if d < day]):
        p = lake.published(TABLE, d) / f"network={network}"
        if p.is_dir():
            return d, pq.read_table(str(p), columns=[ID, SCORE, RANK]).to_pandas()
    return None


def published_window(lake: Lake, day: dt.date) -> tuple[int, int] | None:
    """(days present, days expected) of the window of ``day``'s newest published run, from ``runs``."""

    row = newest_published_run(lake, day, "window_present", "window_expected")
    return (row["window_present"], row["window_expected"]) if row else None


def window_filling(
    current: tuple[int, int] | None, previous: tuple[int, int] | None, previous_day: dt.date
) -> str | None:
    """Why the two days' scores are not comparable for the drift gate, or None.

    While a network's window is still filling (a new network, an imported history, the days
    after a gap) each day adds a large share of the window's evidence, so the scores move by
    design: a run whose window, or whose previous published day's window, holds fewer days than
    it should is compared, but a large PSI only warns. Unknown windows count as full.
    """
    for label, w in (("this run's", current), (f"dt={previous_day}'s", previous)):
        if w is not None and w[0] < w[1]:
            return f"{label} window holds {w[0]} of its {w[1]} days (still filling)"
    return None


def check(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_day: dt.date | None,
    *,
    psi_warn: float,
    psi_fail: float,
    spearman_warn: float,
    top_k: int,
    alpha: float = 0.001,
    filling: str | None = None,
) -> dict:
    """Both drift gates for one network: a plain dict saved with the run's quality results.

    ``status`` is ``fail`` when the PSI is above ``psi_fail`` and significant at ``alpha``
    (:func:`psi_p_value`: on a small network a large PSI can be noise), ``warn`` when the PSI is above
    ``psi_warn`` or the Spearman correlation below ``spearman_warn`` (or not computable), ``ok``
    otherwise, and ``skipped`` when there is no previous published day (or no score on one side).
    """
    if previous is None or previous_day is None:
        return {"status": SKIPPED, "reason": "no previous published day for this network"}
    prev_scores, cur_scores = _finite(previous[SCORE]), _finite(current[SCORE])
    if len(prev_scores) == 0 or len(cur_scores) == 0:
        side = "previous" if len(prev_scores) == 0 else "current"
        return {
            "status": SKIPPED,
            "previous_dt": previous_day.isoformat(),
            "reason": f"no finite {SCORE} on the {side} day",
        }
    value = psi(prev_scores, cur_scores, resolution=RESOLUTION)
    bins = len(decile_edges(prev_scores, resolution=RESOLUTION)) + 1
    p_value = psi_p_value(value, len(prev_scores), len(cur_scores), bins)
    significant = p_value < alpha
    psi_status = FAIL if value > psi_fail and significant and not filling else WARN if value > psi_warn else OK
    rank = spearman_top_k(previous, current, top_k)
    rho = rank["spearman"]
    rank_status = WARN if rho is None or rho < spearman_warn else OK
    statuses = {psi_status, rank_status}
    return {
        "status": FAIL if FAIL in statuses else WARN if WARN in statuses else OK,
        "previous_dt": previous_day.isoformat(),
        "psi": {
            "column": SCORE,
            "value": round(value, 6),
            "warn": psi_warn,
            "fail": psi_fail,
            "resolution": RESOLUTION,
            "status": psi_status,
            "previous_rows": len(prev_scores),
            "current_rows": len(cur_scores),
            "bins": bins,
            "p_value": float(f"{p_value:.3g}"),
            "alpha": alpha,
            "filling": filling,
        },
        "spearman": {
            **rank,
            "spearman": None if rho is None else round(rho, 6),
            "warn": spearman_warn,
            "status": rank_status,
        },
    }


def findings(result: dict, day: dt.date, run_id: str) -> list[dict]:
    """The failed or warned drift checks of :func:`check` as quality findings.

    Same fields as the GE findings of :mod:`kindling.gates.quality` (table, column, rule, expectation,
    severity, observed), so the gate's summary, its message and ``kindling query runs`` show
    them like any other check; a failed PSI carries a ``hint`` on how to accept the shift.
    """
    if result["status"] in (OK, SKIPPED):
        return []
    out = []
    prev = result["previous_dt"]
    p = result["psi"]
    if p["status"] != OK:
        limit = "drift_psi_fail" if p["value"] > p["fail"] else "drift_psi_warn"
        threshold = p["fail"] if p["value"] > p["fail"] else p["warn"]
        rule = f"PSI of {SCORE} against dt={prev} is {p['value']:.4f} > {limit} {threshold:g}"
        if p["status"] == WARN and p["value"] > p["fail"] and p.get("filling"):
            rule += f", but {p['filling']}: warned, not failed"
        elif p["status"] == WARN and p["value"] > p["fail"]:
            rule += (
                f", not significant on {p['previous_rows']} and {p['current_rows']} accounts "
                f"(p = {p['p_value']:.2g}, gate_alpha {p['alpha']:g}): warned, not failed"
            )
        f = _finding("psi", rule, p["status"])
        if p["status"] == FAIL:
            f["hint"] = (
                f"if the shift is genuine, accept it by rerunning the gate with a higher threshold for this run: "
                f"KINDLING_DRIFT_PSI_FAIL={_above(p['value'])} kindling step audit-out --date {day} --run-id {run_id}, "
                f"then kindling step publish --date {day} --run-id {run_id} "
                f"(or KINDLING_DRIFT_PSI_FAIL={_above(p['value'])} kindling run --date {day})"
            )
        out.append(f)
    s = result["spearman"]
    if s["status"] != OK:
        if s["spearman"] is None:
            rule = (
                f"Spearman of the top {s['k']} ranks against dt={prev} not computable: "
                f"only {s['common']} of {s['top']} accounts still scored ({s['left']} left)"
            )
        else:
            rule = (
                f"Spearman of the top {s['k']} ranks against dt={prev} is {s['spearman']:.4f} "
                f"< drift_spearman_warn {s['warn']:g} ({s['common']} of {s['top']} compared, {s['left']} left)"
            )
        out.append(_finding("spearman_top_k", rule, WARN, column=RANK))
    return out


def _finding(what: str, rule: str, severity: str, column: str = SCORE) -> dict:
    # The value is in the rule text (so that the runs row's summary shows it), not in "observed".
    return {
        "table": TABLE,
        "expectation": f"drift_{what}",
        "column": column,
        "rule": rule,
        "severity": severity,
        "file": None,
        "files": [],
        "unexpected_count": None,
        "observed": None,
        "error": None,
        "sample": [],
    }


def _above(value: float) -> str:
    """A threshold just above ``value``, rounded up to 2 decimals, for the hint."""
    return f"{np.ceil(value * 100 + 1e-9) / 100:.2f}"
