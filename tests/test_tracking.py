"""MLflow and Optuna as researchers use them: every cell run names its dataset as an MLflow
input and carries the tags runs are filtered by; each results folder links to runs of its own;
a sweep's parent run ends with its summary; a study names its objective, its run records what
it tunes, and `emorec tune` says where to look. The real MLflow (SQLite) and Optuna (journal)
throughout."""

from __future__ import annotations

import json

import mlflow
import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from emorec.cli import main
from emorec.report.sweep import summary
from emorec.store import results
from emorec.sweep.runner import run_suite
from emorec.sweep.suites import load_suite

CHEAP = """name = "tr"
seeds = [0]
[dataset]
stand_in = { kind = "sewa", size = "tiny", seed = 0 }
[[experiments]]
model = "chance"
[[experiments]]
model = "bayesian_ridge"
"""


def runs(tracking_uri: str, experiment: str):
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.search_runs(experiment_names=[experiment])


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory):
    """The same suite benched into folder A, then into folder B, then into B again (nothing to
    do), all logging to one store."""
    root = tmp_path_factory.mktemp("two-folders")
    suite = root / "tr.toml"
    suite.write_text(CHEAP)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    folders = {name: root / name for name in ("A", "B")}
    rows = {}
    for name in ("A", "B", "B"):
        rows[name] = run_suite(load_suite(suite), results_dir=folders[name],
                               data_dir=root / "data", tracking_uri=uri, jobs=1)
    return {"uri": uri, "folders": folders, "rows": rows, "data": root / "data"}


def test_each_results_folder_links_to_runs_made_for_it_and_leaves_no_empty_parent(two_folders):
    found = runs(two_folders["uri"], "emorec/tr")
    cells = found[found["tags.cell_key"].notna()]
    sweeps = found[found["tags.kind"] == "sweep"]
    assert len(cells) == 4 and len(sweeps) == 2   # B's second bench ran nothing: no parent
    for name, folder in two_folders["folders"].items():
        rows = results.load(results.results_path(folder, "sewa-synth-tiny"))
        linked = cells.set_index("run_id").loc[list(rows["mlflow_run_id"])]
        assert set(linked["tags.results_dir"]) == {str(folder.resolve())}, name
        assert list(linked["tags.cell_key"]) == list(rows["cell_key"])
        parent = sweeps[sweeps["tags.results_dir"] == str(folder.resolve())]
        assert len(parent) == 1 and set(linked["tags.mlflow.parentRunId"]) == set(
            parent["run_id"])
    assert set(found["status"]) == {"FINISHED"}


def test_cell_runs_name_their_dataset_and_carry_the_tags_runs_are_filtered_by(two_folders):
    found = runs(two_folders["uri"], "emorec/tr")
    cells = found[found["tags.cell_key"].notna()].set_index("tags.model")
    for model, family in (("chance", "reference"), ("bayesian_ridge", "classic")):
        cell = cells.loc[model].iloc[0]
        assert cell["tags.family"] == family and cell["tags.modality"]
        assert cell["tags.online_offline"] == "online"
        assert cell["tags.seed_free"] == "true" and cell["tags.tuned_by"] == ""
        assert cell["tags.origin"] == "stand-in" and cell["tags.dataset"] == "sewa-synth-tiny"
    fingerprint = two_folders["rows"]["A"]["fingerprint"].iloc[0]
    [one] = MlflowClient().get_run(cells["run_id"].iloc[0]).inputs.dataset_inputs
    assert (one.dataset.name, one.dataset.digest) == ("sewa-synth-tiny", fingerprint)
    source = json.loads(one.dataset.source)["uri"]
    assert source.startswith(str(two_folders["data"].resolve()))
    assert {t.key: t.value for t in one.tags}["mlflow.data.context"] == "training"
    assert json.loads(one.dataset.profile)["origin"] == "stand-in"
    # MLflow's own dataset filter finds them (the UI's Dataset column and filter)
    by_dataset = mlflow.search_runs(experiment_names=["emorec/tr"], filter_string=(
        f"dataset.name = 'sewa-synth-tiny' and dataset.digest = '{fingerprint}'"))
    assert len(by_dataset) == 6   # 4 cell runs and the 2 sweeps


def test_a_sweep_parent_run_ends_with_the_suites_params_and_a_summary(two_folders):
    found = runs(two_folders["uri"], "emorec/tr")
    parent = found[(found["tags.kind"] == "sweep")
                   & (found["tags.results_dir"] == str(two_folders["folders"]["A"].resolve()))]
    run = MlflowClient().get_run(parent["run_id"].iloc[0])
    metrics, params = run.data.metrics, run.data.params
    assert metrics["cells_planned"] == metrics["cells_fitted"] == 2
    assert metrics["cells_reused"] == metrics["cells_unfinished"] == 0
    rows = two_folders["rows"]["A"]
    best = rows.loc[rows["dev_mean_ccc"].idxmax()]
    assert metrics["best_variant_dev_mean_ccc"] == pytest.approx(best["dev_mean_ccc"])
    assert metrics["best_variant_test_mean_ccc"] == pytest.approx(best["test_mean_ccc"])
    assert params["suite"] == "tr" and params["models"] == "chance, bayesian_ridge"
    assert params["seeds"] == "0" and params["dataset"] == "sewa-synth-tiny"
    table = mlflow.load_table("sweep_summary.json", run_ids=[run.info.run_id])
    assert list(table["model"]) == ["bayesian_ridge", "chance"]   # best dev CCC first
    text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/sweep_summary.md")
    # the headline the sweep printed, the board's own (emorec.report.sweep.summary)
    assert text == summary(two_folders["folders"]["A"], "sewa-synth-tiny") + "\n"
    assert "bayesian_ridge" in text and "test CCC mean" in text


