"""Input validation for every table, in one place.

Each check raises :class:`~emorec.errors.DataError` naming the file, the column and/or row and
what was expected. ``first_row`` is the number the user sees for the table's first row: 2 for a
CSV file (its line number, after the header), 1 for a Parquet table.
"""

from __future__ import annotations

import logging
import math
import re

import numpy as np
import pandas as pd

from emorec.errors import DataError
from emorec.vocabulary import PARTITIONS, TARGETS

log = logging.getLogger(__name__)

EMBEDDING_PREFIX = "embedding_"
AUDIO_PREFIX = "x_"
ORACLE_SUFFIX = "_oracle"
# An audio window may be shorter than its nominal length (the last one of a recording), never
# longer; the median window must match the nominal length within this fraction.
AUDIO_LENGTH_TOLERANCE = 0.05


def embedding_columns(dim: int) -> list[str]:
    return [f"{EMBEDDING_PREFIX}{i}" for i in range(dim)]


def audio_columns(dim: int) -> list[str]:
    return [f"{AUDIO_PREFIX}{i}" for i in range(dim)]


def frame_slots(sessions: pd.Series, timestamps: pd.Series, fps: float) -> np.ndarray:
    """Each frame's time slot: whole frame periods since its session's first frame."""
    first = timestamps.groupby(sessions.to_numpy()).transform("min").to_numpy()
    return np.rint((timestamps.to_numpy() - first) * fps).astype(np.int64)


def label_columns(table: pd.DataFrame) -> list[str]:
    """The targets, then the oracle (noise-free rating) columns a stand-in table carries."""
    oracle = [f"{t}{ORACLE_SUFFIX}" for t in TARGETS if f"{t}{ORACLE_SUFFIX}" in table.columns]
    return [*TARGETS, *oracle]


def video_columns(table: pd.DataFrame, embedding_dim: int) -> list[str]:
    """The contract's column order for a video table (optional columns only when present)."""
    optional_path = ["path"] if "path" in table.columns else []
    return ["session", "timestamp", *optional_path, *embedding_columns(embedding_dim),
            *label_columns(table)]


def audio_table_columns(table: pd.DataFrame, audio_dim: int) -> list[str]:
    optional_filename = ["filename"] if "filename" in table.columns else []
    return ["session", "start", "end", *optional_filename, *audio_columns(audio_dim)]


def check_video_table(table: pd.DataFrame, source: str, *, embedding_dim: int, fps: float,
                      label_range: tuple[float, float] = (-1.0, 1.0), label_scale: float = 1.0,
                      first_row: int = 1) -> pd.DataFrame:
    """Validate a video frame table; return it with contract dtypes, sorted by session, time.
    ``label_scale``: what the labels were divided by, for the hint when they are out of range."""
    _check_layout(table, source, video_columns(table, embedding_dim), EMBEDDING_PREFIX,
                  embedding_dim, "embedding dimension")
    out = pd.DataFrame({"session": _session_column(table, source, first_row)})
    out["timestamp"] = finite_numbers(table, "timestamp", source, first_row)
    negative = np.flatnonzero(out["timestamp"].to_numpy() < 0)
    if negative.size:
        row = int(negative[0])
        raise DataError(source, f"negative frame times in {negative.size} rows",
                        column="timestamp", row=row + first_row,
                        expected="seconds since the recording's start (>= 0)",
                        found=repr(float(out["timestamp"].iloc[row])))
    if "path" in table.columns:
        out["path"] = table["path"].astype(str).to_numpy()
    embedding = _finite_matrix(table, embedding_columns(embedding_dim), source, first_row)
    out = pd.concat([out, pd.DataFrame(embedding, columns=embedding_columns(embedding_dim),
                                       index=out.index)], axis=1)
    low, high = label_range
    for column in label_columns(table):
        values = finite_numbers(table, column, source, first_row)
        outside = np.flatnonzero((values < low) | (values > high))
        if outside.size:
            row = int(outside[0])
            hint = _label_scale_hint(float(np.abs(values).max()), high, label_scale)
            raise DataError(source, f"label out of range in {outside.size} rows{hint}",
                            column=column, row=row + first_row, expected=f"[{low:g}, {high:g}]",
                            found=f"{values[row]:g}")
        out[column] = values
    _check_unique_times(out, source, fps, first_row)
    return out.sort_values(["session", "timestamp"], kind="stable").reset_index(drop=True)


def _label_scale_hint(largest: float, high: float, label_scale: float) -> str:
    """`` (... --label-scale 100)`` for labels on a larger scale: the power of ten that brings
    the largest into range (AFEW-VA's [-10, 10]: 10; percentages: 100)."""
    if largest <= high or high <= 0:
        return ""
    factor = 10.0 ** math.ceil(math.log10(largest / high))
    return (f" (the largest is {largest:g}; labels on that scale need --label-scale "
            f"{label_scale * factor:g})")


