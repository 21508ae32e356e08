"""The verbs that run experiments: bench (a suite's cells) and tune (an Optuna study)."""

from __future__ import annotations

import os
from pathlib import Path

from emorec.cli.options import (
    SECONDS,
    SEED,
    add_data_dir,
    add_plugin_option,
    add_store_options,
    add_tracking_options,
    at_least,
    device_name,
    load_plugins,
    parse_params,
)
from emorec.errors import EmorecError


def usable_cores() -> int:
    """The cores this process may run on (all of them where the OS cannot say)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def add_parsers(commands) -> None:
    _add_bench(commands)
    _add_tune(commands)


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
    bench.add_argument("--device", default=None, metavar="DEVICE",
                       help="train every net on DEVICE (cpu, cuda, cuda:1, mps): sets the nets' "
                            "device param, so these rows are rows of their own (default: the "
                            "nets' own device param, which uses CUDA when present)")
    add_store_options(bench, before="any fit")
    add_data_dir(bench)
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
    add_plugin_option(bench)
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
    tune.add_argument("--timeout", type=SECONDS, default=None, metavar="SECONDS",
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
    add_tracking_options(tune, before="any trial")
    add_data_dir(tune)
    add_plugin_option(tune)
    tune.set_defaults(handler=_tune)


def _tunable_models() -> str:
    from emorec.models import MODELS

    names = [name for name in MODELS if MODELS.get(name).tunable]
    return "tunable models: " + ", ".join(names)


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
    load_plugins(args)
    shard = parse_shard(args.shard)
    if args.storage and not args.params_from:
        raise EmorecError("--storage is only used with --params-from")
    suite = load_suite(args.suite)
    if args.device is not None:
        suite = suite.on_device(checked_device(args.device))
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


def checked_device(device: str) -> str:
    """``--device`` as given, or one line naming it: an unknown device, or CUDA where torch sees
    none (before any cell runs)."""
    if device_name(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise EmorecError(f"--device {device}: torch {torch.__version__} sees no CUDA "
                              "device here (a CPU build, or no GPU); nothing was run")
    return device


def _tune(args) -> None:
    import optuna

    from emorec import plugins
    from emorec.sweep.suites import load_suite
    from emorec.tracking.mlflow_store import DEFAULT_TRACKING_URI
    from emorec.tuning import DEFAULT_STORAGE
    from emorec.tuning.study import StudyPlan, check_request, run_study
    from emorec.tuning.study_runs import study_links

    _check_worker_count("--workers", args.workers)
    load_plugins(args)
    fixed = parse_params(args.param)
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
