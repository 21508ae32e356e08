"""An Optuna journal file checked before Optuna reads it: one JSON record per line. A last
line cut short (what a kill during a write leaves) is dropped, under the journal's own lock so
that no writer is cut; any other line that is not a record is named in one line with how to
recover, rather than left to a JSONDecodeError in Optuna. A file whose only line is not a
record is no journal at all: refused, never truncated."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from optuna.storages.journal import JournalFileSymlinkLock

from emorec.errors import EmorecError

log = logging.getLogger(__name__)


def check_journal(path: Path) -> None:
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return
    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        _check_locked(path)
    finally:
        lock.release()


def _check_locked(path: Path) -> None:
    data = path.read_bytes()
    lines = data.split(b"\n")
    cut = lines.pop()          # b"" when the file ends with its newline
    for number, line in enumerate(lines, start=1):
        if not _is_record(line):
            raise EmorecError(
                f"{path} line {number}: not an Optuna journal record (the file was edited or "
                "damaged); copy the file away, delete that line, and run again (a record it "
                "held is lost), or use a new --storage")
    if cut and not _is_record(cut):
        if not lines or not cut.startswith(b"{"):
            raise EmorecError(
                f"{path}: not an Optuna journal (its {'only' if not lines else 'last'} line is "
                "no journal record); give a journal file, a new path, or a database URL "
                "as --storage")
        with path.open("r+b") as handle:
            handle.truncate(len(data) - len(cut))
            os.fsync(handle.fileno())
        log.warning("%s: dropped its last line, a record cut short (a kill during a write); "
                    "the %d records before it are kept", path, len(lines))


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError):
        return False
