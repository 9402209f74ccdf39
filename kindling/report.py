"""The daily report: one self-contained HTML page per published date.

    <lake>/reports/dt=<D>/report.html        (kindling report --date D [--out FILE])

Written by the ``report`` step right after ``publish``, and by hand with ``kindling report``. It
reads only what is published — ``account_scores``, ``topic_scores`` and the ``runs`` row of the
date (plus the run's saved validation results when they are still in ``<lake>/_runs/``) — through
the same validated, parameter-bound readers as ``kindling.query``.

The page has no scripts and no external files: inline CSS and SVG drawn here, so it opens from
disk, a mail attachment or an object store as it is. Every value that comes from the data (handles
are user data, and so are topic slugs) goes through ``html.escape``.

:func:`collect` gathers plain data, :func:`render` turns it into HTML, :func:`write_report` does
both and writes the file atomically.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from pathlib import Path

from kindling import formatting, query
from kindling.lake import Lake, write_atomic_bytes
from kindling.runs import STEPS

SUPER_SUFFIX = "-super"
"""kindling.taxonomy.SUPER_SUFFIX (roll-up categories), not imported from there: that pulls in pandas."""
BIN_WIDTH = 5
"""Influence histogram bins: 0-5, 5-10, ... 95-100 (100 falls in the last)."""
BUSIEST_TOPICS = 4
"""Topic leaderboards: the topics with the most scored accounts that day (roll-up "-super" topics aside)."""
CUT_RATIO = 4
"""Histogram: a band holding more than this many times the next biggest is drawn cut."""
LEADERS = 5
"""Accounts per leaderboard column."""
MOVERS = 8
"""Rises and falls per network."""
CHANGE_POINTS = 10.0
"""Without a flag column, accounts whose influence moved by more than this (a doubling or halving
of standing against the network average) are listed for a look."""
FLAGGED_ROWS = 15
"""Flagged accounts listed per network (the count says how many there are)."""
_FLAG_COLUMN = re.compile(r"flag", re.IGNORECASE)


def write_report(lake_root: str | Path, date: str | None = "latest", out: str | Path | None = None) -> Path:
    """Write the report of a published date (``latest`` by default); returns the file written."""
    data = collect(lake_root, date)
    path = Path(out) if out else Lake(lake_root).report(dt.date.fromisoformat(data["dt"]))
    write_atomic_bytes(path, render(data).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- data


def collect(lake_root: str | Path, date: str | None = "latest") -> dict:
    """Everything the page shows, as plain data (JSON-ready)."""
    t = query._Tables(lake_root)
    day = query.resolve_date(t.lake, "account_scores", date)
    prev = query.previous_date(t.lake, "account_scores", day)
    topic_day = day if day in t.lake.published_dates("topic_scores") else None
    networks = t.networks("account_scores", day, None)
    data: dict = {
        "dt": day.isoformat(),
        "prev_dt": prev.isoformat() if prev else None,
        "topics_dt": topic_day.isoformat() if topic_day else None,
        "lake": str(t.lake.root),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "networks": {},
    }
    for net in networks:
        data["networks"][net] = {
            "summary": _summary(t, day, net),
            "histogram": _histogram(t, day, net),
            "topics": _busiest_topics(t, topic_day, net),
            "movers": _movers(t, day, net),
            "flagged": _flagged(t, day, net),
        }
    data["runs"] = _runs(t.lake, day)
    return data


def _summary(t: query._Tables, day: dt.date, net: str) -> dict:
    (s,) = t.rows(
        "account_scores",
        day,
        net,
        "SELECT count(*) AS accounts, avg(influence) AS mean, median(influence) AS median, "
        "count(*) FILTER (WHERE influence >= 50) AS above_50, "
        "arg_min(handle, rank) AS top_handle, arg_min(account_id, rank) AS top_id, max(influence) AS top_influence "
        "FROM read_parquet(?)",
    )
    return s


def _histogram(t: query._Tables, day: dt.date, net: str) -> list[int]:
    bins = 100 // BIN_WIDTH
    rows = t.rows(  # numbered parameters: $1 is the file list
        "account_scores",
        day,
        net,
        "SELECT least(CAST(floor(influence / $2) AS INTEGER), $3) AS bin, count(*) AS n "
        "FROM read_parquet($1) GROUP BY ALL",
        [BIN_WIDTH, bins - 1],
    )
    counts = [0] * bins
    for r in rows:
        counts[max(0, r["bin"])] += r["n"]
    return counts


def _busiest_topics(t: query._Tables, day: dt.date | None, net: str) -> list[dict]:
    busiest = t.rows(
        "topic_scores",
        day,
        net,
        "SELECT topic, count(*) AS accounts FROM read_parquet(?) WHERE NOT ends_with(topic, ?) "
        "GROUP BY topic ORDER BY accounts DESC, topic LIMIT ?",
        [SUPER_SUFFIX, BUSIEST_TOPICS],
    )
    out = []
    for b in busiest:
        entry = dict(b)
        for by, order in query._TOPIC_ORDER.items():
            entry[f"by_{by}"] = t.rows(
                "topic_scores",
                day,
                net,
                "SELECT account_id, handle, account_type, expertise, interest FROM read_parquet(?) "
                f"WHERE topic = ? ORDER BY {order} LIMIT ?",
                [b["topic"], LEADERS],
            )
        out.append(entry)
    return out


def _movers(t: query._Tables, day: dt.date, net: str) -> dict:
    try:
        return query.movers(t.lake.root, net, date_to=day.isoformat(), n=MOVERS)
    except LookupError as e:  # the first published date, or the network is new
        return {"unavailable": str(e)}


def _flagged(t: query._Tables, day: dt.date, net: str) -> dict:
    """Accounts with a flag set, from the flag columns of account_scores if it has any.

    ``account_scores`` has no flag column yet; then the section says so and lists what the
    table does have: accounts whose ``influence_change`` exceeds ``CHANGE_POINTS``.
    """
    files = t.files("account_scores", day, net)
    described = t.con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()
    flags = [name for name, *_ in described if _FLAG_COLUMN.search(name)]
    base = "account_id, handle, account_type, influence, rank, influence_change"
    if flags:
        cols = ", ".join(_ident(f) for f in flags)
        rows = t.rows("account_scores", day, net, f"SELECT {base}, {cols} FROM read_parquet(?) ORDER BY rank")
        hit = []
        for r in rows:
            set_flags = {f: r[f] for f in flags if _is_set(r[f])}
            if set_flags:
                hit.append({**{k: r[k] for k in base.split(", ")}, "flags": set_flags})
        return {"kind": "flags", "columns": flags, "count": len(hit), "rows": hit[:FLAGGED_ROWS]}
    rows = t.rows(
        "account_scores",
        day,
        net,
        f"SELECT {base} FROM read_parquet(?) WHERE abs(influence_change) > ? "
        "ORDER BY abs(influence_change) DESC, account_id",
        [CHANGE_POINTS],
    )
    return {
        "kind": "change",
        "columns": [],
        "threshold": CHANGE_POINTS,
        "count": len(rows),
        "rows": rows[:FLAGGED_ROWS],
    }


def _ident(name: str) -> str:
    """A column name read from the file's own schema, quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _is_set(v) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) > 0
    return bool(v)


