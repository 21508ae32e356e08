"""Optuna studies: trial counts in Optuna and MLflow, reproducible sampling, pruning reports."""

import mlflow
import optuna
import pytest

from emorec.errors import EmorecError
from emorec.tuning import StudyPlan, run_study, shares

FIXED = {"epochs": 3, "patience": 3, "epoch_samples": None}
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def plan(tmp_path, dataset, study="s", trials=4, seed=0, model="gru", storage=None):
    return StudyPlan(model=model, dataset=dataset, fixed=FIXED, trials=trials, seed=seed,
                     study=study, storage=storage or str(tmp_path / "optuna.journal"))


def trial_runs(tracking_uri, model="gru"):
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=[f"emorec/tune/{model}"])
    return runs[runs["tags.kind"] == "trial"], runs[runs["tags.kind"] == "study"]


def test_two_workers_give_exactly_n_trials_in_optuna_and_mlflow(tmp_path, tiny_sewa_dir):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = run_study(plan(tmp_path, tiny_sewa_dir, trials=5), workers=2, tracking_uri=uri)
    assert len(study.get_trials(states=FINISHED)) == len(study.trials) == 5
    trials, parents = trial_runs(uri)
    assert len(parents) == 1 and len(trials) == 5
    assert sorted(trials["tags.trial"].astype(int)) == [0, 1, 2, 3, 4]
    assert set(trials["tags.mlflow.parentRunId"]) == set(parents["run_id"])
    complete = trials[trials["tags.state"] == "COMPLETE"]
    assert complete["metrics.dev_mean_ccc"].notna().all()
    # resuming the study adds trials and logs only the new ones, under the same study run
    study = run_study(plan(tmp_path, tiny_sewa_dir, trials=2), tracking_uri=uri)
    trials, parents = trial_runs(uri)
    assert len(study.trials) == 7 and len(trials) == 7 and len(parents) == 1


def test_same_seed_same_storage_type_same_sampled_params(tmp_path, tiny_sewa_dir):
    def sampled(name, seed):
        study = run_study(plan(tmp_path, tiny_sewa_dir, study=name, trials=4, seed=seed,
                               storage=str(tmp_path / f"{name}.journal")),
                          tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
        return [t.params for t in study.trials]

    first, again, other = sampled("a", 7), sampled("b", 7), sampled("c", 8)
    assert first == again
    assert first != other


def test_nets_report_every_epoch_for_pruning(tmp_path, tiny_sewa_dir):
    study = run_study(plan(tmp_path, tiny_sewa_dir, trials=3),
                      tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        assert sorted(trial.intermediate_values) == [0, 1, 2]
        assert trial.value == pytest.approx(trial.user_attrs["dev_metrics"]["dev_mean_ccc"])


def test_study_of_another_model_and_models_without_space_are_refused(tmp_path, tiny_sewa_dir):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
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


def test_trials_are_shared_out_exactly():
    assert shares(5, 2) == [3, 2] and sum(shares(40, 3)) == 40 and shares(1, 3) == [1, 0, 0]
