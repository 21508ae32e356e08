"""Every MLflow write: sweeps (one experiment per suite, a parent run, a nested run per cell) and
tuning studies (one experiment per model, a run per study, a nested run per trial).

The embedded default store is ``sqlite:///mlflow.db`` (MLflow's own default); only the main
process writes to it.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from emorec.system.processes import gone_from_this_host, worker_id
from emorec.tracking.mlflow_store import use_experiment

log = logging.getLogger(__name__)

METRIC_BATCH = 1000   # MLflow's limit of metrics per log_batch call


def suite_experiment(suite: str) -> str:
    return f"emorec/{suite}"


def tune_experiment(model: str) -> str:
    return f"emorec/tune/{model}"


def _epoch_metrics(epochs: list[dict], timestamp: int) -> list[Metric]:
    """Each epoch's scores as step metrics ``epoch/<name>`` (step = epoch)."""
    return [Metric(f"epoch/{key}", float(value), timestamp, step)
            for step, scores in enumerate(epochs) for key, value in scores.items()]


def _log_metrics(run_id: str, metrics: list[Metric]) -> None:
    for start in range(0, len(metrics), METRIC_BATCH):
        MlflowClient().log_batch(run_id, metrics=metrics[start:start + METRIC_BATCH])


# --------------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class DatasetRef:
    """The dataset a run reads, as MLflow records a run's input (its *Dataset* column): name,
    digest (the dataset's fingerprint), source (its folder) and a small profile. Only this
    description is stored, never the data."""
    name: str
    fingerprint: str
    folder: Path
    profile: dict

    def input(self, context: str, tags: dict | None = None) -> DatasetInput:
        """The run input of this dataset read in ``context`` (``training`` for a cell,
        ``tuning`` for a trial), with input ``tags`` (e.g. the partitions read)."""
        dataset = Dataset(name=self.name, digest=self.fingerprint, source_type="local",
                          source=json.dumps({"uri": str(Path(self.folder).resolve())}),
                          profile=json.dumps(self.profile, sort_keys=True, default=str))
        return DatasetInput(dataset, [InputTag(MLFLOW_DATASET_CONTEXT, context),
                                      *(InputTag(k, str(v)) for k, v in (tags or {}).items())])


# MLflow looks a run input's dataset up and inserts it when absent, in two steps: two processes
# logging the same new dataset at once (two shards, two tuning workers) both insert, and the
# later one fails on the datasets table's unique key. The dataset is then there, and the same
# call made again links it.
_DATASET_RACE = re.compile(r"(unique|duplicate).*dataset", re.IGNORECASE | re.DOTALL)
INPUT_ATTEMPTS = 3


def log_input(client: MlflowClient, run_id: str, dataset_input: DatasetInput) -> None:
    """Log ``dataset_input`` to run ``run_id``, trying again (at most :data:`INPUT_ATTEMPTS`
    times in all) when another process inserted the same dataset first."""
    for attempt in range(1, INPUT_ATTEMPTS + 1):
        try:
            client.log_inputs(run_id, [dataset_input])
            return
        except MlflowException as error:
            if attempt == INPUT_ATTEMPTS or not _DATASET_RACE.search(str(error)):
                raise
            log.info("dataset %s was logged by another process at the same moment; "
                     "linking it to run %s again", dataset_input.dataset.name, run_id)


# --------------------------------------------------------------------------- sweeps
@dataclass(frozen=True)
class SweepSummary:
    """What a sweep's parent run carries when it ends: ``metrics`` (cell counts, the best
    variant's dev and test CCC), ``table`` (one row per variant) and ``text`` (the table the
    sweep printed)."""
    metrics: dict
    table: pd.DataFrame
    text: str


