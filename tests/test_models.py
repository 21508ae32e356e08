import subprocess
import sys

import numpy as np
import pytest

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.models import MODELS, Param, model
from emorec.models.base import DeclarationError
from emorec.registry import Registry, UnknownNameError


def test_unknown_model_lists_known_names_and_suggests():
    with pytest.raises(UnknownNameError) as error:
        MODELS.get("bayesian_rige")
    message = str(error.value)
    assert "did you mean 'bayesian_ridge'?" in message
    assert "known: audio_ffnn, bayesian_ridge, chance" in message
    assert isinstance(error.value, EmorecError)


def test_registry_view_is_read_only_and_names_are_unique():
    with pytest.raises(TypeError):
        MODELS.view()["x"] = None
    registry = Registry("thing")
    registry.add("a", 1)
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("a", 2)


def test_unknown_parameter_is_refused():
    with pytest.raises(EmorecError, match=r"model 'ffnn' has no parameter\(s\) hiden"):
        MODELS.get("ffnn").params({"hiden": 3})


def test_metadata_is_data():
    spec = MODELS.get("audio_ffnn")
    assert (spec.family, spec.modality, spec.view) == ("audio", "audio", "audio_window")
    assert spec.grid["window"] == [1.0, 2.0, 3.0, 4.0]
    assert "hidden" in spec.tunable and spec.description
    assert spec.declared["hidden"].tune == (32, 512)


def test_listing_the_models_imports_no_torch():
    """The zoo's declarations import their nets only when a factory is called."""
    listed = subprocess.run(
        [sys.executable, "-c", "import sys; from emorec.cli import main; main(['models']); "
                               "print('torch imported:', 'torch' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert "seq_video" in listed.stdout and "torch imported: False" in listed.stdout


@pytest.mark.parametrize("declaration, problem", [
    ({"view": "frames"}, "view= must be one of audio_window, "),
    ({"view": "video_window"}, "it reads a video_window view and must declare a 'window' param"),
    ({"columns": ("pooling",)}, "columns= names undeclared params pooling (it declares: depth)"),
    ({"columns": "depth"}, "columns= must be a tuple of param names, not 'depth'"),
    ({"offline_when": (("direction", "bidirectional"),)},
     "offline_when= names undeclared params direction"),
    ({"offline_when": {"depth": 3}}, "offline_when= must be a tuple of (param, value) pairs"),
    ({"offline_when": (("depth", "deep"),)},
     "offline_when= gives depth a value it never takes: parameter depth must be"),
    ({"grid": {"width": [1, 2]}}, "grid= names undeclared params width"),
])
def test_a_wrong_declaration_is_one_error_naming_the_model_and_its_file(declaration, problem):
    def scratch_factory(seed: int, depth: int):
        """A model declared wrongly."""

    keywords = {"family": "classic", "modality": "video", "view": "frame",
                "params": {"depth": Param("int", 2, low=1)}, **declaration}
    with pytest.raises(DeclarationError) as refused:
        model("scratch_declared", **keywords)(scratch_factory)
    assert isinstance(refused.value, EmorecError)
    assert str(refused.value).startswith(f"model 'scratch_declared' ({__file__}:")
    assert problem in str(refused.value)
    assert "scratch_declared" not in MODELS


def test_what_a_row_shows_is_declared_with_the_model():
    assert MODELS.get("gru").columns == ("window", "pooling")   # default: window and pooling
    assert MODELS.get("ffnn").columns == ()
    assert MODELS.get("seq_video").offline_when == (("direction", "bidirectional"),)
    assert MODELS.get("gru").thesis_names == ("gru_avg", "gru_max", "gru_conv1d")


def test_params_are_checked_and_normalised_in_one_place():
    gru = MODELS.get("gru")
    # 2 and 2.0 are one cell: numbers take the declared kind
    assert gru.params({"window": 2}) == gru.params({"window": 2.0})
    assert gru.params({"window": 2})["window"] == 2.0 and gru.params({"epochs": 3.0})["epochs"] == 3
    for bad, message in [({"pooling": "mean"}, "pooling must be one of avg, max, conv1d"),
                         ({"epochs": 0}, r"epochs must be a whole number >= 1, found 0"),
                         ({"epochs": 2.5}, "epochs must be a whole number"),
                         ({"epochs": True}, "epochs must be a whole number"),
                         ({"learning_rate": 0}, r"learning_rate must be a number > 0"),
                         ({"window": "2"}, "window must be a number"),
                         ({"device": "gpu"}, "device must be text matching"),
                         ({"epoch_samples": -1}, r"epoch_samples must be a whole number >= 1 "
                                                 "or null")]:
        with pytest.raises(EmorecError, match=rf"model 'gru': parameter {message}"):
            gru.params(bad)
    assert gru.params({"epoch_samples": None})["epoch_samples"] is None
    assert MODELS.get("decision_tree").params({"max_depth": None}) == {"max_depth": None}
    assert gru.changed(gru.params({"window": 2, "pooling": "avg"})) == {"window": 2.0}


def fit_predict(dataset, name, seed=0, **overrides):
    spec = MODELS.get(name)
    params = spec.params({"epochs": 3, **overrides} if "epochs" in spec.defaults else overrides)
    estimator = spec.build(params, seed)
    estimator.fit(spec.build_view(dataset, params, "train"),
                  spec.build_view(dataset, params, "dev"))
    test = spec.build_view(dataset, params, "test")
    return test, estimator.predict(test)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_predicts_every_test_frame(tiny_sewa, name):
    test, prediction = fit_predict(tiny_sewa, name)
    assert prediction.shape == (len(test.frames), 2)
    assert np.all(np.isfinite(prediction))


@pytest.mark.parametrize("name", ["ffnn", "audio_ffnn", "decision_tree", "svr_nystroem"])
def test_same_seed_same_predictions(tiny_sewa, name):
    _, first = fit_predict(tiny_sewa, name, seed=5)
    _, second = fit_predict(tiny_sewa, name, seed=5)
    assert np.array_equal(first, second)


def test_nets_stay_in_the_label_range_and_restore_the_best_epoch(tiny_sewa):
    spec = MODELS.get("ffnn")
    params = spec.params({"epochs": 8, "patience": 2})
    estimator = spec.build(params, 0).fit(spec.build_view(tiny_sewa, params, "train"),
                                          spec.build_view(tiny_sewa, params, "dev"))
    history = estimator.history
    assert history.best_epoch == int(np.argmin(history.dev_rmse))
    dev = spec.build_view(tiny_sewa, params, "dev")
    restored = np.sqrt(np.mean((estimator.predict(dev) - dev.frames.labels) ** 2, axis=0)).mean()
    assert restored == pytest.approx(min(history.dev_rmse), rel=1e-5)
    assert np.abs(estimator.predict(dev)).max() <= 1


def test_oracle_refuses_real_data(tiny_sewa):
    real = Dataset.create(tiny_sewa.manifest.__class__(**{
        **tiny_sewa.manifest.__dict__, "origin": "real", "fingerprint": ""}),
        tiny_sewa.video.drop(columns=["valence_oracle", "arousal_oracle"]), tiny_sewa.audio)
    with pytest.raises(EmorecError, match="needs a stand-in"):
        fit_predict(real, "oracle")
