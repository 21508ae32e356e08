"""Per-recording results of an extraction, kept in ``DIR/.cache/<recording>.<key>.npz`` where the
key hashes the extraction settings and the recording's own bytes. Each file is written whole
(temporary file + rename), so a killed extraction resumes at the first recording without one,
and changed settings or a changed recording are never served from an old file."""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from emorec.data.dataset import CACHE_FOLDER
from emorec.system.files import link_files, replace_file, writable_folder

log = logging.getLogger(__name__)

FOLDER = CACHE_FOLDER
SETTINGS_FILE = f"{FOLDER}/settings.json"   # marks a folder an unfinished extraction owns


def settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def content_hash(paths: list[Path]) -> str:
    """sha256 of the files' names and bytes (a folder: every file in it, in name order)."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def entry(root: Path, recording: str, settings: str, content: str) -> Path:
    key = hashlib.sha256(f"{settings}:{content}".encode()).hexdigest()[:16]
    return Path(root) / FOLDER / f"{recording}.{key}.npz"


def load(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        log.warning("%s: unreadable cache entry (%s); extracting the recording again", path, error)
        return None


def store(path: Path, arrays: dict[str, np.ndarray]) -> None:
    def write(partial: Path) -> None:
        with partial.open("wb") as handle:
            np.savez(handle, **arrays)

    replace_file(path, write)


def mark(root: Path, settings: dict) -> None:
    """Write the settings file that marks ``root`` as an extraction in progress."""
    writable_folder(Path(root) / FOLDER, "cache folder")
    replace_file(Path(root) / SETTINGS_FILE,
                 lambda partial: partial.write_text(json.dumps(settings, sort_keys=True,
                                                               indent=1)))


def link_into(root: Path, folder: Path, keep: list[Path]) -> None:
    """Hard-link (copy where links fail) the cache entries ``keep`` and the settings file into
    ``folder``'s cache folder, for a dataset folder that replaces ``root``."""
    link_files(Path(root) / FOLDER, folder / FOLDER,
               [p.name for p in keep] + [Path(SETTINGS_FILE).name])
