"""The feature extractor's own layouts: its labels file joined to label-free embeddings by file
name, AFEW-VA's ``<clip>/<clip>.json`` annotations, and its audio CSVs without window times.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data.csv_files import CSV_FIRST_ROW, column_names, file_paths, read_csv
from emorec.data.frame_times import NAME_RULES
from emorec.data.validation import finite_numbers, preview
from emorec.errors import DataError
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)

# AFEW-VA annotates every frame of its film clips; integer labels in [-10, 10]; one folder per clip.
AFEW_VA_FPS = 25.0
AFEW_VA_LABEL_SCALE = 10.0
AFEW_VA_SESSION_REGEX = r"([^/]+)/[^/]+$"
FILE_COLUMNS = ("filename", "path", "frame_num")   # what the extractor's files call the file
LABEL_FILE_COLUMNS = (*TARGETS, "timestamp")       # what a labels file contributes
AUDIO_LABEL_COLUMNS = ("category", "arousal", "valence", "dominance")
WINDOW_START_RULE = NAME_RULES["seconds-in-name"]  # SEW1103_11_2.wav: the window from 11.2 s


def read_labels_file(path: str | Path) -> pd.DataFrame:
    """The extractor's labels file (``filename, timestamp, arousal, valence``; the file column
    may be called path or frame_num) as ``file`` plus its label and timestamp columns."""
    table = read_csv(path)
    key = next((c for c in FILE_COLUMNS if c in table.columns), None)
    missing = [c for c in TARGETS if c not in table.columns]
    if key is None or missing:
        raise DataError(path, "missing columns", column=missing[0] if missing else FILE_COLUMNS[0],
                        expected=f"a file column ({' or '.join(FILE_COLUMNS)}) and "
                                 f"{', '.join(TARGETS)}",
                        found=f"columns {preview(column_names(table), 6)}")
    ignored = [name for name, column in zip(column_names(table), table.columns, strict=True)
               if column not in (key, *LABEL_FILE_COLUMNS)]
    if ignored:
        log.warning("%s: %d columns of the labels file are ignored: %s", path, len(ignored),
                    preview(ignored, 8))
    labels = pd.DataFrame({"file": table[key].astype(str)})
    for column in (c for c in LABEL_FILE_COLUMNS if c in table.columns):
        labels[column] = finite_numbers(table, column, str(path), CSV_FIRST_ROW)
    faceless = (table[key].isna() | (labels["file"].str.strip() == "")).to_numpy()
    if faceless.any():
        log.warning("%s: %d rows without a file name (frames without a face) are skipped",
                    path, int(faceless.sum()))
    return labels[~faceless].reset_index(drop=True)


def read_afew_va_annotations(root: str | Path) -> pd.DataFrame:
    """AFEW-VA's own annotations, ``ROOT/<clip>/<clip>.json`` with ``frames[key].valence`` and
    ``.arousal``, as ``file`` (``<clip>/<key>.png``, as the extractor names the frames),
    valence, arousal, in the dataset's integers."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "AFEW-VA annotation folder not found",
                        expected="a folder of <clip>/<clip>.json files")
    files = sorted(path for path in root.glob("*/*.json") if path.stem == path.parent.name)
    if not files:
        raise DataError(root, "no AFEW-VA annotations",
                        expected="<clip>/<clip>.json files under it, e.g. 001/001.json")
    return pd.concat([_read_afew_va_clip(path) for path in files], ignore_index=True)


