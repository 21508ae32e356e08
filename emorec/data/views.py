"""Model inputs for every labelled frame of a partition (DESIGN.md "Evaluation protocol").

Every view is indexed by the same evaluation frames (all labelled video frames of the
partition's sessions, in session/time order), so every model is scored on the same frames:

- :func:`frame_view`: the frame's face embedding;
- :func:`video_window_view`: the ``W`` seconds of video ending at the frame, as ``fps * W``
  time slots (oldest first, the frame itself last). Slots whose frame is missing (no face, or
  before the session starts) are zero and masked out, so gaps in time stay gaps;
- :func:`audio_window_view`: the most recent audio window of length ``L`` that ends at or before
  the frame and no longer than ``L`` seconds ago (masked where there is none);
- :func:`fused_view`: the video window plus the audio windows of length ``L`` that end inside it,
  oldest first, left-padded and masked.

Views hold row indices into the dataset's tables; ``array()`` gathers the values. All of it is
array operations over the whole partition, never a Python loop per window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emorec.data.dataset import Dataset
from emorec.data.splits import Split
from emorec.errors import EmorecError

TIME_EPS = 1e-6  # seconds; timestamps closer than this count as equal


@dataclass(frozen=True)
class Frames:
    """The evaluation frames of a partition: ``rows`` index the dataset's video table."""

    rows: np.ndarray         # (n,) int64
    session: np.ndarray      # (n,) str
    timestamp: np.ndarray    # (n,) float64 seconds
    labels: np.ndarray       # (n, 2) float64, valence and arousal
    oracle: np.ndarray | None  # (n, 2) noise-free rating, stand-ins only

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class FrameView:
    frames: Frames
    features: np.ndarray     # (n, D) float32


@dataclass(frozen=True)
class WindowView:
    """Rows of a table to gather for each frame: ``rows`` is (n, slots) for a window of slots,
    (n,) for one audio window per frame; -1 marks a masked slot (nothing there).

    ``source`` is the table's embedding matrix with a trailing row of zeros
    (:meth:`Dataset.matrix`), so gathering row -1 gives the zeros of a masked slot.
    """

    frames: Frames
    rows: np.ndarray         # (n, slots) or (n,) int64
    source: np.ndarray       # (N + 1, D) float32

    @property
    def mask(self) -> np.ndarray:
        return self.rows >= 0

    def array(self) -> np.ndarray:
        """(n, slots, D) or (n, D) float32, zeros where masked."""
        return np.take(self.source, self.rows, axis=0)


@dataclass(frozen=True)
class FusedView:
    frames: Frames
    video: WindowView
    audio: WindowView        # slots over the audio table of length ``audio_length``
    seconds: float
    audio_length: float


# --------------------------------------------------------------------------- views
def frames(dataset: Dataset, partition: str, split: Split | None = None) -> Frames:
    split = split if split is not None else dataset.split()
    sessions = split.sessions(partition)
    if len(sessions) == 0:
        raise EmorecError(f"partition {partition!r} of the split ({split.origin}) is empty")
    rows = np.flatnonzero(dataset.video["session"].isin(sessions).to_numpy())
    video = dataset.video
    oracle = (video[["valence_oracle", "arousal_oracle"]].to_numpy(np.float64)[rows]
              if dataset.manifest.has_oracle else None)
    return Frames(rows=rows, session=video["session"].to_numpy(str)[rows],
                  timestamp=video["timestamp"].to_numpy(np.float64)[rows],
                  labels=video[["valence", "arousal"]].to_numpy(np.float64)[rows],
                  oracle=oracle)


def frame_view(dataset: Dataset, partition: str, split: Split | None = None) -> FrameView:
    selected = frames(dataset, partition, split)
    return FrameView(selected, np.take(video_matrix(dataset), selected.rows, axis=0))


def video_window_view(dataset: Dataset, partition: str, seconds: float,
                      split: Split | None = None) -> WindowView:
    selected = frames(dataset, partition, split)
    return WindowView(selected, _video_window_rows(dataset, selected.rows, seconds),
                      dataset.matrix("video"))


def audio_window_view(dataset: Dataset, partition: str, length: float,
                      split: Split | None = None) -> WindowView:
    selected = frames(dataset, partition, split)
    ends = _AudioEnds(dataset, length, pad=length)
    keys = ends.frame_keys(selected.rows)
    last = np.searchsorted(ends.keys, keys + TIME_EPS, side="right") - 1
    valid = (last >= 0) & (ends.keys[np.maximum(last, 0)] > keys - length + TIME_EPS)
    rows = np.where(valid, ends.order[np.maximum(last, 0)], -1)
    return WindowView(selected, rows, dataset.matrix(float(length)))


