"""trust: a PageRank from trusted seeds, and spam mass (Gyöngyi et al., 2004 and 2006).

``trust_rank`` is the weighted PageRank of the global graph with the teleport restricted to a
trusted seed set: by default the accounts the snapshot marks verified and created at least
``trust_seed_min_age_days`` before the run date, or the accounts a seed file names
(``trust_seeds``: CSV with header ``network,account_id``). It runs as one more slot of the same
PageRank pass as the global score and the topics (slot K + 1), on the global edge weights.

Relative spam mass compares the two: the part of an account's PageRank that does not come from
the genuine accounts, as the trusted seeds stand for them,

    spam_mass = clamp(1 - γ * trust_rank / pagerank, 0, 1)

with γ = ``trust_good_share``, the share of accounts taken to be genuine. The paper's core vector
gives each seed the teleport of one account (total S / N); since the seeds are only a small sample
of the genuine accounts, it scales the core's teleport up to the estimated good share γ. Without
that scaling (γ = S / N, 3% on the sample data) the genuine accounts outside the seeds count as
untrusted, and nearly every influential account gets a mass near 1. Most accounts nobody trusted
engages with have a high mass and a low PageRank; ``spam_flag`` flags the ones with both high:
mass at least ``spam_mass_flag`` and influence at least ``spam_flag_min_influence``.
A network without seeds gets null ``trust_rank`` and ``spam_mass`` and no flags.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from kindling.core.settings import DEFAULTS, Settings


class SeedFileError(ValueError):
    """The trusted-seed file is missing or malformed (the message names the file and line)."""


def read_seed_file(path: str | Path) -> list[tuple[str, str]]:
    """``(network, account_id)`` rows of a seed CSV (header ``network,account_id``)."""
    p = Path(path)
    if not p.is_file():
        raise SeedFileError(f"{p}: trust_seeds file does not exist")
    with p.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != ["network", "account_id"]:
        raise SeedFileError(f"{p}: line 1 must be the header network,account_id")
    out = []
    for i, r in enumerate(rows[1:], start=2):
        if not r or all(not c.strip() for c in r):
            continue
        if len(r) != 2 or not r[0].strip() or not r[1].strip():
            raise SeedFileError(f"{p}: line {i}: expected network,account_id, got {','.join(r)!r}")
        out.append((r[0].strip(), r[1].strip()))
    return out


def trusted_seeds(
    spark: SparkSession, accounts: DataFrame, network: str, day: dt.date, settings: Settings
) -> DataFrame:
    """``account_id`` of the network's trusted seeds among the day's accounts."""
    ids = accounts.where(F.col("account_id").isNotNull())
    if settings.trust_seeds:
        listed = [(a,) for n, a in read_seed_file(settings.trust_seeds) if n == network]
        named = spark.createDataFrame(listed, "account_id string")
        return ids.select("account_id").join(named, "account_id", "left_semi").distinct()
    oldest = dt.datetime.combine(day - dt.timedelta(days=settings.trust_seed_min_age_days), dt.time())
    return ids.where(F.col("verified") & (F.col("created_at") <= F.lit(oldest))).select("account_id").distinct()


def with_spam_mass(
    scored: DataFrame,
    trust: DataFrame | None,
    seeds: int,
    *,
    good_share: float = DEFAULTS.trust_good_share,
    flag_at: float = DEFAULTS.spam_mass_flag,
    flag_min_influence: float = DEFAULTS.spam_flag_min_influence,
) -> DataFrame:
    """``scored`` (``account_id``, ``pagerank``, ``influence``) with ``trust_rank``, ``spam_mass``, ``spam_flag``.

    ``trust``: ``account_id, trust_rank`` (None, or ``seeds`` = 0: no seeds on the network).
    ``spam_mass`` is ``1 - good_share * trust_rank / pagerank`` in [0, 1]; ``spam_flag`` is a mass of at
    least ``flag_at`` on an influence of at least ``flag_min_influence`` (the settings
    ``trust_good_share``, ``spam_mass_flag``, ``spam_flag_min_influence``).
    """
    if trust is None or seeds == 0:
        return (
            scored.withColumn("trust_rank", F.lit(None).cast("double"))
            .withColumn("spam_mass", F.lit(None).cast("double"))
            .withColumn("spam_flag", F.lit(False))
        )
    mass = F.lit(1.0) - F.lit(float(good_share)) * F.col("trust_rank") / F.col("pagerank")
    mass = F.round(F.least(F.lit(1.0), F.greatest(F.lit(0.0), mass)), 6)
    out = scored.join(trust, "account_id", "left").withColumn("trust_rank", F.coalesce("trust_rank", F.lit(0.0)))
    return out.withColumn("spam_mass", F.when(F.col("pagerank") > 0, mass)).withColumn(
        "spam_flag",
        F.coalesce(
            (F.col("spam_mass") >= F.lit(float(flag_at))) & (F.col("influence") >= F.lit(float(flag_min_influence))),
            F.lit(False),
        ),
    )