def _runs(lake: Lake, day: dt.date) -> dict:
    """The date's attempts from the runs table; quality and timings of the run that published it."""
    import pyarrow.parquet as pq

    folder = lake.table("runs") / f"dt={day.isoformat()}"
    rows = [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rows.sort(key=lambda r: r["started_at"])
    attempts = [
        {
            "run_id": r["run_id"],
            "status": r["status"],
            "failed_step": r["failed_step"],
            "error": r["error"],
            "started_at": _when(r["started_at"]),
            "finished_at": _when(r["finished_at"]),
            "seconds": (r["finished_at"] - r["started_at"]).total_seconds(),
        }
        for r in rows
    ]
    published = [r for r in rows if r["status"] == "published"]
    if not published:
        return {"attempts": attempts, "published_run": None, "quality": [], "timings": [], "window": None}
    run = max(published, key=lambda r: r["finished_at"])
    return {
        "attempts": attempts,
        "published_run": run["run_id"],
        "window": formatting.window_text(
            {"run_id": run["run_id"], "window": json.loads(run["window"]) if run.get("window") else None}
        ),
        "quality": _quality(lake, run),
        "timings": _timings(lake, run),
    }


def _when(v) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S") if v is not None else ""


def _quality(lake: Lake, run: dict) -> list[dict]:
    """One entry per (suite, network): the runs row's summary, and every check when the results file is kept."""
    suites = json.loads(run["quality"]) if run["quality"] else {}
    out = []
    for key, per_network in sorted(suites.items()):
        suite = "input" if key.endswith("-in") else "output" if key.endswith("-out") else key
        for net, summary in sorted(per_network.items()):
            entry = {
                "suite": suite,
                "network": net,
                "success": summary.get("success"),
                "failed": summary.get("failed") or [],
                "warnings": summary.get("warnings") or [],
                "checks": None,
            }
            results = lake.root / (run["quality_results_path"] or "") / f"{suite}-{net}.json"
            if run["quality_results_path"] and results.is_file():
                entry["checks"] = _checks(json.loads(results.read_text()))
            out.append(entry)
    return out


def _checks(results: dict) -> list[dict]:
    checks = []
    for table, res in sorted((results.get("validation_results") or {}).items()):
        for r in res.get("results") or []:
            config = r.get("expectation_config") or {}
            meta = config.get("meta") or {}
            checks.append(
                {
                    "table": table,
                    "column": meta.get("column"),
                    "rule": meta.get("rule", config.get("type")),
                    "severity": meta.get("severity", "fail"),
                    "success": bool(r.get("success")),
                }
            )
    return checks


def _timings(lake: Lake, run: dict) -> list[dict]:
    """Seconds per step: the runs row's, then steps timed after the row was written (publish)."""

    seconds = json.loads(run["timings"]) if run["timings"] else {}
    state = lake.run_dir(run["run_id"]) / "state"
    for f in sorted(state.glob("timing-*.json")) if state.is_dir() else []:
        step = f.stem[len("timing-") :]
        if step not in seconds and step != "report":
            seconds[step] = json.loads(f.read_text()).get("seconds")
    order = {s: i for i, s in enumerate(STEPS)}
    return [
        {"step": s, "seconds": v}
        for s, v in sorted(seconds.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
        if isinstance(v, (int, float))
    ]


# --------------------------------------------------------------------------- HTML


def _e(v) -> str:
    """Any value as escaped HTML text."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}"
    return html.escape(str(v), quote=True)


def _signed(v: float | None) -> str:
    return "" if v is None else f"{v:+.2f}"


_CSS = """
:root { --ink:#1d2330; --muted:#5c6577; --line:#dde1e8; --bg:#f5f6f8; --card:#fff;
        --bar:#3f6fb5; --up:#2f855a; --down:#c0392b; --warn:#b7791f; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:#1d2330; color:#fff; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header p { margin:0; color:#c4cad6; }
nav { background:#262d3d; padding:8px 32px; }
nav a { color:#dfe5f1; text-decoration:none; margin-right:18px; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:8px 24px 40px; }
section { margin-top:26px; }
h2 { font-size:18px; margin:0 0 4px; padding-bottom:4px; border-bottom:2px solid var(--line); }
h3 { font-size:15px; margin:0 0 8px; }
h4 { font-size:13px; margin:10px 0 4px; color:var(--muted); font-weight:600; }
p.note { color:var(--muted); margin:4px 0 12px; max-width:900px; }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(520px, 1fr)); gap:16px; }
.grid.narrow { grid-template-columns:repeat(auto-fill, minmax(360px, 1fr)); }
.grid.wide { grid-template-columns:1fr; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
.stats { display:flex; flex-wrap:wrap; gap:6px 22px; margin:0 0 8px; color:var(--muted); }
.stats b { color:var(--ink); font-size:16px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:3px 5px; border-bottom:1px solid #eef0f4; vertical-align:top; }
th:first-child, td:first-child { padding-left:0; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.n, th.n { text-align:right; }
table.fixed { table-layout:fixed; }
td.handle { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
td.nowrap { white-space:nowrap; }
table.tight th, table.tight td { padding:3px 3px; font-size:13px; }
table.tight th { font-size:11px; }
table.tight th:first-child, table.tight td:first-child { padding-left:0; }
.up { color:var(--up); } .down { color:var(--down); }
.pill { display:inline-block; padding:0 8px; border-radius:10px; font-size:12px; font-weight:600; }
.pill.ok { background:#e3f4ea; color:var(--up); } .pill.bad { background:#fbe5e2; color:var(--down); }
.pill.warn { background:#fdf1dc; color:var(--warn); }
.two { display:grid; grid-template-columns:1fr 1fr; gap:14px; }
.muted { color:var(--muted); }
details { margin:6px 0 0; } summary { cursor:pointer; color:var(--muted); }
code { font-size:12px; background:#eef0f4; padding:0 4px; border-radius:3px; white-space:nowrap; }
svg text { font-family:inherit; }
.chgbar { display:inline-block; height:8px; border-radius:2px; vertical-align:middle; margin-left:6px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:20px; }
"""


def render(data: dict) -> str:
    nets = data["networks"]
    sections = [
        ("distributions", "Score distributions", _section_distributions(data)),
        ("topics", "Topic leaderboards", _section_topics(data)),
        ("movers", "Biggest movers", _section_movers(data)),
        ("flagged", "Flagged accounts", _section_flagged(data)),
        ("quality", "Quality results", _section_quality(data)),
        ("timings", "Run timings", _section_timings(data)),
    ]
    prev = f"compared with {_e(data['prev_dt'])}" if data["prev_dt"] else "no earlier published date"
    head = (
        f"<header><h1>Kindling daily report &mdash; dt={_e(data['dt'])}</h1>"
        f"<p>{len(nets)} network{'s' if len(nets) != 1 else ''} ({_e(', '.join(nets))}), {prev}; "
        f"lake <code style='background:#2f3747;color:#dfe5f1'>{_e(data['lake'])}</code>; "
        f"generated {_e(data['generated_at'])}</p>"
        f"<p class='window'>{_e(data['runs'].get('window') or 'window: no published run in the runs table')}</p></header>"
    )
    nav = "<nav>" + "".join(f"<a href='#{sid}'>{_e(title)}</a>" for sid, title, _ in sections) + "</nav>"
    body = "".join(f"<section id='{sid}'><h2>{_e(title)}</h2>{content}</section>" for sid, title, content in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Kindling report dt={_e(data['dt'])}</title><style>{_CSS}</style></head>"
        f"<body>{head}{nav}<main>{body}</main>"
        "<footer>Kindling &middot; published tables only &middot; influence = clamp(20 + 10&middot;log2(N&middot;pagerank), 0, 100)"
        "</footer></body></html>\n"
    )


def _section_distributions(data: dict) -> str:
    cards = []
    for net, d in data["networks"].items():
        s = d["summary"]
        top = _e(s["top_handle"] or s["top_id"])
        stats = (
            f"<div class='stats'><span><b>{s['accounts']:,}</b> accounts</span>"
            f"<span>median <b>{_e(s['median'])}</b></span><span>mean <b>{_e(s['mean'])}</b></span>"
            f"<span><b>{s['above_50']:,}</b> at 50 or more</span>"
            f"<span>top <b>{top}</b> ({_e(s['top_influence'])})</span></div>"
        )
        cards.append(f"<div class='card'><h3>{_e(net)}</h3>{stats}{histogram_svg(d['histogram'], net)}</div>")
    note = (
        "<p class='note'>Accounts per 5-point band of influence. 20 is the network's average account; "
        "every 10 points is twice the standing (50 = 8&times; the average).</p>"
    )
    return note + f"<div class='grid'>{''.join(cards)}</div>"


def _section_topics(data: dict) -> str:
    if not data["topics_dt"]:
        return f"<p class='note'>topic_scores is not published for dt={_e(data['dt'])}.</p>"
    note = (
        f"<p class='note'>The {BUSIEST_TOPICS} topics with the most scored accounts on each network. "
        "Expertise is what others recognise; interest is how much the account itself talks about the topic "
        "&mdash; the two lists differ on purpose.</p>"
    )
    blocks = []
    for net, d in data["networks"].items():
        if not d["topics"]:
            blocks.append(f"<div class='card'><h3>{_e(net)}</h3><p class='muted'>no topic scores</p></div>")
            continue
        for tpc in d["topics"]:
            cols = []
            for by, other in (("expertise", "interest"), ("interest", "expertise")):
                rows = "".join(
                    f"<tr><td class='n muted'>{i}</td><td class='handle' title='{_e(r['account_id'])}'>"
                    f"{_e(r['handle'] or r['account_id'])}</td><td class='n'><b>{_e(r[by])}</b></td>"
                    f"<td class='n muted'>{_e(r[other])}</td></tr>"
                    for i, r in enumerate(tpc[f"by_{by}"], 1)
                )
                cols.append(
                    f"<div><h4>top by {by}</h4><table class='fixed tight'><colgroup>"
                    "<col style='width:16px'><col><col style='width:60px'><col style='width:58px'></colgroup>"
                    f"<tr><th class='n'>#</th><th>handle</th><th class='n'>{by}</th>"
                    f"<th class='n'>{other}</th></tr>{rows}</table></div>"
                )
            blocks.append(
                f"<div class='card'><h3>{_e(tpc['topic'])} <span class='muted'>on {_e(net)}, "
                f"{tpc['accounts']:,} accounts</span></h3><div class='two'>{''.join(cols)}</div></div>"
            )
    return note + f"<div class='grid'>{''.join(blocks)}</div>"


def _section_movers(data: dict) -> str:
    blocks = []
    for net, d in data["networks"].items():
        m = d["movers"]
        if "unavailable" in m:
            blocks.append(f"<div class='card'><h3>{_e(net)}</h3><p class='muted'>{_e(m['unavailable'])}</p></div>")
            continue
        scale = max([abs(r["change"]) for r in m["rises"] + m["falls"]] or [1.0])
        tables = []
        for name, cls in (("rises", "up"), ("falls", "down")):
            rows = (
                "".join(
                    f"<tr><td class='handle' title='{_e(r['account_id'])}'>{_e(r['handle'] or r['account_id'])}</td>"
                    f"<td class='muted'>{_e(r['account_type'])}</td><td class='n'>{_e(r['score_from'])}</td>"
                    f"<td class='n'>{_e(r['score_to'])}</td><td class='n nowrap {cls}'><b>{_signed(r['change'])}</b>"
                    f"<span class='chgbar' style='width:{max(2, round(40 * abs(r['change']) / scale))}px;"
                    f"background:var(--{cls})'></span></td>"
                    f"<td class='n muted nowrap'>{r['rank_from']}&rarr;{r['rank_to']}</td></tr>"
                    for r in m[name]
                )
                or "<tr><td colspan='6' class='muted'>none</td></tr>"
            )
            tables.append(
                f"<div><h4>largest {name}</h4><table class='fixed'><colgroup><col><col style='width:92px'>"
                "<col style='width:52px'><col style='width:52px'><col style='width:108px'><col style='width:86px'>"
                "</colgroup><tr><th>handle</th><th>type</th>"
                f"<th class='n'>{_e(m['from_dt'][5:])}</th><th class='n'>{_e(m['to_dt'][5:])}</th>"
                f"<th class='n'>change</th><th class='n'>rank</th></tr>{rows}</table></div>"
            )
        blocks.append(
            f"<div class='card'><h3>{_e(net)} <span class='muted'>{_e(m['from_dt'])} &rarr; {_e(m['to_dt'])}</span></h3>"
            f"<div class='two'>{''.join(tables)}</div><p class='note'>{m['compared']:,} accounts scored on both dates; "
            f"{m['new_count']:,} new and {m['gone_count']:,} gone (scored on one date only, so without a change; "
            f"<code>kindling query movers --network {_e(net)}</code> lists them).</p></div>"
        )
    note = (
        "<p class='note'>Largest changes of influence since the previous published date, among accounts "
        "scored on both dates.</p>"
    )
    return note + f"<div class='grid wide'>{''.join(blocks)}</div>"


def _section_flagged(data: dict) -> str:
    blocks = []
    notes = set()
    for net, d in data["networks"].items():
        f = d["flagged"]
        if f["kind"] == "flags":
            notes.add(f"Accounts with a flag set in account_scores ({', '.join(f['columns'])}).")
            head = (
                "<tr><th>handle</th><th>type</th><th class='n'>influence</th><th class='n'>rank</th><th>flags</th></tr>"
            )
            rows = "".join(
                f"<tr><td class='handle' title='{_e(r['account_id'])}'>{_e(r['handle'] or r['account_id'])}</td>"
                f"<td class='muted'>{_e(r['account_type'])}</td><td class='n'>{_e(r['influence'])}</td>"
                f"<td class='n'>{r['rank']}</td><td>{_e(', '.join(f'{k}={v}' for k, v in r['flags'].items()))}</td></tr>"
                for r in f["rows"]
            )
        else:
            notes.add(
                "account_scores has no flag column yet, so nothing is flagged as such. Listed instead, for a look: "
                f"accounts whose influence moved by more than {f['threshold']:g} points since the previous "
                "published date (a doubling or halving of their standing)."
            )
            head = (
                "<tr><th>handle</th><th>type</th><th class='n'>influence</th><th class='n'>change</th>"
                "<th class='n'>rank</th></tr>"
            )
            rows = "".join(
                f"<tr><td class='handle' title='{_e(r['account_id'])}'>{_e(r['handle'] or r['account_id'])}</td>"
                f"<td class='muted'>{_e(r['account_type'])}</td><td class='n'>{_e(r['influence'])}</td>"
                f"<td class='n {'up' if r['influence_change'] > 0 else 'down'}'>{_signed(r['influence_change'])}</td>"
                f"<td class='n'>{r['rank']}</td></tr>"
                for r in f["rows"]
            )
        shown = f"{len(f['rows'])} of {f['count']:,}" if f["count"] > len(f["rows"]) else f"{f['count']:,}"
        shown += " account" if f["count"] == 1 else " accounts"
        table = f"<table>{head}{rows}</table>" if f["rows"] else ""
        blocks.append(f"<div class='card'><h3>{_e(net)} <span class='muted'>{shown}</span></h3>{table}</div>")
    note = "".join(f"<p class='note'>{_e(n)}</p>" for n in sorted(notes))
    return note + f"<div class='grid narrow'>{''.join(blocks)}</div>"


def _section_quality(data: dict) -> str:
    runs = data["runs"]
    if not runs["attempts"]:
        return f"<p class='note'>The runs table has no row for dt={_e(data['dt'])}.</p>"
    out = []
    if runs["published_run"]:
        out.append(
            f"<p class='note'>Great Expectations suites of run <code>{_e(runs['published_run'])}</code>, "
            "which published this date: <b>input</b> on the conformed snapshot, <b>output</b> on the staged "
            "tables. A failed <code>fail</code> check blocks publishing; <code>warn</code> checks are "
            "reported only.</p>"
        )
        rows = []
        for q in runs["quality"]:
            checks = q["checks"]
            if checks is not None:
                passed = sum(c["success"] for c in checks)
                failed = sum(not c["success"] and c["severity"] == "fail" for c in checks)
                warned = sum(not c["success"] and c["severity"] != "fail" for c in checks)
                counts = f"<td class='n'>{len(checks)}</td><td class='n'>{passed}</td>"
            else:
                failed, warned = len(q["failed"]), len(q["warnings"])
                counts = "<td class='n muted'>&ndash;</td><td class='n muted'>&ndash;</td>"
            pill = "<span class='pill ok'>passed</span>" if q["success"] else "<span class='pill bad'>failed</span>"
            problems = "".join(f"<div class='down'>{_e(x)}</div>" for x in q["failed"])
            problems += "".join(f"<div style='color:var(--warn)'>{_e(x)}</div>" for x in q["warnings"])
            detail = ""
            if checks:
                items = "".join(
                    f"<tr><td>{'&#10003;' if c['success'] else '&#10007;'}</td><td>{_e(c['table'])}</td>"
                    f"<td>{_e(c['column'])}</td><td>{_e(c['rule'])}</td><td class='muted'>{_e(c['severity'])}</td></tr>"
                    for c in checks
                )
                detail = (
                    f"<details><summary>all {len(checks)} checks</summary><table><tr><th></th><th>table</th>"
                    f"<th>column</th><th>rule</th><th>severity</th></tr>{items}</table></details>"
                )
            rows.append(
                f"<tr><td>{_e(q['suite'])}</td><td class='handle'>{_e(q['network'])}</td><td>{pill}</td>{counts}"
                f"<td class='n{' down' if failed else ''}'>{failed}</td>"
                f"<td class='n'{' style=color:var(--warn)' if warned else ''}>{warned}</td>"
                f"<td>{problems or '<span class=muted>none</span>'}{detail}</td></tr>"
            )
        out.append(
            "<div class='card'><table class='fixed'><colgroup><col style='width:64px'><col style='width:110px'>"
            "<col style='width:78px'><col style='width:64px'><col style='width:64px'><col style='width:64px'>"
            "<col style='width:84px'><col></colgroup>"
            "<tr><th>suite</th><th>network</th><th>result</th><th class='n'>checks</th>"
            "<th class='n'>passed</th><th class='n'>failed</th><th class='n'>warnings</th><th>details</th></tr>"
            + "".join(rows)
            + "</table>"
            + (
                ""
                if all(q["checks"] is not None for q in runs["quality"])
                else "<p class='note'>&ndash;: the run's full validation results are no longer in the lake; "
                "the runs row keeps failures and warnings only.</p>"
            )
            + "</div>"
        )
    else:
        out.append("<p class='note'>No run that published this date is in the runs table.</p>")
    attempts = "".join(
        f"<tr><td><code>{_e(a['run_id'])}</code></td><td>"
        f"<span class='pill {'ok' if a['status'] == 'published' else 'bad'}'>{_e(a['status'])}</span></td>"
        f"<td>{_e(a['started_at'])}</td><td class='n'>{a['seconds']:.0f}&nbsp;s</td><td>{_e(a['failed_step'])}</td>"
        f"<td class='muted'>{_e((a['error'] or '')[:300])}</td></tr>"
        for a in runs["attempts"]
    )
    out.append(
        f"<h4>attempts for this date</h4><div class='card'><table><tr><th>run</th><th>status</th>"
        f"<th>started (UTC)</th><th class='n'>took</th><th>failed step</th><th>error</th></tr>{attempts}</table></div>"
    )
    return "".join(out)


def _section_timings(data: dict) -> str:
    runs = data["runs"]
    if not runs["timings"]:
        return "<p class='note'>No step timings recorded for this date.</p>"
    total = sum(t["seconds"] for t in runs["timings"])
    note = (
        f"<p class='note'>Seconds per step of run <code>{_e(runs['published_run'])}</code>, "
        f"{total:,.0f} s in all (the report step itself is not included).</p>"
    )
    return note + f"<div class='card'>{timings_svg(runs['timings'])}</div>"


# --------------------------------------------------------------------------- SVG


def _count_step(v: float) -> int:
    """A whole 1, 2 or 5 times a power of ten at or above ``v``: the gap between axis ticks of counts."""
    if v <= 1:
        return 1
    p = 10 ** math.floor(math.log10(v))
    return int(next(m * p for m in (1, 2, 5, 10) if m * p >= v))


def histogram_svg(counts: list[int], label: str = "", width: int = 500, height: int = 230) -> str:
    """Bars of accounts per influence band, a dashed line at 20 (the average account).

    Most accounts of a network sit near 0 (nobody engages with them). When one band holds more
    than CUT_RATIO times the next biggest, the axis is scaled to the others and that bar is cut
    (a gap near its top, its count written above it) so the rest of the shape stays visible.
    """
    left, right, top, bottom = 46, 12, 22, 36
    w, h = width - left - right, height - top - bottom
    ordered = sorted([*counts, 0, 0], reverse=True)
    scale_to = ordered[1] if ordered[0] > CUT_RATIO * ordered[1] > 0 else ordered[0]
    tick = _count_step(max(scale_to, 1) / 5)
    ticks = math.ceil(max(scale_to, 1) / tick)
    ymax = tick * ticks
    step = 100 / len(counts)
    x = lambda v: left + w * v / 100  # noqa: E731
    y = lambda v: top + h - h * v / ymax  # noqa: E731
    parts = [
        f"<svg class='hist' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='100%' role='img' aria-label='influence histogram {_e(label)}'>"
    ]
    for i in range(ticks + 1):
        v = tick * i
        parts.append(
            f"<line x1='{left}' x2='{left + w}' y1='{y(v):.1f}' y2='{y(v):.1f}' stroke='#e6e9ef'/>"
            f"<text x='{left - 6}' y='{y(v) + 4:.1f}' text-anchor='end' font-size='11' fill='#5c6577'>"
            f"{v:,.0f}</text>"
        )
    for i, n in enumerate(counts):
        if not n:
            continue
        cut = n > ymax
        bh = h + 8 if cut else max(1.0, h * n / ymax)
        x0, bw = x(i * step) + 1, w * step / 100 - 2
        parts.append(
            f"<rect class='bar' x='{x0:.1f}' y='{top + h - bh:.1f}' width='{bw:.1f}' "
            f"height='{bh:.1f}' fill='#3f6fb5'><title>{i * step:g}-{(i + 1) * step:g}: {n:,} accounts"
            f"</title></rect>"
        )
        if cut:  # a white gap across the bar: it is taller than drawn
            parts.append(
                f"<path d='M{x0 - 2:.1f},{top + 14:.1f} L{x0 + bw + 2:.1f},{top + 8:.1f} "
                f"L{x0 + bw + 2:.1f},{top + 12:.1f} L{x0 - 2:.1f},{top + 18:.1f} Z' fill='#fff'/>"
            )
        parts.append(
            f"<text x='{x0 + (w * step / 100 - 2) / 2:.1f}' y='{top + h - bh - 3:.1f}' text-anchor='middle' "
            f"font-size='9' fill='#5c6577'>{n:,}</text>"
        )
    parts.append(f"<line x1='{left}' x2='{left + w}' y1='{top + h}' y2='{top + h}' stroke='#8a93a3'/>")
    for v in range(0, 101, 20):
        parts.append(
            f"<line x1='{x(v):.1f}' x2='{x(v):.1f}' y1='{top + h}' y2='{top + h + 4}' stroke='#8a93a3'/>"
            f"<text x='{x(v):.1f}' y='{top + h + 16}' text-anchor='middle' font-size='11' fill='#5c6577'>{v}</text>"
        )
    key = left + w - 128  # the line's key, top right, above the bars' count labels
    parts.append(
        f"<line x1='{x(20):.1f}' x2='{x(20):.1f}' y1='{top}' y2='{top + h}' stroke='#c0392b' "
        f"stroke-dasharray='4 3'/><line x1='{key}' x2='{key + 18}' y1='6' y2='6' stroke='#c0392b' "
        f"stroke-dasharray='4 3'/><text x='{key + 23}' y='10' font-size='10' fill='#c0392b'>"
        "average account (20)</text>"
    )
    parts.append(
        f"<text x='{left + w / 2:.1f}' y='{height - 4}' text-anchor='middle' font-size='11' "
        "fill='#5c6577'>influence</text>"
    )
    parts.append(
        f"<text transform='translate(12 {top + h / 2:.1f}) rotate(-90)' text-anchor='middle' "
        "font-size='11' fill='#5c6577'>accounts</text></svg>"
    )
    return "".join(parts)


def timings_svg(timings: list[dict], width: int = 760) -> str:
    """Horizontal bars, one per step, labelled with their seconds."""
    left, right, row, top = 90, 70, 24, 8
    w = width - left - right
    height = top + row * len(timings) + 8
    vmax = max([t["seconds"] for t in timings] + [1e-9])
    parts = [
        f"<svg class='timings' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='100%' style='max-width:{width}px' role='img' aria-label='seconds per step'>"
    ]
    for i, t in enumerate(timings):
        y0 = top + i * row
        bw = max(1.0, w * t["seconds"] / vmax)
        parts.append(
            f"<text x='{left - 8}' y='{y0 + 15}' text-anchor='end' font-size='12' fill='#1d2330'>{_e(t['step'])}</text>"
            f"<rect class='bar' x='{left}' y='{y0 + 3}' width='{bw:.1f}' height='{row - 8}' rx='2' fill='#3f6fb5'>"
            f"<title>{_e(t['step'])}: {t['seconds']:.1f} s</title></rect>"
            f"<text x='{left + bw + 6:.1f}' y='{y0 + 15}' font-size='12' fill='#5c6577'>{t['seconds']:,.1f} s</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
