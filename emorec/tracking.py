"""Every MLflow write: sweeps (one experiment per suite, a parent run, a nested run per cell) and
tuning studies (one experiment per model, a run per study, a nested run per trial).

The embedded default store is ``sqlite:///mlflow.db`` (MLflow's own default); only the main
process writes to it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
METRIC_BATCH = 1000   # MLflow's limit of metrics per log_batch call


def suite_experiment(suite: str) -> str:
    return f"emorec/{suite}"


def tune_experiment(model: str) -> str:
    return f"emorec/tune/{model}"


def use_experiment(tracking_uri: str, name: str) -> str:
    """Point MLflow at ``tracking_uri`` and make experiment ``name`` active, safe when several
    processes create it at once (shards on a tracking server): ``mlflow.set_experiment``
    returns without making the experiment active when it loses that race, and the runs then
    land in another experiment. Returns its id."""
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.set_experiment(name)
    return mlflow.set_experiment(experiment_id=experiment.experiment_id).experiment_id


def _log_epochs(run_id: str, epochs: list[dict]) -> None:
    """Each epoch's scores as step metrics ``epoch/<name>`` (step = epoch)."""
    now = int(time.time() * 1000)
    steps = [Metric(f"epoch/{key}", float(value), now, step)
             for step, scores in enumerate(epochs) for key, value in scores.items()]
    for start in range(0, len(steps), METRIC_BATCH):
        MlflowClient().log_batch(run_id, metrics=steps[start:start + METRIC_BATCH])


# --------------------------------------------------------------------------- sweeps
class Tracker:
    def __init__(self, tracking_uri: str, suite: str, tags: dict):
        use_experiment(tracking_uri, suite_experiment(suite))
        self.parent = mlflow.start_run(run_name=f"sweep {suite}", tags=tags)

    def log_cell(self, record: dict, params: dict, tags: dict, predictions: pd.DataFrame,
                 epochs: list[dict] = ()) -> str:
        """One nested run: params, final metrics, each epoch's dev metrics as step metrics,
        and the test predictions."""
        name = f"{record['model']} {record['params']} seed {record['seed']}"
        with mlflow.start_run(run_name=name, nested=True, tags=tags) as run:
            mlflow.log_params({**params, "seed": record["seed"]})
            mlflow.log_metrics({k: float(record[k]) for k in record
                                if k.startswith(("dev_", "test_")) or k == "fit_seconds"})
            _log_epochs(run.info.run_id, list(epochs))
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "test_predictions.csv"
                predictions.to_csv(path, index=False)
                mlflow.log_artifact(str(path))
            return run.info.run_id

    def close(self, status: str = "FINISHED") -> None:
        mlflow.end_run(status=status)


# --------------------------------------------------------------------------- tuning studies
def study_run(tracking_uri: str, model: str, study: str, tags: dict) -> str:
    """The id of the study's run in this store: the one logged before, else a new one."""
    experiment = use_experiment(tracking_uri, tune_experiment(model))
    earlier = mlflow.search_runs([experiment], output_format="list",
                                 filter_string=f"tags.study = '{study}' and tags.kind = 'study'")
    if earlier:
        return earlier[0].info.run_id
    run = MlflowClient().create_run(experiment, run_name=f"study {study}", tags={
        **tags, "kind": "study", "mlflow.runName": f"study {study}"})
    return run.info.run_id


def logged_trials(tracking_uri: str, model: str, study: str) -> set[int]:
    """Numbers of the study's trials that have a run in this store."""
    experiment = use_experiment(tracking_uri, tune_experiment(model))
    runs = mlflow.search_runs([experiment], output_format="list",
                              filter_string=f"tags.study = '{study}' and tags.kind = 'trial'")
    return {int(run.data.tags["trial"]) for run in runs}


def log_study(tracking_uri: str, model: str, parent: str, tags: dict, trials: list[dict],
              summary: dict, best: dict | None) -> None:
    """A nested run under the study's run for each of ``trials`` (number, state, worker,
    params, metrics, per-epoch dev CCC), then the study's ``summary`` metrics and its best
    trial as ``best_params.json``."""
    use_experiment(tracking_uri, tune_experiment(model))
    with mlflow.start_run(run_id=parent):
        for trial in trials:
            with mlflow.start_run(run_name=f"trial {trial['number']}", nested=True,
                                  tags={**tags, "kind": "trial", "trial": str(trial["number"]),
                                        "state": trial["state"], "worker": trial["worker"]}):
                mlflow.log_params(trial["params"])
                mlflow.log_metrics(trial["metrics"])
                for step, value in trial["epochs"].items():
                    mlflow.log_metric("epoch/dev_mean_ccc", value, step=step)
        mlflow.log_metrics(summary)
        if best is not None:
            mlflow.log_dict(best, "best_params.json")