def _read_afew_va_clip(path: Path) -> pd.DataFrame:
    try:
        annotation = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(path, f"not valid JSON ({error})") from None
    frames = annotation.get("frames") if isinstance(annotation, dict) else None
    if not isinstance(frames, dict) or not frames:
        raise DataError(path, "no per-frame annotations", column="frames",
                        expected="an object of frame number -> {valence, arousal, landmarks}",
                        found=type(frames).__name__ if frames is not None else "none")
    incomplete = [key for key, value in frames.items()
                  if not isinstance(value, dict) or not set(TARGETS) <= set(value)]
    if incomplete:
        raise DataError(path, f"{len(incomplete)} frames without valence and arousal",
                        column=f"frames.{incomplete[0]}", expected="valence and arousal",
                        found=repr(frames[incomplete[0]])[:80])
    table = pd.DataFrame.from_dict(frames, orient="index")[list(TARGETS)]
    for column in TARGETS:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(float)))
        if bad.size:
            key = table.index[bad[0]]
            raise DataError(path, "not a finite number", column=f"frames.{key}.{column}",
                            expected="a number", found=repr(table[column].iloc[bad[0]]))
        table[column] = values.to_numpy(float)
    return pd.DataFrame({"file": [f"{path.parent.name}/{key}.png" for key in table.index],
                         **{column: table[column].to_numpy() for column in TARGETS}})


def join_labels(raw_video: pd.DataFrame, video_csv: Path, labels: pd.DataFrame,
                labels_source: str) -> pd.DataFrame:
    """The video table with the labels (and timestamp, if it has none) of the file each row
    embeds. Every row must find its labels; labelled files without a row are counted."""
    if "path" not in raw_video.columns:
        raise DataError(video_csv, "missing column", column="path",
                        expected=f"file names to join the labels of {labels_source} by")
    given = [c for c in TARGETS if c in raw_video.columns]
    if given:
        raise DataError(video_csv, "labels given twice", column=given[0],
                        expected=f"the label columns in the video CSV or {labels_source}, not "
                                 "both")
    video_keys, label_keys = file_keys(raw_video["path"], str(video_csv), labels["file"],
                                       labels_source)
    position = pd.Index(label_keys).get_indexer(video_keys)
    unlabelled = np.flatnonzero(position < 0)
    if unlabelled.size:
        raise DataError(video_csv, f"{unlabelled.size} embedded files have no labels in "
                        f"{labels_source}", column="path",
                        row=int(unlabelled[0]) + CSV_FIRST_ROW,
                        expected=f"a labelled file named {video_keys.iloc[unlabelled[0]]!r}",
                        found=repr(raw_video["path"].iloc[unlabelled[0]]))
    unused = len(labels) - len(np.unique(position))
    if unused:
        log.warning("%s: %d labelled files have no embedding in %s (no face found?); they are "
                    "not imported", labels_source, unused, video_csv)
    added = [c for c in labels.columns if c != "file" and c not in raw_video.columns]
    kept = [c for c in labels.columns if c != "file" and c in raw_video.columns]
    if kept:
        log.info("%s: its own %s is used, not the one of %s", video_csv, ", ".join(kept),
                 labels_source)
    log.info("%s: labels of %d files joined from %s by file name", video_csv, len(raw_video),
             labels_source)
    return raw_video.assign(**{c: labels[c].to_numpy()[position] for c in added})


def file_keys(left: pd.Series, left_source: str, right: pd.Series,
              right_source: str) -> tuple[pd.Series, pd.Series]:
    """Join keys for two columns of file names: the name without its extension, with as many
    parent folders as make it unique in both (SEWA's flat folder: none; AFEW-VA's
    ``<clip>/<frame>.png``: one). Windows and POSIX paths give the same keys."""
    left_parts = _stems(left).str.split("/")
    right_parts = _stems(right).str.split("/")
    for depth in (1, 2, 3):
        left_keys, right_keys = (parts.str[-depth:].str.join("/")
                                 for parts in (left_parts, right_parts))
        if left_keys.is_unique and right_keys.is_unique:
            return left_keys, right_keys
    keys, names, source = ((right_keys, right, right_source) if not right_keys.is_unique
                           else (left_keys, left, left_source))
    repeated = np.flatnonzero(keys.duplicated(keep=False).to_numpy())
    raise DataError(source, "file names repeat, so rows cannot be joined by file name",
                    row=int(repeated[0]) + CSV_FIRST_ROW,
                    expected="each file once (with its folder, where names repeat across "
                             "folders)",
                    found=f"{names.iloc[repeated[0]]!r} {repeated.size} times")


