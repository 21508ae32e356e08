"""The verbs that run and report experiments: models, bench, tune, merge-results, leaderboard."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from emorec.cli.options import NON_NEGATIVE, SECONDS, SEED, add_store_options, at_least
from emorec.errors import EmorecError
from emorec.system.program import emorec_command

log = logging.getLogger("emorec")


def usable_cores() -> int:
    """The cores this process may run on (all of them where the OS cannot say)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def add_parsers(commands) -> None:
    for add in (_add_models, _add_bench, _add_tune, _add_merge_results, _add_verify,
                _add_results, _add_leaderboard):
        add(commands)


def _add_models(commands) -> None:
    models = commands.add_parser(
        "models", help="list the registered models, their defaults and search spaces",
        description="List every registered model: its family, modality, input view, "
                    "whether it is seed-free (its fit does not depend on the seed: one cell "
                    "for all of a suite's seeds), description and thesis grid, and each "
                    "parameter's default, accepted values and tuned range (the search space "
                    "`emorec tune` samples; '-': not tuned).")
    models.add_argument("--json", action="store_true",
                        help="print the same as JSON: a list of objects with name, family, "
                             "modality, view, source, seeded (false: the fit does not depend "
                             "on the seed, one cell for all seeds), description, params "
                             "{name: {default, accepts, tune}} and grid")
    models.add_argument("--check", metavar="NAME",
                        help="instead of listing, check that model NAME does what emorec needs "
                             "(params validate, the factory takes its declared params and "
                             "seed, fit and predict on every frame of a tiny stand-in, the "
                             "same numbers for the same seed), one line each; exit 2 naming "
                             "every failure. From Python: emorec.models.check.check_model; in "
                             "pytest, each check an item: emorec.models.check."
                             "parametrize_checks")
    models.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="with --check: a parameter value (JSON), e.g. --param epochs=1 "
                             "for a quick check of a net; repeat for several")
    _add_plugin_option(models)
    models.set_defaults(handler=_models)


def _add_bench(commands) -> None:
    bench = commands.add_parser(
        "bench", help="run a suite (benchmarks/*.toml)",
        description="Run a suite's cells and record their metrics. A suite file names a "
                    "dataset, seeds and experiments; every model x grid point x seed is one "
                    "cell (a seed-free model's grid point is one cell for all seeds: `emorec "
                    "models` says which are). Each finished cell is appended to the dataset's "
                    "result file and logged to MLflow, and cells already in the result file are "
                    "skipped, so an interrupted run resumes where it stopped.\n\n"
                    "When the suite's real dataset is absent, its stand-in is generated under "
                    "--data-dir and the results are labelled stand-in.")
    bench.add_argument("suite", type=Path, help="suite file, e.g. benchmarks/quick.toml")
    bench.add_argument("--jobs", type=at_least(1), default=usable_cores(),
                       help="worker processes; each fits one cell at a time on one thread "
                            "(default: the number of usable cores, here %(default)s)")
    bench.add_argument("--force", action="store_true", help="rerun cells already completed")
    bench.add_argument("--tracking-uri", default=None,
                       help="MLflow store (default: sqlite:///mlflow.db)")
    bench.add_argument("--tracking-timeout", type=SECONDS, default=10.0, metavar="SECONDS",
                       help="stop, before any fit, if a tracking server does not answer within "
                            "this time (later requests are bounded by it too)")
    bench.add_argument("--results-dir", type=Path, default=None,
                       help="folder of result files (default: leaderboard/results)")
    bench.add_argument("--data-dir", type=Path, default=Path("data"),
                       help="where generated stand-ins are kept")
    bench.add_argument("--shard", default="1/1", metavar="I/N",
                       help="run only shard I of N of the suite's cells (for several machines "
                            "or a Slurm job array): shards of near-equal expected fit time")
    bench.add_argument("--shard-plans", type=Path, default=None, metavar="DIR",
                       help="with --shard: the folder of the plan files the shards share (the "
                            "cells' expected fit times, fixed on a shard's first start so that "
                            "every shard, resumed or not, takes the same cells; default: the "
                            "results folder's shard-plans; unused by shard 1/1)")
    bench.add_argument("--params-from", metavar="STUDY", default=None,
                       help="run only the model an Optuna study tuned, with its best params, on "
                            "the suite's seeds, once if it is seed-free (rows marked tuned)")
    bench.add_argument("--storage", default=None,
                       help="the study's journal file or SQLAlchemy URL, with --params-from "
                            "(default: optuna.journal)")
    bench.add_argument("--allow-extractor-overlap", action="store_true",
                       help="run even if the split's test partition holds sessions the feature "
                            "extractor was trained on (a real dataset imported with "
                            "--extractor-train); otherwise such a run is refused")
    _add_plugin_option(bench)
    bench.set_defaults(handler=_bench)


