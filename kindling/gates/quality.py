"""Great Expectations gates between the lake's layers.

``validate_input_day`` runs after a day's raw files are conformed and before any
scoring: it checks one network's input tables for that day. ``validate_output``
runs on the staged ``account_scores`` before they are published. Both return a
``SuiteResult``; the caller decides what to do with it (``raise_for`` turns a
failed gate into a ``QualityError``) because a GE validation never raises by
itself.

Every expectation is derived from the table definitions in ``schemas/tables``
(``rules_for``) plus the few rules a single table cannot state alone, declared
below (non-empty tables, references into the day's accounts, accounts not created
after the day). Each carries ``meta = {"rule", "severity", ...}``: ``fail``
blocks publishing, ``warn`` is only reported.

Great Expectations is imported lazily and its ephemeral context is created once
per process, so importing this module (e.g. from a DAG file) stays cheap.

Why one long module: the suites are built from ``schemas/`` and judged with the same rules on
both sides of the pipeline (audit-in and audit-out); the gates' sample-size rules are in
:mod:`kindling.gates.policy`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schemas import INPUT_TABLES, Table
from schemas import table as table_def

INPUT_SUITE = "input"
OUTPUT_SUITE = "output"

LINEAGE_COLUMNS = ("_source_file", "_source_row")
"""Added by the conform step: the raw file and its 1-based row, named in failures."""

SUM_TOLERANCE = 1e-6
"""``sums_to_one`` columns must sum to 1 within this."""

NON_EMPTY_TABLES = frozenset({"accounts", "interactions", "account_scores"})
"""A day without accounts or interactions is a broken delivery, not a quiet day."""

SAMPLE_SIZE = 5
"""Sample rows per failed expectation, in the results and in ``SuiteResult``."""

FAIL, WARN = "fail", "warn"
_GX_SEVERITY = {FAIL: "critical", WARN: "warning"}


class QualityError(Exception):
    """A quality gate failed; the message names expectations, tables, columns, files and rows."""


@dataclass
class SuiteResult:
    suite: str
    success: bool
    failures: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    results_path: str | None = None
    checks: dict[str, dict] = field(default_factory=dict)
    """Checks beside the GE suite, by name (``drift``): their details, as saved in the results."""
    validations: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False)
    """Per table, the GE ``(ExpectationSuite, ExpectationSuiteValidationResult)``, for Data Docs."""

    def message(self) -> str:
        lines = [_describe(self.suite, f) for f in self.failures]
        lines += [_describe(self.suite, w) + " [warn]" for w in self.warnings]
        return "\n".join(lines) if lines else f"{self.suite}: all expectations met"


def raise_for(result: SuiteResult) -> None:
    if not result.success:
        raise QualityError(result.message())


def add_checks(result: SuiteResult, name: str, details: dict, findings: list[dict]) -> None:
    """Fold a check run beside the GE suite (e.g. the drift gates) into ``result``.

    Its failed findings (``severity`` fail) fail the suite like a failed expectation; the others
    are warnings. ``details`` are kept under ``name`` in ``result.checks`` and in the saved
    results file, whose success, failures and warnings are updated to match.
    """
    for f in findings:
        (result.failures if f["severity"] == FAIL else result.warnings).append(f)
    result.success = not result.failures
    result.checks[name] = details
    if result.results_path:
        path = Path(result.results_path)
        saved = json.loads(path.read_text())
        saved.update(
            {name: details, "success": result.success, "failures": result.failures, "warnings": result.warnings}
        )
        _write_json(path, saved)


# --- rules derived from the table definitions ---------------------------------


@dataclass(frozen=True)
class Rule:
    """One expectation to check, in plain terms, before it becomes a GE object.

    ``expectation`` is a class name in ``great_expectations.expectations``. When
    ``helper`` is set, the expectation checks a computed column named
    ``kwargs["column"]`` holding the offending values of ``column`` (null
    elsewhere), so samples still show the real value, file and row.
    """

    table: str
    column: str | None
    expectation: str
    kwargs: dict[str, Any]
    rule: str
    severity: str = FAIL
    helper: Callable[[pd.DataFrame], pd.Series] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Schema columns the rule needs; it is skipped when one is missing
        (the column-presence rule already reports that)."""
        return tuple(self.column.split(",")) if self.column else ()


