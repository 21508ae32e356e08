import filecmp

import numpy as np
import pytest
from sklearn.linear_model import BayesianRidge

from emorec import metrics
from emorec.data import synth, views
from emorec.data.dataset import Dataset
from emorec.errors import EmorecError


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = synth.generate("sewa", "tiny", seed=7).save(tmp_path / "a")
    second = synth.generate("sewa", "tiny", seed=7).save(tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == ["audio_1s.parquet", "audio_2s.parquet", "audio_3s.parquet",
                     "audio_4s.parquet", "manifest.json", "video.parquet"]
    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert mismatch == [] and errors == []
    other = synth.generate("sewa", "tiny", seed=8)
    assert other.manifest.fingerprint != Dataset.load(first).manifest.fingerprint


def test_sewa_stand_in_has_the_contract_shape(tiny_sewa):
    manifest = tiny_sewa.manifest
    assert manifest.origin == "stand-in" and manifest.is_stand_in
    assert manifest.name == "sewa-synth-tiny" and manifest.has_oracle
    assert (manifest.fps, manifest.embedding_dim, manifest.audio_dim) == (5.0, 256, 768)
    assert manifest.audio_windows == (1.0, 2.0, 3.0, 4.0)
    embeddings = views.video_matrix(tiny_sewa)
    assert embeddings.shape[1] == 256 and np.abs(embeddings).max() < 1
    for length, table in tiny_sewa.audio.items():
        assert np.allclose(table["end"] - table["start"], length)
        hops = table.groupby("session")["start"].diff().dropna()
        assert np.allclose(hops, length / 2)


@pytest.fixture(scope="module")
def full_sewa():
    return synth.generate("sewa", "full", seed=0)


def test_full_sizes_match_the_real_datasets(full_sewa):
    sewa = full_sewa
    assert sewa.name == "sewa-synth"
    per_session = sewa.video.groupby("session")["timestamp"].max()
    assert sewa.video["session"].nunique() == 64
    assert per_session.min() >= 96 and per_session.max() <= 177
    afew = synth.generate("afew-va", "full", seed=0)
    assert afew.video["session"].nunique() == 600
    assert 27_000 <= len(afew.video) <= 33_000
    assert afew.audio == {} and afew.manifest.label_scale == 10
    labels = afew.video[["valence", "arousal"]].to_numpy()
    assert np.allclose(labels * 10, np.round(labels * 10)), "AFEW-VA labels are integers / 10"
    assert labels.min() >= -1 and labels.max() <= 1


def test_faces_go_missing_in_bursts(full_sewa):
    steps = full_sewa.video.groupby("session")["timestamp"].diff().dropna()
    gaps = steps[steps > 0.2 + 1e-6]
    assert len(gaps) >= full_sewa.video["session"].nunique(), "about one burst per session"
    assert gaps.max() >= 1.0


def test_sewa_label_ranges_are_sewa_like(full_sewa):
    valence, arousal = full_sewa.video["valence"], full_sewa.video["arousal"]
    assert 0.15 < valence.median() < 0.4, "valence mode near 0.2-0.4"
    assert -0.6 < valence.min() and valence.max() < 0.9
    assert -0.6 < arousal.min() and arousal.max() < 1.0
    assert 0.1 < valence.std() < 0.25 and 0.1 < arousal.std() < 0.25


def _ridge(train_x, train_y, test_x):
    return np.stack([BayesianRidge().fit(train_x, train_y[:, j]).predict(test_x)
                     for j in range(2)], axis=1)


def test_oracle_beats_ridge_beats_chance_and_context_helps(full_sewa):
    train, test = views.frame_view(full_sewa, "train"), views.frame_view(full_sewa, "test")
    truth, sessions = test.frames.labels, test.frames.session

    def score(prediction):
        return metrics.regression_metrics(truth, prediction, sessions)

    chance = score(np.tile(train.frames.labels.mean(0), (len(truth), 1)))
    oracle = score(test.frames.oracle)
    frame = score(_ridge(train.features, train.frames.labels, test.features))
    pooled = {}
    for partition in ("train", "test"):
        window = views.video_window_view(full_sewa, partition, 4)
        pooled[partition] = window.array().sum(1) / window.mask.sum(1, keepdims=True)
    context = score(_ridge(pooled["train"], train.frames.labels, pooled["test"]))
    assert oracle["mean_rmse"] < frame["mean_rmse"] < chance["mean_rmse"]
    assert oracle["mean_ccc"] > 0.9
    assert frame["mean_ccc"] > 0.3
    # the ~2 s rater lag makes a 4 s window more useful than the frame alone
    assert context["mean_ccc"] > frame["mean_ccc"] + 0.05
    assert context["mean_rmse"] < frame["mean_rmse"]


def test_audio_carries_arousal_more_than_valence(full_sewa):
    train = views.audio_window_view(full_sewa, "train", 1)
    test = views.audio_window_view(full_sewa, "test", 1)
    prediction = _ridge(train.array()[train.mask], train.frames.labels[train.mask],
                        test.array()[test.mask])
    truth = test.frames.oracle[test.mask]
    valence_r = metrics.pearson(truth[:, 0], prediction[:, 0])
    arousal_r = metrics.pearson(truth[:, 1], prediction[:, 1])
    assert arousal_r > 0.2
    assert arousal_r > valence_r + 0.15


@pytest.mark.parametrize("kind,size", [("nope", "tiny"), ("sewa", "huge")])
def test_unknown_kind_or_size_is_refused(kind, size):
    with pytest.raises(ValueError, match="unknown"):
        synth.generate(kind, size)


def test_generator_factors_name_the_dataset_and_change_only_what_they_say():
    default = synth.generate("sewa", "tiny", seed=0)
    same = synth.generate("sewa", "tiny", seed=0, factors={"lag": 2.0, "missing_face": 1.5})
    assert same.name == default.name == "sewa-synth-tiny"   # the kind's own values
    assert same.manifest.fingerprint == default.manifest.fingerprint
    no_lag = synth.generate("sewa", "tiny", seed=0, factors={"lag": 0})
    assert no_lag.name == "sewa-synth-tiny-lag0"
    assert no_lag.manifest.fingerprint != default.manifest.fingerprint
    assert no_lag.manifest.source["factors"] == {"lag": 0.0}
    silent = synth.generate("sewa", "tiny", seed=0, factors={"audio_emotion": 0})
    assert silent.video.equals(default.video)
    assert not silent.audio[2.0].equals(default.audio[2.0])


@pytest.mark.parametrize("factors, message", [
    ({"lagg": 1}, "unknown stand-in factor 'lagg'"),
    ({"lag": 9}, r"lag must be a number in \[0, 4\]"),
    ({"rater_noise": "a lot"}, "rater_noise must be a number"),
])
def test_a_bad_factor_is_a_clear_error(factors, message):
    with pytest.raises(EmorecError, match=message):
        synth.generate("sewa", "tiny", seed=0, factors=factors)


def test_a_suite_sets_factors_and_runs_on_its_own_stand_in(tmp_path):
    from emorec.runner import resolve_dataset
    from emorec.suites import load_suite

    suite = tmp_path / "lag.toml"
    suite.write_text('[dataset]\nstand_in = { kind = "sewa", size = "tiny", set = { lag = 1 } }\n'
                     '[[experiments]]\nmodel = "chance"\n')
    folder = resolve_dataset(load_suite(suite), tmp_path / "data")
    assert folder.name == "sewa-synth-tiny-seed0-lag1"
    suite.write_text('[dataset]\nstand_in = { kind = "sewa", set = { lag = -1 } }\n'
                     '[[experiments]]\nmodel = "chance"\n')
    with pytest.raises(EmorecError, match=r"dataset.stand_in.set: stand-in factor lag"):
        load_suite(suite)
