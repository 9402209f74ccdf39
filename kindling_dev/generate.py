"""Synthetic daily snapshots with planted ground truth (``kindling generate``).

Writes what a data provider would drop at the source, one folder per network and day::

    OUT/network=<n>/dt=<YYYY-MM-DD>/accounts.csv       header, comma separated
                                   /follows.csv
                                   /posts.jsonl        one JSON object per line, arrays as lists
                                   /interactions.parquet   Arrow schema of schemas/tables/interactions.yaml
                                   /_SUCCESS           empty, written last
    OUT/ground_truth.parquet

Timestamps in CSV/JSONL are ``YYYY-MM-DDTHH:MM:SSZ`` (UTC); CSV booleans are ``true``/``false``,
nulls are empty fields and arrays are joined with ``|``. Column names and order are those of the
table definitions in ``schemas/``.

The same arguments give byte-identical files: every random draw comes from a numpy Generator
seeded by (seed, network, day, stream), rows are sorted, and nothing reads the clock (except the
default ``end_date``, yesterday UTC). A day's content depends only on (seed, network, accounts,
that day), not on how many days were asked for, so a longer run extends a shorter one; the one
exception is the sparks' planted engagement (below), placed in the last ``SPARK_DAYS`` (7) days
before ``end_date`` so that it is fresh in any window ending there. Files are
written to a temporary name and renamed; a folder's ``_SUCCESS`` is removed first and written last.
``--no-gaming`` writes the *twin* of the same arguments: the same files except that the reply
gamers do not play their strategy (their replies to the top accounts, and the answers to them, are
left out; every other event is the same); ranked, it gives each gamer its planted baseline.

The planted world (per network; the two networks share the account id space ``a000000...``
and the topic set but not behaviour: popularity, roles and activity are drawn per network):

* popularity is lognormal (heavy-tailed); it drives follows, organic engagement and followers_count;
* topics have a Zipf-like popularity (the weights people's interests are drawn with). A topic has
  10-20 experts (at most max(3, 0.2·accounts/topics)), a quarter of them responsive, a quarter
  unresponsive (drawn over the experts of all such topics together). The network's
  ``DEEP_TOPICS`` (2) most popular topics are *deep*: 40-50 experts (at most
  max(that cap, accounts // 50), so 40 or more from 2,000 accounts), half of them responsive and a
  quarter unresponsive, per topic: from 2,000 accounts each deep topic has 20 or more planted
  responsive experts (rows ``expert`` and ``responsive``), enough for a full top 20 of
  ``kindling query reachable``. Deep topics are not marked in the ground truth: from 2,000
  accounts they are the only topics with more than 20 experts;
* every engagement picks a post from the pool of today's and yesterday's posts, either by topic
  (among the actor's interests, weighted by the author's topical quality) or globally (weighted by
  popularity); the post's author is the target;
* an account that receives a reply or mention answers that actor with a reply (a mention when the
  actor has no post of the last 7 days) with probability = its ``propensity``, within hours, the
  same day (an answer due after midnight is given at the day's last second);
* sparks (``--sparks N``, default accounts // 200: 25 of 5,000): ordinary accounts (persons with
  no planted role but ``account``, of popularity and mean posts per day both at most the median
  of such accounts: an ordinary account that posts often collects organic recognition) whose only
  notable evidence is ONE engagement from a top account (one of the 1% most popular, at least 5,
  not a bot, reply gamer or ring member):
  on one of the last ``SPARK_DAYS`` days before ``end_date`` the spark writes one extra post on
  a topic (one of its interests; the topic's hashtag and provider topic set) and the top account
  likes or reposts it, once, within hours. Every other engagement a spark would get — from
  anyone: people, like-bots, top accounts — is left out, so the planted one is its only evidence
  (the spark still posts and engages with others). Sparks and their events come from a stream of
  their own (seed, network, "sparks"): every other draw is the same as without sparks
  (``sparks=0``), and the extra posts and events are added after the day's draws, so the rest of
  the world is unchanged but for the event numbering and the dropped engagements of the sparks.
  With fewer than ``SPARK_DAYS`` days, a spark whose day falls before the first one has no
  engagement written.

``ground_truth.parquet`` — one row per (network, account_id, role, topic), sorted by network,
account_id, then role in the order below:

=============  ==========================================================================
network        network name
account_id     the account
role           ``account``: every account, once (its propensity, type, popularity)
               ``expert``: topic expert; ``topic`` and ``level`` (0.2..1] set. Others engage with
               its posts on the topic in proportion to 1 + 25·level², experts of the topic 5× more
               ``loud_non_expert``: posts 4-7 times a day, mostly on ``topic``, yet gets little
               engagement; level 0
               ``organization``: account_type organization (all of them): popularity x8, posts 2-4 a day,
               many on topics; only likes and reposts (never replies, mentions or quotes), never answers
               ``ring_member``: member of engagement ring ``ring_id`` (5-12 accounts liking and replying
               to each other, little else); ``topic`` = the topic the ring posts on
               ``like_bot``: ~60 likes a day, each on a post of a uniformly drawn poster (labelled bot,
               unknown or person)
               ``reply_gamer``: ~35 replies (and some mentions) a day aimed at the most popular accounts
               ``responsive``: planted propensity in [0.6, 0.95]; includes quiet experts (post ~0.3/day):
               a quarter of the experts of ordinary topics, half of a deep topic's, 10% of plain persons
               ``unresponsive``: planted propensity 0 among experts and top person accounts
               ``spark``: an ordinary account engaged once by a top account and by nobody else (above); ``topic`` =
               the topic of the post engaged with, ``engager_id`` = the top account
topic          taxonomy slug, or null
level          expertise level (``expert``: (0.2, 1]; ``loud_non_expert``: 0), else null
propensity     the account's answer propensity 0..1 (on every row of the account)
ring_id        ``<network>-ring-<k>`` on ``ring_member`` rows, else null
account_type   as in accounts.csv (on every row)
popularity     planted attractiveness (on every row)
post_rate      planted mean posts per day (on every row)
engager_id     on ``spark`` rows: the top account that engages with the spark once, else null
=============  ==========================================================================

Why one long module: the world, its days and its planted truth are drawn in a fixed order from
one seeded random stream, so that a seed gives the same snapshots byte for byte; the drawing
functions share that stream and the world's arrays, and splitting them would thread both through
several modules for no reader's gain.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

import schemas
from kindling.core.files import write_atomic_bytes, write_atomic_parquet
from kindling.core.validate import network_name, parse_date
from kindling.ingest.taxonomy import Taxonomy, load_taxonomy

ACCOUNT_TYPES = ("person", "organization", "bot", "unknown")
PERSON, ORG, BOT, UNKNOWN = range(4)
KINDS = ("reply", "quote", "repost", "mention", "like")
REPLY, QUOTE, REPOST, MENTION, LIKE = range(5)

ROLES = (
    "account",
    "expert",
    "loud_non_expert",
    "organization",
    "ring_member",
    "like_bot",
    "reply_gamer",
    "responsive",
    "unresponsive",
    "spark",
)

DEEP_TOPICS = 2  # per network, its most popular planted topics get many experts
DEEP_EXPERTS = (40, 51)  # experts of a deep topic: 40..50 (rng.integers bounds), half of them responsive
SPARK_ACCOUNTS_PER = 200  # default sparks: one per this many accounts (25 of 5,000; 5 of 1,000)
SPARK_DAYS = 7  # a spark's one engagement falls on one of the last this many days before end_date
SPARK_ENGAGERS = 0.01  # the engagers: this share of the most popular accounts (at least 5)

DAY = 86_400
HISTORY_DAYS = 7  # responses may point at the actor's latest post of this many days
_SEQ_BITS = 24  # post key = day ordinal << 24 | seq

# Generic hashtags are kept only when they name no taxonomy topic (checked at run time).
_GENERIC_TAGS = (
    "#tbt",
    "#news",
    "#love",
    "#photo",
    "#mood",
    "#monday",
    "#friday",
    "#weekend",
    "#happy",
    "#throwback",
    "#motivation",
    "#goals",
    "#blessed",
    "#nofilter",
    "#thread",
    "#breaking",
    "#update",
    "#live",
    "#community",
    "#tips",
    "#question",
    "#morning",
    "#thoughts",
    "#fun",
)
_FIRST = (
    "Maria",
    "James",
    "Aisha",
    "Wei",
    "Olga",
    "Carlos",
    "Priya",
    "Tom",
    "Fatima",
    "Kenji",
    "Lena",
    "Omar",
    "Sofia",
    "Ivan",
    "Amara",
    "Lucas",
    "Noor",
    "Emma",
    "Diego",
    "Hana",
    "José",
    "Zoë",
    "Łukasz",
    "Chloé",
    "Björn",
    "Ana",
    "Mehmet",
    "Grace",
    "Ravi",
    "Ines",
)
_LAST = (
    "Fox",
    "Garcia",
    "Chen",
    "Novak",
    "Okafor",
    "Singh",
    "Rossi",
    "Kim",
    "Silva",
    "Muller",
    "Haddad",
    "Tanaka",
    "Berg",
    "Costa",
    "Nguyen",
    "Smith",
    "Khan",
    "Lopez",
    "Ivanova",
    "Park",
)
_ORG_WORDS = (
    "Acme",
    "Northwind",
    "Blue River",
    "Summit",
    "Atlas",
    "Nova",
    "Orbit",
    "Pioneer",
    "Harbor",
    "Keystone",
    "Vertex",
    "Lumen",
    "Cedar",
    "Granite",
    "Beacon",
)
_ORG_SUFFIX = ("Labs", "News", "Media", "Inc", "Group", "Foundation", "Institute", "Co", "Studio")

_NICE_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --------------------------------------------------------------------------- randomness


def _rng(seed: int, *parts: int | str) -> np.random.Generator:
    """A Generator for one (seed, network, day, stream): stable across runs and machines."""
    key = [int(seed)]
    for p in parts:
        key.append(zlib.crc32(p.encode()) if isinstance(p, str) else int(p) & 0xFFFFFFFF)
    return np.random.default_rng(key)


def _weighted(rng: np.random.Generator, cum: np.ndarray, k: int) -> np.ndarray:
    """k indices drawn with replacement from weights given as their cumulative sum."""
    if k == 0 or len(cum) == 0:
        return np.zeros(k, dtype=np.int64)
    idx = np.searchsorted(cum, rng.random(k) * cum[-1], side="right")
    return np.minimum(idx, len(cum) - 1)


def _diurnal(rng: np.random.Generator, k: int, peak_hour: float) -> np.ndarray:
    """Seconds within a day, busier around peak_hour (UTC) and quiet twelve hours later."""
    hours = np.arange(24)
    w = 1.0 + 0.8 * np.cos((hours - peak_hour) / 24.0 * 2 * np.pi)
    h = _weighted(rng, np.cumsum(w), k)
    return h * 3600 + rng.integers(0, 3600, size=k)


# --------------------------------------------------------------------------- topics


def choose_topics(taxonomy: Taxonomy, n: int, seed: int) -> list[str]:
    """n leaf topics, spread round-robin over the top-level categories (locations left out)."""
    by_cat: dict[str, list[str]] = {}
    top = set(taxonomy.top_level())
    for slug in taxonomy.leaf_topics():
        if not _NICE_SLUG.match(slug) or len(slug) > 28 or slug.endswith("-super"):
            continue
        cats = sorted(a for a in taxonomy.ancestors(slug) if a in top)
        if cats and "location-super" not in cats:
            by_cat.setdefault(cats[0], []).append(slug)
    rng = _rng(seed, "topics")
    cats = sorted(by_cat)
    rng.shuffle(cats)
    pools = {c: list(rng.permutation(sorted(by_cat[c]))) for c in cats}
    chosen: list[str] = []
    while len(chosen) < n and any(pools.values()):
        for c in cats:
            if pools[c] and len(chosen) < n:
                chosen.append(str(pools[c].pop()))
    return sorted(chosen)


def hashtag_variants(slug: str) -> list[str]:
    """How people write a topic as a hashtag: #MachineLearning, machine_learning, #machinelearning..."""
    words = slug.split("-")
    camel = "".join(w.capitalize() for w in words)
    flat = "".join(words)
    snake = "_".join(words)
    out = ["#" + camel, "#" + flat, snake, "#" + snake, camel, flat]
    return list(dict.fromkeys(out))  # a one-word slug collapses some variants


