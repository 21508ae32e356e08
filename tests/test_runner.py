import json
import os
import re
import signal
import subprocess
import sys
import time

import mlflow
import pandas as pd
import pytest
import torch
from helpers import ROOT
from scenarios import SUITE

from emorec.cells import seed_label
from emorec.cli import main
from emorec.errors import DataError, EmorecError
from emorec.store import predictions, result_rows, results, schema
from emorec.sweep.runner import run_suite
from emorec.sweep.suites import load_suite
from emorec.system.provenance import code_version


@pytest.fixture
def workspace(tmp_path, places):
    def suite(name="t", epochs=3, text=None):
        path = tmp_path / f"{name}.toml"
        path.write_text(text if text is not None else SUITE.format(name=name, epochs=epochs))
        return path

    return suite, places


def finished_runs(tracking_uri, suite):
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=[f"emorec/{suite}"])
    return runs[(runs["status"] == "FINISHED") & runs["tags.cell_key"].notna()]


def test_sweep_logs_one_run_and_one_row_per_cell_then_resumes(workspace):
    suite, places = workspace
    first = run_suite(load_suite(suite()), **places)   # chance and bayesian_ridge seed-free
    assert len(first) == 4 and first["cell_key"].is_unique
    runs = finished_runs(places["tracking_uri"], "t")
    assert sorted(runs["tags.cell_key"]) == sorted(first["cell_key"])
    for column in ("metrics.test_mean_ccc", "metrics.dev_valence_rmse",
                   "metrics.test_arousal_ccc_session"):
        assert runs[column].notna().all()
    assert set(runs["tags.origin"]) == {"stand-in"}
    assert runs["tags.mlflow.parentRunId"].nunique() == 1
    # runs read as people expect: named, timed around the fit, with the commit that made them
    by_key = first.set_index("cell_key")
    for _, run in runs.iterrows():
        row = by_key.loc[run["tags.cell_key"]]
        assert run["tags.mlflow.runName"].endswith(seed_label(result_rows.row_seed(row["seed"])))
        assert run["tags.mlflow.runName"].startswith(row["model"])
        seconds = (run["end_time"] - run["start_time"]).total_seconds()
        assert seconds == pytest.approx(row["fit_seconds"], abs=0.002)
        assert run["tags.code_version"] == row["code_version"] == code_version()
        assert run["artifact_uri"].startswith((places["results_dir"].parent / "mlruns").as_uri())
    experiment = mlflow.get_experiment_by_name("emorec/t")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    # resume: nothing new runs, nothing is duplicated
    again = run_suite(load_suite(suite()), **places)
    assert len(again) == 4
    stored = results.load(results.results_path(places["results_dir"], "sewa-synth-tiny"))
    assert len(stored) == 4
    assert len(finished_runs(places["tracking_uri"], "t")) == 4


@pytest.mark.slow
def test_same_seed_same_metrics(workspace):
    suite, places = workspace
    run_suite(load_suite(suite()), **places)
    run_suite(load_suite(suite()), force=True, **places)
    stored = results.load(results.results_path(places["results_dir"], "sewa-synth-tiny"))
    first, second = stored.iloc[:4].reset_index(), stored.iloc[4:].reset_index()
    assert list(first["cell_key"]) == list(second["cell_key"])
    assert first[schema.METRIC_COLUMNS].equals(second[schema.METRIC_COLUMNS])


@pytest.mark.slow
def test_killed_sweep_resumes_with_every_cell_exactly_once(workspace, tmp_path):
    suite, places = workspace
    path = suite(name="k", epochs=150)
    command = [sys.executable, "-m", "emorec.cli", "-q", "bench", str(path), "--jobs", "1",
               "--results-dir", str(places["results_dir"]), "--data-dir", str(places["data_dir"]),
               "--tracking-uri", places["tracking_uri"]]
    results_file = results.results_path(places["results_dir"], "sewa-synth-tiny")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if results_file.exists() and len(results_file.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = results.load(results_file)
    assert 2 <= len(partial) < 4, len(partial)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    complete = results.load(results_file)
    assert len(complete) == 4 and complete["cell_key"].is_unique
    assert list(complete["cell_key"][:len(partial)]) == list(partial["cell_key"])
    runs = finished_runs(places["tracking_uri"], "k")
    assert sorted(runs["tags.cell_key"]) == sorted(complete["cell_key"])


def test_malformed_result_row_is_rejected_with_file_row_and_column(workspace):
    suite, places = workspace
    run_suite(load_suite(suite()), **places)
    path = results.results_path(places["results_dir"], "sewa-synth-tiny")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[3, "fit_seconds"] = "high"
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"sewa-synth-tiny.csv, row 5, column 'fit_seconds'"
                                        r": bad result record; expected a number, found 'high'"):
        results.load(path)


