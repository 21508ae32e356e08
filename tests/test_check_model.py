"""The model checks: built-in models pass each, one pytest item per check; a broken plugin-like
model fails each check it breaks, naming the model and what was expected and found, and a
failure marked expected is xfailed."""

import re
import textwrap

import numpy as np
import pytest

from emorec.cli import main
from emorec.errors import EmorecError
from emorec.models import MODELS, Param, model
from emorec.models.check import (
    CHECKS,
    ModelChecksFailed,
    check_model,
    model_checks,
    parametrize_checks,
)
from emorec.models.reference import TrainingMean

pytest_plugins = ["pytester"]


@pytest.fixture
def register():
    """Register test models with @model; they leave the registry when the test ends."""
    added = []

    def add(name, **metadata):
        def decorate(factory):
            model(name, **metadata)(factory)
            added.append(name)
            return factory
        return decorate

    yield add
    for name in added:
        MODELS._items.pop(name)


@parametrize_checks(["bayesian_ridge", "chance", "oracle",
                     ("svr", {"max_train_frames": 200, "max_dev_frames": 100}),
                     ("ffnn", {"epochs": 1, "hidden": 8})])
def test_built_in_models_pass(check):
    assert check()   # what it checked; a failure raises ModelCheckError


def test_each_check_is_named_model_check_and_only_a_seed_free_model_gets_the_seed_free_one():
    assert [check.id for check in model_checks("svr")] == [f"svr-{name}" for name in CHECKS]
    assert [check.name for check in model_checks("ffnn")] == list(CHECKS[:-1])


def outcomes(results) -> dict:
    return {result.check: result.outcome for result in results}


def test_a_tree_declared_seed_free_fails_its_predictions_depend_on_the_seed(register):
    """Why decision_tree stays seeded: its random_state permutes the features at each split,
    which breaks ties between equally good splits differently on the stand-in."""
    from sklearn.tree import DecisionTreeRegressor

    from emorec.models.classic import PerTarget

    @register("check_tree_seed_free", family="classic", modality="video", view="frame",
              seeded=False)
    def tree(seed: int):
        """A decision tree wrongly declared seed-free."""
        return PerTarget(lambda: DecisionTreeRegressor(random_state=seed))

    with pytest.raises(ModelChecksFailed, match=r"model 'check_tree_seed_free': fails 1 of 8 "
                                                r"checks:\n  FAILED   seed_free_predictions: "
                                                r"fits with seeds 0 and 1: expected the same "
                                                r"test predictions \(it is declared seed-free, "
                                                r"seeded=False\); found predictions that "
                                                r"differ"):
        check_model("check_tree_seed_free")


