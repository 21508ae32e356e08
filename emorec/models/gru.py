"""GRU video model (thesis section 4.3, Tables A.1/A.2): the face embeddings of the 1-4 s window
ending at the frame -> GRU -> dropout -> temporal pooling -> dense -> tanh.

Choices where the thesis is silent or defective:

- Masked slots (frames missing from the window: no face, or before the session starts) are
  skipped, not fed as zeros: the valid steps are moved to the front in time order, the GRU runs
  over the window, and pooling reads only the outputs of those steps. The GRU is causal, so the
  slots after them cannot change those outputs: whatever sits in a masked slot has no effect on
  the output, without the cost of packed sequences. The price: the GRU (and the Conv1D pooling) sees
  the frames on either side of a gap as neighbours; how long the gap was is not an input.
- ``pooling="conv1d"`` is a causal Conv1d (kernel ``kernel``, zero left padding) + ReLU over the
  GRU outputs of the valid steps, then the masked average. Like every pooling it feeds the
  dense + tanh head, so outputs lie in [-1, 1]. (The thesis's Conv1D rows, MAE near 1.0, are
  outside the label range: a defect of that implementation.)
"""

from __future__ import annotations

import torch
from torch import nn

from emorec.models.base import model
from emorec.models.nets import (
    TARGET,
    WINDOW,
    WINDOW_SECONDS,
    WINDOW_TRAINING_PARAMS,
    Head,
    NetRegressor,
    dropout_param,
    hidden_param,
    masked_max,
    masked_mean,
)
from emorec.models.params import Param

POOLINGS = ("avg", "max", "conv1d")
KERNEL = Param("int", 3, low=1, tune=(2, 5), help="Conv1D kernel (frames)")
GRU_PARAMS = {"window": WINDOW, "target": TARGET,
              "pooling": Param("choice", "avg", choices=POOLINGS, tune=True,
                               help="temporal pooling of the GRU outputs"),
              "hidden": hidden_param(64, 16, 256), "dropout": dropout_param(0.2), "kernel": KERNEL,
              **WINDOW_TRAINING_PARAMS}


def valid_first(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move each row's unmasked steps to the front, keeping their order; the masked steps go to
    the back as they are. Returns the new steps and their mask (True for the first steps)."""
    rows, steps = mask.shape
    order = torch.sort((~mask).to(torch.int8), dim=1, stable=True).indices
    new_mask = torch.arange(steps, device=mask.device)[None, :] < mask.sum(1, keepdim=True)
    flat = (order + torch.arange(rows, device=mask.device)[:, None] * steps).reshape(-1)
    moved = x.reshape(rows * steps, -1).index_select(0, flat).reshape(x.shape)
    return moved, new_mask


class CausalConv(nn.Module):
    """Conv1d over time (B, T, C) -> (B, T, C_out), each step seeing itself and the steps
    before it (zero padding on the left only)."""

    def __init__(self, inputs: int, outputs: int, kernel: int):
        super().__init__()
        self.pad = kernel - 1
        self.conv = nn.Conv1d(inputs, outputs, kernel)

    def forward(self, x):
        x = nn.functional.pad(x.transpose(1, 2), (self.pad, 0))
        return self.conv(x).transpose(1, 2)


class TemporalPool(nn.Module):
    def __init__(self, pooling: str, channels: int, kernel: int):
        super().__init__()
        self.pooling = pooling
        self.conv = CausalConv(channels, channels, kernel) if pooling == "conv1d" else None

    def forward(self, x, mask):
        if self.pooling == "max":
            return masked_max(x, mask)
        if self.pooling == "conv1d":
            x = torch.relu(self.conv(x))
        return masked_mean(x, mask)


class GRUWindowNet(nn.Module):
    def __init__(self, inputs: int, hidden: int, dropout: float, pooling: str, kernel: int):
        super().__init__()
        self.gru = nn.GRU(inputs, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.pool = TemporalPool(pooling, hidden, kernel)
        self.head = Head(hidden)

    def forward(self, x, mask):
        x, mask = valid_first(x, mask)
        out, _ = self.gru(x)
        return self.head(self.pool(self.dropout(out), mask))


def gru_net(dims: dict, hidden: int, dropout: float, pooling: str, kernel: int) -> GRUWindowNet:
    return GRUWindowNet(dims["x"], hidden, dropout, pooling, kernel)


@model("gru", family="video", modality="video", view="video_window", params=GRU_PARAMS,
       grid={"window": WINDOW_SECONDS, "pooling": list(POOLINGS)})
def gru(seed: int, **params) -> NetRegressor:
    """GRU over the 1-4 s face window, AVG/MAX/Conv1D temporal pooling, dense + tanh."""
    return NetRegressor("gru", gru_net, seed, **params)
