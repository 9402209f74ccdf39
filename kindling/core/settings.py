"""One settings object for the whole pipeline: a pydantic-settings model.

Every knob has a documented default here. :func:`load_settings` overrides them, in this order,
from a TOML config file (``KINDLING_CONFIG``, default ``./kindling.toml`` when it exists) and then
from environment variables named ``KINDLING_<FIELD>`` (upper case), so ``KINDLING_LAKE=/data/lake``
overrides ``lake``. Both are pydantic-settings sources (:class:`_ConfigFile`, :class:`_Environment`)
that read a value as its field's type strictly (a TOML ``defenses = 1`` is not a boolean) and
remember where it came from, so that an error names the variable or the file and key. ``Settings()``
alone is the defaults, whatever the environment: only :func:`load_settings` reads the sources.

Why one long module: most of it is the fields themselves, about sixty settings each with the
docstring that ``docs/configuration.md`` is generated from; the sources that read them and the
errors that name them belong beside them.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass as _dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def _default_kind_weights() -> dict[str, float]:
    # Richer interactions carry more credit than cheap ones (DESIGN.md).
    return {"reply": 3.0, "quote": 3.0, "repost": 2.0, "mention": 1.5, "like": 0.5}


PAGERANK_ENGINES = ("auto", "vector", "graphframes")


class Settings(BaseSettings):
    # frozen: one run's settings never change under it; extra="forbid": an unknown name is an error.
    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=False)

    # --- where things are -------------------------------------------------
    source: str = "./data/snapshots"
    """Where dated snapshot folders are read: a local path, file://, http(s)://."""
    lake: str = "./lake"
    """Root of the lake: raw/, conformed/, _staging/, tables/."""
    networks: tuple[str, ...] = ()
    """Networks to process; empty means every network found at the source for the date."""

    # --- Spark -------------------------------------------------------------
    spark_master: str = "local[*]"
    """Spark master for the jobs (local[*], spark://host:7077, yarn, k8s://...)."""
    spark_shuffle_partitions: int = 8
    """spark.sql.shuffle.partitions for the jobs; small graphs want few partitions."""
    spark_driver_memory: str = "4g"
    """spark.driver.memory for spark-submit. With a local[...] master the executors live in the
    driver's JVM, so this is all the memory the job gets."""
    spark_executor_memory: str = "2g"
    """spark.executor.memory, passed only when the master is not local (spark://, yarn, k8s://):
    the heap of each executor. It must fit in what one worker offers (a standalone worker's
    --memory; YARN's container size less the overhead), or the job waits for resources forever."""
    spark_executor_cores: int = 0
    """spark.executor.cores, passed only when the master is not local; 0 leaves it to the cluster
    manager (standalone: one executor per worker with all its cores; YARN: 1; Kubernetes: 1)."""
    spark_executor_python: str = ""
    """spark.pyspark.python: the interpreter of the executors' Python workers. Empty means the
    interpreter running kindling, which is right for local masters and for a cluster on this
    machine; on YARN or Kubernetes name the interpreter of the shipped environment or image
    (e.g. ./environment/bin/python, /opt/venv/bin/python). Same Python minor version as the driver."""
    spark_java_options: str = "-XX:+UseParallelGC"
    """JVM options of the driver and of the executors (``spark.driver.extraJavaOptions``,
    ``spark.executor.extraJavaOptions``); ``none`` (or "" in kindling.toml) passes none, leaving
    them to spark-defaults.conf.
    The parallel collector: a batch job wants throughput, and on 2 cores G1's concurrent threads
    and write barriers cost the rank step about a tenth of its time (docs/performance.md)."""
    checkpoint_dir: str = ""
    """Spark checkpoint directory; empty means <lake>/_checkpoints."""

    # --- GraphFrames (the graph layer's JVM jar; `make env` obtains it, kindling/pipeline/jars.py) ------
    graphframes_jar: str = ""
    """A GraphFrames 0.11.0 jar (core and graphx, for Spark 4 and Scala 2.13) to use as it is.
    Empty (the default): fetch it from ``graphframes_maven_repos``, else compile it from
    ``graphframes_source``. Whichever way, ``make env`` puts it at
    build/graphframes-spark4_2.13-0.11.0.jar, which every Spark session of the project loads."""
    graphframes_maven_repos: tuple[str, ...] = ("https://repo1.maven.org/maven2",)
    """Maven repositories (http(s):// or file:// roots, comma-separated in the environment) tried in
    order for ``io.graphframes:graphframes-spark4_2.13:0.11.0`` and
    ``io.graphframes:graphframes-graphx-spark4_2.13:0.11.0``; empty skips Maven."""
    graphframes_source: str = ""
    """The GraphFrames 0.11.0 source release to compile when no jar is named and no repository
    serves it (``core/`` and ``graphx/``, as in ``shared/vendor/graphframes-0.11.0``). Empty (the
    default): the first ``shared/vendor/graphframes-0.11.0`` found beside the project or beside
    one of its parent folders (or beside the repository it was cloned from)."""

    # --- graph --------------------------------------------------------------
    window_days: int = 28
    """Scoring window: interactions of this many days ending on the run date. A run for day D first
    admits every day of D's window that the source has and the lake lacks (pull, conform and the
    input gate, oldest first, in the same Spark application as D's own conform)."""
    window_bad_day: str = "fail"
    """What a run does with an earlier day of its window that fails conform or the input gate while
    it is admitted: ``fail`` stops the run with a message naming that day; ``skip`` leaves the day
    out of the window and records it in the run's window coverage (``runs.window``). Day D itself
    always fails the run."""
    admit_batch_days: int = 28
    """How many earlier window days of a network ``conform`` admits in one pass (each table of the
    batch read, checked and written once): a small day costs Spark scheduling more than work."""
    half_life_days: float = 7.0
    """Exponential time decay of an interaction's weight (days)."""
    kind_weights: dict[str, float] = Field(default_factory=_default_kind_weights)
    """Base weight per interaction kind."""
    pair_saturation: float = 5.0
    """Diminishing returns per (actor, target) pair: w = s * ln(1 + raw / s)."""
    drop_self_interactions: bool = True
    """Self-interactions never carry credit."""
    actor_daily_budget: float = 15.0
    """Credit spread: an actor's interactions of one UTC day carry at most this much kind weight in
    total (5 replies, or 30 likes); above it every one of them is scaled by budget / total, so an
    account that likes everything gives little to each. 0 turns the rule off."""
    received_free_posts_per_day: float = 1.0
    """Volume: engagement received by an account that posted more than this many posts a day on
    average over the window is scaled by (free / posts_per_day) ** received_volume_exponent."""
    received_volume_exponent: float = 0.5
    """... so an account posting 4 a day gets half the credit per engagement, 16 a day a quarter.
    0 turns the rule off."""
    reciprocal_heavy_weight: float = 6.0
    """Reciprocity: a pair whose saturated weights both ways are at least this (about four fresh
    replies each way) is a heavy reciprocal pair ..."""
    reciprocal_discount: float = 0.5
    """... and both of its edges are multiplied by this. 1 turns the rule off."""
    answer_credit: float = 0.1
    """Responses: an interaction with an account that replied to or mentioned the actor at most
    answer_hours before carries this share of its weight (the rest returns to the teleport): an
    answer you asked for is not an endorsement. 1 turns the rule off."""
    ring_pair_weight: float = 3.0
    """Engagement rings (docs/methodology.md "Engagement rings"): two accounts are a mutual heavy pair when
    their saturated weights both ways are at least this (about two fresh replies each way) ..."""
    ring_min_size: int = 3
    """... a ring is a connected group of mutual heavy pairs of at least this many accounts ..."""
    ring_max_size: int = 30
    """... and at most this many (a larger connected group is a community, not a pod) ..."""
    ring_internal_share: float = 0.6
    """... whose members give at least this share of their engagement (saturated weight) to each other."""
    ring_discount: float = 0.1
    """Credit between two members of the same ring is multiplied by this; the rest returns to the
    teleport. 1 turns the discount off (rings are still detected and flagged)."""
    ring_member_credit: float = 0.1
    """Credit a ring member gets from outside its ring is multiplied by this (the rest returns to the
    teleport): a pod exists to get its members' posts shown to more people, so the outside engagement
    they collect is a product of the pod too. 1 leaves it whole."""
    spark_max_share: float = 0.25
    """Sparks (docs/methodology.md "Many trees, not few sparks"): in the global score and on every
    topic, no single engager's flow may make more than this share of an account's rank; PageRank
    holds each flow to it (the rest returns to the teleport), so an account with no teleport of its
    own on a topic needs at least 1 / this many contributors to rank there. 1 turns the rule off."""
    recognition_max_share: float = 0.5
    """... and on a topic, one recognizer may make at most this share of an account's recognition
    (the topic's teleport): a lone recognizer makes none, two count as twice the smaller. 1 turns
    the rule off."""
    defenses: bool = True
    """false turns every defense off at once (credit spread, pair saturation, volume, responses,
    reciprocity, the ring discounts): for measuring what they do (``kindling evaluate --baseline-lake``), never
    for publishing."""

    # --- topics -------------------------------------------------------------
    taxonomy_dir: str = ""
    """Topic taxonomy folder (Klout ontology format); empty means the shipped Klout ontology."""
    topic_aliases: str = ""
    """Hashtag alias CSV (alias,topic); empty means the shipped kindling/ingest/data/taxonomy/aliases.csv."""
    topic_min_recognized: int = 3
    """A topic is ranked on a network when at least this many accounts were recognised on it in the window."""
    offtopic_factor: float = 0.2
    """Topic transitions: engagements on the topic's posts weigh 1, all other engagements this much."""
    interest_prior: float = 10.0
    """Interest smoothing: the share's denominator gets this many extra (off-topic) actions."""
    contributors_top_n: int = 100
    """score_contributors explains the top N accounts of the global score and of every topic."""
    contributors_k: int = 10
    """... with this many contributors each."""

    # --- trust and spam mass (docs/methodology.md "Spam mass") -------------------------------
    trust_seeds: str = ""
    """CSV file (header network,account_id) naming the trusted seeds; empty means the accounts the
    snapshot marks verified and created at least trust_seed_min_age_days before the run date."""
    trust_seed_min_age_days: int = 365
    """Default seeds: verified accounts at least this old."""
    trust_good_share: float = 0.85
    """Spam mass: the share of the network's accounts taken to be genuine (Gyöngyi et al. 2006's γ).
    The trusted-seed PageRank is scaled to it before it is compared with the uniform one: a few
    verified seeds stand for all the genuine accounts, not only for themselves. Scaling by
    seeds / accounts instead made nearly every influential account look like spam (on the 5,000-account
    sample, 233 of 235 accounts at influence >= 40 flagged, none of them planted spam)."""
    spam_mass_flag: float = 0.9
    """spam_flag: relative spam mass at least this ..."""
    spam_flag_min_influence: float = 40.0
    """... and influence at least this (4x the network average)."""

    # --- responsiveness (docs/methodology.md "Responsiveness") --------------------------------
    answer_hours: float = 72.0
    """An ask (a reply or mention from a non-mutual follower) counts as answered when the account
    replies to or mentions the asker within this many hours; asks younger than this at the end of
    the run date are not counted yet."""
    responsiveness_prior_answered: float = 1.0
    """Beta prior of the answered share: this many answered asks are added to every account ..."""
    responsiveness_prior_unanswered: float = 3.0
    """... and this many unanswered ones, so no evidence reads 0.25 and 1 of 1 reads 0.40."""

    # --- PageRank -----------------------------------------------------------
    damping: float = 0.85
    """PageRank's damping: the share of rank that follows edges (the rest teleports)."""
    tol: float = 1e-9
    """Convergence: stop when the L1 change is below N * tol (networkx's rule)."""
    max_iter: int = 100
    """PageRank stops after this many supersteps, converged or not."""
    pagerank_engine: str = "auto"
    """Default auto. ``vector``: the rank vector (accounts x slots) is held on the driver and
    broadcast each superstep to cached blocks of the transition matrix (engine/, a JVM class built
    by ``make env``): 4.35x GraphX's PageRank at 10M edges here (docs/performance.md).
    ``graphframes``: each superstep is a message-passing round on GraphFrames' GraphX module
    (distributed: the vertices and edges partitioned across executors), for runs too big for the
    vector engine's memory. ``auto`` takes ``vector`` when its working set fits
    ``pagerank_vector_max_mb``."""
    pagerank_vector_max_mb: float = 0.0
    """Default 0: the budget is the driver heap's share outside Spark's unified memory (40%:
    1.5 GiB of the default 4g, 3.9 GiB of 10g). ``auto`` uses the vector engine when its working
    set (``jobs.pagerank.vector_bytes``: two accounts x slots vectors of doubles, three broadcast
    chunks of at most 256 MiB, and the edge blocks, about 60 bytes per edge in the daily job's
    factored form) is at most this many MiB. That memory is plain JVM heap, which Spark cannot
    spill."""

    # --- drift gates (audit-out, against the previous published day) --------------
    drift_psi_warn: float = 0.1
    """Default 0.1: warn when the population stability index of a network's influence scores
    against its previous published day is above this (a moderate shift)."""
    drift_psi_fail: float = 0.25
    """Default 0.25: fail the day (nothing is published) when the PSI is above this (a large
    shift) and significant at ``gate_alpha`` for the network's size (on a few dozen accounts a
    large PSI is often noise: then it warns). To accept a genuine shift, rerun audit-out with a
    higher value for that one run."""
    drift_spearman_warn: float = 0.5
    """Default 0.5: warn when the Spearman correlation between yesterday's and today's ranks of
    yesterday's top ``drift_top_k`` accounts is below this (warn only, never fails)."""
    drift_top_k: int = 1000
    """Default 1000: how many of the previous day's top accounts the rank-stability check follows."""

    # --- sensor -------------------------------------------------------------
    sensor_poke_seconds: int = 300
    """The ``wait`` sensor looks for the day's snapshot this often (the DAG reads it from the environment only)."""
    sensor_timeout_hours: float = 24.0
    """The ``wait`` sensor fails the run after this many hours without the snapshot (environment only)."""

    # --- bad input (docs/operations.md "Failure modes") -----------------------------------
    quarantine_max_share: float = 0.01
    """A day fails when more than this share of an input table's rows is quarantined (row-level
    rules: unparseable line, wrong type, null id, unknown value, timestamp outside the day,
    unknown account, duplicate key). Within it, the rows go to the ``quarantine`` table and the
    day is published without them."""
    self_interaction_max_share: float = 0.5
    """A day fails when more than this share of its interactions are self-interactions, significantly
    (``gate_alpha``). They carry no credit and the graph drops them, so fewer are only counted in
    the gate's notes; a day they dominate is a broken or gamed feed."""
    volume_band: float = 3.0
    """A day fails when its kept accounts or interactions fall outside [median / band, median * band]
    of the trailing 7 published days, significantly (``gate_alpha``)."""
    gate_alpha: float = 0.001
    """The significance level of the day-level share and ratio rules (quarantined share,
    self-interactions, volume band, the PSI drift gate): a limit crossed fails the day only when a
    one-sided test (binomial for shares, quasi-Poisson for volume, chi-squared for PSI) gives a
    p-value below this; otherwise it is a warning and the day goes on. A day of millions of rows
    fails as soon as it is measurably over a limit; a day of 19 rows needs most of them bad."""
    volume_min_history: int = 3
    """The volume check needs at least this many published days before the run date."""
    max_line_bytes: int = 1048576
    """``pull`` refuses a CSV or JSON-lines file with a line longer than this (bytes), or with bytes
    that are not UTF-8, naming the file and line."""

    @field_validator("*", mode="before")
    @classmethod
    def _paths_as_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values first, then (inside :func:`load_settings` only) the environment, then the file."""
        loading = _LOADING.get()
        if loading is None:
            return (init_settings,)
        return (init_settings, _Environment(settings_cls, loading), _ConfigFile(settings_cls, loading))

    @model_validator(mode="after")
    def _check(self) -> Settings:
        for name in (
            "actor_daily_budget",
            "received_free_posts_per_day",
            "received_volume_exponent",
            "reciprocal_heavy_weight",
            "pair_saturation",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 < self.gate_alpha < 1:
            raise ValueError(f"gate_alpha must be between 0 and 1 (exclusive), got {self.gate_alpha!r}")
        if not 0 <= self.self_interaction_max_share <= 1:
            raise ValueError(
                f"self_interaction_max_share must be between 0 and 1, got {self.self_interaction_max_share!r}"
            )
        if not self.window_days >= 1:
            raise ValueError(f"window_days must be at least 1 day, got {self.window_days!r}")
        if not self.half_life_days > 0:
            raise ValueError(f"half_life_days must be > 0, got {self.half_life_days!r}")
        if not 0 < self.damping < 1:
            raise ValueError(f"damping must be between 0 and 1 (exclusive), got {self.damping!r}")
        if not self.tol > 0:
            raise ValueError(f"tol must be > 0, got {self.tol!r}")
        if not self.max_iter >= 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter!r}")
        if self.pagerank_engine not in PAGERANK_ENGINES:
            raise ValueError(
                f"pagerank_engine must be one of {', '.join(PAGERANK_ENGINES)}, got {self.pagerank_engine!r}"
            )
        if not self.pagerank_vector_max_mb >= 0:
            raise ValueError(f"pagerank_vector_max_mb must be >= 0, got {self.pagerank_vector_max_mb!r}")
        if self.window_bad_day not in ("fail", "skip"):
            raise ValueError(f"window_bad_day must be 'fail' or 'skip', got {self.window_bad_day!r}")
        if not 0 < self.spark_max_share <= 1:
            raise ValueError(f"spark_max_share must be in (0, 1], got {self.spark_max_share!r}")
        if not 0 < self.recognition_max_share <= 1:
            raise ValueError(f"recognition_max_share must be in (0, 1], got {self.recognition_max_share!r}")
        if not 0 < self.trust_good_share <= 1:
            raise ValueError(f"trust_good_share must be in (0, 1], got {self.trust_good_share!r}")
        if not 0 <= self.spam_mass_flag <= 1:
            raise ValueError(f"spam_mass_flag must be between 0 and 1, got {self.spam_mass_flag!r}")
        if self.trust_seed_min_age_days < 0:
            raise ValueError(f"trust_seed_min_age_days must be >= 0, got {self.trust_seed_min_age_days!r}")
        if not 0 <= self.reciprocal_discount <= 1:
            raise ValueError(f"reciprocal_discount must be between 0 and 1, got {self.reciprocal_discount!r}")
        if self.received_volume_exponent > 0 and not self.received_free_posts_per_day > 0:
            raise ValueError("received_free_posts_per_day must be > 0 while received_volume_exponent is on")
        if not 0 <= self.answer_credit <= 1:
            raise ValueError(f"answer_credit must be between 0 and 1, got {self.answer_credit!r}")
        if not 0 <= self.ring_discount <= 1:
            raise ValueError(f"ring_discount must be between 0 and 1, got {self.ring_discount!r}")
        if not 0 <= self.ring_member_credit <= 1:
            raise ValueError(f"ring_member_credit must be between 0 and 1, got {self.ring_member_credit!r}")
        if not 0 <= self.ring_internal_share <= 1:
            raise ValueError(f"ring_internal_share must be between 0 and 1, got {self.ring_internal_share!r}")
        if not 2 <= self.ring_min_size <= self.ring_max_size:
            raise ValueError(
                f"need 2 <= ring_min_size <= ring_max_size, got {self.ring_min_size!r} and {self.ring_max_size!r}"
            )
        if not self.ring_pair_weight > 0:
            raise ValueError(f"ring_pair_weight must be > 0, got {self.ring_pair_weight!r}")
        if not self.answer_hours > 0:
            raise ValueError(f"answer_hours must be > 0 hours, got {self.answer_hours!r}")
        for name in ("responsiveness_prior_answered", "responsiveness_prior_unanswered"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 (a Beta prior count), got {getattr(self, name)!r}")
        return self

    @property
    def lake_path(self) -> Path:
        return Path(self.lake)

    @property
    def checkpoint_path(self) -> str:
        return self.checkpoint_dir or str(Path(self.lake) / "_checkpoints")

    def effective(self) -> Settings:
        """These settings as ranking applies them: with ``defenses`` false, every defense off."""
        if self.defenses:
            return self
        return self.replace(
            actor_daily_budget=0.0,
            pair_saturation=0.0,
            received_volume_exponent=0.0,
            reciprocal_discount=1.0,
            ring_discount=1.0,
            ring_member_credit=1.0,
            answer_credit=1.0,
            spark_max_share=1.0,
            recognition_max_share=1.0,
        )

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like the original (a ValueError names what is wrong)."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as e:
            raise ValueError(_messages(e, {})) from None


class SettingError(ValueError):
    """A bad setting, named by where it came from (``KINDLING_X='v'``, ``file: key = v``) and its value."""


def _coerce(f: FieldInfo, value: Any) -> Any:
    """``value`` (an environment string, or a TOML value) as the type of ``f``'s default.

    Raises ValueError saying what was expected; the source that read it names where it came from.
    """
    default = f.get_default(call_default_factory=True)
    if isinstance(value, str):
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if isinstance(default, int):
            try:
                return int(value)
            except ValueError:
                raise ValueError("expected a whole number") from None
        if isinstance(default, float):
            try:
                return float(value)
            except ValueError:
                raise ValueError("expected a number") from None
        if isinstance(default, tuple):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(default, dict):
            # "reply=3,like=0.5"
            out = dict(default)
            for part in value.split(","):
                k, sep, v = part.partition("=")
                try:
                    if not sep or not k.strip():
                        raise ValueError
                    out[k.strip()] = float(v)
                except ValueError:
                    raise ValueError("expected name=number pairs, e.g. reply=3,like=0.5") from None
            return out
        return value
    # A TOML value: it has a type already, which must be the setting's.
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ValueError("expected true or false")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError("expected a whole number")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ValueError("expected a number")
    if isinstance(default, tuple):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError("expected a list of names")
    if isinstance(default, dict):
        if isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
        ):
            return {**default, **{k: float(v) for k, v in value.items()}}
        raise ValueError("expected a table of name = number")
    raise ValueError("expected a string")


@_dataclass
class _Loading:
    """What one :func:`load_settings` call reads, and where each value came from (for its errors)."""

    env: Mapping[str, str]
    config_file: str | None
    origin: dict[str, str]


_LOADING: ContextVar[_Loading | None] = ContextVar("kindling_settings_loading", default=None)


class _Source(PydanticBaseSettingsSource):
    """A pydantic-settings source that reads its values itself (see ``__call__``), not field by field."""

    def __init__(self, settings_cls: type[BaseSettings], loading: _Loading) -> None:
        super().__init__(settings_cls)
        self.loading = loading

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every value at once


class _Environment(_Source):
    """``KINDLING_<FIELD>`` variables (an empty one is unset), read as their field's type."""

    def __call__(self) -> dict[str, Any]:
        values = {}
        for name, f in self.settings_cls.model_fields.items():
            key = f"KINDLING_{name.upper()}"
            raw = self.loading.env.get(key, "")
            if raw == "":
                continue
            self.loading.origin.setdefault(name, f"{key}={raw!r}")
            try:
                values[name] = _coerce(f, raw)
            except ValueError as e:
                raise SettingError(f"{key}={raw!r}: {e}") from None
        return values


