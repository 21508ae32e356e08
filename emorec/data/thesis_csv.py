"""Import and export the thesis / feature-extractor CSV layout.

Video CSV: ``path, embedding_0..embedding_{D-1}``, the label columns ``valence, arousal`` (or a
labels file, or AFEW-VA's JSON annotations, joined by file name) and, for SEWA, ``timestamp``.
Audio CSVs, one per window length: ``filename, [start, end], x_0..x_{K-1}``. Optional split
CSV: ``session,partition``. Frame times: :mod:`emorec.data.frame_times`; the extractor's own
layouts: :mod:`emorec.data.extractor`.

The session id comes from an explicit ``session`` column when there is one, else from the
``path`` (video) or ``filename`` (audio) with a regular expression whose first group is the id.
The default takes the file name up to its first ``_``, as the extractor names files
(``SEW1103_11_2.png`` and ``SEW1103.wav`` both give ``SEW1103``). Labels are divided by the label
scale (AFEW-VA: 10). Stand-ins' oracle columns (``valence_oracle``, ``arousal_oracle``; not part
of the thesis layout) are written in the model's scale, as stored. Rows in error messages are
CSV line numbers.

``export_thesis_csv`` writes the same layout plus a ``session`` column and an ``emorec.json``
sidecar (name, origin, fps, label scale, extractor training sessions), so export -> import gives
back the same dataset, and a stand-in stays labelled a stand-in.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data import extractor
from emorec.data.csv_files import CSV_FIRST_ROW, column_names, file_paths, read_csv, write_csv
from emorec.data.dataset import Dataset, format_seconds
from emorec.data.frame_times import frame_times, report_frame_rates
from emorec.data.manifest import Manifest, positive_number
from emorec.data.splits import extractor_overlap, read_extractor_train, read_split_file
from emorec.data.validation import (
    AUDIO_PREFIX,
    EMBEDDING_PREFIX,
    ORACLE_SUFFIX,
    check_audio_table,
    check_video_table,
    preview,
)
from emorec.errors import DataError
from emorec.system.files import read_json, replace_folder
from emorec.vocabulary import ORIGINS, TARGETS

log = logging.getLogger(__name__)

DEFAULT_SESSION_REGEX = r"([^/_.]+)[^/]*$"   # on file names with / as the separator
SIDECAR = "emorec.json"


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
    sidecar = _read_sidecar(video_csv.parent / SIDECAR)
    afew_va = afew_va_annotations is not None
    if afew_va and labels is not None:
        raise DataError("--labels", "two sources of labels",
                        expected="--labels or --afew-va-annotations, not both")
    name = name or sidecar.get("name") or video_csv.parent.name or video_csv.stem
    label_scale = _first_given(label_scale, sidecar.get("label_scale"),
                               extractor.AFEW_VA_LABEL_SCALE if afew_va else None, 1.0)
    if not positive_number(label_scale):
        raise DataError("--label-scale", "bad label scale", expected="a finite number > 0",
                        found=repr(label_scale))
    fps = _first_given(fps, sidecar.get("fps"), extractor.AFEW_VA_FPS if afew_va else None)
    if fps is not None and not positive_number(fps):
        raise DataError("--fps", "bad frame rate", expected="a finite number > 0",
                        found=repr(fps))
    pattern = _compile_session_regex(_first_given(
        session_regex, extractor.AFEW_VA_SESSION_REGEX if afew_va else None,
        DEFAULT_SESSION_REGEX))
    if afew_va:
        log.info("AFEW-VA annotations: labels / %g, sessions are the clip folders, frames at "
                 "%g fps (--label-scale, --session-regex, --fps to change)", label_scale, fps)

    raw_video = _with_labels(read_csv(video_csv), video_csv, labels, afew_va_annotations)
    sessions = _sessions(raw_video, video_csv, "path", pattern)
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
    sessions = _sessions(raw, path, "filename", pattern)
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


def extractor_sessions(path: str | Path, sessions) -> tuple[str, ...]:
    """The listed sessions that are in the dataset; the others are named in a warning."""
    listed = read_extractor_train(path)
    known = set(sessions)
    inside = tuple(s for s in listed if s in known)
    if not inside:
        raise DataError(path, "none of its sessions is in the dataset", column="session",
                        expected=f"session ids as the dataset names them, e.g. "
                                 f"{sorted(known)[0]!r}", found=preview(listed))
    outside = [s for s in listed if s not in known]
    if outside:
        log.warning("%s: %d of %d listed sessions are not in this dataset (another dataset's?): "
                    "%s", path, len(outside), len(listed), preview(outside))
    log.info("%s: the feature extractor was trained on %d of the dataset's %d sessions",
             path, len(inside), len(known))
    return inside


def export_thesis_csv(dataset: Dataset, out_dir: str | Path) -> list[Path]:
    """Write ``video.csv``, ``audio_<L>s.csv``, ``split.csv`` (if any) and ``emorec.json`` into
    ``out_dir``, whole or not at all. A non-empty folder is replaced only if an export made it
    (it holds ``emorec.json``): a user's own files are never overwritten."""
    out_dir = Path(out_dir)
    names = []

    def write(folder: Path) -> None:
        scale = dataset.manifest.label_scale
        video = dataset.video.copy()
        for column in TARGETS:
            video[column] = _unscale(video[column].to_numpy(), scale)
        names.append(write_csv(video, folder / "video.csv").name)
        for length, table in dataset.audio.items():
            names.append(write_csv(table, folder / f"audio_{format_seconds(length)}s.csv").name)
        if dataset.split_table is not None:
            names.append(write_csv(dataset.split_table, folder / "split.csv").name)
        manifest = dataset.manifest
        sidecar = {"name": manifest.name, "origin": manifest.origin, "fps": manifest.fps,
                   "label_scale": manifest.label_scale,
                   "extractor_train": list(manifest.extractor_train), "source": manifest.source}
        (folder / SIDECAR).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
        names.append(SIDECAR)

    replace_folder(out_dir, write, keep_if=SIDECAR)
    return [out_dir / name for name in names]


