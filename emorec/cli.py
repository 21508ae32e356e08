"""`emorec ...` command line. User errors print one clear line and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from emorec import __version__
from emorec.errors import EmorecError

log = logging.getLogger("emorec")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return args.handler(args) or 0
    except EmorecError as error:
        print(f"emorec: error: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emorec", description="Benchmarks for audio-visual continuous emotion recognition.")
    parser.add_argument("--version", action="version", version=f"emorec {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True)

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

    board = commands.add_parser("leaderboard", help="render leaderboard/<dataset>.md")
    board.add_argument("--results-dir", type=Path, default=None)
    board.add_argument("--out", type=Path, default=Path("leaderboard"))
    board.set_defaults(handler=_leaderboard)

    data = commands.add_parser("data", help="make, import, export and inspect datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    synth = data_commands.add_parser("synth", help="generate a stand-in dataset")
    synth.add_argument("kind", choices=["sewa", "afew-va"])
    synth.add_argument("--size", choices=["full", "small", "tiny"], default="full")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    synth.set_defaults(handler=_synth)

    imp = data_commands.add_parser(
        "import", help="import the thesis/extractor CSV layout into a dataset folder")
    imp.add_argument("--video", type=Path, required=True,
                     help="video CSV: path, embedding_0.., valence, arousal[, timestamp]")
    imp.add_argument("--audio", action="append", default=[], metavar="SECONDS=CSV",
                     help="audio CSV of one window length, e.g. --audio 1=audio_1s.csv "
                          "(repeat per length)")
    imp.add_argument("--split", type=Path, help="split CSV: session,partition (train/dev/test)")
    imp.add_argument("--name", help="dataset name (default: the video CSV's folder)")
    imp.add_argument("--fps", type=float, help="frame rate (default: from timestamps, else 5)")
    imp.add_argument("--label-scale", type=float,
                     help="divide labels by this (AFEW-VA's [-10, 10] labels: 10; default 1)")
    imp.add_argument("--session-regex", default=None,
                     help="regular expression whose first group is the session id, applied to "
                          "path/filename (default: the file name up to its first '_')")
    imp.add_argument("--embedding-dim", type=int, default=256)
    imp.add_argument("--audio-dim", type=int, default=768)
    imp.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    imp.set_defaults(handler=_import)

    exp = data_commands.add_parser("export", help="write a dataset in another layout")
    exp.add_argument("dataset", type=Path)
    exp.add_argument("--format", choices=["thesis-csv"], default="thesis-csv")
    exp.add_argument("--out", type=Path, required=True, help="folder for the CSV files")
    exp.set_defaults(handler=_export)

    validate = data_commands.add_parser("validate", help="check a dataset folder")
    validate.add_argument("dataset", type=Path)
    validate.set_defaults(handler=_validate)

    info = data_commands.add_parser("info", help="describe a dataset folder")
    info.add_argument("dataset", type=Path)
    info.set_defaults(handler=_info)

    split = data_commands.add_parser(
        "split", help="write the dataset's split file (by session) from a seed or a CSV")
    split.add_argument("dataset", type=Path)
    source = split.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int, help="70/15/15 split of the sessions from this seed")
    source.add_argument("--file", type=Path, help="CSV session,partition to use")
    split.set_defaults(handler=_split)
    return parser


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
    from emorec.tuning import DEFAULT_STORAGE, tuned_params

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
    import json

    import optuna

    from emorec.runner import resolve_dataset
    from emorec.suites import load_suite
    from emorec.tracking import DEFAULT_TRACKING_URI
    from emorec.tuning import DEFAULT_STORAGE, StudyPlan, run_study

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


def _leaderboard(args) -> None:
    from emorec import results
    from emorec.leaderboard import render_all

    for path in render_all(args.results_dir or results.RESULTS_DIR, args.out):
        log.info("wrote %s", path)


def _synth(args) -> None:
    from emorec.data import synth

    dataset = synth.generate(args.kind, args.size, args.seed)
    dataset.save(args.out)
    log.info("wrote stand-in %s (%s, seed %d) to %s: %d frames, %d sessions, fingerprint %s",
             dataset.name, args.size, args.seed, args.out, len(dataset.video),
             len(dataset.sessions), dataset.manifest.fingerprint)


def _import(args) -> None:
    from emorec.data.thesis_csv import DEFAULT_SESSION_REGEX, import_thesis_csv

    audio = {}
    for item in args.audio:
        seconds, sep, path = item.partition("=")
        try:
            length = float(seconds)
        except ValueError:
            length = None
        if not sep or length is None or not math.isfinite(length) or length <= 0:
            raise EmorecError(f"--audio {item!r}: expected SECONDS=CSV, e.g. 2=audio_2s.csv")
        if length in audio:
            raise EmorecError(f"--audio: two files for {length:g} s windows")
        audio[length] = Path(path)
    dataset = import_thesis_csv(
        args.video, audio, args.split, name=args.name, fps=args.fps,
        label_scale=args.label_scale, session_regex=args.session_regex or DEFAULT_SESSION_REGEX,
        embedding_dim=args.embedding_dim, audio_dim=args.audio_dim)
    dataset.save(args.out)
    log.info("imported %s (%s) to %s: %d frames, %d sessions, audio windows %s, fingerprint %s",
             dataset.name, dataset.manifest.origin, args.out, len(dataset.video),
             len(dataset.sessions), [f"{w:g}" for w in dataset.audio] or "none",
             dataset.manifest.fingerprint)


def _export(args) -> None:
    from emorec.data.dataset import Dataset
    from emorec.data.thesis_csv import export_thesis_csv

    for path in export_thesis_csv(Dataset.load(args.dataset), args.out):
        log.info("wrote %s", path)


def _validate(args) -> None:
    from emorec.data.dataset import Dataset

    dataset = Dataset.load(args.dataset)
    split = dataset.split()
    print(f"{args.dataset}: valid {dataset.manifest.origin} dataset {dataset.name!r}, "
          f"{len(dataset.video)} frames, {len(dataset.sessions)} sessions, fingerprint "
          f"{dataset.manifest.fingerprint}, split {split.hash} ({split.origin})")


def _info(args) -> None:
    from emorec.data.dataset import Dataset
    from emorec.data.info import describe, render

    print(render(describe(Dataset.load(args.dataset))))


def _split(args) -> None:
    from emorec.data.dataset import Dataset
    from emorec.data.splits import make_split, read_split_file

    dataset = Dataset.load(args.dataset)
    if args.file is not None:
        dataset = dataset.with_split(read_split_file(args.file), str(args.file))
    else:
        dataset = dataset.with_split(make_split(dataset.sessions, args.seed).table,
                                     f"seed {args.seed}")
    dataset.save(args.dataset)
    split = dataset.split()
    log.info("wrote %s/split.csv: %s, hash %s", args.dataset, split.sizes(), split.hash)


if __name__ == "__main__":
    sys.exit(main())
