"""Options several verbs share."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

from emorec.cells import MAX_SEED
from emorec.errors import EmorecError


def add_store_options(parser, *, before: str = "") -> None:
    """Where results are kept and the MLflow store that tracks them."""
    add_results_dir(parser)
    add_tracking_options(parser, before=before)


def add_results_dir(parser) -> None:
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of result files (default: leaderboard/results)")


def add_tracking_options(parser, *, before: str = "") -> None:
    """--tracking-uri and --tracking-timeout; ``before``: what the timeout stops short of."""
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow store (default: sqlite:///mlflow.db)")
    parser.add_argument("--tracking-timeout", type=SECONDS, default=10.0, metavar="SECONDS",
                        help=f"stop{f', before {before},' if before else ''} if the tracking "
                             "store does not answer within this time (later requests are "
                             "bounded by it too)")


def add_data_dir(parser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="where generated stand-ins are kept")


def add_plugin_option(parser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
                        help="register the models of a plugin: a .py file or an importable "
                             "module (repeat for several); installed packages' emorec.models "
                             "entry points load without it (docs/own-model.md)")


def load_plugins(args) -> None:
    """The plugins installed as entry points and those named by --plugin."""
    from emorec import plugins

    plugins.load_installed()
    for name in args.plugin:
        plugins.load(name)


def parse_params(items: list[str]) -> dict:
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


def number(kind: type, *, low: float | None = None, high: float | None = None,
           above: float | None = None):
    """An argparse ``type`` for a number option, checked where it is read: a finite ``kind``
    (int or float) >= ``low`` (or > ``above``) and <= ``high``. A bad value is argparse's one
    line, exit status 2, naming the option and what it must be."""
    bounds = []
    if low is not None:
        bounds.append(f"at least {low:g}")
    if above is not None:
        bounds.append(f"more than {above:g}")
    if high is not None:
        bounds.append(f"at most {high:g}")
    what = ("a whole number" if kind is int else "a finite number") + (
        " " + " and ".join(bounds) if bounds else "")

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (value is None or not math.isfinite(value)
                or (low is not None and value < low) or (above is not None and value <= above)
                or (high is not None and value > high)):
            raise argparse.ArgumentTypeError(f"must be {what}, found {text!r}")
        return value

    parse.__name__ = what
    return parse


# The options many verbs share, each checked once here.
SEED = number(int, low=0, high=MAX_SEED)
SECONDS = number(float, above=0, high=1e6)        # a timeout: more than 0, under 12 days
POSITIVE = number(float, above=0)                 # a rate, a scale, a duration
NON_NEGATIVE = number(float, low=0)               # a tolerance, a margin, a delay


def at_least(minimum: int):
    """A whole number >= ``minimum`` (a count of jobs, trials, shards...)."""
    return number(int, low=minimum)


def device_name(device: str) -> str:
    """``--device`` as given, or one line naming it when it is no device torch knows."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", device):
        raise EmorecError(f"--device {device}: expected cpu, cuda, cuda:N or mps")
    return device
