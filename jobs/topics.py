"""topics: the evidence behind topic scores, and the inputs of topic-sensitive PageRank.

Pure DataFrame transforms (no session, no I/O), called by ``jobs.rank_step`` for one
network over the scoring window:

* ``post_topics``: each post's topics — its provider ``topics`` when it has
  any, else its hashtags matched through the taxonomy — rolled up to their
  ancestors (the mapping tables come from :mod:`kindling.ingest.topics`);
* ``topic_events``: the decayed engagements whose post is on a topic;
* ``recognition``: per (account, topic), the recognition *others* give it:
  ``recognizers`` = distinct accounts that engaged with its posts on the topic,
  ``recognition`` = the sum over them of their strongest engagement's decayed
  kind weight. This, not the account's own volume, is the topic's teleport vector;
* ``activity``: per (account, topic), its own posts and engagements on the topic,
  and ``interest`` = 100 * (posts_t + engagements_t) / (posts + engagements + prior);
* ``same_boards``: ranked topics whose board would be identical to another's (the same
  posts on them: a parent with one active child, an alias), folded into the most specific;
* ``slot_edges`` / ``slot_teleport``: one array per edge / account holding the
  global weight (slot 0) and every ranked topic's weight (slots 1..K), so that
  all topics advance together in one pass (``jobs.pagerank.pagerank_arrays``).
  Topic t's edge weight is ``S * (f + (1 - f) * on_t / raw)``: the pair's
  saturated weight ``S`` (see ``jobs.graph``), with the share of its raw weight
  that came from engagements on t-posts counted fully and the rest at the
  off-topic factor ``f`` (default 0.2).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.pagerank import expand_slots
from jobs.sparks import capped_sum


def tag_key(col: F.Column) -> F.Column:
    """The same key as ``kindling.ingest.topics.tag_key``: lower-cased letters and digits only."""
    return F.regexp_replace(F.lower(F.trim(col)), r"(?U)[\W_]+", "")


def post_topics(posts: DataFrame, tag_map: DataFrame, slug_map: DataFrame) -> DataFrame:
    """``post_id, author_id, topic`` (distinct), rolled up.

    ``tag_map``: ``key, topic`` (hashtag key -> topic and its ancestors);
    ``slug_map``: ``slug, topic`` (provider slug -> itself and its ancestors).
    """
    has_topics = F.coalesce(F.size("topics"), F.lit(0)) > 0
    provider = (
        posts.where(has_topics)
        .select("post_id", "author_id", F.explode("topics").alias("slug"))
        .select("post_id", "author_id", F.trim("slug").alias("slug"))
        .join(F.broadcast(slug_map), "slug")
        .select("post_id", "author_id", "topic")
    )
    tagged = (
        posts.where(~has_topics & (F.coalesce(F.size("hashtags"), F.lit(0)) > 0))
        .select("post_id", "author_id", F.explode("hashtags").alias("tag"))
        .select("post_id", "author_id", tag_key(F.col("tag")).alias("key"))
        .join(F.broadcast(tag_map), "key")
        .select("post_id", "author_id", "topic")
    )
    return provider.unionByName(tagged).distinct()


def topic_events(events: DataFrame, ptopics: DataFrame) -> DataFrame:
    """``actor_id, target_id, kind, w, topic``: engagements with a post on the topic (by its author)."""
    p = ptopics.select("post_id", F.col("author_id").alias("target_id"), "topic")
    return (
        events.where(F.col("post_id").isNotNull())
        .join(p, ["post_id", "target_id"])
        .select("actor_id", "target_id", "kind", "w", "topic")
    )


def recognition(tevents: DataFrame, max_share: float = 1.0) -> DataFrame:
    """``account_id, topic, recognizers, recognition``: per account and topic, the distinct accounts
    that engaged with its posts on the topic, and the sum of each one's strongest engagement —
    with no recognizer above ``max_share`` of the sum (:func:`jobs.sparks.capped_sum`; 1: plain sum)."""

    strongest = (
        tevents.where(F.col("actor_id") != F.col("target_id"))
        .groupBy("target_id", "topic", "actor_id")
        .agg(F.max("w").alias("w"))
    )
    counted = strongest.groupBy(F.col("target_id").alias("account_id"), "topic").agg(
        F.count(F.lit(1)).alias("recognizers"), F.sum("w").alias("recognition")
    )
    if max_share >= 1:
        return counted
    capped = capped_sum(strongest.withColumnRenamed("target_id", "account_id"), ["account_id", "topic"], "w", max_share)
    return counted.join(capped, ["account_id", "topic"]).select(
        "account_id", "topic", "recognizers", F.col("capped").alias("recognition")
    )


def scale_recognition(rec: DataFrame, volume: DataFrame | None) -> DataFrame:
    """``rec`` with ``recognition`` multiplied by the account's ``volume`` factor
    (:func:`jobs.graph.volume_factor`: ``dst, volume``; absent: 1): the volume rule of the
    edges applied to the topic's teleport, so posting all day does not buy recognition either."""
    if volume is None:
        return rec
    v = volume.select(F.col("dst").alias("account_id"), "volume")
    return rec.join(v, "account_id", "left").select(
        *[
            (F.col("recognition") * F.coalesce(F.col("volume"), F.lit(1.0))).alias("recognition")
            if c == "recognition"
            else F.col(c)
            for c in rec.columns
        ]
    )


