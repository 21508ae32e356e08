"""Optuna studies: exact trial counts in Optuna and MLflow, dead workers, reproducible sampling,
pruning reports, tuned rows."""

import os
import socket
import subprocess

import mlflow
import optuna
import pytest
from scenarios import TRIAL_PARAMS, kill_a_worker_and_rerun, study_with_two_workers, trial_runs

from emorec.cells import canonical_params
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.system.processes import alive, worker_id
from emorec.tuning.objective import Objective, SurplusTrial
from emorec.tuning.plan import FINISHED, StudyPlan
from emorec.tuning.space import suggest
from emorec.tuning.storage import create_study
from emorec.tuning.study import run_study
from emorec.tuning.tuned import tuned_params


def plan(tmp_path, dataset, study="s", trials=4, seed=0, model="gru", storage=None):
    return StudyPlan(model=model, dataset=dataset, fixed=TRIAL_PARAMS, trials=trials, seed=seed,
                     study=study, storage=storage or str(tmp_path / "optuna.journal"))


@pytest.mark.slow
def test_two_workers_give_exactly_n_trials_in_optuna_and_mlflow(tmp_path, tiny_sewa_dir):
    study_with_two_workers(str(tmp_path / "optuna.journal"), f"sqlite:///{tmp_path / 'm.db'}",
                           tiny_sewa_dir, "two-workers")


@pytest.mark.slow
def test_a_killed_worker_is_rerun_with_nothing_lost_or_duplicated(tmp_path, tiny_sewa_dir):
    kill_a_worker_and_rerun(str(tmp_path / "optuna.journal"), f"sqlite:///{tmp_path / 'm.db'}",
                            tiny_sewa_dir, "killed", cwd=tmp_path)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_trial_of_a_dead_worker_is_failed_and_its_params_run_again(tmp_path, tiny_sewa_dir):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    study = create_study(plan(tmp_path, tiny_sewa_dir))
    orphan = study.ask()
    params = suggest(orphan, MODELS.get("gru"), {})
    orphan.set_user_attr("worker", f"{socket.gethostname()}:{dead_pid()}")
    study = run_study(plan(tmp_path, tiny_sewa_dir, trials=2), tracking_uri=uri)
    assert study.trials[orphan.number].state == optuna.trial.TrialState.FAIL
    assert len(study.get_trials(states=FINISHED)) == 2
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == orphan.number]
    assert len(retried) == 1 and retried[0].params == params
    assert retried[0].state in FINISHED
    runs, _ = trial_runs(uri, "s")
    assert len(runs) == 2


def test_a_trial_beyond_the_study_size_does_no_work(tmp_path, tiny_sewa_dir):
    the_plan = plan(tmp_path, tiny_sewa_dir, trials=1)
    study = create_study(the_plan)
    study.ask().set_user_attr("worker", worker_id())    # running, in this live process
    late = study.ask()
    with pytest.raises(SurplusTrial, match="already has 1 trials"):
        Objective(the_plan)(late)
    assert "params" not in study.trials[late.number].user_attrs


@pytest.mark.slow
@pytest.mark.parametrize("storage_type", ["journal", "sqlite"])
def test_same_seed_same_storage_type_same_sampled_params(tmp_path, tiny_sewa_dir, storage_type,
                                                         places):
    def storage(name):
        if storage_type == "journal":
            return str(tmp_path / f"{name}.journal")
        return f"sqlite:///{tmp_path / f'{name}.db'}"   # an RDB storage, with heartbeats

    def sampled(name, seed):
        study = run_study(plan(tmp_path, tiny_sewa_dir, study=name, trials=4, seed=seed,
                               storage=storage(name)),
                          tracking_uri=places["tracking_uri"])
        return [t.params for t in study.trials]

    first, again, other = sampled("a", 7), sampled("b", 7), sampled("c", 8)
    assert first == again
    assert first != other


