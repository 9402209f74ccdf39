"""Output of the queries: tables for an 80-column terminal, JSON and CSV.

:mod:`kindling.serving.query` answers with plain data (rows, or a JSON-ready dict); the ``format_*``
functions here turn that data into text. Nothing here reads the lake.

Why one long module: one renderer per query answer, sharing the table layout helpers (``_grid``,
``_cell``, the short labels) that keep every answer in 80 columns.
"""

from __future__ import annotations

import json
import textwrap

from kindling.core.validate import InvalidArgument

REACHABLE_FORMULA = "reachability = expertise x responsiveness"


def format_rows(
    rows: list[dict],
    fmt: str = "table",
    columns: list[str] | None = None,
    labels: dict[str, str] | None = None,
    widths: dict[str, int] | None = None,
) -> str:
    """Rows as a table (``labels`` rename headers, ``widths`` cap cells; default 20), JSON or CSV."""
    if fmt not in ("table", "json", "csv"):
        raise InvalidArgument(f"--format must be table, json or csv, not {fmt!r}")
    if not rows:
        return "(no rows)" if fmt == "table" else ("[]" if fmt == "json" else "")
    columns = columns or list(rows[0].keys())
    if fmt == "json":
        return json.dumps(rows, default=str, indent=1)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue().rstrip("\n")
    labels, widths = labels or {}, widths or {}
    grid = [[_cell(r.get(c), c, widths.get(c, 20)) for c in columns] for r in rows]
    right = [_numeric(rows, c) for c in columns]
    return _grid([labels.get(c, c) for c in columns], grid, right)


def _cell(v, col: str = "", width: int = 20) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if col.endswith("change"):
            return f"{_two_places(v):+.2f}"
        if col in ("pagerank", "topic_rank"):
            return f"{v:.3g}"
        return f"{v:.6g}" if abs(v) < 1e-3 and v != 0 else f"{_two_places(v):.2f}"
    s = str(v)
    return s if len(s) <= width else s[: width - 1] + "…"


def _two_places(v: float) -> float:
    """``v`` rounded for a two-decimal cell; a value that rounds to zero is +0.0, so it never prints as -0.00."""
    return round(v, 2) + 0.0


def _grid(header: list[str], grid: list[list[str]], right: list[bool]) -> str:
    widths = [max(len(h), *(len(g[i]) for g in grid)) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(g) for g in grid)])


def _numeric(rows, col) -> bool:
    return any(isinstance(r.get(col), (int, float)) and not isinstance(r.get(col), bool) for r in rows)


_SHORT_TYPE = {"organization": "org"}
_LABELS = {
    "rank": "#",
    "account_id": "account",
    "account_type": "type",
    "influence_change": "change",
    "expertise_change": "change",
    "recognizers": "recog",
    "own_posts": "posts",
    "rank_in_topic": "rank",
    "contributor_rank": "#",
    "contributor_id": "account",
    "contributor_handle": "handle",
    "share_pct": "share%",
    "prev_pct": "prev%",
    "pct_change": "change",
    "reachability": "reach",
    "responsiveness": "resp",
    "answer_hours_median": "med_h",
}


def _short(rows: list[dict]) -> list[dict]:
    """Rows for an 80-column table: organization -> org."""
    return [dict(r, account_type=_SHORT_TYPE.get(str(r.get("account_type")), r.get("account_type"))) for r in rows]


def format_top(rows: list[dict], fmt: str = "table") -> str:
    if fmt != "table":
        return format_rows(rows, fmt)
    cols = ["rank", "account_id", "handle", "account_type", "influence", "influence_change"]
    return format_rows(_short(rows), fmt, cols, _LABELS, {"handle": 18})


# influence = clamp(20 + 10 * log2(N * pagerank), 0, 100): jobs/score.py.
INFLUENCE_SCALE = (
    "influence: 20 = the network's average account; each +10 = twice the PageRank "
    "(30 = 2x the average, 50 = 8x, 90 = 128x, 100 = 256x or more)"
)


