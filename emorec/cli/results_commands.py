"""The verbs that check and report results: merge-results, results check, verify,
leaderboard."""

from __future__ import annotations

import logging
from pathlib import Path

from emorec.cli.options import (
    NON_NEGATIVE,
    add_data_dir,
    add_plugin_option,
    add_results_dir,
    add_store_options,
    at_least,
    load_plugins,
)
from emorec.errors import EmorecError
from emorec.system.program import emorec_command

log = logging.getLogger("emorec")


def add_parsers(commands) -> None:
    for add in (_add_merge_results, _add_verify, _add_results, _add_leaderboard):
        add(commands)


def _add_merge_results(commands) -> None:
    merge = commands.add_parser(
        "merge-results", help="merge result folders (e.g. of shards) into one",
        description="Merge the result files and kept predictions of several folders, e.g. "
                    "the shards of a suite run on several machines, into one folder: one row "
                    "per cell, the first one seen (the output folder's own files count "
                    "first).")
    merge.add_argument("sources", type=Path, nargs="+", help="results folders to merge")
    merge.add_argument("--results-dir", type=Path, default=None,
                       help="the merged results folder (default: leaderboard/results)")
    merge.set_defaults(handler=_merge_results)


def _add_verify(commands) -> None:
    verify = commands.add_parser(
        "verify", help="check that committed results are what today's code gives",
        description="Check a suite's committed results against today's code: every row of the "
                    "dataset's current data and split must carry the cell key today's code "
                    "gives it (the key includes a fingerprint of the model's code, so rows "
                    "made by other code are STALE); every cell of the suite must have a row "
                    "(else MISSING); and a fixed sample of cells is fitted again and must give "
                    "the committed metrics (else DIFFERS). Exit status 1 on any of these.")
    verify.add_argument("suite", type=Path, help="suite file whose committed results to check")
    verify.add_argument("--per-family", type=at_least(0), default=1,
                        help="committed cells fitted again per model family (the first in plan "
                             "order); 0 checks keys and completeness only")
    verify.add_argument("--tolerance", type=NON_NEGATIVE, default=0.0,
                        help="largest accepted absolute difference of any metric")
    add_results_dir(verify)
    add_data_dir(verify)
    add_plugin_option(verify)
    verify.set_defaults(handler=_verify)


def _add_results(commands) -> None:
    group = commands.add_parser(
        "results", help="check result files against the MLflow store",
        description="Result files and the MLflow store kept in step.")
    verbs = group.add_subparsers(dest="results_command", required=True, metavar="VERB",
                                 help="check")
    check = verbs.add_parser(
        "check", help="every results row's MLflow run exists, is FINISHED and is its cell's",
        description="Check that every row of the result files links to an MLflow run that "
                    "exists in the store, is FINISHED and carries the row's cell key; print "
                    "one line per row that does not, and exit 1 if any.")
    add_store_options(check)
    check.set_defaults(handler=_results_check)


def _add_leaderboard(commands) -> None:
    board = commands.add_parser(
        "leaderboard", help="render leaderboard/<dataset>.md",
        description="Render a markdown leaderboard, <dataset>.md, and its figures for every "
                    "dataset with results: a headline of one row per model (its variant chosen "
                    "on dev), online and offline models ranked apart with 95% intervals, rank "
                    "intervals and P(best); every variant; the reference rows (chance floor, "
                    "session mean, on stand-ins the noise ceiling); the figures and the "
                    "thesis's numbers. Metrics are computed from the rows' kept sums. Beside "
                    "them, OUT/site/: the same boards as a static HTML site (index.html, one "
                    "page per dataset with sortable, filterable tables, model cards and a trace "
                    "view of the kept predictions), which opens offline from the file.")
    add_results_dir(board)
    board.add_argument("--out", type=Path, default=Path("leaderboard"),
                       help="folder for the markdown files (figures go to its figures/, the "
                            "HTML site to its site/)")
    board.set_defaults(handler=_leaderboard)


def _merge_results(args) -> None:
    from emorec.store import results
    from emorec.system.files import folder_lock

    for source in args.sources:
        if not source.is_dir():
            raise EmorecError(f"{source}: not a results folder")
    out = args.results_dir or results.RESULTS_DIR
    with folder_lock(out, "emorec merge-results"):
        merged = results.merge(args.sources, out)
    for dataset, (read, kept) in merged.items():
        log.info("%s: %d rows read, %d cells kept in %s", dataset, read, kept,
                 results.results_path(out, dataset))


def _results_check(args) -> int:
    from emorec.store import results
    from emorec.tracking.mlflow_store import DEFAULT_TRACKING_URI
    from emorec.tracking.run_links import broken_links

    uri = args.tracking_uri or DEFAULT_TRACKING_URI
    checked, problems = broken_links(args.results_dir or results.RESULTS_DIR, uri,
                                     args.tracking_timeout)
    for line in problems:
        print(f"BROKEN {line}")
    print(f"results check: {checked} rows with an MLflow run checked against {uri}, "
          f"{len(problems)} broken")
    return 1 if problems else 0


def _verify(args) -> int:
    from emorec.sweep.suites import load_suite

    if args.per_family < 0 or args.tolerance < 0:
        raise EmorecError("--per-family and --tolerance must be at least 0")
    load_plugins(args)
    ok = True
    for suite in load_suite(args.suite).each_dataset():
        ok = _verify_one(suite, args) and ok
    return 0 if ok else 1


def _verify_one(suite, args) -> bool:
    from emorec.store import results
    from emorec.verify import verify

    report = verify(suite, args.results_dir or results.RESULTS_DIR, args.data_dir,
                    args.per_family, args.tolerance)
    for line in report.stale:
        print(f"STALE {line}")
    for line in report.missing:
        print(f"MISSING {line}")
    differing = {}
    for m in report.mismatches:
        differing.setdefault((m.cell, m.key), []).append(m)
    for (cell, key), found in differing.items():
        first = found[0]
        print(f"DIFFERS {cell} (cell {key}): {len(found)} metrics differ, e.g. {first.column} "
              f"committed {first.committed!r}, rerun {first.rerun!r}")
    print(f"verify {suite.name} ({report.path}): {len(report.stale)} stale rows, "
          f"{len(report.missing)} missing cells, {len(report.rerun)} cells rerun of which "
          f"{len(differing)} differ")
    if report.other_data:
        print(f"{report.other_data} rows of {report.path} are of other data or another split "
              "(an older stand-in generator, other features): history, not checked")
    if report.stale or report.missing:
        print(f"To refresh: {emorec_command()} bench {suite.source} fits the missing cells"
              + ("; their new rows supersede the stale ones" if report.stale else "")
              + " (then make leaderboard, and commit results with code)")
    if differing:
        print("A differing cell does not reproduce here with the same code: check that the "
              f"libraries are constraints.txt's (make install); {emorec_command()} bench "
              "--force refits it")
    return report.ok


def _leaderboard(args) -> None:
    from emorec.report.pages import render_all
    from emorec.store import results

    for path in render_all(args.results_dir or results.RESULTS_DIR, args.out):
        log.info("wrote %s", path)
