"""``check_model``: what a model must do to run in emorec, checked on a tiny generated stand-in.

A plugin author runs it on their model before a suite does (as scikit-learn's
``check_estimator``)::

    from emorec.models.check import check_model
    check_model("my_model", {"epochs": 1})

or ``emorec models --plugin my_model.py --check my_model --param epochs=1``. It checks that

- the spec's parameters validate: the defaults with the given overrides, and every value of its
  grid;
- the factory accepts exactly its declared parameters plus ``seed``, less the view parameters
  (``window``: they choose the input view and are withheld from the factory);
- ``fit(train, dev, on_epoch=...)`` runs and returns the estimator, which has a ``history``
  attribute (``None``, or per-epoch ``epochs`` reported to ``on_epoch`` once each, and a
  ``device``);
- ``predict`` returns a finite ``(n_frames, 2)`` array for every frame of each partition;
- two fits with the same seed predict the same numbers;
- a model declared seed-free (``seeded=False``) predicts the same numbers with another seed.

Each failure raises :class:`ModelCheckError` naming the model and what was expected and found.
This module is imported by no model module, so it is no part of any model's code fingerprint.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from emorec.data import synth
from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.models.base import VIEW_PARAMS, ModelSpec

PARTITIONS = ("train", "dev", "test")


class ModelCheckError(EmorecError):
    """A model does not do what emorec needs of it."""


@functools.cache
def stand_in() -> Dataset:
    """The smallest generated stand-in with audio windows (SEWA, size tiny, seed 0)."""
    return synth.generate("sewa", "tiny", seed=0)


def check_model(name: str, params: dict | None = None, *, seed: int = 0,
                dataset: Dataset | None = None) -> list[str]:
    """Check the registered model ``name`` with its defaults updated by ``params`` (e.g.
    ``{"epochs": 1}`` for a quick check of a net) on ``dataset`` (default: :func:`stand_in`).
    Returns what was checked, one line each; raises :class:`ModelCheckError` on the first
    failure."""
    spec = MODELS.get(name)
    dataset = stand_in() if dataset is None else dataset

    def fail(what: str, expected: str, found: str) -> None:
        raise ModelCheckError(f"model {name!r}: {what}: expected {expected}; found {found}")

    done = []
    chosen = _check_params(spec, params or {}, fail)
    done.append(f"params validate: defaults{_overrides(params)} and every grid value")
    _check_factory_signature(spec, fail)
    done.append("factory takes its declared params and seed, view params withheld")
    threads = torch.get_num_threads()
    try:
        with threadpool_limits(limits=1):   # as a bench cell computes (emorec.evaluation)
            torch.set_num_threads(1)
            split = dataset.split()
            try:
                views = {part: spec.build_view(dataset, chosen, part, split)
                         for part in PARTITIONS}
            except Exception as error:   # noqa: BLE001 - reported, naming the model
                fail(f"its {spec.view!r} view", "one for each partition", _describe(error))
            first = _fit(spec, chosen, seed, views, fail)
            done.append("fit(train, dev, on_epoch) returns the estimator; history is "
                        + ("None" if first.history is None else
                           f"{len(first.history.epochs)} epoch(s), each reported to on_epoch"))
            predicted = {part: _predict(first, views[part], part, fail) for part in PARTITIONS}
            done.append("predict: a finite (n_frames, 2) array for every frame of "
                        + ", ".join(f"{part} ({len(views[part].frames)})" for part in PARTITIONS))
            again = _predict(_fit(spec, chosen, seed, views, fail), views["test"], "test", fail)
            _same(again, predicted["test"], f"two fits with seed {seed}",
                  "the same test predictions", fail)
            done.append(f"two fits with seed {seed} predict the same numbers")
            if not spec.seeded:
                other = _predict(_fit(spec, chosen, seed + 1, views, fail), views["test"],
                                 "test", fail)
                _same(other, predicted["test"], f"fits with seeds {seed} and {seed + 1}",
                      "the same test predictions (it is declared seed-free, seeded=False)",
                      fail)
                done.append(f"fits with seeds {seed} and {seed + 1} predict the same numbers "
                            "(seed-free)")
    finally:
        torch.set_num_threads(threads)
    return done


def _same(found: np.ndarray, expected: np.ndarray, what: str, wanted: str,
          fail: Callable) -> None:
    if not np.array_equal(found, expected, equal_nan=True):
        gap = float(np.nanmax(np.abs(found - expected)))
        fail(what, wanted, f"predictions that differ by up to {gap:.3g}")


def _overrides(params: dict | None) -> str:
    return "" if not params else " with " + ", ".join(f"{k}={v!r}" for k, v in params.items())


def _check_params(spec: ModelSpec, params: dict, fail: Callable) -> dict:
    try:
        chosen = spec.params(params)
    except EmorecError as error:
        fail("its params", "the declared defaults and the given values to validate", str(error))
    for param, values in spec.grid.items():
        for value in values:
            try:
                spec.declared[param].check(spec.name, param, value)
            except EmorecError as error:
                fail(f"grid value {param}={value!r}", "a value the parameter accepts",
                     str(error))
    return chosen


def _check_factory_signature(spec: ModelSpec, fail: Callable) -> None:
    try:
        signature = inspect.signature(spec.factory)
    except (TypeError, ValueError):
        return   # not introspectable (a builtin): building it below still tells
    named = {p.name for p in signature.parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    expected = {p for p in spec.declared if p not in VIEW_PARAMS} | {"seed"}
    shown = ", ".join(sorted(expected))
    found = ", ".join(sorted(named)) + (", **kwargs" if any_keyword else "")
    view_params = sorted(named & set(VIEW_PARAMS))
    if view_params:
        fail(f"factory {spec.factory.__name__}", f"keyword arguments {shown} (view params "
             f"such as {', '.join(view_params)} choose the input view and are withheld from "
             f"the factory)", found)
    if not any_keyword and not expected <= named:
        fail(f"factory {spec.factory.__name__}", f"keyword arguments {shown}",
             f"{found} (missing {', '.join(sorted(expected - named))})")
    if named - expected:
        fail(f"factory {spec.factory.__name__}", f"keyword arguments {shown} (declare every "
             "other parameter in @model(params=...))",
             f"{found} (undeclared {', '.join(sorted(named - expected))})")


def _fit(spec: ModelSpec, params: dict, seed: int, views: dict, fail: Callable):
    try:
        estimator = spec.build(params, seed)
    except Exception as error:   # noqa: BLE001
        fail("its factory", f"an estimator from seed={seed} and the declared params",
             _describe(error))
    reported = []
    try:
        returned = estimator.fit(views["train"], views["dev"],
                                 on_epoch=lambda epoch, scores: reported.append(epoch))
    except Exception as error:   # noqa: BLE001
        fail("fit", "fit(train, dev, on_epoch=callback) to run", _describe(error))
    if returned is not estimator:
        fail("fit", "fit to return the estimator itself", f"{type(returned).__name__}")
    if not hasattr(estimator, "history"):
        fail("the fitted estimator", "a 'history' attribute (None for a model that does not "
             "train in epochs)", f"none on {type(estimator).__name__}")
    history = estimator.history
    if history is not None:
        for attribute in ("epochs", "device"):
            if not hasattr(history, attribute):
                fail("its history", "epochs (a list of per-epoch dev scores) and device",
                     f"{type(history).__name__} without {attribute!r}")
        if len(reported) != len(history.epochs):
            fail("on_epoch", "one call per epoch in history.epochs "
                 f"({len(history.epochs)})", f"{len(reported)} call(s)")
    return estimator


def _predict(estimator, view, partition: str, fail: Callable) -> np.ndarray:
    expected = (len(view.frames), 2)
    try:
        predicted = np.asarray(estimator.predict(view), dtype=np.float64)
    except Exception as error:   # noqa: BLE001
        fail(f"predict on {partition}", f"a {expected} array", _describe(error))
    if predicted.shape != expected:
        fail(f"predict on {partition}", f"shape {expected} (valence, arousal for every frame)",
             f"shape {predicted.shape}")
    bad = ~np.isfinite(predicted)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        fail(f"predict on {partition}", "finite numbers",
             f"{int(bad.sum())} NaN or infinite value(s), the first in frame {row}")
    return predicted


def _describe(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
