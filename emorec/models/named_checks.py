"""The named checks of a model (:mod:`emorec.models.check` runs them), in order (:data:`CHECKS`):

- ``params_validate``: the defaults with the given overrides, and every value of its grid;
- ``factory_takes_its_params``: exactly its declared parameters plus ``seed``, less the view
  parameters (``window``: they choose the input view and are withheld from the factory);
- ``builds_its_view``: its view for each partition;
- ``fit_returns_itself``: ``fit(train, dev, on_epoch=...)`` runs and returns the estimator;
- ``keeps_a_history``: a ``history`` attribute, ``None`` or per-epoch ``epochs`` (each reported
  to ``on_epoch`` once) and a ``device``;
- ``predicts_every_frame``: a finite ``(n_frames, 2)`` array for every frame of each partition;
- ``same_seed_same_predictions``: two fits with the same seed predict the same numbers;
- ``seed_free_predictions`` (only a model declared ``seeded=False``): another seed predicts the
  same numbers.

Each check is a function of the model's :class:`~emorec.models.check_stages.Subject`, which
runs each stage it needs once. Imported by no model module: no part of any model's code
fingerprint.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.models.check_stages import (
    PARTITIONS,
    CheckNotRun,
    ModelCheckError,
    Subject,
    describe,
)
from emorec.models.inputs import VIEW_PARAMS


@dataclass(frozen=True)
class Check:
    """One named check of one model; calling it returns what it checked (one line) or raises
    :class:`ModelCheckError` (:class:`CheckNotRun` where an earlier check's failure stops it)."""

    model: str
    name: str
    run: Callable[[], str] = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.model}-{self.name}"

    def __call__(self) -> str:
        try:
            return self.run()
        except ModelCheckError as error:
            if error.check in (None, self.name):
                raise ModelCheckError(error.model, error.detail, self.name) from None
            raise CheckNotRun(error.model, f"needs {error.check}, which failed", self.name
                              ) from None
        except Exception as error:   # noqa: BLE001 - what the model gave broke the check
            raise ModelCheckError(self.model, f"the check raised {describe(error)}",
                                  self.name) from None


def model_checks(name: str, params: dict | None = None, *, seed: int = 0,
                 dataset: Dataset | None = None) -> Iterator[Check]:
    """The checks of the registered model ``name`` with its defaults updated by ``params``
    (e.g. ``{"epochs": 1}`` for a quick check of a net) on ``dataset`` (default: the tiny
    stand-in, generated when a check first needs it)."""
    spec = MODELS.get(name)
    subject = Subject(spec, dict(params or {}), seed, dataset)
    for check, run in _CHECKS.items():
        if check != "seed_free_predictions" or not spec.seeded:
            yield Check(name, check, functools.partial(run, subject))


def params_validate(subject: Subject) -> str:
    spec = subject.spec
    subject.chosen()
    for param, values in spec.grid.items():
        for value in values:
            try:
                spec.declared[param].check(spec.name, param, value)
            except EmorecError as error:
                subject.fail(f"grid value {param}={value!r}", "a value the parameter accepts",
                             str(error))
    overrides = ", ".join(f"{k}={v!r}" for k, v in subject.given.items())
    return f"defaults{' with ' + overrides if overrides else ''} and every grid value"


