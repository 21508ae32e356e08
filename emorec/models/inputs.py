"""What each kind of input view is, in one record: how it is built for a partition, what it
needs from the dataset, and the arguments a net gets from it. Without torch.

A model declares its view by name (``@model(view=...)``); :data:`VIEWS` holds one :class:`View`
per name. Nets standardise every embedding table a view reads with training statistics and get
their arguments from :meth:`View.net_inputs`:

- frame view: ``(x (n, D),)``;
- latest audio window: ``(x (n, D), has_audio (n, 1))``;
- video window: ``(x (n, T, D), mask (n, T))``;
- fused: ``(video (n, T, Dv), video_mask (n, T), audio (n, S, Da), audio_mask (n, S))``;
- frame and latest audio window: ``(video (n, Dv), audio (n, Da), has_audio (n, 1))``.

Masked slots hold zeros; each net must make them irrelevant to its output. Window inputs are
:class:`Gather` (row indices into an embedding matrix, gathered per batch), so a window view
never has to be materialised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from emorec.data import views
from emorec.data.views import FrameAudioView, FrameView, FusedView, WindowView
from emorec.errors import EmorecError


@dataclass(frozen=True)
class Gather:
    """``source[rows]`` without building it: rows (n, ...) int64 with -1 meaning the trailing
    zero row of ``source`` (N + 1, D)."""

    rows: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class View:
    """One kind of input view."""

    name: str
    # (dataset, partition, split, params) -> the view of that partition
    build: Callable[..., Any]
    # view -> {table name: (embedding matrix, rows used or None for all)}
    tables: Callable[[Any], dict]
    # (view, standardisation) -> the net's arguments
    net_inputs: Callable[[Any, dict], tuple]
    video_window: bool = False   # reads face windows: ``window`` must be whole frames
    audio_window: bool = False   # reads the dataset's ``window``-second audio windows


def _frame_tables(view: FrameView) -> dict:
    return {"x": (view.features, None)}


def _window_tables(view: WindowView) -> dict:
    return {"x": (view.source, view.rows)}


def _fused_tables(view: FusedView) -> dict:
    return {"video": (view.video.source, view.video.rows),
            "audio": (view.audio.source, view.audio.rows)}


def _frame_audio_tables(view: FrameAudioView) -> dict:
    return {"video": (view.features, None), "audio": (view.audio.source, view.audio.rows)}


def _standard(matrix: np.ndarray, stats, zero_row: bool) -> np.ndarray:
    mean, scale = stats
    out = ((matrix - mean) / scale).astype(np.float32)
    if zero_row:
        out[-1] = 0.0
    return out


def _frame_inputs(view: FrameView, stats: dict) -> tuple:
    return (_standard(view.features, stats["x"], zero_row=False),)


def _audio_window_inputs(view: WindowView, stats: dict) -> tuple:
    """One audio window per frame, and whether there is one."""
    source = _standard(view.source, stats["x"], zero_row=True)
    return Gather(view.rows, source), view.mask[:, None].astype(np.float32)


def _video_window_inputs(view: WindowView, stats: dict) -> tuple:
    _require_frame_last(view.mask)
    return Gather(view.rows, _standard(view.source, stats["x"], zero_row=True)), view.mask


def _fused_inputs(view: FusedView, stats: dict) -> tuple:
    _require_frame_last(view.video.mask)
    video = _standard(view.video.source, stats["video"], zero_row=True)
    audio = _standard(view.audio.source, stats["audio"], zero_row=True)
    return Gather(view.video.rows, video), view.video.mask, Gather(view.audio.rows, audio), \
        view.audio.mask


def _frame_audio_inputs(view: FrameAudioView, stats: dict) -> tuple:
    audio = _standard(view.audio.source, stats["audio"], zero_row=True)
    return (_standard(view.features, stats["video"], zero_row=False),
            Gather(view.audio.rows, audio), view.audio.mask[:, None].astype(np.float32))


def _require_frame_last(mask: np.ndarray) -> None:
    """Every window ends at its labelled frame, so no net ever sees a row with nothing in it."""
    if not mask[:, -1].all():
        raise EmorecError("a window view whose last slot is masked: every window must end at "
                          "its labelled frame")


VIEWS: dict[str, View] = {view.name: view for view in (
    View("frame", lambda dataset, partition, split, params: views.frame_view(
        dataset, partition, split), _frame_tables, _frame_inputs),
    View("video_window", lambda dataset, partition, split, params: views.video_window_view(
        dataset, partition, params["window"], split), _window_tables, _video_window_inputs,
        video_window=True),
    View("audio_window", lambda dataset, partition, split, params: views.audio_window_view(
        dataset, partition, params["window"], split), _window_tables, _audio_window_inputs,
        audio_window=True),
    View("fused", lambda dataset, partition, split, params: views.fused_view(
        dataset, partition, params["window"], split=split), _fused_tables, _fused_inputs,
        video_window=True, audio_window=True),
    View("frame_audio", lambda dataset, partition, split, params: views.frame_audio_view(
        dataset, partition, params["window"], split), _frame_audio_tables, _frame_audio_inputs,
        audio_window=True),
)}
VIEW_PARAMS = ("window",)   # parameters that choose the input view, not the estimator


def fit_standardisation(view: View, train) -> dict:
    """Mean and scale of each table over the rows the training partition uses."""
    stats = {}
    for name, (matrix, rows) in view.tables(train).items():
        used = matrix if rows is None else matrix[np.unique(rows[rows >= 0])]
        stats[name] = (used.mean(axis=0), used.std(axis=0) + 1e-6)
    return stats


def input_dims(view: View, data) -> dict:
    return {name: matrix.shape[1] for name, (matrix, _) in view.tables(data).items()}


def training_labels(data, target: str) -> np.ndarray:
    """The labels a net trains on (``net_params.TARGET``): the frames' own, or each video
    window's mean."""
    if target == "frame":
        return data.frames.labels
    return (data.video if isinstance(data, FusedView) else data).mean_labels()
