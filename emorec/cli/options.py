"""Options several verbs share."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from emorec.cells import MAX_SEED


def add_store_options(parser) -> None:
    """Where results are kept and the MLflow store that tracks them."""
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of result files (default: leaderboard/results)")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow store (default: sqlite:///mlflow.db)")
    parser.add_argument("--tracking-timeout", type=SECONDS, default=10.0, metavar="SECONDS",
                        help="stop if the tracking store does not answer within this time")


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
