"""Score quality against planted truth (``kindling evaluate``).

Compares the published ``topic_scores`` of one date with the ``ground_truth.parquet`` that
``kindling generate`` wrote beside its snapshots. Per network, over the planted topics (topics of
``expert`` rows) that the pipeline scored that day:

* precision@k of planted experts by expertise (k = 10, 50): hits in the top k divided by
  min(k, planted experts of the topic), so a topic with 15 experts can reach 1.0 at k = 50;
  ``hits_per_k`` is the raw hits / k beside it, so nobody reads the first as the second;
* loud non-experts (planted ``loud_non_expert`` accounts of the network, whatever their topic):
  their share of each topic's top 50 by expertise and by interest (mean and max over topics),
  and the share of a topic's own loud non-experts that reach its top 50 by interest (recall);
  expertise should keep them out, interest should not;
* Spearman correlation of expertise with the planted level (0 for everyone but the topic's
  experts) over every scored (account, planted topic) pair, and its mean over topics;
* when the day's ``account_scores`` carries responsiveness (:func:`evaluate_reach`): its Spearman
  correlation with the planted answer propensity, beside what the same evidence allows (the same
  formula on answers drawn from each account's planted propensity with its own number of asks:
  :func:`evidence_ceiling`), and how many planted responsive experts ``kindling query reachable``
  lists in a topic's top 20;
* when the day's ``account_scores`` carries ``ring_flag`` (:func:`evaluate_defenses`; None for a
  partition published before it):

  - ring detection at the account level: flagged = accounts with ``ring_flag`` true, planted =
    the network's ``ring_member`` accounts; precision = |flagged ∩ planted| / |flagged| (None when
    nothing is flagged), recall = |flagged ∩ planted| / |planted|; and how many planted rings
    (``ring_id`` of the truth) have every member in one and the same detected ``ring_id``
    ("whole");
  - the best (smallest) rank a planted ring member reaches: globally (``account_scores.rank``)
    and over every topic of ``topic_scores`` (``rank_in_topic``, the published rank by topic_rank,
    hence by expertise, that ``kindling query top --topic`` shows), with the target that none is
    in the global or any topic's top ``RING_TOP`` (100);
  - reply gamers (``reply_gamer``): gain = the gamer's ``influence`` minus its baseline, the
    median influence of the ``GAMER_BASELINE_K`` (50) ordinary accounts whose planted
    ``popularity`` is closest to the gamer's (smallest |log popularity difference|, ties by
    account_id). Ordinary: of type person, with no planted role but ``account`` (no expert,
    loud_non_expert, organization, ring_member, like_bot, reply_gamer, responsive or
    unresponsive row), and scored that day. Mean and max gain over the scored gamers, with the
    target max gain <= ``GAMER_MAX_GAIN`` (5 influence points): gaming the big accounts' replies
    should buy no more than an ordinary account of the same planted popularity gets (the mean is
    the strategy's effect; the max is one account's, and is compared with the same measure taken
    for every ordinary account against the K nearest others: its mean, 95th percentile and max
    are the noise of the baseline, what gaming nothing scores);
  - with ``twin_lake`` (a lake of the twin snapshots, ``kindling generate --no-gaming``: the same
    world without the gamers' strategy, ranked with the same settings), each gamer's gain over its
    *planted* baseline, its own influence in the twin: gain = influence here - influence in the
    twin, with the target max <= ``GAMER_MAX_GAIN``. The same difference for every ordinary account
    is what the gaming moved everyone else (its mean, 95th percentile and max);
  - with ``baseline_lake`` (a lake of the same snapshots ranked with the defenses off), the same
    best ranks and gamer gains from that lake's tables of the same date, beside those of the
    lake evaluated (defenses on); with ``baseline_twin_lake`` (the twin ranked with the defenses
    off) the twin gains of that side.

Sparks and single engagers (:func:`evaluate_sparks`, :func:`contributor_shares`, :func:`flag_quality`):

* planted sparks (``spark`` rows: an ordinary account engaged once by a top account and by
  nobody else, ``kindling generate``): how many are in the global top ``SPARK_TOP`` (100) of
  ``account_scores`` (``rank``) and how many in some topic's top 100 of ``topic_scores``
  (``rank_in_topic``), target 0, with the offenders listed; and of those, how many are there
  *by* their planted engagement (``sparks_lifted``, target 0): with the engager's share of the
  score taken away (the flow along its ``graph_edges`` edge; its ``score_contributors.share`` on
  a topic) the account would rank below 100 (:func:`rank_without`). (Sparks generated before
  the generator left out every other engagement they would get kept their organic recognition,
  which on a topic's board of a few hundred recognised accounts can place an account in the top
  100 with or without the spark.) Beside them, the sparks' *peers* (:func:`spark_peers`): the
  unplanted accounts of the pool the generator draws sparks from (persons with no planted role,
  popularity and posting rate at most the medians of such accounts), and how many of those are
  in the global or a topic's top 100 on their own evidence: what the boards give an account like
  a spark without any spark;
* the largest single-contributor share of a score: for each account of the global top 100, the
  largest ``damping * pagerank(u) * weight(u, v) / out_weight(u) / pagerank(v)`` over its in-edges
  in ``graph_edges`` and ``graph_vertices``; for each (topic, account) of a topic's top 100
  (``rank_in_topic`` <= 100), the largest ``score_contributors.share`` (the contributor's share of
  the account's score on the topic; needs its ``base_share`` column, else the shares are of the
  in-flow and not reported). Max, and how many are above ``SPARK_MAX_SHARE`` (0.25, setting
  ``spark_max_share``); "not published" when the tables are absent (a lake from before them);
* flags: among accounts with influence >= ``FLAG_MIN_INFLUENCE`` (40), the share with
  ``spam_flag`` or ``ring_flag`` set that are not planted as one of ``FLAG_ROLES`` (like_bot,
  reply_gamer, ring_member), target <= 0.10; and the flag precision, the share of all flagged
  accounts planted as one of those roles, target >= 0.8.

"Top k" orders a topic's rows by expertise, ties by account_id (by interest: ties by expertise,
then account_id, as ``kindling query top --topic`` does). Ranks and correlations use pandas only.

Why one long module: it is one report, and every metric in it reads the same published tables and
planted truth through the same helpers. It is a candidate to split by metric family (topics,
gaming, sparks, responsiveness) when one of them grows further.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from kindling.core.settings import DEFAULTS
from kindling.core.validate import InvalidArgument
from kindling.gates.drift import spearman
from kindling.serving.query import reachable, resolve_date
from kindling.storage.lake import Lake

KS = (10, 50)
RESP_MIN_ASKS = (1, 5)
REACH_TOP = 20
LOUD_TOP = 50
RING_TOP = 100  # target: no planted ring member in the global or any topic's top RING_TOP
GAMER_BASELINE_K = 50  # a reply gamer's baseline: median influence of this many ordinary accounts
GAMER_MAX_GAIN = 5.0  # target: no reply gamer more than this many influence points over its baseline
SPARK_TOP = 100  # target: no planted spark in the global or any topic's top SPARK_TOP
SPARK_MAX_SHARE = DEFAULTS.spark_max_share  # no contributor should bring more of a top score than this
SHARE_NOISE = 1e-9  # a flow PageRank held at the cap comes back a few ulps above it (0.25000000000000006)
FLAG_MIN_INFLUENCE = 40.0  # flags are judged among the accounts of at least this influence
FLAG_ROLES = ("like_bot", "reply_gamer", "ring_member")  # the planted roles a spam or ring flag should find
FLAG_MAX_UNPLANTED = 0.10  # target: at most this share of influence >= 40 flagged but not planted
FLAG_MIN_PRECISION = 0.8  # target: at least this share of the flagged accounts planted
# the responsiveness Beta prior (answered, unanswered) of the default settings
DEFAULT_PRIOR = (DEFAULTS.responsiveness_prior_answered, DEFAULTS.responsiveness_prior_unanswered)
_TRUTH_COLUMNS = [
    "network",
    "account_id",
    "role",
    "topic",
    "level",
    "propensity",
    "ring_id",
    "account_type",
    "popularity",
]
_SCORE_COLUMNS = ["topic", "account_id", "expertise", "interest"]


def evaluate(
    lake_root: str | Path,
    snapshots_dir: str | Path,
    day: str | dt.date | None,
    baseline_lake: str | Path | None = None,
    twin_lake: str | Path | None = None,
    baseline_twin_lake: str | Path | None = None,
    prior: tuple[float, float] = DEFAULT_PRIOR,
    no_sparks_lake: str | Path | None = None,
) -> dict:
    """Metrics per network: ``{network: {metric: value, ..., "per_topic": [...]}}``.

    ``baseline_lake``: a lake of the same snapshots ranked with the defenses off; its tables of the
    same date give the "defenses off" ring ranks and gamer gains (:func:`evaluate_defenses`).
    ``twin_lake`` and ``baseline_twin_lake``: lakes of the twin snapshots (``--no-gaming``) ranked
    with the defenses on and off: the gamers' planted baseline of each side. ``prior``: the
    responsiveness Beta prior (answered, unanswered) the lake was scored with.
    ``no_sparks_lake``: a lake of the same world generated without sparks (``kindling generate
    --sparks 0``, same seed and size) ranked with the same settings: where each spark's account
    ranks with no spark at all (:func:`evaluate_sparks`).
    """
    lake = Lake(lake_root)
    day = resolve_date(lake, "topic_scores", day.isoformat() if isinstance(day, dt.date) else day)

    def other(root: str | Path | None, what: str) -> Lake | None:
        if root is None:
            return None
        found = Lake(root)
        try:
            resolve_date(found, "account_scores", day.isoformat())
        except LookupError as e:
            raise LookupError(f"{what} {root}: {e}") from None
        return found

    baseline = other(baseline_lake, "baseline lake")
    twin = other(twin_lake, "twin lake")
    baseline_twin = other(baseline_twin_lake, "baseline twin lake")
    no_sparks = other(no_sparks_lake, "no-sparks lake")
    if baseline_twin is not None and baseline is None:
        raise ValueError("a baseline twin lake needs a baseline lake (the defenses-off run of the gaming world)")
    truth_path = Path(snapshots_dir) / "ground_truth.parquet"
    if not truth_path.is_file():
        raise FileNotFoundError(f"{truth_path} does not exist (kindling generate writes it beside the snapshots)")
    truth_columns = _TRUTH_COLUMNS + [c for c in ("post_rate", "engager_id") if c in pq.read_schema(truth_path).names]
    truth = pd.read_parquet(truth_path, columns=truth_columns)
    published = lake.published_networks("topic_scores", day)
    networks = [n for n in published if (truth["network"] == n).any()]
    if not networks:
        raise LookupError(
            f"no network of topic_scores dt={day} ({', '.join(published) or 'none'}) has ground truth in {truth_path}"
        )
    out = {}
    for net in networks:
        scores = pd.read_parquet(lake.published("topic_scores", day) / f"network={net}", columns=_SCORE_COLUMNS)
        mine = truth[truth["network"] == net]
        out[net] = dict(dt=day.isoformat(), **evaluate_network(scores, mine))
        out[net]["reach"] = evaluate_reach(lake, day, net, mine, [m["topic"] for m in out[net]["per_topic"]], prior)
        out[net]["defenses"] = evaluate_defenses(lake, day, net, mine, baseline, twin, baseline_twin)
        out[net]["sparks"] = evaluate_sparks(lake, day, net, mine, no_sparks)
        out[net]["shares"] = contributor_shares(lake, day, net)
        out[net]["flags"] = flag_quality(lake, day, net, mine)
    return out


def _columns(folder: Path) -> list[str] | None:
    """The columns of a published partition folder (None when it is not there)."""
    first = next(folder.glob("*.parquet"), None) if folder.is_dir() else None
    return None if first is None else pq.read_schema(first).names


def evaluate_defenses(
    lake: Lake,
    day: dt.date,
    net: str,
    truth: pd.DataFrame,
    baseline: Lake | None = None,
    twin: Lake | None = None,
    baseline_twin: Lake | None = None,
) -> dict | None:
    """Engagement rings and reply gamers against the planted truth, for one network; None when
    ``account_scores`` of the day has no ``ring_flag`` (published before ring detection).

    Ring detection (precision, recall, whole rings), then :func:`gaming_ranks` of ``lake`` (defenses
    on) and, under ``"baseline"``, of ``baseline`` (defenses off; None without one, or when it has
    no account_scores of the network that day; ``"baseline_lake"`` is its root or None), each with
    the gains over its twin lake when there is one. See the module docstring for the definitions.
    """
    folder = lake.published("account_scores", day) / f"network={net}"
    names = _columns(folder)
    if names is None or "ring_flag" not in names:
        return None
    acc = pd.read_parquet(folder, columns=["account_id", "ring_flag"] + (["ring_id"] if "ring_id" in names else []))
    members = truth.loc[truth["role"] == "ring_member", ["account_id", "ring_id"]].drop_duplicates("account_id")
    planted = set(members["account_id"])
    flagged = set(acc.loc[acc["ring_flag"].fillna(False).astype(bool), "account_id"])
    hits = len(flagged & planted)
    out: dict = {
        "ring_flagged": len(flagged),
        "ring_planted": len(planted),
        "ring_hits": hits,
        "ring_precision": hits / len(flagged) if flagged else None,
        "ring_recall": hits / len(planted) if planted else None,
        "rings_planted": int(members["ring_id"].nunique()),
        "rings_whole": None,
        "rings_detected": None,
    }
    if "ring_id" in acc.columns:
        detected = acc.set_index("account_id")["ring_id"]
        out["rings_detected"] = int(detected.dropna().nunique())
        out["rings_whole"] = sum(
            1
            for _, g in members.groupby("ring_id")
            if (found := detected.reindex(g["account_id"])).notna().all() and found.nunique() == 1
        )
    out.update(gaming_ranks(lake, day, net, truth, twin) or {})  # None only without account_scores, read above
    out["baseline_lake"] = None if baseline is None else str(baseline.root)
    out["baseline"] = None if baseline is None else gaming_ranks(baseline, day, net, truth, baseline_twin)
    return out


def _influence(lake: Lake, day: dt.date, net: str) -> pd.DataFrame | None:
    folder = lake.published("account_scores", day) / f"network={net}"
    if _columns(folder) is None:
        return None
    return pd.read_parquet(folder, columns=["account_id", "rank", "influence"])


def gaming_ranks(lake: Lake, day: dt.date, net: str, truth: pd.DataFrame, twin: Lake | None = None) -> dict | None:
    """The best global and topic rank of a planted ring member and the reply gamers' influence gain
    over their baseline, from ``lake``'s tables of ``day`` (None without account_scores of ``net``);
    with ``twin``, the gains over the twin's influence too (:func:`twin_gains`)."""
    acc = _influence(lake, day, net)
    if acc is None:
        return None
    members = sorted(set(truth.loc[truth["role"] == "ring_member", "account_id"]))
    out: dict = {
        "ring_best_global_rank": None,
        "ring_best_global_account": None,
        "ring_best_topic_rank": None,
        "ring_best_topic": None,
        "ring_best_topic_account": None,
    }
    ranked = acc[acc["account_id"].isin(members)].sort_values(["rank", "account_id"])
    if len(ranked):
        out["ring_best_global_rank"] = int(ranked["rank"].iloc[0])
        out["ring_best_global_account"] = ranked["account_id"].iloc[0]
    topics = lake.published("topic_scores", day) / f"network={net}"
    if members and _columns(topics) is not None:
        rows = pd.read_parquet(
            topics, columns=["topic", "account_id", "rank_in_topic"], filters=[("account_id", "in", members)]
        )
        rows = rows.sort_values(["rank_in_topic", "topic", "account_id"])
        if len(rows):
            best = rows.iloc[0]
            out.update(
                ring_best_topic_rank=int(best["rank_in_topic"]),
                ring_best_topic=best["topic"],
                ring_best_topic_account=best["account_id"],
            )
    seen = [r for r in (out["ring_best_global_rank"], out["ring_best_topic_rank"]) if r is not None]
    out["ring_top"] = RING_TOP
    out["ring_target_met"] = all(r > RING_TOP for r in seen) if seen else None
    out.update(gamer_gains(acc, truth))
    twin_acc = None if twin is None else _influence(twin, day, net)
    out["twin_lake"] = None if twin is None else str(twin.root)
    out.update(twin_gains(acc, twin_acc, truth))
    return out


