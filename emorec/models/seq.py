"""The sequence net and its regressor for ``seq_video``, ``seq_audio`` and ``seq_fusion``
(:mod:`emorec.models.zoo.seq`, where the recipe is described): training segments, whole
sessions at evaluation."""


from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emorec.errors import EmorecError
from emorec.models import training
from emorec.models.inputs import Gather, fit_standardisation
from emorec.models.nets import Head


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

    @property
    def view(self):
        """The record of the view this model reads (its registration's)."""
        from emorec.models.base import view_of

        return view_of(self.model)

    def fit(self, train, dev, on_epoch=None) -> SequenceRegressor:
        self.stats = fit_standardisation(self.view, train)
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
        return (Gather(rows, self._features(train)), rows >= 0), labels

    def predict(self, view) -> np.ndarray:
        inputs, frames = self._sessions(view)
        return training.predict(self.net, inputs, batch_size=64).reshape(-1, 2)[frames]

    def _features(self, view) -> np.ndarray:
        """(n + 1, D) float32: each frame's standardised inputs side by side, then a zero row
        (what the padding gathers)."""
        parts = [part.source[part.rows] if isinstance(part, Gather) else part
                 for part in self.view.net_inputs(view, self.stats)]
        features = np.concatenate(parts, axis=1).astype(np.float32)
        return np.vstack([features, np.zeros((1, features.shape[1]), np.float32)])

    def _sessions(self, view) -> tuple[tuple, np.ndarray]:
        rows, frames = whole_sessions(view.frames.session)
        return (Gather(rows, self._features(view)), rows >= 0), frames