@pytest.mark.parametrize("experiment,message", [
    ('model = "bayesian_rige"', r"experiments #1: unknown model 'bayesian_rige'; did you mean "
                                r"'bayesian_ridge'\?"),
    ('model = "ffnn"\ngrid = { hiden = [1] }', r"experiments #1: model 'ffnn' has no "
                                               r"parameter\(s\) hiden"),
    ('model = "ffnn"\ngrid = { hidden = 3 }', r"grid.hidden: expected a non-empty list"),
    ('modle = "ffnn"', r"unknown keys \['modle'\]"),
])
def test_bad_suite_files(workspace, experiment, message):
    suite, _ = workspace
    text = ('name = "b"\n[dataset]\nstand_in = { kind = "sewa", size = "tiny" }\n'
            f"[[experiments]]\n{experiment}\n")
    with pytest.raises(EmorecError, match=message):
        load_suite(suite(name="b", text=text))


def test_leaderboard_matches_the_golden_file(tmp_path):
    from pathlib import Path

    from emorec.report.pages import render_all

    golden = Path(__file__).parent / "golden"
    written = render_all(golden, tmp_path)
    assert [p.name for p in written] == ["sewa-synth-tiny.md", "index.html",
                                         "sewa-synth-tiny.html"]   # the page, then its site
    expected = (golden / "sewa-synth-tiny.md").read_text()
    assert written[0].read_text() == expected
    assert "**Stand-in data.**" in expected and "noise ceiling" in expected
    assert "Reported in the thesis (real SEWA" in expected


NET_SUITE = """
name = "nets"
seeds = [0]
[dataset]
stand_in = { kind = "sewa", size = "tiny", seed = 0 }
[[experiments]]
model = "oracle"
[[experiments]]
model = "ffnn"
params = { epochs = 2 }
[[experiments]]
model = "gru"
params = { epochs = 3, patience = 3 }
grid = { window = [1.0, 2.0], pooling = ["max"] }
"""


@pytest.mark.slow
def test_nets_log_epochs_as_step_metrics_and_leaderboard_draws_figures(workspace, tmp_path):
    from mlflow.tracking import MlflowClient

    from emorec.report.pages import render_all

    suite, places = workspace
    finished = run_suite(load_suite(suite(name="nets", text=NET_SUITE)), **places)
    runs = finished_runs(places["tracking_uri"], "nets")
    client = MlflowClient(places["tracking_uri"])
    for _, run in runs[runs["tags.model"] == "gru"].iterrows():
        history = client.get_metric_history(run["run_id"], "epoch/dev_mean_ccc")
        assert [m.step for m in history] == [0, 1, 2]
        losses = client.get_metric_history(run["run_id"], "epoch/train_loss")
        assert len(losses) == 3
    kept = {key: predictions.load(places["results_dir"], "sewa-synth-tiny", key)
            for key in finished["cell_key"]}
    assert all(table is not None for table in kept.values())
    assert len({len(table) for table in kept.values()}) == 1    # the same frames for all
    written = render_all(places["results_dir"], tmp_path / "board")
    text = written[0].read_text()
    for figure in ("sewa-synth-tiny-ccc-by-window.png", "sewa-synth-tiny-trace.png"):
        assert f"(figures/{figure})" in text
        assert (tmp_path / "board" / "figures" / figure).stat().st_size > 1000
    assert "| gru " in text and "| max " in text


