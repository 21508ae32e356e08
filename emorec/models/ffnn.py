"""Feed-forward nets (thesis sections 4.2.2 and 4.4): one hidden layer + ReLU, tanh output,
RMSE loss, Adam, early stopping on dev. ``ffnn`` reads a face frame, ``audio_ffnn`` the latest
wav2vec2 window of 1-4 s (with a 0/1 input saying whether there is one)."""

from __future__ import annotations

import numpy as np
from torch import nn

from emorec.models import training
from emorec.models.base import model

NET_DEFAULTS = {"hidden": 128, "dropout": 0.2, "epochs": 50, "batch_size": 256,
                "learning_rate": 1e-3, "patience": 5, "device": "auto"}
NET_SEARCH_SPACE = {"hidden": ("int", 32, 512), "dropout": ("float", 0.0, 0.5),
                    "learning_rate": ("log", 1e-4, 1e-2)}


class FeedForward(nn.Module):
    def __init__(self, inputs: int, hidden: int, dropout: float, outputs: int = 2):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(dropout),
                                    nn.Linear(hidden, outputs), nn.Tanh())

    def forward(self, x):
        return self.layers(x)


class FeedForwardRegressor:
    """Standardises inputs with training statistics, then trains :class:`FeedForward`."""

    def __init__(self, inputs_of, seed: int, hidden: int, dropout: float, epochs: int,
                 batch_size: int, learning_rate: float, patience: int, device: str):
        self.inputs_of = inputs_of
        self.hidden, self.dropout = hidden, dropout
        self.config = training.TrainingConfig(epochs=epochs, batch_size=batch_size,
                                              learning_rate=learning_rate, patience=patience,
                                              device=device, seed=seed)

    def fit(self, train, dev) -> FeedForwardRegressor:
        x = self.inputs_of(train)
        self.mean, self.scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        training.seed_everything(self.config.seed)
        self.net = FeedForward(x.shape[1], self.hidden, self.dropout)
        self.history = training.train(self.net, (self._standard(x),), train.frames.labels,
                                      (self._standard(self.inputs_of(dev)),), dev.frames.labels,
                                      self.config)
        return self

    def predict(self, view) -> np.ndarray:
        return training.predict(self.net, (self._standard(self.inputs_of(view)),), self.config)

    def _standard(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale).astype(np.float32)


def _frame_inputs(view) -> np.ndarray:
    return view.features


def _audio_inputs(view) -> np.ndarray:
    return np.hstack([view.array(), view.mask[:, None].astype(np.float32)])


@model("ffnn", family="ffnn", modality="video", view="frame", defaults=NET_DEFAULTS,
       search_space=NET_SEARCH_SPACE)
def ffnn(seed: int, **params) -> FeedForwardRegressor:
    """Frame FFNN: hidden layer + ReLU, tanh output, RMSE loss, early stopping on dev."""
    return FeedForwardRegressor(_frame_inputs, seed, **params)


@model("audio_ffnn", family="audio", modality="audio", view="audio_window",
       defaults={"window": 1.0, **NET_DEFAULTS}, grid={"window": [1.0, 2.0, 3.0, 4.0]},
       search_space=NET_SEARCH_SPACE)
def audio_ffnn(seed: int, **params) -> FeedForwardRegressor:
    """Audio FFNN on the latest wav2vec2 window (1-4 s) ending at the frame."""
    return FeedForwardRegressor(_audio_inputs, seed, **params)
