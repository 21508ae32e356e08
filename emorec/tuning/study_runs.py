"""A study's MLflow runs: the study's own run (made once, by the process that created the study,
and found by every other), each finished trial logged once under it whichever machine ran it,
the params, counts and best trial of the study, and where to look at it all."""

from __future__ import annotations

import json
import shlex
import time

import optuna
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from emorec.cells import seed_value
from emorec.data.dataset import Dataset
from emorec.models import MODELS
from emorec.system.processes import gone_from_this_host
from emorec.tracking import runs as tracking
from emorec.tracking.mlflow_store import how_to_open, run_url
from emorec.tuning import DEFAULT_STORAGE
from emorec.tuning.objective import trial_seed
from emorec.tuning.plan import (
    FINISHED,
    OBJECTIVE,
    PRUNER_SETTINGS,
    SAMPLER_SETTINGS,
    StudyPlan,
    count,
)
from emorec.tuning.storage import open_storage

STUDY_RUN_WAIT_SECONDS = 60.0   # how long a machine waits for the study creator's MLflow run


def study_run(study: optuna.Study, plan: StudyPlan, tracking_uri: str, created: bool) -> str:
    """The study's MLflow run id in this tracking store. The process that created the study
    creates the run and records its id in the study; the others (machines started together)
    wait for it. A study first logged elsewhere gets its run from whoever logs it first here."""
    key = f"mlflow_run_id {tracking_uri}"
    fresh = not created and not study.trials   # its creator is starting up now
    waited = 0.0
    while fresh and key not in study.user_attrs and waited < STUDY_RUN_WAIT_SECONDS:
        time.sleep(0.5)
        waited += 0.5
        study = optuna.load_study(study_name=plan.study, storage=open_storage(plan.storage))
    if key not in study.user_attrs:
        study.set_user_attr(key, tracking.study_run(
            tracking_uri, plan.model, plan.study, study.user_attrs.get("uid", ""),
            _tags(plan)))
    return study.user_attrs[key]


def study_links(study: optuna.Study, plan: StudyPlan, tracking_uri: str) -> list[str]:
    """Where to look at the study: its MLflow run (store, experiment, run and how to open it)
    and the optuna-dashboard command for its storage."""
    run_id = study.user_attrs[f"mlflow_run_id {tracking_uri}"]
    experiment = MlflowClient().get_run(run_id).info.experiment_id
    dashboard = ("make dashboard" if plan.storage == DEFAULT_STORAGE
                 else f"optuna-dashboard {shlex.quote(plan.storage)}")
    return [f"MLflow: study run {run_id} in experiment {tracking.tune_experiment(plan.model)} "
            f"(id {experiment}) of {tracking_uri}; {how_to_open(tracking_uri)}"
            f"{run_url(tracking_uri, experiment, run_id)}",
            f"Optuna: {dashboard}  (the study's trials, params and dev CCC by trial)"]


def _tags(plan: StudyPlan) -> dict:
    return {"study": plan.study, "storage": plan.storage, "model": plan.model,
            "dataset": str(plan.dataset)}


def study_params(study: optuna.Study) -> dict:
    """What the study's MLflow run records as params: what it tunes, on which data, and how it
    samples, as recorded in the study when it was made (the same on every machine)."""
    attrs = study.user_attrs
    return {"model": attrs["model"], "dataset": attrs["dataset"],
            "dataset_fingerprint": attrs["fingerprint"], "split_hash": attrs["split_hash"],
            "seed": attrs["seed"], "fixed": json.dumps(attrs["fixed"], sort_keys=True),
            "objective": f"maximize {OBJECTIVE}",
            "sampler": f"TPESampler {json.dumps(SAMPLER_SETTINGS, sort_keys=True)}",
            "pruner": f"MedianPruner {json.dumps(PRUNER_SETTINGS, sort_keys=True)}",
            **{f"space.{name}": json.dumps(search) for name, search in
               attrs.get("space", {}).items()}}


def log_study(study: optuna.Study, plan: StudyPlan, tracking_uri: str, parent: str,
              own: set[str], dataset: Dataset) -> None:
    """Log each finished trial that this invocation's workers ran, or whose worker on this host
    is gone (a crashed earlier run), unless already logged: so that machines sharing a study
    never log a trial twice. Then the study's params, counts and best trial."""
    logged = tracking.logged_trials(tracking_uri, plan.model, parent)
    seed = seed_value(trial_seed(plan))

    def ours(trial) -> bool:
        worker = str(trial.user_attrs.get("worker", ""))
        return worker in own or gone_from_this_host(worker)

    trials = [{"number": t.number, "state": t.state.name,
               "worker": str(t.user_attrs.get("worker")),
               "params": {**t.user_attrs.get("params", t.params), "seed": seed},
               "metrics": t.user_attrs.get("dev_metrics", {}),
               "epochs": dict(sorted(t.intermediate_values.items()))}
              for t in study.get_trials(deepcopy=False, states=FINISHED)
              if t.number not in logged and ours(t)]
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    summary = {"trials_complete": count(study, (TrialState.COMPLETE,)),
               "trials_pruned": count(study, (TrialState.PRUNED,)),
               "trials_failed": sum(not t.user_attrs.get("surplus") for t in failed)}
    best = None
    if count(study, (TrialState.COMPLETE,)):
        summary["best_dev_mean_ccc"] = study.best_value
        best = {"trial": study.best_trial.number,
                "params": study.best_trial.user_attrs.get("params")}
    spec = MODELS.get(plan.model)
    tags = {**_tags(plan), "family": spec.family, "modality": spec.modality,
            "origin": dataset.manifest.origin, "seed_free": str(not spec.seeded).lower()}
    ref = tracking.DatasetRef(dataset.name, dataset.manifest.fingerprint, plan.dataset,
                              {"origin": dataset.manifest.origin,
                               "split_hash": study.user_attrs["split_hash"]})
    tracking.log_study(tracking_uri, plan.model, parent, tags, trials, summary, best,
                       params=study_params(study), dataset=ref,
                       study_tags={"trials_requested": str(plan.trials)})