class Tracker:
    """A sweep's parent run and one nested run per cell, timed around the cell's fit, linked to
    the results file by the cell key so that each cell ends with exactly one FINISHED run
    whatever moment an earlier sweep was killed at. Every run is tagged with its results
    folder (``results_dir``, absolute): a sweep reuses or settles only runs made for its own
    folder, so rows benched into a second folder link to runs of their own.

    A cell's run is created RUNNING and set FINISHED only after its results row is written
    (:meth:`finish`). On start, a sweep settles what killed sweeps of this host left for its
    folder: their parent runs are set KILLED; a cell run still RUNNING is set FINISHED if its
    row made it to the results file, else KILLED (the cell runs again); a FINISHED run of a
    cell that has no row is reused, not logged a second time. The parent run is made with the
    sweep's first new cell run (or at its end if it failed or was interrupted first), so a
    sweep that finishes without logging a run leaves no empty parent; it ends with the
    sweep's summary (:class:`SweepSummary`)."""

    def __init__(self, tracking_uri: str, suite: str, tags: dict, recorded: set[str], *,
                 results_dir: Path, dataset: DatasetRef | None = None,
                 dataset_use: tuple[str, str] = ("training", "train, dev, test"),
                 params: dict | None = None):
        self.experiment = use_experiment(tracking_uri, suite_experiment(suite))
        self.client = MlflowClient()
        self.worker = worker_id()
        self.suite = suite
        self.results_dir = str(Path(results_dir).resolve())
        self.tags = {**resolve_tags(), **tags, "results_dir": self.results_dir}
        self.dataset, self.dataset_use = dataset, dataset_use   # (context, partitions read)
        self.params = params or {}
        self.started = int(time.time() * 1000)
        self.parent: str | None = None
        self.created: list[str] = []   # cell runs this sweep made
        self.reused: list[str] = []    # FINISHED runs of a killed sweep, taken for their cells
        self._ends: dict[str, int] = {}
        self._settle(recorded)

    def _own(self, run) -> bool:
        """A run of this results folder (a run without the tag predates it: settled as before,
        never reused)."""
        return run.data.tags.get("results_dir", self.results_dir) == self.results_dir

    def _settle(self, recorded: set[str]) -> None:
        for run in self._runs("attributes.status = 'RUNNING'"):
            if not gone_from_this_host(run.data.tags.get("worker", "")) or not self._own(run):
                continue   # a live sweep, another host's, or another results folder's
            key = run.data.tags.get("cell_key")
            status = "FINISHED" if key in recorded else "KILLED"
            self.client.set_terminated(run.info.run_id, status)
            log.warning("MLflow run %s (%s) of a killed sweep set %s", run.info.run_id,
                        run.info.run_name, status)

    def _runs(self, filter_string: str) -> list:
        return self.client.search_runs([self.experiment], filter_string, max_results=50000)

    def _parent_run(self) -> str:
        """The sweep's parent run, made now if this is its first cell run."""
        if self.parent is None:
            run = self.client.create_run(self.experiment, start_time=self.started,
                                         run_name=f"sweep {self.suite}", tags={
                                             **self.tags, "kind": "sweep",
                                             "worker": self.worker})
            self.parent = run.info.run_id
            self.client.log_batch(self.parent, params=[
                Param(k, str(v)) for k, v in self.params.items()])
            if self.dataset is not None:
                log_input(self.client, self.parent, self.dataset.input(self.dataset_use[0]))
        return self.parent

    def log_cell(self, *, key: str, name: str, params: dict, metrics: dict,
                 fit_started: float, fit_seconds: float, epochs: list[dict], tags: dict,
                 predictions: pd.DataFrame, reuse: bool = True) -> str:
        """The run of cell ``key`` (left RUNNING until :meth:`finish`): with ``reuse``, a
        FINISHED run that a killed sweep logged for this key and this results folder; else a
        new run ``name`` under the sweep with params, metrics, each epoch's dev metrics as
        step metrics, the dataset as its input and the test predictions, starting when the fit
        started."""
        start = int(fit_started * 1000)
        self._ends[key] = start + int(round(fit_seconds * 1000))
        if reuse:
            earlier = [run for run in self._runs(
                f"tags.cell_key = '{key}' and attributes.status = 'FINISHED'")
                if run.data.tags.get("results_dir") == self.results_dir]
            if earlier:
                self.reused.append(earlier[0].info.run_id)
                return earlier[0].info.run_id
        run = self.client.create_run(self.experiment, start_time=start, run_name=name, tags={
            **self.tags, **tags, "cell_key": key, "worker": self.worker,
            "mlflow.parentRunId": self._parent_run()})
        run_id = run.info.run_id
        self.created.append(run_id)
        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        _log_metrics(run_id, [Metric(k, float(v), start, 0) for k, v in metrics.items()]
                     + _epoch_metrics(epochs, start))
        if self.dataset is not None:
            context, partitions = self.dataset_use
            log_input(self.client, run_id, self.dataset.input(context, {"partitions": partitions}))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "test_predictions.csv"
            predictions.to_csv(path, index=False)
            self.client.log_artifact(run_id, str(path))
        return run_id

    def finish(self, key: str, run_id: str) -> None:
        """Set the cell's run FINISHED (once its results row is written), ending at its fit's
        end."""
        if self.client.get_run(run_id).info.status != "FINISHED":
            self.client.set_terminated(run_id, "FINISHED", end_time=self._ends.pop(key, None))

    def keeps_parent(self, status: str) -> bool:
        """Whether the sweep ends with a parent run: when it logged a cell run, or when it did
        not end FINISHED (a failed or interrupted sweep is shown, with its summary)."""
        return self.parent is not None or status != "FINISHED"

    def close(self, status: str = "FINISHED", summary: SweepSummary | None = None) -> None:
        """End the parent run (see :meth:`keeps_parent`) with ``status`` and ``summary``: its
        metrics, the table as ``sweep_summary.json`` (MLflow's table artifact) and the
        printed table as ``sweep_summary.md``."""
        if not self.keeps_parent(status):
            return
        self._parent_run()
        if summary is not None:
            now = int(time.time() * 1000)
            _log_metrics(self.parent, [Metric(k, float(v), now, 0)
                                       for k, v in summary.metrics.items()])
            if not summary.table.empty:
                self.client.log_table(self.parent, summary.table, "sweep_summary.json")
            self.client.log_text(self.parent, summary.text + "\n", "sweep_summary.md")
        self.client.set_terminated(self.parent, status)


