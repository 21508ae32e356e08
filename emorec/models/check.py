"""What a model must do to run in emorec, as named checks on a tiny generated stand-in: the one
module to import them from.

As scikit-learn's ``parametrize_with_checks`` does for estimators, :func:`model_checks` yields
one named check per thing a model must do (:data:`CHECKS`, described in
:mod:`emorec.models.named_checks`), and :func:`parametrize_checks` makes each its own pytest
item (``my_model-predicts_every_frame``), known failures marked xfail::

    from emorec.models.check import parametrize_checks
    import my_model   # registers my_model with @model

    @parametrize_checks([("my_model", {"epochs": 1})],
                        expected_failed={"same_seed_same_predictions": "cuDNN kernels"})
    def test_my_model(check):
        check()

:func:`check_model` runs them all at once and reports every failure (``emorec models --plugin
my_model.py --check my_model --param epochs=1``).

The checks of one model share its fits (:mod:`emorec.models.check_stages`): each stage (the
views, a fit, its predictions) runs once, when a check first needs it. A check whose stage
failed under an earlier check is not run (:class:`CheckNotRun`; a pytest item made by
:func:`parametrize_checks` is skipped), so each broken thing fails one check. No model module
imports these modules, so they are no part of any model's code fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.models.check_stages import CheckNotRun, ModelCheckError, stand_in
from emorec.models.named_checks import CHECKS, Check, model_checks

__all__ = ["CHECKS", "Check", "CheckNotRun", "CheckResult", "ModelCheckError",
           "ModelChecksFailed", "check_model", "model_checks", "parametrize_checks", "stand_in"]


@dataclass(frozen=True)
class CheckResult:
    check: str
    outcome: str   # ok, FAILED, not run, xfail (failed as expected), xpass (passed, expected not)
    line: str      # what was checked, or what failed

    def __str__(self) -> str:
        return f"{self.outcome:<9}{self.check}: {self.line}"


class ModelChecksFailed(ModelCheckError):
    """:func:`check_model`'s report of every failed check; ``results`` holds every check's."""

    def __init__(self, model: str, results: list[CheckResult]):
        self.results = results
        failed = [result for result in results if result.outcome == "FAILED"]
        super().__init__(model, f"fails {len(failed)} of {len(results)} checks:\n"
                         + "\n".join(f"  {result}" for result in failed))


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
