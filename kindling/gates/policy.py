"""Day-level rules checked at ``audit-in`` beside the Great Expectations input suite.

The row-level rules live in ``jobs.conform.row_problems``: a row that breaks one goes to the
``quarantine`` table and the day goes on without it. What one row cannot tell is decided
here, for the whole network-day:

* **rejected share** — more than ``quarantine_max_share`` (default 1%) of a table's rows
  quarantined means the delivery is broken, not a few bad rows: the day fails;
* **self-interactions that dominate** — self-interactions carry no credit and are dropped when
  the graph is built (``drop_self_interactions``), so they are counted in the gate's notes,
  not held against the day; a day fails only when more than ``self_interaction_max_share``
  (default 50%) of its interactions are self-interactions: a broken or gamed feed;
* **volume** — the rows kept in ``accounts`` and ``interactions`` against the median of the
  trailing 7 published days (from the ``runs`` table): outside ``[median / volume_band,
  median * volume_band]`` (default band 3) the day fails. With fewer than
  ``volume_min_history`` published days the check is skipped, and says so.

**Sample size.** A share or a ratio measured on a few rows says little: 2 self-interactions
in a day of 19 are 10.5%, and a day of 40 interactions after days of 12 is 3.3 times the
median, without anything being wrong. So each rule fails a day only when its evidence is
significant at ``gate_alpha`` (default 0.001), by a one-sided test of the rule's own limit:

* shares (:func:`share_p_value`): the binomial probability of at least the observed count
  when the true share is exactly the limit; a day of millions of rows fails as soon as its
  share is measurably above the limit (as without the test), a day of 19 rows needs most of
  them bad (``quarantine_max_share`` 1%: 2 bad rows of 19 pass, 3 fail, p = 0.0009);
* volume (:func:`volume_p_value`): the Poisson probability of a count at least as far out as
  the observed one, were the true mean on the band's edge; the counts are first divided by the
  trailing days' dispersion (variance over mean, at least 1), so a history that is bursty by
  nature widens the test and a steady one keeps it tight.

A rule whose limit is crossed without significant evidence is reported as a warning (it is
saved and shown with the run) and the day goes on.

Each check returns failures in the shape of ``kindling.gates.quality`` failures, so the gate
reports them, saves them and refuses to publish exactly as for a failed expectation.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter
from pathlib import Path

import pandas as pd

from kindling.core.settings import Settings
from kindling.core.validate import CASCADED_REASON
from kindling.ingest.source import SUCCESS, manifest_rows
from kindling.storage.lake import Lake, write_atomic_bytes

VOLUME_TABLES = ("accounts", "interactions")
HISTORY_DAYS = 7
SAMPLE_SIZE = 5


def _failure(
    table: str,
    check: str,
    rule: str,
    *,
    count: int | None = None,
    observed=None,
    sample: list[dict] | None = None,
    severity: str = "fail",
) -> dict:
    sample = sample or []
    files = sorted({s["_source_file"] for s in sample if s.get("_source_file")})
    return {
        "table": table,
        "expectation": check,
        "column": None,
        "rule": rule,
        "severity": severity,
        "file": files[0] if files else None,
        "files": files,
        "unexpected_count": count,
        "observed": observed,
        "error": None,
        "sample": sample,
    }


def share_p_value(count: int, n: int, limit: float) -> float:
    """One-sided binomial test: P(at least ``count`` of ``n`` rows) when the true share is ``limit``.

    Small means the observed share is significantly above ``limit``; 1.0 when ``count`` is 0.
    """
    from scipy import stats

    if count <= 0 or n <= 0:
        return 1.0
    if limit <= 0:
        return 0.0
    return float(stats.binom.sf(count - 1, n, limit))


def volume_p_value(n: int, lo: float, hi: float, past: list[int]) -> float:
    """How surprising ``n`` rows are, were the day's true mean on the nearer edge of ``[lo, hi]``.

    Quasi-Poisson: ``n`` and the edge are divided by the dispersion of the trailing counts
    ``past`` (sample variance over mean, at least 1), then the Poisson tail beyond ``n`` is taken
    (upper tail above ``hi``, lower tail below ``lo``; 1.0 inside the band). The regularized
    incomplete gamma functions give the tails for non-integer counts.
    """
    from scipy import special

    if lo <= n <= hi:
        return 1.0
    mean = statistics.fmean(past) if past else 0.0
    dispersion = max(1.0, statistics.variance(past) / mean) if len(past) >= 2 and mean > 0 else 1.0
    k = n / dispersion
    if n > hi:
        return float(special.gammainc(k, hi / dispersion))  # P(X >= k), X ~ Poisson(hi / dispersion)
    return float(special.gammaincc(k + 1, lo / dispersion))  # P(X <= k), X ~ Poisson(lo / dispersion)


def _verdict(p: float, alpha: float) -> tuple[str, str]:
    """(severity, words) for a crossed limit whose evidence has p-value ``p``."""
    if p < alpha:
        return "fail", f"significant: p = {p:.2g} < gate_alpha {alpha:g}"
    return "warn", f"not significant on this many rows (p = {p:.2g}, gate_alpha {alpha:g}): reported, the day goes on"


def check_quarantine(
    kept: dict[str, int], quarantine: pd.DataFrame, max_share: float, alpha: float = 0.001
) -> list[dict]:
    """A finding per input table whose quarantined share of rows exceeds ``max_share``: a failure
    when that is significant at ``alpha`` (:func:`share_p_value`), else a warning."""
    out = []
    for table, held in quarantine.groupby("input_table", sort=True):
        rows = held[held["reason"] != CASCADED_REASON]
        n_bad, cascaded = len(rows), len(held) - len(rows)
        total = len(held) + kept.get(table, 0)
        share = n_bad / total
        if share <= max_share:
            continue
        severity, evidence = _verdict(share_p_value(n_bad, total, max_share), alpha)
        reasons = Counter(rows["reason"])
        why = ", ".join(f"{r} {n}" for r, n in reasons.most_common(4))
        sample = [
            {
                "_source_file": r.source_file,
                "_source_row": int(r.source_row),
                "column": r.column,
                "reason": r.reason,
                "value": r.value,
            }
            for r in rows.sort_values("source_row").head(SAMPLE_SIZE).itertuples()
        ]  # itertuples: quarantine columns have no leading underscore
        out.append(
            _failure(
                table,
                "quarantine_share",
                f"{n_bad} of {total} rows ({share:.2%}) were quarantined, above "
                f"quarantine_max_share {max_share:.2%} ({why}"
                + (f"; and {cascaded} naming a quarantined account, not counted" if cascaded else "")
                + f"); {evidence}",
                count=n_bad,
                observed=round(share, 6),
                sample=sample,
                severity=severity,
            )
        )
    return out


def check_self_interactions(
    interactions: pd.DataFrame | None, max_share: float, alpha: float = 0.001
) -> tuple[list[dict], list[str]]:
    """Self-interactions (actor = target): (findings, notes).

    Always counted in a note when there are any (the graph drops them). A finding when they are
    more than ``max_share`` of the day's interactions: a failure when that is significant at
    ``alpha``, else a warning.
    """
    if interactions is None or interactions.empty:
        return [], []
    self_rows = interactions[interactions["actor_id"] == interactions["target_id"]]
    if self_rows.empty:
        return [], []
    n, count = len(interactions), len(self_rows)
    share = count / n
    notes = [
        f"interactions: {count} of {n} ({share:.2%}) are self-interactions, carrying no credit "
        f"(self_interaction_max_share {max_share:.2%})"
    ]
    if share <= max_share:
        return [], notes
    severity, evidence = _verdict(share_p_value(count, n, max_share), alpha)
    sample = (
        [
            {"_source_file": r["_source_file"], "_source_row": int(r["_source_row"]), "value": r["actor_id"]}
            for r in self_rows.sort_values("_source_row").head(SAMPLE_SIZE).to_dict("records")
        ]
        if "_source_file" in self_rows.columns
        else []
    )
    return [
        _failure(
            "interactions",
            "self_interaction_share",
            f"{count} of {n} interactions ({share:.2%}) are self-interactions, above "
            f"self_interaction_max_share {max_share:.2%}; {evidence}",
            count=count,
            observed=round(share, 6),
            sample=sample,
            severity=severity,
        )
    ], notes


def newest_published_run(lake: Lake, day: dt.date, *columns: str) -> dict | None:
    """The newest ``published`` row of ``day`` in the ``runs`` table whose ``columns`` are all set,
    as ``{"finished_at": .., column: .., ...}``; None when there is none (or older files lack them)."""
    import pyarrow.parquet as pq

    folder = lake.table("runs") / f"dt={day.isoformat()}"
    best = None
    for f in sorted(folder.glob("*-published.parquet")) if folder.is_dir() else []:
        if not set(columns) <= set(pq.read_schema(f).names):
            continue
        for r in pq.read_table(f, columns=["finished_at", *columns]).to_pylist():
            if all(r[c] not in (None, "") for c in columns) and (
                best is None or r["finished_at"] > best["finished_at"]
            ):
                best = r
    return best


def published_history(lake: Lake, network: str, day: dt.date, days: int = HISTORY_DAYS) -> dict[str, list[int]]:
    """Kept input rows per table of the last ``days`` published dates before ``day`` for ``network``.

    Read from the ``runs`` table: the newest ``published`` row of each date, its ``input_rows``.
    """
    root = lake.table("runs")
    if not root.is_dir():
        return {}
    per_date: dict[dt.date, dict] = {}
    for part in root.glob("dt=*"):
        try:
            d = dt.date.fromisoformat(part.name[3:])
        except ValueError:
            continue
        if d < day and (row := newest_published_run(lake, d, "input_rows")):
            per_date[d] = json.loads(row["input_rows"])
    out: dict[str, list[int]] = {}
    for d in sorted(per_date)[-days:]:
        counts = per_date[d].get(network)
        if not counts:
            continue
        for table, n in counts.items():
            if isinstance(n, int):
                out.setdefault(table, []).append(n)
    return out


def confirmed_tables(
    promised: dict[str, int] | None, kept: dict[str, int], quarantine: pd.DataFrame
) -> tuple[set[str], list[str]]:
    """Tables whose every row the delivery's ``_SUCCESS`` manifest accounts for: (tables, notes).

    A table is confirmed when the rows read (kept plus quarantined) equal the manifest's count.
    A count that differs is noted and confirms nothing (the volume rule then judges as usual).
    """
    if not promised:
        return set(), []
    held = Counter(quarantine["input_table"]) if len(quarantine) else Counter()
    confirmed, notes = set(), []
    for table, n in sorted(promised.items()):
        if table not in kept:
            continue
        read = kept[table] + held.get(table, 0)
        if read == n:
            confirmed.add(table)
        else:
            notes.append(f"{table}: the delivery's manifest promises {n} rows, {read} were read")
    return confirmed, notes


def check_volume(
    lake: Lake,
    network: str,
    day: dt.date,
    kept: dict[str, int],
    band: float,
    min_history: int,
    alpha: float = 0.001,
    confirmed: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[dict], list[str]]:
    """Findings for tables whose row count is outside the band around the trailing median (a failure
    when significant at ``alpha`` by :func:`volume_p_value`, else a warning); notes.

    A table in ``confirmed`` (its rows all accounted for by the delivery's manifest) is complete:
    a volume far from the usual is then a real change in activity, reported as a warning.
    """
    history = published_history(lake, network, day)
    failures, notes = [], []
    for table in VOLUME_TABLES:
        past = history.get(table, [])
        if len(past) < min_history:
            notes.append(
                f"{table}: volume check skipped, {len(past)} published day(s) before {day} (needs {min_history})"
            )
            continue
        median = statistics.median(past)
        n = kept.get(table, 0)
        lo, hi = median / band, median * band
        if lo <= n <= hi:
            notes.append(f"{table}: {n} rows, trailing median {median:g} over {len(past)} day(s)")
            continue
        severity, evidence = _verdict(volume_p_value(n, lo, hi, past), alpha)
        if severity == "fail" and table in confirmed:
            severity = "warn"
            evidence += (
                "; but the delivery's manifest accounts for every row: a real change in activity, "
                "not a partial delivery; reported, the day goes on"
            )
        failures.append(
            _failure(
                table,
                "volume_band",
                f"{n} rows against a median of {median:g} over the {len(past)} published days before {day}: "
                f"outside [{lo:g}, {hi:g}] (volume_band {band:g}); {evidence}"
                + ("; if the change is real, rerun with KINDLING_VOLUME_BAND raised" if severity == "fail" else ""),
                observed=n,
                severity=severity,
            )
        )
    return failures, notes


def audit_network(
    settings: Settings,
    lake: Lake,
    network: str,
    day: dt.date,
    tables: dict[str, pd.DataFrame],
    quarantine: pd.DataFrame,
) -> tuple[list[dict], list[str]]:
    """Every day-level rule for one network: (findings, notes). A finding's ``severity`` is
    ``fail`` (the day is refused) or ``warn`` (a limit crossed on too few rows to tell)."""
    alpha = settings.gate_alpha
    kept = {name: len(df) for name, df in tables.items()}
    findings = check_quarantine(kept, quarantine, settings.quarantine_max_share, alpha)
    found, notes = check_self_interactions(tables.get("interactions"), settings.self_interaction_max_share, alpha)
    confirmed, manifest_notes = confirmed_tables(manifest_rows(lake.raw(network, day) / SUCCESS), kept, quarantine)
    volume, volume_notes = check_volume(
        lake, network, day, kept, settings.volume_band, settings.volume_min_history, alpha, confirmed
    )
    return findings + found + volume, notes + manifest_notes + volume_notes


def save(path: Path, payload: dict) -> None:

    write_atomic_bytes(path, json.dumps(payload, indent=2, default=str).encode())
