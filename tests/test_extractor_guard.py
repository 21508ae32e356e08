"""The extractor-leakage guard: the sessions the feature extractor was trained on are kept in the
dataset, and `data split` and `bench` refuse a test partition that overlaps them."""

import json

import pandas as pd
import pytest
from helpers import DIM, embeddings_csv, sewa_frames

from emorec.cli import main
from emorec.data.dataset import Dataset
from emorec.data.info import describe, render
from emorec.data.splits import check_extractor_overlap, make_split
from emorec.data.thesis_csv import import_thesis_csv
from emorec.data.thesis_export import export_thesis_csv
from emorec.errors import DataError

SESSIONS = tuple(f"SEW11{n:02d}" for n in range(1, 9))


@pytest.fixture
def guarded(tmp_path):
    """A real dataset of 8 SEWA sessions imported with the list of the 6 sessions the feature
    extractor was trained on, which include the seed-0 split's test sessions."""
    embeddings_csv(sewa_frames(seconds=2.0, sessions=SESSIONS), tmp_path / "faces.csv")
    test = list(make_split(SESSIONS, 0).sessions("test"))
    trained = [*test, *[s for s in SESSIONS if s not in test]][:6]
    pd.DataFrame({"session": [*trained, "SEW9999"]}).to_csv(tmp_path / "trained.csv",
                                                            index=False)
    folder = tmp_path / "sewa"
    assert main(["data", "import", "--video", str(tmp_path / "faces.csv"), "--embedding-dim",
                 str(DIM), "--extractor-train", str(tmp_path / "trained.csv"),
                 "--out", str(folder)]) == 0
    return folder, sorted(trained), test


def test_the_training_list_is_kept_in_the_dataset(guarded, caplog):
    folder, trained, test = guarded
    assert Dataset.load(folder).manifest.extractor_train == tuple(trained)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["extractor_train"] == trained


def test_import_warns_about_the_unknown_id_and_the_overlapping_default_split(tmp_path, caplog):
    embeddings_csv(sewa_frames(seconds=2.0, sessions=SESSIONS), tmp_path / "faces.csv")
    test = list(make_split(SESSIONS, 0).sessions("test"))
    pd.DataFrame({"session": [*test, "SEW9999"]}).to_csv(tmp_path / "trained.csv", index=False)
    import_thesis_csv(tmp_path / "faces.csv", extractor_train=tmp_path / "trained.csv",
                      embedding_dim=DIM)
    assert (f"1 of {len(test) + 1} listed sessions are not in this dataset (another "
            "dataset's?): SEW9999") in caplog.text
    assert f"holds {len(test)} sessions the feature extractor was trained on" in caplog.text


