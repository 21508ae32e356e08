"""emorec extract, slow tier: tiny random-weight models saved to a temporary folder and loaded
through the real loading code with the hub switched off, on generated media: dimensions,
windows, gaps, provenance and fingerprint, determinism, a rerun that does nothing, resume after
a kill (byte-identical), the other layouts, model errors; and the whole chain synth-media ->
extract -> bench benchmarks/media.toml -> leaderboard above the chance floor."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emorec.cli import main
from emorec.data.dataset import Dataset
from emorec.data.label_align import with_label_delay
from emorec.extract.voice_model import window_starts
from emorec.store.results import load

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                 reason="espeak-ng not installed (apt-get install espeak-ng)")]
ROOT = Path(__file__).parent.parent
EMOREC = [sys.executable, "-m", "emorec.cli"]


@pytest.fixture(autouse=True)
def hub_off(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from emorec.extract.build_models import build

    return build(tmp_path_factory.mktemp("models") / "tiny", "tiny", seed=0)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    from emorec.data.synth_media import MediaSpec, generate

    return generate(tmp_path_factory.mktemp("media") / "rec",
                    MediaSpec(sessions=4, duration_s=8.0), seed=1)


def extract_args(recordings, models, out, *extra) -> list[str]:
    return ["-q", "extract", str(recordings), "--layout", "sewa", "--out", str(out),
            "--face-model", str(models / "face"), "--audio-model", str(models / "voice"),
            "--windows", "1,2", "--jobs", "2", *map(str, extra)]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def extracted(recordings, models, tmp_path_factory):
    out = tmp_path_factory.mktemp("extracted") / "ds"
    os.environ["HF_HUB_OFFLINE"] = "1"
    assert main(extract_args(recordings, models, out)) == 0
    return out


def test_extracted_dataset_has_the_models_dims_windows_and_gaps(extracted, recordings, capsys):
    dataset = Dataset.load(extracted)
    manifest = dataset.manifest
    assert (manifest.name, manifest.origin) == ("media-synth", "stand-in")
    extraction = manifest.source["extraction"]
    assert manifest.embedding_dim == extraction["face"]["model"]["dim"] == 320
    assert manifest.audio_dim == extraction["audio"]["model"]["dim"] == 32
    assert extraction["face"]["model"]["sha256"]["model.safetensors"]
    assert set(extraction["libraries"]) >= {"av", "cv2", "transformers", "torch"}
    assert tuple(dataset.audio) == (1.0, 2.0)
    for _, table in dataset.audio[2.0].groupby("session"):
        assert table["start"].tolist() == pytest.approx(window_starts(8.0, 2.0).tolist())
        assert (table["end"] - table["start"]).tolist() == pytest.approx([2.0] * len(table))
    counts = manifest.source["counts"]
    assert counts["frames_sampled"] == 4 * 40
    assert len(dataset.video) == counts["frames_sampled"] - counts["frames_without_face"]
    absent = sum(1 for name in dataset.sessions for face in json.loads(
        (recordings / "truth" / f"{name}.json").read_text())["faces"]
        if face["box"] is None and round(face["time"] * 5, 6) % 1 == 0)
    assert counts["frames_without_face"] >= absent > 0
    assert np.isfinite(dataset.matrix("video")).all()
    assert dataset.labels_raw is not None and len(dataset.labels_raw) == 4 * 81
    assert main(["data", "info", str(extracted)]) == 0
    shown = capsys.readouterr().out
    assert "local:face (EfficientNetModel, 320-d)" in shown and "per-window pass" in shown


def test_same_media_same_features_and_a_rerun_does_nothing(extracted, recordings, models,
                                                           tmp_path, caplog):
    again = tmp_path / "again"
    assert main(extract_args(recordings, models, again)) == 0
    assert files_of(again) == files_of(extracted)
    stamp = (again / "video.parquet").stat().st_mtime_ns
    with caplog.at_level("INFO"):
        assert main(extract_args(recordings, models, again)[1:]) == 0
    assert "nothing to do" in caplog.text
    assert (again / "video.parquet").stat().st_mtime_ns == stamp


def test_fingerprint_follows_the_settings_and_a_derived_delay_matches_extraction(
        extracted, recordings, models, tmp_path):
    base = Dataset.load(extracted)
    fingerprints = {base.manifest.fingerprint}
    for extra in (["--label-delay", "1"], ["--audio-pass", "whole"], ["--margin", "0.3"]):
        out = tmp_path / extra[0].strip("-")
        assert main(extract_args(recordings, models, out, *extra)) == 0
        fingerprints.add(Dataset.load(out).manifest.fingerprint)
    assert len(fingerprints) == 4
    derived = with_label_delay(base, 1.0)
    direct = Dataset.load(tmp_path / "label-delay")
    assert derived.name == "media-synth-delay1"
    assert derived.manifest.fingerprint == direct.manifest.fingerprint
    pd.testing.assert_frame_equal(derived.video, direct.video)
    whole = Dataset.load(tmp_path / "audio-pass")
    assert whole.manifest.source["extraction"]["audio"]["pass"] == "whole"
    assert len(whole.audio[1.0]) == len(base.audio[1.0])


def test_extracted_at_10_fps_and_sampled_to_5_fps_is_the_5_fps_extraction(
        extracted, recordings, models, tmp_path):
    """The media are 10 fps: sampled to 5 fps after extraction, every other frame, the same
    frames, features, ratings and audio as extracting at 5 fps (the faces to float32 rounding:
    they were embedded in other batches)."""
    out = tmp_path / "at10"
    assert main(extract_args(recordings, models, out, "--fps", "10")) == 0
    assert main(["-q", "data", "downsample", str(out), "--fps", "5"]) == 0
    sampled, direct = Dataset.load(tmp_path / "at10-5fps"), Dataset.load(extracted)
    assert sampled.name == "media-synth-5fps" and sampled.manifest.fps == 5.0
    assert sampled.manifest.source["frame_rate"]["from_fps"] == 10.0
    assert sampled.manifest.source["extraction"]["fps"] == 10.0, "how it was extracted stays said"
    columns = ["session", "timestamp", "valence", "arousal"]
    pd.testing.assert_frame_equal(sampled.video[columns], direct.video[columns])
    np.testing.assert_allclose(sampled.matrix("video"), direct.matrix("video"), rtol=1e-5,
                               atol=1e-5)
    assert sampled.audio.keys() == direct.audio.keys()
    for length, table in direct.audio.items():
        pd.testing.assert_frame_equal(sampled.audio[length], table)
    pd.testing.assert_frame_equal(sampled.labels_raw, direct.labels_raw)
    delayed = with_label_delay(sampled, 1.0)
    assert delayed.name == "media-synth-5fps-delay1"
    pd.testing.assert_frame_equal(delayed.video[columns],
                                  with_label_delay(direct, 1.0).video[columns])


def test_a_killed_extraction_resumes_and_ends_byte_identical(extracted, recordings, models,
                                                             tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([*EMOREC, *extract_args(recordings, models, out)[:-2],
                                "--jobs", "1"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / ".cache").glob("*.npz")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    cached = list((out / ".cache").glob("*.npz"))
    assert cached and len(cached) < 4, "the kill came too late to test a resume"
    assert not (out / "manifest.json").exists()
    assert main(extract_args(recordings, models, out)) == 0
    assert files_of(out) == files_of(extracted)
    assert not list(tmp_path.glob(".killed.*"))


def test_model_folder_without_weights_and_hub_id_offline_exit_2(recordings, models, tmp_path,
                                                                capsys):
    empty = tmp_path / "face"
    shutil.copytree(models / "face", empty)
    (empty / "model.safetensors").unlink()
    args = extract_args(recordings, models, tmp_path / "o")
    code = main([*args, "--face-model", str(empty)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "without weights" in err
    code = main([*args, "--audio-model", "facebook/wav2vec2-base-960h"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "pass a local path" in err
    assert not (tmp_path / "o").exists() or not (tmp_path / "o" / "manifest.json").exists()


def test_video_with_separate_wav_and_a_ratings_csv(models, tmp_path):
    from emorec.data.synth_media import MediaSpec, generate

    root = generate(tmp_path / "rec", MediaSpec(sessions=2, duration_s=5.0, audio="wav"),
                    seed=2)
    ratings = pd.concat([pd.read_csv(p).assign(session=p.stem)
                         for p in sorted((root / "labels").glob("*.csv"))])
    ratings = ratings.rename(columns={"timestamp": "time"})[
        ["session", "time", "valence", "arousal"]]
    ratings.to_csv(tmp_path / "ratings.csv", index=False)
    shutil.rmtree(root / "labels")
    (root / "emorec-media.json").unlink()
    out = tmp_path / "ds"
    assert main(["-q", "extract", str(root), "--layout", "files", "--labels",
                 str(tmp_path / "ratings.csv"), "--out", str(out), "--face-model",
                 str(models / "face"), "--audio-model", str(models / "voice"),
                 "--windows", "2"]) == 0
    dataset = Dataset.load(out)
    assert dataset.manifest.origin == "real" and dataset.name == "rec"
    assert sorted(dataset.audio[2.0]["session"].unique()) == ["media01", "media02"]


def test_afew_va_frame_folders(models, recordings, tmp_path):
    import cv2

    from emorec.extract import media

    root = tmp_path / "afew"
    clip = root / "001"
    clip.mkdir(parents=True)
    frames = {}
    for number, (_, image) in enumerate(media.video_frames(recordings / "media01.mp4", 10)):
        cv2.imwrite(str(clip / f"{number:05d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        frames[f"{number:05d}"] = {"valence": int(number % 7) - 3, "arousal": 2,
                                   "landmarks": []}
    (clip / "001.json").write_text(json.dumps({"frames": frames}))
    out = tmp_path / "ds"
    assert main(["-q", "extract", str(root), "--layout", "afew-va", "--source-fps", "10",
                 "--out", str(out), "--face-model", str(models / "face")]) == 0
    dataset = Dataset.load(out)
    assert dataset.manifest.label_scale == 10 and not dataset.audio
    assert dataset.video["timestamp"].tolist() == pytest.approx(
        sorted(set(np.round(dataset.video["timestamp"] * 5) / 5)))
    assert set(np.round(dataset.video["arousal"], 6)) == {0.2}


def test_media_suite_beats_the_chance_floor(tmp_path):
    """The chain `make bench-media` runs, in a temporary folder."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    media = tmp_path / "runs" / "media"

    def emorec(*args):
        subprocess.run([*EMOREC, "-q", *map(str, args)], cwd=tmp_path, env=env, check=True,
                       stdout=subprocess.DEVNULL)

    emorec("data", "synth-media", "--out", media / "recordings", "--sessions", 12,
           "--duration", 40, "--seed", 0)
    emorec("data", "tiny-models", media / "models", "--seed", 0)
    emorec("extract", media / "recordings", "--layout", "sewa", "--out", media / "dataset",
           "--face-model", media / "models" / "face", "--audio-model",
           media / "models" / "voice", "--windows", "1,2")
    emorec("bench", ROOT / "benchmarks" / "media.toml", "--results-dir", media / "results",
           "--tracking-uri", f"sqlite:///{media / 'mlflow.db'}", "--jobs", "2")
    emorec("leaderboard", "--results-dir", media / "results", "--out", media / "board")
    assert "Stand-in data" in (media / "board" / "media-synth.md").read_text()
    rows = load(media / "results" / "media-synth.csv")
    means = rows.groupby("model")[["test_valence_ccc", "test_arousal_ccc",
                                   "test_valence_rmse", "test_arousal_rmse"]].mean()
    chance = means.loc["chance"]
    voice = means.loc["audio_ffnn"]
    assert voice["test_arousal_ccc"] > chance["test_arousal_ccc"]
    assert voice["test_arousal_rmse"] < chance["test_arousal_rmse"]
    face = means.loc[["bayesian_ridge", "ffnn"]]
    assert (face["test_valence_ccc"] > chance["test_valence_ccc"]).all()
    assert (face["test_valence_rmse"] < chance["test_valence_rmse"]).any()


