"""Every bad input gets an error naming the file, the column/row, and what was expected."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from helpers import frame_table

from emorec.cli import main
from emorec.data.dataset import Dataset
from emorec.data.info import describe
from emorec.data.manifest import Manifest
from emorec.data.thesis_csv import import_thesis_csv
from emorec.data.thesis_export import export_thesis_csv
from emorec.errors import DataError

MANIFEST = Manifest(name="t", origin="real", fps=5.0, embedding_dim=256, audio_dim=768,
                    audio_windows=())


def csv_with(tmp_path, table: pd.DataFrame):
    path = tmp_path / "video.csv"
    table.to_csv(path, index=False)
    return path


def test_missing_column(tmp_path):
    path = csv_with(tmp_path, frame_table().drop(columns="arousal"))
    with pytest.raises(DataError) as error:
        import_thesis_csv(path)
    message = str(error.value)
    assert str(path) in message and "column 'arousal'" in message and "missing" in message


def test_wrong_embedding_dimension(tmp_path):
    path = csv_with(tmp_path, frame_table(dim=128))
    with pytest.raises(DataError, match=r"wrong embedding dimension; expected 256 columns "
                                        r"embedding_0..embedding_255, found 128 columns"):
        import_thesis_csv(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_embeddings_names_row_and_column(tmp_path, bad):
    table = frame_table()
    table.loc[3, "embedding_17"] = bad
    path = csv_with(tmp_path, table)
    with pytest.raises(DataError) as error:
        import_thesis_csv(path)
    message = str(error.value)
    # table row 3 is CSV line 5 (header is line 1)
    assert "row 5" in message and "column 'embedding_17'" in message
    assert "NaN or inf" in message and "expected finite embeddings" in message


def test_labels_out_of_range(tmp_path):
    table = frame_table()
    table.loc[7, "valence"] = 7.0
    path = csv_with(tmp_path, table)
    with pytest.raises(DataError) as error:
        import_thesis_csv(path)
    message = str(error.value)
    assert "row 9" in message and "column 'valence'" in message
    assert "expected [-1, 1], found 7" in message and "--label-scale 10" in message
    # with the right scale the same file imports
    assert len(import_thesis_csv(path, label_scale=10).video) == len(table)


def test_duplicate_timestamps_within_a_session(tmp_path):
    table = frame_table()
    table.loc[2, "timestamp"] = table.loc[1, "timestamp"]
    path = csv_with(tmp_path, table)
    with pytest.raises(DataError, match=r"row 3, column 'timestamp': duplicate timestamps "
                                        r"within a session \(rows 3, 4\)"):
        import_thesis_csv(path)


def test_same_timestamp_in_two_sessions_is_fine(tmp_path):
    dataset = import_thesis_csv(csv_with(tmp_path, frame_table()))
    assert len(dataset.video) == 12


def test_session_with_video_but_no_audio_warns_and_counts(tmp_path, tiny_sewa, caplog):
    export_thesis_csv(tiny_sewa, tmp_path)
    audio = pd.read_csv(tmp_path / "audio_2s.csv")
    dropped = sorted(audio["session"].unique())[:2]
    audio[~audio["session"].isin(dropped)].to_csv(tmp_path / "audio_2s.csv", index=False)
    dataset = import_thesis_csv(tmp_path / "video.csv", {2.0: tmp_path / "audio_2s.csv"})
    assert f"2 of 6 sessions have video but no 2 s audio (usable video-only): " \
           f"{dropped[0]}, {dropped[1]}" in caplog.text
    assert len(dataset.video) == len(tiny_sewa.video), "no video frame is dropped"
    coverage = describe(dataset)["audio"][2.0]
    assert coverage["sessions"] == 4 and coverage["frames_with_window"] < 0.8


def test_audio_file_of_the_wrong_window_length(tmp_path, tiny_sewa):
    export_thesis_csv(tiny_sewa, tmp_path)
    with pytest.raises(DataError, match=r"audio_2s.csv.*expected windows of 1 s, found median 2"):
        import_thesis_csv(tmp_path / "video.csv", {1.0: tmp_path / "audio_2s.csv"})


def test_wrong_audio_dimension(tmp_path, tiny_sewa):
    export_thesis_csv(tiny_sewa, tmp_path)
    audio = pd.read_csv(tmp_path / "audio_1s.csv").drop(columns="x_767")
    audio.to_csv(tmp_path / "audio_1s.csv", index=False)
    with pytest.raises(DataError, match=r"audio_1s.csv.*wrong audio embedding dimension; "
                                        r"expected 768 columns x_0..x_767, found 767"):
        import_thesis_csv(tmp_path / "video.csv", {1.0: tmp_path / "audio_1s.csv"})


def split_file(tmp_path, rows):
    path = tmp_path / "split.csv"
    pd.DataFrame(rows, columns=["session", "partition"]).to_csv(path, index=False)
    return path


def test_empty_partition(tmp_path):
    path = csv_with(tmp_path, frame_table(sessions=("A", "B", "C")))
    split = split_file(tmp_path, [("A", "train"), ("B", "train"), ("C", "dev")])
    with pytest.raises(DataError, match=r"split.csv, column 'partition': empty partition 'test'"):
        import_thesis_csv(path, split_csv=split)


def test_split_naming_unknown_sessions(tmp_path):
    path = csv_with(tmp_path, frame_table(sessions=("A", "B", "C")))
    split = split_file(tmp_path, [("A", "train"), ("B", "dev"), ("C", "test"), ("Z9", "test")])
    with pytest.raises(DataError, match=r"split.csv, column 'session': 1 sessions not in the "
                                        r"dataset; expected sessions of the video table, found Z9"):
        import_thesis_csv(path, split_csv=split)


def test_split_leaving_sessions_out(tmp_path):
    path = csv_with(tmp_path, frame_table(sessions=("A", "B", "C", "D")))
    split = split_file(tmp_path, [("A", "train"), ("B", "dev"), ("C", "test")])
    with pytest.raises(DataError, match=r"have no partition.*missing D"):
        import_thesis_csv(path, split_csv=split)


def test_split_with_unknown_partition_name(tmp_path):
    path = csv_with(tmp_path, frame_table(sessions=("A", "B", "C")))
    split = split_file(tmp_path, [("A", "train"), ("B", "validation"), ("C", "test")])
    with pytest.raises(DataError, match=r"row 3, column 'partition': unknown partition; "
                                        r"expected train / dev / test, found 'validation'"):
        import_thesis_csv(path, split_csv=split)


def test_tampered_dataset_fails_its_fingerprint(tmp_path, tiny_sewa):
    root = tiny_sewa.save(tmp_path / "d")
    video = pd.read_parquet(root / "video.parquet")
    video.loc[0, "valence"] = 0.0
    video.to_parquet(root / "video.parquet")
    with pytest.raises(DataError, match="fingerprint"):
        Dataset.load(root)


def test_not_a_dataset_folder(tmp_path):
    with pytest.raises(DataError, match="not an emorec dataset folder"):
        Dataset.load(tmp_path)


def test_create_rejects_unexpected_columns():
    table = frame_table().assign(extra=1)
    with pytest.raises(DataError, match="unexpected columns; expected only the contract's "
                                        "columns, found extra"):
        Dataset.create(MANIFEST, table, {})


def test_cli_user_error_is_one_line_without_traceback(tmp_path, capsys):
    table = frame_table()
    table.loc[0, "embedding_3"] = np.nan
    path = csv_with(tmp_path, table)
    assert main(["data", "import", "--video", str(path), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("emorec: error: ") and "row 2, column 'embedding_3'" in err


def test_cli_process_exits_2_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "emorec.cli", "data", "info", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not an emorec dataset folder" in result.stderr


def test_duplicate_column_names(tmp_path):
    table = frame_table()
    path = tmp_path / "video.csv"
    text = table.to_csv(index=False).splitlines()
    text[0] = text[0].replace("arousal", "valence")
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"column 'valence': duplicate column names"):
        import_thesis_csv(path)


def test_session_regex_with_several_groups_takes_the_first(tmp_path):
    table = frame_table().drop(columns="session")
    table.insert(0, "path", [f"v/S{i // 6}_{i % 6:04d}.jpg" for i in range(len(table))])
    path = csv_with(tmp_path, table)
    dataset = import_thesis_csv(path, session_regex=r"(S\d+)_(\d+)")
    assert sorted(dataset.sessions) == ["S0", "S1"]


def test_file_names_that_do_not_name_the_session_are_refused(tmp_path):
    # AFEW-VA layout: clip folders, frame-numbered file names; the default rule would take the
    # frame number as the session and mix clips
    table = frame_table().drop(columns=["session", "timestamp"])
    table.insert(0, "path", [f"/afew/{i // 6:03d}/{i % 6:05d}.png" for i in range(len(table))])
    path = csv_with(tmp_path, table)
    with pytest.raises(DataError, match=r"session id '00000' comes from files in 2 folders"):
        import_thesis_csv(path)
    dataset = import_thesis_csv(path, session_regex=r"([^/]+)/[^/]+$", fps=25)
    assert sorted(dataset.sessions) == ["000", "001"]


def test_non_numeric_label_is_shown_as_written(tmp_path):
    table = frame_table().astype({"arousal": object})
    table.loc[4, "arousal"] = "high"
    path = csv_with(tmp_path, table)
    with pytest.raises(DataError, match=r"row 6, column 'arousal': not a finite number.*'high'"):
        import_thesis_csv(path, label_scale=10)


@pytest.mark.parametrize("field,value", [("fps", "5"), ("fps", -5), ("label_range", [0]),
                                         ("audio_windows", None), ("embedding_dim", "4"),
                                         ("origin", "fake")])
def test_bad_manifest_values_are_named(tmp_path, tiny_sewa, field, value):
    root = tiny_sewa.save(tmp_path / "d")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest[field] = value
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=rf"manifest.json, column '{field}'"):
        Dataset.load(root)


@pytest.mark.parametrize("sidecar", [[], {"fps": "five"}, {"origin": "fake"}, {"colour": 1}])
def test_bad_export_sidecar(tmp_path, sidecar):
    path = csv_with(tmp_path, frame_table())
    (tmp_path / "emorec.json").write_text(json.dumps(sidecar))
    with pytest.raises(DataError, match="emorec.json"):
        import_thesis_csv(path)


@pytest.mark.parametrize("args", [["--label-scale", "0"], ["--label-scale", "-1"],
                                  ["--fps", "-5"], ["--audio", "nan=a.csv"]])
def test_cli_refuses_nonsense_numbers(tmp_path, capsys, args):
    path = csv_with(tmp_path, frame_table())
    assert main(["data", "import", "--video", str(path), *args,
                 "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and err.count("\n") == 1
