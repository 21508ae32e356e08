"""Import the thesis / feature-extractor CSV layout into a dataset.

Video CSV: ``path, embedding_0..embedding_{D-1}``, the label columns ``valence, arousal`` (or a
labels file, or AFEW-VA's JSON annotations, joined by file name) and, for SEWA, ``timestamp``.
Audio CSVs, one per window length: ``filename, [start, end], x_0..x_{K-1}``. Optional split
CSV: ``session,partition``. Frame times: :mod:`emorec.data.frame_times`; the extractor's own
layouts: :mod:`emorec.data.extractor`; session ids from file names:
:mod:`emorec.data.session_ids`; the export, and the ``emorec.json`` sidecar it writes and an
import reads back: :mod:`emorec.data.thesis_export`.

Labels are divided by the label scale (AFEW-VA: 10). Stand-ins' oracle columns
(``valence_oracle``, ``arousal_oracle``; not part of the thesis layout) are kept in the model's
scale, as stored. Rows in error messages are CSV line numbers.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data import extractor
from emorec.data.csv_files import CSV_FIRST_ROW, column_names, read_csv
from emorec.data.dataset import Dataset, format_seconds
from emorec.data.frame_times import frame_times, report_frame_rates
from emorec.data.manifest import Manifest, positive_number
from emorec.data.session_ids import DEFAULT_SESSION_REGEX, compile_session_regex, session_ids
from emorec.data.splits import extractor_overlap, extractor_sessions, read_split_file
from emorec.data.thesis_export import SIDECAR, read_sidecar
from emorec.data.validation import (
    AUDIO_PREFIX,
    EMBEDDING_PREFIX,
    ORACLE_SUFFIX,
    check_audio_table,
    check_video_table,
    preview,
)
from emorec.errors import DataError
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)


def import_thesis_csv(video_csv: str | Path, audio_csvs: dict[float, str | Path] | None = None,
                      split_csv: str | Path | None = None, *, name: str | None = None,
                      fps: float | None = None, label_scale: float | None = None,
                      session_regex: str | None = None, time_from: str = "auto",
                      labels: str | Path | None = None,
                      afew_va_annotations: str | Path | None = None,
                      audio_windows: str | Path | None = None,
                      extractor_train: str | Path | None = None, strict: bool = False,
                      embedding_dim: int = 256, audio_dim: int = 768) -> Dataset:
    """Read the CSV layout into a validated :class:`Dataset` (origin real unless the sidecar of
    an emorec export says stand-in).

    ``labels`` (the extractor's labels file) or ``afew_va_annotations`` (AFEW-VA's folder of
    ``<clip>/<clip>.json``) give the labels of label-free embeddings; the latter also sets the
    label scale (10), the session (the clip folder) and the frame rate (25 fps) unless given.
    ``audio_windows``: a ``filename, start, end`` table for audio CSVs without window times.
    ``extractor_train``: the sessions the feature extractor was trained on, kept in the dataset
    for the leakage guard. ``strict``: a session with a frame rate of its own is an error.
    """
    video_csv = Path(video_csv)
    sidecar = read_sidecar(video_csv.parent / SIDECAR)
    afew_va = afew_va_annotations is not None
    if afew_va and labels is not None:
        raise DataError("--labels", "two sources of labels",
                        expected="--labels or --afew-va-annotations, not both")
    name = name or sidecar.get("name") or video_csv.parent.name or video_csv.stem
    label_scale, fps, pattern = _settings(sidecar, afew_va, label_scale, fps, session_regex)

    raw_video = _with_labels(read_csv(video_csv), video_csv, labels, afew_va_annotations)
    sessions = session_ids(raw_video, video_csv, "path", pattern)
    times = frame_times(raw_video, sessions, time_from=time_from, fps=fps,
                        source=str(video_csv), first_row=CSV_FIRST_ROW)
    video = _video_table(raw_video, video_csv, sessions, times.seconds, label_scale)
    video = check_video_table(video, str(video_csv), embedding_dim=embedding_dim, fps=times.fps,
                              label_scale=label_scale, first_row=CSV_FIRST_ROW)

    windows = extractor.read_window_table(audio_windows) if audio_windows is not None else None
    audio = {float(length): _audio_table(Path(path), float(length), pattern, windows,
                                         str(audio_windows), audio_dim)
             for length, path in sorted((audio_csvs or {}).items())}

    trained_on = (extractor_sessions(extractor_train, video["session"].unique())
                  if extractor_train is not None else tuple(sidecar.get("extractor_train", ())))
    split_table = read_split_file(split_csv) if split_csv is not None else None
    manifest = Manifest(
        name=name, origin=sidecar.get("origin", "real"), fps=times.fps,
        embedding_dim=embedding_dim, audio_dim=audio_dim, audio_windows=tuple(audio),
        label_scale=label_scale, extractor_train=trained_on,
        source=sidecar.get("source") or {"imported_from": video_csv.name,
                                         "frame_times": times.origin,
                                         "audio": {format_seconds(k): Path(v).name
                                                   for k, v in (audio_csvs or {}).items()}},
    )
    dataset = Dataset.create(manifest, video, audio, source=str(video_csv.parent))
    report_frame_rates(dataset.video, dataset.manifest.fps, str(video_csv), strict=strict)
    if split_table is not None:
        dataset = dataset.with_split(split_table, str(split_csv))
    _warn_extractor_overlap(dataset, video_csv)
    return dataset


def _settings(sidecar: dict, afew_va: bool, label_scale: float | None, fps: float | None,
              session_regex: str | None) -> tuple[float, float | None, re.Pattern]:
    """The label scale, frame rate and session pattern: as given, else the export sidecar's,
    else AFEW-VA's when its annotations are read, else the defaults; each checked."""
    label_scale = _first_given(label_scale, sidecar.get("label_scale"),
                               extractor.AFEW_VA_LABEL_SCALE if afew_va else None, 1.0)
    if not positive_number(label_scale):
        raise DataError("--label-scale", "bad label scale", expected="a finite number > 0",
                        found=repr(label_scale))
    fps = _first_given(fps, sidecar.get("fps"), extractor.AFEW_VA_FPS if afew_va else None)
    if fps is not None and not positive_number(fps):
        raise DataError("--fps", "bad frame rate", expected="a finite number > 0",
                        found=repr(fps))
    pattern = compile_session_regex(_first_given(
        session_regex, extractor.AFEW_VA_SESSION_REGEX if afew_va else None,
        DEFAULT_SESSION_REGEX))
    if afew_va:
        log.info("AFEW-VA annotations: labels / %g, sessions are the clip folders, frames at "
                 "%g fps (--label-scale, --session-regex, --fps to change)", label_scale, fps)
    return label_scale, fps, pattern