def _unscale(values: np.ndarray, scale: float) -> np.ndarray:
    """Labels times ``scale``, rounded where that divides back to the exact stored label
    (AFEW-VA's integers come back as integers, not 3.0000000000000004)."""
    if scale == 1.0:
        return values
    scaled = values * scale
    rounded = np.round(scaled, 9)
    exact = rounded / scale == values
    lossy = int((~exact & (scaled / scale != values)).sum())
    if lossy:
        log.warning("%d labels do not survive x%g then /%g exactly (off by one ulp)",
                    lossy, scale, scale)
    return np.where(exact, rounded, scaled)


def _sessions(raw: pd.DataFrame, path: Path, name_column: str,
              pattern: re.Pattern) -> np.ndarray:
    if "session" in raw.columns:
        return raw["session"].astype(str).to_numpy()
    if name_column not in raw.columns:
        raise DataError(path, "missing column", column=name_column,
                        expected=f"'{name_column}' (or 'session') to take the session id from")
    names = file_paths(raw[name_column])
    sessions = names.str.extract(pattern, expand=True).iloc[:, 0]
    bad = np.flatnonzero(sessions.isna().to_numpy())
    if bad.size:
        raise DataError(path, "cannot take a session id from the file name", column=name_column,
                        row=int(bad[0]) + CSV_FIRST_ROW,
                        expected=f"a match of --session-regex {pattern.pattern!r} with a "
                                 "non-empty first group",
                        found=repr(raw[name_column].iloc[bad[0]]))
    folders = names.str.replace(r"[^/]*$", "", regex=True)
    spread = pd.DataFrame({"session": sessions, "folder": folders}).groupby("session")[
        "folder"].nunique()
    if (spread > 1).any():
        session = spread[spread > 1].index[0]
        examples = folders[sessions == session].unique()[:2]
        raise DataError(path, f"session id {session!r} comes from files in {spread[session]} "
                        "folders, so the file names do not name the session (frames of "
                        "different videos would be mixed)", column=name_column,
                        expected="one folder per session, or a --session-regex that takes the "
                                 "id from the folder, e.g. '([^/]+)/[^/]+$'",
                        found=", ".join(map(repr, examples)))
    return sessions.to_numpy(str)


def _compile_session_regex(text: str) -> re.Pattern:
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise DataError("--session-regex", f"not a valid regular expression ({error})") from None
    if pattern.groups < 1:
        raise DataError("--session-regex", "needs a capture group for the session id",
                        found=text)
    return pattern


def _log_ignored(raw: pd.DataFrame, path: Path, used: set) -> None:
    ignored = [name for name, column in zip(column_names(raw), raw.columns, strict=True)
               if column not in used]
    if ignored:
        log.warning("%s: %d columns not in the layout are ignored: %s", path, len(ignored),
                    preview(ignored, 8))


def _first_given(*values):
    return next((value for value in values if value is not None), None)


SIDECAR_FIELDS = ("name", "origin", "fps", "label_scale", "extractor_train", "source")


def _read_sidecar(path: Path) -> dict:
    """The export sidecar; its values are checked with the manifest they go into."""
    if not path.is_file():
        return {}
    sidecar = read_json(path, "an emorec export sidecar")
    if not isinstance(sidecar, dict):
        raise DataError(path, "not an emorec export sidecar", expected="a JSON object",
                        found=type(sidecar).__name__)
    unknown = sorted(set(sidecar) - set(SIDECAR_FIELDS))
    if unknown:
        raise DataError(path, "unknown fields", expected=", ".join(SIDECAR_FIELDS),
                        found=", ".join(unknown))
    if "origin" in sidecar and sidecar["origin"] not in ORIGINS:
        raise DataError(path, "bad origin", column="origin", expected=" or ".join(ORIGINS),
                        found=repr(sidecar["origin"]))
    for name in ("fps", "label_scale"):
        value = sidecar.get(name)
        if value is not None and not positive_number(value):
            raise DataError(path, f"bad {name}", column=name, expected="a finite number > 0",
                            found=repr(value))
    trained_on = sidecar.get("extractor_train", [])
    if not isinstance(trained_on, list) or not all(isinstance(s, str) for s in trained_on):
        raise DataError(path, "bad extractor_train", column="extractor_train",
                        expected="a list of session ids", found=repr(trained_on)[:80])
    return sidecar