def _generic_tags(taxonomy: Taxonomy) -> list[str]:
    known = {re.sub(r"[^a-z0-9]", "", s.lower()) for s in taxonomy.slugs}
    return [t for t in _GENERIC_TAGS if t[1:] not in known]


# --------------------------------------------------------------------------- the static world


@dataclass
class _World:
    """Everything about one network that does not change from day to day."""

    name: str
    n: int
    ids: np.ndarray  # object array of account ids
    atype: np.ndarray  # int8 codes into ACCOUNT_TYPES
    pop: np.ndarray
    verified: np.ndarray
    created_at: np.ndarray  # epoch seconds
    handle: np.ndarray
    display: np.ndarray
    follower_factor: np.ndarray
    post_rate: np.ndarray
    activity: np.ndarray  # organic engagements per day
    topical_share: np.ndarray
    own_topic: np.ndarray  # planted topic (expert, loud, ring), -1 none
    own_share: np.ndarray  # share of posts/engagements on own_topic
    int_ptr: np.ndarray  # CSR of interest topics
    int_topics: np.ndarray
    expert_level: np.ndarray  # level on own_topic when expert, else 0
    is_expert: np.ndarray
    is_loud: np.ndarray
    is_org: np.ndarray
    is_like_bot: np.ndarray
    is_gamer: np.ndarray
    ring: np.ndarray  # ring index, -1 none
    rings: list[np.ndarray]
    propensity: np.ndarray
    resp_delay: np.ndarray  # mean response delay, seconds
    responsive: np.ndarray  # planted responsive
    unresponsive: np.ndarray  # planted unresponsive
    quality_glob: np.ndarray  # multiplier on a post's global attractiveness
    top_accounts: np.ndarray  # indices of the most popular accounts (gamers' targets)
    peak_hour: float
    follows_src: np.ndarray
    follows_dst: np.ndarray
    account_columns: dict[str, list[str]] | None = None