def rules_for(
    t: Table,
    *,
    day: dt.date | None = None,
    account_ids: pd.Index | None = None,
) -> list[Rule]:
    """Every rule for table ``t``: from its definition, plus the day's cross-table rules.

    ``day`` enables the ``in_snapshot_day`` bounds; ``account_ids`` (the day's
    accounts) enables the ``references: accounts.account_id`` checks.
    """
    rules = [
        Rule(
            t.name,
            ",".join(t.column_names),
            "ExpectTableColumnsToMatchSet",
            {"column_set": t.column_names, "exact_match": False},
            "every schema column must be present",
        ),
    ]
    if t.name in NON_EMPTY_TABLES:
        rules.append(
            Rule(t.name, None, "ExpectTableRowCountToBeBetween", {"min_value": 1}, "must have at least one row")
        )

    pk = t.primary_key
    if len(pk) == 1:
        rules.append(
            Rule(
                t.name, pk[0], "ExpectColumnValuesToBeUnique", {"column": pk[0]}, f"primary key {pk[0]} must be unique"
            )
        )
    elif pk:
        rules.append(
            Rule(
                t.name,
                ",".join(pk),
                "ExpectCompoundColumnsToBeUnique",
                {"column_list": list(pk)},
                f"primary key ({', '.join(pk)}) must be unique",
            )
        )

    day_start = day_end = None
    if day is not None:
        day_start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        day_end = day_start + dt.timedelta(days=1)

    for f in t.fields:
        col = {"column": f.name}
        if not f.nullable:
            what = "null or NaN" if f.type == "double" else "null"
            rules.append(Rule(t.name, f.name, "ExpectColumnValuesToNotBeNull", col, f"must not be {what}"))
        if f.allowed:
            rules.append(
                Rule(
                    t.name,
                    f.name,
                    "ExpectColumnValuesToBeInSet",
                    {**col, "value_set": list(f.allowed)},
                    f"must be one of {', '.join(f.allowed)}",
                )
            )
        if f.type == "double":
            # pandas' nullable Float64 keeps NaN apart from NA, and GE's not-null
            # only sees NA; a non-finite score is never valid, nullable or not.
            rules.append(
                _helper_rule(
                    t.name, f.name, "not_finite", _not_finite(f.name), "must be a finite number (no NaN or infinity)"
                )
            )
        if f.min is not None or f.max is not None:
            rules.append(
                Rule(
                    t.name,
                    f.name,
                    "ExpectColumnValuesToBeBetween",
                    {**col, "min_value": f.min, "max_value": f.max},
                    _bounds_words(f.min, f.max),
                )
            )
        if f.in_snapshot_day and day is not None:
            rules.append(
                Rule(
                    t.name,
                    f.name,
                    "ExpectColumnValuesToBeBetween",
                    {**col, "min_value": day_start, "max_value": day_end, "strict_max": True},
                    f"must fall within the snapshot day {day.isoformat()} (UTC)",
                )
            )
        if f.sums_to_one:
            rules.append(
                Rule(
                    t.name,
                    f.name,
                    "ExpectColumnSumToBeBetween",
                    {**col, "min_value": 1 - SUM_TOLERANCE, "max_value": 1 + SUM_TOLERANCE},
                    f"must sum to 1 (within {SUM_TOLERANCE:g})",
                )
            )
        if f.references and account_ids is not None:
            if f.references != "accounts.account_id":
                raise ValueError(f"{t.name}.{f.name}: unsupported reference {f.references!r}")
            rules.append(
                _helper_rule(
                    t.name,
                    f.name,
                    "not_in_accounts",
                    _not_in(f.name, account_ids),
                    "must reference an account in the day's accounts",
                )
            )

    # Cross-table/day rule: a snapshot cannot know an account created after it;
    # seen as provider clock skew, so reported rather than blocking.
    if t.name == "accounts" and day_end is not None:
        rules.append(
            Rule(
                t.name,
                "created_at",
                "ExpectColumnValuesToBeBetween",
                {"column": "created_at", "max_value": day_end, "strict_max": True},
                "an account cannot be created after the snapshot day",
                severity=WARN,
            )
        )
    return rules


def _helper_rule(table: str, column: str, what: str, helper, rule: str) -> Rule:
    return Rule(table, column, "ExpectColumnValuesToBeNull", {"column": f"__{column}__{what}"}, rule, helper=helper)


def _offending(s: pd.Series, bad: np.ndarray) -> pd.Series:
    # Only offending values are kept, as strings-or-objects that GE cannot take
    # for null (a NaN kept as a float would pass "to be null").
    out = pd.Series(None, index=s.index, dtype=object)
    if bad.any():
        out[bad] = s[bad].astype(str)
    return out


def _not_finite(column: str):
    def helper(df: pd.DataFrame) -> pd.Series:
        s = df[column]
        values = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return _offending(s, s.notna().to_numpy() & ~np.isfinite(values))

    return helper


def _not_in(column: str, ids: pd.Index):
    def helper(df: pd.DataFrame) -> pd.Series:
        s = df[column]
        return _offending(s, (s.notna() & ~s.isin(ids)).to_numpy())

    return helper


