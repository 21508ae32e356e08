"""What a model's checks share (:mod:`emorec.models.check`): its params, views, fits and
predictions on a tiny generated stand-in, each stage run once, when a check first needs it, and
the errors a check raises.

A stage that fails keeps its error, tagged with the check it belongs to (a fit that raises is
``fit_returns_itself``'s failure), so a later check that needs it is not run
(:class:`CheckNotRun`) instead of failing too. Imported by no model module: no part of any
model's code fingerprint.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from emorec.data import synth
from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.models.base import ModelSpec

PARTITIONS = ("train", "dev", "test")


class ModelCheckError(EmorecError):
    """A model does not do what emorec needs of it: ``detail`` says what was expected and found,
    ``check`` names the check it fails (``None``: the check that ran into it)."""

    def __init__(self, model: str, detail: str, check: str | None = None):
        self.model, self.detail, self.check = model, detail, check
        super().__init__(f"model {model!r}: {detail}")


class CheckNotRun(ModelCheckError):
    """A check that needs what an earlier check found broken."""


@functools.cache
def stand_in() -> Dataset:
    """The smallest generated stand-in with audio windows (SEWA, size tiny, seed 0)."""
    return synth.generate("sewa", "tiny", seed=0)


@contextlib.contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    try:
        with threadpool_limits(limits=1):
            torch.set_num_threads(1)
            yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class Fit:
    estimator: object
    returned: object   # what fit returned
    reported: list     # the epochs fit reported to on_epoch


class Subject:
    """One model, its params, seed and dataset (default: :func:`stand_in`): the stages its
    checks share."""

    def __init__(self, spec: ModelSpec, params: dict, seed: int, dataset: Dataset | None):
        self.spec, self.given, self.seed, self._dataset = spec, params, seed, dataset
        self._stages: dict = {}

    def fail(self, what: str, expected: str, found: str, check: str | None = None):
        raise ModelCheckError(self.spec.name, f"{what}: expected {expected}; found {found}",
                              check)

    def _stage(self, key, compute: Callable, check: str | None):
        if key not in self._stages:
            try:
                with _one_thread():   # as a bench cell computes (emorec.evaluation)
                    self._stages[key] = (compute(), None)
            except ModelCheckError as error:
                self._stages[key] = (None, (error.detail, error.check or check))
        value, error = self._stages[key]
        if error is not None:
            raise ModelCheckError(self.spec.name, *error)
        return value

    def chosen(self) -> dict:
        """The defaults updated with the given params, validated."""
        def compute():
            try:
                return self.spec.params(self.given)
            except EmorecError as error:
                self.fail("its params", "the declared defaults and the given values to "
                          "validate", str(error))
        return self._stage("params", compute, "params_validate")

    def views(self) -> dict:
        """Its view of each partition."""
        chosen = self.chosen()

        def compute():
            dataset = stand_in() if self._dataset is None else self._dataset
            split = dataset.split()
            try:
                return {part: self.spec.build_view(dataset, chosen, part, split)
                        for part in PARTITIONS}
            except Exception as error:   # noqa: BLE001 - reported, naming the model
                self.fail(f"its {self.spec.view!r} view", "one for each partition",
                          describe(error))
        return self._stage("views", compute, "builds_its_view")

    def fitted(self, seed: int, copy: int = 0) -> Fit:
        """Fit number ``copy`` with ``seed``; the first fit's failures are fit_returns_itself's,
        another's the check's that asked for it."""
        chosen, views = self.chosen(), self.views()

        def compute():
            try:
                estimator = self.spec.build(chosen, seed)
            except Exception as error:   # noqa: BLE001
                self.fail("its factory", f"an estimator from seed={seed} and the declared "
                          "params", describe(error))
            reported = []
            try:
                returned = estimator.fit(views["train"], views["dev"],
                                         on_epoch=lambda epoch, scores: reported.append(epoch))
            except Exception as error:   # noqa: BLE001
                self.fail("fit", "fit(train, dev, on_epoch=callback) to run", describe(error))
            return Fit(estimator, returned, reported)
        first = (seed, copy) == (self.seed, 0)
        return self._stage(("fit", seed, copy), compute,
                           "fit_returns_itself" if first else None)

    def predicted(self, seed: int, copy: int, partition: str) -> np.ndarray:
        """Fit ``copy`` with ``seed``'s predictions for ``partition``, as floats; the first
        fit's failures are predicts_every_frame's."""
        fit, view = self.fitted(seed, copy), self.views()[partition]

        def compute():
            try:
                return np.asarray(fit.estimator.predict(view), dtype=np.float64)
            except Exception as error:   # noqa: BLE001
                self.fail(f"predict on {partition}", f"a {(len(view.frames), 2)} array",
                          describe(error))
        first = (seed, copy) == (self.seed, 0)
        return self._stage(("predict", seed, copy, partition), compute,
                           "predicts_every_frame" if first else None)


def describe(error: Exception) -> str:
    """An exception in one line: its type and its message's first line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
