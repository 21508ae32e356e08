"""The GRU window net of ``gru`` (:mod:`emorec.models.zoo.gru`, where its choices are
described): valid steps first, GRU, dropout, temporal pooling, dense + tanh."""

from __future__ import annotations

import torch
from torch import nn

from emorec.models.nets import Head, masked_max, masked_mean


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
