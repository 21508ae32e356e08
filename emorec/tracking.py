"""Every MLflow write: sweeps (one experiment per suite, a parent run, a nested run per cell) and
tuning studies (one experiment per model, a run per study, a nested run per trial).

The embedded default store is ``sqlite:///mlflow.db`` (MLflow's own default); only the main
process writes to it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
METRIC_BATCH = 1000   # MLflow's limit of metrics per log_batch call
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


def suite_experiment(suite: str) -> str:
    return f"emorec/{suite}"


def tune_experiment(model: str) -> str:
    return f"emorec/tune/{model}"


def use_experiment(tracking_uri: str, name: str) -> str:
    """Point MLflow at ``tracking_uri`` and make experiment ``name`` active; returns its id.

    A new experiment is tagged with MLflow's experiment kind "custom model development" (MLflow
    3.17's UI still opens it on the GenAI overview: :func:`runs_url` links to its runs). With a
    SQLite store its artifacts go to ``mlruns/`` beside the database file, not under the
    working folder. Safe when several processes create
    it at once (shards on a tracking server): ``mlflow.set_experiment`` returns without making
    the experiment active when it loses that race, so it is activated by id."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    if client.get_experiment_by_name(name) is None:
        try:
            client.create_experiment(name, artifact_location=_artifact_location(tracking_uri),
                                     tags=EXPERIMENT_TAGS)
        except mlflow.exceptions.MlflowException:
            if client.get_experiment_by_name(name) is None:   # not the race: a real error
                raise
    experiment = mlflow.set_experiment(name)
    return mlflow.set_experiment(experiment_id=experiment.experiment_id).experiment_id


UI_ADDRESS = "http://127.0.0.1:5000"   # where `make ui` serves a local store


def runs_url(tracking_uri: str, experiment_id: str) -> str:
    """The UI page of an experiment's runs, sorted by test CCC (which also lists nested runs
    flat)."""
    base = tracking_uri.rstrip("/") if tracking_uri.startswith("http") else UI_ADDRESS
    return (f"{base}/#/experiments/{experiment_id}/runs"
            "?orderByKey=metrics.%60test_mean_ccc%60&orderByAsc=false")


def _artifact_location(tracking_uri: str) -> str | None:
    """``<folder of the .db>/mlruns`` for a SQLite store; the server's default otherwise."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
    return (database.parent / "mlruns").as_uri()


def _epoch_metrics(epochs: list[dict], timestamp: int) -> list[Metric]:
    """Each epoch's scores as step metrics ``epoch/<name>`` (step = epoch)."""
    return [Metric(f"epoch/{key}", float(value), timestamp, step)
            for step, scores in enumerate(epochs) for key, value in scores.items()]


def _log_metrics(run_id: str, metrics: list[Metric]) -> None:
    for start in range(0, len(metrics), METRIC_BATCH):
        MlflowClient().log_batch(run_id, metrics=metrics[start:start + METRIC_BATCH])


# --------------------------------------------------------------------------- sweeps
class Tracker:
    """A sweep's parent run and one nested run per cell, timed around the cell's fit."""

    def __init__(self, tracking_uri: str, suite: str, tags: dict):
        self.experiment = use_experiment(tracking_uri, suite_experiment(suite))
        self.parent = mlflow.start_run(run_name=f"sweep {suite}", tags=tags)

    def log_cell(self, *, name: str, params: dict, metrics: dict, fit_started: float,
                 fit_seconds: float, epochs: list[dict], tags: dict,
                 predictions: pd.DataFrame) -> str:
        """One run ``name`` under the sweep: params, metrics, each epoch's dev metrics as step
        metrics, and the test predictions; its start and end are the fit's (``fit_started``
        in epoch seconds)."""
        client = MlflowClient()
        start = int(fit_started * 1000)
        run = client.create_run(self.experiment, start_time=start, run_name=name, tags={
            **tags, "mlflow.parentRunId": self.parent.info.run_id})
        run_id = run.info.run_id
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        _log_metrics(run_id, [Metric(k, float(v), start, 0) for k, v in metrics.items()]
                     + _epoch_metrics(epochs, start))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "test_predictions.csv"
            predictions.to_csv(path, index=False)
            client.log_artifact(run_id, str(path))
        end = start + int(round(fit_seconds * 1000))
        client.set_terminated(run_id, "FINISHED", end_time=end)
        return run_id

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
