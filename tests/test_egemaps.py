"""eGeMAPS audio features (``emorec extract --audio-features egemaps|egemaps-lld``): on real
recorded speech, the 88 functionals per window of the standard grid equal openSMILE run
directly on each window's samples, the 25 low-level descriptors pooled per window equal their
mean computed here from one direct openSMILE pass; the windows sit where the grid puts them
(silence is quiet, speech is loud); the extraction writes them with the manifest's record; the
CLI's refusals are one line with exit 2."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from emorec.cli import main
from emorec.data.validation import audio_columns
from emorec.extract.voice_model import window_starts

pytest.importorskip("av")
opensmile = pytest.importorskip("opensmile")

from emorec.extract import media  # noqa: E402  (needs av)
from emorec.extract.egemaps import RATE, Egemaps  # noqa: E402

# Debian's alsa-utils: recorded human speech, about 1.5 s a file ("front center", ...)
SPEECH = [Path("/usr/share/sounds/alsa") / f"{name}.wav" for name in
          ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Side_Left")]
LENGTHS = (1.0, 2.0)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """Five spoken phrases one after another (about 7 s)."""
    missing = [str(path) for path in SPEECH if not path.is_file()]
    if missing:
        pytest.skip(f"{missing[0]} not found: the real speech comes from Debian's alsa-utils "
                    "(apt-get install alsa-utils)")
    return np.concatenate([media.read_audio(path, RATE) for path in SPEECH])


@pytest.fixture(scope="module")
def functionals():
    return Egemaps("functionals")


@pytest.fixture(scope="module")
def descriptors():
    return Egemaps("lld")


def direct(level) -> opensmile.Smile:
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=level)


@pytest.mark.parametrize("length", LENGTHS)
def test_functionals_per_window_are_opensmile_on_the_window_samples(speech, functionals,
                                                                    length):
    starts = window_starts(len(speech) / RATE, length)
    assert len(starts) >= 2
    rows = functionals.per_window(speech, starts, length)
    assert rows.shape == (len(starts), 88) and np.isfinite(rows).all()
    smile = direct(opensmile.FeatureLevel.Functionals)
    assert functionals.names == list(smile.feature_names) and len(set(functionals.names)) == 88
    for row, start in zip(rows, starts, strict=True):
        first = int(round(start * RATE))
        expected = smile.process_signal(speech[first:first + int(length * RATE)], RATE)
        np.testing.assert_allclose(row, expected.to_numpy()[0].astype(np.float32), rtol=1e-6)
    assert not np.allclose(rows[0], rows[-1])   # windows of different sound differ


@pytest.mark.parametrize("length", LENGTHS)
def test_descriptors_are_one_pass_averaged_over_the_frames_centred_in_each_window(
        speech, descriptors, length):
    starts = window_starts(len(speech) / RATE, length)
    rows = descriptors.pool(*descriptors.frames(speech), starts, length)
    assert rows.shape == (len(starts), 25) and np.isfinite(rows).all()
    table = direct(opensmile.FeatureLevel.LowLevelDescriptors).process_signal(speech, RATE)
    assert descriptors.names == list(table.columns)
    index = table.index
    centre = (index.get_level_values("start") + index.get_level_values("end")).total_seconds() / 2
    for row, start in zip(rows, starts, strict=True):
        inside = (centre >= start) & (centre < start + length)
        assert inside.sum() >= 90 * length   # a frame every 10 ms
        np.testing.assert_allclose(row, table[inside].mean().to_numpy(), rtol=1e-5, atol=1e-6)


def test_windows_sit_where_the_grid_puts_them(speech, functionals):
    """Two seconds of silence before the speech: the windows that hold only silence are
    quiet, those over the speech loud."""
    signal = np.concatenate([np.zeros(2 * RATE, np.float32), speech])
    starts = window_starts(len(signal) / RATE, 1.0)
    assert starts.tolist()[:4] == [0.0, 0.5, 1.0, 1.5]
    loudness = functionals.per_window(signal, starts, 1.0)[
        :, functionals.names.index("loudness_sma3_amean")]
    silent, spoken = loudness[starts + 1.0 <= 2.0], loudness[(starts >= 2.0) & (starts < 3.0)]
    assert len(silent) == 3 and np.all(silent < 0.01)   # openSMILE's floor is about 0.001
    assert np.all(spoken > 0.1), loudness


def test_each_level_is_computed_one_way(descriptors, functionals, speech):
    from emorec.errors import EmorecError
    from emorec.extract.egemaps import audio_pass

    assert audio_pass("egemaps", None) == "per-window"
    assert audio_pass("egemaps-lld", None) == "whole"
    assert audio_pass("embedding", "whole") == "whole"
    with pytest.raises(EmorecError, match="per-window only"):
        audio_pass("egemaps", "whole")
    with pytest.raises(EmorecError, match="pooled from one pass"):
        descriptors.per_window(speech, np.array([0.0]), 1.0)


def test_a_window_too_short_for_functionals_is_refused_not_nan(functionals, speech):
    from emorec.errors import EmorecError

    with pytest.raises(EmorecError, match="no eGeMAPS functionals"):
        functionals.per_window(speech, np.array([0.0, 0.025]), 0.05)


# ----------------------------------------------------------------- the command
def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def extract_cli(capsys, tmp_path, *extra) -> tuple[int, str]:
    code = main(["extract", str(tmp_path), "--layout", "sewa", "--out", str(tmp_path / "o"),
                 *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (("--audio-features", "egemaps", "--audio-model", "org/model"), "--audio-model: a speech"),
    (("--audio-features", "egemaps-lld", "--layer", "3"), "--layer: a speech model's option"),
    (("--audio-features", "egemaps", "--audio-pass", "whole"), "per-window only"),
    (("--audio-features", "egemaps-lld", "--audio-pass", "per-window"), "whole only"),
    (("--audio-features", "egemaps", "--no-audio"), "with --no-audio"),
    (("--audio-features", "mfcc"), "invalid choice"),
    (("--audio-features", "egemaps", "--windows", "0.05,1"), "at least 0.1 s"),
])
def test_audio_options_that_do_not_go_together_exit_2_in_one_line(capsys, tmp_path, extra,
                                                                   message):
    code, err = extract_cli(capsys, tmp_path, *extra)
    assert code == 2 and message in one_line(err)
    assert not (tmp_path / "o").exists()


def test_missing_opensmile_names_the_extra(monkeypatch, capsys, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None
                        if name == "opensmile" else real_find_spec(name, *rest))
    code, err = extract_cli(capsys, tmp_path, "--audio-features", "egemaps")
    line = one_line(err)
    assert code == 2 and "pip install 'emorec[egemaps]'" in line and "research" in line


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_extraction_writes_the_functionals_and_records_them(tmp_path, monkeypatch):
    from emorec.data.dataset import Dataset
    from emorec.data.synth_media import MediaSpec, generate
    from emorec.extract.build_models import build

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = generate(tmp_path / "rec", MediaSpec(sessions=1, duration_s=6.0), seed=2)
    models = build(tmp_path / "models", "tiny", seed=0)
    out = tmp_path / "ds"
    assert main(["-q", "extract", str(root), "--layout", "sewa", "--out", str(out),
                 "--face-model", str(models / "face"), "--audio-features", "egemaps",
                 "--windows", "1,2"]) == 0
    dataset = Dataset.load(out)
    audio = dataset.manifest.source["extraction"]["audio"]
    assert dataset.manifest.audio_dim == audio["model"]["dim"] == 88
    assert (audio["model"]["feature_set"], audio["model"]["level"], audio["pass"]) == (
        "eGeMAPSv02", "functionals", "per-window")
    assert audio["model"]["opensmile"] == opensmile.__version__
    assert audio["model"]["config"] == "egemaps/v02/eGeMAPSv02.conf"
    assert len(audio["model"]["features"]) == 88 and audio["model"]["library_sha256"]
    signal = media.read_audio(next(root.glob("*.mp4")), RATE)
    for length in LENGTHS:
        table = dataset.audio[length]
        starts = window_starts(len(signal) / RATE, length)
        np.testing.assert_array_equal(table["start"].to_numpy(), starts)
        values = table[audio_columns(88)].to_numpy()
        assert values.shape == (len(starts), 88)
        np.testing.assert_allclose(values, Egemaps("functionals").per_window(signal, starts,
                                                                             length))
