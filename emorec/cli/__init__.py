"""`emorec ...` command line. User errors print one clear line and exit 2, never a traceback.

The verbs live in :mod:`~emorec.cli.run_commands` (models, bench, tune, merge-results,
leaderboard) and :mod:`~emorec.cli.data_commands` (data ...); each module adds its parsers and
handlers, and imports what a verb needs only when it runs, so ``emorec --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys

from emorec import __version__
from emorec.cli import data_commands, run_commands
from emorec.errors import EmorecError


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
    run_commands.add_parsers(commands)
    data_commands.add_parsers(commands)
    return parser
