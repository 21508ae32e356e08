"""The feed-forward net of ``ffnn`` and ``audio_ffnn`` (:mod:`emorec.models.zoo.ffnn`): one
hidden layer + ReLU + dropout, dense + tanh output."""

from __future__ import annotations

import torch
from torch import nn

from emorec.models.nets import Head


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