def ranked_topics(rec: DataFrame, min_recognized: int) -> list[str]:
    """Topics with at least ``min_recognized`` recognised accounts, sorted (slots 1..K)."""
    # recognised: a recognition above 0 (one recognizer alone makes none: jobs.sparks.capped_sum)
    rows = (
        rec.where(F.col("recognition") > 0)
        .groupBy("topic")
        .agg(F.count(F.lit(1)).alias("n"))
        .where(F.col("n") >= int(min_recognized))
        .collect()
    )
    return sorted(r["topic"] for r in rows)


def same_boards(ptopics: DataFrame, topics: list[str], ancestors: Callable[[str], set[str]]) -> dict[str, str]:
    """Which of ``topics`` would publish another's board: ``{folded topic: topic keeping the board}``.

    Everything a topic's board is made of — its events (:func:`topic_events`), recognition,
    activity, slot edges and teleport — is a function of the set of (post, author) pairs
    ``ptopics`` puts on it, so two topics with the same set get identical boards: a parent with
    one active child and no posts of its own (``agriculture`` when every post on it is on
    ``tractors``), a chain of single active children, an alias. Such a group keeps one board, that of its most
    specific member: the one none of the others descends from (``ancestors``: a slug's transitive
    parents), then the deepest, then the first slug; the others point to it. A parent with two
    active children has a set of its own and keeps its board.

    Candidates are grouped by (count, two sums of hashes) of their sets, then checked exactly:
    a group is folded only when every one of its posts is on every member (a hash collision,
    never seen, would leave that group unfolded). One aggregation over the topics' posts, and a
    second over the candidates' posts when there are any.
    """
    if len(topics) < 2:
        return {}
    p = ptopics.where(F.col("topic").isin(topics)).select("post_id", "author_id", "topic")
    sig = p.groupBy("topic").agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.xxhash64("post_id", "author_id").cast("decimal(20,0)")).alias("h1"),
        F.sum(F.hash("author_id", "post_id").cast("long")).alias("h2"),
    )
    groups = [
        sorted(r["ts"])
        for r in sig.groupBy("n", "h1", "h2").agg(F.collect_list("topic").alias("ts")).where(F.size("ts") > 1).collect()
    ]
    if not groups:
        return {}
    group_of = F.create_map(*[x for g, ts in enumerate(groups) for t in ts for x in (F.lit(t), F.lit(g))])
    on_all = (
        p.select("post_id", "author_id", group_of[F.col("topic")].alias("g"))
        .where(F.col("g").isNotNull())
        .groupBy("g", "post_id", "author_id")
        .agg(F.count(F.lit(1)).alias("k"))
        .groupBy("g")
        .agg(F.min("k").alias("k"))
        .collect()
    )
    exact = {r["g"] for r in on_all if r["k"] == len(groups[r["g"]])}
    out: dict[str, str] = {}
    for g in sorted(exact):
        ts = groups[g]
        up = {t: ancestors(t) for t in ts}
        keep = min(ts, key=lambda t: (sum(t in up[o] for o in ts), -len(up[t]), t))
        out.update({t: keep for t in ts if t != keep})
    return out


