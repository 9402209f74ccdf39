"""Answers from the published tables, through DuckDB (read-only, bound parameters).

Readers see only published partitions: ``<lake>/tables/<table>/dt=*/network=*/*.parquet``
(the ``dt=`` entries are links to immutable versions; staging lives elsewhere).

Every user-supplied value is validated (``kindling.core.validate``) before it reaches a path, and
reaches SQL only as a bound ``?`` parameter. Each function reads one network folder at a time
and returns plain data (rows or a JSON-ready dict); :mod:`kindling.serving.formatting` turns that data
into a table for an 80-column terminal, JSON or CSV.

Why one long module: every ``kindling query`` answer (top, topics, reachable, account, explain,
movers, runs, sql) is a few SQL statements over the same validated reader, ``_Tables``; the
formatting of the answers already lives apart (:mod:`kindling.serving.formatting`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from pathlib import Path

import schemas
from kindling.core.validate import InvalidArgument, network_name, parse_date, topic_slug
from kindling.storage.lake import PUBLISHED_TABLES, Lake

# Orderings of a topic's accounts: the chosen score, the other score, then the id.
_TOPIC_ORDER = {
    "expertise": "expertise DESC, interest DESC, account_id",
    "interest": "interest DESC, expertise DESC, account_id",
}
# Orderings of one account's topics.
_ACCOUNT_TOPIC_ORDER = {
    "expertise": "expertise DESC, interest DESC, topic",
    "interest": "interest DESC, expertise DESC, topic",
}
_ACCOUNT_ID = re.compile(r"[^\x00-\x1f\x7f]{1,200}")  # fullmatch


def _dicts(cur) -> list[dict]:
    """A DuckDB cursor's result as a list of {column: value}."""
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _connect():
    import duckdb

    return duckdb.connect(database=":memory:")


# --------------------------------------------------------------------------- reading


class NoLake(LookupError):
    """The lake asked for holds nothing published and no run: a wrong path, or a lake never run."""

    def __init__(self, message: str, root: Path):
        super().__init__(message)
        self.root = root


def require_lake(lake: Lake) -> None:
    """NoLake, naming the path, unless ``lake`` has a published table or a recorded run."""
    import os

    if any(lake.published_dates(t) for t in PUBLISHED_TABLES) or any(lake.table("runs").glob("dt=*/*.parquet")):
        return
    where = os.path.abspath(lake.root)
    if not lake.root.exists():
        raise NoLake(f"no lake at {where}: the folder does not exist", lake.root)
    raise NoLake(f"no lake at {where}: it has no published tables and no runs", lake.root)


def resolve_date(lake: Lake, table: str, date: str | None) -> dt.date:
    day = None if date in (None, "latest") else parse_date(date)
    dates = lake.published_dates(table)
    if not dates:
        require_lake(lake)
        raise LookupError(f"nothing is published in {lake.table(table)} yet")
    if day is None:
        return dates[-1]
    if day not in dates:
        raise LookupError(f"{table}: dt={day} is not published (latest is {dates[-1]})")
    return day


def previous_date(lake: Lake, table: str, day: dt.date) -> dt.date | None:
    """The last published date of ``table`` before ``day`` (None when there is none)."""
    earlier = [d for d in lake.published_dates(table) if d < day]
    return earlier[-1] if earlier else None


def account_id_arg(value: str) -> str:
    """An account id as the user typed it: only bound as a query parameter, never part of a path."""
    if not isinstance(value, str) or not _ACCOUNT_ID.fullmatch(value):
        raise InvalidArgument(f"account id {value!r} is not allowed (1-200 characters, no control characters)")
    return value


def _limit(n: int, what: str, low: int = 1) -> int:
    if not (low <= int(n) <= 100000):
        raise InvalidArgument(f"{what} must be between {low} and 100000, got {n}")
    return int(n)


