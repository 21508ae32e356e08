"""The nets: the shared training loop, GRU window models, the six fusion models."""

import numpy as np
import pytest
import torch
from helpers import ROOT

from emorec.models import MODELS, nets, training
from emorec.models.gru import GRUWindowNet, valid_first
from emorec.models.inputs import VIEWS, Gather, fit_standardisation, input_dims
from emorec.sweep.suites import load_suite

NETS = sorted(name for name, spec in MODELS.view().items()
              if spec.family in ("ffnn", "audio", "video", "fusion"))
WINDOW_NETS = sorted(name for name, spec in MODELS.view().items()
                     if spec.view in ("video_window", "fused"))
FUSION = sorted(name for name, spec in MODELS.view().items() if spec.family == "fusion")
# Every window net, and the GRU with each pooling.
VARIANTS = [(name, {}) for name in WINDOW_NETS if name != "gru"] + [
    ("gru", {"pooling": pooling}) for pooling in ("avg", "max", "conv1d")]


def fitted(dataset, name, seed=0, **overrides):
    spec = MODELS.get(name)
    params = spec.params({"epochs": 3, "epoch_samples": None, **overrides})
    views = {p: spec.build_view(dataset, params, p) for p in ("train", "dev", "test")}
    return spec.build(params, seed).fit(views["train"], views["dev"]), views


def test_the_thesis_model_list_is_registered():
    assert set(FUSION) == {"fusion1", "fusion2", "fusion3", "fusion4_v1", "fusion4_v2",
                           "fusion4_v3"}
    gru = MODELS.get("gru")
    assert gru.grid == {"window": [1.0, 2.0, 3.0, 4.0], "pooling": ["avg", "max", "conv1d"]}
    for name in FUSION:
        assert MODELS.get(name).grid == {"window": [1.0, 2.0, 3.0, 4.0]}
        assert MODELS.get(name).view == "fused"


@pytest.mark.parametrize("name", NETS)
def test_each_net_trains_and_its_loss_falls(tiny_sewa, name):
    estimator, _ = fitted(tiny_sewa, name, epochs=6, patience=6)
    losses = [epoch["train_loss"] for epoch in estimator.history.epochs]
    assert len(losses) == 6
    assert losses[-1] < losses[0]
    for epoch in estimator.history.epochs:
        assert {"dev_valence_rmse", "dev_arousal_ccc", "dev_mean_ccc"} <= set(epoch)


@pytest.mark.parametrize("window, slots", [(1.0, 5), (2.0, 10), (3.0, 15), (4.0, 20)])
@pytest.mark.parametrize("name, extra", VARIANTS)
def test_shapes_for_every_window_length(tiny_sewa, name, extra, window, slots):
    spec = MODELS.get(name)
    params = spec.params({"window": window, **extra})
    view = spec.build_view(tiny_sewa, params, "dev")
    inputs = _inputs(spec, view)
    video = inputs[0]
    assert video.rows.shape == (len(view.frames), slots)
    if spec.view == "fused":
        audio_slots = inputs[2].rows.shape[1]
        assert 1 <= audio_slots <= slots and inputs[3].any(axis=1).mean() > 0.5
    net = _net(spec, params, view).eval()
    rows = np.arange(len(view.frames))
    out = net(*_tensors(inputs, rows))
    assert out.shape == (len(rows), 2)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name, extra", VARIANTS)
