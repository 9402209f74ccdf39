"""The ``kindling`` command line.

kindling generate   synthetic snapshots with planted truth
kindling run        the daily job for one date, without Airflow
kindling backfill   a range of days, in order, skipping published ones
kindling step       one non-Spark step (Airflow tasks call this)
kindling submit     one Spark step through spark-submit (Airflow tasks call this)
kindling rank       weighted PageRank of an edge list
kindling query      answers from the published tables (top, account, explain, movers, runs, sql)
kindling report     the HTML report of a published date
kindling import     snapshot folders from other formats (SNAP edge lists)
kindling evaluate   topic scores against the planted ground truth of generated snapshots
"""

from __future__ import annotations

import argparse
import signal
import sys

from kindling.core.settings import SettingError, load_settings
from kindling.core.validate import InvalidArgument, parse_date
from kindling.core.validate import run_id as clean_run_id
from kindling.pipeline import backfill as backfills
from kindling.pipeline import spark as sparks
from kindling.pipeline import steps
from kindling.serving import formatting, query
from kindling.serving.query import NoLake
from kindling.serving.report import write_report
from kindling.storage.lake import Lake


def _settings(args):
    """The settings of this command: ``--lake`` (when given) over KINDLING_LAKE and the config file."""
    return load_settings(lake=getattr(args, "lake", None))


def _cmd_generate(args) -> int:
    from kindling_dev import generate  # deferred: loads numpy and pyarrow, which other commands do not need

    return generate.run(args)


def _cmd_run(args) -> int:

    settings = _settings(args)
    day = parse_date(args.date)
    run_id = clean_run_id(args.run_id) if args.run_id else None  # every argument checked before Spark starts
    spark = None
    if args.in_process:
        spark = sparks.session(settings, master=settings.spark_master)
    try:
        run_id = steps.run_day(settings, day, run_id=run_id, spark=spark)
    finally:
        if spark is not None:
            spark.stop()

    print(f"published dt={day} (run {run_id}); report: {Lake(settings.lake).report(day)}")
    return 0


def _cmd_backfill(args) -> int:

    settings = _settings(args)
    start, end = parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")  # before Spark starts
    if args.spark_submit and args.in_process:
        raise InvalidArgument("--spark-submit and --in-process contradict each other: give one")
    spark = None
    if not args.spark_submit:  # one SparkSession for every day: no JVM start-up per step
        spark = sparks.session(settings, master=settings.spark_master)
    try:
        results = backfills.backfill(settings, start, end, force=args.force, spark=spark)
    finally:
        if spark is not None:
            spark.stop()
    print(backfills.summary(results))
    return 1 if any(r.status == "failed" for r in results) else 0


def _cmd_step(args) -> int:

    settings = _settings(args)
    steps.run_local_step(settings, args.step, parse_date(args.date), clean_run_id(args.run_id))
    return 0


def _cmd_submit(args) -> int:

    settings = _settings(args)
    return steps.submit(settings, args.step, parse_date(args.date), clean_run_id(args.run_id))


def _cmd_rank(args) -> int:
    from jobs.rank_edges import rank_edges  # deferred: loads pyspark, which other commands do not need

    settings = _settings(args)
    spark = sparks.session(settings, app_name="kindling-rank", master=settings.spark_master)
    try:
        result = rank_edges(
            spark,
            args.edges,
            args.out,
            damping=settings.damping if args.damping is None else args.damping,
            tol=settings.tol if args.tol is None else args.tol,
            max_iter=settings.max_iter if args.max_iter is None else args.max_iter,
            engine=settings.pagerank_engine,
            vector_max_mb=settings.pagerank_vector_max_mb,
        )
    finally:
        spark.stop()
    print(
        f"wrote {result['vertices']} ranks to {args.out} in {result['iterations']} iterations "
        f"({'converged' if result['converged'] else 'NOT converged'})"
    )
    return 0 if result["converged"] else 3