def tune_args(model: str, dataset, storage, uri, *extra) -> list[str]:
    return ["-q", "tune", model, "--dataset", str(dataset), "--trials", "2", "--study", "s",
            "--storage", str(storage), "--tracking-uri", uri, *extra]


def test_a_study_names_its_objective_logs_what_it_tunes_and_tune_prints_where_to_look(
        tiny_sewa_dir, tmp_path, capsys):
    storage, uri = tmp_path / "o.journal", f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(tune_args("decision_tree", tiny_sewa_dir, storage, uri)) == 0
    study = optuna.load_study(study_name="s",
                              storage=JournalStorage(JournalFileBackend(str(storage))))
    assert study.metric_names == ["dev_mean_ccc"]
    [parent] = [r for r in mlflow.search_runs(experiment_names=["emorec/tune/decision_tree"],
                                              output_format="list")
                if r.data.tags["kind"] == "study"]
    params = parent.data.params
    assert params["model"] == "decision_tree" and params["seed"] == "0"
    assert params["objective"] == "maximize dev_mean_ccc"
    assert json.loads(params["space.max_depth"])["high"] >= 2
    assert params["sampler"].startswith("TPESampler")
    assert parent.data.tags["trials_requested"] == "2"
    [one] = parent.inputs.dataset_inputs
    assert one.dataset.digest == study.user_attrs["fingerprint"]
    out = capsys.readouterr().out
    experiment = parent.info.experiment_id
    assert (f"MLflow: study run {parent.info.run_id} in experiment emorec/tune/decision_tree "
            f"(id {experiment}) of {uri}") in out
    assert f"/#/experiments/{experiment}/runs/{parent.info.run_id}" in out
    assert f"Optuna: optuna-dashboard {storage}" in out


def one_line_error(capsys, args) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("emorec: error: "), err
    return err


def test_tune_with_an_unknown_model_refuses_before_making_data_or_a_study(tmp_path, capsys):
    suite = tmp_path / "tr.toml"
    suite.write_text(CHEAP)
    storage, data = tmp_path / "o.journal", tmp_path / "data"
    err = one_line_error(capsys, tune_args("grux", suite, storage, "sqlite:///m.db",
                                           "--data-dir", str(data)))
    assert "unknown model 'grux'; did you mean 'gru'?" in err
    assert not data.exists() and not storage.exists()


def test_tune_on_a_missing_dataset_leaves_no_study_behind(tmp_path, tiny_sewa_dir, capsys):
    storage, uri = tmp_path / "o.journal", f"sqlite:///{tmp_path / 'mlflow.db'}"
    err = one_line_error(capsys, tune_args("gru", tmp_path / "nowhere", storage, uri))
    assert "nowhere" in err and "not an emorec dataset folder" in err
    assert not storage.exists() or optuna.get_all_study_names(
        JournalStorage(JournalFileBackend(str(storage)))) == []
    # the study name is free for any model: nothing pinned it to gru
    assert main(tune_args("decision_tree", tiny_sewa_dir, storage, uri)) == 0


def test_processes_logging_one_new_dataset_at_once_each_link_it(tmp_path):
    """MLflow looks a dataset up, then inserts it: two shards logging the same new dataset at
    the same moment both insert and one fails on the unique key (a plain `log_inputs` fails
    in about one round in four here). Each round starts two writers on a fresh experiment
    at one barrier; every run must end with its input, and the dataset be stored once."""
    import sqlite3
    import threading

    from emorec.tracking.runs import DatasetRef, log_input

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = MlflowClient()
    dataset = DatasetRef("sewa-synth", "f" * 16, tmp_path, {"sessions": 3})
    for round_ in range(20):
        experiment = client.create_experiment(f"race-{round_}")
        run_ids = [client.create_run(experiment).info.run_id for _ in range(2)]
        barrier, errors = threading.Barrier(2), []

        def write(run_id, barrier=barrier, errors=errors):
            barrier.wait()
            try:
                log_input(client, run_id, dataset.input("training"))
            except Exception as error:   # noqa: BLE001 - reported below, with the round
                errors.append(error)

        writers = [threading.Thread(target=write, args=(run_id,)) for run_id in run_ids]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert not errors, f"round {round_}: {errors[0]}"
        digests = [[i.dataset.digest for i in client.get_run(r).inputs.dataset_inputs]
                   for r in run_ids]
        assert digests == [["f" * 16], ["f" * 16]]
        with sqlite3.connect(tmp_path / "mlflow.db") as store:
            stored = store.execute("SELECT digest FROM datasets WHERE experiment_id = ?",
                                   (int(experiment),)).fetchall()
        assert stored == [("f" * 16,)]
