"""Import and export the thesis / feature-extractor CSV layout.

Video CSV: ``path, embedding_0..embedding_{D-1}``, the label columns ``valence, arousal`` and,
for SEWA, ``timestamp``. Audio CSVs, one per window length: ``filename, start, end,
x_0..x_{K-1}``. Optional split CSV: ``session,partition``.

The session id comes from an explicit ``session`` column when there is one, else from the
``path`` (video) or ``filename`` (audio) with a regular expression whose first group is the id.
The default takes the file name up to its first ``_``, as the extractor names files
(``S001/S001_000012.jpg`` and ``S001.wav`` both give ``S001``). Labels are divided by the label
scale (AFEW-VA: 10). Stand-ins' oracle columns (``valence_oracle``, ``arousal_oracle``; not part
of the thesis layout) are written in the model's scale, as stored. Rows in error messages are
CSV line numbers.

``export_thesis_csv`` writes the same layout plus a ``session`` column and an ``emorec.json``
sidecar (name, origin, fps, label scale), so export -> import gives back the same dataset, and a
stand-in stays labelled a stand-in.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from emorec.data.dataset import Dataset, Manifest, format_seconds, positive_number
from emorec.data.splits import read_split_file
from emorec.data.validation import (
    AUDIO_PREFIX,
    EMBEDDING_PREFIX,
    ORACLE_SUFFIX,
    check_audio_table,
    check_video_table,
)
from emorec.errors import DataError
from emorec.vocabulary import ORIGINS, TARGETS

log = logging.getLogger(__name__)

DEFAULT_SESSION_REGEX = r"([^/\\_.]+)[^/\\]*$"
SIDECAR = "emorec.json"
CSV_FIRST_ROW = 2  # line number of the first data row, after the header
DEFAULT_FPS = 5.0


def import_thesis_csv(video_csv: str | Path, audio_csvs: dict[float, str | Path] | None = None,
                      split_csv: str | Path | None = None, *, name: str | None = None,
                      fps: float | None = None, label_scale: float | None = None,
                      session_regex: str = DEFAULT_SESSION_REGEX, embedding_dim: int = 256,
                      audio_dim: int = 768) -> Dataset:
    """Read the CSV layout into a validated :class:`Dataset` (origin real unless the sidecar of
    an emorec export says stand-in)."""
    video_csv = Path(video_csv)
    sidecar = _read_sidecar(video_csv.parent / SIDECAR)
    name = name or sidecar.get("name") or video_csv.parent.name or video_csv.stem
    label_scale = _first_given(label_scale, sidecar.get("label_scale"), 1.0)
    if not positive_number(label_scale):
        raise DataError("--label-scale", "bad label scale", expected="a finite number > 0",
                        found=repr(label_scale))
    if fps is not None and not positive_number(fps):
        raise DataError("--fps", "bad frame rate", expected="a finite number > 0",
                        found=repr(fps))
    pattern = _compile_session_regex(session_regex)

    raw_video = _read_csv(video_csv)
    video = pd.DataFrame(index=raw_video.index)
    video["session"] = _sessions(raw_video, video_csv, "path", pattern)
    has_timestamp = "timestamp" in raw_video.columns
    fps = _first_given(fps, sidecar.get("fps"))
    if fps is None:
        fps = _infer_fps(raw_video, video["session"], video_csv) if has_timestamp else DEFAULT_FPS
    if has_timestamp:
        video["timestamp"] = raw_video["timestamp"]
    else:
        video["timestamp"] = video.groupby("session").cumcount().to_numpy() / fps
        log.info("%s: no timestamp column; frames are taken in file order at %g fps",
                 video_csv, fps)
    if "path" in raw_video.columns:
        video["path"] = raw_video["path"]
    embeddings = [c for c in raw_video.columns if str(c).startswith(EMBEDDING_PREFIX)]
    oracle = [f"{t}{ORACLE_SUFFIX}" for t in TARGETS if f"{t}{ORACLE_SUFFIX}" in raw_video.columns]
    missing_labels = [c for c in TARGETS if c not in raw_video.columns]
    if missing_labels:
        raise DataError(video_csv, "missing label columns", column=missing_labels[0],
                        expected=", ".join(TARGETS))
    video = pd.concat([video, raw_video[embeddings]], axis=1)
    for column in TARGETS:
        numeric = pd.api.types.is_numeric_dtype(raw_video[column]) and not \
            pd.api.types.is_bool_dtype(raw_video[column])
        # non-numbers go through unscaled, so the validation error shows the value as written
        video[column] = raw_video[column] / label_scale if numeric else raw_video[column]
    for column in oracle:
        video[column] = raw_video[column]
    _log_ignored(raw_video, video_csv, {"session", "timestamp", "path", *embeddings, *TARGETS,
                                        *oracle})
    video = check_video_table(video, str(video_csv), embedding_dim=embedding_dim, fps=fps,
                              first_row=CSV_FIRST_ROW)

    audio = {}
    for length, path in sorted((audio_csvs or {}).items()):
        path = Path(path)
        raw = _read_csv(path)
        table = pd.DataFrame({"session": _sessions(raw, path, "filename", pattern)})
        for column in ("start", "end", "filename"):
            if column in raw.columns:
                table[column] = raw[column]
        vectors = [c for c in raw.columns if str(c).startswith(AUDIO_PREFIX)]
        table = pd.concat([table, raw[vectors]], axis=1)
        _log_ignored(raw, path, {"session", "start", "end", "filename", *vectors})
        audio[float(length)] = check_audio_table(table, str(path), audio_dim=audio_dim,
                                                 length=float(length), first_row=CSV_FIRST_ROW)

    split_table = read_split_file(split_csv) if split_csv is not None else None
    manifest = Manifest(
        name=name, origin=sidecar.get("origin", "real"), fps=fps, embedding_dim=embedding_dim,
        audio_dim=audio_dim, audio_windows=tuple(audio), label_scale=label_scale,
        source=sidecar.get("source") or {"imported_from": video_csv.name,
                                         "audio": {format_seconds(k): Path(v).name
                                                   for k, v in (audio_csvs or {}).items()}},
    )
    dataset = Dataset.create(manifest, video, audio, source=str(video_csv.parent))
    if split_table is not None:
        dataset = dataset.with_split(split_table, str(split_csv))
    return dataset


def export_thesis_csv(dataset: Dataset, out_dir: str | Path) -> list[Path]:
    """Write ``video.csv``, ``audio_<L>s.csv``, ``split.csv`` (if any) and ``emorec.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scale = dataset.manifest.label_scale
    video = dataset.video.copy()
    for column in TARGETS:
        video[column] = _unscale(video[column].to_numpy(), scale)
    written = [_write_csv(video, out_dir / "video.csv")]
    for length, table in dataset.audio.items():
        written.append(_write_csv(table, out_dir / f"audio_{format_seconds(length)}s.csv"))
    if dataset.split_table is not None:
        written.append(_write_csv(dataset.split_table, out_dir / "split.csv"))
    manifest = dataset.manifest
    sidecar = {"name": manifest.name, "origin": manifest.origin, "fps": manifest.fps,
               "label_scale": manifest.label_scale, "source": manifest.source}
    (out_dir / SIDECAR).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return [*written, out_dir / SIDECAR]


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


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={"session": pa.string(), "path": pa.string(),
                          "filename": pa.string()}))
    except pa.ArrowInvalid as error:
        raise DataError(path, f"cannot parse CSV ({error})") from None
    names = pd.Index(table.column_names)
    if names.has_duplicates:
        duplicated = list(dict.fromkeys(names[names.duplicated()]))
        raise DataError(path, "duplicate column names", column=str(duplicated[0]),
                        expected="each column once", found=", ".join(map(str, duplicated)))
    return table.to_pandas()


