"""Model inputs for every labelled frame of a partition.

Every view is indexed by the same evaluation frames (all labelled video frames of the
partition's sessions, in session/time order), so every model is scored on the same frames:

- :func:`frame_view`: the frame's face embedding;
- :func:`video_window_view`: the ``W`` seconds of video ending at the frame, as ``fps * W``
  time slots (oldest first, the frame itself last). Slots whose frame is missing (no face, or
  before the session starts) are zero and masked out, so gaps in time stay gaps. It also knows
  the labels of the window's frames (:meth:`WindowView.mean_labels`), for models trained on
  the thesis's window-mean target;
- :func:`audio_window_view`: the most recent audio window of length ``L`` that ends at or before
  the frame and no longer than ``L`` seconds ago (masked where there is none);
- :func:`frame_audio_view`: the frame's face embedding and its latest audio window;
- :func:`fused_view`: the video window plus the audio windows of length ``L`` that end inside it,
  oldest first, left-padded and masked.

Views hold row indices into the dataset's tables; ``array()`` gathers the values. All of it is
array operations over the whole partition, never a Python loop per window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emorec.data.dataset import ORACLE_COLUMNS, Dataset
from emorec.data.splits import Split
from emorec.data.validation import frame_slots
from emorec.errors import EmorecError
from emorec.vocabulary import TARGETS

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
    source_labels: np.ndarray | None = None   # (N, 2) labels of a video table's rows

    @property
    def mask(self) -> np.ndarray:
        return self.rows >= 0

    def mean_labels(self) -> np.ndarray:
        """(n, 2): each window's mean label over the frames present (a video window only)."""
        if self.source_labels is None or self.rows.ndim != 2:
            raise EmorecError("window-mean labels need a video window view")
        labels = np.take(self.source_labels, np.maximum(self.rows, 0), axis=0)
        present = self.mask[..., None]
        return (labels * present).sum(axis=1) / present.sum(axis=1)

    def array(self) -> np.ndarray:
        """(n, slots, D) or (n, D) float32, zeros where masked."""
        return np.take(self.source, self.rows, axis=0)


@dataclass(frozen=True)
class FrameAudioView:
    """The frame's face embedding and the latest audio window (early fusion, frame by frame)."""

    frames: Frames
    features: np.ndarray     # (n, D) float32
    audio: WindowView        # (n,) rows of the audio table, -1 where there is no window


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
    oracle = (video[list(ORACLE_COLUMNS)].to_numpy(np.float64)[rows]
              if dataset.manifest.has_oracle else None)
    return Frames(rows=rows, session=video["session"].to_numpy(str)[rows],
                  timestamp=video["timestamp"].to_numpy(np.float64)[rows],
                  labels=video[list(TARGETS)].to_numpy(np.float64)[rows],
                  oracle=oracle)


def frame_view(dataset: Dataset, partition: str, split: Split | None = None) -> FrameView:
    selected = frames(dataset, partition, split)
    return FrameView(selected, np.take(video_matrix(dataset), selected.rows, axis=0))


def video_window_view(dataset: Dataset, partition: str, seconds: float,
                      split: Split | None = None) -> WindowView:
    selected = frames(dataset, partition, split)
    return WindowView(selected, _video_window_rows(dataset, selected.rows, seconds),
                      dataset.matrix("video"), _video_labels(dataset))


def audio_window_view(dataset: Dataset, partition: str, length: float,
                      split: Split | None = None) -> WindowView:
    selected = frames(dataset, partition, split)
    ends = _AudioEnds(dataset, length, pad=length)
    keys = ends.frame_keys(selected.rows)
    last = np.searchsorted(ends.keys, keys, side="right") - 1
    valid = (last >= 0) & (ends.keys[np.maximum(last, 0)] > keys - microseconds(length))
    rows = np.where(valid, ends.order[np.maximum(last, 0)], -1)
    return WindowView(selected, rows, dataset.matrix(float(length)))


def frame_audio_view(dataset: Dataset, partition: str, length: float,
                     split: Split | None = None) -> FrameAudioView:
    video = frame_view(dataset, partition, split)
    return FrameAudioView(video.frames, video.features,
                          audio_window_view(dataset, partition, length, split))


