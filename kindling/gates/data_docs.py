"""A Great Expectations Data Docs site per run: ``<lake>/_runs/<run_id>/data_docs/``.

Written by the quality gates (``audit-in``, ``audit-out``; :func:`kindling.pipeline.steps._gate`) from
the validation results :mod:`kindling.gates.quality` keeps on each ``SuiteResult``. The pages are
GE's own: ``ValidationResultsPageRenderer`` and ``ExpectationSuitePageRenderer`` rendered by
``DefaultJinjaPageView``, laid out as a GE file-backed site lays them out, so that their
"Home" and suite links work::

    data_docs/index.html                                        every page, by suite and network
    data_docs/validations/<suite>/<table>/<run_id>/<run_time>/<network>.html
    data_docs/expectations/<suite>/<table>.html
    data_docs/pages.json                                        what index.html lists

The index is written here, not by GE: GE's index page is built by JavaScript (bootstrap-table)
from its stores, which a run does not keep; this one is plain HTML with links. The gates run
in separate processes (Airflow tasks), so each adds its entries to ``pages.json`` and rewrites
the index. Rendering takes ~0.1 s a page (7 validation and 7 suite pages per network).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

from kindling.storage.lake import write_atomic_bytes

INDEX = "index.html"
MANIFEST = "pages.json"


def write_pages(docs_dir: Path, result, network: str, run_name: str, run_time: dt.datetime) -> dict:
    """Render one network's suite result (a ``quality.SuiteResult``) into ``docs_dir``; return its index entry."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.render.renderer import ExpectationSuitePageRenderer, ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    view = DefaultJinjaPageView()
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    pages = []
    for table, (suite, validation) in sorted(result.validations.items()):
        validation.meta["run_id"] = run_id  # shown as Run Name / Run Time on the page
        for r in validation.results:
            if r.result:
                r.result = _plain(r.result)
        parts = suite.name.split(".")
        page = Path("validations", *parts, *run_id.to_tuple(), f"{network}.html")
        suite_page = Path("expectations", *parts[:-1], f"{parts[-1]}.html")
        _write(docs_dir / page, view.render(ValidationResultsPageRenderer().render(validation)))
        _write(docs_dir / suite_page, view.render(ExpectationSuitePageRenderer().render(suite)))
        stats = validation.statistics
        pages.append(
            {
                "table": table,
                "suite_name": suite.name,
                "success": bool(validation.success),
                "evaluated": stats.get("evaluated_expectations"),
                "unsuccessful": stats.get("unsuccessful_expectations"),
                "page": page.as_posix(),
                "suite_page": suite_page.as_posix(),
            }
        )
    return {
        "suite": result.suite,
        "network": network,
        "success": result.success,
        "pages": pages,
        "checks": result.checks,
    }


def _plain(x):
    """Python numbers for NumPy ones: GE's renderer formats ``repr(x)``, which NumPy 2 spells
    ``np.float64(1.0)``, and the cell then renders as an error (seen for a PageRank sum)."""
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


def write_index(docs_dir: Path, entries: list[dict], title: str) -> Path:
    """Add ``entries`` (from :func:`write_pages`) to the site's manifest and rewrite ``index.html``.

    An entry replaces an earlier one of the same suite and network (a retried gate).
    """
    manifest = docs_dir / MANIFEST
    known = json.loads(manifest.read_text())["entries"] if manifest.is_file() else []
    new = {(e["suite"], e["network"]) for e in entries}
    merged = [e for e in known if (e["suite"], e["network"]) not in new] + entries
    order = {"input": 0, "output": 1}
    merged.sort(key=lambda e: (order.get(e["suite"], 9), e["suite"], e["network"]))
    _write(manifest, json.dumps({"title": title, "entries": merged}, indent=1, default=str))
    _write(docs_dir / INDEX, _index_html(title, merged))
    return docs_dir / INDEX


def _write(path: Path, text: str) -> None:
    write_atomic_bytes(path, text.encode())


def _index_html(title: str, entries: list[dict]) -> str:
    e = html.escape
    rows = []
    for entry in entries:
        status = "passed" if entry["success"] else "failed"
        for p in entry["pages"]:
            outcome = "passed" if p["success"] else "failed"
            rows.append(
                f"<tr><td>{e(entry['suite'])}</td><td>{e(entry['network'])}</td>"
                f"<td><a href='{e(p['page'])}'>{e(p['table'])}</a></td>"
                f"<td class='{outcome}'>{outcome}</td>"
                f"<td class='n'>{p['evaluated']}</td><td class='n'>{p['unsuccessful']}</td>"
                f"<td><a href='{e(p['suite_page'])}'>{e(p['suite_name'])}</a></td></tr>"
            )
        drift = (entry.get("checks") or {}).get("drift")
        if drift is not None:
            rows.append(
                f"<tr><td>{e(entry['suite'])}</td><td>{e(entry['network'])}</td><td>drift</td>"
                f"<td class='{_drift_class(drift)}'>{e(drift['status'])}</td>"
                f"<td colspan='3'>{e(_drift_words(drift))}</td></tr>"
            )
        rows.append(
            f"<tr class='sum'><td colspan='3'>{e(entry['suite'])} suite, {e(entry['network'])}</td>"
            f"<td class='{status}'>{status}</td><td colspan='3'></td></tr>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }}
td.n {{ text-align: right; }} .passed, .ok {{ color: #1a7f37; }} .failed, .fail {{ color: #cf222e; font-weight: bold; }}
.warn {{ color: #9a6700; }} .skipped {{ color: #666; }} tr.sum td {{ border-bottom: 2px solid #999; }}
</style></head><body>
<h1>{e(title)}</h1>
<p>Great Expectations validation results of this run's quality gates: the <b>input</b> suite on
each network's conformed day (audit-in) and the <b>output</b> suite on the staged scores
(audit-out), one page per table; the drift gates are listed with the output suite.</p>
<table><tr><th>suite</th><th>network</th><th>table</th><th>result</th><th>expectations</th>
<th>unsuccessful</th><th>expectation suite</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""


def _drift_class(drift: dict) -> str:
    return drift["status"] if drift["status"] in ("ok", "warn", "fail", "skipped") else ""


def _drift_words(drift: dict) -> str:
    if drift["status"] == "skipped":
        return f"skipped: {drift.get('reason')}"
    p, s = drift["psi"], drift["spearman"]
    rho = "n/a" if s["spearman"] is None else f"{s['spearman']:.4f}"
    return (
        f"against dt={drift['previous_dt']}: PSI of {p['column']} {p['value']:.4f} "
        f"(warn > {p['warn']:g}, fail > {p['fail']:g}); Spearman of the top {s['k']} {rho} "
        f"(warn < {s['warn']:g}; {s['common']} compared, {s['left']} left)"
    )