def activity(posts: DataFrame, ptopics: DataFrame, events: DataFrame, tevents: DataFrame, prior: float) -> DataFrame:
    """``account_id, topic, own_posts, own_engagements, interest`` for every account active on a topic."""
    own_posts = ptopics.groupBy(F.col("author_id").alias("account_id"), "topic").agg(
        F.count(F.lit(1)).alias("own_posts")
    )
    own_eng = tevents.groupBy(F.col("actor_id").alias("account_id"), "topic").agg(
        F.count(F.lit(1)).alias("own_engagements")
    )
    n_posts = posts.groupBy(F.col("author_id").alias("account_id")).agg(F.count(F.lit(1)).alias("_p"))
    n_eng = events.groupBy(F.col("actor_id").alias("account_id")).agg(F.count(F.lit(1)).alias("_e"))
    act = own_posts.join(own_eng, ["account_id", "topic"], "full").na.fill(0, ["own_posts", "own_engagements"])
    act = act.join(n_posts, "account_id", "left").join(n_eng, "account_id", "left")
    denom = F.coalesce("_p", F.lit(0)) + F.coalesce("_e", F.lit(0)) + F.lit(float(prior))
    share = (F.col("own_posts") + F.col("own_engagements")) / F.when(denom > 0, denom).otherwise(F.lit(1.0))
    return act.select(
        "account_id",
        "topic",
        "own_posts",
        "own_engagements",
        F.round(F.least(F.lit(100.0), F.lit(100.0) * share), 4).alias("interest"),
    )


def _slot_index(topics: list[str]) -> F.Column:
    return F.create_map(*[x for i, t in enumerate(topics, start=1) for x in (F.lit(t), F.lit(i))])


def slot_factors(
    edges: DataFrame, tevents: DataFrame | None, topics: list[str], offtopic: float, trust: bool = False
) -> DataFrame:
    """``src, dst, w, m``: the slot weights of :func:`slot_edges` in factored form (see
    :func:`jobs.pagerank.pagerank_arrays`, ``scale`` = :func:`slot_scale`): the pair's weight
    ``w``, and in ``m`` the multiplier of every slot that differs from the off-topic factor:
    topic t's ``f + (1 - f) * share_t`` for the topics of the pair's engagements and, with
    ``trust``, 1 for the trusted-seed slot K + 1 (the global slot's 1 is ``scale``'s). With
    ``norm_weight`` in ``edges``, also ``n``: the pair's normaliser, under the same multipliers."""
    k = len(topics)
    norm = [F.col("norm_weight").alias("n")] if "norm_weight" in edges.columns else []
    f = float(offtopic)
    listed = F.create_map().cast("map<int,double>")
    if k:
        assert tevents is not None, "topic slots need the topic events"
        idx = _slot_index(topics)
        on = (
            tevents.select(
                F.col("actor_id").alias("src"), F.col("target_id").alias("dst"), idx[F.col("topic")].alias("slot"), "w"
            )
            .where(F.col("slot").isNotNull())
            .groupBy("src", "dst", "slot")
            .agg(F.sum("w").alias("on"))
            .groupBy("src", "dst")
            .agg(F.map_from_entries(F.collect_list(F.struct("slot", "on"))).alias("_on"))
        )
        edges = edges.join(on, ["src", "dst"], "left")
        share = lambda v: F.least(F.lit(1.0), v / F.col("raw_weight"))  # noqa: E731
        listed = F.coalesce(F.transform_values("_on", lambda _t, v: F.lit(f) + F.lit(1.0 - f) * share(v)), listed)
    if trust:
        listed = F.map_concat(listed, F.create_map(F.lit(k + 1), F.lit(1.0)))
    return edges.select("src", "dst", F.col("weight").alias("w"), *norm, listed.alias("m"))


def slot_scale(slots: int, offtopic: float) -> list[float]:
    """The default multiplier of each slot of :func:`slot_factors`: 1 for the global slot, the
    off-topic factor for the others (a slot's own edges list theirs in ``m``)."""
    return [1.0] + [float(offtopic)] * (slots - 1)


def slot_edges(
    edges: DataFrame, tevents: DataFrame | None, topics: list[str], offtopic: float, trust: bool = False
) -> DataFrame:
    """``src, dst, w``: per pair, [global weight, weight for topic 1, ..., topic K] (and, with
    ``trust``, the global weight once more for the trusted-seed slot K + 1): :func:`slot_factors`
    written out as arrays.

    When ``edges`` has ``norm_weight`` (:func:`jobs.graph.build_edges`), also ``n``: the same
    per-slot arrays from ``norm_weight``, each source's out-weight in PageRank."""

    slots = len(topics) + (2 if trust else 1)
    return expand_slots(slot_factors(edges, tevents, topics, offtopic, trust), slot_scale(slots, offtopic))