@pytest.mark.slow
def test_shards_run_every_cell_once_and_merge_into_the_same_leaderboard(workspace, tmp_path):
    from emorec.report.pages import render_all
    from emorec.sweep.sharding import parse_shard

    suite, places = workspace
    path = suite(name="s")
    whole = run_suite(load_suite(path), **{**places, "results_dir": tmp_path / "whole",
                                           "tracking_uri": f"sqlite:///{tmp_path / 'w.db'}"})
    parts = [run_suite(load_suite(path), **{**places, "results_dir": tmp_path / f"part{i}"},
                       shard=parse_shard(f"{i}/2")) for i in (1, 2)]
    first, second = (set(p["cell_key"]) for p in parts)
    assert first and second and not first & second
    assert first | second == set(whole["cell_key"])
    runs = finished_runs(places["tracking_uri"], "s")
    assert sorted(runs["tags.cell_key"]) == sorted(whole["cell_key"])     # each exactly once
    merged = tmp_path / "merged"
    sources = [tmp_path / "part1", tmp_path / "part2", tmp_path / "part1"]
    assert results.merge(sources, merged) == {"sewa-synth-tiny": (4 + len(first), 4)}
    # merging again reads the merged file too and still keeps each cell once
    assert results.merge(sources, merged) == {"sewa-synth-tiny": (8 + len(first), 4)}
    table = results.load(results.results_path(merged, "sewa-synth-tiny"))
    assert len(table) == 4 and table["cell_key"].is_unique
    for key in whole["cell_key"]:   # every cell's kept predictions came along
        assert predictions.load(merged, "sewa-synth-tiny", key).equals(
            predictions.load(tmp_path / "whole", "sewa-synth-tiny", key))
    board_whole = render_all(tmp_path / "whole", tmp_path / "board_whole")[0].read_text()
    board_merged = render_all(merged, tmp_path / "board_merged")[0].read_text()
    assert without_fit_times(board_merged) == without_fit_times(board_whole)


def without_fit_times(board: str) -> str:
    """A leaderboard less its fit core-s cells (the only cells of one decimal): the only numbers
    two runs of the same cells do not share."""
    return re.sub(r"\|\s*\d+\.\d\s*(?=\|)", "|", board)


def test_merging_one_folder_copies_its_results_byte_for_byte(workspace, tmp_path):
    suite, places = workspace
    run_suite(load_suite(suite()), **places)
    results.merge([places["results_dir"]], tmp_path / "copy")
    name = "sewa-synth-tiny.csv"
    assert (tmp_path / "copy" / name).read_bytes() == (places["results_dir"] / name).read_bytes()


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1", "1/0", "2/-1"])
def test_bad_shard_is_a_clear_error(text):
    from emorec.sweep.sharding import parse_shard

    with pytest.raises(EmorecError, match="--shard must be i/n"):
        parse_shard(text)


def test_older_schemas_are_read_as_the_current_one_and_rewritten_on_append(workspace, tmp_path):
    suite, places = workspace
    finished = run_suite(load_suite(suite()), **places)
    path = results.results_path(places["results_dir"], "sewa-synth-tiny")
    current = results.load(path)
    # before v9: metric columns stored, no dev sums, no recorded metrics
    stored_metrics = finished.drop(columns=["dev_session_stats", "recorded_metrics"])
    older = {1: stored_metrics.drop(columns=["tuned_by", "variant"]).assign(schema_version=1),
             2: stored_metrics.drop(columns=["variant"]).assign(schema_version=2),
             8: stored_metrics.assign(schema_version=8)}
    for version, table in older.items():
        old_path = tmp_path / f"v{version}.csv"
        table.to_csv(old_path, index=False)
        loaded = results.load(old_path)
        assert list(loaded.columns) == [*schema.COLUMNS, *schema.METRIC_COLUMNS]
        assert (loaded["schema_version"] == schema.SCHEMA_VERSION).all()
        assert (loaded["tuned_by"] == "").all()
        assert (loaded["dev_session_stats"] == "").all()
        assert list(loaded["variant"]) == list(current["variant"])   # from the model defaults
        # every metric as it was: test ones from the sums, dev ones as recorded
        same = ["schema_version", "dev_session_stats", "recorded_metrics"]
        assert loaded.drop(columns=same).equals(current.drop(columns=same))
        results.append(old_path, loaded.iloc[0].to_dict())
        assert old_path.read_text().splitlines()[0] == ",".join(schema.COLUMNS)
        assert results.load(old_path).iloc[:len(table)][schema.METRIC_COLUMNS].equals(
            loaded[schema.METRIC_COLUMNS])   # nothing lost in the rewrite
        assert len(results.load(old_path)) == len(table) + 1
    newer = tmp_path / "newer.csv"
    newer.write_text(path.read_text().replace(f"\n{schema.SCHEMA_VERSION},",
                                              f"\n{schema.SCHEMA_VERSION + 1},", 1))
    with pytest.raises(DataError, match="row 2, column 'schema_version'"):
        results.load(newer)


