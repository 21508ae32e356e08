"""What every net shares: fitting and predicting any net on its view, save and load, and the
layers several nets use.

A net model's factory (in :mod:`emorec.models.zoo`) returns :class:`NetRegressor` with a
``make_net(dims, **params)`` function. The regressor standardises every embedding table of the
model's view with training statistics, gets the net's arguments from the view's record
(:class:`emorec.models.inputs.View`), and trains with the one loop of
:mod:`emorec.models.training`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emorec.models import training
from emorec.models.inputs import View, fit_standardisation, input_dims, training_labels


class NetRegressor:
    """``fit(train, dev)`` / ``predict(view)`` for any net built by ``make_net``."""

    history: training.TrainingHistory | None = None

    def __init__(self, model: str, make_net: Callable[..., nn.Module], seed: int, **params):
        self.model, self.make_net, self.seed = model, make_net, seed
        self.target = params.get("target", "frame")
        self.net_params = {k: v for k, v in params.items()
                           if k not in training.CONFIG_KEYS and k != "target"}
        self.config = training.TrainingConfig(
            seed=seed, **{k: v for k, v in params.items() if k in training.CONFIG_KEYS})
        self.params = params

    @property
    def view(self) -> View:
        """The record of the view this model reads (its registration's)."""
        from emorec.models.base import view_of

        return view_of(self.model)

    def fit(self, train, dev, on_epoch=None) -> NetRegressor:
        self.stats = fit_standardisation(self.view, train)
        training.seed_everything(self.seed)
        self.dims = input_dims(self.view, train)
        self.net = self.make_net(self.dims, **self.net_params)
        self.history = training.train(self.net, *self.training_data(train),
                                      self.view.net_inputs(dev, self.stats),
                                      dev.frames.labels, self.config, on_epoch)
        return self

    def training_data(self, train) -> tuple[tuple, np.ndarray]:
        """The net's training inputs and labels (after :meth:`fit` set the standardisation)."""
        return self.view.net_inputs(train, self.stats), training_labels(train, self.target)

    def predict(self, view) -> np.ndarray:
        return training.predict(self.net, self.view.net_inputs(view, self.stats))

    def save(self, path: str | Path) -> None:
        torch.save({"model": self.model, "params": self.params, "seed": self.seed,
                    "dims": self.dims, "stats": self.stats,
                    "state_dict": {k: v.cpu() for k, v in self.net.state_dict().items()}}, path)


def load(path: str | Path, device: str = "cpu") -> NetRegressor:
    """A fitted net saved with :meth:`NetRegressor.save`, on ``device`` ("auto": CUDA when
    present). Only load files you trust: they are pickles."""
    from emorec.models.base import MODELS

    saved = torch.load(path, map_location="cpu", weights_only=False)
    regressor = MODELS.get(saved["model"]).factory(seed=saved["seed"], **saved["params"])
    regressor.stats, regressor.dims = saved["stats"], saved["dims"]
    regressor.net = regressor.make_net(regressor.dims, **regressor.net_params)
    regressor.net.load_state_dict(saved["state_dict"])
    regressor.net.to(training.resolve_device(device))
    return regressor


# --------------------------------------------------------------------------- shared layers
def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time (dim 1) of the unmasked steps; zeros where a row has none."""
    total = x.masked_fill(~mask.unsqueeze(-1), 0.0).sum(1)
    return total / mask.sum(1, keepdim=True).clamp(min=1).to(x.dtype)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over time (dim 1) of the unmasked steps (every row has at least one)."""
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


class Head(nn.Module):
    """Dense layer to valence and arousal (or to one target: ``outputs=1``), then tanh: outputs
    always lie in [-1, 1]."""

    def __init__(self, inputs: int, outputs: int = 2):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(inputs, outputs), nn.Tanh())

    def forward(self, x):
        return self.layers(x)
