"""Model metadata as data, the model registry, and the inputs each model reads.

Every model is a factory registered with :func:`model`; it takes plain keyword parameters (the
spec's defaults, overridden by a suite's grid) plus ``seed`` and returns an estimator with
``fit(train, dev)`` and ``predict(view) -> (n_frames, 2)``. The view is built by the runner
from the spec's ``view`` kind, so the runner never special-cases a family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from emorec.data import views
from emorec.data.dataset import Dataset
from emorec.data.splits import Split
from emorec.errors import EmorecError
from emorec.registry import Registry

VIEW_KINDS = ("frame", "video_window", "audio_window", "fused")
VIEW_PARAMS = ("window",)   # parameters that choose the input view, not the estimator


class Estimator(Protocol):
    def fit(self, train: Any, dev: Any) -> Estimator: ...
    def predict(self, view: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str                 # classic, ffnn, video, audio, fusion, reference
    modality: str               # video, audio, audio-visual, none
    view: str                   # one of VIEW_KINDS
    factory: Callable[..., Estimator]
    defaults: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)          # the thesis's grid (suites may override)
    search_space: dict = field(default_factory=dict)  # for tuning: name -> (kind, low, high)
    description: str = ""
    stand_in_only: bool = False

    def params(self, overrides: dict) -> dict:
        """Defaults updated with ``overrides``; unknown names are an error."""
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise EmorecError(f"model {self.name!r} has no parameter(s) {', '.join(unknown)} "
                              f"(it has: {', '.join(sorted(self.defaults)) or 'none'})")
        for name, value in overrides.items():
            kind, *choices = self.search_space.get(name, ("",))
            if kind == "categorical" and value not in choices:
                raise EmorecError(f"model {self.name!r}: {name} must be one of "
                                  f"{', '.join(map(str, choices))}, found {value!r}")
        return {**self.defaults, **overrides}

    def build(self, params: dict, seed: int) -> Estimator:
        estimator_params = {k: v for k, v in params.items() if k not in VIEW_PARAMS}
        return self.factory(seed=seed, **estimator_params)


MODELS: Registry[ModelSpec] = Registry("model")


def model(name: str, *, family: str, modality: str, view: str, defaults: dict | None = None,
          grid: dict | None = None, search_space: dict | None = None,
          stand_in_only: bool = False) -> Callable:
    """Register the decorated factory as model ``name`` with its metadata."""
    if view not in VIEW_KINDS:
        raise ValueError(f"view must be one of {VIEW_KINDS}, got {view!r}")

    def make(factory: Callable) -> ModelSpec:
        return ModelSpec(name=name, family=family, modality=modality, view=view, factory=factory,
                         defaults=dict(defaults or {}), grid=dict(grid or {}),
                         search_space=dict(search_space or {}),
                         description=(factory.__doc__ or "").strip().splitlines()[0]
                         if factory.__doc__ else "", stand_in_only=stand_in_only)

    return MODELS.register(name, make)


def build_view(dataset: Dataset, spec: ModelSpec, params: dict, partition: str,
               split: Split | None = None):
    """The input ``spec`` reads for ``partition``."""
    if spec.view == "frame":
        return views.frame_view(dataset, partition, split)
    window = params.get("window")
    if window is None:
        raise EmorecError(f"model {spec.name!r} reads a {spec.view} view and needs a 'window'")
    if spec.view == "video_window":
        return views.video_window_view(dataset, partition, window, split)
    if spec.view == "audio_window":
        return views.audio_window_view(dataset, partition, window, split)
    return views.fused_view(dataset, partition, window, split=split)


def changed_params(model: str, params: dict) -> dict:
    """The params that differ from the registered model's defaults (all if it is unknown)."""
    if model not in MODELS:
        return params
    defaults = MODELS.get(model).defaults
    missing = object()
    return {k: v for k, v in params.items() if defaults.get(k, missing) != v}