def _add_tune(commands) -> None:
    tune = commands.add_parser(
        "tune", help="tune a model's hyper-parameters with Optuna",
        description="Run an Optuna study that samples a model's search space (the tuned ranges "
                    "`emorec models` lists) and maximises dev CCC on one dataset. The study is "
                    "kept in --storage and resumed if it exists, so several workers and "
                    "machines can share it. `emorec bench SUITE --params-from STUDY` then runs "
                    "its best params on the suite's seeds.",
        epilog_from=_tunable_models)
    tune.add_argument("model", help="the model to tune: one with a search space (listed below)")
    tune.add_argument("--dataset", required=True,
                      help="a dataset folder, or a suite file (its real data or stand-in)")
    tune.add_argument("--trials", type=at_least(1), required=True,
                      help="finished trials the study ends with, all workers and machines "
                           "together; a rerun tops the study up to this")
    tune.add_argument("--timeout", type=SECONDS, default=None,
                      help="seconds after which a worker starts no new trial (default: none)")
    tune.add_argument("--study", required=True, help="study name (resumed if it exists)")
    tune.add_argument("--storage", default=None,
                      help="journal file or SQLAlchemy URL (default: optuna.journal)")
    tune.add_argument("--workers", type=at_least(1), default=1, help="worker processes")
    tune.add_argument("--first-worker", type=at_least(0), default=0,
                      help="number of this machine's first worker; sampler seeds are seed + "
                           "worker number, so give each machine sharing a study its own range")
    tune.add_argument("--seed", type=SEED, default=0, help="sampler and training seed")
    tune.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                      help="hold a parameter fixed, e.g. --param window=4 (JSON value); repeat "
                           "for several")
    tune.add_argument("--tracking-uri", default=None,
                      help="MLflow store (default: sqlite:///mlflow.db)")
    tune.add_argument("--tracking-timeout", type=SECONDS, default=10.0, metavar="SECONDS",
                      help="stop, before any trial, if a tracking server does not answer "
                           "within this time")
    tune.add_argument("--data-dir", type=Path, default=Path("data"),
                      help="where generated stand-ins are kept")
    _add_plugin_option(tune)
    tune.set_defaults(handler=_tune)


def _add_plugin_option(parser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
                        help="register the models of a plugin: a .py file or an importable "
                             "module (repeat for several); installed packages' emorec.models "
                             "entry points load without it (docs/own-model.md)")


def _load_plugins(args) -> None:
    from emorec import plugins

    plugins.load_installed()
    for name in args.plugin:
        plugins.load(name)


def _tunable_models() -> str:
    from emorec.models import MODELS

    names = [name for name in MODELS if MODELS.get(name).tunable]
    return "tunable models: " + ", ".join(names)


def _add_merge_results(commands) -> None:
    merge = commands.add_parser(
        "merge-results", help="merge result folders (e.g. of shards) into one",
        description="Merge the result files and kept predictions of several folders, e.g. "
                    "the shards of a suite run on several machines, into one folder: one row "
                    "per cell, the first one seen (the output folder's own files count "
                    "first).")
    merge.add_argument("sources", type=Path, nargs="+", help="results folders to merge")
    merge.add_argument("--out", type=Path, default=None,
                       help="merged folder (default: leaderboard/results)")
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
    verify.add_argument("--results-dir", type=Path, default=None,
                        help="folder of result files (default: leaderboard/results)")
    verify.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="where generated stand-ins are kept")
    _add_plugin_option(verify)
    verify.set_defaults(handler=_verify)


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
    board.add_argument("--results-dir", type=Path, default=None,
                       help="folder of result files (default: leaderboard/results)")
    board.add_argument("--out", type=Path, default=Path("leaderboard"),
                       help="folder for the markdown files (figures go to its figures/, the "
                            "HTML site to its site/)")
    board.set_defaults(handler=_leaderboard)


def _parse_params(items: list[str]) -> dict:
    """--param NAME=VALUE options: each value read as JSON, else kept as text."""
    fixed = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise EmorecError(f"--param expects NAME=VALUE, found {item!r}")
        try:
            fixed[name] = json.loads(value)
        except ValueError:
            fixed[name] = value
    return fixed


def _models(args) -> int | None:
    from emorec.models import MODELS
    from emorec.models.describe import model_record, render_model

    _load_plugins(args)
    if args.param and not args.check:
        raise EmorecError("--param is only used with --check")
    if args.check:
        return _check_model(args.check, _parse_params(args.param))
    records = [model_record(MODELS.get(name)) for name in MODELS]
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print("\n\n".join(render_model(record) for record in records))


