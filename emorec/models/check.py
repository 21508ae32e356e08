"""What a model must do to run in emorec, as named checks on a tiny generated stand-in.

As scikit-learn's ``parametrize_with_checks`` does for estimators, :func:`model_checks` yields
one named check per thing a model must do, and :func:`parametrize_checks` makes each its own
pytest item (``my_model-predicts_every_frame``), known failures marked xfail::

    from emorec.models.check import parametrize_checks
    import my_model   # registers my_model with @model

    @parametrize_checks([("my_model", {"epochs": 1})],
                        expected_failed={"same_seed_same_predictions": "cuDNN kernels"})
    def test_my_model(check):
        check()

:func:`check_model` runs them all at once and reports every failure (``emorec models --plugin
my_model.py --check my_model --param epochs=1``). The checks, in order (:data:`CHECKS`):

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

The checks of one model share its fits: each stage (the views, a fit, its predictions) runs
once, when a check first needs it. A check whose stage failed under an earlier check is not run
(:class:`CheckNotRun`; a pytest item made by :func:`parametrize_checks` is skipped), so each
broken thing fails one check. This module is imported by no model module, so it is no part of
any model's code fingerprint.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from emorec.data import synth
from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.models.base import VIEW_PARAMS, ModelSpec

PARTITIONS = ("train", "dev", "test")
CHECKS = ("params_validate", "factory_takes_its_params", "builds_its_view",
          "fit_returns_itself", "keeps_a_history", "predicts_every_frame",
          "same_seed_same_predictions", "seed_free_predictions")


class ModelCheckError(EmorecError):
    """A model does not do what emorec needs of it: ``detail`` says what was expected and found,
    ``check`` names the check it fails (``None``: the check that ran into it)."""

    def __init__(self, model: str, detail: str, check: str | None = None):
        self.model, self.detail, self.check = model, detail, check
        super().__init__(f"model {model!r}: {detail}")


class CheckNotRun(ModelCheckError):
    """A check that needs what an earlier check found broken."""


class ModelChecksFailed(ModelCheckError):
    """:func:`check_model`'s report of every failed check; ``results`` holds every check's."""

    def __init__(self, model: str, results: list[CheckResult]):
        self.results = results
        failed = [result for result in results if result.outcome == "FAILED"]
        super().__init__(model, f"fails {len(failed)} of {len(results)} checks:\n"
                         + "\n".join(f"  {result}" for result in failed))


@functools.cache
def stand_in() -> Dataset:
    """The smallest generated stand-in with audio windows (SEWA, size tiny, seed 0)."""
    return synth.generate("sewa", "tiny", seed=0)


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


@dataclass(frozen=True)
class CheckResult:
    check: str
    outcome: str   # ok, FAILED, not run, xfail (failed as expected), xpass (passed, expected not)
    line: str      # what was checked, or what failed

    def __str__(self) -> str:
        return f"{self.outcome:<9}{self.check}: {self.line}"


def model_checks(name: str, params: dict | None = None, *, seed: int = 0,
                 dataset: Dataset | None = None) -> Iterator[Check]:
    """The checks of the registered model ``name`` with its defaults updated by ``params``
    (e.g. ``{"epochs": 1}`` for a quick check of a net) on ``dataset`` (default:
    :func:`stand_in`, generated when a check first needs it)."""
    spec = MODELS.get(name)
    subject = _Subject(spec, dict(params or {}), seed, dataset)
    runs = {"params_validate": subject.params_validate,
            "factory_takes_its_params": subject.factory_takes_its_params,
            "builds_its_view": subject.builds_its_view,
            "fit_returns_itself": subject.fit_returns_itself,
            "keeps_a_history": subject.keeps_a_history,
            "predicts_every_frame": subject.predicts_every_frame,
            "same_seed_same_predictions": subject.same_seed_same_predictions}
    if not spec.seeded:
        runs["seed_free_predictions"] = subject.seed_free_predictions
    for check, run in runs.items():
        yield Check(name, check, run)


def check_model(name: str, params: dict | None = None, *, seed: int = 0,
                dataset: Dataset | None = None,
                expected_failed: dict[str, str] | None = None) -> list[CheckResult]:
    """Run every check of :func:`model_checks` (``expected_failed``: check name -> why it is
    known to fail). Returns each check's result; raises :class:`ModelChecksFailed`, naming every
    failure one line each, if any failed."""
    expected = _expected(expected_failed or {}, [name])
    results = []
    for check in model_checks(name, params, seed=seed, dataset=dataset):
        reason = expected.get(check.id)
        try:
            line = check()
        except CheckNotRun as error:
            results.append(CheckResult(check.name, "not run", error.detail))
        except ModelCheckError as error:
            results.append(CheckResult(check.name, "FAILED" if reason is None else "xfail",
                                       error.detail + ("" if reason is None else
                                                       f" (expected: {reason})")))
        else:
            results.append(CheckResult(check.name, "ok" if reason is None else "xpass",
                                       line + ("" if reason is None else
                                               f" (expected to fail: {reason})")))
    if any(result.outcome == "FAILED" for result in results):
        raise ModelChecksFailed(name, results)
    return results


def parametrize_checks(models: Iterable[str | tuple[str, dict]], *,
                       expected_failed: dict[str, str] | None = None, seed: int = 0,
                       dataset: Dataset | None = None):
    """A ``pytest.mark.parametrize`` of argument ``check`` over every check of each model (a
    name, or a ``(name, params)`` pair), ids ``model-check``; the test calls ``check()``.
    ``expected_failed`` maps a check name (of every model) or an id (``model-check``) to why it
    is known to fail: that item is marked xfail. A check stopped by an earlier failure is
    skipped."""
    import pytest

    models = [(item, {}) if isinstance(item, str) else item for item in models]
    expected = _expected(expected_failed or {}, [name for name, _ in models])
    cases = []
    for name, params in models:
        for check in model_checks(name, params, seed=seed, dataset=dataset):
            reason = expected.get(check.id)
            marks = () if reason is None else pytest.mark.xfail(reason=reason,
                                                                raises=ModelCheckError)
            cases.append(pytest.param(_SkipNotRun(check.model, check.name, check.run),
                                      id=check.id, marks=marks))
    return pytest.mark.parametrize("check", cases)


class _SkipNotRun(Check):
    """A check as a pytest item: skipped where an earlier check's failure stops it."""

    def __call__(self) -> str:
        import pytest

        try:
            return super().__call__()
        except CheckNotRun as error:
            pytest.skip(str(error))