def factory_takes_its_params(subject: Subject) -> str:
    spec = subject.spec
    try:
        signature = inspect.signature(spec.factory)
    except (TypeError, ValueError):   # not introspectable (a builtin): building it tells
        return "factory not introspectable: fit_returns_itself builds it"
    named = {p.name for p in signature.parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    expected = {p for p in spec.declared if p not in VIEW_PARAMS} | {"seed"}
    shown = ", ".join(sorted(expected))
    found = ", ".join(sorted(named)) + (", **kwargs" if any_keyword else "")
    factory = f"factory {spec.factory.__name__}"
    view_params = sorted(named & set(VIEW_PARAMS))
    if view_params:
        subject.fail(factory, f"keyword arguments {shown} (view params such as "
                     f"{', '.join(view_params)} choose the input view and are withheld from "
                     "the factory)", found)
    if not any_keyword and not expected <= named:
        subject.fail(factory, f"keyword arguments {shown}",
                     f"{found} (missing {', '.join(sorted(expected - named))})")
    if named - expected:
        subject.fail(factory, f"keyword arguments {shown} (declare every other parameter in "
                     "@model(params=...))",
                     f"{found} (undeclared {', '.join(sorted(named - expected))})")
    return "seed and its declared params, view params withheld"


def builds_its_view(subject: Subject) -> str:
    views = subject.views()
    return f"{subject.spec.view!r} for " + ", ".join(
        f"{part} ({len(views[part].frames)} frames)" for part in PARTITIONS)


def fit_returns_itself(subject: Subject) -> str:
    fit = subject.fitted(subject.seed)
    if fit.returned is not fit.estimator:
        subject.fail("fit", "fit to return the estimator itself", type(fit.returned).__name__)
    return "fit(train, dev, on_epoch) returns the estimator"


def keeps_a_history(subject: Subject) -> str:
    fit = subject.fitted(subject.seed)
    if not hasattr(fit.estimator, "history"):
        subject.fail("the fitted estimator", "a 'history' attribute (None for a model that "
                     "does not train in epochs)", f"none on {type(fit.estimator).__name__}")
    history = fit.estimator.history
    if history is None:
        return "history is None"
    for attribute in ("epochs", "device"):
        if not hasattr(history, attribute):
            subject.fail("its history", "epochs (a list of per-epoch dev scores) and device",
                         f"{type(history).__name__} without {attribute!r}")
    if not isinstance(history.epochs, list):
        subject.fail("its history", "epochs, a list of per-epoch dev scores",
                     f"epochs of type {type(history.epochs).__name__}")
    if len(fit.reported) != len(history.epochs):
        subject.fail("on_epoch", f"one call per epoch in history.epochs "
                     f"({len(history.epochs)})", f"{len(fit.reported)} call(s)")
    return f"history is {len(history.epochs)} epoch(s), each reported to on_epoch"


def predicts_every_frame(subject: Subject) -> str:
    views = subject.views()
    for partition in PARTITIONS:
        predicted = subject.predicted(subject.seed, 0, partition)
        expected = (len(views[partition].frames), 2)
        if predicted.shape != expected:
            subject.fail(f"predict on {partition}", f"shape {expected} (valence, arousal for "
                         "every frame)", f"shape {predicted.shape}")
        bad = ~np.isfinite(predicted)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            subject.fail(f"predict on {partition}", "finite numbers",
                         f"{int(bad.sum())} NaN or infinite value(s), the first in frame {row}")
    return "a finite (n_frames, 2) array for every frame of " + ", ".join(
        f"{part} ({len(views[part].frames)})" for part in PARTITIONS)


def same_seed_same_predictions(subject: Subject) -> str:
    seed = subject.seed
    _same(subject, lambda: subject.predicted(seed, 1, "test"), f"two fits with seed {seed}",
          "the same test predictions")
    return f"two fits with seed {seed} predict the same numbers"


def seed_free_predictions(subject: Subject) -> str:
    seed, other = subject.seed, subject.seed + 1
    _same(subject, lambda: subject.predicted(other, 0, "test"), f"fits with seeds {seed} and "
          f"{other}", "the same test predictions (it is declared seed-free, seeded=False)")
    return f"fits with seeds {seed} and {other} predict the same numbers (seed-free)"


def _same(subject: Subject, again: Callable[[], np.ndarray], what: str, wanted: str) -> None:
    """The first fit's test predictions (needed first: its failures are other checks')
    against ``again``'s."""
    expected = subject.predicted(subject.seed, 0, "test")
    found = again()
    if found.shape != expected.shape:
        subject.fail(what, wanted, f"predictions of shapes {expected.shape} and {found.shape}")
    if not np.array_equal(found, expected, equal_nan=True):
        gap = float(np.nanmax(np.abs(found - expected)))
        subject.fail(what, wanted, f"predictions that differ by up to {gap:.3g}")


_CHECKS: dict[str, Callable[[Subject], str]] = {check.__name__: check for check in (
    params_validate, factory_takes_its_params, builds_its_view, fit_returns_itself,
    keeps_a_history, predicts_every_frame, same_seed_same_predictions, seed_free_predictions)}
CHECKS = tuple(_CHECKS)
