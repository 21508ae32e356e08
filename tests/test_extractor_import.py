"""Importing the files the thesis's feature extractor writes, in its own layouts (made here, small):
frame times from file names, labels files, AFEW-VA's JSON annotations, its audio CSVs, frame
rates per session."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
from helpers import AUDIO_DIM, DIM, SEWA, afew_va_clips, embeddings_csv, face_name, sewa_frames

from emorec.cli import main
from emorec.data.dataset import Dataset
from emorec.data.info import describe, render
from emorec.data.thesis_csv import import_thesis_csv
from emorec.errors import DataError

SMALL = {"embedding_dim": DIM, "audio_dim": AUDIO_DIM}


def times_of(dataset: Dataset, session: str) -> np.ndarray:
    return dataset.video.loc[dataset.video["session"] == session, "timestamp"].to_numpy()


# --------------------------------------------------------------------------- frame times
def test_no_timestamp_column_times_come_from_sewa_file_names_and_keep_the_gaps(tmp_path):
    frames = sewa_frames(seconds=12.0, missing={"SEW1103": range(40, 56)})   # 8.0-10.8 s: no face
    embeddings_csv(frames, tmp_path / "faces.csv")
    dataset = import_thesis_csv(tmp_path / "faces.csv", **SMALL)
    video = dataset.video.set_index("path")
    assert video.loc[face_name("SEW1103", 11.2), "timestamp"] == 11.2   # not 7.8 s
    assert times_of(dataset, "SEW1103").max() == 11.8, "the session ends where it ends"
    assert dataset.manifest.fps == 5.0 and dataset.manifest.source["frame_times"] == \
        "the file name (seconds-in-name)"
    gaps = describe(dataset)["gaps"]
    assert gaps["count"] == 1 and gaps["missing_frames"] == 16


@pytest.mark.parametrize("layout", ["sewa", "afew-va"])
def test_shuffled_rows_without_timestamps_are_timed_by_their_names(tmp_path, layout):
    if layout == "sewa":
        frames = sewa_frames(missing={"SEW1104": [3]})
        options, session, expected = {}, "SEW1104", [0, 0.2, 0.4, 0.8, 1.0]
    else:   # <clip>/<frame>.png; frame 00018 of clip 001 follows a dropped no-face frame 00017
        frames = pd.DataFrame({"path": [f"/afew/{clip}/{k:05d}.png" for clip in ("001", "002")
                                        for k in range(12, 20) if (clip, k) != ("001", 17)]})
        options = {"fps": 25.0, "session_regex": r"([^/]+)/[^/]+$", "label_scale": 1.0}
        session, expected = "001", [0.48, 0.52, 0.56, 0.6, 0.64, 0.72, 0.76]
    embeddings_csv(frames, tmp_path / "faces.csv", shuffle=True)
    dataset = import_thesis_csv(tmp_path / "faces.csv", **options, **SMALL)
    assert np.allclose(times_of(dataset, session)[:len(expected)], expected)
    by_path = dataset.video.set_index("path")["timestamp"]
    raw = pd.read_csv(tmp_path / "faces.csv")
    assert np.allclose(by_path.loc[raw["path"]].to_numpy(), [
        float(p.rsplit("_", 2)[1] + "." + p.rsplit("_", 2)[2][:-4]) if layout == "sewa"
        else int(p[-9:-4]) / 25 for p in raw["path"]]), "every frame keeps its own time"


def test_row_order_is_used_only_when_asked_and_must_agree_with_the_names(tmp_path):
    frames = sewa_frames(missing={"SEW1103": [3]})
    embeddings_csv(frames, tmp_path / "faces.csv")
    with pytest.raises(DataError) as error:
        import_thesis_csv(tmp_path / "faces.csv", time_from="row-order", fps=5.0, **SMALL)
    message = str(error.value)
    assert "faces.csv, row 5, column 'path': the row order and the file name give different " \
           "frame times" in message
    assert "found 0.6 s from the row order at 5 fps, but 0.8 s from the file name " \
           "'C:\\\\SEWA\\\\faces\\\\SEW1103_0_8.png'" in message


def test_row_order_when_names_carry_no_time(tmp_path, caplog):
    frames = pd.DataFrame({"path": [f"clips/{c}/face-{x}.png" for c in "AB" for x in "abcdef"]})
    embeddings_csv(frames, tmp_path / "faces.csv")
    with pytest.raises(DataError, match=r"faces.csv, column 'path': no frame times: no timestamp "
                                        r"column, and the file names carry no time"):
        import_thesis_csv(tmp_path / "faces.csv", session_regex=r"([^/]+)/[^/]+$", **SMALL)
    with pytest.raises(DataError, match=r"--fps: frame times from the row order"):
        import_thesis_csv(tmp_path / "faces.csv", session_regex=r"([^/]+)/[^/]+$",
                          time_from="row-order", **SMALL)
    dataset = import_thesis_csv(tmp_path / "faces.csv", session_regex=r"([^/]+)/[^/]+$",
                                time_from="row-order", fps=5.0, **SMALL)
    assert np.allclose(times_of(dataset, "B"), np.arange(6) / 5)
    assert "frame times from the row order at 5 fps (--time-from row-order)" in caplog.text


def test_a_timestamp_that_disagrees_with_its_file_name_stops_the_import(tmp_path):
    frames = sewa_frames()
    table = embeddings_csv(frames, tmp_path / "faces.csv", timestamp=True)
    table.loc[6, "timestamp"] = 1.4     # the file says 1.2 s
    table.to_csv(tmp_path / "faces.csv", index=False)
    with pytest.raises(DataError) as error:
        import_thesis_csv(tmp_path / "faces.csv", **SMALL)
    assert "faces.csv, row 8, column 'timestamp': the timestamp column and the file name give " \
           "different frame times" in str(error.value)
    assert "found 1.4 s from the timestamp column, but 1.2 s from the file name" in \
        str(error.value)


def test_float32_timestamps_are_rounded_to_the_frame_grid_and_counted(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    frames = sewa_frames(seconds=2.0)
    frames["t"] = frames["t"].astype(np.float32).astype(float)   # 0.20000000298023224
    embeddings_csv(frames, tmp_path / "faces.csv", timestamp=True)
    assert "0.20000000298023224" in (tmp_path / "faces.csv").read_text()
    dataset = import_thesis_csv(tmp_path / "faces.csv", **SMALL)
    assert np.array_equal(times_of(dataset, "SEW1105"), np.arange(10) / 5)
    noisy = int((frames["t"] != np.round(frames["t"] * 5) / 5).sum())
    assert noisy > 0
    assert f"{noisy} timestamps rounded to the 5 fps grid (float32 noise" in caplog.text


def test_an_explicit_rule_or_regex_names_the_row_it_cannot_read(tmp_path):
    frames = pd.DataFrame({"path": [f"v/{s}-t{k * 40}ms.png" for s in ("A", "B")
                                    for k in range(5)]})
    embeddings_csv(frames, tmp_path / "faces.csv")
    with pytest.raises(DataError, match=r"row 2, column 'path': the file name does not match "
                                        r"--time-from seconds-in-name"):
        import_thesis_csv(tmp_path / "faces.csv", time_from="seconds-in-name",
                          session_regex=r"/(\w)-", **SMALL)
    with pytest.raises(DataError, match=r"--time-from: a regular expression needs exactly one "
                                        r"group named seconds or frame"):
        import_thesis_csv(tmp_path / "faces.csv", time_from=r"t(\d+)ms", **SMALL)
    dataset = import_thesis_csv(tmp_path / "faces.csv", time_from=r"t(?P<frame>\d+)ms",
                                fps=1000, session_regex=r"/(\w)-", **SMALL)
    assert np.allclose(times_of(dataset, "B"), [0, 0.04, 0.08, 0.12, 0.16])


# --------------------------------------------------------------------------- labels
def metadata_csv(frames: pd.DataFrame, path, labelled: pd.DataFrame | None = None) -> pd.DataFrame:
    """The extractor's metadata file: filename, timestamp (through float32), arousal, valence."""
    rng = np.random.default_rng(1)
    frames = frames if labelled is None else labelled
    table = pd.DataFrame({"filename": frames["path"].str.replace("C:\\SEWA", "/data/SEWA")
                          .str.replace("\\", "/"),
                          "timestamp": frames["t"].astype(np.float32).astype(float),
                          "arousal": rng.uniform(-0.5, 0.5, len(frames)),
                          "valence": rng.uniform(-0.5, 0.5, len(frames))})
    table.to_csv(path, index=False)
    return table