def _stems(names: pd.Series) -> pd.Series:
    return file_paths(names).str.replace(r"\.[^./]*$", "", regex=True)


def read_window_table(path: str | Path) -> pd.DataFrame:
    """A window table ``filename, start, end`` (seconds) for audio CSVs without window times."""
    table = read_csv(path)
    missing = [c for c in ("filename", "start", "end") if c not in table.columns]
    if missing:
        raise DataError(path, "missing columns", column=missing[0],
                        expected="filename, start, end",
                        found=f"columns {preview(column_names(table), 6)}")
    return pd.DataFrame({"file": table["filename"].astype(str),
                         **{c: finite_numbers(table, c, str(path), CSV_FIRST_ROW)
                            for c in ("start", "end")}})


def window_times(raw: pd.DataFrame, path: Path, length: float, windows: pd.DataFrame | None,
                 windows_source: str | None) -> tuple[pd.Series, pd.Series]:
    """Each audio row's window start and end: its ``start, end`` columns; else the window table
    joined by file name; else the file name ``<recording>_<s>_<frac>.<ext>`` (the window start;
    end = start + ``length``, as the extractor's windows all have the full length)."""
    present = [c for c in ("start", "end") if c in raw.columns]
    if len(present) == 2:
        return raw["start"], raw["end"]
    expected = ("start and end columns, a window table (--audio-windows), or file names "
                "<recording>_<s>_<frac>.wav giving the window start (SEW1103_11_2.wav: 11.2 s)")
    if present or "filename" not in raw.columns:
        raise DataError(path, "no window times", column=present[0] if present else "filename",
                        expected=expected, found=f"columns {preview(column_names(raw), 6)}")
    if windows is not None:
        audio_keys, window_keys = file_keys(raw["filename"], str(path), windows["file"],
                                            windows_source)
        position = pd.Index(window_keys).get_indexer(audio_keys)
        missing = np.flatnonzero(position < 0)
        if missing.size:
            raise DataError(path, f"{missing.size} audio windows are not in {windows_source}",
                            column="filename", row=int(missing[0]) + CSV_FIRST_ROW,
                            expected=f"a row for {audio_keys.iloc[missing[0]]!r}",
                            found=repr(raw["filename"].iloc[missing[0]]))
        log.info("%s: window times from %s", path, windows_source)
        return (pd.Series(windows["start"].to_numpy()[position]),
                pd.Series(windows["end"].to_numpy()[position]))
    names = file_paths(raw["filename"])
    text = names.str.extract(WINDOW_START_RULE, expand=True)["seconds"]
    start = pd.to_numeric(text.str.replace("_", ".", regex=False), errors="coerce")
    unmatched = np.flatnonzero(start.isna().to_numpy())
    if unmatched.size:
        raise DataError(path, "no window times", column="filename",
                        row=int(unmatched[0]) + CSV_FIRST_ROW, expected=expected,
                        found=f"{raw['filename'].iloc[unmatched[0]]!r} and columns "
                              f"{preview(column_names(raw), 6)}")
    log.info("%s: window times from the file names (<recording>_<s>_<frac>: the start; end = "
             "start + %g s)", path, length)
    return start, start + length


def log_audio_labels(raw: pd.DataFrame, path: Path) -> list[str]:
    """The extractor's per-window label columns: listed and left out (frame labels come from the
    video). Returns them, so the caller does not list them again."""
    found = [c for c in AUDIO_LABEL_COLUMNS if c in raw.columns]
    if found:
        log.info("%s: the extractor's window label columns are not used (labels come from the "
                 "video): %s", path, ", ".join(found))
    return found
