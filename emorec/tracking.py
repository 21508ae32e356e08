"""MLflow logging: one experiment per suite, a parent sweep run, one nested run per cell.

The embedded default store is ``sqlite:///mlflow.db`` (MLflow's own default); only the main
process writes to it. ``mlflow ui --backend-store-uri sqlite:///mlflow.db`` browses everything.
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


def use_experiment(name: str) -> str:
    """``mlflow.set_experiment(name)``, safe when several processes create it at once (shards
    on a tracking server): MLflow's own call returns without making the experiment active when
    it loses that race, and the runs then land in another experiment. Returns its id."""
    experiment = mlflow.set_experiment(name)
    return mlflow.set_experiment(experiment_id=experiment.experiment_id).experiment_id


class Tracker:
    def __init__(self, tracking_uri: str, suite: str, tags: dict):
        mlflow.set_tracking_uri(tracking_uri)
        use_experiment(f"emorec/{suite}")
        self.parent = mlflow.start_run(run_name=f"sweep {suite}", tags=tags)

    def log_cell(self, record: dict, params: dict, tags: dict, predictions: pd.DataFrame,
                 epochs: list[dict] = ()) -> str:
        """One nested run: params, final metrics, each epoch's dev metrics as step metrics
        (``epoch/<name>``, step = epoch), and the test predictions."""
        name = f"{record['model']} {record['params']} seed {record['seed']}"
        with mlflow.start_run(run_name=name, nested=True, tags=tags) as run:
            mlflow.log_params({**params, "seed": record["seed"]})
            mlflow.log_metrics({k: float(record[k]) for k in record
                                if k.startswith(("dev_", "test_")) or k == "fit_seconds"})
            now = int(time.time() * 1000)
            steps = [Metric(f"epoch/{key}", float(value), now, step)
                     for step, scores in enumerate(epochs) for key, value in scores.items()]
            for start in range(0, len(steps), 1000):   # MLflow's batch limit
                MlflowClient().log_batch(run.info.run_id, metrics=steps[start:start + 1000])
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "test_predictions.csv"
                predictions.to_csv(path, index=False)
                mlflow.log_artifact(str(path))
            return run.info.run_id

    def close(self, status: str = "FINISHED") -> None:
        mlflow.end_run(status=status)
