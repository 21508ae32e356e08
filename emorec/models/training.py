"""The one training loop every net uses: Adam, RMSE loss, early stopping on dev with the best
weights restored, explicit seeds, CUDA when present (``device="auto"``)."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


@dataclass
class TrainingConfig:
    epochs: int = 50
    batch_size: int = 256
    learning_rate: float = 1e-3
    patience: int = 5
    device: str = "auto"
    seed: int = 0


@dataclass
class TrainingHistory:
    dev_rmse: list[float] = field(default_factory=list)
    best_epoch: int = -1


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rmse_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over targets of each target's RMSE (the thesis's loss)."""
    return torch.sqrt(((prediction - target) ** 2).mean(dim=0) + 1e-12).mean()


def train(net: nn.Module, train_inputs: tuple[np.ndarray, ...], train_labels: np.ndarray,
          dev_inputs: tuple[np.ndarray, ...], dev_labels: np.ndarray,
          config: TrainingConfig) -> TrainingHistory:
    """Train ``net(*inputs)`` in place; on return it holds the weights of the best dev epoch."""
    seed_everything(config.seed)
    device = resolve_device(config.device)
    net.to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    inputs = [torch.as_tensor(x) for x in train_inputs]
    labels = torch.as_tensor(train_labels, dtype=torch.float32)
    history = TrainingHistory()
    best_state, best_rmse, waited = None, float("inf"), 0
    for epoch in range(config.epochs):
        net.train()
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            optimiser.zero_grad()
            loss = rmse_loss(net(*(x[batch].to(device) for x in inputs)),
                             labels[batch].to(device))
            loss.backward()
            optimiser.step()
        dev_rmse = float(np.sqrt(np.mean((predict(net, dev_inputs, config) - dev_labels) ** 2,
                                         axis=0)).mean())
        history.dev_rmse.append(dev_rmse)
        if dev_rmse < best_rmse:
            best_state, best_rmse, waited = copy.deepcopy(net.state_dict()), dev_rmse, 0
            history.best_epoch = epoch
        else:
            waited += 1
            if waited >= config.patience:
                break
    net.load_state_dict(best_state)
    return history


@torch.no_grad()
def predict(net: nn.Module, inputs: tuple[np.ndarray, ...], config: TrainingConfig,
            batch_size: int = 4096) -> np.ndarray:
    net.eval()
    device = next(net.parameters()).device
    tensors = [torch.as_tensor(x) for x in inputs]
    out = [net(*(x[start:start + batch_size].to(device) for x in tensors)).cpu().numpy()
           for start in range(0, len(tensors[0]), batch_size)]
    return np.concatenate(out).astype(np.float64)
