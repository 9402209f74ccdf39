"""The daily report: one self-contained HTML page per published date.

    <lake>/reports/dt=<D>/report.html        (kindling report --date D [--out FILE])

Written by the ``report`` step right after ``publish``, and by hand with ``kindling report``. It
reads only what is published — ``account_scores``, ``topic_scores`` and the ``runs`` row of the
date (plus the run's saved validation results when they are still in ``<lake>/_runs/``) — through
the same validated, parameter-bound readers as ``kindling.serving.query``.

The page has no scripts and no external files: inline CSS and SVG drawn here, so it opens from
disk, a mail attachment or an object store as it is. The HTML is a Jinja2 template,
``kindling/serving/templates/report.html.j2`` (CSS in ``report.css`` beside it), rendered with autoescape:
every value that comes from the data (handles are user data, and so are topic slugs) is escaped.

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

import jinja2
import markupsafe

from kindling.serving import formatting, query
from kindling.storage.lake import Lake, write_atomic_bytes
from kindling.storage.runs import STEPS

SUPER_SUFFIX = "-super"
"""kindling.ingest.taxonomy.SUPER_SUFFIX (roll-up categories), not imported from there: that pulls in pandas."""
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
    """Any value as escaped HTML text (the SVG charts below use it; the template escapes by itself)."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}"
    return html.escape(str(v), quote=True)


def _value(v) -> str:
    """A value as text: floats with 2 decimals, None as nothing (the template's ``v`` filter)."""
    if v is None:
        return ""
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _signed(v: float | None) -> str:
    return "" if v is None else f"{v:+.2f}"


SECTIONS = (
    ("distributions", "Score distributions"),
    ("topics", "Topic leaderboards"),
    ("movers", "Biggest movers"),
    ("flagged", "Flagged accounts"),
    ("quality", "Quality results"),
    ("timings", "Run timings"),
)
_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters.update(
        v=_value,
        signed=_signed,
        n=lambda x: f"{x:,}",
        flag_text=lambda flags: ", ".join(f"{k}={v}" for k, v in flags.items()),
    )
    return env


def _check_counts(q: dict) -> dict:
    """Passed, failed (severity fail) and warned checks of a suite; from the runs row when the full
    results are gone."""
    checks = q["checks"]
    if checks is None:
        return {"passed": None, "failed": len(q["failed"]), "warned": len(q["warnings"])}
    return {
        "passed": sum(c["success"] for c in checks),
        "failed": sum(not c["success"] and c["severity"] == "fail" for c in checks),
        "warned": sum(not c["success"] and c["severity"] != "fail" for c in checks),
    }


def _flagged_notes(data: dict) -> list[str]:
    notes = set()
    for d in data["networks"].values():
        f = d["flagged"]
        if f["kind"] == "flags":
            notes.add(f"Accounts with a flag set in account_scores ({', '.join(f['columns'])}).")
        else:
            notes.add(
                "account_scores has no flag column yet, so nothing is flagged as such. Listed instead, for a look: "
                f"accounts whose influence moved by more than {f['threshold']:g} points since the previous "
                "published date (a doubling or halving of their standing)."
            )
    return sorted(notes)


def render(data: dict) -> str:
    """The page: ``templates/report.html.j2`` over :func:`collect`'s data, with the CSS inlined and
    the SVG charts drawn by :func:`histogram_svg` and :func:`timings_svg`."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        **data,
        css=markupsafe.Markup((_TEMPLATES / "report.css").read_text(encoding="utf-8")),
        sections=SECTIONS,
        busiest_topics=BUSIEST_TOPICS,
        flagged_notes=_flagged_notes(data),
        histogram_svg=lambda counts, label: markupsafe.Markup(histogram_svg(counts, label)),
        timings_svg=lambda timings: markupsafe.Markup(timings_svg(timings)),
        bar_scale=lambda m: max([abs(r["change"]) for r in m["rises"] + m["falls"]] or [1.0]),
        check_counts=_check_counts,
        all_checks_kept=lambda quality: all(q["checks"] is not None for q in quality),
    )


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
