"""Model metadata as data, the model registry, and the input view each model reads.

Every model is a factory registered with :func:`model`; it takes its declared parameters
(:class:`~emorec.models.params.Param`) as keyword arguments plus ``seed`` and returns an
:class:`Estimator`. The view it reads is built from the record of its ``view``
(:data:`~emorec.models.inputs.VIEWS`), so no caller ever special-cases a family.

A model whose fit does not depend on the seed (a deterministic fit: a closed form, a grid search
on a fixed split, a constant) is registered with ``seeded=False``: a suite then plans one cell
for it per dataset and params instead of one per seed, a cell whose seed is ``None``
(:mod:`emorec.cells`). Its factory still takes ``seed`` like every other and is given 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from emorec.code_fingerprint import model_fingerprint
from emorec.data.dataset import Dataset
from emorec.data.splits import Split
from emorec.errors import EmorecError
from emorec.models.inputs import VIEW_PARAMS, VIEWS, View
from emorec.models.params import Param
from emorec.registry import Registry
from emorec.store.facts import ModelFacts

# The params a leaderboard row shows in columns of their own, of those a model declares, when
# its registration names none.
SHOWN_BY_DEFAULT = ("window", "pooling")

# (epoch, dev scores) after each epoch of an iterative model; it may raise to stop training
# (a tuner's pruning does).
EpochCallback = Callable[[int, dict], None]


class Estimator(Protocol):
    """What every model's factory returns.

    ``fit`` trains on ``train`` (and uses ``dev`` for early stopping or grid search), calling
    ``on_epoch`` after each epoch if the model trains in epochs. ``predict`` returns
    ``(n_frames, 2)`` valence/arousal predictions for every frame of the view. ``history`` holds
    the per-epoch dev scores and the device of a net (:class:`~emorec.models.training.
    TrainingHistory`), ``None`` for models that do not train in epochs.
    """

    history: Any

    def fit(self, train: Any, dev: Any, on_epoch: EpochCallback | None = None) -> Estimator: ...

    def predict(self, view: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str                 # classic, ffnn, video, audio, fusion, seq, reference
    modality: str               # video, audio, audio-visual, none
    view: str                   # a key of VIEWS
    factory: Callable[..., Estimator]
    declared: Mapping[str, Param] = field(default_factory=dict)
    grid: dict = field(default_factory=dict)    # the thesis's grid (suites may override)
    description: str = ""
    columns: tuple[str, ...] = ()   # params shown in leaderboard columns of their own
    offline_when: tuple[tuple[str, object], ...] = ()   # (param, value): reads future frames
    thesis_names: tuple[str, ...] = ()   # the thesis's names for this model, if it ran it
    stand_in_only: bool = False
    source: str = "emorec"      # where the model comes from: emorec, or a plugin
    seeded: bool = True         # False: the fit does not depend on the seed (seed-free)

    @property
    def defaults(self) -> dict:
        return {name: param.default for name, param in self.declared.items()}

    @property
    def tunable(self) -> dict[str, Param]:
        """The parameters a tuning study samples."""
        return {name: p for name, p in self.declared.items() if p.tune not in (None, False)}

    def params(self, overrides: dict) -> dict:
        """Defaults updated with ``overrides``, every value checked and normalised."""
        unknown = sorted(set(overrides) - set(self.declared))
        if unknown:
            raise EmorecError(f"model {self.name!r} has no parameter(s) {', '.join(unknown)} "
                              f"(it has: {', '.join(sorted(self.declared)) or 'none'})")
        merged = {**self.defaults, **overrides}
        return {name: self.declared[name].check(self.name, name, value)
                for name, value in merged.items()}

    def changed(self, params: dict) -> dict:
        """The params that differ from the defaults."""
        defaults = self.defaults
        return {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}

    @property
    def code_fingerprint(self) -> str:
        """Of the code that decides this model's numbers (:mod:`emorec.code_fingerprint`)."""
        return model_fingerprint(self.factory.__module__, self.name)

    def facts(self) -> ModelFacts:
        """What this model's rows show, as written beside the results (``models.json``)."""
        return ModelFacts(columns=self.columns, offline_when=self.offline_when,
                          thesis_names=self.thesis_names, description=self.description,
                          family=self.family, modality=self.modality, source=self.source)

    def build(self, params: dict, seed: int | None) -> Estimator:
        """The estimator for ``params``; seed ``None`` (a seed-free cell) builds it with 0."""
        estimator_params = {k: v for k, v in params.items() if k not in VIEW_PARAMS}
        return self.factory(seed=0 if seed is None else seed, **estimator_params)

    def build_view(self, dataset: Dataset, params: dict, partition: str,
                split: Split | None = None):
        """The input this model reads for ``partition``."""
        return VIEWS[self.view].build(dataset, partition, split, params)


