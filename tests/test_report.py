"""kindling report: the HTML page of a published date, checked as data, as HTML and in headless Chromium.

The lake is written with pyarrow (the helpers of test_query_topics): two dates and two networks
of account_scores and topic_scores, a ``runs`` row that published D2 (plus a failed attempt), the
run's saved validation results and its publish timing. One handle is ``<script>``, one has ``&``.
Expected values are computed from the rows written here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_query_topics import D1, D2, _acc, _ts, _write_lake, run

import schemas
from kindling.core.settings import load_settings
from kindling.pipeline import steps
from kindling.serving import query, report

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = "2026-11-25_20261126T010000_abc123"
HOSTILE = "<script>alert(1)</script>"
BAR_FILL = (0x3F, 0x6F, 0xB5)  # histogram and timing bars (report.py)


def _influence(i: int, day: str) -> float:
    base = max(0.0, 95.0 - 9.0 * (i**0.5) * 1.6)
    wobble = ((i * 37) % 11 - 5) * (1.0 if day == D2 else 0.0)
    return round(min(100.0, max(0.0, base + wobble)), 2)


def _accounts(network: str, day: str, count: int) -> list[dict]:
    rows = []
    for i in range(count):
        handle = {0: HOSTILE, 1: "tom&jerry"}.get(i, f"{network}_{i}")
        rows.append(
            _acc(
                f"{network[0]}{i:03d}",
                handle,
                _influence(i, day),
                0,
                account_type=("person", "organization", "bot")[i % 3],
                spam_flag=day == D2 and i == 4,
            )
        )
    if day == D2:
        rows[7]["influence"] = min(100.0, rows[7]["influence"] + 25.0)  # a big riser
        rows.append(_acc(f"{network[0]}new", "newcomer", 33.0, 0))
    else:
        rows.append(_acc(f"{network[0]}old", "leaver", 44.0, 0))
    rows.sort(key=lambda r: (-r["influence"], r["account_id"]))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    return rows


def _with_changes(now: list[dict], before: list[dict]) -> list[dict]:
    was = {r["account_id"]: r["influence"] for r in before}
    return [
        dict(r, influence_change=r["influence"] - was[r["account_id"]] if r["account_id"] in was else None) for r in now
    ]


def _topics(network: str, day: str, accounts: list[dict]) -> list[dict]:
    rows = []
    for k, topic in enumerate(("python", "jazz", "cooking", "gardening", "chess", "science-and-nature-super")):
        for i, a in enumerate(accounts[: 20 - 3 * k if k < 5 else 25]):
            rows.append(
                _ts(
                    topic,
                    a["account_id"],
                    round(90.0 - 4 * i - k, 2),
                    round((i * 13 + k * 7) % 97, 2),
                    handle=a["handle"],
                    account_type=a.get("account_type", "person"),
                )
            )
    return rows


def build_data() -> dict:
    data: dict = {"account_scores": {}, "topic_scores": {}}
    for net, count in (("alpha", 60), ("beta", 35)):
        before, now = _accounts(net, D1, count), _accounts(net, D2, count)
        data["account_scores"][(D1, net)] = before
        data["account_scores"][(D2, net)] = _with_changes(now, before)
        data["topic_scores"][(D1, net)] = _topics(net, D1, before)
        data["topic_scores"][(D2, net)] = _topics(net, D2, now)
    return data


DATA = build_data()
TIMINGS = {"wait": 0.4, "pull": 2.1, "conform": 41.3, "audit-in": 14.8, "rank": 312.6, "audit-out": 9.7}
PUBLISH_SECONDS = 1.9
QUALITY = {
    "quality-in": {
        net: {
            "success": True,
            "failed": [],
            "results_path": "x",
            "warnings": ["interactions.created_at: timestamps inside the snapshot day"],
        }
        for net in ("alpha", "beta")
    },
    "quality-out": {
        net: {"success": True, "failed": [], "warnings": [], "results_path": "x"} for net in ("alpha", "beta")
    },
}
CHECKS = [  # (table, column, rule, severity, success) of the saved input-alpha.json
    ("accounts", "account_id", "ids are not null", "fail", True),
    ("accounts", "account_id", "ids are unique", "fail", True),
    ("interactions", "kind", "kinds in the allowed set", "fail", True),
    ("interactions", "created_at", "timestamps inside the snapshot day", "warn", False),
]


def _write_runs(root: Path) -> None:
    schema = schemas.table("runs").arrow_schema()
    t0 = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
    rows = [
        dict(
            run_id="2026-11-25_20261126T003000_fff000",
            networks=["alpha", "beta"],
            status="failed",
            failed_step="audit-in",
            error=f"QualityError: accounts.handle: {HOSTILE}",
            input_rows=None,
            output_rows=None,
            quality=None,
            quality_results_path=None,
            started_at=t0 - dt.timedelta(minutes=30),
            finished_at=t0 - dt.timedelta(minutes=29),
            timings=json.dumps({"wait": 0.1}),
        ),
        dict(
            run_id=RUN_ID,
            networks=["alpha", "beta"],
            status="published",
            failed_step=None,
            error=None,
            input_rows=None,
            output_rows=None,
            quality=json.dumps(QUALITY),
            quality_results_path=f"_runs/{RUN_ID}/quality",
            started_at=t0,
            finished_at=t0 + dt.timedelta(minutes=7),
            timings=json.dumps(TIMINGS),
        ),
    ]
    for r in rows:
        path = root / "tables" / "runs" / f"dt={D2}" / f"{r['run_id']}-{r['status']}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([r], schema=schema), path)
    quality = root / "_runs" / RUN_ID / "quality"
    quality.mkdir(parents=True)
    results = {"validation_results": {}}
    for table, column, rule, severity, success in CHECKS:
        results["validation_results"].setdefault(table, {"results": []})["results"].append(
            {
                "success": success,
                "expectation_config": {
                    "type": "x",
                    "meta": {"rule": rule, "severity": severity, "table": table, "column": column},
                },
            }
        )
    (quality / "input-alpha.json").write_text(json.dumps(results))
    state = root / "_runs" / RUN_ID / "state"
    state.mkdir(parents=True)
    (state / "timing-publish.json").write_text(json.dumps({"seconds": PUBLISH_SECONDS}))


# Columns that account_scores gained after its first release: beta's D2 partition is written
# without them, as a lake published before then has it (the report must still read it).
LATER_COLUMNS = [
    "trust_rank",
    "spam_mass",
    "spam_flag",
    "ring_id",
    "ring_flag",
    "responsiveness",
    "asks",
    "answered",
    "answer_hours_median",
]


def write_lake(root: Path) -> Path:
    _write_lake(root, DATA)
    _write_runs(root)
    part = root / "tables" / "account_scores" / f"dt={D2}" / "network=beta" / "part-0.parquet"
    pq.write_table(pq.read_table(part).drop(LATER_COLUMNS), part)
    return root


@pytest.fixture
def lake(tmp_path, monkeypatch):
    root = write_lake(tmp_path / "lake")
    monkeypatch.setenv("KINDLING_LAKE", str(root))
    monkeypatch.delenv("KINDLING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- data


def test_collect_gathers_each_section_from_the_published_tables(lake):
    data = report.collect(lake, D2)
    assert (data["dt"], data["prev_dt"], data["topics_dt"]) == (D2, D1, D2)
    assert list(data["networks"]) == ["alpha", "beta"]
    for net in ("alpha", "beta"):
        rows = DATA["account_scores"][(D2, net)]
        d = data["networks"][net]
        # histogram: 5-point bands, 100 in the last
        want = [0] * 20
        for r in rows:
            want[min(int(r["influence"] // 5), 19)] += 1
        assert d["histogram"] == want and sum(want) == len(rows)
        assert d["summary"]["accounts"] == len(rows)
        assert d["summary"]["top_handle"] == min(rows, key=lambda r: r["rank"])["handle"]
        # busiest topics: most scored accounts, roll-up "-super" topics aside
        topics = DATA["topic_scores"][(D2, net)]
        counts = {}
        for r in topics:
            counts[r["topic"]] = counts.get(r["topic"], 0) + 1
        busiest = sorted((t for t in counts if not t.endswith("-super")), key=lambda t: (-counts[t], t))
        assert [t["topic"] for t in d["topics"]] == busiest[: report.BUSIEST_TOPICS]
        python = d["topics"][0]
        mine = [r for r in topics if r["topic"] == python["topic"]]
        by_i = sorted(mine, key=lambda r: (-r["interest"], -r["expertise"], r["account_id"]))
        assert [r["account_id"] for r in python["by_interest"]] == [r["account_id"] for r in by_i[: report.LEADERS]]
        assert python["by_expertise"] != python["by_interest"]
        # movers are kindling query movers
        assert d["movers"] == query.movers(lake, net, n=report.MOVERS)
        assert d["movers"]["rises"][0]["account_id"] == f"{net[0]}007"
        if net == "alpha":  # the flags of account_scores (spam_flag, ring_flag): the one account set
            flagged = [r["account_id"] for r in rows if r.get("spam_flag")]
            assert d["flagged"]["kind"] == "flags" and d["flagged"]["columns"] == ["spam_flag", "ring_flag"]
            assert [r["account_id"] for r in d["flagged"]["rows"]] == flagged == ["a004"]
            continue
        # beta's partition predates the flag columns: accounts that moved more than CHANGE_POINTS, biggest first
        big = [
            r["account_id"]
            for r in sorted(rows, key=lambda r: -abs(r["influence_change"] or 0))
            if r["influence_change"] is not None and abs(r["influence_change"]) > report.CHANGE_POINTS
        ]
        assert d["flagged"]["kind"] == "change" and [r["account_id"] for r in d["flagged"]["rows"]] == big == [
            f"{net[0]}007"
        ]

    runs = data["runs"]
    assert runs["published_run"] == RUN_ID
    assert [a["status"] for a in runs["attempts"]] == ["failed", "published"]
    assert [(t["step"], t["seconds"]) for t in runs["timings"]] == [*TIMINGS.items(), ("publish", PUBLISH_SECONDS)]
    q = {(e["suite"], e["network"]): e for e in runs["quality"]}
    assert set(q) == {("input", "alpha"), ("input", "beta"), ("output", "alpha"), ("output", "beta")}
    assert [(c["table"], c["rule"], c["success"]) for c in q["input", "alpha"]["checks"]] == [
        (t, rule, ok) for t, _c, rule, _s, ok in CHECKS
    ]
    assert q["input", "beta"]["checks"] is None  # its results file is not kept
    assert q["input", "beta"]["warnings"] == QUALITY["quality-in"]["beta"]["warnings"]


def test_roll_up_suffix_is_the_taxonomys():
    from kindling.ingest.taxonomy import SUPER_SUFFIX

    assert report.SUPER_SUFFIX == SUPER_SUFFIX


def test_first_published_date_has_no_movers(lake):
    data = report.collect(lake, D1)
    assert data["prev_dt"] is None
    assert "nothing is published before" in data["networks"]["alpha"]["movers"]["unavailable"]
    assert data["runs"]["attempts"] == [] and data["runs"]["timings"] == []
    page = report.render(data)
    assert "The runs table has no row for dt=2026-11-24" in page and "No step timings" in page


def test_flag_columns_are_listed_when_account_scores_has_them(lake):
    folder = lake / "tables" / "account_scores" / f"dt={D2}" / "network=alpha"
    (part,) = folder.glob("*.parquet")
    table = pq.read_table(part)
    ids = table.column("account_id").to_pylist()
    spam = ids[table.column("spam_flag").to_pylist().index(True)]  # set by the fixture
    three, five, nine = [i for i in range(table.num_rows) if ids[i] != spam][3:10:3]
    flags = [None] * table.num_rows
    flags[three] = "bot-like burst"
    flags[five] = "bot-like burst"
    pq.write_table(
        table.append_column("quality_flags", pa.array(flags, pa.string())).append_column(
            "flag_spam", pa.array([i == nine for i in range(table.num_rows)])
        ),
        part,
    )
    flagged = report.collect(lake, D2)["networks"]["alpha"]["flagged"]
    assert flagged["kind"] == "flags" and flagged["columns"] == ["spam_flag", "ring_flag", "quality_flags", "flag_spam"]
    assert flagged["count"] == 4
    assert {r["account_id"]: r["flags"] for r in flagged["rows"]} == {
        ids[three]: {"quality_flags": "bot-like burst"},
        ids[five]: {"quality_flags": "bot-like burst"},
        ids[nine]: {"flag_spam": True},
        spam: {"spam_flag": True},
    }
    page = report.render(report.collect(lake, D2))
    assert "Accounts with a flag set in account_scores (spam_flag, ring_flag, quality_flags, flag_spam)" in page
    assert "no flag column yet" in page  # beta still has none


# --------------------------------------------------------------------------- HTML


def test_page_is_self_contained_and_escapes_the_data(lake):
    data = report.collect(lake, D2)
    page = report.render(data)
    assert "<script" not in page.lower()
    assert HOSTILE not in page and html_escaped(HOSTILE) in page
    assert "tom&amp;jerry" in page and "tom&jerry" not in page
    # nothing is fetched: no src/href to another document, no @import or url()
    assert not re.search(r"""(src|href)\s*=\s*['"](?!#)""", page)
    assert "@import" not in page and "url(" not in page
    for sid in ("distributions", "topics", "movers", "flagged", "quality", "timings"):
        assert f"<section id='{sid}'>" in page
    assert page.count("<svg class='hist'") == 2 and page.count("<svg class='timings'") == 1
    # one bar per non-empty band of each histogram, one per timed step
    bands = sum(bool(c) for d in data["networks"].values() for c in d["histogram"])
    assert page.count("class='bar'") == bands + len(TIMINGS) + 1
    assert "no flag column yet" in page and "more than 10 points" in page
    assert "all 4 checks" in page


def test_histogram_cuts_a_band_that_dwarfs_the_others():
    counts = [253, 20, 29, 18] + [0] * 16
    svg = report.histogram_svg(counts)
    ticks = re.findall(r"text-anchor='end' font-size='11' fill='#5c6577'>([\d,]+)</text>", svg)
    assert ticks[-1] == "30"  # scaled to the second biggest band
    assert ">253</text>" in svg and svg.count("fill='#fff'") == 1  # the cut bar says its count
    svg = report.histogram_svg([40, 20, 29, 18] + [0] * 16)
    assert re.findall(r"text-anchor='end' font-size='11' fill='#5c6577'>([\d,]+)</text>", svg)[-1] == "40"
    assert "fill='#fff'" not in svg


def html_escaped(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_cli_writes_the_default_path_and_out(lake, tmp_path, capsys):
    rc, out, err = run(capsys, "report", "--date", D2)
    assert rc == 0, err
    path = lake / "reports" / f"dt={D2}" / "report.html"
    assert out.strip() == f"wrote {path}" and path.read_text().startswith("<!DOCTYPE html>")
    rc, out, _ = run(capsys, "report", "--out", str(tmp_path / "x.html"))  # latest
    assert rc == 0 and f"dt={D2}" in (tmp_path / "x.html").read_text()
    before = _tree(lake)
    for argv, message in (
        (["report", "--date", "2026-11-25' OR 1=1"], "YYYY-MM-DD"),
        (["report", "--date", "../../etc"], "YYYY-MM-DD"),
        (["report", "--date", "2026-01-01"], "not published"),
    ):
        rc, _, err = run(capsys, *argv)
        assert rc == 2 and message in err
    assert _tree(lake) == before


# --------------------------------------------------------------------------- the run writes it


def _fake_steps(monkeypatch, calls: list[str]):
    """Every step but report does nothing except note that it ran (the lake is already published)."""

    def fake(step):
        def run_step(settings, day, run_id):
            calls.append(step)
            return {}

        return run_step

    for step in ("wait", "pull", "audit-in", "audit-out", "publish"):
        monkeypatch.setitem(steps.LOCAL_STEPS, step, fake(step))
    monkeypatch.setattr(steps, "submit", lambda settings, step, day, run_id: calls.append(step) or 0)


def test_run_day_writes_the_report_after_publish(lake, monkeypatch):
    calls: list[str] = []
    _fake_steps(monkeypatch, calls)
    settings = load_settings(env={}, lake=str(lake))
    steps.run_day(settings, dt.date.fromisoformat(D2), run_id="r1", log=lambda m: None)
    assert calls == list(steps.STEPS[:-1]) and steps.STEPS[-2:] == ("publish", "report")
    assert "dt=2026-11-25" in (lake / "reports" / f"dt={D2}" / "report.html").read_text()
    assert (lake / "_runs" / "r1" / "state" / "timing-report.json").exists()


def test_a_failed_report_fails_the_run_but_unpublishes_nothing(lake, monkeypatch):
    calls: list[str] = []
    _fake_steps(monkeypatch, calls)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_report", broken)
    before = _tree(lake / "tables")
    settings = load_settings(env={}, lake=str(lake))
    with pytest.raises(steps.StepFailed, match="dt=2026-11-25 is published .* report failed: OSError: disk full") as e:
        steps.run_day(settings, dt.date.fromisoformat(D2), run_id="r2", log=lambda m: None)
    assert e.value.step == "report" and calls[-1] == "publish"
    assert _tree(lake / "tables") == before  # no failed runs row either: the run did publish
    assert not (lake / "reports").exists()


# --------------------------------------------------------------------------- headless Chromium


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed: run infra/ensure_chromium.sh (make test does)")
    return exe


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={cwd / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def read_png(path: Path) -> np.ndarray:
    """A tiny PNG decoder (8-bit RGB/RGBA, not interlaced) -> uint8 array (height, width, channels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, 1 + width * bpp)
    out = np.zeros((height, width * bpp), dtype=np.uint8)
    prev = np.zeros(width * bpp, dtype=np.int64)
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        if f == 0:
            cur = line
        elif f == 1:  # Sub: a running sum per channel
            cur = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) & 0xFF
        elif f == 2:  # Up
            cur = (line + prev) & 0xFF
        else:  # Average and Paeth go left to right: plain ints are faster than numpy scalars here
            cur_l, up = line.tolist(), prev.tolist()
            for x in range(len(cur_l)):
                a = cur_l[x - bpp] if x >= bpp else 0
                b = up[x]
                if f == 3:
                    cur_l[x] = (cur_l[x] + ((a + b) >> 1)) & 0xFF
                    continue
                c = up[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa_, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur_l[x] = (cur_l[x] + (a if pa_ <= pb and pa_ <= pc else b if pb <= pc else c)) & 0xFF
            cur = np.array(cur_l, dtype=np.int64)
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)


@pytest.mark.integration  # the browser
def test_report_renders_in_headless_chromium(lake, tmp_path):
    path = report.write_report(lake, D2)
    url = path.resolve().as_uri()

    dom = _chromium("--dump-dom", url, cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html_dom = dom.stdout  # the DOM as Chromium parsed it, serialised again

    def section(sid: str) -> str:
        return html_dom.split(f'<section id="{sid}">', 1)[1].split("</section>", 1)[0]

    data = report.collect(lake, D2)
    distributions = section("distributions")
    assert distributions.count('<svg class="hist"') == 2
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', distributions)
    assert len(bars) == sum(bool(c) for d in data["networks"].values() for c in d["histogram"]) > 10
    assert all(float(h) >= 1 for h in bars)
    timings = section("timings")
    assert timings.count('<svg class="timings"') == 1 and timings.count('<rect class="bar"') == len(TIMINGS) + 1
    assert section("topics").count("top by expertise") == section("topics").count("top by interest") == 8
    assert section("movers").count("largest rises") == 2 and "alpha_7" in section("movers")
    assert "no flag column yet" in section("flagged") and "all 4 checks" in section("quality")
    assert "<script" not in html_dom.lower()  # the hostile handle stayed text
    assert html_escaped(HOSTILE) in html_dom

    png = tmp_path / "report.png"
    shot = _chromium(f"--screenshot={png}", "--window-size=1200,1600", url, cwd=tmp_path)
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    img = read_png(png)
    assert img.shape[:2] == (1600, 1200)
    rgb = img[..., :3].reshape(-1, 3)
    colours = np.unique(rgb, axis=0)
    assert len(colours) > 50  # text, bars, cards: not a blank page
    background = np.all(rgb == rgb[-1], axis=1).mean()
    assert background < 0.9
    bars = np.all(rgb == BAR_FILL, axis=1).sum()
    assert bars > 2000  # the histograms drew filled bars of their colour
