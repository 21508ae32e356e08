"""Sequence models and the window models' training target."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from emorec.data import views
from emorec.evaluation import evaluate_cell
from emorec.models import MODELS, losses, training
from emorec.models.inputs import training_labels
from emorec.models.net_params import TRAINING_TARGETS
from emorec.models.seq import segments, whole_sessions


def test_segments_cover_every_frame_and_pad_only_short_sessions():
    sessions = np.array(["a"] * 5 + ["b"] * 12 + ["c"] * 3)
    rows = segments(sessions, length=4, hop=3)
    assert set(rows[rows >= 0]) == set(range(20))
    for row in rows:   # a segment never crosses a session border
        assert len(set(sessions[row[row >= 0]])) == 1
    assert (rows[:, :3] >= 0).all()
    assert (rows == -1).sum() == 1   # only session c (3 frames) is shorter than a segment
    assert list(rows[-1]) == [17, 18, 19, -1]
    assert list(rows[rows[:, 0] >= 5][:, 0][:4]) == [5, 8, 11, 13]   # the last one ends at the end


def test_whole_sessions_put_every_frame_back_in_order():
    sessions = np.array(["x"] * 2 + ["y"] * 4 + ["z"])
    rows, frames = whole_sessions(sessions)
    assert rows.shape == (3, 4)
    assert list(rows.reshape(-1)[frames]) == list(range(7))


def test_ccc_loss_is_zero_for_a_perfect_fit_and_skips_padding():
    target = torch.tensor([[[0.1, 0.2], [0.3, -0.1], [float("nan"), float("nan")]]])
    prediction = torch.tensor([[[0.1, 0.2], [0.3, -0.1], [9.0, 9.0]]])
    assert float(losses.ccc_loss(prediction, target)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.rmse_loss(prediction, target)) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("name", ["seq_video", "seq_audio", "seq_fusion"])
def test_a_sequence_model_is_scored_on_the_frames_every_model_is(tiny_sewa, name):
    spec = MODELS.get(name)
    result = evaluate_cell(tiny_sewa, spec, spec.params({"epochs": 2}), 0)
    frames = views.frame_view(tiny_sewa, "test").frames
    test = result.predictions["test"]
    assert list(test["session"]) == list(frames.session)
    assert np.array_equal(test["timestamp"], frames.timestamp)
    predicted = test[["valence_pred", "arousal_pred"]].to_numpy()
    assert np.isfinite(predicted).all() and np.abs(predicted).max() <= 1
    assert len(result.epochs) >= 1 and "dev_mean_ccc" in result.epochs[0]


def test_causal_sees_only_the_past_and_bidirectional_the_whole_session(tiny_sewa):
    spec = MODELS.get("seq_video")
    for direction, future_matters in (("causal", False), ("bidirectional", True)):
        params = spec.params({"epochs": 1, "direction": direction})
        train, dev, test = (spec.build_view(tiny_sewa, params, p) for p in
                            ("train", "dev", "test"))
        model = spec.build(params, 0).fit(train, dev)
        first = test.frames.session == test.frames.session[0]
        cut = int(first.sum()) // 2
        changed = test.features.copy()
        changed[cut:int(first.sum())] = -changed[cut:int(first.sum())]   # the session's future
        before = model.predict(test)[:cut]
        after = model.predict(replace(test, features=changed))[:cut]
        assert (not np.allclose(before, after)) == future_matters, direction


def test_a_sequence_run_is_reproducible(tiny_sewa):
    spec = MODELS.get("seq_video")
    params = spec.params({"epochs": 2})
    first, second = (evaluate_cell(tiny_sewa, spec, params, 3).predictions for _ in range(2))
    for partition in ("dev", "test"):
        assert first[partition].equals(second[partition])


def test_window_mean_target_is_the_mean_label_of_the_frames_in_the_window(tiny_sewa):
    view = views.video_window_view(tiny_sewa, "train", 2.0)
    labels = tiny_sewa.video[["valence", "arousal"]].to_numpy()
    expected = np.stack([labels[row[row >= 0]].mean(axis=0) for row in view.rows[:50]])
    assert np.allclose(training_labels(view, "window_mean")[:50], expected)
    assert training_labels(view, "frame") is view.frames.labels
    fused = views.fused_view(tiny_sewa, "train", 2.0)
    assert np.allclose(training_labels(fused, "window_mean"),
                       training_labels(view, "window_mean"))


def test_the_target_changes_what_a_window_model_learns_not_what_it_is_scored_on(tiny_sewa):
    spec = MODELS.get("gru")
    results = {target: evaluate_cell(tiny_sewa, spec, spec.params(
        {"epochs": 2, "window": 2.0, "target": target}), 0) for target in TRAINING_TARGETS}
    frame, mean = results["frame"], results["window_mean"]
    assert frame.predictions["test"][["valence", "arousal"]].equals(
        mean.predictions["test"][["valence", "arousal"]])
    assert not frame.predictions["test"].equals(mean.predictions["test"])


def test_segment_ccc_scores_each_segment_on_its_own_frames():
    nan = float("nan")
    target = torch.tensor([[[0.1, 0.2], [0.3, -0.1], [nan, nan]],
                           [[0.5, 0.4], [0.7, 0.0], [0.6, 0.1]]])
    assert float(losses.segment_ccc_loss(target.nan_to_num(9.0), target)) == pytest.approx(
        0.0, abs=1e-6)
    # Each segment predicted by its own mean: every segment's CCC is 0, whatever the pooled
    # CCC over the batch (which rewards the level difference between the segments).
    means = torch.stack([target[0, :2].mean(0), target[1].mean(0)])[:, None].expand(-1, 3, -1)
    assert float(losses.segment_ccc_loss(means, target)) == pytest.approx(1.0, abs=1e-6)
    assert float(losses.ccc_loss(means, target)) < 0.5


def _scripted_epochs(monkeypatch, ccc: list[float], rmse: list[float]) -> None:
    """The loop's dev scores, epoch after epoch, as given."""
    scores = iter(zip(ccc, rmse, strict=True))

    def dev_scores(labels, predicted, targets):
        c, r = next(scores)
        return {"dev_mean_ccc": c, "dev_mean_rmse": r}

    monkeypatch.setattr(training, "_dev_scores", dev_scores)


