"""The verbs that make rows from kept predictions instead of a fit: fuse and score."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from emorec.cli.options import add_store_options
from emorec.errors import EmorecError

log = logging.getLogger("emorec")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def add_parsers(commands) -> None:
    fuse = commands.add_parser(
        "fuse", help="late fusion of kept predictions, as rows of their own",
        description="Fuse the kept dev and test predictions of two or more rows of a dataset "
                    "(each given as MODEL or MODEL:PARAMS_JSON, its params completed with the "
                    "model's defaults) into late-fusion rows, one per method and seed: `mean` "
                    "averages them; `blend` fits a linear blend per target on dev (its dev "
                    "score cross-fitted over dev sessions, so not in-sample). The rows (model "
                    "late_fusion) are ranked on the leaderboard like any other; fusing rows "
                    "that read future frames gives an offline row. No model is refitted.\n\n"
                    "Example: emorec fuse sewa-synth --of 'gru:{\"window\": 1}' "
                    "--of 'audio_ffnn:{\"window\": 1}' --method mean --method blend")
    fuse.add_argument("dataset", help="dataset name, as its results file is named "
                                      "(e.g. sewa-synth)")
    fuse.add_argument("--of", action="append", default=[], required=True, metavar="MODEL[:JSON]",
                      help="a row to fuse (give two or more)")
    fuse.add_argument("--method", action="append", choices=("mean", "blend"), default=None,
                      help="fusion method, repeatable (default: mean and blend)")
    _add_store_options(fuse, "fuse")
    fuse.set_defaults(handler=_fuse)

    score = commands.add_parser(
        "score", help="score predictions made elsewhere as an external row",
        description="Score a CSV of predictions made outside emorec for a dataset's test "
                    "frames (columns session, timestamp, valence, arousal; optionally "
                    "partition = dev or test, test when absent). Every test frame the dataset's "
                    "models are scored on must be predicted once; dev rows, if given, must "
                    "cover every dev frame. The row is marked external on the leaderboard and "
                    "gets the same intervals and ranks as every other row. The frames come "
                    "from the predictions kept beside the results, so a bench of the dataset "
                    "must have run first; they are listed, with their ratings, in "
                    "RESULTS_DIR/predictions/DATASET/frames-*.parquet.")
    score.add_argument("predictions", type=Path, help="the predictions CSV")
    score.add_argument("--dataset", required=True, help="dataset name, e.g. sewa-synth")
    score.add_argument("--name", required=True,
                       help="the model's name on the leaderboard (letters, digits, _ . -; not "
                            "one of emorec's models)")
    score.add_argument("--offline", action="store_true",
                       help="the model reads future frames (it is ranked with the offline "
                            "models)")
    _add_store_options(score, "score")
    score.set_defaults(handler=_score)


def _add_store_options(parser, suite: str) -> None:
    add_store_options(parser)
    parser.set_defaults(suite=suite)


def _component(text: str) -> tuple[str, dict]:
    model, sep, params = text.partition(":")
    if not sep:
        return model, {}
    try:
        parsed = json.loads(params)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise EmorecError(f"--of {text!r}: expected MODEL or MODEL:JSON_OBJECT, e.g. "
                          "'gru:{\"window\": 1}'")
    return model, parsed


def _store(args) -> tuple[Path, str]:
    from emorec.store import results
    from emorec.tracking.mlflow_store import DEFAULT_TRACKING_URI

    if not 0 < args.tracking_timeout < 1e6:
        raise EmorecError("--tracking-timeout must be more than 0 and less than 1e6 seconds")
    return args.results_dir or results.RESULTS_DIR, args.tracking_uri or DEFAULT_TRACKING_URI


def _fuse(args) -> None:
    from emorec.record import fuse_rows
    from emorec.store import result_rows
    from emorec.system.files import folder_lock

    results_dir, tracking_uri = _store(args)
    components = [_component(text) for text in args.of]
    with folder_lock(results_dir, "emorec fuse"):
        rows, made = fuse_rows.fuse(results_dir, args.dataset, args.suite,
                                    [(components, args.method or ["mean", "blend"])],
                                    tracking_uri=tracking_uri, timeout=args.tracking_timeout)

    for row in rows:
        scores = result_rows.scores(row.by_partition)
        print(f"{fuse_rows.describe(row)}: dev CCC mean {scores['dev_mean_ccc']:.3f}, test CCC "
              f"mean {scores['test_mean_ccc']:.3f}"
              + ("" if row.cell_key in made else " (already recorded)"))


def _score(args) -> None:
    from emorec.models import MODELS
    from emorec.record import derived, external
    from emorec.store import result_rows
    from emorec.system.files import folder_lock

    results_dir, tracking_uri = _store(args)
    if not NAME.fullmatch(args.name) or args.name in MODELS:
        raise EmorecError(f"--name {args.name!r}: expected a new name (a letter, then letters, "
                          "digits, _ . -; not one of emorec's models)")
    with folder_lock(results_dir, "emorec score"):
        context, current = derived.current_context(results_dir, args.dataset, args.suite)
        _check_name(current[current["model"] == args.name], args.name, args.offline)
        row = external.external_row(args.predictions, results_dir, args.dataset, args.name,
                                    args.offline, context)
        made = derived.record(results_dir, context, [row], tracking_uri=tracking_uri,
                              timeout=args.tracking_timeout)
    scores = result_rows.scores({p: row.by_partition[p] for p in row.by_partition})
    print(f"{args.name} ({'offline' if args.offline else 'online'}, external): test CCC mean "
          f"{scores['test_mean_ccc']:.3f}, RMSE mean {scores['test_mean_rmse']:.3f}"
          + ("" if made else " (already recorded: same file, dataset and split)"))


def _check_name(rows, name: str, offline: bool) -> None:
    """A name already on the board names the same kind of row: external, as online or offline
    as before (a flag forgotten would move a model between the tables)."""
    if rows.empty:
        return
    if (rows["family"] != "external").any():
        raise EmorecError(f"--name {name!r} already names rows that are not external "
                          "predictions on this dataset; choose another name")
    before = {json.loads(params).get("offline") for params in rows["params"]}
    if before != {offline}:
        raise EmorecError(f"--name {name!r} was scored as "
                          f"{'offline' if True in before else 'online'}; give the same "
                          f"{'--offline' if True in before else 'no --offline'} to score it "
                          "again, or another --name")