def scale_text(floor: dict | None = None) -> str:
    """The footer of ``query top``: what the influence numbers mean, with the day's floor when known."""
    text = INFLUENCE_SCALE
    if floor is not None and floor["floor"] is not None:
        n = floor["accounts"]
        text += (
            f". {n} account{'s' if n != 1 else ''} nobody engaged with in the window "
            f"score{'s' if n == 1 else ''} {floor['floor']:.2f}, the floor on {floor['network']} "
            f"for dt={floor['dt']} (the teleport share only)."
        )
    elif floor is not None and floor["lowest"] is not None:
        text += (
            f". Every account on {floor['network']} got some engagement in the window; "
            f"the lowest influence for dt={floor['dt']} is {floor['lowest']:.2f}."
        )
    else:
        text += "."
    return textwrap.fill(text, width=78)


def format_topic_top(rows: list[dict], fmt: str = "table") -> str:
    if fmt != "table":
        return format_rows(rows, fmt)
    if not rows:
        return "(no rows)"
    cols = [
        "rank",
        "account_id",
        "handle",
        "account_type",
        "expertise",
        "interest",
        "recognizers",
        "own_posts",
        "expertise_change",
    ]
    blocks = []
    for net in dict.fromkeys(r["network"] for r in rows):
        mine = [r for r in rows if r["network"] == net]
        board = mine[0].get("same_as") or mine[0]["topic"]
        head = f"{board} on {net}, by {mine[0]['by']}, dt={mine[0]['dt']}"
        if board != mine[0]["topic"]:  # folded into another topic's board
            head = f"{mine[0]['topic']}: same board as {board}\n{head}"
        blocks.append(head + "\n" + format_rows(_short(mine), "table", cols, _LABELS, {"handle": 14}))
    return "\n\n".join(blocks)


_TOPICS_COLS = ["dt", "network", "topic", "display_name", "parent", "accounts", "same_as"]


def format_topics(rows: list[dict], fmt: str = "table") -> str:
    """One block per network: its boards and, pointing to them, the topics folded into them."""
    if fmt != "table":
        return format_rows(rows, fmt, _TOPICS_COLS)
    if not rows:
        return "(no rows)"
    blocks = []
    for net in dict.fromkeys(r["network"] for r in rows):
        mine = [r for r in rows if r["network"] == net]
        folded = sum(1 for r in mine if r["same_as"])
        head = (
            f"topics on {net}, dt={mine[0]['dt']}: {len(mine) - folded} with a board"
            f"{f', {folded} folded into one' if folded else ''}"
        )
        blocks.append(
            head
            + "\n"
            + format_rows(
                mine,
                "table",
                ["topic", "accounts", "parent", "same_as"],
                {"same_as": "same board as"},
                {"topic": 22, "parent": 20, "same_as": 20},
            )
        )
    return "\n\n".join(blocks)


def format_reachable(rows: list[dict], fmt: str = "table") -> str:
    if fmt != "table":
        return format_rows(rows, fmt)
    if not rows:
        return "(no rows)"
    cols = [
        "rank",
        "account_id",
        "handle",
        "account_type",
        "reachability",
        "expertise",
        "responsiveness",
        "answered",
        "asks",
        "answer_hours_median",
    ]
    blocks = []
    for net in dict.fromkeys(r["network"] for r in rows):
        mine = [r for r in rows if r["network"] == net]
        head = f"{mine[0]['topic']} on {net}, dt={mine[0]['dt']}: {REACHABLE_FORMULA}"
        blocks.append(head + "\n" + format_rows(_short(mine), "table", cols, _LABELS, {"handle": 14}))
    return "\n\n".join(blocks)


_ACCOUNT_FIELDS = ["handle", "account_type", "influence", "influence_change", "rank", "percentile", "pagerank"]
_TOPIC_COLS = ["topic", "expertise", "interest", "rank_in_topic", "recognizers", "own_posts"]