def _check_model(name: str, params: dict) -> int:
    """Every check, one line each; a failure's line on stderr, exit 2."""
    from emorec.models.check import ModelChecksFailed, check_model

    try:
        results = check_model(name, params)
    except ModelChecksFailed as error:
        results = error.results
    failed = [result for result in results if result.outcome == "FAILED"]
    print(f"model {name!r} " + (f"fails {len(failed)} of emorec's {len(results)} checks:"
                                if failed else "passes emorec's checks:"))
    print("\n".join(f"  {result}" for result in results if result.outcome != "FAILED"),
          flush=True)
    for result in failed:
        print(f"emorec models --check: model {name!r}: FAILED {result.check}: {result.line}",
              file=sys.stderr)
    return 2 if failed else 0


def _check_worker_count(option: str, count: int) -> None:
    """Worker processes beyond 4 a core only compete for the cores and for memory."""
    if count > 4 * usable_cores():
        raise EmorecError(f"{option} {count}: this machine gives emorec {usable_cores()} "
                          "cores; more than 4 workers a core only compete for them and for "
                          "memory (each works on one thread)")


def _bench(args) -> None:
    from emorec.store import results
    from emorec.sweep.runner import run_suite
    from emorec.sweep.sharding import parse_shard
    from emorec.sweep.suites import load_suite
    from emorec.tracking.mlflow_store import DEFAULT_TRACKING_URI
    from emorec.tuning import DEFAULT_STORAGE
    from emorec.tuning.tuned import tuned_params

    _check_worker_count("--jobs", args.jobs)
    _load_plugins(args)
    shard = parse_shard(args.shard)
    if args.storage and not args.params_from:
        raise EmorecError("--storage is only used with --params-from")
    suite = load_suite(args.suite)
    if args.params_from and suite.vary:
        raise EmorecError(f"--params-from: suite {args.suite} varies its stand-in, but a study's "
                          "params were tuned on one dataset")
    tuned = (tuned_params(args.params_from, args.storage or DEFAULT_STORAGE)
             if args.params_from else None)
    for one in suite.each_dataset():
        run_suite(one, jobs=args.jobs, force=args.force,
                  tracking_uri=args.tracking_uri or DEFAULT_TRACKING_URI,
                  results_dir=args.results_dir or results.RESULTS_DIR, data_dir=args.data_dir,
                  shard=shard, tuned=tuned, tracking_timeout=args.tracking_timeout,
                  allow_extractor_overlap=args.allow_extractor_overlap,
                  shard_plans=args.shard_plans)


def _tune(args) -> None:
    import optuna

    from emorec import plugins
    from emorec.sweep.suites import load_suite
    from emorec.tracking.mlflow_store import DEFAULT_TRACKING_URI
    from emorec.tuning import DEFAULT_STORAGE
    from emorec.tuning.study import StudyPlan, check_request, run_study, study_links

    _check_worker_count("--workers", args.workers)
    _load_plugins(args)
    fixed = _parse_params(args.param)
    check_request(args.model, fixed)   # before a stand-in is generated or a study created
    if args.dataset.endswith(".toml"):
        suite = load_suite(args.dataset)
        if suite.vary:
            raise EmorecError(f"{args.dataset} varies its stand-in over several datasets; tune "
                              "on one (a suite with set instead of vary, or a dataset folder)")
        dataset = suite.dataset_path(args.data_dir)
    else:
        dataset = Path(args.dataset)
    plan = StudyPlan(model=args.model, dataset=dataset, fixed=fixed, trials=args.trials,
                     seed=args.seed, study=args.study, storage=args.storage or DEFAULT_STORAGE,
                     timeout=args.timeout, first_worker=args.first_worker,
                     plugins=plugins.loaded())
    tracking_uri = args.tracking_uri or DEFAULT_TRACKING_URI
    study = run_study(plan, args.workers, tracking_uri, args.tracking_timeout)
    states = {}
    for trial in study.trials:
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    print(f"study {plan.study} ({plan.storage}): {len(study.trials)} trials {states}")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        print(f"best: trial {best.number}, dev CCC {best.value:.4f}, params {best.params}")
    print("\n".join(study_links(study, plan, tracking_uri)))


def _merge_results(args) -> None:
    from emorec.store import results
    from emorec.system.files import folder_lock

    for source in args.sources:
        if not source.is_dir():
            raise EmorecError(f"{source}: not a results folder")
    out = args.out or results.RESULTS_DIR
    with folder_lock(out, "emorec merge-results"):
        merged = results.merge(args.sources, out)
    for dataset, (read, kept) in merged.items():
        log.info("%s: %d rows read, %d cells kept in %s", dataset, read, kept,
                 results.results_path(out, dataset))


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
    _load_plugins(args)
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