def slot_teleport(accounts: DataFrame, rec: DataFrame, topics: list[str], seeds: DataFrame | None = None) -> DataFrame:
    """``id, v``: per account, [1 (uniform, global), recognition on topic 1, ..., topic K] and,
    with ``seeds`` (``account_id``), 1 for a trusted seed and 0 otherwise in slot K + 1."""
    k = len(topics)
    ids = accounts.where(F.col("account_id").isNotNull()).select(F.col("account_id").alias("id")).distinct()
    if seeds is not None:
        ids = ids.join(
            seeds.select(F.col("account_id").alias("id"), F.lit(1.0).alias("_seed")).distinct(), "id", "left"
        )
        seed = F.array(F.coalesce(F.col("_seed"), F.lit(0.0)))
    if k == 0:
        v = F.array(F.lit(1.0))
        return ids.select("id", (F.concat(v, seed) if seeds is not None else v).alias("v"))
    idx = _slot_index(topics)
    r = (
        rec.select(
            F.col("account_id").alias("id"), idx[F.col("topic")].alias("slot"), F.col("recognition").cast("double")
        )
        .where(F.col("slot").isNotNull())
        .groupBy("id")
        .agg(F.map_from_entries(F.collect_list(F.struct("slot", "recognition"))).alias("_r"))
    )
    v = F.transform(
        F.sequence(F.lit(0), F.lit(k)),
        lambda i: F.when(i == 0, F.lit(1.0)).otherwise(F.coalesce(F.col("_r")[i], F.lit(0.0))),
    )
    if seeds is not None:
        v = F.concat(v, seed)
    return ids.join(r, "id", "left").select("id", v.alias("v"))


def topic_ranks(ranks: DataFrame, topics: list[str], only: DataFrame | None = None) -> DataFrame:
    """``account_id, topic, topic_rank`` from ``id, pr`` (slot 0, the global score, left out).

    ``only`` (``account_id, topic``): just those pairs, looked up in each account's array instead
    of exploding every account's every slot (at 1M accounts and 100 topics, 100M rows)."""
    names = F.array(*[F.lit(t) for t in topics]) if topics else F.array().cast("array<string>")
    if only is not None:
        slot = _slot_index(topics)[F.col("topic")] if topics else F.lit(None).cast("int")
        return (
            only.select("account_id", "topic")
            .where(slot.isNotNull())
            .distinct()
            .join(ranks.select(F.col("id").alias("account_id"), "pr"), "account_id")
            .select("account_id", "topic", F.get("pr", slot).alias("topic_rank"))
        )
    return (
        ranks.select(F.col("id").alias("account_id"), F.posexplode("pr").alias("slot", "topic_rank"))
        .where((F.col("slot") >= 1) & (F.col("slot") <= len(topics)))  # not the trusted-seed slot after them
        .select("account_id", F.get(names, F.col("slot") - 1).alias("topic"), "topic_rank")
    )


def kinds_mix(events: DataFrame, keys: list[str]) -> DataFrame:
    """``*keys, events, kinds``: interaction count and kind mix ('reply=3,like=1', most frequent first)."""
    c = events.groupBy(*keys, "kind").agg(F.count(F.lit(1)).alias("n"))
    return (
        c.groupBy(*keys)
        .agg(
            F.sum("n").alias("events"),
            F.array_sort(F.collect_list(F.struct((-F.col("n")).alias("neg"), F.col("kind"), F.col("n")))).alias("_k"),
        )
        .select(
            *keys,
            "events",
            F.concat_ws(",", F.transform("_k", lambda x: F.concat(x["kind"], F.lit("="), x["n"].cast("string")))).alias(
                "kinds"
            ),
        )
    )