def format_account(result: dict, fmt: str = "table") -> str:
    """One network's account: its scores as label/value lines, then its top topics (table); JSON; CSV."""
    if fmt == "json":
        return json.dumps(result, default=str, indent=1)
    net = result["network"]
    if fmt == "csv":
        base = {"dt": result["dt"], "network": net, "account_id": result["account_id"], **result["scores"]}
        listed = [(by, i + 1, tr) for by in ("expertise", "interest") for i, tr in enumerate(result[f"topics_by_{by}"])]
        rows = [dict(base, list=by, position=i, **tr) for by, i, tr in listed] or [base]
        cols = ["dt", "network", "account_id", *_ACCOUNT_FIELDS, "list", "position", *_TOPIC_COLS]
        return format_rows(rows, "csv", cols)
    if fmt != "table":
        return format_rows([], fmt)  # raises on an unknown format
    labels = {"account_type": "type", "influence_change": "change"}
    out = [f"account {result['account_id']} on {net}, dt={result['dt']}"]
    for f in _ACCOUNT_FIELDS:
        v = result["scores"][f]
        v = _SHORT_TYPE.get(v, v) if f == "account_type" else v
        out.append(f"{labels.get(f, f):<11}{_cell(v, f, 60)}".rstrip())
    if not result["topics_dt"]:
        out.append(f"\ntopic_scores is not published for dt={result['dt']}")
        return "\n".join(out)
    for by in ("expertise", "interest"):
        listed = result[f"topics_by_{by}"]
        if listed:
            out.append(f"\ntop {len(listed)} of {result['topic_count']} topics by {by}")
            out.append(format_rows(listed, "table", _TOPIC_COLS, _LABELS, {"topic": 24}))
    if not result["topic_count"]:
        out.append(f"\nno topic scores on {net}")
    return "\n".join(out)


_EXPLAIN_COLS = [
    "contributor_rank",
    "contributor_id",
    "contributor_handle",
    "share",
    "share_prev",
    "share_change",
    "events",
    "kinds",
]


def _explain_parts(e: dict) -> list[dict]:
    """The lines under the listed contributors that make the shares add to 100%: others and base
    (their share None when the day was published before score_contributors had base_share)."""
    others = {
        "part": "others",
        "contributor_id": "others",
        "share": e.get("others_share"),
        "share_prev": e.get("others_share_prev"),
        "share_change": e.get("others_share_change"),
    }
    if e.get("others_count") is not None:
        others["contributor_handle"] = f"{e['others_count']} accounts"
    base = {
        "part": "base",
        "contributor_id": "base",
        "contributor_handle": "teleport",
        "share": e.get("base_share"),
        "share_prev": e.get("base_share_prev"),
        "share_change": e.get("base_share_change"),
    }
    return [others, base]


