"""Sequence models, the AVEC/MuSe challenge baseline: a recurrent net over long stretches of a
session that predicts every frame, beside the thesis's 1-4 s window models.

- Inputs per frame: the face embedding (``seq_video``), the latest audio window and whether
  there is one (``seq_audio``), or both concatenated (``seq_fusion``, early fusion), each
  standardised with training statistics.
- Training, by default the AVEC/MuSe baselines' recipe (EIHW/MuSe-2023): overlapping segments
  of ``segment`` frames every ``hop`` frames of each training session (the last one ends at the
  session's end; a shorter session is one padded segment), a CCC loss computed per segment and
  averaged over the batch, the epoch with the best dev CCC kept (training stops after
  ``patience`` epochs without a better one) and the learning rate halved after
  ``plateau_patience`` epochs without one (ReduceLROnPlateau, factor 0.5, floor 1e-5). The
  earlier recipe stays a choice: ``loss = "ccc"`` (one CCC pooled over the batch),
  ``stop_on = "dev_rmse"``, ``schedule = "none"``. It runs on the shared training loop: the
  same seeding, Adam, per-epoch dev metrics and pruning hook as every net. Where the baselines'
  settings assume a GPU budget (100 epochs, patience 15, learning rate 1e-4) emorec keeps its
  CPU-sized ones: 30 epochs, patience 5, plateau patience 2, learning rate 2e-3.
- Evaluation: each dev and test session whole, one sequence, so every labelled frame gets a
  prediction: the same frames every other model is scored on.
- ``direction``: ``causal`` runs forward only, so a frame's prediction depends on that frame
  and the session's past (an online model, like the window models); ``bidirectional`` also
  reads the session's future frames: an **offline** model, which the leaderboard marks.
- A sequence is the session's frames with a face, in time order: like the GRU window model,
  the frames either side of a gap without a face are neighbours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emorec.errors import EmorecError
from emorec.models import nets, training
from emorec.models.base import model
from emorec.models.nets import WINDOW, Head, dropout_param, hidden_param
from emorec.models.params import Param

DIRECTIONS = ("causal", "bidirectional")
SEQ_PARAMS = {
    "cell": Param("choice", "gru", choices=("gru", "lstm"), tune=True, help="recurrent cell"),
    "direction": Param("choice", "causal", choices=DIRECTIONS,
                       help="causal: online, a frame sees the session's past only; "
                            "bidirectional: offline, it sees the whole session"),
    "loss": Param("choice", "segment_ccc", choices=tuple(training.LOSSES), tune=True,
                  help="training loss: segment_ccc, one CCC per training segment averaged over "
                       "the batch (the challenges'); ccc, one CCC over the whole batch; rmse"),
    "layers": Param("int", 2, low=1, high=4, tune=(1, 3), help="stacked recurrent layers"),
    "hidden": hidden_param(64, 16, 256),
    "dropout": dropout_param(0.1),
    "segment": Param("int", 200, low=2, tune=(50, 400), help="frames per training segment"),
    "hop": Param("int", 100, low=1, tune=(25, 200),
                 help="frames between training segment starts (at most segment)"),
    **nets.TRAINING_PARAMS,
    "epochs": Param("int", 30, low=1, help="most passes over the training segments"),
    "batch_size": Param("int", 16, low=1, help="segments per batch"),
    "learning_rate": Param("float", 2e-3, above=0, tune=(1e-4, 1e-2), log=True,
                           help="Adam's step size"),
    "patience": Param("int", 5, low=1, help="epochs without a better dev score before stopping"),
    # The challenges' selection: the epoch with the best dev CCC, and the learning rate halved
    # when dev CCC stalls.
    "stop_on": Param("choice", "dev_ccc", choices=tuple(training.MONITORS),
                     help="the dev score that picks the best epoch and stops training"),
    "schedule": Param("choice", "plateau", choices=training.SCHEDULES,
                      help="plateau: halve the learning rate when the dev score stalls"),
    "epoch_samples": Param("int", None, low=1, optional=True,
                           help="training segments drawn per epoch (null: all)"),
}
GRID = {"direction": list(DIRECTIONS)}


class SequenceNet(nn.Module):
    """Per frame: dense projection + ReLU -> stacked GRU/LSTM over the sequence -> dropout ->
    dense + tanh. Rows hold their valid steps first; the padding after them is never read: a
    causal net runs over it (its outputs there are left out, and cannot reach the valid
    steps'), a bidirectional one packs the rows when some are shorter than others."""

    def __init__(self, inputs: int, cell: str, layers: int, hidden: int, dropout: float,
                 bidirectional: bool):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU())
        recurrent = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = recurrent(hidden, hidden, num_layers=layers, batch_first=True,
                             dropout=dropout if layers > 1 else 0.0, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.head = Head(hidden * (2 if bidirectional else 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.project(x)
        if not self.rnn.bidirectional or bool(mask.all()):
            out, _ = self.rnn(x)
        else:
            packed = pack_padded_sequence(x, mask.sum(1).cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True,
                                         total_length=x.shape[1])
        return self.head(self.dropout(out))


def session_bounds(sessions: np.ndarray) -> np.ndarray:
    """(S + 1,) positions where each session's run of frames starts, and the end. The frames of
    a view come session by session; EmorecError otherwise."""
    codes, uniques = pd.factorize(sessions)
    if np.any(np.diff(codes) < 0):
        raise EmorecError("a sequence model needs each session's frames together, in time order")
    return np.searchsorted(codes, np.arange(len(uniques) + 1))


def segments(sessions: np.ndarray, length: int, hop: int) -> np.ndarray:
    """(n_segments, length) frame positions of the training segments, -1 after a short
    session's end. Every frame lies in at least one segment."""
    bounds = session_bounds(sessions)
    starts, ends = [], []
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        last = max(begin, end - length)
        own = list(range(begin, last + 1, hop))
        if own[-1] != last:
            own.append(last)
        starts += own
        ends += [end] * len(own)
    rows = np.asarray(starts)[:, None] + np.arange(length)[None, :]
    return np.where(rows < np.asarray(ends)[:, None], rows, -1)


def whole_sessions(sessions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, longest) frame positions of each session whole (-1 after its end), and where each
    frame's output lies in those outputs flattened, in frame order."""
    bounds = session_bounds(sessions)
    longest = int(np.diff(bounds).max())
    rows = bounds[:-1, None] + np.arange(longest)[None, :]
    rows = np.where(rows < bounds[1:, None], rows, -1)
    index = np.arange(len(sessions))
    session = np.searchsorted(bounds, index, side="right") - 1
    return rows, session * longest + (index - bounds[session])


class SequenceRegressor:
    """``fit(train, dev)`` / ``predict(view)`` for :class:`SequenceNet` on any frame-aligned
    view (frame, latest audio window, or both)."""

    history: training.TrainingHistory | None = None

    def __init__(self, model: str, seed: int, cell: str, direction: str, loss: str,
                 layers: int, hidden: int, dropout: float, segment: int, hop: int,
                 **training_params):
        if hop > segment:
            raise EmorecError(f"model {model!r}: hop ({hop}) must be at most segment "
                              f"({segment}), or frames between segments are never trained on")
        self.model, self.seed = model, seed
        self.shape = {"cell": cell, "layers": layers, "hidden": hidden, "dropout": dropout,
                      "bidirectional": direction == "bidirectional"}
        self.segment, self.hop = segment, hop
        self.config = training.TrainingConfig(seed=seed, loss=loss, **training_params)

    def fit(self, train, dev, on_epoch=None) -> SequenceRegressor:
        self.stats = nets.fit_standardisation(train)
        training.seed_everything(self.seed)
        inputs, labels = self.training_data(train)
        self.net = SequenceNet(inputs[0].source.shape[1], **self.shape)
        dev_inputs, dev_frames = self._sessions(dev)
        self.history = training.train(self.net, inputs, labels, dev_inputs, dev.frames.labels,
                                      self.config, on_epoch, dev_frames=dev_frames)
        return self

    def training_data(self, train) -> tuple[tuple, np.ndarray]:
        """The training segments' inputs and labels (NaN after a short session's end), after
        :meth:`fit` set the standardisation."""
        rows = segments(train.frames.session, self.segment, self.hop)
        labels = np.where((rows >= 0)[..., None], train.frames.labels[np.maximum(rows, 0)],
                          np.nan)
        return (training.Gather(rows, self._features(train)), rows >= 0), labels

    def predict(self, view) -> np.ndarray:
        inputs, frames = self._sessions(view)
        return training.predict(self.net, inputs, batch_size=64).reshape(-1, 2)[frames]

    def _features(self, view) -> np.ndarray:
        """(n + 1, D) float32: each frame's standardised inputs side by side, then a zero row
        (what the padding gathers)."""
        parts = [part.source[part.rows] if isinstance(part, training.Gather) else part
                 for part in nets.net_inputs(view, self.stats)]
        features = np.concatenate(parts, axis=1).astype(np.float32)
        return np.vstack([features, np.zeros((1, features.shape[1]), np.float32)])

    def _sessions(self, view) -> tuple[tuple, np.ndarray]:
        rows, frames = whole_sessions(view.frames.session)
        return (training.Gather(rows, self._features(view)), rows >= 0), frames


def _register(name: str, modality: str, view: str, inputs: str) -> None:
    params = SEQ_PARAMS if view == "frame" else {"window": WINDOW, **SEQ_PARAMS}

    def factory(seed: int, **params) -> SequenceRegressor:
        return SequenceRegressor(name, seed, **params)

    factory.__doc__ = (f"Sequence GRU/LSTM over {inputs}, every frame of whole sessions "
                       "predicted (the AVEC/MuSe baseline); causal or bidirectional.")
    model(name, family="seq", modality=modality, view=view, params=params, grid=GRID)(factory)


_register("seq_video", "video", "frame", "the face embeddings")
_register("seq_audio", "audio", "audio_window", "the latest audio window of each frame")
_register("seq_fusion", "audio-visual", "frame_audio",
          "face embedding and latest audio window side by side (early fusion)")
