"""`emorec data ...`: make, import, export, inspect, split and downsample datasets."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from emorec.cli.extract_commands import add_real_media, add_synth_media, add_tiny_models
from emorec.cli.options import POSITIVE, SEED, at_least
from emorec.errors import EmorecError
from emorec.vocabulary import STAND_IN_KINDS, STAND_IN_SIZES

log = logging.getLogger("emorec")


def add_parsers(commands) -> None:
    data = commands.add_parser(
        "data", help="make, import, export and inspect datasets",
        description="Make, import, export, inspect, split and downsample dataset folders. A "
                    "dataset folder holds manifest.json, video.parquet (one row per frame: "
                    "session, timestamp, face embedding, valence, arousal), one "
                    "audio_<L>s.parquet per audio window length L, and an optional split.csv.")
    data_commands = data.add_subparsers(title="data verbs", dest="data_command", required=True,
                                        metavar="DATA_VERB", help="what to do")
    for add in (_add_synth, _add_import, _add_export, _add_validate, _add_info, _add_split,
                _add_downsample, add_synth_media, add_real_media, add_tiny_models):
        add(data_commands)


def _add_synth(data_commands) -> None:
    synth = data_commands.add_parser(
        "synth", help="generate a stand-in dataset",
        description="Generate a stand-in dataset: synthetic features and ratings with the shape "
                    "and difficulties of the licensed SEWA or AFEW-VA feature sets, so every "
                    "benchmark runs without them. The same --seed gives byte-identical files; "
                    "results on a stand-in are labelled stand-in.")
    synth.add_argument("kind", choices=STAND_IN_KINDS, help="the dataset the stand-in imitates")
    synth.add_argument("--size", choices=STAND_IN_SIZES, default="full",
                       help="full: the real set's number of sessions (SEWA 64, AFEW-VA 600) "
                            "and lengths; small: a quarter of them at half length; tiny: a tenth "
                            "at 15%% length (at least 6 sessions)")
    synth.add_argument("--seed", type=SEED, default=0, help="seed of every random draw")
    synth.add_argument("--set", action="append", default=[], metavar="FACTOR=VALUE",
                       help="set a generator factor (repeat for several): lag (s, 0-4), "
                            "rater_noise (0-0.5), face_baseline (0-1), audio_emotion (0-5), "
                            "missing_face (bursts per minute, 0-20); factors that differ from "
                            "the kind's own extend the dataset's name, e.g. --set lag=2 makes "
                            "sewa-synth-lag2 (docs/stand-ins.md)")
    synth.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    synth.set_defaults(handler=_synth)


def _add_import(data_commands) -> None:
    imp = data_commands.add_parser(
        "import", help="import the thesis/extractor CSV layout into a dataset folder",
        description="Import the thesis / feature-extractor files (one video CSV, one audio CSV "
                    "per window length, an optional split CSV; the extractor's labels file or "
                    "AFEW-VA's JSON annotations for label-free embeddings) into a validated "
                    "dataset folder. An error names the file, the CSV line or column, and what "
                    "was expected.\n\n"
                    "Frame times come from the timestamp column, else from the file names: "
                    "<video>_<s>_<frac>.png (SEWA: SEW1103_11_2.png is 11.2 s) or "
                    "<clip>/<frame>.png (AFEW-VA: frame number / --fps); from the row order only "
                    "with --time-from row-order. Every other source present is checked against "
                    "the one used, and a frame they disagree on stops the import.")
    imp.add_argument("--video", type=Path, required=True,
                     help="video CSV: path, embedding_0.., [valence, arousal], [timestamp]")
    imp.add_argument("--labels", type=Path, metavar="CSV",
                     help="the extractor's labels file (filename, timestamp, arousal, valence), "
                          "joined to the video CSV by file name, for embeddings without labels")
    imp.add_argument("--afew-va-annotations", type=Path, metavar="ROOT",
                     help="AFEW-VA's own annotations, ROOT/<clip>/<clip>.json, joined by "
                          "<clip>/<frame>; also sets --label-scale 10, the clip folder as the "
                          "session and --fps 25 (AFEW-VA annotates every film frame) unless given")
    imp.add_argument("--audio", action="append", default=[], metavar="SECONDS=CSV",
                     help="audio CSV of one window length, e.g. --audio 1=audio_1s.csv "
                          "(repeat per length): filename, [start, end], x_0..; without start "
                          "and end, window times come from --audio-windows or from file names "
                          "<recording>_<s>_<frac>.wav (the window start; end = start + SECONDS)")
    imp.add_argument("--audio-windows", type=Path, metavar="CSV",
                     help="window table filename,start,end for audio CSVs without start and "
                          "end, joined by file name")
    imp.add_argument("--split", type=Path,
                     help="split CSV: session,partition (train/dev/test) (default: the seed-0 "
                          "70/15/15 split of the sessions)")
    imp.add_argument("--extractor-train", type=Path, metavar="CSV",
                     help="CSV with a session column: the sessions (videos) the feature "
                          "extractor was trained on. Kept in the dataset; `data split` and "
                          "`bench` then refuse a split whose test partition holds any of them")
    imp.add_argument("--name", help="dataset name (default: the video CSV's folder)")
    imp.add_argument("--time-from", default="auto", metavar="RULE",
                     help="where frame times come from: auto, timestamp, seconds-in-name, "
                          "frame-in-name, row-order, or a regular expression searched in the "
                          "path with a group (?P<seconds>...) ('_' read as the decimal point) or "
                          "(?P<frame>...) (divided by --fps)")
    imp.add_argument("--fps", type=POSITIVE,
                     help="the dataset's frame rate (default: detected from the frame times; "
                          "required with frame numbers or the row order; AFEW-VA: 25)")
    imp.add_argument("--strict", action="store_true",
                     help="a session whose frame rate differs from the dataset's (its frames "
                          "drift more than a quarter frame off the grid) is an error, not a "
                          "warning")
    imp.add_argument("--label-scale", type=POSITIVE,
                     help="divide labels by this (AFEW-VA's [-10, 10] labels: 10; default: 1)")
    imp.add_argument("--session-regex", default=None,
                     help="regular expression whose first group is the session id, applied to "
                          "path/filename with / as the separator (default: the file name up to "
                          "its first '_'; with --afew-va-annotations the clip folder)")
    imp.add_argument("--embedding-dim", type=at_least(1), default=256,
                     help="face embedding columns expected in the video CSV (embedding_0..)")
    imp.add_argument("--audio-dim", type=at_least(1), default=768,
                     help="audio feature columns expected in each audio CSV (x_0..)")
    imp.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    imp.set_defaults(handler=_import)


def _add_export(data_commands) -> None:
    exp = data_commands.add_parser(
        "export", help="write a dataset in another layout",
        description="Write a dataset folder in another layout. thesis-csv writes the CSV "
                    "layout `emorec data import` reads, plus a session column and an "
                    "emorec.json sidecar, so importing the export gives back the same dataset.")
    exp.add_argument("dataset", type=Path, help="dataset folder to export")
    exp.add_argument("--format", choices=["thesis-csv"], default="thesis-csv",
                     help="the layout to write")
    exp.add_argument("--out", type=Path, required=True, help="folder for the CSV files")
    exp.set_defaults(handler=_export)


def _add_validate(data_commands) -> None:
    validate = data_commands.add_parser(
        "validate", help="check a dataset folder",
        description="Load a dataset folder, re-validating every table, its fingerprint and "
                    "its split, and print one line describing it; an invalid folder is an "
                    "error naming what is wrong.")
    validate.add_argument("dataset", type=Path, help="dataset folder to check")
    validate.set_defaults(handler=_validate)


def _add_info(data_commands) -> None:
    info = data_commands.add_parser(
        "info", help="describe a dataset folder",
        description="Describe a dataset folder: origin, sessions, frames, gaps, label ranges, "
                    "audio coverage and split.")
    info.add_argument("dataset", type=Path, help="dataset folder to describe")
    info.set_defaults(handler=_info)


def _add_split(data_commands) -> None:
    split = data_commands.add_parser(
        "split", help="write the dataset's split file (by session) from a seed or a CSV",
        description="Write the dataset's split.csv, which puts whole sessions in train, dev or "
                    "test: a 70/15/15 split drawn from --seed, or the one a CSV gives. Without "
                    "a split file a dataset uses the seed-0 split. A split whose test partition "
                    "holds sessions the feature extractor was trained on is refused.")
    split.add_argument("dataset", type=Path, help="dataset folder whose split to write")
    source = split.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=SEED, help="70/15/15 split of the sessions from this seed")
    source.add_argument("--file", type=Path, help="CSV session,partition to use")
    split.add_argument("--allow-extractor-overlap", action="store_true",
                       help="write the split even if its test partition holds sessions the "
                            "feature extractor was trained on (imported with --extractor-train)")
    split.set_defaults(handler=_split)


def _add_downsample(data_commands) -> None:
    down = data_commands.add_parser(
        "downsample", help="the dataset at a lower frame rate (a suite's `fps = N`)",
        description="Write the dataset sampled to a lower frame rate, as the thesis's extractor "
                    "sampled every dataset at 5 fps: per session the frame nearest each grid "
                    "time k / FPS, within half a frame period of it, with its labels and every "
                    "other column; a grid time without a frame (no face) stays a gap, audio "
                    "tables are kept whole. FPS must divide the dataset's rate (of 25 fps: 5, "
                    "1, ...). The result is named <name>-<FPS>fps, records in its manifest what "
                    "it was derived from, and is written only when missing or out of date. A "
                    "suite's [dataset] fps = N does the same before it runs.")
    down.add_argument("dataset", type=Path, help="dataset folder to sample")
    down.add_argument("--fps", type=POSITIVE, required=True, help="the frame rate to sample it to")
    down.add_argument("--out", type=Path, default=None,
                      help="dataset folder to write (default: <dataset>-<FPS>fps beside it, "
                           "where a suite looks for it)")
    down.set_defaults(handler=_downsample)


def _synth(args) -> None:
    from emorec.data import synth

    factors = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        try:
            factors[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise EmorecError(f"--set expects FACTOR=NUMBER, found {item!r}")
    dataset = synth.generate(args.kind, args.size, args.seed, factors)
    dataset.save(args.out)
    log.info("wrote stand-in %s (%s, seed %d) to %s: %d frames, %d sessions, fingerprint %s",
             dataset.name, args.size, args.seed, args.out, len(dataset.video),
             len(dataset.sessions), dataset.manifest.fingerprint)


def _import(args) -> None:
    from emorec.data.thesis_csv import import_thesis_csv

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
        label_scale=args.label_scale, session_regex=args.session_regex,
        time_from=args.time_from, labels=args.labels,
        afew_va_annotations=args.afew_va_annotations, audio_windows=args.audio_windows,
        extractor_train=args.extractor_train, strict=args.strict,
        embedding_dim=args.embedding_dim, audio_dim=args.audio_dim)
    dataset.save(args.out)
    log.info("imported %s (%s) to %s: %d frames, %d sessions, audio windows %s, fingerprint %s",
             dataset.name, dataset.manifest.origin, args.out, len(dataset.video),
             len(dataset.sessions), [f"{w:g}" for w in dataset.audio] or "none",
             dataset.manifest.fingerprint)


def _export(args) -> None:
    from emorec.data.dataset import Dataset
    from emorec.data.thesis_export import export_thesis_csv

    for path in export_thesis_csv(Dataset.load(args.dataset), args.out):
        log.info("wrote %s", path)


def _validate(args) -> None:
    from emorec.data.dataset import Dataset
    from emorec.data.frame_times import report_frame_rates

    dataset = Dataset.load(args.dataset)
    report_frame_rates(dataset.video, dataset.manifest.fps, str(args.dataset))
    split = dataset.split()
    print(f"{args.dataset}: valid {dataset.manifest.origin} dataset {dataset.name!r}, "
          f"{len(dataset.video)} frames, {len(dataset.sessions)} sessions, fingerprint "
          f"{dataset.manifest.fingerprint}, split {split.hash} ({split.origin})")


def _downsample(args) -> None:
    from emorec.data.frame_rate import frame_rate_folder

    folder = frame_rate_folder(args.dataset, args.fps, args.out)
    print(f"{folder}: {args.dataset} at {args.fps:g} fps"
          + (" (already at that rate: nothing written)" if folder == args.dataset else ""))


def _info(args) -> None:
    from emorec.data.dataset import Dataset
    from emorec.data.info import describe, render

    print(render(describe(Dataset.load(args.dataset))))


def _split(args) -> None:
    from emorec.data.dataset import Dataset
    from emorec.data.splits import check_extractor_overlap, make_split, read_split_file

    dataset = Dataset.load(args.dataset)
    source = str(args.file) if args.file is not None else f"{args.dataset} (seed {args.seed})"
    if args.file is not None:
        dataset = dataset.with_split(read_split_file(args.file), source)
    else:
        dataset = dataset.with_split(make_split(dataset.sessions, args.seed).table, source)
    check_extractor_overlap(dataset.split(), dataset.manifest.extractor_train, source,
                            allow=args.allow_extractor_overlap)
    dataset.save(args.dataset)
    split = dataset.split()
    log.info("wrote %s/split.csv: %s, hash %s", args.dataset, split.sizes(), split.hash)