def test_data_split_refuses_a_test_partition_the_extractor_trained_on(guarded, tmp_path, capsys,
                                                                      caplog):
    folder, trained, test = guarded
    assert main(["data", "split", str(folder), "--seed", "0"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (f"emorec: error: {folder} (seed 0), column 'session': the test partition holds "
            "sessions the "
            "feature extractor was trained on (their test scores would be inflated); expected "
            "test sessions outside its training list") in err
    assert f"found {len(test)} of {len(test)} test sessions ({', '.join(sorted(test))})" in err
    assert not (folder / "split.csv").exists(), "the refused split is not written"

    assert main(["data", "split", str(folder), "--seed", "0", "--allow-extractor-overlap"]) == 0
    assert "--allow-extractor-overlap: the feature extractor was trained on" in caplog.text
    outside = [s for s in SESSIONS if s not in trained]
    rows = [(s, "test" if s in outside else "dev" if s == trained[0] else "train")
            for s in SESSIONS]
    pd.DataFrame(rows, columns=["session", "partition"]).to_csv(tmp_path / "clean.csv",
                                                                index=False)
    assert main(["data", "split", str(folder), "--file", str(tmp_path / "clean.csv")]) == 0
    assert sorted(Dataset.load(folder).split().sessions("test")) == outside


@pytest.mark.new_store
def test_bench_refuses_before_any_cell_runs(guarded, tmp_path, capsys, places):
    folder, _, _ = guarded
    suite = tmp_path / "suite.toml"
    suite.write_text(f'name = "guarded"\nseeds = [0]\n[dataset]\nreal = "{folder}"\n'
                     'stand_in = { kind = "sewa", size = "tiny", seed = 0 }\n'
                     '[[experiments]]\nmodel = "chance"\n')
    results = places["results_dir"]
    assert main(["bench", str(suite), "--results-dir", str(results), "--tracking-uri",
                 places["tracking_uri"], "--data-dir", str(tmp_path)]) == 2
    assert "the test partition holds sessions the feature extractor was trained on" in \
        capsys.readouterr().err
    assert not results.exists() and not (tmp_path / "mlflow.db").exists()


def test_the_guard_is_one_function_that_only_an_override_turns_into_a_warning(guarded, caplog):
    folder, trained, _ = guarded
    dataset = Dataset.load(folder)
    with pytest.raises(DataError, match="--allow-extractor-overlap"):
        check_extractor_overlap(dataset.split(), dataset.manifest.extractor_train, "here")
    check_extractor_overlap(dataset.split(), dataset.manifest.extractor_train, "here",
                            allow=True)
    assert "their scores are inflated" in caplog.text
    check_extractor_overlap(dataset.split(), (), "here")   # no list given: nothing to check


def test_data_info_says_whether_the_guard_was_given(guarded, tmp_path):
    folder, trained, test = guarded
    summary = describe(Dataset.load(folder))
    assert summary["extractor_train"] == {"sessions": 6, "in_test": sorted(test)}
    assert (f"extractor   trained on 6 of these sessions; {len(test)} are in the test partition "
            f"({', '.join(sorted(test))}): bench refuses this split") in render(summary)
    embeddings_csv(sewa_frames(seconds=2.0, sessions=SESSIONS), tmp_path / "plain.csv")
    plain = import_thesis_csv(tmp_path / "plain.csv", embedding_dim=DIM)
    assert "extractor   leakage guard not given" in render(describe(plain))


def test_a_list_naming_none_of_the_sessions_is_refused(tmp_path):
    embeddings_csv(sewa_frames(seconds=2.0), tmp_path / "faces.csv")
    pd.DataFrame({"session": ["1103", "1104"]}).to_csv(tmp_path / "trained.csv", index=False)
    with pytest.raises(DataError, match=r"trained.csv, column 'session': none of its sessions is "
                                        r"in the dataset; expected session ids as the dataset "
                                        r"names them, e.g. 'SEW1103', found 1103, 1104"):
        import_thesis_csv(tmp_path / "faces.csv", extractor_train=tmp_path / "trained.csv",
                          embedding_dim=DIM)


def test_export_then_import_keeps_the_list_and_a_tampered_list_is_refused(guarded, tmp_path):
    folder, trained, _ = guarded
    export_thesis_csv(Dataset.load(folder), tmp_path / "csv")
    back = import_thesis_csv(tmp_path / "csv" / "video.csv", embedding_dim=DIM)
    assert back.manifest.extractor_train == tuple(trained)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["extractor_train"].append("SEW0000")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"column 'extractor_train': extractor training sessions "
                                        r"not in the dataset.*SEW0000"):
        Dataset.load(folder)


def test_a_real_data_leaderboard_says_whether_the_guard_was_given(guarded, tmp_path, places):
    from emorec.report.pages import render_all

    folder, _, _ = guarded
    suite = tmp_path / "suite.toml"
    suite.write_text(f'name = "guarded"\nseeds = [0]\n[dataset]\nreal = "{folder}"\n'
                     'stand_in = { kind = "sewa", size = "tiny", seed = 0 }\n'
                     '[[experiments]]\nmodel = "chance"\n[[experiments]]\n'
                     'model = "bayesian_ridge"\n')
    results = places["results_dir"]
    assert main(["-q", "bench", str(suite), "--results-dir", str(results), "--tracking-uri",
                 places["tracking_uri"], "--allow-extractor-overlap"]) == 0
    rows = pd.read_csv(next(results.glob("*.csv")), keep_default_na=False)
    assert set(rows["extractor_guard"]) == {"overlap allowed"}
    board = render_all(results, tmp_path / "board")[0].read_text()
    assert "Extractor-leakage guard: **overlap allowed**" in board