def test_masked_slots_have_no_effect_on_the_output(tiny_sewa, name, extra):
    spec = MODELS.get(name)
    params = spec.params({"window": 2.0, **extra})
    view = spec.build_view(tiny_sewa, params, "test")
    inputs = _inputs(spec, view)
    net = _net(spec, params, view).eval()
    rows = np.arange(len(view.frames))
    clean = _tensors(inputs, rows)
    masks = [x for x in clean if x.dtype == torch.bool]
    assert any((~m).any() for m in masks), "the test needs windows with masked slots"
    noisy = []
    generator = torch.Generator().manual_seed(0)
    for index, x in enumerate(clean):
        if x.dtype.is_floating_point and index + 1 < len(clean) \
                and clean[index + 1].dtype == torch.bool:
            garbage = 50 * torch.randn(x.shape, generator=generator)
            x = torch.where(clean[index + 1].unsqueeze(-1), x, garbage)
        noisy.append(x)
    with torch.no_grad():
        assert torch.allclose(net(*clean), net(*noisy), atol=1e-5)


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("name, extra", VARIANTS)
def test_extra_masked_slots_change_nothing(tiny_sewa, name, extra, mode):
    """The same windows with masked slots of garbage added in front (more video slots and, for
    fusion, more audio slots) give the same output: masks reach attention and pooling."""
    spec = MODELS.get(name)
    params = spec.params({"window": 2.0, **extra})
    view = spec.build_view(tiny_sewa, params, "test")
    inputs = _tensors(_inputs(spec, view),
                      np.arange(len(view.frames)))
    net = _net(spec, {**params, "dropout": 0.0}, view)
    net.train(mode == "train")
    generator = torch.Generator().manual_seed(1)
    padded = []
    for index in range(0, len(inputs), 2):
        x, mask = inputs[index], inputs[index + 1]
        extra_slots = 3 + index   # 3 more video slots, 5 more audio slots
        garbage = 50 * torch.randn((len(x), extra_slots, x.shape[-1]), generator=generator)
        padded += [torch.cat([garbage, x], dim=1),
                   torch.cat([torch.zeros(len(x), extra_slots, dtype=torch.bool), mask], dim=1)]
    with torch.no_grad():
        assert torch.allclose(net(*inputs), net(*padded), atol=1e-5)


@pytest.mark.parametrize("pooling", ["avg", "max", "conv1d"])
def test_gru_padding_equals_the_shorter_window(pooling):
    torch.manual_seed(0)
    net = GRUWindowNet(inputs=4, hidden=8, dropout=0.0, pooling=pooling, kernel=3).eval()
    steps = torch.randn(3, 5, 4)
    short = net(steps, torch.ones(3, 5, dtype=torch.bool))
    padded = torch.cat([torch.randn(3, 5, 4), steps], dim=1)    # 5 masked slots in front
    mask = torch.cat([torch.zeros(3, 5, dtype=torch.bool), torch.ones(3, 5, dtype=torch.bool)],
                     dim=1)
    gap = torch.stack([steps[:, 0], torch.randn(3, 4), steps[:, 1], steps[:, 2], steps[:, 3],
                       torch.randn(3, 4), steps[:, 4]], dim=1)     # gaps inside the window
    gap_mask = torch.tensor([True, False, True, True, True, False, True]).repeat(3, 1)
    with torch.no_grad():
        assert torch.allclose(short, net(padded, mask), atol=1e-6)
        assert torch.allclose(short, net(gap, gap_mask), atol=1e-6)


def test_valid_first_keeps_order_and_moves_the_rest_back():
    x = torch.arange(12, dtype=torch.float32).reshape(2, 6, 1)
    mask = torch.tensor([[False, True, False, True, True, False],
                         [True, True, True, True, True, True]])
    moved, new_mask = valid_first(x, mask)
    assert moved[..., 0].tolist() == [[1, 3, 4, 0, 2, 5], [6, 7, 8, 9, 10, 11]]
    assert new_mask.tolist() == [[True, True, True, False, False, False], [True] * 6]


def test_conv1d_pooling_predicts_inside_the_label_range(tiny_sewa):
    estimator, views = fitted(tiny_sewa, "gru", pooling="conv1d", window=2.0)
    prediction = estimator.predict(views["test"])
    assert np.abs(prediction).max() <= 1
    mae = np.abs(prediction - views["test"].frames.labels).mean()
    assert mae < 0.5, "Conv1D pooling must not fall to the thesis's MAE near 1.0"


@pytest.mark.parametrize("name", ["gru", "fusion2", "fusion4_v3"])
def test_same_seed_same_predictions(tiny_sewa, name):
    first, views = fitted(tiny_sewa, name, seed=3)
    second, _ = fitted(tiny_sewa, name, seed=3)
    other, _ = fitted(tiny_sewa, name, seed=4)
    assert np.array_equal(first.predict(views["test"]), second.predict(views["test"]))
    assert not np.array_equal(first.predict(views["test"]), other.predict(views["test"]))


