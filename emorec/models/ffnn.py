"""Feed-forward nets (thesis sections 4.2.2 and 4.4): one hidden layer + ReLU, tanh output,
RMSE loss, Adam, early stopping on dev. ``ffnn`` reads a face frame, ``audio_ffnn`` the latest
wav2vec2 window of 1-4 s (with a 0/1 input saying whether there is one)."""

from __future__ import annotations

import torch
from torch import nn

from emorec.models.base import model
from emorec.models.nets import (
    TRAINING_PARAMS,
    WINDOW,
    WINDOW_SECONDS,
    Head,
    NetRegressor,
    dropout_param,
    hidden_param,
)

FFNN_PARAMS = {"hidden": hidden_param(128), "dropout": dropout_param(0.2), **TRAINING_PARAMS}


class FeedForward(nn.Module):
    """Concatenated inputs -> hidden + ReLU + dropout -> dense + tanh."""

    def __init__(self, inputs: int, hidden: int, dropout: float):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.head = Head(hidden)

    def forward(self, *inputs):
        return self.head(self.layers(torch.cat(inputs, dim=-1)))


def frame_net(dims: dict, hidden: int, dropout: float) -> FeedForward:
    return FeedForward(dims["x"], hidden, dropout)


def audio_net(dims: dict, hidden: int, dropout: float) -> FeedForward:
    return FeedForward(dims["x"] + 1, hidden, dropout)   # + the has-audio input


@model("ffnn", family="ffnn", modality="video", view="frame", params=FFNN_PARAMS)
def ffnn(seed: int, **params) -> NetRegressor:
    """Frame FFNN: hidden layer + ReLU, tanh output, RMSE loss, early stopping on dev."""
    return NetRegressor("ffnn", frame_net, seed, **params)


@model("audio_ffnn", family="audio", modality="audio", view="audio_window",
       params={"window": WINDOW, **FFNN_PARAMS}, grid={"window": WINDOW_SECONDS})
def audio_ffnn(seed: int, **params) -> NetRegressor:
    """Audio FFNN on the latest wav2vec2 window (1-4 s) ending at the frame."""
    return NetRegressor("audio_ffnn", audio_net, seed, **params)