@pytest.mark.parametrize(("stop_on", "best"), [("dev_ccc", 1), ("dev_rmse", 2)])
def test_the_monitored_dev_score_picks_the_epoch(tiny_sewa, monkeypatch, stop_on, best):
    _scripted_epochs(monkeypatch, ccc=[0.1, 0.5, 0.3, 0.2], rmse=[0.5, 0.6, 0.4, 0.7])
    spec = MODELS.get("ffnn")
    params = spec.params({"epochs": 4, "patience": 4, "stop_on": stop_on})
    train, dev = (spec.build_view(tiny_sewa, params, p) for p in ("train", "dev"))
    assert spec.build(params, 0).fit(train, dev).history.best_epoch == best


def test_a_plateau_halves_the_learning_rate_and_patience_still_stops(tiny_sewa, monkeypatch):
    _scripted_epochs(monkeypatch, ccc=[0.5] * 6, rmse=[0.3] * 6)   # never better
    spec = MODELS.get("seq_video")
    params = spec.params({"epochs": 6, "patience": 5, "plateau_patience": 1,
                          "learning_rate": 1e-3, "targets": "joint"})
    train, dev = (spec.build_view(tiny_sewa, params, p) for p in ("train", "dev"))
    history = spec.build(params, 0).fit(train, dev).history
    rates = [epoch["learning_rate"] for epoch in history.epochs]
    # Epoch 0 sets the best; after 2 epochs without a better one (more than plateau_patience)
    # the rate halves, and again 2 epochs later; patience 5 stops after epoch 5.
    assert rates == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])
    assert len(history.epochs) == 6 and history.best_epoch == 0


def test_the_sequence_default_is_the_challenge_recipe():
    defaults = MODELS.get("seq_video").defaults
    assert (defaults["targets"], defaults["loss"], defaults["stop_on"], defaults["schedule"]) == (
        "separate", "segment_ccc", "dev_ccc", "plateau")


@pytest.mark.parametrize("targets", ["separate", "joint"])
def test_one_net_per_target_learns_each_target_from_its_own_labels_alone(tiny_sewa, targets):
    """With a net per target, the valence predictions are bit for bit the same whatever the
    arousal labels are; one joint net's are not."""
    spec = MODELS.get("seq_video")
    params = spec.params({"epochs": 3, "patience": 3, "targets": targets})

    def valence(arousal_sign: float) -> np.ndarray:
        views = {p: spec.build_view(tiny_sewa, params, p) for p in ("train", "dev", "test")}
        for view in (views["train"], views["dev"]):
            view.frames.labels[:, 1] *= arousal_sign
        fitted = spec.build(params, 0).fit(views["train"], views["dev"])
        if targets == "separate":
            assert [columns for columns, _ in fitted.nets] == [(0,), (1,)]
            assert {"dev_valence_ccc", "dev_arousal_ccc", "dev_mean_ccc",
                    "train_loss_valence"} <= set(fitted.history.epochs[0])
        return fitted.predict(views["test"])[:, 0]

    same = np.array_equal(valence(1.0), valence(-1.0))
    assert same == (targets == "separate")
