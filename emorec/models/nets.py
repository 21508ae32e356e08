"""What every net shares: inputs from a view, standardisation, training, prediction, save/load.

A net model is a factory returning :class:`NetRegressor` with a ``make_net(dims, **params)``
function. The regressor standardises every embedding table with training statistics, turns the
view into the net's arguments (:func:`net_inputs`), and trains with the one loop of
:mod:`emorec.models.training`. Net arguments per view:

- frame view: ``(x (n, D),)``;
- latest audio window: ``(x (n, D), has_audio (n, 1))``;
- video window: ``(x (n, T, D), mask (n, T))``;
- fused: ``(video (n, T, Dv), video_mask (n, T), audio (n, S, Da), audio_mask (n, S))``;
- frame and latest audio window: ``(video (n, Dv), audio (n, Da), has_audio (n, 1))``.

Masked slots hold zeros; each net must make them irrelevant to its output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emorec.data.views import FrameAudioView, FrameView, FusedView, WindowView
from emorec.errors import EmorecError
from emorec.models import training
from emorec.models.params import Param

# The training loop's parameters, declared once for every net (frame nets' defaults).
TRAINING_PARAMS = {
    "epochs": Param("int", 50, low=1, help="most passes over the training data"),
    "batch_size": Param("int", 256, low=1),
    "learning_rate": Param("float", 1e-3, above=0, tune=(1e-4, 1e-2), log=True,
                           help="Adam's step size"),
    "patience": Param("int", 5, low=1, help="epochs without a better dev score before stopping"),
    "stop_on": Param("choice", "dev_rmse", choices=tuple(training.MONITORS),
                     help="the dev score that picks the best epoch and stops training"),
    "schedule": Param("choice", "none", choices=training.SCHEDULES,
                      help="plateau: halve the learning rate when the dev score stalls"),
    "plateau_patience": Param("int", 2, low=0,
                              help="epochs without a better dev score tolerated before the "
                                   "rate halves"),
    "device": Param("text", "auto", pattern=r"auto|cpu|cuda(:\d+)?|mps",
                    help="auto: CUDA when present"),
    "epoch_samples": Param("int", None, low=1, optional=True,
                           help="training windows drawn per epoch (null: all)"),
}
# Window nets see 5-20x more input per frame than frame nets: epochs of a sample of the
# training windows keep the thesis grids on CPU. An epoch of 12,000 windows (about 40% of the
# SEWA stand-in's training frames) with patience 2 stops after the same 24,000 windows
# without improvement as 6,000 with patience 4 did, and scores dev half as often. Each epoch
# scores every second dev frame (0.2 s apart at 5 fps: neighbours whose labels barely differ),
# which halves the cost of the dev pass (a quarter of a GRU fit with all frames); the dev
# scores a row reports are over every frame.
WINDOW_TRAINING_PARAMS = {
    **TRAINING_PARAMS,
    "dev_stride": Param("int", 2, low=1,
                        help="score every dev_stride-th dev frame after each epoch (1: all)"),
    "epochs": Param("int", 10, low=1, help="most passes (of epoch_samples windows)"),
    "patience": Param("int", 2, low=1, help="epochs without a better dev score before stopping"),
    "epoch_samples": Param("int", 12000, low=1, optional=True,
                           help="training windows drawn per epoch (null: all)"),
}
WINDOW_SECONDS = [1.0, 2.0, 3.0, 4.0]   # the thesis's windows (5-20 frames at 5 fps)
WINDOW = Param("float", 1.0, above=0, help="seconds of input ending at the frame")
# What a video window model is trained to predict. Every model is scored on the frame's own
# label; "frame" trains on that (the default, so training and scoring agree), "window_mean" on
# the mean label of the window's frames, as the thesis trained its GRU. Early stopping reads
# the dev frames' own labels either way.
TRAINING_TARGETS = ("frame", "window_mean")
TARGET = Param("choice", "frame", choices=TRAINING_TARGETS,
               help="training label: the frame's own, or the window's mean (the thesis's)")


def dropout_param(default: float) -> Param:
    return Param("float", default, low=0.0, high=0.95, tune=(0.0, 0.5))


def hidden_param(default: int, low: int = 32, high: int = 512) -> Param:
    return Param("int", default, low=1, tune=(low, high), help="hidden units")


class NetRegressor:
    """``fit(train, dev)`` / ``predict(view)`` for any net built by ``make_net``."""

    history: training.TrainingHistory | None = None

    def __init__(self, model: str, make_net: Callable[..., nn.Module], seed: int, **params):
        self.model, self.make_net, self.seed = model, make_net, seed
        self.target = params.get("target", "frame")
        self.net_params = {k: v for k, v in params.items()
                           if k not in training.CONFIG_KEYS and k != "target"}
        self.config = training.TrainingConfig(
            seed=seed, **{k: v for k, v in params.items() if k in training.CONFIG_KEYS})
        self.params = params

    def fit(self, train, dev, on_epoch=None) -> NetRegressor:
        self.stats = fit_standardisation(train)
        training.seed_everything(self.seed)
        self.dims = input_dims(train)
        self.net = self.make_net(self.dims, **self.net_params)
        self.history = training.train(self.net, *self.training_data(train),
                                      net_inputs(dev, self.stats),
                                      dev.frames.labels, self.config, on_epoch)
        return self

    def training_data(self, train) -> tuple[tuple, np.ndarray]:
        """The net's training inputs and labels (after :meth:`fit` set the standardisation)."""
        return net_inputs(train, self.stats), training_labels(train, self.target)

    def predict(self, view) -> np.ndarray:
        return training.predict(self.net, net_inputs(view, self.stats))

    def save(self, path: str | Path) -> None:
        torch.save({"model": self.model, "params": self.params, "seed": self.seed,
                    "dims": self.dims, "stats": self.stats,
                    "state_dict": {k: v.cpu() for k, v in self.net.state_dict().items()}}, path)


