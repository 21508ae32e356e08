"""The one training loop every net uses.

Adam on the thesis's RMSE loss or a CCC loss (over the batch, or per training segment and
averaged, as the AVEC/MuSe baselines); configurable epochs, batch size, learning rate and
patience; early stopping on dev RMSE (the thesis's) or dev CCC (the challenges'), with the best
epoch's weights restored; optionally the learning rate halved when the dev score stops improving
(``schedule="plateau"``, the challenges' ReduceLROnPlateau); python/numpy/torch seeded and
deterministic algorithms on; CUDA when present (``device="auto"``). Every epoch's train loss and
dev metrics are kept in :class:`TrainingHistory`, which the runner logs to MLflow as step
metrics.

Inputs are a tuple of plain arrays (indexed per batch) and
:class:`~emorec.models.inputs.Gather` inputs (row indices into an embedding matrix, gathered per
batch), so a window view never has to be materialised. The losses are
:mod:`emorec.models.losses`'.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

import numpy as np
import torch
from torch import nn

from emorec.errors import EmorecError
from emorec.models.inputs import Gather
from emorec.models.losses import LOSSES
from emorec.models.net_params import MONITORS
from emorec.vocabulary import TARGETS


@dataclass
class TrainingConfig:
    """The loop's settings; a net's declared params (``net_params.TRAINING_PARAMS``) check
    them."""

    epochs: int = 50
    batch_size: int = 256
    learning_rate: float = 1e-3
    patience: int = 5
    device: str = "auto"
    seed: int = 0
    epoch_samples: int | None = None   # draw this many training windows per epoch (None: all)
    loss: str = "rmse"                 # a key of LOSSES
    stop_on: str = "dev_rmse"          # a key of MONITORS: the dev score that picks the epoch
    schedule: str = "none"             # a key of SCHEDULES
    plateau_patience: int = 2          # epochs without a better dev score before lr halves
    dev_stride: int = 1                # score every dev_stride-th dev sample after each epoch


# The settings a net's params may give the loop (the seed comes from the cell).
CONFIG_KEYS = frozenset(f.name for f in fields(TrainingConfig)) - {"seed"}


@dataclass
class TrainingHistory:
    epochs: list[dict] = field(default_factory=list)   # one dict of step metrics per epoch
    best_epoch: int = -1
    steps: int = 0         # optimiser steps taken
    seconds: float = 0.0
    device: str = ""       # where it trained

    @property
    def dev_rmse(self) -> list[float]:
        return [epoch["dev_mean_rmse"] for epoch in self.epochs]


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch and ask torch for deterministic algorithms. Runs are
    bit-reproducible on CPU; on CUDA cuBLAS also needs the workspace setting made here (before
    CUDA starts), and some kernels stay non-deterministic (torch warns)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


PLATEAU_FACTOR, PLATEAU_MIN_LR = 0.5, 1e-5   # the MuSe baselines' ReduceLROnPlateau settings


class Phases:
    """Seconds spent in each part of the loop, for the training profile benchmark
    (``benchmarks/perf/training_profile.py``): see :func:`profiled`."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[phase] += time.perf_counter() - start


@contextmanager
def _untimed(phase: str) -> Iterator[None]:
    yield


_timed = _untimed


@contextmanager
def profiled() -> Iterator[Phases]:
    """Within the block, :func:`train` adds the time of each of its phases to the yielded
    :class:`Phases`: batch gathering, forward, backward, optimiser step, dev evaluation."""
    global _timed
    phases = Phases()
    _timed = phases
    try:
        yield phases
    finally:
        _timed = _untimed


class _Inputs:
    """The inputs on the device; ``batch(index)`` gives the net's arguments for those rows."""

    def __init__(self, inputs: tuple, device: torch.device):
        self.parts = []
        for x in inputs:
            if isinstance(x, Gather):
                self.parts.append((torch.as_tensor(x.rows, device=device),
                                   torch.as_tensor(x.source, device=device)))
            else:
                self.parts.append((torch.as_tensor(x, device=device), None))
        self.length = len(inputs[0])

    def batch(self, index: torch.Tensor) -> list[torch.Tensor]:
        return [x[index] if source is None else source[x[index]] for x, source in self.parts]