def fused_view(dataset: Dataset, partition: str, seconds: float,
               audio_length: float | None = None, split: Split | None = None) -> FusedView:
    """Video window of ``seconds`` and the audio windows (default length ``seconds``) ending in it.

    The number of audio slots is the most windows that end inside any video window of the whole
    dataset, so every partition has the same shape and no window is ever dropped.
    """
    audio_length = seconds if audio_length is None else audio_length
    selected = frames(dataset, partition, split)
    video = WindowView(selected, _video_window_rows(dataset, selected.rows, seconds),
                       dataset.matrix("video"), _video_labels(dataset))
    ends = _AudioEnds(dataset, audio_length, pad=max(seconds, audio_length))
    all_keys = ends.frame_keys(np.arange(len(dataset.video)))
    all_counts = _count_ends(ends.keys, all_keys, seconds)
    slots = max(1, int(all_counts.max()))
    keys = ends.frame_keys(selected.rows)
    high = np.searchsorted(ends.keys, keys, side="right")
    low = high - _count_ends(ends.keys, keys, seconds)
    rows = high[:, None] - slots + np.arange(slots)[None, :]
    rows = np.where(rows >= low[:, None], ends.order[np.maximum(rows, 0)], -1)
    audio = WindowView(selected, rows, dataset.matrix(float(audio_length)))
    return FusedView(selected, video, audio, seconds, audio_length)


# --------------------------------------------------------------------------- internals
def video_matrix(dataset: Dataset) -> np.ndarray:
    """The (N, D) float32 face embeddings of the whole video table (cached on the dataset)."""
    return dataset.matrix("video")[:-1]


def _video_labels(dataset: Dataset) -> np.ndarray:
    return dataset.video[list(TARGETS)].to_numpy(np.float64)


def window_slots(fps: float, seconds: float) -> int:
    slots = int(round(fps * seconds))
    if slots < 1 or abs(slots - fps * seconds) > 1e-6:
        raise EmorecError(f"a {seconds:g} s window is not a whole number of frames at {fps:g} fps")
    return slots


def _video_window_rows(dataset: Dataset, rows: np.ndarray, seconds: float) -> np.ndarray:
    """Row index of every slot of every requested frame's window (-1 where no frame).

    Each frame is keyed by (session, time slot) as one integer; a window's slots are looked up
    with one searchsorted, so gaps, session starts and session borders need no special case.
    """
    slots = window_slots(dataset.manifest.fps, seconds)
    codes, _ = _session_codes(dataset)
    slot = frame_slots(dataset.video["session"], dataset.video["timestamp"],
                       dataset.manifest.fps)
    # Sessions lie `span` apart, with at least `slots` empty cells between them.
    span = int(slot.max()) + slots + 1
    keys = codes.astype(np.int64) * span + slot        # sorted: the table is
    wanted = keys[rows][:, None] - np.arange(slots - 1, -1, -1)[None, :]
    found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[found] == wanted, found, -1)


class _AudioEnds:
    """Audio window end times of one length as sortable integer keys: session band + time in
    microseconds from the earliest time of the dataset (so negative times are fine)."""

    def __init__(self, dataset: Dataset, length: float, pad: float):
        _require_audio(dataset, length)
        self.dataset = dataset
        codes, categories = _session_codes(dataset)
        self.video_codes = codes.astype(np.int64)
        table = dataset.audio[float(length)]
        audio_codes = categories.get_indexer(table["session"]).astype(np.int64)
        times = np.concatenate([dataset.video["timestamp"].to_numpy(), table["end"].to_numpy()])
        self.origin = float(times.min())
        self.pad = microseconds(pad + 1.0)
        self.band = microseconds(float(times.max()) - self.origin) + 2 * self.pad
        # Audio of sessions without video (code -1) sorts below every session band.
        keys = audio_codes * self.band + microseconds(table["end"].to_numpy() - self.origin)
        keys += self.pad
        self.order = np.argsort(keys, kind="stable")   # sorted position -> table row
        self.keys = keys[self.order]

    def frame_keys(self, rows: np.ndarray) -> np.ndarray:
        time = self.dataset.video["timestamp"].to_numpy()[rows]
        return self.video_codes[rows] * self.band + microseconds(time - self.origin) + self.pad


def microseconds(seconds):
    """Seconds as int64 microseconds: time keys compare exactly, to TIME_EPS."""
    return np.rint(np.asarray(seconds) * 1e6).astype(np.int64)


def _count_ends(keys: np.ndarray, frame_keys: np.ndarray, seconds: float) -> np.ndarray:
    """How many audio windows end in (t - seconds, t] for each frame key t."""
    high = np.searchsorted(keys, frame_keys, side="right")
    low = np.searchsorted(keys, frame_keys - microseconds(seconds), side="right")
    return high - low


def _session_codes(dataset: Dataset) -> tuple[np.ndarray, pd.Index]:
    categories = pd.Index(np.sort(dataset.video["session"].unique()))
    return categories.get_indexer(dataset.video["session"]), categories


def _require_audio(dataset: Dataset, length: float) -> None:
    if float(length) not in dataset.audio:
        known = ", ".join(f"{w:g}" for w in dataset.audio) or "none"
        raise EmorecError(f"dataset {dataset.name!r} has no {length:g} s audio windows "
                          f"(it has: {known})")