def _pick(rng: np.random.Generator, pool: np.ndarray, k: int) -> np.ndarray:
    k = int(min(k, len(pool)))
    return np.sort(rng.choice(pool, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)


def _build_world(name: str, n: int, topics: list[str], seed: int, anchor_day: int) -> _World:
    rng = _rng(seed, name, "world")
    T = len(topics)
    idx = np.arange(n)

    # Per-network character: how heavy the popularity tail is, when people are awake, how busy.
    sigma = rng.uniform(0.9, 1.6)
    peak_hour = float(rng.uniform(12, 22))
    busy = rng.uniform(0.85, 1.15)

    atype = rng.choice(4, size=n, p=[0.90, 0.03, 0.02, 0.05]).astype(np.int8)
    pop = rng.lognormal(0.0, sigma, size=n)
    free = np.ones(n, dtype=bool)  # not yet given a planted role
    free[atype == ORG] = False

    def take(k: int, allowed: np.ndarray) -> np.ndarray:
        chosen = _pick(rng, idx[allowed & free], k)
        free[chosen] = False
        return chosen

    is_org = atype == ORG
    # Like-bots: mostly labelled bots, some hiding as unknown or person.
    n_like = max(2, round(0.015 * n))
    bots = _pick(rng, idx[atype == BOT], round(0.65 * n_like))
    free[bots] = False
    like_bots = np.concatenate([bots, take(n_like - len(bots), atype != BOT)])
    is_like_bot = np.zeros(n, dtype=bool)
    is_like_bot[like_bots] = True
    free[atype == BOT] = False  # the other labelled bots are feed bots: post, rarely engage

    persons = (atype == PERSON) | (atype == UNKNOWN)
    is_gamer = np.zeros(n, dtype=bool)
    is_gamer[take(max(2, round(0.006 * n)), persons)] = True

    ring = np.full(n, -1, dtype=np.int64)
    own_topic = np.full(n, -1, dtype=np.int64)
    rings: list[np.ndarray] = []
    for r in range(max(2, min(6, n // 800))):
        members = take(int(rng.integers(5, 13)), persons)
        ring[members] = r
        own_topic[members] = int(rng.integers(T))
        rings.append(members)

    # Topic popularity (Zipf-like weights of the interests below); the most popular topics are deep.
    topic_pop = rng.permutation(1.0 / np.arange(1, T + 1) ** 0.7)
    deep = np.zeros(T, dtype=bool)
    deep[np.argsort(-topic_pop, kind="stable")[:DEEP_TOPICS]] = True
    expert_level = np.zeros(n)
    is_expert = np.zeros(n, dtype=bool)
    per_topic_cap = max(3, int(0.2 * n / T))
    deep_cap = max(per_topic_cap, n // 50)
    for t in range(T):
        k = (
            min(int(rng.integers(*DEEP_EXPERTS)), deep_cap)
            if deep[t]
            else min(int(rng.integers(10, 21)), per_topic_cap)
        )
        members = take(k, atype == PERSON)
        is_expert[members] = True
        own_topic[members] = t
        expert_level[members] = 0.2 + 0.8 * rng.beta(2.0, 1.5, size=len(members))
    is_loud = np.zeros(n, dtype=bool)
    for t in range(T):
        members = take(int(rng.integers(2, 5)), atype == PERSON)
        is_loud[members] = True
        own_topic[members] = t

    # Popularity follows the role: audiences for organisations, little recognition for rings.
    pop = pop * np.select(
        [is_org, is_like_bot | (atype == BOT), is_gamer, ring >= 0, is_loud, is_expert],
        [8.0, 0.2, 0.5, 0.3, 0.5, 1.0 + expert_level],
        1.0,
    )
    top_accounts = np.argsort(-pop, kind="stable")[: max(10, n // 250)]

    # Interests: 1-3 topics (Zipf-like topic popularity), plus the planted topic.
    topic_w = np.cumsum(topic_pop)
    n_int = rng.integers(1, 4, size=n)
    n_int[is_like_bot] = 0
    lists = []
    draws = _weighted(rng, topic_w, int(n_int.sum()))
    pos = 0
    for i in range(n):
        own: list[int] = [int(own_topic[i])] if own_topic[i] >= 0 else []
        lists.append(np.array(sorted(set(own + draws[pos : pos + n_int[i]].tolist())), dtype=np.int64))
        pos += n_int[i]
    int_ptr = np.zeros(n + 1, dtype=np.int64)
    int_ptr[1:] = np.cumsum([len(x) for x in lists])
    int_topics = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)

    # Responsiveness: everyone has a propensity; some are planted answerers, some planted silent.
    propensity = rng.beta(1.2, 6.0, size=n)
    responsive = np.zeros(n, dtype=bool)
    unresponsive = np.zeros(n, dtype=bool)
    in_deep = is_expert & deep[own_topic]  # an expert's own_topic is its topic (never -1)
    shuffled = rng.permutation(idx[is_expert & ~in_deep])
    q = len(shuffled) // 4
    quiet, silent = [shuffled[:q]], [shuffled[q : 2 * q]]  # a quarter each
    for deep_t in np.nonzero(deep)[0]:  # deep topics: half responsive, a quarter unresponsive
        mine = rng.permutation(idx[is_expert & (own_topic == deep_t)])
        h, c = len(mine) // 2, len(mine) // 4
        quiet.append(mine[:h])
        silent.append(mine[h : h + c])
    quiet_experts = np.sort(np.concatenate(quiet))  # answer a lot, post little
    responsive[quiet_experts] = True
    unresponsive[np.concatenate(silent)] = True
    plain = idx[free & (atype == PERSON)]
    responsive[_pick(rng, plain, round(0.10 * len(plain)))] = True
    top_persons = [i for i in top_accounts if atype[i] == PERSON and not is_expert[i] and free[i]]
    unresponsive[top_persons[: max(1, len(top_persons) // 2)]] = True
    responsive &= ~unresponsive
    propensity[responsive] = rng.uniform(0.6, 0.95, size=int(responsive.sum()))
    propensity[unresponsive | is_org | is_like_bot | (atype == BOT)] = 0.0
    propensity[is_gamer] = rng.uniform(0.0, 0.1, size=int(is_gamer.sum()))
    resp_delay = np.where(responsive, rng.uniform(0.3, 2.0, size=n), rng.uniform(1.0, 6.0, size=n)) * 3600

    # Posting and engaging volumes.
    post_rate = rng.lognormal(np.log(0.2), 0.8, size=n) * np.clip(pop, 0.2, 20) ** 0.15
    post_rate[is_expert] = rng.uniform(0.7, 1.5, size=int(is_expert.sum()))
    post_rate[quiet_experts] = rng.uniform(0.15, 0.4, size=len(quiet_experts))
    post_rate[is_loud] = rng.uniform(4, 7, size=int(is_loud.sum()))
    post_rate[is_org] = rng.uniform(2, 4, size=int(is_org.sum()))
    post_rate[ring >= 0] = rng.uniform(1.2, 2.5, size=int((ring >= 0).sum()))
    feed_bots = (atype == BOT) & ~is_like_bot
    post_rate[feed_bots] = rng.uniform(0.5, 2.0, size=int(feed_bots.sum()))
    post_rate[is_like_bot] = 0.05
    post_rate[is_gamer] = rng.uniform(0.3, 0.8, size=int(is_gamer.sum()))
    post_rate *= busy

    activity = rng.lognormal(np.log(1.3), 0.9, size=n)
    activity[is_expert] = rng.uniform(2.0, 5.0, size=int(is_expert.sum()))
    activity[is_loud] = rng.uniform(0.5, 2.0, size=int(is_loud.sum()))
    activity[is_org] = rng.uniform(0.3, 1.5, size=int(is_org.sum()))
    activity[ring >= 0] = 0.3
    activity[atype == BOT] = 0.1
    activity[is_like_bot] = 0.0
    activity[is_gamer] = 0.5
    activity *= busy

    topical_share = np.select([is_expert, is_loud, ring >= 0], [0.8, 0.6, 0.5], 0.5)
    topical_share[is_gamer | is_like_bot | (atype == BOT)] = 0.25
    topical_share[is_org] = 0.6  # brands post on topics and their audience piles in
    own_share = np.select([is_expert, is_loud, ring >= 0], [0.85, 0.9, 0.7], 0.0)
    quality_glob = np.select([is_loud, is_like_bot | (atype == BOT)], [0.15, 0.3], 1.0)

    # Verified: ~3%, likelier for organisations and the most popular accounts.
    top_pct = np.zeros(n, dtype=bool)
    top_pct[np.argsort(-pop, kind="stable")[: max(1, n // 100)]] = True
    p_ver = np.select([is_org, top_pct, is_expert & (expert_level > 0.8)], [0.35, 0.5, 0.1], 0.012)
    p_ver[atype == BOT] = 0.0
    verified = rng.random(n) < p_ver

    age_days = np.where(atype == BOT, rng.uniform(30, 730, size=n), rng.uniform(60, 12 * 365, size=n))
    created_at = (anchor_day * DAY - (age_days * DAY).astype(np.int64)).astype(np.int64)
    follower_factor = rng.lognormal(np.log(25.0), 0.5, size=n) * np.where(is_org, 3.0, 1.0)

    handle, display = _names(rng, n, atype, is_like_bot)
    w = _World(
        name=name,
        n=n,
        ids=_account_ids(n),
        atype=atype,
        pop=pop,
        verified=verified,
        created_at=created_at,
        handle=handle,
        display=display,
        follower_factor=follower_factor,
        post_rate=post_rate,
        activity=activity,
        topical_share=topical_share,
        own_topic=own_topic,
        own_share=own_share,
        int_ptr=int_ptr,
        int_topics=int_topics,
        expert_level=expert_level,
        is_expert=is_expert,
        is_loud=is_loud,
        is_org=is_org,
        is_like_bot=is_like_bot,
        is_gamer=is_gamer,
        ring=ring,
        rings=rings,
        propensity=propensity,
        resp_delay=resp_delay,
        responsive=responsive,
        unresponsive=unresponsive,
        quality_glob=quality_glob,
        top_accounts=np.sort(top_accounts),
        peak_hour=peak_hour,
        follows_src=np.zeros(0, dtype=np.int64),
        follows_dst=np.zeros(0, dtype=np.int64),
    )
    w.follows_src, w.follows_dst = _base_follows(w, rng, T)
    return w


def _account_ids(n: int) -> np.ndarray:
    width = max(6, len(str(max(n - 1, 0))))
    return np.array([f"a{i:0{width}d}" for i in range(n)], dtype=object)


def _ascii(s: str) -> str:
    return s.translate(str.maketrans("éëŁłöüçñ", "eeLloucn")).lower()


def _names(rng, n, atype, is_like_bot):
    first = rng.integers(len(_FIRST), size=n)
    last = rng.integers(len(_LAST), size=n)
    word = rng.integers(len(_ORG_WORDS), size=n)
    suffix = rng.integers(len(_ORG_SUFFIX), size=n)
    style = rng.integers(3, size=n)
    handle = np.empty(n, dtype=object)
    display = np.empty(n, dtype=object)
    for i in range(n):
        if atype[i] == ORG:
            d = f"{_ORG_WORDS[word[i]]} {_ORG_SUFFIX[suffix[i]]}"
            h = d.replace(" ", "").lower()
        elif atype[i] == BOT:
            d = f"{_ORG_WORDS[word[i]]} Bot"
            h = ("autolike_" if is_like_bot[i] else "feed_") + _ORG_WORDS[word[i]].replace(" ", "").lower()
        else:
            f, ln = _FIRST[first[i]], _LAST[last[i]]
            d = f"{f} {ln}"
            h = (_ascii(f) + "_" + _ascii(ln), _ascii(f) + _ascii(ln), _ascii(f)[0] + _ascii(ln))[style[i]]
        handle[i] = f"{h}{i}"
        display[i] = d
    return handle, display


def _topic_members(w: _World, T: int) -> list[np.ndarray]:
    """Accounts interested in each topic."""
    owner = np.repeat(np.arange(w.n), np.diff(w.int_ptr))
    order = np.lexsort((owner, w.int_topics))
    t_sorted = w.int_topics[order]
    bounds = np.searchsorted(t_sorted, np.arange(T + 1))
    return [owner[order[bounds[t] : bounds[t + 1]]] for t in range(T)]


def _base_follows(w: _World, rng, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Each account follows 10-30 others: popular ones, and people of its topics (experts first)."""
    n = w.n
    k = np.clip(np.round(rng.lognormal(np.log(18), 0.3, size=n)), 10, 30).astype(np.int64)
    src = np.repeat(np.arange(n), k)
    dst = _weighted(rng, np.cumsum(w.pop**0.8), len(src))
    # about a third of each account's follows go to accounts of its interest topics
    topical = (rng.random(len(src)) < 0.35) & (np.diff(w.int_ptr)[src] > 0)
    members = _topic_members(w, T)
    tsrc = src[topical]
    cnt = np.diff(w.int_ptr)[tsrc]
    tpick = w.int_topics[w.int_ptr[tsrc] + (rng.random(len(tsrc)) * cnt).astype(np.int64)]
    tdst = np.empty(len(tsrc), dtype=np.int64)
    for t in range(T):
        sel = np.nonzero(tpick == t)[0]
        m = members[t]
        if len(sel) == 0 or len(m) == 0:
            tdst[sel] = tsrc[sel]  # dropped below as self-follows
            continue
        q = w.pop[m] ** 0.3 * np.where(w.own_topic[m] == t, 1 + 25 * w.expert_level[m] ** 2, 1.0)
        q = q * np.where(w.is_loud[m], 0.2, 1.0)
        tdst[sel] = m[_weighted(rng, np.cumsum(q), len(sel))]
    dst[topical] = tdst
    extra_src, extra_dst = [], []
    for members_r in w.rings:  # ring members follow each other
        a, b = np.meshgrid(members_r, members_r)
        extra_src.append(a.ravel())
        extra_dst.append(b.ravel())
    gamers = np.nonzero(w.is_gamer)[0]  # gamers follow the top accounts
    a, b = np.meshgrid(gamers, w.top_accounts)
    extra_src.append(a.ravel())
    extra_dst.append(b.ravel())
    src = np.concatenate([src, *extra_src])
    dst = np.concatenate([dst, *extra_dst])
    keys = _sorted_unique(src[src != dst] * n + dst[src != dst])
    return keys // n, keys % n


# --------------------------------------------------------------------------- sparks


@dataclass
class _Sparks:
    """The planted sparks of one network, sorted by account: each gets one engagement from a top account."""

    account: np.ndarray  # the spark (account index)
    engager: np.ndarray  # the top account that engages with it once
    day: np.ndarray  # days since epoch of the engagement (and of the spark's post)
    topic: np.ndarray  # topic of the post engaged with
    kind: np.ndarray  # LIKE or REPOST
    post_time: np.ndarray  # epoch seconds of the spark's post
    time: np.ndarray  # epoch seconds of the engagement
    variant: np.ndarray  # which hashtag variant of the topic the post carries
    is_spark: np.ndarray  # bool per account


def default_sparks(accounts: int) -> int:
    """The default number of sparks per network: one per SPARK_ACCOUNTS_PER accounts (5 of 1,000)."""
    return accounts // SPARK_ACCOUNTS_PER


def _ordinary(w: _World) -> np.ndarray:
    """Persons with no planted role but ``account`` (as ``kindling evaluate`` counts ordinary accounts)."""
    return (
        (w.atype == PERSON)
        & ~w.is_expert
        & ~w.is_loud
        & ~w.is_org
        & (w.ring < 0)
        & ~w.is_like_bot
        & ~w.is_gamer
        & ~w.responsive
        & ~w.unresponsive
    )


def _draw_sparks(w: _World, seed: int, k: int, end_day: int, n_topics: int) -> _Sparks:
    """``k`` sparks among the ordinary accounts of below-median popularity and posting rate, each engaged once by one of
    the top ``SPARK_ENGAGERS`` of accounts by popularity on one of the last ``SPARK_DAYS`` days up to
    ``end_day``. All drawn from the network's own "sparks" stream, whatever the other draws."""
    rng = _rng(seed, w.name, "sparks")
    idx = np.arange(w.n)
    ordinary = _ordinary(w)
    # quiet as well as unpopular: an ordinary account that posts often on a niche topic collects
    # the organic recognition of a few dozen accounts there, notable evidence of its own
    pool = (
        idx[ordinary & (w.pop <= np.median(w.pop[ordinary])) & (w.post_rate <= np.median(w.post_rate[ordinary]))]
        if ordinary.any()
        else idx[:0]
    )
    if k > len(pool):
        raise ValueError(
            f"sparks must be at most {len(pool)} with {w.n} accounts "
            "(ordinary accounts of low popularity and posting rate)"
        )
    top = np.sort(np.argsort(-w.pop, kind="stable")[: max(5, int(SPARK_ENGAGERS * w.n))])
    # the engager is a genuine top account: no bot, reply gamer or ring member
    genuine = top[(w.atype[top] != BOT) & ~w.is_like_bot[top] & ~w.is_gamer[top] & (w.ring[top] < 0)]
    account = _pick(rng, pool, k).astype(np.int64)
    engagers = genuine if len(genuine) else top
    engager = engagers[rng.integers(len(engagers), size=k)]
    day = end_day - rng.integers(0, SPARK_DAYS, size=k)
    cnt = np.diff(w.int_ptr)[account]
    pick = w.int_ptr[account] + (rng.random(k) * np.maximum(cnt, 1)).astype(np.int64)
    anything = rng.integers(max(n_topics, 1), size=k)
    topic = np.where(cnt > 0, w.int_topics[np.minimum(pick, max(len(w.int_topics) - 1, 0))], anything)
    kind = np.where(rng.random(k) < 0.5, LIKE, REPOST)
    post_time = day * DAY + rng.integers(8 * 3600, 20 * 3600, size=k)
    time = post_time + rng.integers(5 * 60, 3 * 3600, size=k)  # the same day: before 23:00
    variant = rng.integers(0, 1 << 30, size=k)
    is_spark = np.zeros(w.n, dtype=bool)
    is_spark[account] = True
    return _Sparks(
        account=account,
        engager=engager,
        day=day,
        topic=topic.astype(np.int64),
        kind=kind,
        post_time=post_time,
        time=time,
        variant=variant,
        is_spark=is_spark,
    )


def _spark_posts(sp: _Sparks, day: int, pool_size: int) -> tuple[_Posts, np.ndarray]:
    """The sparks' posts of ``day`` (numbered after the day's ``pool_size`` posts) and their variants."""
    today = np.nonzero(sp.day == day)[0]
    key = (np.int64(day) << _SEQ_BITS) + pool_size + np.arange(len(today), dtype=np.int64)
    posts = _Posts(day=day, author=sp.account[today], topic=sp.topic[today], time=sp.post_time[today], key=key)
    return posts, sp.variant[today]


def _with_sparks(inter: dict[str, np.ndarray], sp: _Sparks, day: int, spark_posts: _Posts) -> dict[str, np.ndarray]:
    """The day's events without any engagement of a spark, plus the sparks' planted engagement."""
    keep = ~sp.is_spark[inter["target"]]
    today = np.nonzero(sp.day == day)[0]
    if keep.all() and not len(today):
        return inter
    extra = {
        "actor": sp.engager[today],
        "target": sp.account[today],
        "kind": sp.kind[today],
        "post": spark_posts.key,
        "time": sp.time[today],
    }
    out = {c: np.concatenate([inter[c][keep], extra[c]]).astype(np.int64) for c in inter}
    order = np.lexsort((out["post"], out["kind"], out["target"], out["actor"], out["time"]))
    return {c: v[order] for c, v in out.items()}


# --------------------------------------------------------------------------- one day


@dataclass
class _Posts:
    day: int  # days since epoch
    author: np.ndarray
    topic: np.ndarray  # -1: no topic
    time: np.ndarray  # epoch seconds, sorted
    key: np.ndarray  # day << 24 | seq


def _posts(w: _World, seed: int, day: int) -> _Posts:
    rng = _rng(seed, w.name, day, "posts")
    counts = rng.poisson(w.post_rate)
    author = np.repeat(np.arange(w.n), counts)
    P = len(author)
    u = rng.random(P)
    cnt = np.diff(w.int_ptr)[author]
    pick = w.int_ptr[author] + (rng.random(P) * np.maximum(cnt, 1)).astype(np.int64)
    interest = np.where(cnt > 0, w.int_topics[np.minimum(pick, len(w.int_topics) - 1)], -1)
    own = w.own_topic[author]
    topic = np.where(
        (own >= 0) & (u < w.own_share[author]),
        own,
        np.where(rng.random(P) < w.topical_share[author], interest, -1),
    )
    t = day * DAY + _diurnal(rng, P, w.peak_hour)
    order = np.lexsort((author, t))
    author, topic, t = author[order], topic[order], t[order]
    key = (np.int64(day) << _SEQ_BITS) + np.arange(P, dtype=np.int64)
    return _Posts(day=day, author=author, topic=topic.astype(np.int64), time=t.astype(np.int64), key=key)


def _post_ids(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Post ids ``p<YYYYMMDD><seq:07d>`` from post keys, and the mask of keys that are -1 (none)."""
    key = np.asarray(key, dtype=np.int64)
    missing = key < 0
    if len(key) == 0:
        return np.zeros(0, dtype=str), missing
    days = np.where(missing, 0, key >> _SEQ_BITS)
    uniq, inv = np.unique(days, return_inverse=True)
    ymd = np.array([int(f"{dt.date(1970, 1, 1) + dt.timedelta(days=int(d)):%Y%m%d}") for d in uniq])
    num = ymd[inv] * 10_000_000 + (key & ((1 << _SEQ_BITS) - 1))
    return np.strings.add("p", num.astype(str)), missing


def _follows_of_day(w: _World, seed: int, day: int) -> tuple[np.ndarray, np.ndarray]:
    """The base follow graph with ~1% of edges dropped and ~1% new ones (drawn for that day)."""
    rng = _rng(seed, w.name, day, "follows")
    n = w.n
    keep = rng.random(len(w.follows_src)) >= 0.01
    m = len(w.follows_src) // 100
    new_src = rng.integers(n, size=m)
    new_dst = _weighted(rng, np.cumsum(w.pop**0.8), m)
    keys = np.concatenate([w.follows_src[keep] * n + w.follows_dst[keep], new_src * n + new_dst])
    keys = _sorted_unique(keys[keys // n != keys % n])
    return keys // n, keys % n


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    keys = np.sort(keys)
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys


def _interactions(
    w: _World,
    seed: int,
    day: int,
    today: _Posts,
    yesterday: _Posts,
    last_key: np.ndarray,
    n_topics: int,
    gaming: bool = True,
) -> dict[str, np.ndarray]:
    """One day's events as integer arrays: actor, target, kind, post key (-1: none), time.

    ``gaming`` False drops the reply gamers' strategy (their replies to the top accounts and the
    answers to those) and nothing else: every draw is made as with gaming, so every other event is
    the same, and the gamers' scores in that world are their planted baseline.
    """
    rng = _rng(seed, w.name, day, "interactions")
    n = w.n
    start, end = day * DAY, (day + 1) * DAY

    # The pool of posts one can act on: today's and yesterday's (older ones fade).
    p_author = np.concatenate([today.author, yesterday.author])
    p_topic = np.concatenate([today.topic, yesterday.topic])
    p_time = np.concatenate([today.time, yesterday.time])
    p_key = np.concatenate([today.key, yesterday.key])
    recency = np.concatenate([np.ones(len(today.author)), np.full(len(yesterday.author), 0.35)])
    glob_w = w.pop[p_author] * w.quality_glob[p_author] * recency
    empty = np.zeros(0, dtype=np.int64)
    game_from = game_to = 0  # the reply gamers' strategic events: acts[game_from:game_to]
    acts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # actor, target, post, kind

    by_author = np.argsort(p_author, kind="stable")
    a_start = np.searchsorted(p_author[by_author], np.arange(n))
    a_count = np.searchsorted(p_author[by_author], np.arange(n), side="right") - a_start

    def post_of(targets: np.ndarray) -> np.ndarray:
        """A random pool post of each target, -1 when it has none."""
        if len(by_author) == 0:
            return np.full(len(targets), -1, dtype=np.int64)
        c = a_count[targets]
        j = a_start[targets] + (rng.random(len(targets)) * np.maximum(c, 1)).astype(np.int64)
        return np.where(c > 0, by_author[np.minimum(j, len(by_author) - 1)], -1)

    if len(p_author):
        # 1. Organic engagement: on a topic of interest (by topical quality) or anything (by popularity).
        a = np.repeat(np.arange(n), rng.poisson(w.activity))
        cnt = np.diff(w.int_ptr)[a]
        topical = (rng.random(len(a)) < w.topical_share[a]) & (cnt > 0)
        pick = w.int_ptr[a] + (rng.random(len(a)) * np.maximum(cnt, 1)).astype(np.int64)
        t_of = np.where(topical, w.int_topics[np.minimum(pick, len(w.int_topics) - 1)], -1)
        own = w.own_topic[a]
        t_of = np.where(topical & (own >= 0) & (rng.random(len(a)) < w.own_share[a]), own, t_of)
        chosen = np.full(len(a), -1, dtype=np.int64)
        base_q = w.pop[p_author] ** 0.3 * recency
        for t in range(n_topics):
            sel = np.nonzero(t_of == t)[0]
            cand = np.nonzero(p_topic == t)[0]
            if len(sel) == 0 or len(cand) == 0:
                continue
            au = p_author[cand]
            mine = w.own_topic[au] == t
            is_exp = w.is_expert[au] & mine
            q = base_q[cand] * np.where(is_exp, 1 + 25 * w.expert_level[au] ** 2, 1.0)
            q = q * np.where(w.is_loud[au] & mine, 0.05, 1.0)
            actor_exp = w.is_expert[a[sel]] & (w.own_topic[a[sel]] == t)
            for flag, weights in ((False, q), (True, q * np.where(is_exp, 5.0, 1.0))):
                s = sel[actor_exp == flag]  # experts of the topic favour each other
                chosen[s] = cand[_weighted(rng, np.cumsum(weights), len(s))]
        rest = np.nonzero(chosen < 0)[0]
        chosen[rest] = _weighted(rng, np.cumsum(glob_w), len(rest))
        kind = rng.choice(5, size=len(a), p=[0.16, 0.05, 0.14, 0.10, 0.55])
        org = w.is_org[a]  # organisations only like and repost
        kind[org] = np.where(rng.random(int(org.sum())) < 0.6, LIKE, REPOST)
        acts.append((a, p_author[chosen], chosen, kind))

        # 2. Like-bots: many likes spread over many accounts: a uniform poster, then one of its posts.
        bots = np.nonzero(w.is_like_bot)[0]
        a = np.repeat(bots, rng.poisson(60, size=len(bots)))
        posters = np.nonzero(a_count > 0)[0]
        p = post_of(posters[rng.integers(len(posters), size=len(a))])
        acts.append((a, p_author[p], p, np.full(len(a), LIKE)))

        # 3. Reply gamers: reply to the most popular accounts' posts all day.
        top = np.zeros(n, dtype=bool)
        top[w.top_accounts] = True
        cand = np.nonzero(top[p_author])[0]
        gamers = np.nonzero(w.is_gamer)[0]
        a = np.repeat(gamers, rng.poisson(35, size=len(gamers)))
        if len(cand):
            p = cand[_weighted(rng, np.cumsum(glob_w[cand]), len(a))]
            game_from = sum(len(x[0]) for x in acts)
            acts.append((a, p_author[p], p, np.where(rng.random(len(a)) < 0.85, REPLY, MENTION)))
            game_to = game_from + len(a)

    # 4. Engagement rings: members like and reply to each other all day.
    for members in w.rings:
        a = np.repeat(members, rng.poisson(14, size=len(members)))
        shift = rng.integers(1, len(members), size=len(a))
        other = members[(np.searchsorted(members, a) + shift) % len(members)]
        p = post_of(other)
        kind = rng.choice(5, size=len(a), p=[0.30, 0.05, 0.10, 0.0, 0.55])
        kind[p < 0] = MENTION  # nothing to act on: name the account
        acts.append((a, other, p, kind))

    actor = np.concatenate([x[0] for x in acts] or [empty]).astype(np.int64)
    target = np.concatenate([x[1] for x in acts] or [empty]).astype(np.int64)
    post = np.concatenate([x[2] for x in acts] or [empty]).astype(np.int64)
    kind = np.concatenate([x[3] for x in acts] or [empty]).astype(np.int64)
    gamed = np.zeros(len(actor), dtype=bool)
    gamed[game_from:game_to] = True

    has_post = post >= 0
    safe = np.where(has_post, post, 0)
    ptime = np.where(has_post, p_time[safe] if len(p_time) else 0, start - 1)
    pkey = np.where(has_post, p_key[safe] if len(p_key) else -1, -1)
    # most mentions name an account, not a post
    pkey = np.where((kind == MENTION) & (rng.random(len(kind)) < 0.85), -1, pkey)
    # soon after a post of today; any time of the day otherwise
    delay = rng.exponential(2 * 3600, size=len(post)).astype(np.int64)
    room = end - ptime
    after = ptime + np.where(delay < room, delay, (rng.random(len(post)) * room).astype(np.int64))
    when = np.where(ptime >= start, after, start + _diurnal(rng, len(post), w.peak_hour))

    # 5. Answers: whoever receives a reply or mention answers the actor with its propensity.
    asked = np.nonzero(((kind == REPLY) | (kind == MENTION)) & (actor != target))[0]
    answers = asked[rng.random(len(asked)) < w.propensity[target[asked]]]
    r_actor, r_target = target[answers], actor[answers]
    r_delay = rng.exponential(1.0, size=len(answers)) * w.resp_delay[r_actor]
    r_when = (when[answers] + r_delay).astype(np.int64)
    # Each day is generated on its own: an answer that would fall after midnight is given at the
    # day's last second instead of being lost, so the planted propensity stays the answer rate.
    r_when = np.minimum(r_when, end - 1)
    # the post answered: the asker's latest post before the answer (today's, else of the last days)
    r_key = last_key[r_target]
    if len(today.author) and len(r_target):
        o = np.lexsort((today.time, today.author))
        combo = today.author[o] * (2 * DAY) + (today.time[o] - start)
        pos = np.searchsorted(combo, r_target * (2 * DAY) + (r_when - start), side="left") - 1
        posc = np.maximum(pos, 0)
        hit = (pos >= 0) & (today.author[o][posc] == r_target)
        r_key = np.where(hit, today.key[o][posc], r_key)
    r_kind = np.where(r_key >= 0, REPLY, MENTION)

    actor = np.concatenate([actor, r_actor])
    target = np.concatenate([target, r_target])
    kind = np.concatenate([kind, r_kind])
    pkey = np.concatenate([pkey, r_key])
    when = np.concatenate([when, r_when])
    gamed = np.concatenate([gamed, gamed[answers]])

    keep = actor != target
    if not gaming:
        keep &= ~gamed
    actor, target, kind, pkey, when = actor[keep], target[keep], kind[keep], pkey[keep], when[keep]
    order = np.lexsort((pkey, kind, target, actor, when))
    return {
        "actor": actor[order],
        "target": target[order],
        "kind": kind[order],
        "post": pkey[order],
        "time": when[order],
    }


# --------------------------------------------------------------------------- writing


def _iso(seconds: np.ndarray) -> np.ndarray:
    s = np.datetime_as_string(np.asarray(seconds, dtype="int64").astype("datetime64[s]"), unit="s")
    return np.strings.add(s, "Z")


def _csv_quote(v: str) -> str:
    """A free-text CSV field, quoted only when it has to be."""
    return '"' + v.replace('"', '""') + '"' if any(x in v for x in ',"\n\r') else v


def _csv_bytes(table_name: str, columns: dict[str, list[str]]) -> bytes:
    """A CSV with the table's columns in schema order; values already formatted (and quoted)."""
    names = schemas.table(table_name).column_names
    lines = [",".join(names)]
    lines.extend(",".join(row) for row in zip(*(columns[c] for c in names), strict=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


_ID_BYTES: dict[int, np.ndarray] = {}


def _id_bytes(ids: np.ndarray) -> np.ndarray:
    """Account ids as an (n, width) uint8 matrix (ids are fixed-width ASCII by construction)."""
    cached = _ID_BYTES.get(len(ids))
    if cached is None:
        fixed = np.array(ids.tolist(), dtype="S")
        if len({len(x) for x in ids.tolist()}) != 1:
            raise ValueError("account ids are not fixed-width")
        cached = _ID_BYTES[len(ids)] = fixed.view(np.uint8).reshape(len(ids), fixed.dtype.itemsize)
    return cached


def _pairs_csv(table_name: str, ids: np.ndarray, src: np.ndarray, dst: np.ndarray) -> bytes:
    """A two-column CSV of fixed-width ids, built as one byte matrix (follows has ~10^5 rows a day)."""
    names = schemas.table(table_name).column_names
    if len(names) != 2:
        raise ValueError(f"{table_name} is not a two-column table: {names}")
    idv = _id_bytes(ids)
    width = idv.shape[1]
    rows = np.empty((len(src), 2 * width + 2), dtype=np.uint8)
    rows[:, :width] = idv[src]
    rows[:, width] = ord(",")
    rows[:, width + 1 : 2 * width + 1] = idv[dst]
    rows[:, -1] = ord("\n")
    return (",".join(names) + "\n").encode() + rows.tobytes()


def _quoted(a: np.ndarray) -> np.ndarray:
    return np.strings.add(np.strings.add('"', a), '"')


def _static_account_columns(w: _World) -> dict[str, list[str]]:
    if w.account_columns is None:
        quote = _csv_quote
        w.account_columns = {
            "account_id": w.ids.tolist(),
            "handle": [quote(v) for v in w.handle.tolist()],
            "display_name": [quote(v) for v in w.display.tolist()],
            "account_type": [ACCOUNT_TYPES[t] for t in w.atype.tolist()],
            "created_at": _iso(w.created_at).tolist(),
            "verified": np.where(w.verified, "true", "false").tolist(),
        }
    return w.account_columns


def _write_day(
    folder: Path,
    w: _World,
    day: int,
    posts: _Posts,
    inter: dict[str, np.ndarray],
    follows: tuple[np.ndarray, np.ndarray],
    seed: int,
    slugs: list[str],
    variants: list[list[str]],
    generics: list[str],
    spark_posts: tuple[_Posts, np.ndarray] | None = None,
) -> dict[str, int]:
    """One snapshot folder. ``spark_posts``: the sparks' posts of the day and their hashtag variants,
    written among the others (by time) with their topic's hashtag and provider topic, drawing
    nothing from the day's streams."""
    folder.mkdir(parents=True, exist_ok=True)
    success = folder / "_SUCCESS"
    success.unlink(missing_ok=True)
    date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
    start = day * DAY

    # accounts: the static columns are formatted once per network
    indeg = np.bincount(follows[1], minlength=w.n)
    followers = np.round(indeg * w.follower_factor).astype(np.int64)
    columns = dict(_static_account_columns(w))
    if (w.created_at >= start - DAY).any():  # snapshot dates before the accounts' creation
        columns["created_at"] = _iso(np.minimum(w.created_at, start - DAY)).tolist()
    columns["followers_count"] = followers.astype(str).tolist()
    write_atomic_bytes(folder / "accounts.csv", _csv_bytes("accounts", columns))

    # follows
    write_atomic_bytes(folder / "follows.csv", _pairs_csv("follows", w.ids, follows[0], follows[1]))

    # posts: hashtags as people write them, provider topics on about half. Lines are assembled
    # with numpy string ops from pieces each encoded once by json.dumps (json.dumps per post costs
    # seconds at full size); every value is an id, a timestamp or one of our own tag strings.
    rng = _rng(seed, w.name, day, "tags")
    P = len(posts.author)
    topic = posts.topic
    variant = rng.integers(0, 1 << 30, size=P)
    n_gen = np.where(topic >= 0, rng.choice(3, size=P, p=[0.6, 0.3, 0.1]), rng.choice(3, size=P, p=[0.5, 0.35, 0.15]))
    g1 = rng.integers(max(len(generics), 1), size=P)
    g2 = rng.integers(max(len(generics), 1), size=P)
    with_topics = rng.random(P) < 0.5
    enc = json.dumps
    flat = np.array([enc(v, ensure_ascii=False) for vs in variants for v in vs] + [""])
    offset = np.cumsum([0] + [len(vs) for vs in variants])
    n_var = np.diff(offset)
    safe_t = np.maximum(topic, 0)
    which = np.minimum(offset[safe_t] + variant % n_var[safe_t], len(flat) - 1)
    topic_tag = np.where(topic >= 0, flat[which], "")
    gen = np.array([enc(x, ensure_ascii=False) for x in generics] or [""])
    tag1 = np.where((n_gen >= 1) & (len(generics) > 0), gen[g1], "")
    tag2 = np.where((n_gen >= 2) & (g2 != g1) & (len(generics) > 0), gen[g2], "")
    tags = topic_tag
    for extra in (tag1, tag2):
        joined = np.strings.add(np.strings.add(tags, ","), extra)
        tags = np.where(extra == "", tags, np.where(tags == "", extra, joined))
    topic_json = np.array([enc([sl], ensure_ascii=False) for sl in slugs] + ["[]"])
    topics_col = np.where(with_topics, topic_json[np.where(topic >= 0, topic, len(slugs))], "null")
    pid, _ = _post_ids(posts.key)
    values = {
        "post_id": _quoted(pid),
        "author_id": _quoted(w.ids[posts.author].astype(str)),
        "created_at": _quoted(_iso(posts.time)),
        "hashtags": np.strings.add(np.strings.add("[", tags), "]"),
        "topics": topics_col,
    }
    names = schemas.table("posts").column_names
    line = np.full(P, "{")
    for i, c in enumerate(names):
        line = np.strings.add(np.strings.add(line, ("," if i else "") + enc(c) + ":"), values[c])
    lines = np.strings.add(line, "}\n").tolist()
    if spark_posts is not None and len(spark_posts[0].author):
        more, variant = spark_posts
        tag = [
            enc(variants[t][v % len(variants[t])], ensure_ascii=False) for t, v in zip(more.topic, variant, strict=True)
        ]
        more_pid, _ = _post_ids(more.key)
        more_values = {
            "post_id": _quoted(more_pid),
            "author_id": _quoted(w.ids[more.author].astype(str)),
            "created_at": _quoted(_iso(more.time)),
            "hashtags": np.array([f"[{t}]" for t in tag]),
            "topics": topic_json[more.topic],
        }
        more_line = np.full(len(more.author), "{")
        for i, c in enumerate(names):
            more_line = np.strings.add(np.strings.add(more_line, ("," if i else "") + enc(c) + ":"), more_values[c])
        lines += np.strings.add(more_line, "}\n").tolist()
        order = np.lexsort(
            (
                np.concatenate([posts.key, more.key]),
                np.concatenate([posts.author, more.author]),
                np.concatenate([posts.time, more.time]),
            )
        )
        lines = [lines[i] for i in order]
        P += len(more.author)
    write_atomic_bytes(folder / "posts.jsonl", "".join(lines).encode("utf-8"))

    # interactions
    m = len(inter["actor"])
    prefix = f"{w.name}-{date.isoformat()}-"
    ids = pa.array(w.ids.tolist(), pa.string())
    post_id, no_post = _post_ids(inter["post"])
    cols = {
        "event_id": pa.array(np.strings.add(prefix, np.strings.zfill(np.arange(m).astype(str), 7))),
        "actor_id": ids.take(pa.array(inter["actor"])),
        "target_id": ids.take(pa.array(inter["target"])),
        "kind": pa.array(list(KINDS), pa.string()).take(pa.array(inter["kind"])),
        "post_id": pa.array(post_id, pa.string(), mask=no_post),
        "created_at": pa.array(inter["time"] * 1_000_000, pa.timestamp("us", tz="UTC")),
    }
    schema = schemas.table("interactions").arrow_schema()
    table = pa.Table.from_arrays([cols[f.name].cast(f.type) for f in schema], schema=schema)
    write_atomic_parquet(folder / "interactions.parquet", table)

    write_atomic_bytes(success, b"")
    return {"accounts": w.n, "follows": len(follows[0]), "posts": P, "interactions": m}


GROUND_TRUTH_SCHEMA = pa.schema(
    [
        pa.field("network", pa.string(), False),
        pa.field("account_id", pa.string(), False),
        pa.field("role", pa.string(), False),
        pa.field("topic", pa.string(), True),
        pa.field("level", pa.float64(), True),
        pa.field("propensity", pa.float64(), False),
        pa.field("ring_id", pa.string(), True),
        pa.field("account_type", pa.string(), False),
        pa.field("popularity", pa.float64(), False),
        pa.field("post_rate", pa.float64(), False),
        pa.field("engager_id", pa.string(), True),
    ]
)


def _ground_truth_rows(w: _World, slugs: list[str], sparks: _Sparks | None = None) -> list[tuple]:
    """Rows in GROUND_TRUTH_SCHEMA order: (role, topic, level, ring_id) per planted role."""
    rows = []
    spark_of = {} if sparks is None else {int(a): j for j, a in enumerate(sparks.account)}
    for i in range(w.n):
        own = slugs[w.own_topic[i]] if w.own_topic[i] >= 0 else None
        planted: list[tuple[str, str | None, float | None, str | None]] = [("account", None, None, None)]
        if w.is_expert[i]:
            planted.append(("expert", own, float(w.expert_level[i]), None))
        if w.is_loud[i]:
            planted.append(("loud_non_expert", own, 0.0, None))
        if w.is_org[i]:
            planted.append(("organization", None, None, None))
        if w.ring[i] >= 0:
            planted.append(("ring_member", own, None, f"{w.name}-ring-{w.ring[i]}"))
        if w.is_like_bot[i]:
            planted.append(("like_bot", None, None, None))
        if w.is_gamer[i]:
            planted.append(("reply_gamer", None, None, None))
        if w.responsive[i]:
            planted.append(("responsive", None, None, None))
        if w.unresponsive[i]:
            planted.append(("unresponsive", None, None, None))
        engager = None
        if sparks is not None and i in spark_of:
            planted.append(("spark", slugs[sparks.topic[spark_of[i]]], None, None))
            engager = str(w.ids[sparks.engager[spark_of[i]]])
        for role, topic, level, ring_id in planted:
            rows.append(
                (
                    w.name,
                    str(w.ids[i]),
                    role,
                    topic,
                    level,
                    float(w.propensity[i]),
                    ring_id,
                    ACCOUNT_TYPES[w.atype[i]],
                    float(w.pop[i]),
                    float(w.post_rate[i]),
                    engager if role == "spark" else None,
                )
            )
    return rows


# --------------------------------------------------------------------------- entry points


def _default_end_date() -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def generate(
    out_dir: str | Path,
    accounts: int = 5000,
    days: int = 35,
    networks: tuple[str, ...] | list[str] = ("alpha", "beta"),
    seed: int = 7,
    end_date: dt.date | None = None,
    *,
    topics: int | None = None,
    gaming: bool = True,
    sparks: int | None = None,
) -> dict:
    """Write ``days`` daily snapshot folders per network ending on ``end_date``, and the ground truth.

    ``topics`` is the number of planted topics (default: accounts // 125, between 3 and 40).
    ``gaming`` False writes the twin world of the same arguments in which the reply gamers do not
    play their strategy (:func:`_interactions`); its ground truth is the same.
    ``sparks``: planted sparks per network (default :func:`default_sparks`, accounts // 200; 0:
    none, and the files are those of a generator without sparks but for the ground truth's
    ``engager_id`` column). The ground truth lists every planted spark whatever ``days``.
    Returns a summary: rows per table, folders written, the planted topics.
    """
    if seed < 0:
        raise ValueError("seed must be >= 0")
    if accounts < 100:
        raise ValueError("accounts must be at least 100 (the planted roles need room)")
    if days < 1:
        raise ValueError("days must be at least 1")
    n_sparks = default_sparks(accounts) if sparks is None else int(sparks)
    if n_sparks < 0:
        raise ValueError("sparks must be >= 0")
    networks = tuple(network_name(n) for n in networks)
    if not networks or len(set(networks)) != len(networks):
        raise ValueError(f"networks must be distinct and not empty, got {networks!r}")
    end_date = end_date or _default_end_date()
    end_day = (end_date - dt.date(1970, 1, 1)).days
    first_day = end_day - days + 1
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    taxonomy = load_taxonomy()
    n_topics = topics if topics is not None else int(np.clip(accounts // 125, 3, 40))
    slugs = choose_topics(taxonomy, n_topics, seed)
    variants = [hashtag_variants(s) for s in slugs]
    generics = _generic_tags(taxonomy)

    rows = {"accounts": 0, "follows": 0, "posts": 0, "interactions": 0}
    folders: list[str] = []
    truth: list[tuple] = []
    for net in networks:
        w = _build_world(net, accounts, slugs, seed, _ANCHOR_DAY)
        sp = _draw_sparks(w, seed, n_sparks, end_day, n_topics)
        truth.extend(_ground_truth_rows(w, slugs, sp))
        cache: dict[int, _Posts] = {}
        for day in range(first_day, end_day + 1):
            for d in range(day - HISTORY_DAYS, day + 1):
                if d not in cache:
                    cache[d] = _posts(w, seed, d)
            for d in [d for d in cache if d < day - HISTORY_DAYS]:
                del cache[d]
            last_key = np.full(w.n, -1, dtype=np.int64)
            for d in range(day - HISTORY_DAYS, day):
                np.maximum.at(last_key, cache[d].author, cache[d].key)
            inter = _interactions(w, seed, day, cache[day], cache[day - 1], last_key, n_topics, gaming=gaming)
            spark_posts = _spark_posts(sp, day, len(cache[day].author))
            inter = _with_sparks(inter, sp, day, spark_posts[0])
            follows = _follows_of_day(w, seed, day)
            date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
            folder = out / f"network={net}" / f"dt={date.isoformat()}"
            counts = _write_day(
                folder, w, day, cache[day], inter, follows, seed, slugs, variants, generics, spark_posts=spark_posts
            )
            for k, v in counts.items():
                rows[k] += v
            folders.append(str(folder))

    truth.sort(key=lambda r: (r[0], r[1], ROLES.index(r[2]), r[3] or ""))
    gt = pa.Table.from_arrays(
        [pa.array([r[i] for r in truth], f.type) for i, f in enumerate(GROUND_TRUTH_SCHEMA)],
        schema=GROUND_TRUTH_SCHEMA,
    )
    write_atomic_parquet(out / "ground_truth.parquet", gt)
    role_counts: dict[str, int] = {}
    for r in truth:
        role_counts[r[2]] = role_counts.get(r[2], 0) + 1
    return {
        "out_dir": str(out),
        "networks": list(networks),
        "first_date": (end_date - dt.timedelta(days=days - 1)).isoformat(),
        "end_date": end_date.isoformat(),
        "folders": len(folders),
        "rows": rows,
        "ground_truth_rows": len(truth),
        "roles": role_counts,
        "topics": slugs,
        "gaming": gaming,
        "sparks": n_sparks,
    }


# Accounts were created between 2006 and 2019 whatever the snapshot dates (clamped to before the day).
_ANCHOR_DAY = (dt.date(2020, 1, 1) - dt.date(1970, 1, 1)).days


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder to write the snapshots into")
    parser.add_argument("--accounts", type=int, default=5000, help="accounts per network (default 5000)")
    parser.add_argument("--days", type=int, default=35, help="days ending on --end-date (default 35)")
    parser.add_argument("--networks", default="alpha,beta", help="comma-separated names (default alpha,beta)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--end-date", default=None, help="last day, YYYY-MM-DD (default: yesterday UTC)")
    parser.add_argument(
        "--sparks",
        type=int,
        default=None,
        help="planted sparks per network: ordinary accounts engaged once by a top account and "
        f"by nobody else (default: accounts // {SPARK_ACCOUNTS_PER})",
    )
    parser.add_argument(
        "--no-gaming",
        action="store_true",
        help="the twin world: the same snapshots without the reply gamers' strategy "
        "(their planted baseline; kindling evaluate --twin-lake)",
    )


def run(args: argparse.Namespace) -> int:
    end = parse_date(args.end_date, "--end-date") if args.end_date else None
    nets = tuple(n.strip() for n in args.networks.split(",") if n.strip())
    t0 = time.perf_counter()
    summary = generate(
        args.out,
        accounts=args.accounts,
        days=args.days,
        networks=nets,
        seed=args.seed,
        end_date=end,
        gaming=not args.no_gaming,
        sparks=getattr(args, "sparks", None),
    )
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="kindling generate", description=__doc__.splitlines()[0])
    add_arguments(p)
    raise SystemExit(run(p.parse_args()))