def fused_view(dataset: Dataset, partition: str, seconds: float,
               audio_length: float | None = None, split: Split | None = None) -> FusedView:
    """Video window of ``seconds`` and the audio windows (default length ``seconds``) ending in it.

    The number of audio slots is the most windows that end inside any video window of the whole
    dataset, so every partition has the same shape and no window is ever dropped.
    """
    audio_length = seconds if audio_length is None else audio_length
    selected = frames(dataset, partition, split)
    video = WindowView(selected, _video_window_rows(dataset, selected.rows, seconds),
                       dataset.matrix("video"))
    ends = _AudioEnds(dataset, audio_length, pad=max(seconds, audio_length))
    all_keys = ends.frame_keys(np.arange(len(dataset.video)))
    all_counts = _count_ends(ends.keys, all_keys, seconds)
    slots = max(1, int(all_counts.max()))
    keys = ends.frame_keys(selected.rows)
    high = np.searchsorted(ends.keys, keys + TIME_EPS, side="right")
    low = high - _count_ends(ends.keys, keys, seconds)
    rows = high[:, None] - slots + np.arange(slots)[None, :]
    rows = np.where(rows >= low[:, None], ends.order[np.maximum(rows, 0)], -1)
    audio = WindowView(selected, rows, dataset.matrix(float(audio_length)))
    return FusedView(selected, video, audio, seconds, audio_length)


# --------------------------------------------------------------------------- internals
def video_matrix(dataset: Dataset) -> np.ndarray:
    """The (N, D) float32 face embeddings of the whole video table (cached on the dataset)."""
    return dataset.matrix("video")[:-1]


def window_slots(fps: float, seconds: float) -> int:
    slots = int(round(fps * seconds))
    if slots < 1 or abs(slots - fps * seconds) > 1e-6:
        raise EmorecError(f"a {seconds:g} s window is not a whole number of frames at {fps:g} fps")
    return slots


def _video_window_rows(dataset: Dataset, rows: np.ndarray, seconds: float) -> np.ndarray:
    """Row index of every slot of every requested frame's window (-1 where no frame)."""
    slots = window_slots(dataset.manifest.fps, seconds)
    video = dataset.video
    codes, _ = _session_codes(dataset)
    frame_slot = np.rint(video["timestamp"].to_numpy() * dataset.manifest.fps).astype(np.int64)
    frame_slot -= _per_session(np.minimum, codes, frame_slot)[codes]
    # Lay sessions end to end on one grid with `slots` empty cells before each one, so a
    # window that reaches back past its session's start only sees empty cells.
    length = _per_session(np.maximum, codes, frame_slot) + 1 + slots
    offset = np.concatenate([[0], np.cumsum(length)[:-1]]) + slots
    position = offset[codes] + frame_slot
    grid = np.full(int(length.sum()) + slots, -1, dtype=np.int64)
    grid[position] = np.arange(len(video))
    window = position[rows][:, None] + np.arange(1 - slots, 1)[None, :]
    return grid[window]


class _AudioEnds:
    """Audio window end times of one length as sortable keys: session band + time."""

    def __init__(self, dataset: Dataset, length: float, pad: float):
        _require_audio(dataset, length)
        self.dataset = dataset
        codes, categories = _session_codes(dataset)
        self.video_codes = codes
        table = dataset.audio[float(length)]
        audio_codes = categories.get_indexer(table["session"])
        max_time = max(float(dataset.video["timestamp"].max()), float(table["end"].max()))
        self.pad = pad + 1.0
        self.band = max_time + 2 * self.pad
        # Audio of sessions without video (code -1) sorts below every session band.
        keys = audio_codes * self.band + table["end"].to_numpy() + self.pad
        self.order = np.argsort(keys, kind="stable")   # sorted position -> table row
        self.keys = keys[self.order]

    def frame_keys(self, rows: np.ndarray) -> np.ndarray:
        time = self.dataset.video["timestamp"].to_numpy()[rows]
        return self.video_codes[rows] * self.band + time + self.pad


def _count_ends(keys: np.ndarray, frame_keys: np.ndarray, seconds: float) -> np.ndarray:
    """How many audio windows end in (t - seconds, t] for each frame key t."""
    high = np.searchsorted(keys, frame_keys + TIME_EPS, side="right")
    low = np.searchsorted(keys, frame_keys - seconds + TIME_EPS, side="right")
    return high - low


def _session_codes(dataset: Dataset) -> tuple[np.ndarray, pd.Index]:
    categories = pd.Index(np.sort(dataset.video["session"].unique()))
    return categories.get_indexer(dataset.video["session"]), categories


def _per_session(reduce: np.ufunc, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``reduce`` (np.minimum or np.maximum) of ``values`` per session code."""
    result = np.zeros(codes.max() + 1, dtype=values.dtype)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    result[codes[starts]] = reduce.reduceat(values, starts)
    return result


def _require_audio(dataset: Dataset, length: float) -> None:
    if float(length) not in dataset.audio:
        known = ", ".join(f"{w:g}" for w in dataset.audio) or "none"
        raise EmorecError(f"dataset {dataset.name!r} has no {length:g} s audio windows "
                          f"(it has: {known})")