def _cmd_query(args) -> int:

    lake = _settings(args).lake
    if args.what == "top" and args.topic is not None:
        rows = query.topic_top(
            lake,
            args.topic,
            by=args.by or "expertise",
            network=args.network,
            date=args.date,
            n=args.n,
            people_only=args.people_only,
        )
        print(formatting.format_topic_top(rows, args.format))
    elif args.what == "top":
        if args.by is not None:
            raise InvalidArgument("--by orders a topic's ranking: give --topic too")
        if args.network is None:
            raise InvalidArgument("query top needs --network (or --topic T for a topic's ranking on every network)")
        rows = query.top(lake, args.network, args.date, args.n, people_only=args.people_only)
        print(formatting.format_top(rows, args.format))
        if args.format == "table" and rows:
            import datetime as dt

            print(formatting.window_text(query.published_run(lake, dt.date.fromisoformat(rows[0]["dt"]))))
            print(formatting.scale_text(query.influence_floor(lake, args.network, rows[0]["dt"])))
    elif args.what == "reachable":
        rows = query.reachable(
            lake, args.topic, network=args.network, date=args.date, n=args.n, people_only=args.people_only
        )
        print(formatting.format_reachable(rows, args.format))
    elif args.what == "topics":
        print(formatting.format_topics(query.topics(lake, network=args.network, date=args.date), args.format))
    elif args.what == "account":
        result = query.account(lake, args.account_id, network=args.network, date=args.date, topics=args.topics)
        print(formatting.format_account(result, args.format))
    elif args.what == "explain":
        result = query.explain(
            lake,
            args.account_id,
            topic=args.topic,
            network=args.network,
            date=args.date,
            people_only=args.people_only,
            n=args.n,
        )
        print(formatting.format_explain(result, args.format))
    elif args.what == "runs":
        print(formatting.format_runs(query.runs(lake, date=args.date, status=args.status, n=args.n), args.format))
    elif args.what == "sql":
        print(formatting.format_rows(query.sql(lake, args.statement), args.format))
    elif args.what == "movers":
        result = query.movers(
            lake, args.network, args.date_from, args.date_to, n=args.n, topic=args.topic, people_only=args.people_only
        )
        print(formatting.format_movers(result, args.format))
    else:
        raise InvalidArgument(f"unknown query {args.what!r}")
    return 0


def _cmd_report(args) -> int:

    date = args.date if args.date == "latest" else parse_date(args.date).isoformat()
    print(f"wrote {write_report(_settings(args).lake, date, out=args.out)}")
    return 0


def _cmd_evaluate(args) -> int:
    from kindling_dev.evaluate import (  # deferred: loads pandas, which other commands do not need
        evaluate,
        format_report,
    )

    s = _settings(args)
    print(
        format_report(
            evaluate(
                s.lake,
                args.snapshots,
                args.date,
                baseline_lake=args.baseline_lake,
                twin_lake=args.twin_lake,
                baseline_twin_lake=args.baseline_twin_lake,
                prior=(s.responsiveness_prior_answered, s.responsiveness_prior_unanswered),
                no_sparks_lake=args.no_sparks_lake,
            ),
            args.format,
        )
    )
    return 0


def _cmd_import(args) -> int:
    from kindling.ingest.importer import (  # deferred: loads numpy and pyarrow, which other commands do not need
        format_summary,
        import_snap_edgelist,
    )

    summary = import_snap_edgelist(
        args.file, network=args.network, kind=args.kind, out=args.out, date=args.date, third=args.third
    )
    print(format_summary(summary))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kindling")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _lake_path(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("needs a path (the lake folder)")
    return value