def train(net: nn.Module, train_inputs: tuple, train_labels: np.ndarray, dev_inputs: tuple,
          dev_labels: np.ndarray, config: TrainingConfig,
          on_epoch: Callable[[int, dict], None] | None = None,
          dev_frames: np.ndarray | None = None,
          targets: tuple[str, ...] = TARGETS) -> TrainingHistory:
    """Train ``net(*inputs)`` in place; on return it holds the weights of the best dev epoch.
    After each epoch the dev samples are scored (every ``config.dev_stride``-th of them: the
    frames of a view come session by session in time order, so a stride is a systematic sample
    of every session) and ``on_epoch(epoch, scores)`` is called (a tuner reports and may prune
    by raising). A net whose samples are sequences outputs (..., 2) per sample; its labels hold
    NaN in padding, and ``dev_frames`` picks the dev frames, in ``dev_labels`` order, from its
    dev outputs flattened to (-1, targets). ``targets`` names the labels' columns (the net's
    outputs): both, or one for a net trained on one target."""
    started = time.perf_counter()
    seed_everything(config.seed)
    device = resolve_device(config.device)
    net.to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    monitor, higher_is_better = MONITORS[config.stop_on]
    scheduler = (torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimiser, mode="max" if higher_is_better else "min", factor=PLATEAU_FACTOR,
        patience=config.plateau_patience, min_lr=PLATEAU_MIN_LR)
        if config.schedule == "plateau" else None)
    generator = torch.Generator().manual_seed(config.seed)
    inputs = _Inputs(train_inputs, device)
    if config.dev_stride > 1:
        if dev_frames is not None:
            raise EmorecError("dev_stride needs one dev sample per frame, not sequences")
        dev_inputs, dev_labels = _every(dev_inputs, config.dev_stride), \
            dev_labels[::config.dev_stride]
    dev = _Inputs(dev_inputs, device)
    if inputs.length == 0 or dev.length == 0:
        raise EmorecError(f"cannot train on {inputs.length} training and {dev.length} dev "
                          "frames: both partitions need frames")
    labels = torch.as_tensor(train_labels, dtype=torch.float32, device=device)
    loss_function = LOSSES[config.loss]
    history = TrainingHistory(device=str(device))
    best_state, best_score, waited = None, None, 0
    for epoch in range(config.epochs):
        net.train()
        order = torch.randperm(inputs.length, generator=generator)
        if config.epoch_samples is not None:
            order = order[:config.epoch_samples]
        order = order.to(device)
        losses = []
        for start in range(0, len(order), config.batch_size):
            with _timed("gather"):
                batch = order[start:start + config.batch_size]
                arguments, batch_labels = inputs.batch(batch), labels[batch]
            with _timed("forward"):
                loss = loss_function(net(*arguments), batch_labels)
            with _timed("backward"):
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
            with _timed("optimiser"):
                optimiser.step()
            losses.append(loss.detach())
        history.steps += len(losses)
        with _timed("dev"):
            predicted = _predict(net, dev, config.batch_size * 8)
            if dev_frames is not None:
                predicted = predicted.reshape(-1, len(targets))[dev_frames]
            train_loss = float(torch.stack(losses).mean())
            if not (math.isfinite(train_loss) and np.isfinite(predicted).all()):
                raise EmorecError(f"training diverged in epoch {epoch}: train loss {train_loss}, "
                                  f"{int((~np.isfinite(predicted)).sum())} non-finite dev "
                                  f"predictions (learning_rate {config.learning_rate}; try a "
                                  "lower one)")
            scores = {**_dev_scores(dev_labels, predicted, targets), "train_loss": train_loss,
                      "learning_rate": optimiser.param_groups[0]["lr"]}
        history.epochs.append(scores)
        if on_epoch is not None:
            on_epoch(epoch, scores)
        score = scores[monitor]
        if best_score is None or (score > best_score if higher_is_better else score < best_score):
            best_state = {name: value.detach().clone() for name, value in net.state_dict().items()}
            best_score, waited, history.best_epoch = score, 0, epoch
        else:
            waited += 1
            if waited >= config.patience:
                break
        if scheduler is not None:
            scheduler.step(score)
    net.load_state_dict(best_state)
    history.seconds = time.perf_counter() - started
    return history


def _every(inputs: tuple, stride: int) -> tuple:
    """Every ``stride``-th sample of each input, from the first."""
    return tuple(Gather(x.rows[::stride], x.source) if isinstance(x, Gather) else x[::stride]
                 for x in inputs)


def _dev_scores(labels: np.ndarray, predicted: np.ndarray, targets: tuple[str, ...]) -> dict:
    """Pooled RMSE and CCC of each target and their mean: what picks the epoch (the reported
    metrics are :mod:`emorec.metrics`', computed from a cell's kept statistics)."""
    error = np.sqrt(np.mean((labels - predicted) ** 2, axis=0))
    mean_y, mean_p = labels.mean(axis=0), predicted.mean(axis=0)
    cov = np.mean((labels - mean_y) * (predicted - mean_p), axis=0)
    denominator = labels.var(axis=0) + predicted.var(axis=0) + (mean_y - mean_p) ** 2
    agreement = np.where(denominator > 0, 2 * cov / np.where(denominator > 0, denominator, 1),
                         1.0)
    scores = {}
    for name, values in (("rmse", error), ("ccc", agreement)):
        scores.update({f"dev_{target}_{name}": float(v)
                       for target, v in zip(targets, values, strict=True)})
        scores[f"dev_mean_{name}"] = float(values.mean())
    return scores


@torch.inference_mode()
def _predict(net: nn.Module, inputs: _Inputs, batch_size: int) -> np.ndarray:
    net.eval()
    device = next(net.parameters()).device
    out = [net(*inputs.batch(torch.arange(start, min(start + batch_size, inputs.length),
                                          device=device))).cpu().numpy()
           for start in range(0, inputs.length, batch_size)]
    return np.concatenate(out).astype(np.float64)


def predict(net: nn.Module, inputs: tuple, batch_size: int = 2048) -> np.ndarray:
    """(n, 2) predictions of ``net`` for ``inputs``, in evaluation mode."""
    device = next(net.parameters()).device
    return _predict(net, _Inputs(inputs, device), batch_size)
