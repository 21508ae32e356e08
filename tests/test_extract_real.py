"""emorec extract on real media (slow tier): a real talking face, real recorded voices and real
face photographs (tests/real_media.py builds them from registry packages), muxed into the
containers a lab meets. What must hold: a rerun after any change of recordings or ratings
extracts again; sound that starts after the picture is windowed on the picture's clock; cut
files and short sound are said and counted; ratings in milliseconds, models of the wrong kind
and bad inputs are refused in one line before anything is embedded; any image model gets the
size its own processor gives; the manifest says what the media were."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emorec.cli import main
from emorec.data import real_media
from emorec.data.dataset import Dataset
from emorec.data.validation import audio_columns

pytestmark = pytest.mark.slow
SECONDS = 8.0
VOICES = {"carmp4": [(1.0, "Front_Center"), (5.0, "Rear_Left")],
          "carmkv": [(2.0, "Front_Left"), (4.5, "Side_Right")],
          "caravi": [(0.5, "Rear_Right"), (4.0, "Front_Right")]}
CONTAINER = {"carmp4": "mp4", "carmkv": "mkv", "caravi": "avi"}
LATE_SOUND = {"carmkv": 1.5}     # the mkv's sound starts 1.5 s after its picture


@pytest.fixture(autouse=True)
def hub_off(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="module")
def corpus_sources():
    """Skipped where the registry packages are missing, except under CI, where that fails."""
    missing = real_media.available()
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI runs the real-media tests: {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from emorec.extract.build_models import build

    return build(tmp_path_factory.mktemp("models") / "tiny", "tiny", seed=0)


def make_recording(root: Path, name: str, phase: float = 0.0) -> None:
    fps = float(real_media.CARPHONE_FPS)
    frames = real_media.planted_frames(real_media.talking_face(SECONDS), fps, phase)
    late = LATE_SOUND.get(name, 0.0)
    track = real_media.speech_track(SECONDS - late, [(s - late, v) for s, v in VOICES[name]])
    real_media.write(root / f"{name}.{CONTAINER[name][:3]}", frames, real_media.CARPHONE_FPS,
                     track, container=CONTAINER[name], audio_start=late)
    rows = real_media.ratings(name, SECONDS, VOICES[name], phase)
    (root / "labels").mkdir(exist_ok=True)
    pd.DataFrame(rows, columns=["session", "timestamp", "valence", "arousal"]).drop(
        columns="session").to_csv(root / "labels" / f"{name}.csv", index=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("real") / "recordings"
    root.mkdir()
    for index, name in enumerate(VOICES):
        make_recording(root, name, phase=index)
    return root


def extract_args(root, models, out, *extra) -> list[str]:
    return ["-q", "extract", str(root), "--layout", "sewa", "--out", str(out),
            "--face-model", str(models / "face"), "--audio-model", str(models / "voice"),
            "--windows", "1,2", "--jobs", "2", *map(str, extra)]


@pytest.fixture(scope="module")
def extracted(corpus, models, tmp_path_factory):
    out = tmp_path_factory.mktemp("extracted") / "ds"
    assert main(extract_args(corpus, models, out)) == 0
    return out


def one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_manifest_names_the_media_their_hashes_rates_and_the_ffmpeg_build(extracted, corpus):
    from emorec.extract.cache import content_hash

    extraction = Dataset.load(extracted).manifest.source["extraction"]
    recordings = extraction["recordings"]
    assert sorted(recordings) == sorted(VOICES)
    for name, facts in recordings.items():
        path = next(corpus.glob(f"{name}.*"))
        assert facts["sha256"] == content_hash([path])
        assert facts["source_fps"] == pytest.approx(30000 / 1001, abs=1e-5)
    assert recordings["carmkv"]["audio_offset_s"] == pytest.approx(1.5)
    assert recordings["carmp4"]["audio_offset_s"] == pytest.approx(0.0, abs=0.05)
    assert extraction["libraries"]["ffmpeg"].split()[0][0].isdigit()
    assert "libavcodec" in extraction["libraries"]["ffmpeg"]
    assert len(extraction["labels"]["sha256"]) == 16


def test_late_sound_is_windowed_on_the_pictures_clock(extracted, corpus, models):
    """Each window row of the mkv holds the sound heard at its picture time: the model's output
    for the signal at start - 1.5 s."""
    from emorec.extract import media
    from emorec.extract.voice_model import VoiceModel

    dataset = Dataset.load(extracted)
    table = dataset.audio[2.0]
    rows = table[table["session"] == "carmkv"]
    assert rows["start"].min() == pytest.approx(2.0)      # the first grid point after 1.5 s
    assert rows["end"].max() <= SECONDS + 1e-6
    voice = VoiceModel(str(models / "voice"), "cpu")
    signal = media.read_audio(corpus / "carmkv.mkv", voice.rate)
    expected = voice.per_window(signal, rows["start"].to_numpy() - 1.5, 2.0)
    got = rows[audio_columns(dataset.manifest.audio_dim)].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # and not what the signal holds at the start time itself
    unaligned = voice.per_window(signal, rows["start"].to_numpy()[:2], 2.0)
    assert not np.allclose(got[:2], unaligned, atol=1e-4)


def test_a_rerun_after_a_change_extracts_again(corpus, models, tmp_path, caplog):
    root = tmp_path / "recordings"
    shutil.copytree(corpus, root)
    out = tmp_path / "ds"
    assert main(extract_args(root, models, out)) == 0
    first = Dataset.load(out)
    assert main(["-q", "data", "split", str(out), "--seed", "1"]) == 0
    split = (out / "split.csv").read_bytes()
    assert len(list((out / ".cache").glob("*.npz"))) == 3, "data split keeps the cache"

    # ratings changed: same recordings from the cache, new labels, the split kept
    labels = root / "labels" / "carmp4.csv"
    table = pd.read_csv(labels)
    table["valence"] = -table["valence"]
    table.to_csv(labels, index=False)
    with caplog.at_level("INFO"):
        assert main(extract_args(root, models, out)[1:]) == 0
    assert "nothing to do" not in caplog.text
    assert "3 of 3 recordings are in the cache" in caplog.text
    changed = Dataset.load(out)
    mp4 = changed.video["session"] == "carmp4"
    np.testing.assert_allclose(changed.video.loc[mp4, "valence"],
                               -first.video.loc[first.video["session"] == "carmp4", "valence"])
    assert changed.manifest.fingerprint != first.manifest.fingerprint
    assert (out / "split.csv").read_bytes() == split

    # a recording replaced: it alone is extracted again
    caplog.clear()
    make_recording(root, "carmp4", phase=2.5)
    with caplog.at_level("INFO"):
        assert main(extract_args(root, models, out)[1:]) == 0
    assert "nothing to do" not in caplog.text and "2 of 3 recordings" in caplog.text

    # a recording removed, then added back; the split no longer fits and is dropped, said
    (root / "caravi.avi").unlink()
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert main(extract_args(root, models, out)) == 0
    assert sorted(Dataset.load(out).sessions) == ["carmkv", "carmp4"]
    assert "split.csv no longer fits" in caplog.text and not (out / "split.csv").exists()
    assert "caravi.csv" in caplog.text, "its rating file matches no recording: said"
    shutil.copy(corpus / "caravi.avi", root / "caravi.avi")
    assert main(extract_args(root, models, out)) == 0
    assert sorted(Dataset.load(out).sessions) == sorted(VOICES)

    # nothing changed: nothing to do
    caplog.clear()
    with caplog.at_level("INFO"):
        assert main(extract_args(root, models, out)[1:]) == 0
    assert "nothing to do" in caplog.text


def test_a_cut_file_and_short_sound_are_said_and_counted(corpus, models, tmp_path, caplog):
    root = tmp_path / "recordings"
    (root / "labels").mkdir(parents=True)
    whole = (corpus / "carmkv.mkv").read_bytes()
    (root / "carmkv.mkv").write_bytes(whole[:len(whole) // 2])
    shutil.copy(corpus / "labels" / "carmkv.csv", root / "labels")
    shutil.copy(corpus / "carmp4.mp4", root / "carmp4.mp4")
    shutil.copy(corpus / "labels" / "carmp4.csv", root / "labels")
    whole = (corpus / "caravi.avi").read_bytes()
    (root / "caravi.avi").write_bytes(whole[:len(whole) // 2])   # AVI: the header counts frames
    shutil.copy(corpus / "labels" / "caravi.csv", root / "labels")
    real_media.write_wav(root / "carmp4.wav", real_media.voice("Front_Center"), real_media.RATE)
    out = tmp_path / "ds"
    with caplog.at_level("WARNING"):
        assert main(extract_args(root, models, out)) == 0
    assert "carmkv.mkv: decoded" in caplog.text and "its container states" in caplog.text
    assert "carmp4.wav: the sound ends at 1.4 s" in caplog.text or \
        "the sound ends at 1.4 s" in caplog.text
    counts = Dataset.load(out).manifest.source["counts"]
    assert "caravi.avi: decoded" in caplog.text
    assert counts["recordings_short"] == 3
    assert sorted(counts["short"]) == ["caravi", "carmkv", "carmp4"]


def test_ratings_in_milliseconds_are_refused_by_name(corpus, models, tmp_path, capsys):
    root = tmp_path / "recordings"
    shutil.copytree(corpus, root)
    labels = root / "labels" / "caravi.csv"
    table = pd.read_csv(labels)
    table["timestamp"] *= 1000
    table.to_csv(labels, index=False)
    err = one_line_error(capsys, main(extract_args(root, models, tmp_path / "ds")))
    assert "caravi" in err and "milliseconds" in err
    assert not (tmp_path / "ds").exists()


def test_bad_inputs_are_found_before_anything_is_embedded(corpus, models, tmp_path, capsys):
    root = tmp_path / "recordings"
    shutil.copytree(corpus, root)
    (root / "caravi.wav").write_bytes(b"RIFF0000WAVEfmt not really")   # the last recording
    err = one_line_error(capsys, main(extract_args(root, models, tmp_path / "ds")))
    assert "caravi.wav" in err
    assert not (tmp_path / "ds").exists(), "a failed run leaves nothing behind"
    (root / "caravi.wav").unlink()
    err = one_line_error(capsys, main([*extract_args(root, models, tmp_path / "ds"),
                                       "--extractor-train", str(tmp_path / "missing.csv")]))
    assert "missing.csv" in err and not (tmp_path / "ds").exists()
    err = one_line_error(capsys, main([*extract_args(root, models, tmp_path / "ds"),
                                       "--fps", "60"]))
    assert "--fps 60" in err and "29.97" in err


def test_models_of_the_wrong_kind_or_damaged_are_one_line(corpus, models, tmp_path, capsys):
    from transformers import WhisperConfig, WhisperModel

    args = extract_args(corpus, models, tmp_path / "ds")
    damaged = tmp_path / "damaged"
    shutil.copytree(models / "face", damaged)
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    err = one_line_error(capsys, main([*args, "--face-model", str(damaged)]))
    assert "damaged" in err
    err = one_line_error(capsys, main([*args, "--face-model", str(models / "voice")]))
    assert "not a face model" in err
    whisper = tmp_path / "whisper"
    WhisperModel(WhisperConfig(d_model=16, encoder_layers=1, decoder_layers=1,
                               encoder_attention_heads=2, decoder_attention_heads=2,
                               encoder_ffn_dim=16, decoder_ffn_dim=16)).save_pretrained(whisper)
    shutil.copy(models / "voice" / "preprocessor_config.json", whisper)
    err = one_line_error(capsys, main([*args, "--audio-model", str(whisper)]))
    assert "not a speech model" in err and "input_features" in err
    assert not (tmp_path / "ds").exists()


def image_model(folder: Path, kind: str) -> Path:
    """A tiny random image model of ``kind`` with its processor, saved as a hub model is."""
    import transformers as tf

    if kind == "resnet":
        model = tf.ResNetModel(tf.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16],
                                               depths=[1, 1]))
        processor = tf.ConvNextImageProcessor(size={"shortest_edge": 72}, crop_pct=0.875)
    elif kind == "convnext":
        model = tf.ConvNextModel(tf.ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1],
                                                   num_stages=2, image_size=64))
        processor = tf.ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875)
    elif kind == "dinov2":
        model = tf.Dinov2Model(tf.Dinov2Config(image_size=518, patch_size=14, hidden_size=16,
                                               num_hidden_layers=1, num_attention_heads=2,
                                               intermediate_size=32))
        processor = tf.BitImageProcessor(size={"shortest_edge": 64},
                                         crop_size={"height": 56, "width": 56})
    elif kind == "vit-no-pooler":
        config = tf.ViTConfig(image_size=48, patch_size=8, hidden_size=16, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=32)
        model = tf.ViTModel(config, add_pooling_layer=False)
        processor = tf.ViTImageProcessor(size={"height": 48, "width": 48})
    elif kind == "vit-classifier":   # a facial-expression classifier's checkpoint
        config = tf.ViTConfig(image_size=48, patch_size=8, hidden_size=16, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=32, num_labels=7)
        model = tf.ViTForImageClassification(config)
        processor = tf.ViTImageProcessor(size={"height": 48, "width": 48})
    else:   # vit-mae
        model = tf.ViTMAEModel(tf.ViTMAEConfig(image_size=48, patch_size=8, hidden_size=16,
                                               num_hidden_layers=1, num_attention_heads=2,
                                               intermediate_size=32))
        processor = tf.ViTImageProcessor(size={"height": 48, "width": 48})
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("kind,size", [("resnet", [72, 72]), ("convnext", [64, 64]),
                                       ("dinov2", [56, 56]), ("vit-no-pooler", [48, 48]),
                                       ("vit-classifier", [48, 48])])
def test_any_image_model_gets_its_processors_size_and_one_vector_per_face(kind, size,
                                                                          tmp_path):
    import torch
    from transformers import AutoImageProcessor

    from emorec.extract.face_model import FaceModel

    folder = image_model(tmp_path / kind, kind)
    face = FaceModel(str(folder), "cpu", batch_size=4)
    assert face.input_size == tuple(size)
    crops = np.stack(real_media.lfw_faces(3, side=size[0]))
    embedded = face.embed(crops)
    hidden = face.model.config.hidden_sizes[-1] if hasattr(face.model.config, "hidden_sizes") \
        else face.model.config.hidden_size
    assert embedded.shape == (3, hidden)
    assert np.ptp(embedded, axis=0).max() > 0, "different faces, different embeddings"
    # the processor's own normalisation on crops of its size: the same numbers
    processor = AutoImageProcessor.from_pretrained(folder)
    pixels = processor(images=list(crops), return_tensors="pt", do_resize=False,
                       do_center_crop=False)["pixel_values"]
    np.testing.assert_allclose(face.normalise(crops), pixels.numpy(), atol=1e-5)
    with torch.inference_mode():
        result = face.model(pixel_values=pixels)
    pooler = getattr(result, "pooler_output", None)
    if kind.startswith("vit-"):   # the checkpoint has no pooler: AutoModel's would be random
        assert face.pooling == "mean over tokens"
        pooler = None
    expected = (pooler.reshape(3, -1) if pooler is not None
                else result.last_hidden_state.mean(dim=1))
    np.testing.assert_allclose(embedded, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_a_masking_model_is_refused_and_constant_faces_are_warned(corpus, models, tmp_path,
                                                                  capsys, caplog):
    from safetensors.torch import load_file, save_file

    args = extract_args(corpus, models, tmp_path / "ds")
    mae = image_model(tmp_path / "mae", "vit-mae")
    err = one_line_error(capsys, main([*args, "--face-model", str(mae)]))
    assert "random" in err and "mask" in err.lower() or "patches" in err
    dead = tmp_path / "dead"
    shutil.copytree(models / "face", dead)
    weights = load_file(dead / "model.safetensors")
    save_file({k: v * 0 for k, v in weights.items()}, dead / "model.safetensors")
    with caplog.at_level("WARNING"):
        assert main([*args, "--face-model", str(dead), "--no-audio"]) == 0
    assert "same embedding" in caplog.text
    counts = Dataset.load(tmp_path / "ds").manifest.source["counts"]
    assert counts["recordings_constant_faces"] == 3


def test_data_info_describes_a_dataset_of_one_recording(corpus, models, tmp_path, capsys):
    root = tmp_path / "recordings"
    (root / "labels").mkdir(parents=True)
    shutil.copy(corpus / "carmp4.mp4", root)
    shutil.copy(corpus / "labels" / "carmp4.csv", root / "labels")
    out = tmp_path / "ds"
    assert main(extract_args(root, models, out)) == 0
    capsys.readouterr()
    assert main(["data", "info", str(out)]) == 0
    shown = capsys.readouterr().out
    counts = Dataset.load(out).manifest.source["counts"]
    assert "split       none can be made" in shown
    assert f"{counts['frames_without_face']} of {counts['frames_sampled']} sampled frames" in shown
    assert json.loads((out / "manifest.json").read_text())["name"] == "recordings"


@pytest.mark.parametrize("kind", ["wav2vec2-classifier", "hubert", "wavlm"])
def test_speech_models_of_the_wav2vec2_family_and_emotion_checkpoints_load(kind, models,
                                                                           tmp_path):
    """A dimensional-emotion checkpoint (a wav2vec2 with a regression head, as
    audeering's) loads as its encoder; HuBERT and WavLM load as wav2vec2 does."""
    import transformers as tf

    from emorec.extract.voice_model import VoiceModel

    small = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                 intermediate_size=32, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2)
    model = {"wav2vec2-classifier": lambda: tf.Wav2Vec2ForSequenceClassification(
                 tf.Wav2Vec2Config(num_labels=3, **small)),
             "hubert": lambda: tf.HubertModel(tf.HubertConfig(**small)),
             "wavlm": lambda: tf.WavLMModel(tf.WavLMConfig(**small))}[kind]()
    folder = tmp_path / kind
    model.save_pretrained(folder)
    shutil.copy(models / "voice" / "preprocessor_config.json", folder)
    voice = VoiceModel(str(folder), "cpu")
    speech = real_media.voice("Front_Center", voice.rate)
    windows = voice.per_window(speech, np.asarray([0.0, 0.4]), 1.0)
    assert windows.shape == (2, 16) and np.isfinite(windows).all()
    assert not np.allclose(windows[0], windows[1])


def test_a_detector_plugin_returning_other_than_boxes_is_one_line(corpus, models, tmp_path,
                                                                  capsys, monkeypatch):
    (tmp_path / "three_numbers.py").write_text(
        "def detect(image):\n    return [(10, 10, 40)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    err = one_line_error(capsys, main([*extract_args(corpus, models, tmp_path / "ds"),
                                       "--detector", "three_numbers:detect"]))
    assert "three_numbers:detect" in err and "(10, 10, 40)" in err and "4 numbers" in err
    assert not (tmp_path / "ds").exists()