def training_labels(view, target: str) -> np.ndarray:
    """The labels a net trains on (:data:`TARGET`): the frames' own, or each video window's
    mean."""
    if target == "frame":
        return view.frames.labels
    return (view.video if isinstance(view, FusedView) else view).mean_labels()


def load(path: str | Path, device: str = "cpu") -> NetRegressor:
    """A fitted net saved with :meth:`NetRegressor.save`, on ``device`` ("auto": CUDA when
    present). Only load files you trust: they are pickles."""
    from emorec.models.base import MODELS

    saved = torch.load(path, map_location="cpu", weights_only=False)
    regressor = MODELS.get(saved["model"]).factory(seed=saved["seed"], **saved["params"])
    regressor.stats, regressor.dims = saved["stats"], saved["dims"]
    regressor.net = regressor.make_net(regressor.dims, **regressor.net_params)
    regressor.net.load_state_dict(saved["state_dict"])
    regressor.net.to(training.resolve_device(device))
    return regressor


# --------------------------------------------------------------------------- inputs
# The embedding tables each kind of view reads: name -> (matrix with a zero last row, or none;
# rows used, or None for all).
_TABLES: dict[type, Callable] = {
    FrameView: lambda view: {"x": (view.features, None)},
    WindowView: lambda view: {"x": (view.source, view.rows)},
    FusedView: lambda view: {"video": (view.video.source, view.video.rows),
                             "audio": (view.audio.source, view.audio.rows)},
    FrameAudioView: lambda view: {"video": (view.features, None),
                                  "audio": (view.audio.source, view.audio.rows)},
}


def _tables(view) -> dict:
    try:
        return _TABLES[type(view)](view)
    except KeyError:
        raise TypeError(f"nets read frame, window or fused views, not {type(view).__name__}") \
            from None


def fit_standardisation(train) -> dict:
    """Mean and scale of each table over the rows the training partition uses."""
    stats = {}
    for name, (matrix, rows) in _tables(train).items():
        used = matrix if rows is None else matrix[np.unique(rows[rows >= 0])]
        stats[name] = (used.mean(axis=0), used.std(axis=0) + 1e-6)
    return stats


def _standard(matrix: np.ndarray, stats, zero_row: bool) -> np.ndarray:
    mean, scale = stats
    out = ((matrix - mean) / scale).astype(np.float32)
    if zero_row:
        out[-1] = 0.0
    return out


def input_dims(view) -> dict:
    return {name: matrix.shape[1] for name, (matrix, _) in _tables(view).items()}


def _frame_inputs(view: FrameView, stats: dict) -> tuple:
    return (_standard(view.features, stats["x"], zero_row=False),)


def _window_inputs(view: WindowView, stats: dict) -> tuple:
    source = _standard(view.source, stats["x"], zero_row=True)
    if view.rows.ndim == 1:      # one audio window per frame, and whether there is one
        return training.Gather(view.rows, source), view.mask[:, None].astype(np.float32)
    _require_frame_last(view.mask)
    return training.Gather(view.rows, source), view.mask


def _fused_inputs(view: FusedView, stats: dict) -> tuple:
    _require_frame_last(view.video.mask)
    video = _standard(view.video.source, stats["video"], zero_row=True)
    audio = _standard(view.audio.source, stats["audio"], zero_row=True)
    return (training.Gather(view.video.rows, video), view.video.mask,
            training.Gather(view.audio.rows, audio), view.audio.mask)


def _frame_audio_inputs(view: FrameAudioView, stats: dict) -> tuple:
    audio = _standard(view.audio.source, stats["audio"], zero_row=True)
    return (_standard(view.features, stats["video"], zero_row=False),
            training.Gather(view.audio.rows, audio), view.audio.mask[:, None].astype(np.float32))


_NET_INPUTS: dict[type, Callable] = {FrameView: _frame_inputs, WindowView: _window_inputs,
                                     FusedView: _fused_inputs,
                                     FrameAudioView: _frame_audio_inputs}


def net_inputs(view, stats: dict) -> tuple:
    return _NET_INPUTS[type(view)](view, stats)


def _require_frame_last(mask: np.ndarray) -> None:
    """Every window ends at its labelled frame, so no net ever sees a row with nothing in it."""
    if not mask[:, -1].all():
        raise EmorecError("a window view whose last slot is masked: every window must end at "
                          "its labelled frame")


# --------------------------------------------------------------------------- shared layers
def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time (dim 1) of the unmasked steps; zeros where a row has none."""
    total = x.masked_fill(~mask.unsqueeze(-1), 0.0).sum(1)
    return total / mask.sum(1, keepdim=True).clamp(min=1).to(x.dtype)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over time (dim 1) of the unmasked steps (every row has at least one)."""
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


class Head(nn.Module):
    """Dense layer to valence and arousal, then tanh: outputs always lie in [-1, 1]."""

    def __init__(self, inputs: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(inputs, 2), nn.Tanh())

    def forward(self, x):
        return self.layers(x)