def _add_lake_option(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand without --lake keeps what `kindling --lake X ...` set.
    parser.add_argument(
        "--lake",
        metavar="PATH",
        type=_lake_path,
        default=argparse.SUPPRESS,
        help="the lake folder (default: KINDLING_LAKE, else the config file's lake, else ./lake)",
    )


NO_LAKE_COMMANDS = ("generate", "import")
"""Subcommands that never read or write the lake; every other one takes --lake."""

TOP_HELP = """\
influence = clamp(20 + 10 * log2(N * pagerank), 0, 100) on each network and day:
  20  the network's average account (N * pagerank = 1)
  30  twice the average PageRank; each +10 doubles it
  50  8x the average;  90 = 128x;  100 = 256x or more
An account nobody engages with gets only its teleport share of the PageRank
((1 - damping) / N plus its share of the rank that dangling accounts and the
defenses return through the teleport): a floor below 20 that depends on the
network and the day. The table's footer prints that day's floor as published.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kindling", description="Topic-aware influence scores from social-network snapshots."
    )
    p.add_argument("--version", action="version", version=f"kindling {_version()}")
    _add_lake_option(p)
    sub = p.add_subparsers(dest="command", required=True)

    from kindling_dev import generate  # deferred: loads numpy and pyarrow, which other commands do not need

    g = sub.add_parser("generate", help="write synthetic snapshot folders with planted ground truth")
    generate.add_arguments(g)
    g.set_defaults(func=_cmd_generate)

    r = sub.add_parser("run", help="run every step of the daily job for one date, without Airflow")
    r.add_argument("--date", required=True, help="snapshot date YYYY-MM-DD")
    r.add_argument("--run-id", help="run id (default: generated)")
    r.add_argument(
        "--in-process", action="store_true", help="run the Spark steps in this process instead of spark-submit"
    )
    r.set_defaults(func=_cmd_run)

    b = sub.add_parser("backfill", help="run a range of days in order, skipping days already published")
    b.add_argument("--from", dest="date_from", required=True, help="first date YYYY-MM-DD")
    b.add_argument("--to", dest="date_to", required=True, help="last date YYYY-MM-DD (inclusive)")
    b.add_argument("--force", action="store_true", help="rerun days that are already published")
    b.add_argument(
        "--spark-submit",
        action="store_true",
        help="a spark-submit per Spark step of every day, as Airflow runs them (about 3x slower per "
        "small day: two JVM start-ups a day)",
    )
    b.add_argument(
        "--in-process",
        action="store_true",
        help="one SparkSession for every day (the default; kept for scripts that pass it)",
    )
    b.set_defaults(func=_cmd_backfill)

    s = sub.add_parser("step", help="run one non-Spark step (wait, pull, audit-in, audit-out, publish, report)")
    s.add_argument("step", choices=["wait", "pull", "audit-in", "audit-out", "publish", "report"])
    s.add_argument("--date", required=True)
    s.add_argument("--run-id", required=True)
    s.set_defaults(func=_cmd_step)

    sb = sub.add_parser("submit", help="run one Spark step (conform, rank) with spark-submit")
    sb.add_argument("step", choices=["conform", "rank"])
    sb.add_argument("--date", required=True)
    sb.add_argument("--run-id", required=True)
    sb.set_defaults(func=_cmd_submit)

    rk = sub.add_parser("rank", help="weighted PageRank of an edge list (src,dst,weight as CSV or Parquet)")
    rk.add_argument("edges")
    rk.add_argument("--out", required=True, help="output file or folder (.csv or .parquet): id,pagerank")
    rk.add_argument("--damping", type=float, help="default: the damping setting (KINDLING_DAMPING, 0.85)")
    rk.add_argument("--tol", type=float, help="default: the tol setting (KINDLING_TOL, 1e-9)")
    rk.add_argument("--max-iter", type=int, help="default: the max_iter setting (KINDLING_MAX_ITER, 100)")
    rk.set_defaults(func=_cmd_rank)

    q = sub.add_parser("query", help="answers from the published tables")
    qs = q.add_subparsers(dest="what", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--network", help="one network (default: every network; the global top needs one)")
    common.add_argument("--date", default="latest", help="YYYY-MM-DD or latest")
    common.add_argument("--format", choices=["table", "json", "csv"], default="table")
    qt = qs.add_parser(
        "top",
        parents=[common],
        help="top accounts by influence, or of one topic with --topic",
        description="Top accounts by influence, or of one topic with --topic.",
        epilog=TOP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    qt.add_argument("--topic", help="rank this topic's accounts (every network unless --network)")
    qt.add_argument("--by", choices=["expertise", "interest"], help="with --topic: order by (default expertise)")
    qt.add_argument("-n", type=int, default=20)
    qt.add_argument(
        "--people-only",
        action="store_true",
        help="only accounts the snapshot says are people (no organizations, bots or unknown)",
    )
    qh = qs.add_parser(
        "reachable", parents=[common], help="a topic's experts most likely to answer: expertise x responsiveness"
    )
    qh.add_argument("--topic", required=True, help="the topic (every network that has it unless --network)")
    qh.add_argument("-n", type=int, default=20)
    qh.add_argument(
        "--people-only",
        action="store_true",
        help="only accounts the snapshot says are people (no organizations, bots or unknown)",
    )
    qs.add_parser(
        "topics", parents=[common], help="the published topics: accounts scored, parent, and where folded topics point"
    )
    qa = qs.add_parser(
        "account",
        parents=[common],
        help="one network's account: its scores and top topics (ids are per network: --network "
        "is needed when the id is on several)",
    )
    qa.add_argument("account_id")
    qa.add_argument("--topics", type=int, default=5, help="topics listed by expertise and by interest")
    qe = qs.add_parser(
        "explain", parents=[common], help="an account's contributors' shares of its score, and their change"
    )
    qe.add_argument("account_id")
    qe.add_argument("-n", type=int, default=10, help="contributors listed (the rest are summed under 'others')")
    qe.add_argument("--topic", help="explain expertise in this topic (default: global influence)")
    qe.add_argument(
        "--people-only",
        action="store_true",
        help="only contributors the snapshot says are people (published contributor ranks kept)",
    )
    qr = qs.add_parser("runs", help="run attempts, newest first, with status and failed checks")
    qr.add_argument("--date", help="only the runs of this date YYYY-MM-DD (default: every date)")
    qr.add_argument("--status", choices=["published", "failed"])
    qr.add_argument("-n", type=int, default=20)
    qr.add_argument("--format", choices=["table", "json", "csv"], default="table")
    qq = qs.add_parser("sql", help="one read-only SQL query over views of every published table")
    qq.add_argument("statement", help='e.g. "SELECT network, count(*) FROM account_scores GROUP BY ALL"')
    qq.add_argument("--format", choices=["table", "json", "csv"], default="table")
    qm = qs.add_parser("movers", help="largest rises and falls of influence (or a topic's expertise) between two dates")
    qm.add_argument("--network", required=True)
    qm.add_argument("--from", dest="date_from", help="YYYY-MM-DD (default: the published date before --to)")
    qm.add_argument("--to", dest="date_to", default="latest", help="YYYY-MM-DD or latest")
    qm.add_argument("--topic", help="expertise in this topic instead of global influence")
    qm.add_argument("-n", type=int, default=10, help="accounts per list")
    qm.add_argument(
        "--people-only",
        action="store_true",
        help="only accounts the snapshot says are people (no organizations, bots or unknown)",
    )
    qm.add_argument("--format", choices=["table", "json", "csv"], default="table")
    q.set_defaults(func=_cmd_query)

    rp = sub.add_parser("report", help="write the self-contained HTML report of a published date")
    rp.add_argument("--date", default="latest", help="published date YYYY-MM-DD or latest")
    rp.add_argument("--out", help="file to write (default: <lake>/reports/dt=D/report.html)")
    rp.set_defaults(func=_cmd_report)

    ev = sub.add_parser("evaluate", help="score quality of topic_scores against the planted ground truth")
    ev.add_argument("--snapshots", required=True, help="folder holding ground_truth.parquet (kindling generate --out)")
    ev.add_argument("--date", required=True, help="published date YYYY-MM-DD or latest")
    ev.add_argument("--format", choices=["table", "json"], default="table")
    ev.add_argument(
        "--baseline-lake",
        metavar="PATH",
        help="lake of a run of the same snapshots with the defenses off: its ring ranks and gamer gains "
        "are shown beside this lake's",
    )
    ev.add_argument(
        "--twin-lake",
        metavar="PATH",
        help="lake of the twin snapshots (kindling generate --no-gaming) ranked with the same settings: "
        "each reply gamer's gain over its own influence there",
    )
    ev.add_argument(
        "--baseline-twin-lake",
        metavar="PATH",
        help="the twin snapshots ranked with the defenses off (the twin of --baseline-lake)",
    )
    ev.add_argument(
        "--no-sparks-lake",
        metavar="PATH",
        help="lake of the same world generated without sparks (kindling generate --sparks 0) ranked with "
        "the same settings: where each spark in a top 100 ranks with no spark at all",
    )
    ev.set_defaults(func=_cmd_evaluate)

    im = sub.add_parser("import", help="write snapshot folders from an external dataset")
    ims = im.add_subparsers(dest="format", required=True)
    se = ims.add_parser(
        "snap-edgelist", help="a SNAP edge list: 'src dst', 'src dst weight' or 'src dst unix_ts' per line"
    )
    se.add_argument("file", help="the edge list (whitespace-separated; '#' and '%%' lines are comments)")
    se.add_argument("--network", required=True, help="network name of the snapshot folders")
    se.add_argument(
        "--kind", required=True, choices=["reply", "mention", "repost"], help="interaction kind of every edge"
    )
    se.add_argument(
        "--out", required=True, help="snapshot folder to write network=<n>/dt=<D>/ into (a KINDLING_SOURCE)"
    )
    se.add_argument("--date", help="YYYY-MM-DD of every interaction; required when the file has no timestamps")
    se.add_argument(
        "--third",
        choices=["auto", "weight", "timestamp"],
        default="auto",
        help="third column: auto (default) = timestamps when every value is >= 1e9, else weights",
    )
    se.set_defaults(func=_cmd_import)

    for name, command in sub.choices.items():
        if name not in NO_LAKE_COMMANDS:
            _add_lake_option(command)
    for command in qs.choices.values():
        _add_lake_option(command)
    return p


def main(argv: list[str] | None = None) -> int:
    if argv is None and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `kindling query ... | head` ends quietly
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # a bare `kindling`: what it can do
        parser.print_help()
        return 0
    args = parser.parse_args(argv)  # usage errors: argparse's "kindling ...: error: ..." and exit 2
    try:
        return args.func(args)
    except SettingError as e:  # names the variable (or config file key) and the value
        return _error(e, 2)
    except NoLake as e:
        return _error(f"{e}; give the lake with --lake PATH or KINDLING_LAKE=PATH", 2)
    except (InvalidArgument, LookupError, FileNotFoundError) as e:
        return _error(e, 2)
    except Exception as e:  # a failed step: say what failed, exit non-zero
        name = type(e).__name__
        if name in ("QualityError", "ConformError", "StepFailed", "SourceError", "DateLocked"):
            return _error(f"{name}: {e}", 1)
        raise


def _error(message, code: int) -> int:
    """User errors (2) and failed steps (1) read alike: ``kindling: error: ...`` on stderr."""
    print(f"kindling: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