def test_runs_land_in_their_experiment_when_another_process_created_it_at_once(
        tmp_path, monkeypatch):
    """Two shards starting together on a tracking server: one creates the suite's experiment
    between the other's lookup and its create (the race seen in CI)."""
    from mlflow.tracking import MlflowClient
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    from emorec.tracking.runs import Tracker

    uri = f"sqlite:///{tmp_path / 'race.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("emorec/earlier")          # what this process used before
    created = MlflowClient().create_experiment(   # by the "other shard"
        "emorec/race", artifact_location=(tmp_path / "a").as_uri())
    lookup = TrackingServiceClient.get_experiment_by_name
    calls = []

    def not_yet_there_once(self, name):
        calls.append(name)
        return None if len(calls) == 1 else lookup(self, name)

    monkeypatch.setattr(TrackingServiceClient, "get_experiment_by_name", not_yet_there_once)
    tracker = Tracker(uri, "race", {}, recorded=set(), results_dir=tmp_path / "results")
    run_id = tracker.log_cell(key="k", name="chance seed 0", params={"seed": 0},
                              metrics={"test_mean_ccc": 0.0}, fit_started=time.time(),
                              fit_seconds=0.5, epochs=[], tags={},
                              predictions=pd.DataFrame({"x": [1]}))
    tracker.finish("k", run_id)
    tracker.close()
    assert calls[0] == "emorec/race"
    assert MlflowClient().get_run(run_id).info.experiment_id == created
    assert MlflowClient().get_run(tracker.parent).info.experiment_id == created


def test_a_row_names_the_commit_of_the_checkout_it_ran_from():
    """code_version finds the repository that holds the package, wherever its module sits."""
    if not (ROOT / ".git").exists():
        pytest.skip("not run from a git checkout")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}(\+dirty)?", code_version())
    assert code_version().removesuffix("+dirty") == head


def test_a_device_reaches_every_net_and_a_bad_one_is_one_line_before_any_cell(workspace,
                                                                               tmp_path, capsys):
    suite, places = workspace
    on_cpu = load_suite(suite()).on_device("cpu")
    devices = {e.model: e.params.get("device") for e in on_cpu.experiments}
    assert devices == {"chance": None, "bayesian_ridge": None, "ffnn": "cpu"}
    capsys.readouterr()
    assert main(["bench", str(suite()), "--device", "gpu0",
                 "--results-dir", str(places["results_dir"])]) == 2
    error = capsys.readouterr().err
    assert error.strip().count("\n") == 0
    assert "--device gpu0: expected cpu, cuda, cuda:N or mps" in error
    assert not places["results_dir"].exists()
    if not torch.cuda.is_available():   # refused before any cell runs, not halfway
        assert main(["bench", str(suite()), "--device", "cuda",
                     "--results-dir", str(tmp_path / "cuda")]) == 2
        error = capsys.readouterr().err
        assert "sees no CUDA device" in error
        assert error.strip().count("\n") == 0 and not (tmp_path / "cuda").exists()


@pytest.mark.slow
def test_a_device_makes_the_nets_rows_of_their_own(workspace):
    suite, places = workspace
    first = run_suite(load_suite(suite()), **places)
    placed = run_suite(load_suite(suite()).on_device("cpu"), **places)   # the nets again
    assert set(placed["cell_key"]) & set(first["cell_key"]) == set(
        first.loc[first["model"] != "ffnn", "cell_key"])   # the seed-free rows are shared
    stored = results.load(results.results_path(places["results_dir"], "sewa-synth-tiny"))
    nets = stored[stored["model"] == "ffnn"]
    assert len(stored) == len(first) + 2 and len(nets) == 4
    assert sorted(json.loads(p)["device"] for p in nets["params"]) == ["auto"] * 2 + ["cpu"] * 2