def test_nets_report_every_epoch_for_pruning_and_each_trial_prints_a_line(
        tmp_path, tiny_sewa_dir, capsys, places):
    study = run_study(plan(tmp_path, tiny_sewa_dir, trials=3),
                      tracking_uri=places["tracking_uri"])
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        assert sorted(trial.intermediate_values) == [0, 1, 2]
        assert trial.value == pytest.approx(trial.user_attrs["dev_metrics"]["dev_mean_ccc"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("study s:")]
    assert len(lines) == 3 and lines[-1].endswith("[3/3 finished]")
    assert all(" trial " in line and " in " in line for line in lines)


@pytest.mark.parametrize("predictions, problem", [
    ({"valence_pred": [0.999, -0.995, 0.9999, 0.1], "arousal_pred": [0.1, 0.2, 0.3, 0.4]},
     "saturated: valence"),
    ({"valence_pred": [0.1, 0.2, 0.3, 0.4], "arousal_pred": [0.25, 0.25, 0.25, 0.25]},
     "constant: arousal"),
    ({"valence_pred": [0.1, 0.2, 0.3, 0.4], "arousal_pred": [0.9, -0.2, 0.3, 0.995]}, ""),
])
def test_a_saturated_or_constant_net_fails_its_trial(predictions, problem):
    import pandas as pd

    from emorec.tuning.objective import saturated

    assert saturated(pd.DataFrame(predictions)).startswith(problem) if problem else \
        saturated(pd.DataFrame(predictions)) == ""


def test_study_of_another_model_and_models_without_space_are_refused(tmp_path, tiny_sewa_dir,
                                                                     places):
    uri = places["tracking_uri"]
    run_study(plan(tmp_path, tiny_sewa_dir, trials=1), tracking_uri=uri)
    with pytest.raises(EmorecError, match="tunes 'gru', not 'fusion1'"):
        run_study(plan(tmp_path, tiny_sewa_dir, trials=1, model="fusion1"), tracking_uri=uri)
    chance = StudyPlan(model="chance", dataset=tiny_sewa_dir, fixed={}, trials=1, seed=0,
                       study="c", storage=str(tmp_path / "c.journal"))
    with pytest.raises(EmorecError, match="'chance' has no search space"):
        run_study(chance, tracking_uri=uri)
    with pytest.raises(EmorecError, match="no parameter"):
        run_study(StudyPlan(**{**plan(tmp_path, tiny_sewa_dir).__dict__, "fixed": {"x": 1}}),
                  tracking_uri=uri)


@pytest.mark.slow
def test_tuned_params_are_the_best_trial_and_bench_runs_them_as_tuned_rows(
        tmp_path, tiny_sewa_dir, tiny_sewa, monkeypatch, places):
    from emorec.report.pages import render_all
    from emorec.sweep.runner import run_suite
    from emorec.sweep.suites import load_suite

    storage = str(tmp_path / "optuna.journal")
    study = run_study(plan(tmp_path, tiny_sewa_dir, study="t", trials=3, storage=storage),
                      tracking_uri=places["tracking_uri"])
    tuned = tuned_params("t", storage)
    assert tuned.model == "gru" and tuned.trial == study.best_trial.number
    assert tuned.params == study.best_trial.user_attrs["params"]
    assert tuned.fingerprint == tiny_sewa.manifest.fingerprint
    suite = tmp_path / "suite.toml"
    suite.write_text('name = "tq"\nseeds = [0, 1]\n[dataset]\n'
                     'stand_in = { kind = "sewa", size = "tiny", seed = 0 }\n'
                     '[[experiments]]\nmodel = "chance"\n')
    run_suite(load_suite(suite), **places)
    rows = run_suite(load_suite(suite), **places, tuned=tuned)
    assert list(rows["tuned_by"]) == ["t", "t"] and list(rows["seed"]) == [0, 1]
    assert {r for r in rows["params"]} == {canonical_params(tuned.params)}
    # the seed-0 tuned row repeats the study's training of the best trial exactly
    assert rows["dev_mean_ccc"].iloc[0] == pytest.approx(tuned.dev_mean_ccc, abs=1e-12)
    runs = mlflow.search_runs(experiment_names=["emorec/tq"],
                              filter_string="tags.tuned_by = 't' and tags.cell_key != ''")
    assert sorted(runs["tags.cell_key"]) == sorted(rows["cell_key"])
    assert set(runs["tags.tuned_study_trials"]) == {"3"}
    assert set(runs["tags.tuned_trial"]) == {str(tuned.trial)}
    text = render_all(places["results_dir"], tmp_path / "board")[0].read_text()
    tuned_table = text.split("## Tuned rows")[1].split("\n## ")[0]
    assert "| t       | 3        |" in tuned_table and "| gru " in tuned_table
    # tuned params are refused on other data
    other = tmp_path / "other.toml"
    other.write_text(suite.read_text().replace("seed = 0 }", "seed = 1 }"))
    with pytest.raises(EmorecError, match="the study tuned on dataset fingerprint"):
        run_suite(load_suite(other), **places, tuned=tuned)
    with pytest.raises(EmorecError, match="no study 'nope'"):
        tuned_params("nope", storage)
    with pytest.raises(EmorecError, match="no Optuna storage"):
        tuned_params("t", str(tmp_path / "missing.journal"))
    assert os.path.exists(storage)


@pytest.mark.slow
def test_optuna_dashboard_reads_the_journal_storage(tmp_path, tiny_sewa_dir, places):
    """`make dashboard` runs optuna-dashboard on the journal file emorec writes."""
    import json
    import sys
    import time
    import urllib.request
    from pathlib import Path

    storage = str(tmp_path / "optuna.journal")
    run_study(plan(tmp_path, tiny_sewa_dir, study="shown", trials=1, storage=storage),
              tracking_uri=places["tracking_uri"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dashboard = subprocess.Popen(
        [str(Path(sys.executable).parent / "optuna-dashboard"), storage, "--host", "127.0.0.1",
         "--port", str(port), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies") as reply:
                    studies = json.load(reply)["study_summaries"]
                break
            except OSError:
                assert dashboard.poll() is None, dashboard.stderr.read().decode()
                time.sleep(0.2)
        else:
            pytest.fail("optuna-dashboard did not answer")
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)
    assert [s["study_name"] for s in studies] == ["shown"]


def test_a_killed_but_unreaped_worker_counts_as_dead():
    import time

    child = subprocess.Popen(["sleep", "30"])
    assert alive(child.pid)
    child.kill()
    time.sleep(0.5)        # dead, not yet waited for: a zombie
    assert child.returncode is None and not alive(child.pid)
    child.wait()
    assert not alive(child.pid)
