import filecmp

import pandas as pd
import pytest
from helpers import ROOT

from emorec.cli import main
from emorec.data.dataset import Dataset


@pytest.mark.slow
def test_synth_info_validate_export_import_split(tmp_path, capsys):
    data = tmp_path / "sewa"
    assert main(["data", "synth", "sewa", "--size", "tiny", "--seed", "3", "--out", str(data)]) == 0
    assert main(["data", "validate", str(data)]) == 0
    assert "valid stand-in dataset 'sewa-synth-tiny'" in capsys.readouterr().out

    assert main(["data", "info", str(data)]) == 0
    info = capsys.readouterr().out
    for expected in ("STAND-IN", "6 sessions at 5 fps", "gaps", "valence_oracle",
                     "frames with a window", "train", "hash"):
        assert expected in info

    csv = tmp_path / "csv"
    assert main(["data", "export", str(data), "--format", "thesis-csv", "--out", str(csv)]) == 0
    audio = [arg for s in (1, 2, 3, 4) for arg in ("--audio", f"{s}={csv}/audio_{s}s.csv")]
    back = tmp_path / "back"
    assert main(["data", "import", "--video", str(csv / "video.csv"), *audio,
                 "--out", str(back)]) == 0
    names = sorted(p.name for p in data.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(data, back, names, shallow=False)
    assert mismatch == [] and errors == [], "export -> import gives back the same files"

    assert main(["data", "split", str(back), "--seed", "5"]) == 0
    split = pd.read_csv(back / "split.csv")
    assert set(split["partition"]) == {"train", "dev", "test"}
    assert Dataset.load(back).split().origin == "split file"


def test_bad_audio_argument_is_a_user_error(tmp_path, capsys):
    code = main(["data", "import", "--video", str(tmp_path / "v.csv"), "--audio", "one.csv",
                 "--out", str(tmp_path / "d")])
    assert code == 2
    assert "expected SECONDS=CSV" in capsys.readouterr().err


def test_bad_shard_and_missing_merge_folder_are_user_errors(tmp_path, capsys):
    assert main(["bench", str(ROOT / "benchmarks/quick.toml"), "--shard", "3/2"]) == 2
    assert "--shard must be i/n" in capsys.readouterr().err
    assert main(["merge-results", str(tmp_path / "nope"),
                 "--results-dir", str(tmp_path / "m")]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_params_from_a_missing_study_or_storage_is_a_user_error(tmp_path, capsys):
    assert main(["bench", str(ROOT / "benchmarks/quick.toml"), "--storage", "x.journal"]) == 2
    assert "--storage is only used with --params-from" in capsys.readouterr().err
    missing = str(tmp_path / "none.journal")
    assert main(["bench", str(ROOT / "benchmarks/quick.toml"), "--params-from", "s", "--storage",
                 missing]) == 2
    assert f"no Optuna storage {missing}" in capsys.readouterr().err