def contributors(
    top: DataFrame,
    ranks: DataFrame,
    edges: DataFrame,
    damping: float,
    k: int,
    scale: list[float] | None = None,
    cap: list[float] | None = None,
) -> DataFrame:
    """The top ``k`` contributors of each account of ``top`` in its slot, with exact shares of its score.

    ``top``: ``account_id, slot`` — the accounts to explain per slot;
    ``ranks``: ``id, pr`` (final ranks, arrays); ``edges``: ``src, dst, w`` (slot weights) and
    optionally ``n`` (the out-weight normalisers, as PageRank used them), as arrays or, with
    ``scale``, in factored form (:func:`slot_factors`).
    The rank flowing along src -> dst in slot s is ``d * pr_s(src) * w_s / out_s(src)``, with
    ``out_s(src)`` the sum of ``max(w_s, n_s)`` over src's edges (weights below 0 count as 0), as
    :func:`jobs.pagerank.pagerank_arrays` divides. ``share`` = that flow over ``pr_s(dst)``: the
    share of the account's score. At the fixed point ``pr_s(dst)`` is the sum of every flow in plus
    what the teleport brings (its own teleport weight, dangling ranks and the credit the
    defenses withheld, all returned through it), so ``base_share`` = 1 - (sum of every flow) /
    ``pr_s(dst)``, and the shares of all contributors plus ``base_share`` add to 1; the ``k``
    listed add to at most ``1 - base_share``. Out-weights are summed only for the (source, slot)
    pairs that reach a top account. ``cap``: per slot, the spark cap PageRank ranked with (0:
    none), each flow at most that share of ``pr_s(dst)`` (:func:`jobs.pagerank.pagerank_arrays`).

    ``account_id, slot, contributor_id, share, base_share, contributor_rank``.
    """
    nonneg = lambda c: F.greatest(c, F.lit(0.0))  # noqa: E731
    if scale is None:
        weight = lambda c: F.get(c, F.col("slot"))  # noqa: E731
    else:
        mult = F.array(*[F.lit(float(x)) for x in scale])[F.col("slot")]
        if "m" in edges.columns:
            mult = F.coalesce(F.col("m")[F.col("slot")], mult)
        weight = lambda c: F.col(c) * mult  # noqa: E731
    # the out-weight PageRank divided by: each edge counts max(w, n) (n: absent or null counts as w)
    norm = F.greatest(nonneg(weight("w")), nonneg(weight("n"))) if "n" in edges.columns else nonneg(weight("w"))
    into = edges.join(top.select(F.col("account_id").alias("dst"), "slot"), "dst")
    need = into.select("src", "dst", "slot", nonneg(weight("w")).alias("_w"))
    out = edges.join(need.select("src", "slot").distinct(), "src").groupBy("src", "slot").agg(F.sum(norm).alias("_out"))
    own = top.join(ranks.select(F.col("id").alias("account_id"), "pr"), "account_id").select(
        "account_id", "slot", F.get("pr", F.col("slot")).alias("_rank")
    )
    flows = (
        need.join(out, ["src", "slot"])
        .join(ranks.select(F.col("id").alias("src"), "pr"), "src")
        .select(
            F.col("dst").alias("account_id"),
            "slot",
            F.col("src").alias("contributor_id"),
            (F.lit(float(damping)) * F.get("pr", F.col("slot")) * F.col("_w") / F.col("_out")).alias("flow"),
        )
        .where(F.col("flow") > 0)
        .join(own.where(F.col("_rank") > 0), ["account_id", "slot"])
    )
    if cap and any(0 < c < 1 for c in cap):
        share = F.coalesce(
            F.get(F.array(*[F.lit(float(c) if 0 < c < 1 else 0.0) for c in cap]), F.col("slot")), F.lit(0.0)
        )
        held = F.when(share > 0, F.least(F.col("flow"), share * F.col("_rank"))).otherwise(F.col("flow"))
        flows = flows.withColumn("flow", held)
    per = Window.partitionBy("account_id", "slot")
    # Ordered by the share as published (6 decimals), then by id: two contributors whose flows
    # are equal up to float noise (it differs from run to run with the summation order) keep
    # the same ranks on a rerun, and equal shown shares are listed by contributor_id.
    ordered = per.orderBy(F.col("share").desc(), F.col("contributor_id"))
    shares = flows.select(
        "account_id",
        "slot",
        "contributor_id",
        F.round(F.col("flow") / F.col("_rank"), 6).alias("share"),
        (F.lit(1.0) - F.sum("flow").over(per) / F.col("_rank")).alias("base_share"),
    )
    # a contributor whose share shows as 0 (below 0.0000005: a source the cap left with almost no
    # rank on the topic) is not listed; its flow stays counted in base_share's complement
    return (
        shares.where(F.col("share") > 0)
        .select("*", F.row_number().over(ordered).alias("contributor_rank"))
        .where(F.col("contributor_rank") <= int(k))
        .select("account_id", "slot", "contributor_id", "share", "base_share", F.col("contributor_rank").cast("long"))
    )