def _with_labels(raw_video: pd.DataFrame, video_csv: Path, labels: str | Path | None,
                 afew_va_annotations: str | Path | None) -> pd.DataFrame:
    """The video table with the labels of a labels file or of AFEW-VA's annotations joined."""
    if labels is not None:
        return extractor.join_labels(raw_video, video_csv, extractor.read_labels_file(labels),
                                     str(labels))
    if afew_va_annotations is not None:
        return extractor.join_labels(
            raw_video, video_csv, extractor.read_afew_va_annotations(afew_va_annotations),
            str(Path(afew_va_annotations) / "<clip>" / "<clip>.json"))
    return raw_video


def _warn_extractor_overlap(dataset: Dataset, video_csv: Path) -> None:
    """A note at import: the refusal comes from `data split` and `bench`, so that a dataset
    can be imported first and its split fixed after."""
    trained_on = dataset.manifest.extractor_train
    overlap = extractor_overlap(dataset.split(), trained_on) if trained_on else []
    if overlap:
        log.warning("%s: the test partition of the split (%s) holds %d sessions the feature "
                    "extractor was trained on (%s); `emorec data split` and `emorec bench` "
                    "refuse it until the split is changed", video_csv, dataset.split().origin,
                    len(overlap), preview(overlap))


def _video_table(raw: pd.DataFrame, path: Path, sessions: np.ndarray, seconds: np.ndarray,
                 label_scale: float) -> pd.DataFrame:
    """The video table in the contract's columns, labels divided by the label scale."""
    video = pd.DataFrame({"session": sessions, "timestamp": seconds}, index=raw.index)
    if "path" in raw.columns:
        video["path"] = raw["path"]
    embeddings = [c for c in raw.columns if str(c).startswith(EMBEDDING_PREFIX)]
    oracle = [f"{t}{ORACLE_SUFFIX}" for t in TARGETS if f"{t}{ORACLE_SUFFIX}" in raw.columns]
    missing_labels = [c for c in TARGETS if c not in raw.columns]
    if missing_labels:
        raise DataError(path, "missing label columns", column=missing_labels[0],
                        expected=f"{', '.join(TARGETS)} in the video CSV, or --labels FILE or "
                                 "--afew-va-annotations ROOT to join them by file name")
    video = pd.concat([video, raw[embeddings]], axis=1)
    for column in TARGETS:
        numeric = pd.api.types.is_numeric_dtype(raw[column]) and not \
            pd.api.types.is_bool_dtype(raw[column])
        # non-numbers go through unscaled, so the validation error shows the value as written
        video[column] = raw[column] / label_scale if numeric else raw[column]
    for column in oracle:
        video[column] = raw[column]
    _log_ignored(raw, path, {"session", "timestamp", "path", *embeddings, *TARGETS, *oracle})
    return video


def _audio_table(path: Path, length: float, pattern: re.Pattern, windows: pd.DataFrame | None,
                 windows_source: str, audio_dim: int) -> pd.DataFrame:
    raw = read_csv(path)
    sessions = session_ids(raw, path, "filename", pattern)
    start, end = extractor.window_times(raw, path, length, windows, windows_source)
    table = pd.DataFrame({"session": sessions, "start": start.to_numpy(), "end": end.to_numpy()})
    if "filename" in raw.columns:
        table["filename"] = raw["filename"].to_numpy()
    vectors = [c for c in raw.columns if str(c).startswith(AUDIO_PREFIX)]
    table = pd.concat([table, raw[vectors]], axis=1)
    labels = extractor.log_audio_labels(raw, path)
    _log_ignored(raw, path, {"session", "start", "end", "filename", *vectors, *labels})
    return check_audio_table(table, str(path), audio_dim=audio_dim, length=length,
                             first_row=CSV_FIRST_ROW)


def _log_ignored(raw: pd.DataFrame, path: Path, used: set) -> None:
    ignored = [name for name, column in zip(column_names(raw), raw.columns, strict=True)
               if column not in used]
    if ignored:
        log.warning("%s: %d columns not in the layout are ignored: %s", path, len(ignored),
                    preview(ignored, 8))


def _first_given(*values):
    return next((value for value in values if value is not None), None)