def test_a_suite_sweeps_the_rating_delay_over_derived_datasets(extracted, tmp_path):
    from emorec.errors import EmorecError
    from emorec.sweep.suites import load_suite

    suite_file = tmp_path / "delay.toml"
    suite_file.write_text(f'[dataset]\nreal = "{extracted}"\ndelay = [0, 1]\n\n'
                          '[[experiments]]\nmodel = "chance"\n')
    suites = load_suite(suite_file).each_dataset()
    assert [s.real_dataset for s in suites] == [extracted,
                                                extracted.with_name(f"{extracted.name}-delay1")]
    derived = Dataset.load(suites[1].real_dataset)
    assert derived.name == "media-synth-delay1"
    assert derived.manifest.fingerprint != Dataset.load(extracted).manifest.fingerprint
    missing = tmp_path / "missing.toml"
    missing.write_text(f'[dataset]\nreal = "{tmp_path / "none"}"\n\n'
                       '[[experiments]]\nmodel = "chance"\n')
    with pytest.raises(EmorecError, match="no dataset at .*emorec extract"):
        load_suite(missing).each_dataset()


def test_a_delay_sweep_gets_a_page_with_the_delay_chosen_on_dev(extracted, tmp_path):
    suite = tmp_path / "delays.toml"
    suite.write_text(f'name = "delays"\nseeds = [0]\n[dataset]\nreal = "{extracted}"\n'
                     'delay = [0, 1]\n\n[[experiments]]\nmodel = "bayesian_ridge"\n\n'
                     '[[experiments]]\nmodel = "chance"\n')
    results, board = tmp_path / "results", tmp_path / "board"
    assert main(["-q", "bench", str(suite), "--jobs", "1", "--results-dir", str(results),
                 "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]) == 0
    known = json.loads((results / "datasets.json").read_text())
    assert {name: facts["label_delay_s"] for name, facts in known.items()} == {
        "media-synth": 0.0, "media-synth-delay1": 1.0}
    assert main(["-q", "leaderboard", "--results-dir", str(results), "--out", str(board)]) == 0
    page = (board / "media-synth-delay.md").read_text()
    rows = pd.concat([load(results / f"{name}.csv") for name in known],
                     ignore_index=True)
    ridge = rows[rows["model"] == "bayesian_ridge"]
    best = ridge.loc[ridge["dev_mean_ccc"].idxmax()]
    chosen = f"{int(best['dataset'] == 'media-synth-delay1')} s"
    line = next(line for line in page.splitlines() if line.startswith("| bayesian_ridge"))
    assert line.split("|")[2].strip() == chosen
    assert f"{best['test_mean_ccc']:.3f}" in line.split("|")[4]
    assert "Stand-in data" in page and "## Every delay" in page