@pytest.mark.parametrize("name", NETS)
def test_saved_and_reloaded_net_predicts_the_same(tiny_sewa, tmp_path, name):
    estimator, views = fitted(tiny_sewa, name, epochs=2)
    estimator.save(tmp_path / "net.pt")
    loaded = nets.load(tmp_path / "net.pt")
    assert np.array_equal(estimator.predict(views["test"]), loaded.predict(views["test"]))


def test_best_epoch_is_restored_for_window_nets(tiny_sewa):
    estimator, views = fitted(tiny_sewa, "fusion1", epochs=8, patience=3, dev_stride=1)
    history = estimator.history
    assert history.best_epoch == int(np.argmin(history.dev_rmse))
    labels = views["dev"].frames.labels
    rmse = np.sqrt(np.mean((estimator.predict(views["dev"]) - labels) ** 2, axis=0)).mean()
    assert rmse == pytest.approx(min(history.dev_rmse), rel=1e-5)


def test_epoch_samples_bounds_each_epoch(tiny_sewa):
    few, views = fitted(tiny_sewa, "gru", epochs=2, patience=2, epoch_samples=64, batch_size=32)
    assert few.history.steps == 2 * 2
    every, _ = fitted(tiny_sewa, "gru", epochs=2, patience=2, batch_size=32)
    assert every.history.steps == 2 * int(np.ceil(len(views["train"].frames) / 32))


@pytest.mark.parametrize("suite, per_seed", [("sewa", 49), ("afew_va", 17)])
def test_thesis_suites_hold_every_experiment(suite, per_seed):
    loaded = load_suite(ROOT / f"benchmarks/{suite}.toml")
    thesis = [e for e in loaded.experiments
              if e.model not in ("chance", "session_mean", "oracle", "svr_nystroem")
              and not e.model.startswith("seq_")]
    assert len(thesis) == per_seed
    assert loaded.seeds == (0, 1, 2, 3, 4)
    assert len({(e.model, tuple(sorted(e.params.items()))) for e in thesis}) == per_seed


def test_bad_training_settings_and_divergence_are_clear_errors(tiny_sewa):
    from emorec.errors import EmorecError

    for bad in ({"epochs": 0}, {"epoch_samples": 0}, {"patience": 0}, {"learning_rate": 0}):
        with pytest.raises(EmorecError, match=f"model 'ffnn': parameter {next(iter(bad))} "
                                              "must be"):
            fitted(tiny_sewa, "ffnn", **bad)
    spec = MODELS.get("ffnn")
    params = spec.params({"epochs": 2})
    train, dev = (spec.build_view(tiny_sewa, params, p) for p in ("train", "dev"))
    estimator = spec.build(params, 0)
    labels = train.frames.labels.copy()
    labels[3, 0] = np.nan
    broken = type(train.frames)(**{**train.frames.__dict__, "labels": labels})
    with pytest.raises(EmorecError, match="training diverged in epoch 0"):
        estimator.fit(type(train)(broken, train.features), dev)


def _net(spec, params, view):
    estimator = spec.build(params, 0)
    return estimator.make_net(input_dims(VIEWS[spec.view], view), **estimator.net_params)


def _inputs(spec, view) -> tuple:
    kind = VIEWS[spec.view]
    return kind.net_inputs(view, fit_standardisation(kind, view))


def _tensors(inputs, rows):
    out = []
    for x in inputs:
        if isinstance(x, Gather):
            out.append(torch.as_tensor(x.source)[torch.as_tensor(x.rows[rows])])
        else:
            out.append(torch.as_tensor(x[rows]))
    return out


def test_dev_stride_scores_every_other_dev_frame_and_reports_all(tiny_sewa, monkeypatch):
    scored = []
    original = training._dev_scores
    monkeypatch.setattr(training, "_dev_scores",
                        lambda labels, predicted, targets: scored.append(len(labels)) or
                        original(labels, predicted, targets))
    estimator, views = fitted(tiny_sewa, "gru", epochs=2, patience=2, dev_stride=2)
    dev_frames = len(views["dev"].frames)
    assert scored == [(dev_frames + 1) // 2] * 2
    assert len(estimator.predict(views["dev"])) == dev_frames