def _sessions(raw: pd.DataFrame, path: Path, name_column: str,
              pattern: re.Pattern) -> np.ndarray:
    if "session" in raw.columns:
        return raw["session"].astype(str).to_numpy()
    if name_column not in raw.columns:
        raise DataError(path, "missing column", column=name_column,
                        expected=f"'{name_column}' (or 'session') to take the session id from")
    names = raw[name_column].astype(str)
    sessions = names.str.extract(pattern, expand=True).iloc[:, 0]
    bad = np.flatnonzero(sessions.isna().to_numpy())
    if bad.size:
        raise DataError(path, "cannot take a session id from the file name", column=name_column,
                        row=int(bad[0]) + CSV_FIRST_ROW,
                        expected=f"a match of --session-regex {pattern.pattern!r} with a "
                                 "non-empty first group",
                        found=repr(names.iloc[bad[0]]))
    folders = names.str.replace(r"[^/\\]*$", "", regex=True)
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


def _infer_fps(raw: pd.DataFrame, sessions: np.ndarray, path: Path) -> float:
    times = pd.DataFrame({"session": sessions,
                          "t": pd.to_numeric(raw["timestamp"], errors="coerce")})
    steps = times.sort_values(["session", "t"]).groupby("session")["t"].diff().to_numpy()
    steps = steps[np.isfinite(steps) & (steps > 0)]
    if steps.size == 0:
        log.info("%s: cannot infer the frame rate from timestamps; assuming %g fps",
                 path, DEFAULT_FPS)
        return DEFAULT_FPS
    fps = round(1.0 / float(np.median(steps)), 3)
    log.info("%s: frame rate inferred from timestamps: %g fps (override with --fps)", path, fps)
    return fps


def _log_ignored(raw: pd.DataFrame, path: Path, used: set) -> None:
    ignored = [str(c) for c in raw.columns if c not in used]
    if ignored:
        log.warning("%s: %d columns not in the layout are ignored: %s", path, len(ignored),
                    ", ".join(ignored[:8]) + (" ..." if len(ignored) > 8 else ""))


def _first_given(*values):
    return next((value for value in values if value is not None), None)


SIDECAR_FIELDS = ("name", "origin", "fps", "label_scale", "source")


def _read_sidecar(path: Path) -> dict:
    """The export sidecar; its values are checked with the manifest they go into."""
    if not path.is_file():
        return {}
    try:
        sidecar = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(path, f"not valid JSON ({error})") from None
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
    return sidecar


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    pacsv.write_csv(arrow, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return path