def format_explain(result: dict, fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(result, default=str, indent=1)
    if fmt == "csv":
        base_cols = [
            "dt",
            "prev_dt",
            "network",
            "topic",
            "account_id",
            "score_name",
            "score",
            "score_prev",
            "score_change",
            "source",
            "part",
        ]
        rows = []
        for net, e in result["networks"].items():
            base = {
                "dt": result["dt"],
                "prev_dt": result["prev_dt"],
                "network": net,
                "topic": result["topic"],
                "account_id": result["account_id"],
                "score_name": result["score_name"],
                "score": e["score"],
                "score_prev": e["score_prev"],
                "score_change": e["score_change"],
                "source": result["source"],
            }
            rows += [dict(base, part="contributor", **c) for c in e["contributors"]]
            rows += [dict(base, **p) for p in _explain_parts(e)]
        return format_rows(rows, "csv", base_cols + _EXPLAIN_COLS)
    if fmt != "table":
        return format_rows([], fmt)  # raises on an unknown format
    what = f"expertise in {result['topic']}" if result["topic"] else "influence"
    out: list[str] = []
    for net, e in result["networks"].items():
        if out:
            out.append("")
        table, listed = (
            ("graph_edges", "every contributor")
            if result["source"] == "graph"
            else ("score_contributors", "top contributors")
        )
        out.append(f"{result['account_id']} on {net}: {what}, dt={result['dt']}, from {table}")
        score = _cell(e["score"]) or "n/a"
        if result["score_prev_dt"]:
            prev = _cell(e["score_prev"]) or "none"
            change = f", change {_cell(e['score_change'], 'change')}" if e["score_change"] is not None else ""
            out.append(f"score {score} (rank {e['rank']}); {result['score_prev_dt']}: {prev}{change}")
        else:
            out.append(f"score {score} (rank {e['rank']}); no earlier published date")
        if result["prev_dt"]:
            out.append(f"shares of the score, {listed} (prev% = {result['prev_dt']}):")
        else:
            out.append(f"shares of the score, {listed}:")
        parts = _explain_parts(e)
        total = None
        if all(p["share"] is not None for p in parts):
            total = sum(c["share"] for c in e["contributors"]) + sum(p["share"] for p in parts)
        rows = [
            dict(c, share_pct=_pct(c["share"]), prev_pct=_pct(c["share_prev"]), pct_change=_pct(c["share_change"]))
            for c in [
                *e["contributors"],
                *parts,
                {"contributor_id": "total", "share": total, "share_prev": None, "share_change": None},
            ]
        ]
        cols = [
            "contributor_rank",
            "contributor_id",
            "contributor_handle",
            "share_pct",
            "prev_pct",
            "pct_change",
            "events",
            "kinds",
        ]
        out.append(format_rows(rows, "table", cols, _LABELS, {"contributor_handle": 13, "kinds": 17}))
        if total is None:
            out.append(
                f"(no base share: score_contributors of dt={result['dt']} was published before base_share "
                "existed; its shares were of the rank flowing in)"
            )
        gone = e["former_contributors"]
        if gone:
            names = ", ".join(f"{g['contributor_id']} ({100 * g['share_prev']:.1f}%)" for g in gone[:5])
            more = f" and {len(gone) - 5} more" if len(gone) > 5 else ""
            out.append(f"no longer among them: {names}{more}")
    return "\n".join(out)


def _pct(v: float | None) -> float | None:
    """A share in percent, to the 2 decimals shown (so that float noise in a sum shows as 0.00)."""
    return None if v is None else round(100.0 * v, 2) + 0.0


_MOVER_COLS = ["account_id", "handle", "account_type", "score_from", "score_to", "change", "rank_from", "rank_to"]
_MOVER_TITLES = {
    "rises": "largest rises",
    "falls": "largest falls",
    "new": "new: no {score} on {frm}; by {score} on {to}",
    "gone": "gone: no {score} on {to}; by {score} on {frm}",
}


def format_movers(result: dict, fmt: str = "table") -> str:
    """Rises, falls, new and gone: one block each (table), one object (json), or rows tagged by list (csv)."""
    if fmt == "json":
        return json.dumps(result, default=str, indent=1)
    if fmt == "csv":
        base = {k: result[k] for k in ("network", "topic", "score_name", "from_dt", "to_dt")}
        rows = [dict(base, list=name, position=i, **r) for name in _MOVER_TITLES for i, r in enumerate(result[name], 1)]
        return format_rows(rows, "csv", [*base, "list", "position", *_MOVER_COLS])
    if fmt != "table":
        return format_rows([], fmt)  # raises on an unknown format
    score = result["score_name"] + (f" in {result['topic']}" if result["topic"] else "")
    frm, to = result["from_dt"], result["to_dt"]
    out = [
        f"{score} on {result['network']}, {frm} -> {to}",
        f"{result['compared']} accounts scored on both dates rise, fall or stay;",
        f"{result['new_count']} new and {result['gone_count']} gone (scored on one date only) are listed apart.",
    ]
    labels = {
        "account_id": "account",
        "account_type": "type",
        "score_from": "from",
        "score_to": "to",
        "ranks": "rank",
        "rank_from": "rank",
        "rank_to": "rank",
    }
    one_date = dict(labels, score_from=result["score_name"], score_to=result["score_name"])
    for name, title in _MOVER_TITLES.items():
        rows = result[name]
        if not rows:
            if name in ("rises", "falls"):
                out += ["", f"{title}: none"]
            continue
        if name == "new":
            cols, shown = ["account_id", "handle", "account_type", "score_to", "rank_to"], _short(rows)
        elif name == "gone":
            cols, shown = ["account_id", "handle", "account_type", "score_from", "rank_from"], _short(rows)
        else:
            cols = ["account_id", "handle", "account_type", "score_from", "score_to", "change", "ranks"]
            wf, wt = (max(len(str(r[k])) for r in rows) for k in ("rank_from", "rank_to"))
            shown = [dict(r, ranks=f"{r['rank_from']:>{wf}}→{r['rank_to']:<{wt}}") for r in _short(rows)]
        out += [
            "",
            title.format(to=to, frm=frm, score=result["score_name"]),
            format_rows(
                shown,
                "table",
                cols,
                labels if name in ("rises", "falls") else one_date,
                {"account_id": 14, "handle": 14},
            ),
        ]
    return "\n".join(out)


def window_text(run: dict | None) -> str:
    """One line on the scoring window of a run: how many of its days the score rests on."""
    w = (run or {}).get("window")
    if not w:
        return "window: not recorded for this run"
    text = f"window: {w['present']} of {w['expected']} days ({w['first']}..{w['last']})"
    if w.get("missing"):
        text += f", {len(w['missing'])} missing"
    skipped = w.get("skipped") or {}
    if skipped:
        text += f", {len(skipped)} skipped as bad (window_bad_day=skip)"
    return text + f", {w['admitted']} admitted by its run"


def format_runs(rows: list[dict], fmt: str = "table") -> str:
    if fmt == "csv":
        flat = [
            dict(
                r,
                failed_checks="; ".join(r["failed_checks"]),
                warnings="; ".join(r["warnings"]),
                networks=",".join(r["networks"]),
                timings=json.dumps(r["timings"]),
                input_rows=json.dumps(r["input_rows"]),
                output_rows=json.dumps(r["output_rows"]),
                window=json.dumps(r["window"]),
            )
            for r in rows
        ]
        return format_rows(flat, "csv")
    if fmt != "table":
        return format_rows(rows, fmt)
    if not rows:
        return format_rows([], "table")
    # run ids are <dt>_<UTC start>_<suffix> (kindling) or Airflow's; the date is its own column.
    table = [
        {
            "dt": r["dt"],
            "run": r["run_id"].removeprefix(f"{r['dt']}_"),
            "status": r["status"],
            "window": f"{r['window_present']}/{r['window_expected']}" if r.get("window_expected") else "",
            "seconds": r["seconds"],
        }
        for r in rows
    ]
    lines = format_rows(
        table, "table", ["dt", "run", "status", "window", "seconds"], {"seconds": "secs"}, {"run": 40}
    ).splitlines()
    out = lines[:2]
    for r, line in zip(rows, lines[2:], strict=True):
        out.append(line)
        if r["status"] == "failed":
            checks = "; ".join(r["failed_checks"]) or (r["error"] or "").split("\n")[0]
            out += textwrap.wrap(
                f"{r['failed_step'] or '?'} failed: {checks}",
                width=78,
                initial_indent="    ",
                subsequent_indent="      ",
            )
        if r["warnings"]:
            out += textwrap.wrap(
                f"warnings: {'; '.join(r['warnings'])}", width=78, initial_indent="    ", subsequent_indent="      "
            )
        if r["data_docs_path"]:
            out.append(f"    data docs: {r['data_docs_path']}")
    return "\n".join(out)
