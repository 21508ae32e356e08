"""check_model: built-in models pass; a broken plugin-like model fails naming the model and what
was expected and found."""

import numpy as np
import pytest

from emorec.cli import main
from emorec.models import MODELS, Param, model
from emorec.models.check import ModelCheckError, check_model
from emorec.models.reference import TrainingMean


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


@pytest.mark.parametrize("name, params", [("bayesian_ridge", {}), ("chance", {}),
                                          ("oracle", {}), ("svr", {}),
                                          ("ffnn", {"epochs": 1, "hidden": 8})])
def test_built_in_models_pass(name, params):
    done = check_model(name, params)
    assert any("predict: a finite (n_frames, 2) array" in line for line in done)
    assert any("same numbers" in line for line in done)
    seed_free = [line for line in done if line.endswith("(seed-free)")]
    assert seed_free == (["fits with seeds 0 and 1 predict the same numbers (seed-free)"]
                         if not MODELS.get(name).seeded else [])


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

    with pytest.raises(ModelCheckError, match=r"model 'check_tree_seed_free': fits with seeds 0 "
                                              r"and 1: expected the same test predictions \(it "
                                              r"is declared seed-free, seeded=False\); found "
                                              r"predictions that differ"):
        check_model("check_tree_seed_free")


def test_the_command_line_checks_a_model(capsys):
    assert main(["-q", "models", "--check", "ffnn", "--param", "epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "model 'ffnn' passes" in out and "1 epoch(s), each reported to on_epoch" in out


class WrongShape(TrainingMean):
    def predict(self, view):
        return super().predict(view)[:, :1]


def test_predictions_of_the_wrong_shape_fail_naming_the_model(register, capsys):
    @register("check_wrong_shape", family="classic", modality="none", view="frame")
    def wrong_shape(seed: int):
        """Predicts valence only."""
        return WrongShape()

    with pytest.raises(ModelCheckError, match=r"model 'check_wrong_shape': predict on train: "
                                              r"expected shape \(389, 2\) .*; found shape "
                                              r"\(389, 1\)"):
        check_model("check_wrong_shape")
    assert main(["-q", "models", "--check", "check_wrong_shape"]) == 1
    assert "FAILED: model 'check_wrong_shape': predict on train" in capsys.readouterr().err


def test_a_factory_that_names_a_view_param_fails(register):
    @register("check_takes_window", family="classic", modality="none", view="video_window",
              params={"window": Param("float", 1.0, above=0)})
    def takes_window(seed: int, window: float):
        """Wants the window the view already used."""
        return TrainingMean()

    with pytest.raises(ModelCheckError, match=r"model 'check_takes_window': factory "
                                              r"takes_window: expected keyword arguments seed "
                                              r"\(view params such as window .*withheld.*\); "
                                              r"found seed, window"):
        check_model("check_takes_window")


def test_a_factory_missing_a_declared_param_fails(register):
    @register("check_forgets", family="classic", modality="none", view="frame",
              params={"alpha": Param("float", 1.0, above=0)})
    def forgets(seed: int):
        """Declares alpha but does not take it."""
        return TrainingMean()

    with pytest.raises(ModelCheckError, match=r"expected keyword arguments alpha, seed; found "
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


class NoSelf(TrainingMean):
    def fit(self, train, dev, on_epoch=None):
        super().fit(train, dev, on_epoch)


@pytest.mark.parametrize("estimator, message", [
    (NotFinite, r"predict on train: expected finite numbers; found 1 NaN or infinite value\(s\), "
                r"the first in frame 3"),
    (Unseeded, r"two fits with seed 0: expected the same test predictions; found predictions "
               r"that differ"),
    (NoSelf, r"fit: expected fit to return the estimator itself; found NoneType"),
])
def test_broken_estimators_fail_naming_what_was_expected(register, estimator, message):
    @register("check_broken", family="classic", modality="none", view="frame")
    def broken(seed: int):
        """Broken on purpose."""
        return estimator()

    with pytest.raises(ModelCheckError, match=f"model 'check_broken': {message}"):
        check_model("check_broken")
