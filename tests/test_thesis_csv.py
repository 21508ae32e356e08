import json

import numpy as np
import pandas as pd
import pytest

from emorec.data.dataset import Dataset
from emorec.data.splits import make_split
from emorec.data.thesis_csv import import_thesis_csv
from emorec.data.thesis_export import export_thesis_csv
from emorec.errors import DataError


def _audio_files(folder, dataset):
    return {length: folder / f"audio_{length:g}s.csv" for length in dataset.audio}


def assert_same_dataset(a: Dataset, b: Dataset):
    pd.testing.assert_frame_equal(a.video, b.video, check_exact=True)
    assert a.audio.keys() == b.audio.keys()
    for length in a.audio:
        pd.testing.assert_frame_equal(a.audio[length], b.audio[length], check_exact=True)
    assert a.manifest == b.manifest
    if a.split_table is None:
        assert b.split_table is None
    else:
        pd.testing.assert_frame_equal(a.split_table, b.split_table)


def test_export_then_import_is_lossless(tmp_path, tiny_sewa):
    original = tiny_sewa.with_split(make_split(tiny_sewa.sessions, seed=4).table, "seed 4")
    export_thesis_csv(original, tmp_path / "csv")
    back = import_thesis_csv(tmp_path / "csv" / "video.csv",
                             _audio_files(tmp_path / "csv", original),
                             tmp_path / "csv" / "split.csv")
    assert_same_dataset(original, back)
    assert back.manifest.origin == "stand-in", "a re-imported stand-in stays a stand-in"
    assert back.split().hash == original.split().hash


def test_afew_labels_go_out_as_integers_and_come_back_exactly(tmp_path, tiny_afew):
    export_thesis_csv(tiny_afew, tmp_path / "csv")
    raw = pd.read_csv(tmp_path / "csv" / "video.csv")
    assert raw["valence"].between(-10, 10).all()
    assert np.array_equal(raw["valence"], raw["valence"].round())
    assert not any(name.startswith("audio_") for name in (p.name for p in
                                                          (tmp_path / "csv").iterdir()))
    back = import_thesis_csv(tmp_path / "csv" / "video.csv")
    assert back.manifest.label_scale == 10
    assert_same_dataset(tiny_afew, back)


def write_thesis_layout(folder, n_sessions=3, frames=8, with_timestamp=True,
                        name="vid{}_{:05d}.jpg"):
    """A CSV in the extractor's layout: no session column, no sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    rows = []
    for s in range(n_sessions):
        for f in range(frames):
            row = {"path": f"/features/sewa/vid{s}/" + name.format(s, f)}
            row.update({f"embedding_{i}": rng.uniform(-0.9, 0.9) for i in range(256)})
            row.update({"valence": rng.uniform(-5, 5), "arousal": rng.uniform(-5, 5)})
            if with_timestamp:
                row["timestamp"] = f * 0.2
            rows.append(row)
    video = pd.DataFrame(rows)
    video.to_csv(folder / "video.csv", index=False)
    audio_rows = []
    for s in range(n_sessions):
        for start in np.arange(0, frames * 0.2 - 1 + 1e-9, 0.5):
            audio_rows.append({"filename": f"vid{s}.wav", "start": start, "end": start + 1,
                               **{f"x_{i}": rng.normal() for i in range(768)}})
    pd.DataFrame(audio_rows).to_csv(folder / "audio_1s.csv", index=False)
    return video


def test_import_takes_sessions_from_file_names_and_scales_labels(tmp_path):
    raw = write_thesis_layout(tmp_path)
    dataset = import_thesis_csv(tmp_path / "video.csv", {1.0: tmp_path / "audio_1s.csv"},
                                label_scale=10)
    assert dataset.manifest.origin == "real"
    assert sorted(dataset.sessions) == ["vid0", "vid1", "vid2"]
    assert sorted(dataset.audio[1.0]["session"].unique()) == ["vid0", "vid1", "vid2"]
    assert dataset.manifest.fps == 5.0, "inferred from the timestamps"
    assert np.allclose(np.sort(dataset.video["valence"]), np.sort(raw["valence"] / 10))
    assert len(dataset.video) == len(raw)


def test_import_without_timestamps_takes_frame_numbers_from_the_names_at_the_given_fps(tmp_path):
    write_thesis_layout(tmp_path, with_timestamp=False, name="{1:05d}.png")  # AFEW-VA style
    with pytest.raises(DataError, match=r"--fps: frame times from the file name \(frame "
                                        r"numbers\) need the frame rate"):
        import_thesis_csv(tmp_path / "video.csv", label_scale=10,
                          session_regex=r"([^/]+)/[^/]+$")
    dataset = import_thesis_csv(tmp_path / "video.csv", label_scale=10, fps=5.0,
                                session_regex=r"([^/]+)/[^/]+$")
    assert sorted(dataset.sessions) == ["vid0", "vid1", "vid2"]
    first = dataset.video[dataset.video["session"] == "vid1"]["timestamp"].to_numpy()
    assert np.allclose(first, np.arange(8) / 5.0)


def test_session_regex_that_does_not_match_names_the_row(tmp_path):
    write_thesis_layout(tmp_path)
    with pytest.raises(DataError, match=r"video.csv, row 2, column 'path'.*session-regex"):
        import_thesis_csv(tmp_path / "video.csv", label_scale=10, session_regex=r"(zzz)")


def test_unknown_columns_are_reported_not_silently_kept(tmp_path, caplog):
    raw = write_thesis_layout(tmp_path)
    raw.insert(0, "Unnamed: 0", range(len(raw)))
    raw.to_csv(tmp_path / "video.csv", index=False)
    import_thesis_csv(tmp_path / "video.csv", label_scale=10)
    assert "1 columns not in the layout are ignored: Unnamed: 0" in caplog.text


def test_sidecar_keeps_its_origin(tmp_path, tiny_sewa):
    export_thesis_csv(tiny_sewa, tmp_path)
    sidecar = json.loads((tmp_path / "emorec.json").read_text())
    assert sidecar["origin"] == "stand-in" and sidecar["name"] == "sewa-synth-tiny"