def _bounds_words(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"must be between {lo:g} and {hi:g}"
    return f"must be >= {lo:g}" if lo is not None else f"must be <= {hi:g}"


# --- the two gates --------------------------------------------------------------


def validate_input_day(
    tables: Mapping[str, pd.DataFrame],
    day: dt.date,
    network: str,
    results_dir: Path | None,
) -> SuiteResult:
    """Check one network's conformed input tables for ``day``."""
    unknown = set(tables) - set(INPUT_TABLES)
    if unknown:
        raise ValueError(f"not input tables: {sorted(unknown)}")
    account_ids = None
    accounts = tables.get("accounts")
    if accounts is not None and "account_id" in accounts.columns:
        account_ids = pd.Index(accounts["account_id"].dropna().unique())
    missing = [n for n in INPUT_TABLES if n not in tables and not table_def(n).optional]
    per_table = {
        name: rules_for(table_def(name), day=day, account_ids=account_ids) for name in INPUT_TABLES if name in tables
    }
    return _run(INPUT_SUITE, tables, per_table, missing, network, day, results_dir)


def validate_output(
    tables: Mapping[str, pd.DataFrame],
    network: str,
    results_dir: Path | None,
) -> SuiteResult:
    """Check one network's staged output tables (``account_scores``) before publishing."""
    defs = {name: table_def(name) for name in tables}
    wrong = [n for n, t in defs.items() if t.kind != "output"]
    if wrong:
        raise ValueError(f"not output tables: {wrong}")
    missing = [] if "account_scores" in tables else ["account_scores"]
    per_table = {name: rules_for(t) for name, t in defs.items()}
    return _run(OUTPUT_SUITE, tables, per_table, missing, network, None, results_dir)


# --- running the rules through Great Expectations -------------------------------

_gx_lock = threading.Lock()
_gx_state: dict[str, Any] = {}


def _batch_definition(table_name: str):
    """The whole-dataframe batch definition of a table, on the process-wide context."""
    with _gx_lock:
        if "datasource" not in _gx_state:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig
            from great_expectations.execution_engine import pandas_execution_engine

            # GE fingerprints every in-memory frame under 1e9 bytes (shallow size, so
            # ~10M rows of strings qualify) by hashing all its values: up to half of
            # the validation time, for a batch marker nothing here reads.
            if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
                pandas_execution_engine.HASH_THRESHOLD = 0
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _gx_state.update(gx=gx, datasource=context.data_sources.add_pandas("kindling"))
        key = f"batch:{table_name}"
        if key not in _gx_state:
            asset = _gx_state["datasource"].add_dataframe_asset(name=table_name)
            _gx_state[key] = asset.add_batch_definition_whole_dataframe("whole")
        return _gx_state[key]


def _release_batches() -> None:
    """Drop the data GE's pandas execution engine cached for the last batch it validated."""
    with _gx_lock:
        ds = _gx_state.get("datasource")
        if ds is None:
            return
        manager = ds.get_execution_engine().batch_manager
        manager.batch_data_cache.clear()
        manager.reset_batch_cache()


def _suite(name: str, rules: list[Rule]):
    import great_expectations.expectations as gxe

    gx = _gx_state["gx"]
    suite = gx.ExpectationSuite(name=name)
    for r in rules:
        meta = {"rule": r.rule, "severity": r.severity, "table": r.table, "column": r.column}
        suite.add_expectation(getattr(gxe, r.expectation)(**r.kwargs, meta=meta, severity=_GX_SEVERITY[r.severity]))
    return suite


def _run(
    suite: str,
    tables: Mapping[str, pd.DataFrame],
    per_table: dict[str, list[Rule]],
    missing_tables: list[str],
    network: str,
    day: dt.date | None,
    results_dir: Path | None,
) -> SuiteResult:
    failures: list[dict] = [
        {
            "table": name,
            "expectation": "table_present",
            "column": None,
            "rule": "required table must be present",
            "severity": FAIL,
            "file": None,
            "files": [],
            "unexpected_count": None,
            "sample": [],
        }
        for name in missing_tables
    ]
    warnings: list[dict] = []
    raw_results: dict[str, Any] = {}
    validations: dict[str, tuple[Any, Any]] = {}
    for name, rules in per_table.items():
        df = tables[name]
        present = set(df.columns)
        rules = [r for r in rules if r.expectation == "ExpectTableColumnsToMatchSet" or present.issuperset(r.columns)]
        helpers = {r.kwargs["column"]: r.helper(df) for r in rules if r.helper}
        if helpers:
            df = pd.concat([df, pd.DataFrame(helpers, index=df.index)], axis=1, copy=False)
        index_cols = [c for c in LINEAGE_COLUMNS if c in present]
        if not index_cols:
            index_cols = [c for c in table_def(name).primary_key if c in present]
        batch = _batch_definition(name).get_batch(batch_parameters={"dataframe": df})
        ge_suite = _suite(f"{suite}.{name}", rules)
        result = batch.validate(
            ge_suite,
            result_format={
                "result_format": "SUMMARY",
                "unexpected_index_column_names": index_cols,
                "partial_unexpected_count": SAMPLE_SIZE,
                "return_unexpected_index_query": False,
            },
        )
        # GE's execution engine keeps the batch's frame in its cache until the next one: let it go
        # now (a backfill validates day after day in one process)
        _release_batches()
        raw = result.to_json_dict()
        raw_results[name] = raw
        validations[name] = (ge_suite, result)
        helper_names = {r.kwargs["column"]: r.column for r in rules if r.helper}
        for r in raw["results"]:
            if r["success"]:
                continue
            f = _failure(name, r, helper_names)
            (failures if f["severity"] == FAIL else warnings).append(f)

    out = SuiteResult(suite=suite, success=not failures, failures=failures, warnings=warnings, validations=validations)
    if results_dir is not None:
        path = Path(results_dir) / f"{suite}-{network}.json"
        _write_json(
            path,
            {
                "suite": suite,
                "network": network,
                "day": day.isoformat() if day else None,
                "success": out.success,
                "failures": failures,
                "warnings": warnings,
                "missing_tables": missing_tables,
                "validation_results": raw_results,
            },
        )
        out.results_path = str(path)
    return out


def _failure(table: str, r: dict, helper_names: dict[str, str | None]) -> dict:
    config = r["expectation_config"]
    meta = config.get("meta") or {}
    result = r.get("result") or {}
    column = meta.get("column")
    if config["type"] == "expect_table_columns_to_match_set":
        missing = ((result.get("details") or {}).get("mismatched") or {}).get("missing")
        column = ",".join(missing) if missing else column
    sample = []
    for row in (result.get("partial_unexpected_index_list") or [])[:SAMPLE_SIZE]:
        sample.append({helper_names.get(k, k): _plain(v) for k, v in row.items()})
    if not sample:
        sample = [{"value": v} for v in (result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]
    files = sorted({s["_source_file"] for s in sample if s.get("_source_file")})
    return {
        "table": table,
        "expectation": config["type"],
        "column": column,
        "rule": meta.get("rule", config["type"]),
        "severity": meta.get("severity", FAIL),
        "file": files[0] if files else None,
        "files": files,
        "unexpected_count": result.get("unexpected_count"),
        "observed": _plain(result.get("observed_value")),
        "error": _exception_message(r.get("exception_info")),
        "sample": sample,
    }


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _exception_message(info: dict | None) -> str | None:
    # GE reports either {"raised_exception": ..., "exception_message": ...} or,
    # when a metric failed, a dict of those keyed by metric id.
    if not info:
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    messages = [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
    return "; ".join(m for m in messages if m) or None


def _describe(suite: str, f: dict) -> str:
    where = f"{f['table']}.{f['column']}" if f.get("column") else f["table"]
    head = f"{suite}: {where}: {f['rule']} ({f['expectation']}) failed"
    if f.get("hint"):
        return f"{head}; {f['hint']}"
    if f.get("error"):
        return f"{head}: {f['error'].splitlines()[0]}"
    if f["expectation"] == "expect_table_columns_to_match_set":
        return f"{head}: missing column(s) {f['column']}"
    n = f.get("unexpected_count")
    if n is None:
        return f"{head}: observed {f.get('observed')}" if f.get("observed") is not None else head
    examples = "; ".join(_example(s, f.get("column")) for s in f["sample"][:3])
    return f"{head} for {n} row{'s' if n != 1 else ''}" + (f", e.g. {examples}" if examples else "")


def _example(sample: dict, column: str | None) -> str:
    parts = []
    if "_source_file" in sample:
        parts.append(f"file {sample['_source_file']}")
    if "_source_row" in sample:
        parts.append(f"row {sample['_source_row']}")
    checked = column.split(",") if column else []
    keys = [k for k in sample if k not in LINEAGE_COLUMNS and k not in checked and k != "value"]
    parts += [f"{k} {sample[k]}" for k in keys]
    values = [sample[c] for c in checked if c in sample] or ([sample["value"]] if "value" in sample else [])
    if values:
        parts.append("value " + (str(values[0]) if len(values) == 1 else str(tuple(values))))
    return " ".join(parts)


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".json.tmp{os.getpid()}")
    tmp.write_text(json.dumps(_jsonable(payload), indent=2, default=str, allow_nan=False))
    tmp.replace(path)


def _jsonable(x: Any) -> Any:
    """Strict JSON: NaN and infinities (legitimate sample values here) become strings."""
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x