# --------------------------------------------------------------------------- tuning studies
def study_run(tracking_uri: str, model: str, study: str, uid: str, tags: dict) -> str:
    """The id of the study's run in this store: the one logged before for this very study (its
    ``uid``; by name for a study made before studies had one), else a new one."""
    experiment = use_experiment(tracking_uri, tune_experiment(model))
    which = f"tags.study_uid = '{uid}'" if uid else f"tags.study = '{study}'"
    earlier = mlflow.search_runs([experiment], output_format="list",
                                 filter_string=f"{which} and tags.kind = 'study'")
    if earlier:
        return earlier[0].info.run_id
    run = MlflowClient().create_run(experiment, run_name=f"study {study}", tags={
        **tags, "kind": "study", "study_uid": uid, "mlflow.runName": f"study {study}"})
    return run.info.run_id


def logged_trials(tracking_uri: str, model: str, parent: str) -> set[int]:
    """Numbers of the trials that have a run under the study's run ``parent`` in this store."""
    experiment = use_experiment(tracking_uri, tune_experiment(model))
    runs = mlflow.search_runs([experiment], output_format="list", filter_string=(
        f"tags.mlflow.parentRunId = '{parent}' and tags.kind = 'trial'"))
    return {int(run.data.tags["trial"]) for run in runs}


def log_study(tracking_uri: str, model: str, parent: str, tags: dict, trials: list[dict],
              summary: dict, best: dict | None, params: dict,
              dataset: DatasetRef | None = None, study_tags: dict | None = None) -> None:
    """The study's run: ``params`` (what it tunes: model, dataset, search space, sampler; a
    param logged before keeps its first value), ``tags`` and ``study_tags``, the dataset as
    its input and a nested run for each of ``trials`` (number, state, worker, params,
    metrics, per-epoch dev CCC, the dataset), then the study's ``summary`` metrics and its
    best trial as ``best_params.json``."""
    use_experiment(tracking_uri, tune_experiment(model))
    client = MlflowClient()
    logged = client.get_run(parent).data.params
    with mlflow.start_run(run_id=parent):
        mlflow.log_params({k: v for k, v in params.items() if k not in logged})
        mlflow.set_tags({**tags, **(study_tags or {})})
        if dataset is not None:
            log_input(client, parent, dataset.input("tuning"))
        for trial in trials:
            with mlflow.start_run(run_name=f"trial {trial['number']}", nested=True,
                                  tags={**tags, "kind": "trial", "trial": str(trial["number"]),
                                        "state": trial["state"],
                                        "worker": trial["worker"]}) as run:
                mlflow.log_params(trial["params"])
                mlflow.log_metrics(trial["metrics"])
                for step, value in trial["epochs"].items():
                    mlflow.log_metric("epoch/dev_mean_ccc", value, step=step)
                if dataset is not None:
                    log_input(client, run.info.run_id,
                              dataset.input("tuning", {"partitions": "train, dev"}))
        mlflow.log_metrics(summary)
        if best is not None:
            mlflow.log_dict(best, "best_params.json")