def test_the_command_line_checks_a_model(capsys):
    assert main(["-q", "models", "--check", "ffnn", "--param", "epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "model 'ffnn' passes" in out and "1 epoch(s), each reported to on_epoch" in out


class WrongShape(TrainingMean):
    def predict(self, view):
        return super().predict(view)[:, :1]


class NoSelf(TrainingMean):
    def fit(self, train, dev, on_epoch=None):
        super().fit(train, dev, on_epoch)


class WrongShapeNoSelf(WrongShape, NoSelf):
    pass


def test_the_command_line_names_every_failure_one_line_each_exit_2(register, capsys):
    @register("check_two_broken", family="classic", modality="none", view="frame")
    def two_broken(seed: int):
        """Predicts valence only, and its fit returns None."""
        return WrongShapeNoSelf()

    assert main(["-q", "models", "--check", "check_two_broken"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "emorec models --check: model 'check_two_broken': FAILED fit_returns_itself: fit: "
        "expected fit to return the estimator itself; found NoneType",
        "emorec models --check: model 'check_two_broken': FAILED predicts_every_frame: predict "
        "on train: expected shape (389, 2) (valence, arousal for every frame); found shape "
        "(389, 1)"]
    assert "fails 2 of emorec's 7 checks" in captured.out
    assert "ok       same_seed_same_predictions" in captured.out


def test_a_factory_that_names_a_view_param_fails(register):
    @register("check_takes_window", family="classic", modality="none", view="video_window",
              params={"window": Param("float", 1.0, above=0)})
    def takes_window(seed: int, window: float):
        """Wants the window the view already used."""
        return TrainingMean()

    with pytest.raises(ModelChecksFailed) as failed:
        check_model("check_takes_window")
    assert failed.value.results[1].line == (
        "factory takes_window: expected keyword arguments seed (view params such as window "
        "choose the input view and are withheld from the factory); found seed, window")
    assert outcomes(failed.value.results) == {
        "params_validate": "ok", "factory_takes_its_params": "FAILED", "builds_its_view": "ok",
        "fit_returns_itself": "FAILED", "keeps_a_history": "not run",
        "predicts_every_frame": "not run", "same_seed_same_predictions": "not run"}
    assert "missing 1 required positional argument: 'window'" in failed.value.results[3].line


def test_a_factory_missing_a_declared_param_fails(register):
    @register("check_forgets", family="classic", modality="none", view="frame",
              params={"alpha": Param("float", 1.0, above=0)})
    def forgets(seed: int):
        """Declares alpha but does not take it."""
        return TrainingMean()

    with pytest.raises(ModelChecksFailed, match=r"factory_takes_its_params: factory forgets: "
                                                r"expected keyword arguments alpha, seed; found "
                                                r"seed \(missing alpha\)"):
        check_model("check_forgets")


class NotFinite(TrainingMean):
    def predict(self, view):
        predicted = super().predict(view)
        predicted[3, 1] = np.nan
        return predicted


class Unseeded(TrainingMean):
    def predict(self, view):
        return super().predict(view) + np.random.default_rng().normal(size=(len(view.frames), 2))


@pytest.mark.parametrize("estimator, check, message", [
    (NotFinite, "predicts_every_frame", r"predict on train: expected finite numbers; found 1 NaN "
                                        r"or infinite value\(s\), the first in frame 3"),
    (Unseeded, "same_seed_same_predictions", r"two fits with seed 0: expected the same test "
                                             r"predictions; found predictions that differ by up to "
                                             r"[0-9.]+"),
    (NoSelf, "fit_returns_itself", r"fit: expected fit to return the estimator itself; found "
                                   r"NoneType"),
])
def test_a_broken_estimator_fails_only_the_check_it_breaks_here_marked_expected(
        register, estimator, check, message):
    @register("check_broken", family="classic", modality="none", view="frame")
    def broken(seed: int):
        """Broken on purpose."""
        return estimator()

    results = check_model("check_broken", expected_failed={check: "known"})
    assert outcomes(results) == {name: "xfail" if name == check else "ok" for name in CHECKS[:-1]}
    assert re.fullmatch(f"xfail    {check}: {message} \\(expected: known\\)",
                        str(results[CHECKS.index(check)]))


def test_a_fit_that_raises_fails_once_and_the_checks_that_need_it_are_not_run(register):
    class Raises(TrainingMean):
        def fit(self, train, dev, on_epoch=None):
            raise RuntimeError("out of memory\nmore lines")

    @register("check_raises", family="classic", modality="none", view="frame")
    def raises(seed: int):
        """Its fit raises."""
        return Raises()

    with pytest.raises(ModelChecksFailed) as failed:
        check_model("check_raises")
    results = {result.check: result for result in failed.value.results}
    assert str(results["fit_returns_itself"]) == (
        "FAILED   fit_returns_itself: fit: expected fit(train, dev, on_epoch=callback) to run; "
        "found RuntimeError: out of memory")
    assert [name for name, result in results.items() if result.outcome == "not run"] == [
        "keeps_a_history", "predicts_every_frame", "same_seed_same_predictions"]
    assert str(results["keeps_a_history"]) == ("not run  keeps_a_history: needs "
                                               "fit_returns_itself, which failed")


def test_an_expected_failure_that_is_not_a_check_is_refused():
    with pytest.raises(EmorecError, match=r"expected_failed: 'predicts' is not a check; "
                                          r"expected one of params_validate, .* for a model of "
                                          r"svr$"):
        parametrize_checks(["svr"], expected_failed={"predicts": "typo"})


PLUGIN_TESTS = '''
    """A plugin author's tests: each emorec check of their models a pytest item."""
    from emorec.models import model
    from emorec.models.check import parametrize_checks
    from emorec.models.reference import TrainingMean


    class WrongShapeNoSelf(TrainingMean):
        def fit(self, train, dev, on_epoch=None):
            super().fit(train, dev, on_epoch)   # returns None: known, marked below

        def predict(self, view):
            return super().predict(view)[:, :1]


    class Raises(TrainingMean):
        def fit(self, train, dev, on_epoch=None):
            raise RuntimeError("out of memory")


    @model("plugin_wrong_shape", family="classic", modality="none", view="frame")
    def wrong_shape(seed: int):
        """Predicts valence only; its fit returns None."""
        return WrongShapeNoSelf()


    @model("plugin_raises", family="classic", modality="none", view="frame")
    def raises(seed: int):
        """Its fit raises."""
        return Raises()


    @parametrize_checks(["plugin_wrong_shape", "plugin_raises"], expected_failed={
        "plugin_wrong_shape-fit_returns_itself": "returns None until 2.0"})
    def test_my_models(check):
        check()
'''


def test_a_plugin_author_gets_one_item_per_check_an_expected_failure_xfailed(pytester):
    pytester.makepyfile(test_plugin=textwrap.dedent(PLUGIN_TESTS))
    try:
        result = pytester.runpytest("-rfEsxX", "-p", "no:cacheprovider")
    finally:
        for name in ("plugin_wrong_shape", "plugin_raises"):
            MODELS._items.pop(name, None)
    result.assert_outcomes(passed=8, failed=2, xfailed=1, skipped=3)
    result.stdout.fnmatch_lines_random([
        "FAILED test_plugin.py::test_my_models[[]plugin_wrong_shape-predicts_every_frame[]]*",
        "E * emorec.models.check_stages.ModelCheckError: model 'plugin_wrong_shape': predict on "
        "train: expected shape (389, 2) (valence, arousal for every frame); found shape (389, 1)",
        "FAILED test_plugin.py::test_my_models[[]plugin_raises-fit_returns_itself[]]*",
        "E * model 'plugin_raises': fit: expected fit(train, dev, on_epoch=callback) to run; "
        "found RuntimeError: out of memory",
        "XFAIL test_plugin.py::test_my_models[[]plugin_wrong_shape-fit_returns_itself[]] - "
        "returns None until 2.0",
        "SKIPPED [[]3[]] *: model 'plugin_raises': needs fit_returns_itself, which failed"])
