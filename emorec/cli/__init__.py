"""`emorec ...` command line. User errors print one clear line and exit 2, never a traceback.
The verbs live in :mod:`~emorec.cli.model_commands` (models), :mod:`~emorec.cli.run_commands`
(bench, tune), :mod:`~emorec.cli.results_commands` (merge-results, results, verify,
leaderboard), :mod:`~emorec.cli.record_commands` (fuse, score),
:mod:`~emorec.cli.slurm_commands` (slurm) and :mod:`~emorec.cli.data_commands` (data ...); each
module adds its parsers and handlers, and imports what a verb needs only when it runs, so
``emorec --help`` stays fast. Every verb's parser is a :class:`CommandParser`: its help shows
each option's default, and text that needs the registry (``epilog_from``) is computed only
when that help is printed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from emorec import __version__
from emorec.cli import (
    data_commands,
    extract_commands,
    model_commands,
    record_commands,
    results_commands,
    run_commands,
    slurm_commands,
)
from emorec.errors import EmorecError


class HelpFormatter(argparse.HelpFormatter):
    """Wraps each paragraph of a description on its own, and appends ``(default: ...)`` to an
    option's help unless it has no default to show (None, a flag, an empty list) or already
    says it."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n\n".join(fill(paragraph, width, indent) for paragraph in text.split("\n\n"))

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("(default" in text or action.nargs == 0
                or action.default in (None, [], argparse.SUPPRESS)):
            return text
        return text + " (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """A verb's parser. ``epilog_from``: a function giving the epilog, called only when the
    help is printed, for text that needs slow imports."""

    def __init__(self, *args, epilog_from: Callable[[], str] | None = None, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.epilog_from = epilog_from

    def format_help(self) -> str:
        if self.epilog_from is not None:
            self.epilog = self.epilog_from()
        return super().format_help()

    def error(self, message: str):
        """A bad command line is one line and exit 2, like every other user error."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as end:   # --help (0) or a bad command line (2, said in one line)
        return end.code
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger("mlflow").setLevel(logging.WARNING)   # its database set-up chatter
    try:
        return args.handler(args) or 0
    except EmorecError as error:
        print(f"emorec: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:   # output piped into a reader that stopped (head, less): done
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("emorec: interrupted; what finished is kept (a bench or an extraction "
              "resumes where it stopped when run again)", file=sys.stderr)
        return 130
    except Exception as error:
        if not store_error(error):
            raise
        print(f"emorec: error: {store_error(error)}", file=sys.stderr)
        return 2


def store_error(error: Exception) -> str:
    """One line for a store that failed under a command (an MLflow SQLite file overwritten,
    damaged or deleted mid-run, a database server gone): which store library failed, its
    reason's first line and what to do; "" for any other error, which stays a traceback."""
    library = type(error).__module__.partition(".")[0]
    if library not in ("sqlalchemy", "mlflow", "sqlite3", "psycopg", "optuna"):
        return ""
    reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0]
    return (f"the {library} store failed ({type(error).__name__}: {reason}); rows already "
            "written are kept: repair or move the store (a damaged MLflow SQLite file away, "
            "a server back up) and run the command again")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="emorec",
        description="Benchmarks for audio-visual continuous emotion recognition.\n\n"
                    "Run `emorec VERB --help` for what a verb does and its options.")
    parser.add_argument("--version", action="version", version=f"emorec {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    commands = parser.add_subparsers(title="verbs", dest="command", required=True,
                                     metavar="VERB", help="what to do")
    model_commands.add_parsers(commands)
    run_commands.add_parsers(commands)
    results_commands.add_parsers(commands)
    record_commands.add_parsers(commands)
    data_commands.add_parsers(commands)
    extract_commands.add_parsers(commands)
    slurm_commands.add_parsers(commands)
    return parser
