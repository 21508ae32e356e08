"""Writes that hold a user's data happen whole or not at all: a file or a folder is written
under a temporary name beside its target and then renamed over it, so a kill or a failed write
at any point leaves the old version in place. And one writer per results folder: a lock held
for the life of the process that took it."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from emorec.errors import DataError, EmorecError
from emorec.system.processes import alive

LOCK_FILE = ".emorec.lock"


def replace_file(path: Path, write: Callable[[Path], None]) -> None:
    """``write(temporary)`` then rename it over ``path``."""
    path = Path(path)
    writable_folder(path.parent, f"{path}'s folder")
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as error:
        raise _user_error(path, error) from None
    finally:
        partial.unlink(missing_ok=True)


def link_files(source: Path, target: Path, names: list[str] | None = None) -> None:
    """Hard-link (copy where links fail) the files of folder ``source`` (only ``names``, when
    given) into ``target``, made if missing; nothing when ``source`` is no folder."""
    if not Path(source).is_dir():
        return
    target.mkdir(exist_ok=True)
    for path in sorted(Path(source).iterdir()):
        if not path.is_file() or (names is not None and path.name not in names):
            continue
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copyfile(path, target / path.name)


def replace_folder(target: Path, write: Callable[[Path], None], keep_if: str) -> None:
    """``write(temporary folder)`` then swap it in for ``target``. An existing ``target`` is
    replaced only if it holds ``keep_if`` (a file that marks it as ours), so a user's folder
    that is something else is never overwritten. The old folder is deleted only after the new
    one is in place; if the process dies between the two renames, it is left as
    ``.<name>.old-<pid>`` beside the target."""
    target = Path(target)
    _recover(target)
    if target.exists() and not target.is_dir():
        raise EmorecError(f"{target}: exists and is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / keep_if).is_file():
        raise EmorecError(f"{target}: exists, is not empty and holds no {keep_if}; refusing to "
                          "replace it (give a new or empty folder)")
    writable_folder(target.parent, f"{target}'s parent folder")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir()
        write(partial)
        if target.exists():
            os.replace(target, old)
        os.replace(partial, target)
    except OSError as error:
        raise _user_error(target, error) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _recover(target: Path) -> None:
    """Clear what a killed :func:`replace_folder` left beside ``target``: its temporary folder,
    and its moved-away old folder, put back if the new one never arrived."""
    for leftover in sorted(target.parent.glob(f".{target.name}.*-*")):
        kind, _, pid = leftover.name.rpartition("-")
        if not pid.isdigit() or alive(int(pid)):
            continue
        if kind.endswith(".old") and not target.exists():
            os.replace(leftover, target)
        elif kind.endswith((".old", ".partial")):
            shutil.rmtree(leftover, ignore_errors=True)


def writable_folder(folder: Path, what: str) -> None:
    """Create ``folder`` if needed; EmorecError if it cannot hold new files."""
    folder = Path(folder)
    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise EmorecError(f"{what} {folder}: {parent} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _user_error(folder, error) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise EmorecError(f"{what} {folder}: not writable")


@contextlib.contextmanager
def folder_lock(folder: Path, purpose: str) -> Iterator[None]:
    """Hold ``folder``'s lock (``.emorec.lock``, which records host, pid and purpose) or stop
    with a clear message naming the holder. The kernel releases the lock when its holder dies,
    however it dies, so a lock is never stale."""
    writable_folder(folder, "folder")
    path = Path(folder) / LOCK_FILE
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise EmorecError(f"{folder} is in use by {holder}; wait for it to finish, or use "
                              "another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{purpose} (host {socket.gethostname()}, pid {os.getpid()}, since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Wait for and hold an exclusive lock on ``path`` (created if missing)."""
    with Path(path).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _user_error(path: Path, error: OSError) -> EmorecError:
    return EmorecError(f"{path}: cannot write ({error.strerror or error}); nothing was changed")


def read_json(path: Path, what: str):
    """The JSON value in ``path``; DataError naming the file and ``what`` it should be when it is
    not JSON text."""
    try:
        return json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(path, f"not valid JSON ({error})", expected=what) from None