def twin_gains(acc: pd.DataFrame, twin: pd.DataFrame | None, truth: pd.DataFrame) -> dict:
    """Each reply gamer's influence minus its influence in the twin world (its planted baseline),
    over the gamers scored in both; the same difference for the ordinary accounts (module
    docstring) is what the gaming moved the others. All None without a twin."""
    keys = [
        "twin_gamers",
        "twin_gain_mean",
        "twin_gain_max",
        "twin_target_met",
        "twin_ordinary_mean",
        "twin_ordinary_p95",
        "twin_ordinary_max",
    ]
    if twin is None:
        return dict.fromkeys(keys) | {"per_gamer_twin": []}
    diff = (acc.set_index("account_id")["influence"] - twin.set_index("account_id")["influence"]).dropna()
    gamers = sorted(set(truth.loc[truth["role"] == "reply_gamer", "account_id"]) & set(diff.index))
    ordinary = diff[diff.index.isin(_ordinary(truth).index)].to_numpy(dtype=float)
    gains = diff.reindex(gamers).to_numpy(dtype=float)
    gain_max = _max(gains)
    return {
        "twin_gamers": len(gamers),
        "twin_gain_mean": _mean(gains),
        "twin_gain_max": gain_max,
        "twin_target_met": None if gain_max is None else gain_max <= GAMER_MAX_GAIN,
        "twin_ordinary_mean": _mean(ordinary),
        "twin_ordinary_max": _max(ordinary),
        "twin_ordinary_p95": float(np.percentile(ordinary, 95)) if len(ordinary) else None,
        "per_gamer_twin": [{"account_id": g, "gain": float(x)} for g, x in zip(gamers, gains, strict=True)],
    }


