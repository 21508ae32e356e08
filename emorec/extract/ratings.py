"""The ratings of the recordings an extraction reads: gathered by layout (AFEW-VA's JSON, SEWA's
annotation files, or one CSV), scaled, refused for a recording without any, hashed by content for
the manifest, and checked against each recording's span (times in milliseconds, or another
recording's ratings, are refused by name). Reading one rating file: :mod:`emorec.extract.labels`.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from emorec.errors import DataError
from emorec.extract import labels, layouts
from emorec.extract.settings import Settings

log = logging.getLogger(__name__)


def read_ratings(root: Path, recordings: list, settings: Settings
             ) -> tuple[pd.DataFrame, dict, dict[str, str]]:
    """Every recording's ratings, scaled; the labels' facts for the manifest; where each
    recording's ratings were read from. DataError naming a recording that has none."""
    names = [r.name for r in recordings]
    if settings.layout == "afew-va":
        scale = settings.label_scale or 10.0
        source_fps = settings.source_fps or layouts.AFEW_VA_SOURCE_FPS
        raw, source, kind = labels.read_afew_va(root, source_fps), str(root), "afew-va json"
        sources = {r.name: str(r.frames / f"{r.name}.json") for r in recordings}
    elif settings.layout == "sewa":
        folder = settings.labels or (root / "labels" if (root / "labels").is_dir() else root)
        scale, source, kind = settings.label_scale or 1.0, str(folder), "sewa annotation files"
        sources = {r.name: str(labels.sewa_file(folder, r.name, r.source)) for r in recordings}
        _warn_unused_rating_files(folder, names, set(sources.values()))
        raw = pd.concat([labels.read_sewa_file(Path(sources[n]), n) for n in names],
                        ignore_index=True)
    else:
        if settings.labels is None:
            raise DataError(root, "no labels given", expected="--labels CSV with session,time,"
                                                               "valence,arousal (layout files)")
        scale, source, kind = settings.label_scale or 1.0, str(settings.labels), "csv"
        raw = labels.read_generic(settings.labels)
        sources = {n: source for n in names}
        unused = sorted(set(raw["session"]) - set(names))
        if unused:
            log.warning("%s: ratings of %d sessions that match no recording are not used: %s",
                        source, len(unused), ", ".join(unused[:5]))
    present = set(raw["session"])
    for recording in recordings:
        if recording.name not in present:
            raise DataError(source, "recording without labels", column="session",
                            expected=f"ratings of {recording.name} ({recording.source})")
    raw = labels.scaled(raw[raw["session"].isin(names)], scale, source, files=sources)
    return raw, {"source": kind, "scale": scale, "delay_s": float(settings.label_delay),
                 "files": Path(source).name, "sha256": _ratings_hash(raw)}, sources


def _warn_unused_rating_files(folder: Path, names: list[str], used: set[str]) -> None:
    unused = sorted(p.name for p in folder.iterdir() if p.is_file()
                    and p.suffix.lower() in labels.LABEL_EXTENSIONS and str(p) not in used)
    if unused:
        log.warning("%s: %d annotation files match no recording and are not used: %s", folder,
                    len(unused), ", ".join(unused[:5]) + (", ..." if len(unused) > 5 else ""))


def _ratings_hash(raw: pd.DataFrame) -> str:
    """A hash of the ratings' content (sessions, times and values, as used)."""
    table = raw.sort_values(["session", "time"], kind="stable").reset_index(drop=True)
    hashed = pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest()[:16]


def check_rating_times(raw: pd.DataFrame, recordings, probes: dict,
                        sources: dict[str, str]) -> None:
    """Ratings must lie within their recording's span: times in milliseconds (or another
    recording's ratings) are refused by name; a few past the end are counted in a warning."""
    by_recording = dict(tuple(raw.groupby("session")["time"]))
    for recording in recordings:
        span = probes[recording.name]["span"]
        rated = by_recording.get(recording.name)
        if span is None or rated is None:
            continue
        times, slack = rated.to_numpy(), max(2.0, 0.1 * span)
        beyond = (times > span + slack) | (times < -1.0)
        source = sources[recording.name]
        if beyond.mean() > 0.5:
            raise DataError(source, f"rating times of {recording.name} lie outside its "
                            f"recording", column="time (seconds)",
                            expected=f"seconds within the recording's {span:.1f} s (times in "
                                     "milliseconds? divide them by 1000)",
                            found=f"times from {rated.min():g} to {rated.max():g}")
        if beyond.any():
            log.warning("%s: %d ratings of %s lie more than %g s outside its %.1f s (no frame "
                        "is there to take them)", source, int(beyond.sum()), recording.name,
                        slack, span)
