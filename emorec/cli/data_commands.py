"""`emorec data ...`: make, import, export, inspect and split datasets."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from emorec.errors import EmorecError
from emorec.vocabulary import STAND_IN_KINDS, STAND_IN_SIZES

log = logging.getLogger("emorec")


def add_parsers(commands) -> None:
    data = commands.add_parser("data", help="make, import, export and inspect datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    synth = data_commands.add_parser("synth", help="generate a stand-in dataset")
    synth.add_argument("kind", choices=STAND_IN_KINDS)
    synth.add_argument("--size", choices=STAND_IN_SIZES, default="full")
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