def test_embeddings_without_labels_join_a_labels_file_by_file_name(tmp_path, caplog):
    frames = sewa_frames(missing={"SEW1105": [2, 3]})
    embeddings_csv(frames, tmp_path / "faces.csv", labels=False)
    labelled = sewa_frames()          # the metadata also lists two frames with no embedding
    labels = metadata_csv(frames, tmp_path / "metadata.csv", labelled=labelled)
    dataset = import_thesis_csv(tmp_path / "faces.csv", labels=tmp_path / "metadata.csv",
                                **SMALL)
    assert len(dataset.video) == len(frames)
    joined = dataset.video.set_index("path")
    expected = labels.assign(path=labelled["path"]).set_index("path")
    assert np.allclose(joined["valence"], expected.loc[joined.index, "valence"])
    assert np.allclose(times_of(dataset, "SEW1105")[:3], [0, 0.2, 0.8]), \
        "times from the labels file's timestamps (float32), rounded to the grid"
    assert "2 labelled files have no embedding" in caplog.text


def test_an_embedding_without_labels_is_named(tmp_path):
    frames = sewa_frames()
    embeddings_csv(frames, tmp_path / "faces.csv", labels=False)
    metadata_csv(frames, tmp_path / "metadata.csv", labelled=frames.drop(index=4))
    with pytest.raises(DataError, match=r"faces.csv, row 6, column 'path': 1 embedded files have "
                                        r"no labels in .*metadata.csv; expected a labelled file "
                                        r"named 'SEW1103_0_8'"):
        import_thesis_csv(tmp_path / "faces.csv", labels=tmp_path / "metadata.csv", **SMALL)
    embeddings_csv(frames, tmp_path / "labelled.csv")
    with pytest.raises(DataError, match=r"labels given twice"):
        import_thesis_csv(tmp_path / "labelled.csv", labels=tmp_path / "metadata.csv", **SMALL)