def check_audio_table(table: pd.DataFrame, source: str, *, audio_dim: int, length: float,
                      first_row: int = 1) -> pd.DataFrame:
    """Validate an audio window table of nominal window ``length`` seconds."""
    _check_layout(table, source, audio_table_columns(table, audio_dim), AUDIO_PREFIX, audio_dim,
                  "audio embedding dimension")
    out = pd.DataFrame({"session": _session_column(table, source, first_row)})
    out["start"] = finite_numbers(table, "start", source, first_row)
    out["end"] = finite_numbers(table, "end", source, first_row)
    if "filename" in table.columns:
        out["filename"] = table["filename"].astype(str).to_numpy()
    duration = out["end"].to_numpy() - out["start"].to_numpy()
    median = float(np.median(duration))
    if abs(median - length) > AUDIO_LENGTH_TOLERANCE * length:
        raise DataError(source, "the windows do not have the nominal length (is this the file "
                        "of another window length?)", column="end",
                        expected=f"windows of {length:g} s", found=f"median {median:g} s")
    bad = np.flatnonzero((duration <= 0) | (duration > length * (1 + AUDIO_LENGTH_TOLERANCE)))
    if bad.size:
        row = int(bad[0])
        raise DataError(source, f"bad audio window in {bad.size} rows", column="end",
                        row=row + first_row,
                        expected=f"start < end <= start + {length:g} s",
                        found=f"start {out['start'].iloc[row]:g}, end {out['end'].iloc[row]:g}")
    duplicated = np.flatnonzero(out.duplicated(["session", "start"], keep=False).to_numpy())
    if duplicated.size:
        rows = ", ".join(str(r + first_row) for r in duplicated[:4])
        raise DataError(source, f"duplicate audio windows (same session and start) in rows {rows}",
                        column="start", row=int(duplicated[0]) + first_row,
                        expected="one window per start time",
                        found=f"{duplicated.size} rows sharing a start")
    vectors = _finite_matrix(table, audio_columns(audio_dim), source, first_row)
    out = pd.concat([out, pd.DataFrame(vectors, columns=audio_columns(audio_dim),
                                       index=out.index)], axis=1)
    return out.sort_values(["session", "end"], kind="stable").reset_index(drop=True)


def report_audio_coverage(video: pd.DataFrame, audio: dict[float, pd.DataFrame],
                          source: str) -> dict[float, list[str]]:
    """Log (not fail) sessions with video but no audio, and audio without video.

    Returns, per window length, the sessions that have no audio.
    """
    video_sessions = set(video["session"].unique())
    missing = {}
    for length, table in audio.items():
        audio_sessions = set(table["session"].unique())
        missing[length] = sorted(video_sessions - audio_sessions)
        if missing[length]:
            log.warning("%s: %d of %d sessions have video but no %g s audio (usable video-only): "
                        "%s", source, len(missing[length]), len(video_sessions), length,
                        preview(missing[length]))
        orphans = sorted(audio_sessions - video_sessions)
        if orphans:
            rows = int(table["session"].isin(orphans).sum())
            log.warning("%s: %d rows of %g s audio belong to %d sessions without video; they are "
                        "kept but never used: %s", source, rows, length, len(orphans),
                        preview(orphans))
    return missing


