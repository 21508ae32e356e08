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
from emorec.vocabulary import TARGETS


class SequenceNet(nn.Module):
    """Per frame: dense projection + ReLU -> stacked GRU/LSTM over the sequence -> dropout ->
    dense + tanh. Rows hold their valid steps first; the padding after them is never read: a
    causal net runs over it (its outputs there are left out, and cannot reach the valid
    steps'), a bidirectional one packs the rows when some are shorter than others."""

    def __init__(self, inputs: int, cell: str, layers: int, hidden: int, dropout: float,
                 bidirectional: bool, outputs: int = 2):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU())
        recurrent = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = recurrent(hidden, hidden, num_layers=layers, batch_first=True,
                             dropout=dropout if layers > 1 else 0.0, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.head = Head(hidden * (2 if bidirectional else 1), outputs)

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
    view (frame, latest audio window, or both): one net for both targets (``joint``), or one
    net per target, each trained on its own loss and stopped on its own dev score
    (``separate``)."""

    history: training.TrainingHistory | None = None

    def __init__(self, model: str, seed: int, cell: str, direction: str, loss: str,
                 layers: int, hidden: int, dropout: float, segment: int, hop: int,
                 targets: str = "joint", **training_params):
        if hop > segment:
            raise EmorecError(f"model {model!r}: hop ({hop}) must be at most segment "
                              f"({segment}), or frames between segments are never trained on")
        self.model, self.seed = model, seed
        self.shape = {"cell": cell, "layers": layers, "hidden": hidden, "dropout": dropout,
                      "bidirectional": direction == "bidirectional"}
        self.segment, self.hop = segment, hop
        self.columns = ([(0, 1)] if targets == "joint"
                        else [(column,) for column in range(len(TARGETS))])
        self.config = training.TrainingConfig(seed=seed, loss=loss, **training_params)

    @property
    def view(self):
        """The record of the view this model reads (its registration's)."""
        from emorec.models.base import view_of

        return view_of(self.model)

    def fit(self, train, dev, on_epoch=None) -> SequenceRegressor:
        self.stats = fit_standardisation(self.view, train)
        inputs, labels = self.training_data(train)
        dev_inputs, dev_frames = self._sessions(dev)
        self.nets, histories, steps_before = [], [], 0
        for columns in self.columns:
            training.seed_everything(self.seed)
            net = SequenceNet(inputs[0].source.shape[1], **self.shape, outputs=len(columns))
            report = (None if on_epoch is None else   # epochs of the nets one after the other
                      lambda epoch, scores, before=steps_before: on_epoch(before + epoch, scores))
            histories.append(training.train(
                net, inputs, labels[..., columns], dev_inputs, dev.frames.labels[:, columns],
                self.config, report, dev_frames=dev_frames,
                targets=tuple(TARGETS[c] for c in columns)))
            self.nets.append((columns, net))
            steps_before += len(histories[-1].epochs)
        self.history = histories[0] if len(histories) == 1 else _side_by_side(histories)
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
        predicted = np.empty((len(frames), len(TARGETS)))
        for columns, net in self.nets:
            out = training.predict(net, inputs, batch_size=64)
            predicted[:, columns] = out.reshape(-1, len(columns))[frames]
        return predicted

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


def _side_by_side(histories: list[training.TrainingHistory]) -> training.TrainingHistory:
    """One history of the per-target nets: each epoch's dev scores of every target (from its
    own net), their mean while both nets train, and each net's train loss and learning rate,
    named by target."""
    epochs = []
    for index in range(max(len(h.epochs) for h in histories)):
        epoch = {}
        for history in histories:
            if index >= len(history.epochs):
                continue
            scores = history.epochs[index]
            target = next(t for t in TARGETS if f"dev_{t}_ccc" in scores)
            epoch.update({name: value for name, value in scores.items()
                          if name.startswith(f"dev_{target}_")})
            epoch[f"train_loss_{target}"] = scores["train_loss"]
            epoch[f"learning_rate_{target}"] = scores["learning_rate"]
        for name in ("rmse", "ccc"):   # while every net still trains
            values = [epoch.get(f"dev_{target}_{name}") for target in TARGETS]
            if None not in values:
                epoch[f"dev_mean_{name}"] = float(np.mean(values))
        epochs.append(epoch)
    return training.TrainingHistory(
        epochs=epochs, best_epoch=max(h.best_epoch for h in histories),
        steps=sum(h.steps for h in histories), seconds=sum(h.seconds for h in histories),
        device=histories[0].device)
