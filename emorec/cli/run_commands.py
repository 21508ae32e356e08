"""The verbs that run and report experiments: models, bench, tune, merge-results, leaderboard."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from emorec.errors import EmorecError

log = logging.getLogger("emorec")


def add_parsers(commands) -> None:
    models = commands.add_parser("models", help="list the registered models")
    models.set_defaults(handler=_models)

    bench = commands.add_parser("bench", help="run a suite (benchmarks/*.toml)")
    bench.add_argument("suite", type=Path)
    bench.add_argument("--jobs", type=int, default=1, help="worker processes fitting cells")
    bench.add_argument("--force", action="store_true", help="rerun cells already completed")
    bench.add_argument("--tracking-uri", default=None,
                       help="MLflow store (default sqlite:///mlflow.db)")
    bench.add_argument("--results-dir", type=Path, default=None,
                       help="folder of result files (default leaderboard/results)")
    bench.add_argument("--data-dir", type=Path, default=Path("data"),
                       help="where generated stand-ins are kept")
    bench.add_argument("--shard", default="1/1", metavar="I/N",
                       help="run only shard I of N of the suite's cells (for several machines)")
    bench.add_argument("--params-from", metavar="STUDY", default=None,
                       help="run only the model an Optuna study tuned, with its best params, on "
                            "the suite's seeds (rows marked tuned)")
    bench.add_argument("--storage", default=None,
                       help="the study's journal file or SQLAlchemy URL (default optuna.journal)")
    bench.set_defaults(handler=_bench)

    tune = commands.add_parser("tune", help="tune a model's hyper-parameters with Optuna")
    tune.add_argument("model")
    tune.add_argument("--dataset", required=True,
                      help="a dataset folder, or a suite file (its real data or stand-in)")
    tune.add_argument("--trials", type=int, required=True,
                      help="finished trials the study ends with, all workers and machines "
                           "together; a rerun tops the study up to this")
    tune.add_argument("--timeout", type=float, default=None,
                      help="seconds after which a worker starts no new trial")
    tune.add_argument("--study", required=True, help="study name (resumed if it exists)")
    tune.add_argument("--storage", default=None,
                      help="journal file or SQLAlchemy URL (default optuna.journal)")
    tune.add_argument("--workers", type=int, default=1, help="worker processes")
    tune.add_argument("--first-worker", type=int, default=0,
                      help="number of this machine's first worker; sampler seeds are seed + "
                           "worker number, so give each machine sharing a study its own range")
    tune.add_argument("--seed", type=int, default=0, help="sampler and training seed")
    tune.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                      help="hold a parameter fixed, e.g. --param window=4 (JSON value)")
    tune.add_argument("--tracking-uri", default=None,
                      help="MLflow store (default sqlite:///mlflow.db)")
    tune.add_argument("--data-dir", type=Path, default=Path("data"),
                      help="where generated stand-ins are kept")
    tune.set_defaults(handler=_tune)

    merge = commands.add_parser("merge-results",
                                help="merge result folders (e.g. of shards) into one")
    merge.add_argument("sources", type=Path, nargs="+", help="results folders to merge")
    merge.add_argument("--out", type=Path, default=None,
                       help="merged folder (default leaderboard/results)")
    merge.set_defaults(handler=_merge_results)

    verify = commands.add_parser(
        "verify", help="rerun a fixed sample of a suite's committed cells and compare metrics")
    verify.add_argument("suite", type=Path)
    verify.add_argument("--per-family", type=int, default=1,
                        help="committed cells rerun per model family (the first in plan order)")
    verify.add_argument("--tolerance", type=float, default=0.0,
                        help="largest accepted absolute difference of any metric")
    verify.add_argument("--results-dir", type=Path, default=None,
                        help="folder of result files (default leaderboard/results)")
    verify.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="where generated stand-ins are kept")
    verify.set_defaults(handler=_verify)

    board = commands.add_parser("leaderboard", help="render leaderboard/<dataset>.md")
    board.add_argument("--results-dir", type=Path, default=None)
    board.add_argument("--out", type=Path, default=Path("leaderboard"))
    board.set_defaults(handler=_leaderboard)


def _models(args) -> None:
    from tabulate import tabulate

    from emorec.models import MODELS

    rows = [[spec.name, spec.family, spec.modality, spec.view,
             ", ".join(f"{k}={v}" for k, v in spec.grid.items()), spec.description]
            for spec in (MODELS.get(name) for name in MODELS)]
    print(tabulate(rows, headers=["model", "family", "modality", "input", "grid", "about"]))


def _bench(args) -> None:
    from emorec import results
    from emorec.runner import parse_shard, run_suite
    from emorec.suites import load_suite
    from emorec.tracking import DEFAULT_TRACKING_URI
    from emorec.tuning import DEFAULT_STORAGE
    from emorec.tuning.tuned import tuned_params

    if args.jobs < 1:
        raise EmorecError("--jobs must be at least 1")
    if args.storage and not args.params_from:
        raise EmorecError("--storage is only used with --params-from")
    tuned = (tuned_params(args.params_from, args.storage or DEFAULT_STORAGE)
             if args.params_from else None)
    run_suite(load_suite(args.suite), jobs=args.jobs, force=args.force,
              tracking_uri=args.tracking_uri or DEFAULT_TRACKING_URI,
              results_dir=args.results_dir or results.RESULTS_DIR, data_dir=args.data_dir,
              shard=parse_shard(args.shard), tuned=tuned)


def _tune(args) -> None:
    import optuna

    from emorec.runner import resolve_dataset
    from emorec.suites import load_suite
    from emorec.tracking import DEFAULT_TRACKING_URI
    from emorec.tuning import DEFAULT_STORAGE
    from emorec.tuning.study import StudyPlan, run_study

    fixed = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise EmorecError(f"--param expects NAME=VALUE, found {item!r}")
        try:
            fixed[name] = json.loads(value)
        except ValueError:
            fixed[name] = value
    dataset = (resolve_dataset(load_suite(args.dataset), args.data_dir)
               if args.dataset.endswith(".toml") else Path(args.dataset))
    plan = StudyPlan(model=args.model, dataset=dataset, fixed=fixed, trials=args.trials,
                     seed=args.seed, study=args.study, storage=args.storage or DEFAULT_STORAGE,
                     timeout=args.timeout, first_worker=args.first_worker)
    study = run_study(plan, args.workers, args.tracking_uri or DEFAULT_TRACKING_URI)
    states = {}
    for trial in study.trials:
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    print(f"study {plan.study} ({plan.storage}): {len(study.trials)} trials {states}")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        print(f"best: trial {best.number}, dev CCC {best.value:.4f}, params {best.params}")


def _merge_results(args) -> None:
    from emorec import results

    for source in args.sources:
        if not source.is_dir():
            raise EmorecError(f"{source}: not a results folder")
    out = args.out or results.RESULTS_DIR
    for dataset, (read, kept) in results.merge(args.sources, out).items():
        log.info("%s: %d rows read, %d cells kept in %s", dataset, read, kept,
                 results.results_path(out, dataset))


def _verify(args) -> int:
    from emorec import results
    from emorec.suites import load_suite
    from emorec.verify import verify

    if args.per_family < 1 or args.tolerance < 0:
        raise EmorecError("--per-family must be at least 1 and --tolerance at least 0")
    suite = load_suite(args.suite)
    cells, mismatches = verify(suite, args.results_dir or results.RESULTS_DIR, args.data_dir,
                               args.per_family, args.tolerance)
    for m in mismatches:
        print(f"STALE {m.cell} (cell {m.key}): {m.column} committed {m.committed!r}, "
              f"rerun {m.rerun!r}")
    stale = len({m.key for m in mismatches})
    print(f"verify {suite.name}: {len(cells)} committed cells rerun, {stale} differ")
    return 1 if stale else 0


def _leaderboard(args) -> None:
    from emorec import results
    from emorec.leaderboard import render_all

    for path in render_all(args.results_dir or results.RESULTS_DIR, args.out):
        log.info("wrote %s", path)