def check_split_table(table: pd.DataFrame, source: str, sessions) -> pd.DataFrame:
    """A split names every session exactly once with a partition in train/dev/test."""
    _require_columns(table, source, ["session", "partition"])
    _reject_extra_columns(table, source, ["session", "partition"])
    out = pd.DataFrame({"session": table["session"].astype(str).to_numpy(),
                        "partition": table["partition"].astype(str).str.strip().to_numpy()})
    bad = np.flatnonzero(~out["partition"].isin(PARTITIONS).to_numpy())
    if bad.size:
        raise DataError(source, "unknown partition", column="partition", row=int(bad[0]) + 2,
                        expected=" / ".join(PARTITIONS), found=repr(out["partition"].iloc[bad[0]]))
    duplicated = out["session"][out["session"].duplicated()].unique()
    if len(duplicated):
        raise DataError(source, "sessions listed more than once", column="session",
                        expected="each session once", found=preview(list(duplicated)))
    known = set(np.asarray(sessions).tolist())
    unknown = sorted(set(out["session"]) - known)
    if unknown:
        raise DataError(source, f"{len(unknown)} sessions not in the dataset", column="session",
                        expected="sessions of the video table", found=preview(unknown))
    unassigned = sorted(known - set(out["session"]))
    if unassigned:
        raise DataError(source, f"{len(unassigned)} sessions of the dataset have no partition "
                        "(they would be silently left out)", column="session",
                        expected="every session listed", found=f"missing {preview(unassigned)}")
    for partition in PARTITIONS:
        if not (out["partition"] == partition).any():
            raise DataError(source, f"empty partition '{partition}'", column="partition",
                            expected=f"at least one session in each of {', '.join(PARTITIONS)}")
    return out.sort_values("session", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- helpers
def _check_layout(table: pd.DataFrame, source: str, columns: list[str], prefix: str, dim: int,
                  what: str) -> None:
    """Rows present, the vector columns numbered 0..dim-1, exactly the contract's columns."""
    if len(table) == 0:
        raise DataError(source, "the table has no rows", expected="at least one row")
    _check_vector_columns(table, source, prefix, dim, what)
    _require_columns(table, source, columns)
    _reject_extra_columns(table, source, columns)


def _require_columns(table: pd.DataFrame, source: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(source, "missing columns", column=missing[0],
                        expected=preview(missing, 6),
                        found=f"columns {preview(list(map(str, table.columns)), 6)}")


def _reject_extra_columns(table: pd.DataFrame, source: str, columns: list[str]) -> None:
    extra = [str(c) for c in table.columns if c not in set(columns)]
    if extra:
        raise DataError(source, "unexpected columns", column=extra[0],
                        expected="only the contract's columns", found=preview(extra))


def _check_vector_columns(table: pd.DataFrame, source: str, prefix: str, dim: int,
                          what: str) -> None:
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    indices = sorted(int(m.group(1)) for c in table.columns if (m := pattern.match(str(c))))
    if indices != list(range(dim)):
        found = (f"{len(indices)} columns {prefix}{indices[0]}..{prefix}{indices[-1]}"
                 if indices else f"no {prefix}* columns")
        if indices and indices == list(range(len(indices))):
            problem = f"wrong {what}"
        elif indices:
            problem = f"wrong {what} (numbering has gaps)"
        else:
            problem = f"missing {what} columns"
        raise DataError(source, problem, column=f"{prefix}*",
                        expected=f"{dim} columns {prefix}0..{prefix}{dim - 1}", found=found)


def _session_column(table: pd.DataFrame, source: str, first_row: int) -> np.ndarray:
    sessions = table["session"]
    empty = np.flatnonzero((sessions.isna() | (sessions.astype(str).str.strip() == "")).to_numpy())
    if empty.size:
        raise DataError(source, "empty session id", column="session",
                        row=int(empty[0]) + first_row, expected="a session id")
    return sessions.astype(str).to_numpy()


def finite_numbers(table: pd.DataFrame, column: str, source: str, first_row: int) -> np.ndarray:
    if pd.api.types.is_bool_dtype(table[column]):
        raise DataError(source, "true/false values", column=column, row=first_row,
                        expected="numbers", found=repr(table[column].iloc[0]))
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise DataError(source, f"not a finite number in {bad.size} rows", column=column,
                        row=row + first_row, expected="a finite number",
                        found=repr(table[column].iloc[row]))
    return values


def _finite_matrix(table: pd.DataFrame, columns: list[str], source: str,
                   first_row: int) -> np.ndarray:
    frame = table[columns]
    non_numeric = [c for c, dtype in zip(columns, frame.dtypes, strict=True)
                   if not pd.api.types.is_numeric_dtype(dtype)]
    if non_numeric:
        column = non_numeric[0]
        values = pd.to_numeric(frame[column], errors="coerce")
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(source, "not a number", column=column, row=row + first_row,
                        expected="a finite number", found=repr(frame[column].iloc[row]))
    matrix = frame.to_numpy(dtype=np.float32)
    bad_rows, bad_columns = np.nonzero(~np.isfinite(matrix))
    if bad_rows.size:
        row, column = int(bad_rows[0]), columns[int(bad_columns[0])]
        raise DataError(source, f"NaN or inf in {bad_rows.size} values", column=column,
                        row=row + first_row, expected="finite embeddings",
                        found=str(frame[column].iloc[row]))
    return matrix


def _check_unique_times(table: pd.DataFrame, source: str, fps: float, first_row: int) -> None:
    duplicated = np.flatnonzero(table.duplicated(["session", "timestamp"], keep=False).to_numpy())
    if duplicated.size:
        row = int(duplicated[0])
        rows = ", ".join(str(r + first_row) for r in duplicated[:4])
        raise DataError(source, f"duplicate timestamps within a session (rows {rows})",
                        column="timestamp", row=row + first_row,
                        expected="one frame per timestamp per session",
                        found=f"session {table['session'].iloc[row]!r}, timestamp "
                              f"{table['timestamp'].iloc[row]:g} {duplicated.size} times")
    slots = pd.DataFrame({"session": table["session"],
                          "slot": frame_slots(table["session"], table["timestamp"], fps)})
    collided = np.flatnonzero(slots.duplicated(keep=False).to_numpy())
    if collided.size:
        row = int(collided[0])
        raise DataError(source, f"frames closer than one frame period (1/{fps:g} s) in a session",
                        column="timestamp", row=row + first_row,
                        expected=f"timestamps on a {fps:g} fps grid (is --fps right?)",
                        found=f"session {table['session'].iloc[row]!r}, timestamp "
                              f"{table['timestamp'].iloc[row]:g}")


def preview(items: list, limit: int = 5) -> str:
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
