"""Day-level rules checked at ``audit-in`` beside the Great Expectations input suite.

The row-level rules live in ``jobs.conform.row_problems``: a row that breaks one goes to the
``quarantine`` table and the day goes on without it. What one row cannot tell is decided
here, for the whole network-day:

* **rejected share** — more than ``quarantine_max_share`` (default 1%) of a table's rows
  quarantined means the delivery is broken, not a few bad rows: the day fails;
* **self-interactions in bulk** — self-interactions carry no credit and are dropped when the
  graph is built, but a day where more than ``self_interaction_max_share`` (default 5%) of
  the interactions are self-interactions is a broken or gamed feed: the day fails;
* **volume** — the rows kept in ``accounts`` and ``interactions`` against the median of the
  trailing 7 published days (from the ``runs`` table): outside ``[median / volume_band,
  median * volume_band]`` (default band 3) the day fails. With fewer than
  ``volume_min_history`` published days the check is skipped, and says so.

Each check returns failures in the shape of ``kindling.quality`` failures, so the gate
reports them, saves them and refuses to publish exactly as for a failed expectation.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter
from pathlib import Path

import pandas as pd

from kindling.lake import Lake
from kindling.settings import Settings

CASCADED_REASON = "account quarantined"
"""The reason of a row quarantined only because the account it names was: not counted in the share."""
VOLUME_TABLES = ("accounts", "interactions")
HISTORY_DAYS = 7
SAMPLE_SIZE = 5


def _failure(table: str, check: str, rule: str, *, count: int | None = None, observed=None,
             sample: list[dict] | None = None, severity: str = "fail") -> dict:
    sample = sample or []
    files = sorted({s["_source_file"] for s in sample if s.get("_source_file")})
    return {
        "table": table, "expectation": check, "column": None, "rule": rule, "severity": severity,
        "file": files[0] if files else None, "files": files, "unexpected_count": count,
        "observed": observed, "error": None, "sample": sample,
    }


def check_quarantine(kept: dict[str, int], quarantine: pd.DataFrame, max_share: float) -> list[dict]:
    """A failure per input table whose quarantined share of rows exceeds ``max_share``."""
    out = []
    for table, held in quarantine.groupby("input_table", sort=True):
        rows = held[held["reason"] != CASCADED_REASON]
        n_bad, cascaded = len(rows), len(held) - len(rows)
        share = n_bad / (len(held) + kept.get(table, 0))
        if share <= max_share:
            continue
        reasons = Counter(rows["reason"])
        why = ", ".join(f"{r} {n}" for r, n in reasons.most_common(4))
        sample = [
            {"_source_file": r.source_file, "_source_row": int(r.source_row), "column": r.column, "reason": r.reason,
             "value": r.value}
            for r in rows.sort_values("source_row").head(SAMPLE_SIZE).itertuples()
        ]  # itertuples: quarantine columns have no leading underscore
        out.append(_failure(
            table, "quarantine_share",
            f"{n_bad} of {len(held) + kept.get(table, 0)} rows ({share:.2%}) were quarantined, above "
            f"quarantine_max_share {max_share:.2%} ({why}"
            + (f"; and {cascaded} naming a quarantined account, not counted" if cascaded else "") + ")",
            count=n_bad, observed=round(share, 6), sample=sample))
    return out


def check_self_interactions(interactions: pd.DataFrame | None, max_share: float) -> list[dict]:
    """A failure when self-interactions (actor = target) are more than ``max_share`` of the day's."""
    if interactions is None or interactions.empty:
        return []
    self_rows = interactions[interactions["actor_id"] == interactions["target_id"]]
    share = len(self_rows) / len(interactions)
    if share <= max_share:
        return []
    sample = [{"_source_file": r["_source_file"], "_source_row": int(r["_source_row"]), "value": r["actor_id"]}
              for r in self_rows.sort_values("_source_row").head(SAMPLE_SIZE).to_dict("records")] \
        if "_source_file" in self_rows.columns else []
    return [_failure(
        "interactions", "self_interaction_share",
        f"{len(self_rows)} of {len(interactions)} interactions ({share:.2%}) are self-interactions, above "
        f"self_interaction_max_share {max_share:.2%}",
        count=len(self_rows), observed=round(share, 6), sample=sample)]


def published_history(lake: Lake, network: str, day: dt.date, days: int = HISTORY_DAYS) -> dict[str, list[int]]:
    """Kept input rows per table of the last ``days`` published dates before ``day`` for ``network``.

    Read from the ``runs`` table: the newest ``published`` row of each date, its ``input_rows``.
    """
    import pyarrow.parquet as pq

    root = lake.table("runs")
    if not root.is_dir():
        return {}
    per_date: dict[dt.date, tuple] = {}
    for part in root.glob("dt=*"):
        try:
            d = dt.date.fromisoformat(part.name[3:])
        except ValueError:
            continue
        if d >= day:
            continue
        for f in part.glob("*-published.parquet"):
            for r in pq.read_table(f, columns=["finished_at", "input_rows"]).to_pylist():
                if r["input_rows"] and (d not in per_date or r["finished_at"] > per_date[d][0]):
                    per_date[d] = (r["finished_at"], json.loads(r["input_rows"]))
    out: dict[str, list[int]] = {}
    for d in sorted(per_date)[-days:]:
        counts = per_date[d][1].get(network)
        if not counts:
            continue
        for table, n in counts.items():
            if isinstance(n, int):
                out.setdefault(table, []).append(n)
    return out


def check_volume(lake: Lake, network: str, day: dt.date, kept: dict[str, int], band: float,
                 min_history: int) -> tuple[list[dict], list[str]]:
    """Failures for tables whose row count is outside the band around the trailing median; notes."""
    history = published_history(lake, network, day)
    failures, notes = [], []
    for table in VOLUME_TABLES:
        past = history.get(table, [])
        if len(past) < min_history:
            notes.append(f"{table}: volume check skipped, {len(past)} published day(s) before {day} "
                         f"(needs {min_history})")
            continue
        median = statistics.median(past)
        n = kept.get(table, 0)
        lo, hi = median / band, median * band
        if lo <= n <= hi:
            notes.append(f"{table}: {n} rows, trailing median {median:g} over {len(past)} day(s)")
            continue
        failures.append(_failure(
            table, "volume_band",
            f"{n} rows against a median of {median:g} over the {len(past)} published days before {day}: "
            f"outside [{lo:g}, {hi:g}] (volume_band {band:g}); if the change is real, rerun with "
            f"KINDLING_VOLUME_BAND raised",
            observed=n))
    return failures, notes


def audit_network(settings: Settings, lake: Lake, network: str, day: dt.date, tables: dict[str, pd.DataFrame],
                  quarantine: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """Every day-level rule for one network: (failures, notes)."""
    kept = {name: len(df) for name, df in tables.items()}
    failures = check_quarantine(kept, quarantine, settings.quarantine_max_share)
    failures += check_self_interactions(tables.get("interactions"), settings.self_interaction_max_share)
    volume, notes = check_volume(lake, network, day, kept, settings.volume_band, settings.volume_min_history)
    return failures + volume, notes


def save(path: Path, payload: dict) -> None:
    from kindling.lake import write_atomic_bytes

    write_atomic_bytes(path, json.dumps(payload, indent=2, default=str).encode())
