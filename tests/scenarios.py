"""Scale-out scenarios, run against the local stores (journal file, SQLite MLflow) by the
ordinary tests and against real PostgreSQL and an MLflow tracking server by test_servers.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna
from optuna.trial import TrialState

from emorec.store import results
from emorec.sweep.suites import load_suite
from emorec.tuning.plan import FINISHED, StudyPlan
from emorec.tuning.storage import open_storage
from emorec.tuning.study import run_study

TRIAL_PARAMS = {"epochs": 3, "patience": 3, "epoch_samples": None}


def emorec(*args: str) -> list[str]:
    return [sys.executable, "-m", "emorec.cli", *args]


def trial_runs(tracking_uri: str, study: str, model: str = "gru"):
    """(trial runs, study runs) of one study in MLflow."""
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=[f"emorec/tune/{model}"],
                              filter_string=f"tags.study = '{study}'")
    return runs[runs["tags.kind"] == "trial"], runs[runs["tags.kind"] == "study"]


def load(storage: str, study: str) -> optuna.Study:
    return optuna.load_study(study_name=study, storage=open_storage(storage))


def study_with_two_workers(storage: str, tracking_uri: str, dataset: Path, study: str,
                           trials: int = 5) -> None:
    """2 worker processes, N trials: exactly N finished-or-pruned trials in Optuna and N trial
    runs under one study run in MLflow; topping the study up logs only the new trials."""
    plan = StudyPlan(model="gru", dataset=dataset, fixed=TRIAL_PARAMS, trials=trials, seed=0,
                     study=study, storage=storage)
    result = run_study(plan, workers=2, tracking_uri=tracking_uri)
    assert len(result.get_trials(states=FINISHED)) == trials
    others = [t for t in result.trials if t.state not in FINISHED]
    assert all(t.user_attrs.get("surplus") for t in others), [   # a lost race, no work done
        (t.number, t.state.name, t.user_attrs) for t in others]
    runs, parents = trial_runs(tracking_uri, study)
    assert len(parents) == 1 and len(runs) == trials
    assert sorted(runs["tags.trial"].astype(int)) == list(range(trials))
    assert set(runs["tags.mlflow.parentRunId"]) == set(parents["run_id"])
    assert runs.loc[runs["tags.state"] == "COMPLETE", "metrics.dev_mean_ccc"].notna().all()
    assert len({w for w in runs["tags.worker"]}) == 2     # both workers ran trials
    # --trials is the study's size: asking for 2 more means trials + 2, and asking again is a
    # no-op that logs nothing twice
    for _ in range(2):
        result = run_study(StudyPlan(**{**plan.__dict__, "trials": trials + 2}),
                           tracking_uri=tracking_uri)
        runs, parents = trial_runs(tracking_uri, study)
        finished = result.get_trials(states=FINISHED)   # not a surplus trial of a lost race
        assert len(finished) == len(runs) == trials + 2 and len(parents) == 1


def two_machines_share_one_study(storage: str, tracking_uri: str, dataset: Path, study: str,
                                 cwd: Path, trials: int = 5) -> None:
    """The same `emorec tune --trials N` started twice at once, as on two machines: together
    they stop at exactly N finished trials, each logged once."""
    command = tune_command(storage, tracking_uri, dataset, study, trials, workers=1)
    machines = [subprocess.Popen([*command, f"--first-worker={machine}"], cwd=cwd,
                                 stderr=subprocess.PIPE, text=True) for machine in (0, 1)]
    for machine in machines:
        _, stderr = machine.communicate(timeout=600)
        assert machine.returncode == 0, stderr
    result = load(storage, study)
    finished = result.get_trials(states=FINISHED)
    assert len(finished) == trials
    assert len({t.user_attrs["worker"] for t in finished}) == 2     # both took part
    assert len({tuple(sorted(t.params.items())) for t in finished}) == trials   # no trial twice
    surplus = [t for t in result.trials if t.state == TrialState.FAIL]
    assert all(t.user_attrs.get("surplus") for t in surplus)   # only lost races, no work done
    runs, parents = trial_runs(tracking_uri, study)
    assert len(parents) == 1 and set(runs["tags.mlflow.parentRunId"]) == set(parents["run_id"])
    assert sorted(runs["tags.trial"].astype(int)) == sorted(t.number for t in finished)


def tune_command(storage: str, tracking_uri: str, dataset: Path, study: str, trials: int,
                 workers: int) -> list[str]:
    return emorec("tune", "gru", "--dataset", str(dataset), "--trials", str(trials),
                  "--workers", str(workers), "--study", study, "--storage", storage,
                  "--tracking-uri", tracking_uri,
                  *(f"--param={k}={'null' if v is None else v}" for k, v in TRIAL_PARAMS.items()))


def kill_a_worker_and_rerun(storage: str, tracking_uri: str, dataset: Path, study: str,
                            cwd: Path, trials: int = 6) -> None:
    """SIGKILL one worker of a 2-worker `emorec tune` mid-trial, then rerun the same command:
    the study ends with exactly N finished trials, the killed trial's params were run again,
    and MLflow holds each finished trial once."""
    command = tune_command(storage, tracking_uri, dataset, study, trials, workers=2)
    first = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True)
    victim = None
    deadline = time.monotonic() + 300
    while victim is None and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
        try:
            running = load(storage, study).get_trials(states=(TrialState.RUNNING,))
        except KeyError:   # the study is not created yet
            continue
        training = [t for t in running if "params" in t.user_attrs]
        if training:
            victim = training[0]
            os.kill(int(victim.user_attrs["worker"].rpartition(":")[2]), signal.SIGKILL)
    assert victim is not None, "no trial was ever seen training"
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 2, stderr
    assert "tuning worker(s) failed" in stderr
    again = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    result = load(storage, study)
    finished = result.get_trials(states=FINISHED)
    assert len(finished) == trials
    killed = result.trials[victim.number]
    assert killed.state == TrialState.FAIL
    retried = [t for t in result.trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retried) == 1 and retried[0].state in FINISHED
    assert retried[0].params == victim.params
    runs, parents = trial_runs(tracking_uri, study)
    assert len(parents) == 1 and len(runs) == trials
    assert sorted(runs["tags.trial"].astype(int)) == sorted(t.number for t in finished)


SUITE = """  # a small suite: 4 cells (chance and bayesian_ridge are seed-free), each about a second
name = "{name}"
seeds = [0, 1]
[dataset]
stand_in = {{ kind = "sewa", size = "tiny", seed = 0 }}
[[experiments]]
model = "chance"
[[experiments]]
model = "bayesian_ridge"
[[experiments]]
model = "ffnn"
params = {{ epochs = {epochs}, patience = {epochs} }}
"""


def sweep_in_two_shards(tracking_uri: str, suite: Path, results_dirs: tuple[Path, Path],
                        merged: Path, cwd: Path, data_dir: Path) -> None:
    """Two `emorec bench --shard i/2` processes logging to one tracking store: every cell once
    in MLflow and once in the merged results."""
    load_suite(suite).dataset_path(data_dir)   # the stand-in, made once before the shards
    shards = [subprocess.Popen(emorec("-q", "bench", str(suite), "--shard", f"{i}/2",
                                      "--tracking-uri", tracking_uri,
                                      "--results-dir", str(folder), "--data-dir", str(data_dir),
                                      ), cwd=cwd, stderr=subprocess.PIPE, text=True)
              for i, folder in enumerate(results_dirs, start=1)]
    for shard in shards:
        _, stderr = shard.communicate(timeout=600)
        assert shard.returncode == 0, stderr
    merge = subprocess.run(emorec("merge-results", *map(str, results_dirs),
                                  "--results-dir", str(merged)),
                           cwd=cwd, capture_output=True, text=True)
    assert merge.returncode == 0, merge.stderr
    table = results.load_all(merged)
    parts = [set(results.load_all(folder)["cell_key"]) for folder in results_dirs]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    assert set(table["cell_key"]) == parts[0] | parts[1] and table["cell_key"].is_unique
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=[f"emorec/{table['suite'].iloc[0]}"])
    cells = runs[runs["tags.cell_key"].notna()]
    assert (cells["status"] == "FINISHED").all()
    assert sorted(cells["tags.cell_key"]) == sorted(table["cell_key"]), (
        cells[["run_id", "experiment_id", "tags.cell_key", "tags.model"]].to_string())


def tamper_test_sums(path: Path, model: str) -> None:
    """Halve Σy·p of every test session of ``model``'s first row in a results file, as a hand
    edit would change what its metrics are derived from."""
    import json

    import pandas as pd

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = table.index[table["model"] == model][0]
    sums = json.loads(table.loc[first, "test_session_stats"])
    for per_target in sums.values():
        for values in per_target:
            values[5] *= 0.5
    table.loc[first, "test_session_stats"] = json.dumps(sums, separators=(",", ":"))
    table.to_csv(path, index=False)
