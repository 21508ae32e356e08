"""Results rows against the MLflow store: every row's run must exist there, be FINISHED and carry
the row's cell key (a deleted or moved ``mlflow.db`` shows up here, not as a crash later)."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from emorec.cells import seed_label
from emorec.store import result_rows, results
from emorec.tracking.mlflow_store import connect, sqlite_path


def broken_links(results_dir: Path, tracking_uri: str, timeout: float) -> tuple[int, list[str]]:
    """(rows checked, one line per row whose MLflow run is missing or does not match)."""
    linked = {path: rows[rows["mlflow_run_id"] != ""]
              for path in sorted(Path(results_dir).glob("*.csv"))
              for rows in [results.load(path)]}
    total = sum(len(rows) for rows in linked.values())
    if missing_store(tracking_uri) and total:
        return total, [f"{tracking_uri}: no such MLflow database; all {total} rows with a run "
                       "link to it (in a fresh clone that is expected: the committed rows were "
                       "logged on the machine that ran them)"]
    connect(tracking_uri, timeout)
    client = MlflowClient()
    problems = []
    for path, rows in linked.items():
        for number, row in rows.iterrows():
            run_id = row["mlflow_run_id"]
            place = (f"{path} row {number + 2} ({row['model']} "
                     f"{seed_label(result_rows.row_seed(row['seed']))})")
            try:
                run = client.get_run(run_id)
            except mlflow.exceptions.MlflowException:
                problems.append(f"{place}: run {run_id} is not in {tracking_uri}")
                continue
            if run.data.tags.get("cell_key") != row["cell_key"]:
                problems.append(f"{place}: run {run_id} belongs to cell "
                                f"{run.data.tags.get('cell_key')}, not {row['cell_key']}")
            elif run.info.status != "FINISHED":
                problems.append(f"{place}: run {run_id} is {run.info.status}, not FINISHED")
    return total, problems


def missing_store(tracking_uri: str) -> bool:
    """A SQLite store whose file does not exist (deleted, or another working folder)."""
    database = sqlite_path(tracking_uri)
    return database is not None and not database.exists()