def _expected(expected_failed: dict[str, str], models: list[str]) -> dict[str, str]:
    """``expected_failed`` by check id, each key checked: a check name or ``model-check``."""
    by_id = {}
    for key, reason in expected_failed.items():
        ids = ([f"{model}-{key}" for model in models] if key in CHECKS else
               [key] if any(key == f"{model}-{check}" for model in models for check in CHECKS)
               else None)
        if ids is None:
            raise EmorecError(f"expected_failed: {key!r} is not a check; expected one of "
                              f"{', '.join(CHECKS)}, alone or as MODEL-CHECK for a model of "
                              f"{', '.join(models)}")
        by_id.update(dict.fromkeys(ids, reason))
    return by_id


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
class _Fit:
    estimator: object
    returned: object
    reported: list


class _Subject:
    """One model, its params, seed and dataset: what its checks share. Each stage (the chosen
    params, the views, a fit, its predictions) runs once, when a check first needs it; a stage
    that fails keeps its error, tagged with the check it belongs to."""

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

    # the stages

    def chosen(self) -> dict:
        def compute():
            try:
                return self.spec.params(self.given)
            except EmorecError as error:
                self.fail("its params", "the declared defaults and the given values to "
                          "validate", str(error))
        return self._stage("params", compute, "params_validate")

    def views(self) -> dict:
        chosen = self.chosen()

        def compute():
            dataset = stand_in() if self._dataset is None else self._dataset
            split = dataset.split()
            try:
                return {part: self.spec.build_view(dataset, chosen, part, split)
                        for part in PARTITIONS}
            except Exception as error:   # noqa: BLE001 - reported, naming the model
                self.fail(f"its {self.spec.view!r} view", "one for each partition",
                          _describe(error))
        return self._stage("views", compute, "builds_its_view")

    def fitted(self, seed: int, copy: int = 0) -> _Fit:
        """Fit number ``copy`` with ``seed``; the first fit's failures are fit_returns_itself's,
        another's the check's that asked for it."""
        chosen, views = self.chosen(), self.views()

        def compute():
            try:
                estimator = self.spec.build(chosen, seed)
            except Exception as error:   # noqa: BLE001
                self.fail("its factory", f"an estimator from seed={seed} and the declared "
                          "params", _describe(error))
            reported = []
            try:
                returned = estimator.fit(views["train"], views["dev"],
                                         on_epoch=lambda epoch, scores: reported.append(epoch))
            except Exception as error:   # noqa: BLE001
                self.fail("fit", "fit(train, dev, on_epoch=callback) to run", _describe(error))
            return _Fit(estimator, returned, reported)
        first = (seed, copy) == (self.seed, 0)
        return self._stage(("fit", seed, copy), compute,
                           "fit_returns_itself" if first else None)

    def predicted(self, seed: int, copy: int, partition: str) -> np.ndarray:
        fit, view = self.fitted(seed, copy), self.views()[partition]

        def compute():
            try:
                return np.asarray(fit.estimator.predict(view), dtype=np.float64)
            except Exception as error:   # noqa: BLE001
                self.fail(f"predict on {partition}", f"a {(len(view.frames), 2)} array",
                          _describe(error))
        first = (seed, copy) == (self.seed, 0)
        return self._stage(("predict", seed, copy, partition), compute,
                           "predicts_every_frame" if first else None)

    # the checks

    def params_validate(self) -> str:
        self.chosen()
        for param, values in self.spec.grid.items():
            for value in values:
                try:
                    self.spec.declared[param].check(self.spec.name, param, value)
                except EmorecError as error:
                    self.fail(f"grid value {param}={value!r}", "a value the parameter accepts",
                              str(error))
        return f"defaults{_overrides(self.given)} and every grid value"

    def factory_takes_its_params(self) -> str:
        spec = self.spec
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
        view_params = sorted(named & set(VIEW_PARAMS))
        if view_params:
            self.fail(f"factory {spec.factory.__name__}", f"keyword arguments {shown} (view "
                      f"params such as {', '.join(view_params)} choose the input view and are "
                      "withheld from the factory)", found)
        if not any_keyword and not expected <= named:
            self.fail(f"factory {spec.factory.__name__}", f"keyword arguments {shown}",
                      f"{found} (missing {', '.join(sorted(expected - named))})")
        if named - expected:
            self.fail(f"factory {spec.factory.__name__}", f"keyword arguments {shown} (declare "
                      "every other parameter in @model(params=...))",
                      f"{found} (undeclared {', '.join(sorted(named - expected))})")
        return "seed and its declared params, view params withheld"

    def builds_its_view(self) -> str:
        views = self.views()
        return f"{self.spec.view!r} for " + ", ".join(
            f"{part} ({len(views[part].frames)} frames)" for part in PARTITIONS)

    def fit_returns_itself(self) -> str:
        fit = self.fitted(self.seed)
        if fit.returned is not fit.estimator:
            self.fail("fit", "fit to return the estimator itself",
                      type(fit.returned).__name__)
        return "fit(train, dev, on_epoch) returns the estimator"

    def keeps_a_history(self) -> str:
        fit = self.fitted(self.seed)
        if not hasattr(fit.estimator, "history"):
            self.fail("the fitted estimator", "a 'history' attribute (None for a model that "
                      "does not train in epochs)", f"none on {type(fit.estimator).__name__}")
        history = fit.estimator.history
        if history is None:
            return "history is None"
        for attribute in ("epochs", "device"):
            if not hasattr(history, attribute):
                self.fail("its history", "epochs (a list of per-epoch dev scores) and device",
                          f"{type(history).__name__} without {attribute!r}")
        if len(fit.reported) != len(history.epochs):
            self.fail("on_epoch", f"one call per epoch in history.epochs "
                      f"({len(history.epochs)})", f"{len(fit.reported)} call(s)")
        return f"history is {len(history.epochs)} epoch(s), each reported to on_epoch"

    def predicts_every_frame(self) -> str:
        views = self.views()
        for partition in PARTITIONS:
            predicted = self.predicted(self.seed, 0, partition)
            expected = (len(views[partition].frames), 2)
            if predicted.shape != expected:
                self.fail(f"predict on {partition}", f"shape {expected} (valence, arousal for "
                          "every frame)", f"shape {predicted.shape}")
            bad = ~np.isfinite(predicted)
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                self.fail(f"predict on {partition}", "finite numbers",
                          f"{int(bad.sum())} NaN or infinite value(s), the first in frame {row}")
        return "a finite (n_frames, 2) array for every frame of " + ", ".join(
            f"{part} ({len(views[part].frames)})" for part in PARTITIONS)

    def same_seed_same_predictions(self) -> str:
        self._same(lambda: self.predicted(self.seed, 1, "test"), f"two fits with seed {self.seed}",
                   "the same test predictions")
        return f"two fits with seed {self.seed} predict the same numbers"

    def seed_free_predictions(self) -> str:
        other = self.seed + 1
        self._same(lambda: self.predicted(other, 0, "test"),
                   f"fits with seeds {self.seed} and {other}",
                   "the same test predictions (it is declared seed-free, seeded=False)")
        return f"fits with seeds {self.seed} and {other} predict the same numbers (seed-free)"

    def _same(self, again: Callable[[], np.ndarray], what: str, wanted: str) -> None:
        """The first fit's test predictions (needed first: its failures are other checks')
        against ``again``'s."""
        expected = self.predicted(self.seed, 0, "test")
        found = again()
        if found.shape != expected.shape:
            self.fail(what, wanted, f"predictions of shapes {expected.shape} and {found.shape}")
        if not np.array_equal(found, expected, equal_nan=True):
            gap = float(np.nanmax(np.abs(found - expected)))
            self.fail(what, wanted, f"predictions that differ by up to {gap:.3g}")


def _overrides(params: dict) -> str:
    return "" if not params else " with " + ", ".join(f"{k}={v!r}" for k, v in params.items())


def _describe(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