class _ConfigFile(_Source):
    """The TOML file (keys are field names, at the top or under ``[kindling]``), read strictly."""

    def __call__(self) -> dict[str, Any]:
        env, config_file = self.loading.env, self.loading.config_file
        path = config_file or env.get("KINDLING_CONFIG") or "kindling.toml"
        if not Path(path).is_file():
            if config_file or env.get("KINDLING_CONFIG"):
                where = "" if config_file else "KINDLING_CONFIG: "
                raise SettingError(f"{where}config file {path} does not exist")
            return {}
        try:
            data = tomllib.loads(Path(path).read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise SettingError(f"config file {path}: not valid TOML: {e}") from None
        data = data.get("kindling", data)
        fields = self.settings_cls.model_fields
        values = {}
        for k, v in data.items():
            if k not in fields:
                close = difflib.get_close_matches(k, fields, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise SettingError(f"config file {path}: unknown setting {k!r}{hint}")
            where = f"config file {path}: {k} = {v!r}"
            try:
                values[k] = _coerce(fields[k], v)
            except ValueError as e:
                raise SettingError(f"{where}: {e}") from None
            self.loading.origin.setdefault(k, where)
        return values


_FIELD_WORD = re.compile(r"[a-z][a-z0-9_]*")


def _messages(error: ValidationError, origin: Mapping[str, str]) -> str:
    """One line for pydantic's errors: each prefixed by where the value(s) it names came from."""
    parts = []
    for e in error.errors(include_url=False):
        field = str(e["loc"][0]) if e["loc"] else ""
        if e["type"] == "value_error":  # Settings._check: its message names the field(s)
            message = str(e["ctx"]["error"])
            named = [w for w in dict.fromkeys(_FIELD_WORD.findall(message)) if w in origin]
        elif e["type"] == "extra_forbidden":
            close = difflib.get_close_matches(field, Settings.model_fields, n=1)
            message = f"unknown setting {field!r}" + (f" (did you mean {close[0]}?)" if close else "")
            named = []
        else:
            message = f"{field}: {e['msg']}"
            named = [field] if field in origin else []
        parts.append(f"{', '.join(origin[w] for w in named)}: {message}" if named else message)
    return "; ".join(parts)


def load_settings(env: dict[str, str] | None = None, config_file: str | None = None, **overrides: Any) -> Settings:
    """Build the settings: defaults < config file < environment < explicit overrides.

    A value that cannot be read, or that the settings refuse, raises :class:`SettingError` naming
    where it came from and the value: ``KINDLING_WINDOW_DAYS='abc': expected a whole number``.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    loading = _Loading(
        env=dict(os.environ) if env is None else env,
        config_file=config_file,
        origin={k: f"{k}={v!r}" for k, v in given.items()},
    )
    token = _LOADING.set(loading)
    try:
        return Settings(**given)
    except ValidationError as e:
        raise SettingError(_messages(e, loading.origin)) from None
    finally:
        _LOADING.reset(token)


DEFAULTS = Settings()
"""The documented defaults (``Settings()`` reads no environment or file), for code that names a default."""