def _ordinary(truth: pd.DataFrame) -> pd.DataFrame:
    """The ``account`` rows (indexed by account_id) of persons with no other planted role."""
    planted = truth[truth["role"] == "account"].drop_duplicates("account_id").set_index("account_id")
    with_role = set(truth.loc[truth["role"] != "account", "account_id"])
    return planted[(planted["account_type"] == "person") & ~planted.index.isin(with_role)]


def gamer_gains(acc: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Each scored reply gamer's influence minus its baseline (module docstring), with mean and max."""
    planted = truth[truth["role"] == "account"].drop_duplicates("account_id").set_index("account_id")
    influence = acc.set_index("account_id")["influence"]
    ordinary = _ordinary(truth)
    ordinary = ordinary[ordinary.index.isin(influence.index)]
    ids = ordinary.index.to_numpy().astype(str)
    log_pop = np.log(np.maximum(ordinary["popularity"].to_numpy(dtype=float), 1e-300))
    infl = influence.reindex(ids).to_numpy(dtype=float)
    gamers = sorted(set(truth.loc[truth["role"] == "reply_gamer", "account_id"]))
    per_gamer = []
    for g in gamers:
        if g not in influence.index or g not in planted.index or not len(ids):
            continue
        distance = np.abs(log_pop - np.log(max(float(planted.at[g, "popularity"]), 1e-300)))
        nearest = np.lexsort((ids, distance))[:GAMER_BASELINE_K]
        base = float(np.median(infl[nearest]))
        mine = float(influence.at[g])
        per_gamer.append({"account_id": g, "influence": mine, "baseline": base, "gain": mine - base})
    gain_max = _max(m["gain"] for m in per_gamer)
    gain_mean = _mean(m["gain"] for m in per_gamer)
    # The same measure for the ordinary accounts themselves (each against the K nearest others):
    # how far an account that games nothing lands from its baseline, the noise of the measure.
    order = np.lexsort((ids, log_pop))
    placebo = []
    for pos, i in enumerate(order):
        window = np.concatenate(
            [order[max(0, pos - GAMER_BASELINE_K) : pos], order[pos + 1 : pos + 1 + GAMER_BASELINE_K]]
        )
        if not len(window):
            continue
        nearest = window[np.lexsort((ids[window], np.abs(log_pop[window] - log_pop[i])))[:GAMER_BASELINE_K]]
        placebo.append(float(infl[i] - np.median(infl[nearest])))
    return {
        "gamers_planted": len(gamers),
        "gamers": len(per_gamer),
        "gamer_gain_mean": _mean(m["gain"] for m in per_gamer),
        "gamer_gain_max": gain_max,
        "gamer_max_gain": GAMER_MAX_GAIN,
        "gamer_baseline_k": GAMER_BASELINE_K,
        "gamer_target_met": None if gain_max is None else gain_max <= GAMER_MAX_GAIN,
        "gamer_mean_target_met": None if gain_mean is None else gain_mean <= GAMER_MAX_GAIN,
        "ordinary_gain_mean": _mean(placebo),
        "ordinary_gain_max": _max(placebo),
        "ordinary_gain_p95": float(np.percentile(placebo, 95)) if placebo else None,
        "per_gamer": per_gamer,
    }


def evaluate_sparks(lake: Lake, day: dt.date, net: str, truth: pd.DataFrame, no_sparks: Lake | None = None) -> dict:
    """The planted sparks against the global top ``SPARK_TOP`` (``account_scores.rank``) and every
    topic's (``topic_scores.rank_in_topic``): how many are in one (target 0) and which.

    ``sparks_in_global_top`` is None without account_scores of the network that day. With
    ``no_sparks`` (the same world generated without sparks, ranked alike), each offender's rank on
    the same boards there (``no_spark_rank``: None when not ranked there, or not recognised on a
    topic), and ``world_lifted``: the offenders out of the top ``SPARK_TOP`` of at least one of those
    boards there, the exact counterfactual that the first-order "without" ranks estimate (it takes
    the engager's recognition away as well as its flow; target 0)."""
    rows = truth[truth["role"] == "spark"].drop_duplicates("account_id")
    sparks = sorted(rows["account_id"])
    engager = (
        rows.set_index("account_id")["engager_id"] if "engager_id" in rows.columns else pd.Series(dtype=object)
    ).to_dict()
    out: dict = {
        "top": SPARK_TOP,
        "sparks_planted": len(sparks),
        "sparks_scored": None,
        "sparks_in_global_top": None,
        "sparks_in_topic_top": 0,
        "best_global_rank": None,
        "best_global_account": None,
        "best_topic_rank": None,
        "best_topic": None,
        "best_topic_account": None,
        "offenders": [],
    }
    acc = _influence(lake, day, net)
    ranks = pd.Series(dtype="int64")
    if acc is not None:
        ranks = acc[acc["account_id"].isin(sparks)].set_index("account_id")["rank"]
        out["sparks_scored"] = len(ranks)
        out["sparks_in_global_top"] = int((ranks <= SPARK_TOP).sum())
        if len(ranks):
            best = ranks.reset_index().sort_values(["rank", "account_id"]).iloc[0]
            out.update(best_global_rank=int(best["rank"]), best_global_account=best["account_id"])
    topics = lake.published("topic_scores", day) / f"network={net}"
    tops = pd.DataFrame({"topic": [], "account_id": [], "rank_in_topic": []})
    if sparks and _columns(topics) is not None:
        rows_t = _recognised(topics, sparks).sort_values(["rank_in_topic", "topic", "account_id"])
        if len(rows_t):
            b = rows_t.iloc[0]
            out.update(
                best_topic_rank=int(b["rank_in_topic"]), best_topic=b["topic"], best_topic_account=b["account_id"]
            )
        tops = rows_t[rows_t["rank_in_topic"] <= SPARK_TOP]
        out["sparks_in_topic_top"] = int(tops["account_id"].nunique())
    in_global = set(ranks.index[ranks <= SPARK_TOP])
    for a in sorted(in_global | set(tops["account_id"])):
        mine = tops[tops["account_id"] == a]
        o = {
            "account_id": a,
            "engager_id": engager.get(a),
            "global_rank": int(ranks[a]) if a in in_global else None,
            "topics": [
                {"topic": t, "rank_in_topic": int(r)} for t, r in zip(mine["topic"], mine["rank_in_topic"], strict=True)
            ],
        }
        if a in in_global:
            o["global_without"] = _global_without(lake, day, net, a, engager.get(a))
        for t in o["topics"]:
            t.update(_topic_without(lake, day, net, t["topic"], a, engager.get(a)))
        out["offenders"].append(o)
    lifted = [
        o["account_id"]
        for o in out["offenders"]
        if o.get("global_without", {}).get("rank_without", 0) > SPARK_TOP
        or any(t["rank_without"] > SPARK_TOP for t in o["topics"])
    ]
    out["sparks_lifted"] = len(lifted)
    out["target_met"] = None if not sparks else out["sparks_in_topic_top"] == 0 and not out["sparks_in_global_top"]
    out["lifted_target_met"] = None if not sparks else not lifted
    out["peers"] = spark_peers(lake, day, net, truth, acc) if sparks else None
    if no_sparks is not None and sparks:
        _without_sparks(no_sparks, day, net, out)
    return out


def _recognised(folder: Path, ids: list[str]) -> pd.DataFrame:
    """``topic, account_id, rank_in_topic``: the rows of ``ids`` in a ``topic_scores`` partition
    where the account is recognised on the topic (``recognition`` > 0). A board orders the
    recognised first (:func:`jobs.score.topic_scores`); an unrecognised account is not on a board's
    top, whatever its number. Its expertise is 0, but so is that of a recognised account far down a
    board (the scale clamps at 0), so expertise > 0 is not the test."""
    t = pd.read_parquet(
        folder, columns=["topic", "account_id", "rank_in_topic", "recognition"], filters=[("account_id", "in", ids)]
    )
    return t[t["recognition"] > 0].drop(columns="recognition")


def _without_sparks(no_sparks: Lake, day: dt.date, net: str, out: dict) -> None:
    """Each offender's rank on its boards in the world without sparks, and ``world_lifted``
    (:func:`evaluate_sparks`)."""
    ids = [o["account_id"] for o in out["offenders"]]
    acc = _influence(no_sparks, day, net)
    glob = {} if acc is None else acc[acc["account_id"].isin(ids)].set_index("account_id")["rank"].to_dict()
    folder = no_sparks.published("topic_scores", day) / f"network={net}"
    topic = {}
    if ids and _columns(folder) is not None:
        topic = {(r.account_id, r.topic): int(r.rank_in_topic) for r in _recognised(folder, ids).itertuples()}
    lifted = []
    for o in out["offenders"]:
        boards = []
        if o["global_rank"] is not None:
            g = glob.get(o["account_id"])
            o["global_no_spark_rank"] = None if g is None else int(g)
            boards.append(o["global_no_spark_rank"])
        for t in o["topics"]:
            t["no_spark_rank"] = topic.get((o["account_id"], t["topic"]))
            boards.append(t["no_spark_rank"])
        if any(r is None or r > SPARK_TOP for r in boards):
            lifted.append(o["account_id"])
    out["world_lifted"] = len(lifted)
    out["world_lifted_target_met"] = not lifted


def spark_peers(lake: Lake, day: dt.date, net: str, truth: pd.DataFrame, acc: pd.DataFrame | None) -> dict | None:
    """The sparks' peers: the unplanted accounts of the generator's spark pool, and how many of them
    are in the global top ``SPARK_TOP`` and in some topic's top ``SPARK_TOP`` (recognised on it, as
    for the sparks: :func:`_recognised`), on their own evidence.

    The pool (``kindling_dev.generate``): the ordinary persons (:func:`_ordinary`) and the sparks, with
    popularity and posting rate both at most the medians over them (the sparks are drawn from it).
    ``peers`` counts the pool less the sparks. ``acc``: the network's ``account_scores``
    (:func:`_influence`; None when not published). None when the ground truth has no
    ``popularity`` and ``post_rate`` (an older ``ground_truth.parquet``)."""
    if not {"popularity", "post_rate"} <= set(truth.columns):
        return None
    sparks = set(truth.loc[truth["role"] == "spark", "account_id"])
    pool = _ordinary(truth[truth["role"] != "spark"])[["popularity", "post_rate"]].astype(float).dropna()
    if pool.empty:
        return None
    quiet = pool[
        (pool["popularity"] <= pool["popularity"].median()) & (pool["post_rate"] <= pool["post_rate"].median())
    ]
    peers = sorted(set(quiet.index) - sparks)
    out = {"peers": len(peers), "peers_in_global_top": None, "peers_in_topic_top": None}
    if acc is not None:
        out["peers_in_global_top"] = int(
            acc[acc["account_id"].isin(peers) & (acc["rank"] <= SPARK_TOP)]["account_id"].nunique()
        )
    topics = lake.published("topic_scores", day) / f"network={net}"
    if peers and _columns(topics) is not None:
        t = _recognised(topics, peers)
        out["peers_in_topic_top"] = int(t[t["rank_in_topic"] <= SPARK_TOP]["account_id"].nunique())
    return out


def rank_without(board: pd.DataFrame, account: str, share: float) -> int:
    """The rank ``account`` would have on a board (``board``: ``account_id, rank, score``) with
    ``share`` of its score taken away: its rank plus the accounts ranked below it whose score is
    above what it keeps. First order only: the others' scores stay as they are (the contributor's
    flow was one of the account's in-flows, not theirs)."""
    me = board[board["account_id"] == account]
    rank, own = int(me["rank"].iloc[0]), float(me["score"].iloc[0])
    kept = own * (1.0 - max(0.0, min(1.0, share)))
    below = board[board["rank"] > rank]
    return int(rank + (below["score"] > kept).sum())


def _global_without(lake: Lake, day: dt.date, net: str, account: str, engager: str | None) -> dict:
    """A spark in the global top: the share of its pagerank its planted engager brought (the flow
    along ``graph_edges``, 0 when there is no such edge or no graph tables) and its rank without it."""
    share = 0.0
    edges_dir = lake.published("graph_edges", day) / f"network={net}"
    vertices_dir = lake.published("graph_vertices", day) / f"network={net}"
    edge_cols = _columns(edges_dir)
    if engager is not None and edge_cols is not None and _columns(vertices_dir) is not None:
        wcol = "flow_weight" if "flow_weight" in edge_cols else "weight"
        e = pd.read_parquet(
            edges_dir,
            columns=["src", "dst", wcol, "out_weight"],
            filters=[("dst", "==", account), ("src", "==", engager)],
        ).rename(columns={wcol: "weight"})
        v = pd.read_parquet(
            vertices_dir, columns=["id", "pagerank", "damping"], filters=[("id", "in", [account, engager])]
        )
        e = _flow_shares(e, v)
        share = float(e["share"].max()) if len(e) else 0.0
    acc = pd.read_parquet(
        lake.published("account_scores", day) / f"network={net}", columns=["account_id", "rank", "pagerank"]
    )
    return {
        "engager_share": share,
        "rank_without": rank_without(acc.rename(columns={"pagerank": "score"}), account, share),
    }


def _topic_without(lake: Lake, day: dt.date, net: str, topic: str, account: str, engager: str | None) -> dict:
    """A spark in a topic's top: the share of its score on the topic its planted engager brought
    (``score_contributors``; an engager not listed brought at most the smallest listed share when
    the list is full, else nothing) and its rank on the board without it."""
    share = 0.0
    folder = lake.published("score_contributors", day) / f"network={net}"
    names = _columns(folder)
    if engager is not None and names is not None and "base_share" in names:
        listed = pd.read_parquet(
            folder, columns=["contributor_id", "share"], filters=[("topic", "==", topic), ("account_id", "==", account)]
        )
        mine = listed[listed["contributor_id"] == engager]
        if len(mine):
            share = float(mine["share"].max())
        elif len(listed) >= DEFAULTS.contributors_k:
            share = float(listed["share"].min())
    board = pd.read_parquet(
        lake.published("topic_scores", day) / f"network={net}",
        columns=["account_id", "rank_in_topic", "topic_rank"],
        filters=[("topic", "==", topic)],
    )
    board = board.rename(columns={"rank_in_topic": "rank", "topic_rank": "score"})
    return {"engager_share": share, "rank_without": rank_without(board, account, share)}


def contributor_shares(lake: Lake, day: dt.date, net: str) -> dict:
    """The largest share of a top score that one contributor brought: over the global top ``SPARK_TOP``
    (from ``graph_edges`` and ``graph_vertices``) and over every topic's (from ``score_contributors``),
    with how many scores have a contributor above ``SPARK_MAX_SHARE``. ``global_published`` /
    ``topic_published`` False (and the figures None) when the lake has not the tables (or, for
    topics, has score_contributors without ``base_share``: shares of the in-flow, not of the score)."""
    out: dict = {"top": SPARK_TOP, "cap": SPARK_MAX_SHARE}
    out.update(_global_shares(lake, day, net))
    out.update(_topic_shares(lake, day, net))
    return out


def _global_shares(lake: Lake, day: dt.date, net: str) -> dict:
    keys = ["global_accounts", "global_max_share", "global_max_account", "global_max_contributor", "global_over"]
    out: dict = dict.fromkeys(keys) | {"global_published": False}
    edges_dir = lake.published("graph_edges", day) / f"network={net}"
    vertices_dir = lake.published("graph_vertices", day) / f"network={net}"
    if _columns(edges_dir) is None or _columns(vertices_dir) is None:
        return out
    vertices = pd.read_parquet(vertices_dir, columns=["id", "pagerank", "damping"])
    acc = _influence(lake, day, net)
    if acc is not None:
        top = sorted(acc.loc[acc["rank"] <= SPARK_TOP, "account_id"])
    else:  # the top of the pagerank itself
        top = sorted(vertices.sort_values(["pagerank", "id"], ascending=[False, True])["id"].head(SPARK_TOP))
    out.update(global_published=True, global_accounts=len(top), global_over=0)
    if not top:
        return out
    # flow_weight: the weight the rank flowed along (the spark cap applied); a lake from before it has weight only
    wcol = "flow_weight" if "flow_weight" in (_columns(edges_dir) or []) else "weight"
    edges = pd.read_parquet(edges_dir, columns=["src", "dst", wcol, "out_weight"], filters=[("dst", "in", top)])
    edges = edges.rename(columns={wcol: "weight"})
    edges = _flow_shares(edges, vertices)
    best = _largest(edges.rename(columns={"dst": "account_id", "src": "contributor_id"}), ["account_id"])
    if len(best):
        b = best.iloc[0]
        out.update(
            global_max_share=float(b["share"]),
            global_max_account=b["account_id"],
            global_max_contributor=b["contributor_id"],
            global_over=int((best["share"] > SPARK_MAX_SHARE + SHARE_NOISE).sum()),
        )
    return out


def _flow_shares(edges: pd.DataFrame, vertices: pd.DataFrame) -> pd.DataFrame:
    """``edges`` (``src, dst, weight, out_weight``) with ``share``: the flow
    ``damping * pagerank(src) * weight / out_weight`` over ``pagerank(dst)`` (``vertices``: ``id,
    pagerank, damping`` of graph_vertices); edges without an out-weight or a ranked end are dropped."""
    pr = vertices.set_index("id")["pagerank"]
    damping = float(vertices["damping"].iloc[0]) if len(vertices) else 0.0
    edges = edges[(edges["out_weight"] > 0) & edges["src"].isin(pr.index) & edges["dst"].isin(pr.index)]
    pr_dst = edges["dst"].map(pr).to_numpy(dtype=float)
    flow = (
        damping
        * edges["src"].map(pr).to_numpy(dtype=float)
        * edges["weight"].to_numpy(dtype=float)
        / edges["out_weight"].to_numpy(dtype=float)
    )
    return edges.assign(share=np.where(pr_dst > 0, flow / np.where(pr_dst > 0, pr_dst, 1.0), 0.0))


def _topic_shares(lake: Lake, day: dt.date, net: str) -> dict:
    keys = [
        "topic_pairs",
        "topic_max_share",
        "topic_max_topic",
        "topic_max_account",
        "topic_max_contributor",
        "topic_over",
        "topic_over_accounts",
    ]
    out: dict = dict.fromkeys(keys) | {"topic_published": False}
    folder = lake.published("score_contributors", day) / f"network={net}"
    topics = lake.published("topic_scores", day) / f"network={net}"
    names = _columns(folder)
    if names is None or "base_share" not in names or _columns(topics) is None:
        return out
    ranked = pd.read_parquet(
        topics, columns=["topic", "account_id", "rank_in_topic"], filters=[("rank_in_topic", "<=", SPARK_TOP)]
    )
    rows = pd.read_parquet(folder, columns=["topic", "account_id", "contributor_id", "share"])
    rows = rows[rows["topic"].notna()].merge(ranked[["topic", "account_id"]], on=["topic", "account_id"])
    best = _largest(rows, ["topic", "account_id"])
    out.update(topic_published=True, topic_pairs=len(ranked), topic_over=0, topic_over_accounts=0)
    if len(best):
        b = best.iloc[0]
        over = best[best["share"] > SPARK_MAX_SHARE + SHARE_NOISE]
        out.update(
            topic_max_share=float(b["share"]),
            topic_max_topic=b["topic"],
            topic_max_account=b["account_id"],
            topic_max_contributor=b["contributor_id"],
            topic_over=len(over),
            topic_over_accounts=int(over["account_id"].nunique()),
        )
    return out


def _largest(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per ``by`` group, its row of the largest ``share`` (ties: smallest contributor_id), largest first."""
    order = rows.sort_values(["share", *by, "contributor_id"], ascending=[False] + [True] * (len(by) + 1))
    return order.drop_duplicates(by, keep="first").reset_index(drop=True)


def flag_quality(lake: Lake, day: dt.date, net: str, truth: pd.DataFrame) -> dict | None:
    """``spam_flag`` / ``ring_flag`` against the planted ``FLAG_ROLES`` (module docstring); None
    without account_scores of the network that day or without either flag column."""
    folder = lake.published("account_scores", day) / f"network={net}"
    names = _columns(folder)
    flags = [c for c in ("spam_flag", "ring_flag") if c in (names or [])]
    if not flags:
        return None
    acc = pd.read_parquet(folder, columns=["account_id", "influence", *flags])
    flagged = np.zeros(len(acc), dtype=bool)
    for c in flags:
        flagged |= acc[c].fillna(False).astype(bool).to_numpy()
    planted = acc["account_id"].isin(set(truth.loc[truth["role"].isin(FLAG_ROLES), "account_id"])).to_numpy()
    high = (acc["influence"] >= FLAG_MIN_INFLUENCE).to_numpy()
    unplanted = high & flagged & ~planted
    roles = truth[truth["role"] != "account"].groupby("account_id")["role"].agg(lambda r: ",".join(sorted(set(r))))
    which = acc.loc[unplanted, "account_id"].map(roles).fillna("account").value_counts()
    n_high, n_flagged, hits = int(high.sum()), int(flagged.sum()), int((flagged & planted).sum())
    share = int(unplanted.sum()) / n_high if n_high else None
    precision = hits / n_flagged if n_flagged else None
    return {
        "flag_columns": flags,
        "min_influence": FLAG_MIN_INFLUENCE,
        "planted_roles": list(FLAG_ROLES),
        "accounts_high": n_high,
        "flagged_high": int((high & flagged).sum()),
        "flagged_unplanted_high": int(unplanted.sum()),
        "flagged_unplanted_share": share,
        "flagged_unplanted_target_met": None if share is None else share <= FLAG_MAX_UNPLANTED,
        "flagged_unplanted_roles": {str(k): int(v) for k, v in sorted(which.items())},
        "flagged": n_flagged,
        "flagged_planted": hits,
        "flag_precision": precision,
        "flag_precision_target_met": None if precision is None else precision >= FLAG_MIN_PRECISION,
    }


CEILING_DRAWS = 20  # draws averaged by evidence_ceiling


def evidence_ceiling(
    asks, propensity, prior: tuple[float, float], draws: int = CEILING_DRAWS, seed: int = 0
) -> float | None:
    """The Spearman correlation with ``propensity`` that responsiveness would reach if every ask were
    classified right: answered ~ Binomial(asks, propensity) per account, scored with the same Beta
    prior ``(a, b)`` as ``(answered + a) / (asks + a + b)``, averaged over ``draws`` seeded draws.
    What is left between this and the measured correlation is the pipeline's error; what is left
    between this and 1 is what so few asks cannot tell."""
    n = np.asarray(asks, dtype=np.int64)
    p = np.clip(np.asarray(propensity, dtype=float), 0.0, 1.0)
    if len(n) < 2:
        return None
    a, b = prior
    rng = np.random.default_rng(seed)
    values = [spearman((rng.binomial(n, p) + a) / (n + a + b), p) for _ in range(draws)]
    values = [v for v in values if v is not None]
    return _mean(values)


def evaluate_reach(
    lake: Lake,
    day: dt.date,
    net: str,
    truth: pd.DataFrame,
    topics: list[str],
    prior: tuple[float, float] = DEFAULT_PRIOR,
) -> dict | None:
    """Responsiveness against the planted answer propensity, and ``query reachable`` against planted
    responsive experts, for one network; None when ``account_scores`` of the day has no responsiveness.

    * Spearman(responsiveness, propensity) over the accounts with at least 1 and at least 5 asks
      (an account without asks shows the prior, which says nothing about it), each with its
      :func:`evidence_ceiling` under ``prior`` (the Beta prior of the run's settings);
    * per planted topic: of the top ``REACH_TOP`` of ``kindling query reachable``, how many are
      planted responsive experts of the topic (``expert`` and ``responsive`` roles), against
      min(REACH_TOP, how many there are); and how many organizations it lists with and without
      ``--people-only``.
    """

    folder = lake.published("account_scores", day) / f"network={net}"
    if "responsiveness" not in (_columns(folder) or []):
        return None
    acc = pd.read_parquet(folder, columns=["account_id", "responsiveness", "asks"])
    planted = truth[truth["role"] == "account"].drop_duplicates("account_id").set_index("account_id")
    both = acc.join(planted["propensity"], on="account_id", how="inner")
    out: dict = {}
    for k in RESP_MIN_ASKS:
        sub = both[both["asks"] >= k]
        out[f"spearman_asks_{k}"] = spearman(sub["responsiveness"], sub["propensity"])
        out[f"accounts_asks_{k}"] = len(sub)
        out[f"ceiling_asks_{k}"] = evidence_ceiling(sub["asks"], sub["propensity"], prior)
    responsive = set(truth.loc[truth["role"] == "responsive", "account_id"])
    orgs = set(planted.index[planted["account_type"] == "organization"])
    per_topic = []
    for topic in topics:
        experts = set(truth.loc[(truth["role"] == "expert") & (truth["topic"] == topic), "account_id"]) & responsive
        listed = [r["account_id"] for r in reachable(lake.root, topic, network=net, date=day.isoformat(), n=REACH_TOP)]
        people = [
            r["account_id"]
            for r in reachable(lake.root, topic, network=net, date=day.isoformat(), n=REACH_TOP, people_only=True)
        ]
        hits = len(experts.intersection(listed))
        per_topic.append(
            {
                "topic": topic,
                "responsive_experts": len(experts),
                "hits": hits,
                "precision": hits / min(REACH_TOP, len(experts)) if experts else None,
                "organizations": len(orgs.intersection(listed)),
                "organizations_people_only": len(orgs.intersection(people)),
            }
        )
    out.update(
        {
            "top": REACH_TOP,
            "hits_mean": _mean(m["hits"] for m in per_topic),
            "hits_max": _max(m["hits"] for m in per_topic),
            "responsive_experts_max": _max(m["responsive_experts"] for m in per_topic),
            "precision_mean": _mean(m["precision"] for m in per_topic),
            "organizations_max": _max(m["organizations"] for m in per_topic),
            "organizations_people_only_max": _max(m["organizations_people_only"] for m in per_topic),
            "per_topic": per_topic,
        }
    )
    return out


def evaluate_network(scores: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """The metrics of one network from its topic_scores rows and its ground-truth rows."""
    experts = truth[truth["role"] == "expert"]
    loud = truth[truth["role"] == "loud_non_expert"]
    loud_ids = set(loud["account_id"])
    planted = sorted(experts["topic"].dropna().unique())
    scored = set(scores["topic"].unique())
    topics = [t for t in planted if t in scored]

    per_topic = []
    pairs = []
    for topic in topics:
        rows = scores[scores["topic"] == topic]
        by_expertise = rows.sort_values(["expertise", "account_id"], ascending=[False, True])["account_id"].tolist()
        by_interest = rows.sort_values(["interest", "expertise", "account_id"], ascending=[False, False, True])[
            "account_id"
        ].tolist()
        level = experts[experts["topic"] == topic].groupby("account_id")["level"].max()
        expert_ids = set(level.index)
        m: dict = {"topic": topic, "accounts": len(rows), "experts": len(expert_ids)}
        for k in KS:
            hits = len(expert_ids.intersection(by_expertise[:k]))
            m[f"hits_at_{k}"] = hits
            m[f"precision_at_{k}"] = hits / min(k, len(expert_ids))
            m[f"hits_per_k_at_{k}"] = hits / k
        top_e, top_i = by_expertise[:LOUD_TOP], by_interest[:LOUD_TOP]
        m["loud_share_top_expertise"] = sum(a in loud_ids for a in top_e) / len(top_e)
        m["loud_share_top_interest"] = sum(a in loud_ids for a in top_i) / len(top_i)
        own_loud = set(loud.loc[loud["topic"] == topic, "account_id"])
        m["own_loud"] = len(own_loud)
        m["own_loud_recall_top_interest"] = len(own_loud.intersection(top_i)) / len(own_loud) if own_loud else None
        planted_level = rows["account_id"].map(level).fillna(0.0)
        m["spearman"] = spearman(rows["expertise"], planted_level)
        per_topic.append(m)
        pairs.append(pd.DataFrame({"expertise": rows["expertise"].to_numpy(), "level": planted_level.to_numpy()}))

    every = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame({"expertise": [], "level": []})
    return {
        "planted_topics": len(planted),
        "topics_evaluated": len(topics),
        "topics_not_scored": [t for t in planted if t not in scored],
        "planted_experts": sum(m["experts"] for m in per_topic),
        **{f"precision_at_{k}": _mean(m[f"precision_at_{k}"] for m in per_topic) for k in KS},
        **{f"hits_per_k_at_{k}": _mean(m[f"hits_per_k_at_{k}"] for m in per_topic) for k in KS},
        "loud_share_top_expertise_mean": _mean(m["loud_share_top_expertise"] for m in per_topic),
        "loud_share_top_expertise_max": _max(m["loud_share_top_expertise"] for m in per_topic),
        "loud_share_top_interest_mean": _mean(m["loud_share_top_interest"] for m in per_topic),
        "loud_share_top_interest_max": _max(m["loud_share_top_interest"] for m in per_topic),
        "own_loud_recall_top_interest_mean": _mean(m["own_loud_recall_top_interest"] for m in per_topic),
        "topics_with_own_loud": sum(1 for m in per_topic if m["own_loud"]),
        "spearman": spearman(every["expertise"], every["level"]),
        "spearman_per_topic_mean": _mean(m["spearman"] for m in per_topic),
        "per_topic": per_topic,
    }


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return sum(v) / len(v) if v else None


def _max(values) -> float | None:
    v = [x for x in values if x is not None]
    return max(v) if v else None


def format_report(result: dict, fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(result, indent=1, default=str)
    if fmt != "table":
        raise InvalidArgument(f"--format must be table or json, not {fmt!r}")
    blocks = []
    loud = f"  loud non-experts in top {LOUD_TOP}:  "
    for net, m in result.items():
        f = _num
        experts = m["planted_experts"]
        lines = [
            f"{net}, dt={m['dt']}: {m['topics_evaluated']} of {m['planted_topics']} planted topics scored, "
            f"{experts} planted expert{'' if experts == 1 else 's'}",
        ]
        if m["topics_not_scored"]:
            lines.append(
                f"  not scored: {', '.join(m['topics_not_scored'][:6])}"
                + (" ..." if len(m["topics_not_scored"]) > 6 else "")
            )
        for k in KS:
            lines.append(f"  precision@{k:<3} {f(m[f'precision_at_{k}'])}   (hits/{k}: {f(m[f'hits_per_k_at_{k}'])})")
        lines += [
            f"{loud}by expertise  mean {f(m['loud_share_top_expertise_mean'])}"
            f"  max {f(m['loud_share_top_expertise_max'])}",
            f"{'':{len(loud)}}by interest   mean {f(m['loud_share_top_interest_mean'])}"
            f"  max {f(m['loud_share_top_interest_max'])}",
            f"  own loud non-experts in top {LOUD_TOP} by interest: {f(m['own_loud_recall_top_interest_mean'])}"
            f"  (mean of {m['topics_with_own_loud']} topics)",
            f"  Spearman expertise ~ planted level: {f(m['spearman'])} (all pairs),"
            f" {f(m['spearman_per_topic_mean'])} (topic mean)",
        ]
        r = m.get("reach")
        if r is None:
            lines.append("  responsiveness: n/a (account_scores of the day has none)")
        elif not r["per_topic"]:
            lines.append(f"  responsiveness: n/a (no planted topic scored; {r['accounts_asks_1']} accounts with asks)")
        else:
            lines += [
                f"  Spearman responsiveness ~ planted propensity: {f(r['spearman_asks_1'])}"
                f" ({r['accounts_asks_1']} accounts with asks),",
                f"    {f(r['spearman_asks_5'])} ({r['accounts_asks_5']} accounts with 5 asks or more);",
                f"    the same asks answered at the planted propensity: {f(r['ceiling_asks_1'])},"
                f" {f(r['ceiling_asks_5'])}",
                f"  reachable top {r['top']}: planted responsive experts mean {f(r['hits_mean'])}"
                f"  max {_int(r['hits_max'])} (of at most {_int(r['responsive_experts_max'])});",
                f"    organizations listed max {_int(r['organizations_max'])},"
                f" with --people-only max {_int(r['organizations_people_only_max'])}",
            ]
        lines += _defenses_lines(m.get("defenses"))
        lines += _spark_lines(m.get("sparks"), m.get("shares"), m.get("flags"))
        blocks.append("\n".join(lines))
    notes = (
        "precision@k = experts in the top k / min(k, the topic's planted experts);\n"
        "hits/k = experts in the top k / k. Means are over the scored planted topics."
    )
    defenses = [m["defenses"] for m in result.values() if m.get("defenses")]
    if defenses:
        notes += (
            f"\ngamer gain = influence - median influence of the {GAMER_BASELINE_K} ordinary persons"
            " of\nthe closest planted popularity."
        )
        if any(d["baseline_lake"] for d in defenses):
            notes += " Defenses off: the tables of --baseline-lake."
        if any(d.get("twin_lake") for d in defenses):
            notes += (
                "\ngain over the twin = influence - influence in the same world without the gamers'"
                "\nstrategy (kindling generate --no-gaming): --twin-lake, --baseline-twin-lake."
            )
    blocks.append(notes)
    return "\n\n".join(blocks)


def _defenses_lines(d: dict | None) -> list[str]:
    """The rings and reply gamers part of a network's block (80 columns)."""
    if d is None:
        return ["  rings and reply gamers: n/a (account_scores of the day has no ring_flag)"]
    f = _num
    whole = (
        ""
        if d["rings_whole"] is None
        else f"; {d['rings_whole']} of {d['rings_planted']} planted rings whole ({d['rings_detected']} detected)"
    )
    lines = [
        f"  rings flagged: {d['ring_flagged']} accounts, {d['ring_hits']} of the {d['ring_planted']} planted members",
        f"    precision {f(d['ring_precision'])}  recall {f(d['ring_recall'])}{whole}",
    ]
    sides = [("defenses on", d)] + ([("off", d["baseline"] or {})] if d["baseline_lake"] else [])
    head = "".join(f"{name:>13}" for name, _ in sides)
    lines.append(f"  {'ring members, best rank':<36}{head}")

    def row(label: str, key: str, fmt) -> str:
        return f"    {label:<34}" + "".join(f"{fmt(s.get(key)):>13}" for _, s in sides)

    lines += [
        row("global", "ring_best_global_rank", _int),
        row("any topic", "ring_best_topic_rank", _int),
    ]
    for name, s in sides:
        if s.get("ring_best_topic") is not None:
            lines.append(f"      {name.split()[-1] + ':':<5}{s['ring_best_topic']} ({s['ring_best_topic_account']})")
    lines += [
        row(f"none in a top {RING_TOP}", "ring_target_met", _yes),
        f"  reply gamers' gain over baseline ({d['gamers']} of {d['gamers_planted']} gamers scored):",
        row("mean (influence points)", "gamer_gain_mean", _signed),
        row("max", "gamer_gain_max", _signed),
        row(f"mean <= {GAMER_MAX_GAIN:g}", "gamer_mean_target_met", _yes),
        row(f"max <= {GAMER_MAX_GAIN:g}", "gamer_target_met", _yes),
        "  ordinary accounts, the same measure (its noise):",
        row("mean", "ordinary_gain_mean", _signed),
        row("95th percentile", "ordinary_gain_p95", _signed),
        row("max", "ordinary_gain_max", _signed),
    ]
    if any(s.get("twin_lake") for _, s in sides):
        lines += [
            f"  reply gamers' gain over their twin ({d['twin_gamers']} gamers scored in both):",
            row("mean (influence points)", "twin_gain_mean", _signed),
            row("max", "twin_gain_max", _signed),
            row(f"max <= {GAMER_MAX_GAIN:g}", "twin_target_met", _yes),
            "  ordinary accounts, here - twin (what the gaming moved them):",
            row("mean", "twin_ordinary_mean", _signed),
            row("95th percentile", "twin_ordinary_p95", _signed),
            row("max", "twin_ordinary_max", _signed),
        ]
    return lines


def _spark_lines(sp: dict | None, sh: dict | None, fl: dict | None) -> list[str]:
    """The sparks, single-contributor shares and flags part of a network's block (80 columns)."""
    lines: list[str] = []
    if sp is not None:
        top = sp["top"]
        if not sp["sparks_planted"]:
            lines.append("  sparks: none planted")
        else:
            scored = "" if sp["sparks_scored"] is None else f", {sp['sparks_scored']} scored"
            lines += [
                f"  sparks ({sp['sparks_planted']} planted{scored}): {_int(sp['sparks_in_global_top'])} in the"
                f" global top {top},",
                f"    {sp['sparks_in_topic_top']} in a topic's top {top} (target 0: {_yes(sp['target_met'])});"
                f" best rank: global {_int(sp['best_global_rank'])}, topic {_int(sp['best_topic_rank'])}",
            ]
            if "sparks_lifted" in sp:
                lines.append(
                    f"    {sp['sparks_lifted']} there by their spark: out of the top {top}"
                    f" without it (target 0: {_yes(sp['lifted_target_met'])})"
                )
            if "world_lifted" in sp:
                lines.append(f"    {sp['world_lifted']} there by their spark: out of a top {top} in the same world")
                lines.append(
                    f"      without sparks (--no-sparks-lake; target 0: {_yes(sp['world_lifted_target_met'])})"
                )
            pe = sp.get("peers")
            if pe and pe["peers"]:

                def pct(n):
                    return "?" if n is None else f"{n} ({n / pe['peers']:.0%})"

                share = (
                    f"{sp['sparks_in_topic_top'] / sp['sparks_scored']:.0%} of the sparks"
                    if sp["sparks_scored"]
                    else "the sparks"
                )
                lines += textwrap.wrap(
                    f"their {pe['peers']} unplanted peers (the sparks' pool: quiet, unpopular persons) on their own"
                    f" evidence: {pct(pe['peers_in_topic_top'])} in a topic's top {top}, {pct(pe['peers_in_global_top'])}"
                    f" in the global top {top} (against {share} in a topic's top {top})",
                    80,
                    initial_indent="    ",
                    subsequent_indent="      ",
                    break_on_hyphens=False,
                )
            if sp["offenders"]:
                said = []

                world = "world_lifted" in sp

                def at(rank, w, no_spark=None):
                    text = f"{rank}" if not w else f"{rank}, {w['rank_without']} without {w['engager_share']:.2f}"
                    return (
                        text if not world else f"{text}, {'unranked' if no_spark is None else no_spark} with no spark"
                    )

                for o in sp["offenders"]:
                    where = (
                        [f"global: {at(o['global_rank'], o.get('global_without'), o.get('global_no_spark_rank'))}"]
                        if o["global_rank"] is not None
                        else []
                    ) + [
                        f"{t['topic']}: {at(t['rank_in_topic'], t if 'rank_without' in t else None, t.get('no_spark_rank'))}"
                        for t in o["topics"]
                    ]
                    said.append(f"{o['account_id']} ({'; '.join(where)})")
                what = "rank, rank without the engager's share" + (
                    ", rank in the world without sparks" if world else ""
                )
                lines += textwrap.wrap(
                    f"in a top {top} ({what}): " + "; ".join(said),
                    80,
                    initial_indent="    ",
                    subsequent_indent="      ",
                    break_on_hyphens=False,
                )
    if sh is not None:
        cap = sh["cap"]
        lines.append(f"  largest share of a score from one contributor (cap {cap:g}):")
        for side, label, source, counted, unit in (
            ("global", "global", "no graph_edges, graph_vertices", "global_accounts", "accounts"),
            ("topic", "topics'", "score_contributors with base_share", "topic_pairs", "(topic, account)"),
        ):
            if not sh[f"{side}_published"]:
                lines.append(f"    {label} top {sh['top']}: not published ({source})")
                continue
            lines.append(
                f"    {label} top {sh['top']}: max {_num(sh[f'{side}_max_share'])},"
                f" {sh[f'{side}_over']} of {sh[counted]} {unit} above {cap:g}"
            )
            if sh[f"{side}_max_account"] is not None:
                topic = f"{sh['topic_max_topic']}: " if side == "topic" else ""
                lines.append(f"      {topic}{sh[f'{side}_max_account']} <- {sh[f'{side}_max_contributor']}")
    if fl is not None:
        lines += [
            f"  flags ({' or '.join(fl['flag_columns'])}) against planted bots, gamers, rings:",
            f"    influence >= {fl['min_influence']:g}: {fl['flagged_unplanted_high']} of {fl['accounts_high']}"
            f" flagged, not planted: {_num(fl['flagged_unplanted_share'])}"
            f" (<= {FLAG_MAX_UNPLANTED:g}: {_yes(fl['flagged_unplanted_target_met'])})",
            f"    precision {_num(fl['flag_precision'])}: {fl['flagged_planted']} of {fl['flagged']} flagged"
            f" accounts planted (>= {FLAG_MIN_PRECISION:g}: {_yes(fl['flag_precision_target_met'])})",
        ]
        if fl["flagged_unplanted_roles"]:
            roles = ", ".join(f"{k} {v}" for k, v in fl["flagged_unplanted_roles"].items())
            lines += textwrap.wrap(
                f"flagged, not planted, by role: {roles}",
                80,
                initial_indent="      ",
                subsequent_indent="        ",
                break_on_hyphens=False,
            )
    return lines


def _num(v: float | None) -> str:
    return "  n/a" if v is None else f"{v:.3f}"


def _int(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}"


def _signed(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.3f}"


def _yes(v: bool | None) -> str:
    return "n/a" if v is None else ("yes" if v else "no")