MODELS: Registry[ModelSpec] = Registry("model")


def view_of(model_name: str) -> View:
    """The record of the view registered model ``model_name`` reads."""
    return VIEWS[MODELS.get(model_name).view]


def model(name: str, *, family: str, modality: str, view: str,
          params: Mapping[str, Param] | None = None, grid: dict | None = None,
          stand_in_only: bool = False, seeded: bool = True, description: str | None = None,
          columns: tuple[str, ...] | None = None,
          offline_when: tuple[tuple[str, object], ...] = (),
          thesis_names: tuple[str, ...] = ()) -> Callable:
    """Register the decorated factory as model ``name`` with its metadata, in one declaration.

    ``family`` groups rows (one refit per family in ``emorec verify``, a panel per family in the
    window figure); ``view`` names the input (:data:`~emorec.models.inputs.VIEWS`); ``params``
    declares every parameter; ``seeded=False`` declares that its fit does not depend on the
    seed (fitted once per dataset and params, not once per seed). Describing it, deciding no
    number and so outside its code fingerprint: ``grid`` (the thesis's grid, which suites may
    override), ``description`` (default: the first paragraph of the factory's docstring),
    ``columns`` (the params its leaderboard rows show in columns of their own; default: those of
    ``window`` and ``pooling`` it declares), ``offline_when`` ((param, value) pairs that make it
    read future frames: an offline row) and ``thesis_names`` (what the thesis's tables call it).
    """
    declared = dict(params or {})

    def make(factory: Callable) -> ModelSpec:
        where = f"{factory.__code__.co_filename}:{factory.__code__.co_firstlineno}"
        shown = _checked_declaration(name, view, declared, grid or {}, columns, offline_when,
                                     where)
        return ModelSpec(name=name, family=family, modality=modality, view=view, factory=factory,
                         declared=declared, grid=dict(grid or {}),
                         description=first_paragraph(description or factory.__doc__),
                         columns=shown, offline_when=tuple(map(tuple, offline_when)),
                         thesis_names=tuple(thesis_names), stand_in_only=stand_in_only,
                         seeded=seeded)

    return MODELS.register(name, make)


class DeclarationError(EmorecError, ValueError):
    """A ``@model(...)`` that cannot be registered: one line naming the model and its file."""


def _checked_declaration(name: str, view: str, declared: dict, grid: dict,
                         columns, offline_when, where: str) -> tuple[str, ...]:
    """The params model ``name`` shows in columns of their own, after checking its
    declaration."""
    def refuse(problem: str):
        raise DeclarationError(f"model {name!r} ({where}): {problem}")

    if view not in VIEWS:
        refuse(f"view= must be one of {', '.join(sorted(VIEWS))}, not {view!r}")
    if view != "frame" and "window" not in declared:
        refuse(f"it reads a {view} view and must declare a 'window' param")
    if columns is not None and (isinstance(columns, str) or not all(
            isinstance(column, str) for column in columns)):
        refuse(f"columns= must be a tuple of param names, not {columns!r}")
    if isinstance(offline_when, dict) or not all(
            isinstance(pair, tuple | list) and len(pair) == 2 for pair in offline_when):
        refuse(f"offline_when= must be a tuple of (param, value) pairs, not {offline_when!r}")
    shown = (tuple(p for p in SHOWN_BY_DEFAULT if p in declared) if columns is None
             else tuple(columns))
    for keyword, names in (("grid", list(grid)), ("columns", shown),
                           ("offline_when", [p for p, _ in offline_when])):
        unknown = sorted(set(names) - set(declared))
        if unknown:
            refuse(f"{keyword}= names undeclared params {', '.join(unknown)} (it declares: "
                   f"{', '.join(sorted(declared)) or 'none'})")
    for param, value in offline_when:
        try:
            declared[param].check(name, param, value)
        except EmorecError as error:
            refuse(f"offline_when= gives {param} a value it never takes: "
                   f"{str(error).split(': ', 1)[-1]}")
    return shown


def first_paragraph(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())