class _Tables:
    """The published tables of one lake, read one (table, date, network) folder at a time."""

    def __init__(self, lake_root: str | Path):
        self.lake = Lake(lake_root)
        self.con = _connect()

    def files(self, table: str, day: dt.date | None, network: str) -> list[str]:
        if day is None:
            return []
        folder = self.lake.published(table, day) / f"network={network}"
        return sorted(str(p) for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def rows(self, table: str, day: dt.date | None, network: str, sql: str, params: list | tuple = ()) -> list[dict]:
        """Run ``sql`` (its first ``?`` is the table's file list) on one network's folder; [] when absent."""
        files = self.files(table, day, network)
        if not files:
            return []
        return _dicts(self.con.execute(sql, [files, *params]))

    def networks(self, table: str, day: dt.date, network: str | None) -> list[str]:
        """The given network (validated, and published that day) or every network published that day."""
        published = [n for n in self.lake.published_networks(table, day) if _is_network(n)]
        if network is not None:
            network = network_name(network)
            if network not in published:
                have = ", ".join(published) or "none"
                raise LookupError(f"{table}: network={network} is not published for dt={day} (published: {have})")
            return [network]
        if not published:
            raise LookupError(f"{table}: no network is published for dt={day}")
        return published

    def require_columns(self, table: str, day: dt.date | None, network: str, columns: list[str], why: str) -> None:
        """LookupError when the partition exists but was published before ``columns`` existed."""
        files = self.files(table, day, network)
        if not files:
            return
        have = {r[0] for r in self.con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()}
        missing = [c for c in columns if c not in have]
        if missing:
            raise LookupError(
                f"{table} dt={day} network={network} was published before {', '.join(missing)} existed, "
                f"which {why} needs: rerun that day to publish it"
            )

    def topics(self, table: str, day: dt.date, network: str) -> set[str]:
        rows = self.rows(table, day, network, "SELECT DISTINCT topic FROM read_parquet(?) WHERE topic IS NOT NULL")
        return {r["topic"] for r in rows}

    def board_of(self, topic: str, day: dt.date, network: str) -> str:
        """The topic whose board ``topic`` shows on ``network`` that day: its ``same_as`` in the ``topics``
        table when it was folded into another's board, else ``topic`` (also for a day without ``topics``)."""
        rows = self.rows("topics", day, network, "SELECT same_as FROM read_parquet(?) WHERE topic = ?", [topic])
        return rows[0]["same_as"] if rows and rows[0]["same_as"] else topic

    def require_topic(
        self, topic: str, day: dt.date, networks: list[str], table: str = "topic_scores", folded: bool = False
    ) -> list[str]:
        """The networks among ``networks`` that have ``topic`` that day (with ``folded``, also those where it
        is folded into a board they have, see :meth:`board_of`); LookupError with suggestions if none."""
        present: dict[str, set[str]] = {net: self.topics(table, day, net) for net in networks}
        having = [net for net in networks if (self.board_of(topic, day, net) if folded else topic) in present[net]]
        if having:
            return having
        boards = sorted({self.board_of(topic, day, net) for net in networks} - {topic})
        if boards:
            raise LookupError(
                f"topic {topic!r} has no scores of its own for dt={day}: it is the same board as "
                f"{', '.join(boards)}; ask for that topic"
            )
        known = sorted(set().union(*present.values()))
        close = difflib.get_close_matches(topic, known, n=5, cutoff=0.6)
        where = f"network {networks[0]}" if len(networks) == 1 else "any network"
        count = f"{len(known)} topic is" if len(known) == 1 else f"{len(known)} topics are"
        hint = f"; did you mean: {', '.join(close)}?" if close else f" ({count} published there that day)"
        raise LookupError(f"topic {topic!r} has no scores on {where} for dt={day}{hint}")


def _is_network(name: str) -> bool:
    try:
        network_name(name)
    except InvalidArgument:
        return False
    return True


# --------------------------------------------------------------------------- queries


# --people-only: only accounts the snapshot says are people (account_type, as published).
# Organizations, bots and accounts of unknown type are left out; ranks stay the published ones.
_PEOPLE = "account_type = 'person'"
_PEOPLE_CONTRIBUTORS = "contributor_type = 'person'"


def top(
    lake_root: str | Path, network: str, date: str | None = "latest", n: int = 20, people_only: bool = False
) -> list[dict]:
    """The global influence ranking of one network (``people_only``: persons only, published ranks kept)."""
    t = _Tables(lake_root)
    network = network_name(network)
    n = _limit(n, "-n")
    day = resolve_date(t.lake, "account_scores", date)
    t.networks("account_scores", day, network)
    rows = t.rows(
        "account_scores",
        day,
        network,
        "SELECT rank, account_id, handle, account_type, influence, pagerank, influence_change "
        f"FROM read_parquet(?) {'WHERE ' + _PEOPLE if people_only else ''} ORDER BY rank, account_id LIMIT ?",
        [n],
    )
    return [dict(r, dt=day.isoformat(), network=network) for r in rows]


def topic_top(
    lake_root: str | Path,
    topic: str,
    by: str = "expertise",
    network: str | None = None,
    date: str | None = "latest",
    n: int = 20,
    people_only: bool = False,
) -> list[dict]:
    """The accounts of one topic ranked by expertise or by interest, per network.

    ``rank`` is the position in this ordering (ties: the other score, then account_id);
    without ``network`` every network that has the topic that day gets its own list. With
    ``people_only`` only persons are listed and ``rank`` counts persons (``rank_in_topic`` stays
    the published rank among every account). A topic folded into another's board (``topics``
    table: the same posts are on both) lists that board, named in ``same_as`` (else null).
    """
    t = _Tables(lake_root)
    topic = topic_slug(topic)
    if by not in _TOPIC_ORDER:
        raise InvalidArgument(f"--by must be expertise or interest, not {by!r}")
    n = _limit(n, "-n")
    day = resolve_date(t.lake, "topic_scores", date)
    networks = t.require_topic(topic, day, t.networks("topic_scores", day, network), folded=True)
    sql = (
        f"SELECT row_number() OVER (ORDER BY {_TOPIC_ORDER[by]}) AS rank, "
        "account_id, handle, account_type, expertise, interest, recognizers, own_posts, expertise_change, "
        f"rank_in_topic FROM read_parquet(?) WHERE topic = ? {'AND ' + _PEOPLE if people_only else ''} "
        f"ORDER BY {_TOPIC_ORDER[by]} LIMIT ?"
    )
    out = []
    for net in networks:
        board = t.board_of(topic, day, net)
        for r in t.rows("topic_scores", day, net, sql, [board, n]):
            out.append(
                dict(r, topic=topic, by=by, dt=day.isoformat(), network=net, same_as=board if board != topic else None)
            )
    return out


def topics(lake_root: str | Path, network: str | None = None, date: str | None = "latest") -> list[dict]:
    """The published topics of each network (or of ``network``), from the ``topics`` table, by slug.

    A row per topic with a board in ``topic_scores`` (``same_as`` null) and per topic folded into
    one because its board would be identical (``same_as`` = the board it shows): ``accounts``
    scored on the board, the taxonomy ``display_name`` and ``parent`` (comma-joined parents).
    """
    t = _Tables(lake_root)
    day = resolve_date(t.lake, "topics", date)
    out = []
    for net in t.networks("topics", day, network):
        for r in t.rows(
            "topics",
            day,
            net,
            "SELECT topic, display_name, parent, accounts, same_as FROM read_parquet(?) ORDER BY topic",
        ):
            out.append(dict(r, dt=day.isoformat(), network=net))
    return out


# reachable: expertise in the topic times the chance of an answer (docs/methodology.md "Reachable experts").
_RESPONSIVENESS_COLUMNS = ("responsiveness", "asks", "answered", "answer_hours_median")


def reachable(
    lake_root: str | Path,
    topic: str,
    network: str | None = None,
    date: str | None = "latest",
    n: int = 20,
    people_only: bool = False,
) -> list[dict]:
    """The accounts of one topic most worth writing to: expertise times responsiveness, per network.

    ``reachability = expertise * responsiveness`` (0-100): the topic expertise you can expect
    an answer from. Ties: expertise, then account_id. Each row shows both numbers and the
    evidence (asks, answered, median answer hours) from ``account_scores`` of the same day.
    """
    t = _Tables(lake_root)
    topic = topic_slug(topic)
    n = _limit(n, "-n")
    day = resolve_date(t.lake, "topic_scores", date)
    networks = t.require_topic(topic, day, t.networks("topic_scores", day, network))
    out = []
    for net in networks:
        scores = t.files("account_scores", day, net)
        if not scores:
            raise LookupError(
                f"account_scores: network={net} is not published for dt={day}, so it has no responsiveness"
            )
        t.require_columns("account_scores", day, net, list(_RESPONSIVENESS_COLUMNS), "query reachable")
        order = "reachability DESC, expertise DESC, account_id"
        sql = (
            "WITH r AS (SELECT t.account_id, t.handle, t.account_type, "
            "round(t.expertise * a.responsiveness, 4) AS reachability, t.expertise, a.responsiveness, a.answered, "
            "a.asks, a.answer_hours_median, t.rank_in_topic "
            "FROM read_parquet(?) t JOIN read_parquet(?) a USING (account_id) "
            f"WHERE t.topic = ? {'AND t.' + _PEOPLE if people_only else ''}) "
            f"SELECT row_number() OVER (ORDER BY {order}) AS rank, * FROM r ORDER BY {order} LIMIT ?"
        )
        for r in t.rows("topic_scores", day, net, sql, [scores, topic, n]):
            out.append(dict(r, topic=topic, dt=day.isoformat(), network=net))
    return out


class AmbiguousAccount(InvalidArgument):
    """An account id found on several networks the same day, asked for without a network."""

    def __init__(self, message: str, networks: list[str]):
        super().__init__(message)
        self.networks = networks


def account(
    lake_root: str | Path,
    account_id: str,
    network: str | None = None,
    date: str | None = "latest",
    topics: int = 5,
) -> dict:
    """One network's account: its scores that day and its top topics by expertise and by interest.

    Account ids are network-local: alpha's ``a001301`` and beta's ``a001301`` are different
    people, so the answer is always one network's account. Without ``network`` the id must be
    scored on exactly one network that day; on several, :class:`AmbiguousAccount` names them.
    """
    t = _Tables(lake_root)
    account_id = account_id_arg(account_id)
    topics = _limit(topics, "--topics", low=0)
    day = resolve_date(t.lake, "account_scores", date)
    networks = t.networks("account_scores", day, network)
    found: dict[str, dict] = {}
    for net in networks:
        rows = t.rows(
            "account_scores",
            day,
            net,
            "SELECT handle, account_type, influence, rank, percentile, pagerank, influence_change "
            "FROM read_parquet(?) WHERE account_id = ?",
            [account_id],
        )
        if rows:
            found[net] = rows[0]
    if not found:
        where = f"network {networks[0]}" if len(networks) == 1 else f"any network ({', '.join(networks)})"
        raise LookupError(f"account {account_id!r} has no scores on {where} for dt={day}")
    if len(found) > 1:
        listed = ", ".join(f"{net} (handle {r['handle']!r})" if r["handle"] else net for net, r in found.items())
        raise AmbiguousAccount(
            f"account id {account_id!r} exists on {len(found)} networks for dt={day}: {listed}; ids are per network "
            f"(different accounts), so give one with --network N, e.g. --network {next(iter(found))}",
            list(found),
        )
    ((net, scores),) = found.items()
    topic_day = day if day in t.lake.published_dates("topic_scores") else None
    result: dict = {
        "account_id": account_id,
        "network": net,
        "dt": day.isoformat(),
        "topics_dt": topic_day.isoformat() if topic_day else None,
        "scores": scores,
    }
    for by, order in _ACCOUNT_TOPIC_ORDER.items():
        result[f"topics_by_{by}"] = (
            t.rows(
                "topic_scores",
                topic_day,
                net,
                "SELECT topic, expertise, interest, rank_in_topic, recognizers, own_posts "
                f"FROM read_parquet(?) WHERE account_id = ? ORDER BY {order} LIMIT ?",
                [account_id, topics],
            )
            if topics
            else []
        )
    counted = t.rows(
        "topic_scores", topic_day, net, "SELECT count(*) AS n FROM read_parquet(?) WHERE account_id = ?", [account_id]
    )
    result["topic_count"] = counted[0]["n"] if counted else 0
    return result


def explain(
    lake_root: str | Path,
    account_id: str,
    topic: str | None = None,
    network: str | None = None,
    date: str | None = "latest",
    people_only: bool = False,
    n: int = 10,
) -> dict:
    """Why an account has its score: its contributors' shares of it, the base share, and the change since the previous date.

    The score is ``influence`` (account_scores) or, with ``topic``, ``expertise`` (topic_scores).

    Influence is explained for **every** scored account from ``graph_edges`` and ``graph_vertices``
    (source ``graph``): contributor u's share of v's score is
    ``damping * pagerank(u) * flow_weight(u->v) / out_weight(u) / pagerank(v)``; the ``n`` largest are
    listed, ``others_share`` sums all the other contributors and ``base_share`` (graph_vertices) is
    what the teleport brought, so the listed shares + others + base = 1. A topic's expertise, and
    influence on a day published without the graph tables, are explained by ``score_contributors``
    (source ``score_contributors``: the top ``contributors_top_n`` accounts only, its top
    ``contributors_k`` contributors each; others = 1 - base_share - the listed shares).

    "Previous" is the last published date of each table before the date asked for: the score then
    (``score_prev_dt``) and each listed contributor's share then (``prev_dt``: from that day's graph
    tables, where a contributor without an edge then had 0; from score_contributors, None when it
    was not listed then). ``former_contributors``: the previous day's top ``n`` no longer listed.

    Account ids are network-local: without ``network`` the account must be scored on exactly one
    network that day (InvalidArgument otherwise). ``people_only``: only contributors whose type is
    person are listed, with their rank among every contributor; the rest count in ``others``.
    """
    t = _Tables(lake_root)
    account_id = account_id_arg(account_id)
    topic = topic_slug(topic) if topic is not None else None
    n = _limit(n, "-n")
    score_table, score_col, rank_col = (
        ("topic_scores", "expertise", "rank_in_topic") if topic else ("account_scores", "influence", "rank")
    )
    what = f"expertise in {topic!r}" if topic else "influence"
    day = resolve_date(t.lake, score_table, date)
    networks = t.networks(score_table, day, network)
    if topic is not None:
        networks = t.require_topic(topic, day, networks)

    # Score rows: the topic column is bound only for topic_scores.
    score_where = "WHERE account_id = ? AND topic = ?" if topic else "WHERE account_id = ?"
    score_params = [account_id, topic] if topic else [account_id]
    score_sql = f"SELECT {score_col} AS score, {rank_col} AS rank FROM read_parquet(?) {score_where}"
    found = {net: rows[0] for net in networks if (rows := t.rows(score_table, day, net, score_sql, score_params))}
    if not found:
        where = f"network {networks[0]}" if len(networks) == 1 else f"any network ({', '.join(networks)})"
        raise LookupError(f"account {account_id!r} has no {what} score on {where} for dt={day}")
    if len(found) > 1:
        raise InvalidArgument(
            f"account {account_id!r} is scored on {len(found)} networks for dt={day} "
            f"({', '.join(found)}): account ids are network-local, give --network"
        )
    ((net, now),) = found.items()
    prev_score_day = previous_date(t.lake, score_table, day)
    before = t.rows(score_table, prev_score_day, net, score_sql, score_params)
    score, score_prev = now["score"], (before[0]["score"] if before else None)

    if topic is None and t.files("graph_vertices", day, net) and t.files("graph_edges", day, net):
        source, (entry, prev_day) = "graph", _explain_graph(t, account_id, day, net, n, people_only)
    else:
        source = "score_contributors"
        entry, prev_day = _explain_contributors(t, account_id, topic, day, net, n, people_only, what, now["rank"])
    entry = {
        "score": score,
        "rank": now["rank"],
        "score_prev": score_prev,
        "score_change": score - score_prev if score is not None and score_prev is not None else None,
        **entry,
    }
    return {
        "account_id": account_id,
        "topic": topic,
        "score_name": score_col,
        "dt": day.isoformat(),
        "network": net,
        "source": source,
        "prev_dt": prev_day.isoformat() if prev_day else None,
        "score_prev_dt": prev_score_day.isoformat() if prev_score_day else None,
        "networks": {net: entry},
    }


# One account's in-edges with every contributor's exact share of its score (graph_vertices and
# graph_edges of one day and network; account_scores for the contributors' types).
_GRAPH_VERTEX_SQL = "SELECT pagerank, in_flow, base, base_share, damping FROM read_parquet(?) WHERE id = ?"
_GRAPH_CONTRIB_SQL = (
    "WITH c AS (SELECT e.src AS contributor_id, v.handle AS contributor_handle, {ctype} AS contributor_type, "
    "? * v.pagerank * e.flow_weight / e.out_weight / ? AS share, e.events, e.kinds, "
    "v.pagerank AS contributor_pagerank, e.flow_weight AS weight, e.out_weight "
    "FROM read_parquet(?) e JOIN read_parquet(?) v ON v.id = e.src {join} "
    "WHERE e.dst = ? AND e.flow_weight > 0 AND e.out_weight > 0) "
    "SELECT row_number() OVER (ORDER BY share DESC, contributor_id) AS contributor_rank, * FROM c "
    "ORDER BY contributor_rank"
)


def _graph_shares(t: _Tables, account_id: str, day: dt.date | None, net: str) -> tuple[dict | None, list[dict]]:
    """The account's graph_vertices row and every contributor's share that day (None, [] without the tables)."""
    vertices, edges = t.files("graph_vertices", day, net), t.files("graph_edges", day, net)
    if not vertices or not edges:
        return None, []
    found = _dicts(t.con.execute(_GRAPH_VERTEX_SQL, [vertices, account_id]))
    if not found or not found[0]["pagerank"]:
        return (found[0] if found else None), []
    me = found[0]
    scores = t.files("account_scores", day, net)
    join = "LEFT JOIN read_parquet(?) a ON a.account_id = e.src" if scores else ""
    ctype = "coalesce(a.account_type, 'unknown')" if scores else "'unknown'"
    sql = _GRAPH_CONTRIB_SQL.format(ctype=ctype, join=join)
    params = [me["damping"], me["pagerank"], edges, vertices, *([scores] if scores else []), account_id]
    return me, _dicts(t.con.execute(sql, params))


def _explain_graph(
    t: _Tables, account_id: str, day: dt.date, net: str, n: int, people_only: bool
) -> tuple[dict, dt.date | None]:
    """Every contributor's exact share from the graph tables; the previous day's from its graph tables."""
    me, shares = _graph_shares(t, account_id, day, net)
    if me is None:
        raise LookupError(f"account {account_id!r} is not in graph_vertices dt={day} network={net}")
    prev_day = previous_date(t.lake, "graph_vertices", day)
    me_prev, shares_prev = _graph_shares(t, account_id, prev_day, net)
    if me_prev is None:
        prev_day = None  # the account (or the network) was not in the previous day's graph
    person = (lambda c: c["contributor_type"] == "person") if people_only else (lambda c: True)  # noqa: E731
    listed = [c for c in shares if person(c)][:n]
    ids = {c["contributor_id"] for c in listed}
    now = {c["contributor_id"]: c["share"] for c in shares}
    then = {c["contributor_id"]: c["share"] for c in shares_prev} if me_prev is not None else None
    for c in listed:
        c["share_prev"] = then.get(c["contributor_id"], 0.0) if then is not None else None
        c["share_change"] = c["share"] - c["share_prev"] if then is not None else None
    base, base_prev = me["base_share"], (me_prev["base_share"] if me_prev is not None else None)
    others = sum(s for cid, s in now.items() if cid not in ids)
    others_prev = sum(s for cid, s in then.items() if cid not in ids) if then is not None else None
    former = (
        [
            {
                "contributor_id": c["contributor_id"],
                "contributor_handle": c["contributor_handle"],
                "share_prev": c["share"],
                "share": now.get(c["contributor_id"], 0.0),
            }
            for c in [c for c in shares_prev if person(c)][:n]
            if c["contributor_id"] not in ids
        ]
        if then is not None
        else []
    )
    return {
        "pagerank": me["pagerank"],
        "pagerank_prev": me_prev["pagerank"] if me_prev is not None else None,
        "damping": me["damping"],
        "contributor_count": len(shares),
        "base_share": base,
        "base_share_prev": base_prev,
        "base_share_change": base - base_prev if base_prev is not None else None,
        "others_count": len(shares) - len(listed),
        "others_share": others,
        "others_share_prev": others_prev,
        "others_share_change": others - others_prev if others_prev is not None else None,
        "contributors": listed,
        "former_contributors": former,
    }, prev_day


def _explain_contributors(
    t: _Tables,
    account_id: str,
    topic: str | None,
    day: dt.date,
    net: str,
    n: int,
    people_only: bool,
    what: str,
    rank: int | None,
) -> tuple[dict, dt.date | None]:
    """The listed contributors of score_contributors (the top accounts only) and its base_share."""
    contrib_day = day if day in t.lake.published_dates("score_contributors") else None
    prev_day = previous_date(t.lake, "score_contributors", day)
    if people_only:
        for d in (contrib_day, prev_day):
            t.require_columns("score_contributors", d, net, ["contributor_type"], "--people-only")

    def read(d: dt.date | None) -> tuple[list[dict], bool]:
        files = t.files("score_contributors", d, net)
        if not files:
            return [], False
        have = {r[0] for r in t.con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()}
        cols = ["contributor_rank", "contributor_id", "contributor_handle", "share", "events", "kinds"]
        cols += [c for c in ("contributor_type", "base_share") if c in have]
        rows = _dicts(
            t.con.execute(
                f"SELECT {', '.join(cols)} FROM read_parquet(?) WHERE topic IS NOT DISTINCT FROM ? AND account_id = ? "
                "ORDER BY contributor_rank, contributor_id",
                [files, topic, account_id],
            )
        )
        # shares of the score (with a base share) only since base_share exists; before, of the inflow
        return rows, bool(rows) and all(r.get("base_share") is not None for r in rows)

    rows, with_base = read(contrib_day)
    if not rows:
        count = t.rows(
            "score_contributors",
            contrib_day,
            net,
            "SELECT count(DISTINCT account_id) AS n FROM read_parquet(?) WHERE topic IS NOT DISTINCT FROM ?",
            [topic],
        )
        info = {"rank": rank, "explained_accounts": count[0]["n"] if count else 0}
        raise LookupError(
            f"account {account_id!r} is not among the accounts explained for {what} "
            f"on dt={day} ({_not_explained_text(net, info, 'score')})"
        )
    prev_rows, prev_with_base = read(prev_day)
    if not prev_with_base:
        prev_rows, prev_day = [], None  # no earlier day with comparable shares
    person = (lambda c: c.get("contributor_type", "person") == "person") if people_only else (lambda c: True)  # noqa: E731
    listed = [r for r in rows if person(r)][:n]
    ids = {c["contributor_id"] for c in listed}
    then = {r["contributor_id"]: r for r in prev_rows}
    base = rows[0]["base_share"] if with_base else None
    base_prev = prev_rows[0]["base_share"] if prev_rows else None
    for c in listed:
        was = then.get(c["contributor_id"])
        c["share_prev"] = was["share"] if was else None
        c["share_change"] = c["share"] - was["share"] if was else None
        c.pop("base_share", None)
    return {
        "base_share": base,
        "base_share_prev": base_prev,
        "base_share_change": base - base_prev if base is not None and base_prev is not None else None,
        "others_share": 1.0 - base - sum(c["share"] for c in listed) if base is not None else None,
        "contributors": listed,
        "former_contributors": [
            {
                "contributor_id": r["contributor_id"],
                "contributor_handle": r["contributor_handle"],
                "share_prev": r["share"],
            }
            for r in prev_rows
            if person(r) and r["contributor_id"] not in ids
        ],
    }, prev_day


_MOVER_SCORE = {  # (table, score column, rank column)
    False: ("account_scores", "influence", "rank"),
    True: ("topic_scores", "expertise", "rank_in_topic"),
}
_MOVER_LISTS = {  # list -> (which rows, ordering)
    "rises": (
        "score_from IS NOT NULL AND score_to IS NOT NULL AND change > 0",
        "change DESC, score_to DESC, account_id",
    ),
    "falls": (
        "score_from IS NOT NULL AND score_to IS NOT NULL AND change < 0",
        "change ASC, score_to DESC, account_id",
    ),
    "new": ("score_from IS NULL", "score_to DESC, account_id"),
    "gone": ("score_to IS NULL", "score_from DESC, account_id"),
}


def movers(
    lake_root: str | Path,
    network: str,
    date_from: str | None = None,
    date_to: str | None = "latest",
    n: int = 10,
    topic: str | None = None,
    people_only: bool = False,
) -> dict:
    """The largest rises and falls of ``influence`` (or, with ``topic``, ``expertise``) between two dates.

    ``people_only``: only accounts published as persons on the date they are read from, in the
    lists and in the counts.

    Both dates must be published; ``date_from`` defaults to the last published date before
    ``date_to``. Only accounts scored on both dates have a change, so only they rise or fall. An
    account scored on ``date_to`` only is listed under ``new`` (by its score then), one scored on
    ``date_from`` only under ``gone``: neither is given a made-up score of 0 for the other date
    (as ``influence_change`` is null for an account not published the day before).
    """
    t = _Tables(lake_root)
    network = network_name(network)
    topic = topic_slug(topic) if topic is not None else None
    n = _limit(n, "-n")
    table, score_col, rank_col = _MOVER_SCORE[topic is not None]
    if date_to not in (None, "latest"):
        date_to = parse_date(date_to, "--to").isoformat()
    day_to = resolve_date(t.lake, table, date_to)
    if date_from is None:
        day_from = previous_date(t.lake, table, day_to)
        if day_from is None:
            raise LookupError(f"{table}: nothing is published before dt={day_to} to compare with")
    else:
        day_from = resolve_date(t.lake, table, parse_date(date_from, "--from").isoformat())
    if day_from >= day_to:
        raise InvalidArgument(f"--from ({day_from}) must be before --to ({day_to})")
    for day in (day_from, day_to):
        t.networks(table, day, network)
    if topic is not None:
        present = t.topics(table, day_from, network) | t.topics(table, day_to, network)
        if topic not in present:
            t.require_topic(topic, day_to, [network])  # raises, with suggestions

    conds = (["topic = ?"] if topic is not None else []) + ([_PEOPLE] if people_only else [])
    where = f"WHERE {' AND '.join(conds)}" if conds else ""
    params = [topic] if topic is not None else []
    side = f"SELECT account_id, handle, account_type, {score_col} AS score, {rank_col} AS rank FROM read_parquet(?) {where}"
    joined = (
        f"WITH f AS ({side}), t AS ({side}), j AS ("
        "SELECT account_id, coalesce(t.handle, f.handle) AS handle, "
        "coalesce(t.account_type, f.account_type) AS account_type, "
        "f.score AS score_from, t.score AS score_to, t.score - f.score AS change, "
        "f.rank AS rank_from, t.rank AS rank_to FROM f FULL OUTER JOIN t USING (account_id))"
    )
    files = [t.files(table, day_from, network), t.files(table, day_to, network)]
    args = [files[0], *params, files[1], *params]

    def select(sql: str, extra: list) -> list[dict]:
        return _dicts(t.con.execute(f"{joined} {sql}", [*args, *extra]))

    counts = select(
        "SELECT count(score_from) AS accounts_from, count(score_to) AS accounts_to, "
        "count(change) AS compared, count(*) - count(score_from) AS new, "
        "count(*) - count(score_to) AS gone FROM j",
        [],
    )[0]
    result: dict = {
        "network": network,
        "topic": topic,
        "score_name": score_col,
        "from_dt": day_from.isoformat(),
        "to_dt": day_to.isoformat(),
        "accounts_from": counts["accounts_from"],
        "accounts_to": counts["accounts_to"],
        "compared": counts["compared"],
        "new_count": counts["new"],
        "gone_count": counts["gone"],
    }
    for name, (cond, order) in _MOVER_LISTS.items():
        result[name] = select(f"SELECT * FROM j WHERE {cond} ORDER BY {order} LIMIT ?", [n])
    return result


def influence_floor(lake_root: str | Path, network: str, date: str | None = "latest") -> dict:
    """The influence of the accounts nobody engaged with (``in_weight`` 0) on one network and day.

    Such an account has no in-edge, so its PageRank is its teleport share alone: ``(1 - d) / N``
    plus its share of the rank that dangling accounts and the defenses return through the
    teleport. That is the same for every one of them, the floor of the day's scale, below 20 and
    depending on the network and the day; it is read from the table, not computed. ``floor`` is
    None when every account got some engagement (or the partition has no ``in_weight``).
    """
    t = _Tables(lake_root)
    network = network_name(network)
    day = resolve_date(t.lake, "account_scores", date)
    t.networks("account_scores", day, network)
    out = {"network": network, "dt": day.isoformat(), "floor": None, "accounts": 0, "lowest": None}
    try:
        t.require_columns("account_scores", day, network, ["in_weight"], "the influence floor")
    except LookupError:
        return out
    (r,) = t.rows(
        "account_scores",
        day,
        network,
        "SELECT min(influence) FILTER (WHERE in_weight = 0) AS floor, "
        "count(*) FILTER (WHERE in_weight = 0) AS accounts, min(influence) AS lowest FROM read_parquet(?)",
    )
    return dict(out, **r)


def _not_explained_text(net: str, info: dict, score_col: str) -> str:
    if info["rank"] is None:
        return f"{net}: it has no {score_col} score that day"
    return f"{net}: its rank is {info['rank']}, and only the top {info['explained_accounts']} are explained"


# --------------------------------------------------------------------------- output


# --------------------------------------------------------------------------- runs and sql


def _run_row(r: dict, day: str) -> dict:
    """A `runs` row as plain data: JSON columns parsed, failed checks and duration extracted."""

    def parse(v):
        return json.loads(v) if v else None

    quality = parse(r.get("quality")) or {}

    def checks(kind: str) -> list[str]:
        return [
            f"{side.removeprefix('quality-')}:{net}:{check}"
            for side, per_net in sorted(quality.items())
            for net, res in sorted(per_net.items())
            for check in res.get(kind, [])
        ]

    started, finished = r.get("started_at"), r.get("finished_at")
    return {
        "dt": day,
        "run_id": r["run_id"],
        "status": r["status"],
        "failed_step": r.get("failed_step"),
        "failed_checks": checks("failed"),
        "warnings": checks("warnings"),
        "error": r.get("error"),
        "networks": list(r.get("networks") or []),
        "started_at": started.isoformat() if started else None,
        "finished_at": finished.isoformat() if finished else None,
        "seconds": round((finished - started).total_seconds(), 1) if started and finished else None,
        "timings": parse(r.get("timings")),
        "input_rows": parse(r.get("input_rows")),
        "output_rows": parse(r.get("output_rows")),
        "quality_results_path": r.get("quality_results_path"),
        "data_docs_path": r.get("data_docs_path"),  # absent from runs files written before it existed
        # absent from runs files written before window coverage was recorded
        "window_expected": r.get("window_expected"),
        "window_present": r.get("window_present"),
        "window_admitted": r.get("window_admitted"),
        "window": parse(r.get("window")),
    }


def published_run(lake_root: str | Path, day: dt.date) -> dict | None:
    """The run that published ``day`` (the newest published run of that date), or None."""
    rows = runs(lake_root, date=day.isoformat(), status="published", n=1)
    return rows[0] if rows else None


def runs(lake_root: str | Path, date: str | None = None, status: str | None = None, n: int = 20) -> list[dict]:
    """Run attempts, newest first: every date's (or one ``date``'s), optionally of one ``status``."""
    import pyarrow.parquet as pq

    n = _limit(n, "-n")
    if status not in (None, "published", "failed"):
        raise InvalidArgument(f"--status must be published or failed, not {status!r}")
    root = Lake(lake_root).table("runs")
    if date in (None, "all"):
        folders = sorted(root.glob("dt=*")) if root.is_dir() else []
    else:
        folders = [root / f"dt={parse_date(date).isoformat()}"]
    if not root.is_dir():
        require_lake(Lake(lake_root))
    out = []
    for folder in folders:
        for f in sorted(folder.glob("*.parquet")):
            for r in pq.read_table(f).to_pylist():
                out.append(_run_row(r, folder.name.split("=", 1)[1]))
    if status:
        out = [r for r in out if r["status"] == status]
    out.sort(key=lambda r: (r["started_at"] or "", r["run_id"]), reverse=True)
    return out[:n]


_SQL_TABLES = (
    "account_scores",
    "topic_scores",
    "score_contributors",
    "quarantine",
    "runs",
    "graph_edges",
    "graph_vertices",
)
_SQL_STATEMENTS = ("SELECT", "EXPLAIN")


def sql_connection(lake_root: str | Path):
    """A DuckDB connection with one read-only view per published table and nothing else reachable.

    Views: ``account_scores``, ``topic_scores``, ``score_contributors``, ``quarantine``,
    ``graph_edges``, ``graph_vertices`` (each with ``dt`` and ``network`` columns, published
    partitions only) and ``runs`` (with ``dt``). After they are
    made, file access is limited to ``<lake>/tables`` and the configuration is locked, so a
    query cannot read other files, load extensions or attach databases.
    """
    lake = Lake(lake_root)
    require_lake(lake)  # else every view is empty and a count says 0 of a lake that is not there
    con = _connect()
    for table in _SQL_TABLES:
        files = []
        if table == "runs":
            root = lake.table("runs")
            files = sorted(str(p) for p in root.glob("dt=*/*.parquet")) if root.is_dir() else []
        else:
            for day in lake.published_dates(table):
                for net in lake.published_networks(table, day):
                    if _is_network(net):
                        files += sorted(
                            str(p) for p in (lake.published(table, day) / f"network={net}").glob("*.parquet")
                        )
        if files:
            # Files written before a column was added lack it (runs.data_docs_path, the responsiveness
            # and spam columns of account_scores, ...): read them by name, and put every column of the
            # definition in the view even when no file has it yet (NULL in the older rows).

            cols = ", ".join(f"CAST(NULL AS {_duck_type(f)}) AS {f.name}" for f in schemas.table(table).fields)
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet({_sql_list(files)}, hive_partitioning = true, "
                f"union_by_name = true) UNION ALL BY NAME SELECT {cols} WHERE false"
            )
        else:  # an empty view with the table's columns, so that queries still bind
            cols = ", ".join(f"CAST(NULL AS {_duck_type(f)}) AS {f.name}" for f in schemas.table(table).fields)
            extra = ", CAST(NULL AS DATE) AS dt" + ("" if table == "runs" else ", CAST(NULL AS VARCHAR) AS network")
            con.execute(f"CREATE VIEW {table} AS SELECT {cols}{extra} WHERE false")
    tables_dir = str(lake.tables.resolve())
    con.execute("SET allowed_directories = ?", [[tables_dir + "/", str(lake.tables) + "/"]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _sql_list(files: list[str]) -> str:
    # File names come from the lake's own folders (validated network names, ISO dates, run ids),
    # and are quoted as SQL string literals here because a view cannot hold bound parameters.
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _duck_type(field) -> str:
    t = field.type
    return {
        "string": "VARCHAR",
        "double": "DOUBLE",
        "long": "BIGINT",
        "int": "INTEGER",
        "timestamp": "TIMESTAMP",
        "date": "DATE",
        "boolean": "BOOLEAN",
        "array<string>": "VARCHAR[]",
        "map<string,double>": "MAP(VARCHAR, DOUBLE)",
    }.get(t, "VARCHAR")


def sql(lake_root: str | Path, statement: str) -> list[dict]:
    """Run one read-only statement (SELECT, WITH … SELECT, DESCRIBE, SHOW, EXPLAIN) over the views."""
    import duckdb

    con = sql_connection(lake_root)
    try:
        statements = con.extract_statements(statement)
    except duckdb.Error as e:
        raise InvalidArgument(f"sql: {e}") from None
    if len(statements) != 1:
        raise InvalidArgument(f"sql: give exactly one statement, not {len(statements)}")
    kind = statements[0].type.name
    if kind not in _SQL_STATEMENTS:
        raise InvalidArgument(f"sql: only read-only queries are allowed (SELECT, DESCRIBE, SHOW, EXPLAIN), not {kind}")
    try:
        cur = con.execute(statement)
    except duckdb.Error as e:
        raise InvalidArgument(f"sql: {type(e).__name__}: {e}") from None
    return _dicts(cur)