def test_afew_va_json_annotations_are_read_directly(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    afew_va_clips(tmp_path / "AFEW-VA", {"001": list(range(30)), "002": list(range(20)),
                                         "003": list(range(25))})
    faces = [f"D:\\afew\\faces\\{clip}\\{k:05d}.png" for clip, n in (("001", 30), ("002", 20),
                                                                   ("003", 25))
             for k in range(n) if (clip, k) not in {("001", 17), ("002", 5)}]   # no face found
    embeddings_csv(pd.DataFrame({"path": faces}), tmp_path / "faces.csv", labels=False,
                   shuffle=True)
    dataset = import_thesis_csv(tmp_path / "faces.csv",
                                afew_va_annotations=tmp_path / "AFEW-VA", **SMALL)
    manifest = dataset.manifest
    assert (manifest.fps, manifest.label_scale) == (25.0, 10.0)
    assert sorted(dataset.sessions) == ["001", "002", "003"]
    annotation = json.loads((tmp_path / "AFEW-VA" / "001" / "001.json").read_text())
    frame18 = dataset.video.set_index("path").loc["D:\\afew\\faces\\001\\00018.png"]
    assert frame18["timestamp"] == 18 / 25, "the frame after a dropped one keeps its own time"
    assert frame18["valence"] == annotation["frames"]["00018"]["valence"] / 10
    assert describe(dataset)["gaps"]["missing_frames"] == 2
    assert "2 labelled files have no embedding" in caplog.text


def test_afew_va_frame_without_an_annotation_or_a_broken_json_is_named(tmp_path):
    afew_va_clips(tmp_path / "AFEW-VA", {"001": list(range(10)), "002": list(range(10)),
                                         "003": list(range(10))})
    faces = [f"faces/{clip}/{k:05d}.png" for clip in ("001", "002", "003") for k in range(11)]
    embeddings_csv(pd.DataFrame({"path": faces}), tmp_path / "faces.csv", labels=False)
    with pytest.raises(DataError, match=r"faces.csv, row 12, column 'path': 3 embedded files have "
                                        r"no labels .*expected a labelled file named '001/00010'"):
        import_thesis_csv(tmp_path / "faces.csv", afew_va_annotations=tmp_path / "AFEW-VA",
                          **SMALL)
    (tmp_path / "AFEW-VA" / "002" / "002.json").write_text(
        json.dumps({"frames": {"00000": {"valence": 3}}}))
    with pytest.raises(DataError, match=r"002.json, column 'frames.00000': 1 frames without "
                                        r"valence and arousal"):
        import_thesis_csv(tmp_path / "faces.csv", afew_va_annotations=tmp_path / "AFEW-VA",
                          **SMALL)


# --------------------------------------------------------------------------- audio
def extractor_audio_csv(path, length: float, sessions=SEWA, seconds: float = 4.0,
                        named=True) -> pd.DataFrame:
    """The extractor's audio CSV: filename, category, arousal, valence, dominance, x_0..; chunks
    without overlap, the last aligned to the end of the recording; no start/end."""
    rng = np.random.default_rng(2)
    rows = []
    for session in sessions:
        starts = [*np.arange(0, seconds - length + 1e-9, length), seconds - 0.3 - length]
        for start in sorted(set(np.round(starts, 2))):
            name = f"{session}_{str(round(start, 2)).replace('.', '_')}.wav" if named \
                else f"{session}.wav"
            rows.append({"filename": name, "category": "neutral", "arousal": 0.1,
                         "valence": -0.2, "dominance": 0.3,
                         **{f"x_{i}": rng.normal() for i in range(AUDIO_DIM)}})
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    return table


def test_the_extractors_audio_csv_takes_window_times_from_its_file_names(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    embeddings_csv(sewa_frames(), tmp_path / "faces.csv")
    extractor_audio_csv(tmp_path / "audio_1s.csv", 1.0)
    dataset = import_thesis_csv(tmp_path / "faces.csv", {1.0: tmp_path / "audio_1s.csv"},
                                **SMALL)
    windows = dataset.audio[1.0]
    session = windows[windows["session"] == "SEW1104"]
    assert np.allclose(session["start"], [0, 1, 2, 2.7, 3])
    assert np.allclose(session["end"] - session["start"], 1.0)
    assert "window label columns are not used (labels come from the video): category, " \
           "arousal, valence, dominance" in caplog.text
    assert "columns not in the layout are ignored" not in caplog.text


def test_audio_without_window_times_names_its_own_columns_and_takes_a_window_table(tmp_path):
    embeddings_csv(sewa_frames(), tmp_path / "faces.csv")
    table = extractor_audio_csv(tmp_path / "audio_2s.csv", 2.0, named=False)
    with pytest.raises(DataError) as error:
        import_thesis_csv(tmp_path / "faces.csv", {2.0: tmp_path / "audio_2s.csv"}, **SMALL)
    message = str(error.value)
    assert "audio_2s.csv, row 2, column 'filename': no window times" in message
    assert "found 'SEW1103.wav' and columns filename, category, arousal" in message
    assert "session" not in message.split("found")[1], "only the CSV's own columns are listed"

    names = [f"{s}_w{k}.wav" for s in SEWA for k in range(3)]
    table["filename"] = names
    table.to_csv(tmp_path / "audio_2s.csv", index=False)
    pd.DataFrame({"filename": [f"/audio/{n}" for n in names], "start": [0, 1, 2] * 3,
                  "end": [2, 3, 4] * 3}).to_csv(tmp_path / "windows.csv", index=False)
    dataset = import_thesis_csv(tmp_path / "faces.csv", {2.0: tmp_path / "audio_2s.csv"},
                                audio_windows=tmp_path / "windows.csv", **SMALL)
    assert np.allclose(dataset.audio[2.0]["start"], [0, 1, 2] * 3)


# --------------------------------------------------------------------------- frame rates
def off_grid_frames() -> pd.DataFrame:
    """SEW1104 from a 24 fps source sampled every 5th frame (4.8 fps) and SEW1105 from a 29.97
    fps source sampled every 6th frame (drifting), times rounded to 2 digits as the extractor
    writes them; the others at 5 fps."""
    frames = sewa_frames(seconds=60.0, sessions=("SEW1103", "SEW1106", "SEW1107"))
    rows = [frames]
    for session, step in (("SEW1104", 5 / 24), ("SEW1105", 6 / 29.97)):
        t = np.round(np.arange(int(60 / step)) * step, 2)
        rows.append(pd.DataFrame({"session": session, "t": t,
                                  "path": [face_name(session, x) for x in t]}))
    return pd.concat(rows, ignore_index=True)


def test_a_session_at_another_frame_rate_is_named_and_strict_refuses_it(tmp_path, caplog):
    embeddings_csv(off_grid_frames(), tmp_path / "faces.csv")
    dataset = import_thesis_csv(tmp_path / "faces.csv", **SMALL)
    assert dataset.manifest.fps == 5.0
    assert "2 of 5 sessions have a frame rate other than the dataset's 5 fps" in caplog.text
    assert "SEW1104 4.8 fps" in caplog.text and "SEW1105 4.995 fps" in caplog.text
    with pytest.raises(DataError, match=r"faces.csv, column 'timestamp': sessions with a frame "
                                        r"rate of their own; expected every session at the "
                                        r"dataset's 5 fps, found 2 of 5 sessions: SEW1104 4.8"):
        import_thesis_csv(tmp_path / "faces.csv", strict=True, **SMALL)
    info = render(describe(dataset))
    assert "frame rate  2 of 5 sessions drift off the 5 fps grid: SEW1104 4.8 fps" in info


def test_data_info_reports_the_frame_rate_of_an_even_dataset(tmp_path, capsys):
    embeddings_csv(sewa_frames(fps=4.8), tmp_path / "faces.csv")
    assert main(["data", "import", "--video", str(tmp_path / "faces.csv"), "--embedding-dim",
                 str(DIM), "--out", str(tmp_path / "d")]) == 0
    assert main(["data", "info", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "at 4.8 fps" in out and "every session on the 4.8 fps grid" in out


# --------------------------------------------------------------------------- small fixes
def test_label_scale_hint_for_labels_times_100(tmp_path):
    table = embeddings_csv(sewa_frames(), tmp_path / "faces.csv")
    table["valence"] *= 100
    table.to_csv(tmp_path / "faces.csv", index=False)
    with pytest.raises(DataError, match=r"need --label-scale 100\)"):
        import_thesis_csv(tmp_path / "faces.csv", **SMALL)
    with pytest.raises(DataError, match=r"need --label-scale 100\)"):
        import_thesis_csv(tmp_path / "faces.csv", label_scale=10, **SMALL)
    assert len(import_thesis_csv(tmp_path / "faces.csv", label_scale=100, **SMALL).video)


def test_a_pandas_index_column_is_named_in_the_warning(tmp_path, caplog):
    table = embeddings_csv(sewa_frames(), tmp_path / "faces.csv")
    text = table.to_csv(lineterminator="\r\n")          # with pandas' unnamed index column
    (tmp_path / "faces.csv").write_text("\ufeff" + text, encoding="utf-8", newline="")
    assert len(import_thesis_csv(tmp_path / "faces.csv", **SMALL).video) == len(table)
    assert "1 columns not in the layout are ignored: (unnamed column 1, a pandas index?)" in \
        caplog.text


def test_the_import_help_names_every_time_rule(capsys):
    from emorec.data.frame_times import TIME_FROM

    assert main(["data", "import", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(rule in help_text.replace("- ", "-") for rule in TIME_FROM)
