"""Audit a suite's runs: every cell's test predictions inside the label range [-1, 1], and every
leaderboard row above the chance floor in test CCC (mean, and per target).

Reads the finished cell runs of MLflow experiment ``emorec/<suite>`` (their
``test_predictions.csv`` artifacts) and the suite's results file.

    python benchmarks/audit_predictions.py sewa [--tracking-uri sqlite:///mlflow.db]
"""

from __future__ import annotations

import argparse

import mlflow
import pandas as pd
from tabulate import tabulate

from emorec.store import result_rows, results
from emorec.tracking.mlflow_store import DEFAULT_TRACKING_URI


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite")
    parser.add_argument("--tracking-uri", default=DEFAULT_TRACKING_URI)
    parser.add_argument("--results-dir", default=str(results.RESULTS_DIR))
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    table = results.load_all(args.results_dir)
    table = table[table["suite"] == args.suite]
    rows = result_rows.current(table)
    if mlflow.get_experiment_by_name(f"emorec/{args.suite}") is None:
        raise SystemExit(f"{args.tracking_uri} has no experiment emorec/{args.suite}: its runs "
                         "were logged elsewhere or the store was deleted (emorec results check "
                         "lists rows whose runs are missing)")
    runs = mlflow.search_runs(experiment_names=[f"emorec/{args.suite}"])
    if runs.empty:
        raise SystemExit(f"experiment emorec/{args.suite} has no runs")
    runs = runs[(runs["status"] == "FINISHED") & runs["tags.cell_key"].isin(rows["cell_key"])]
    runs = runs.drop_duplicates("tags.cell_key")
    if rows.empty:
        raise SystemExit(f"no results of suite {args.suite!r} in {args.results_dir}")
    low, high = float("inf"), float("-inf")
    outside = []
    for _, run in runs.iterrows():
        path = mlflow.artifacts.download_artifacts(run_id=run["run_id"],
                                                   artifact_path="test_predictions.csv")
        predicted = pd.read_csv(path)[["valence_pred", "arousal_pred"]]
        low, high = min(low, predicted.min().min()), max(high, predicted.max().max())
        if predicted.abs().max().max() > 1:
            outside.append(run["tags.cell_key"])
    print(f"{len(runs)} of {len(rows)} cells' test predictions read from MLflow; "
          f"range {low:.3f} .. {high:.3f}; outside [-1, 1]: {len(outside)}")
    grouped = rows.assign(label=rows["model"] + " " + rows["params"]).groupby("label")
    means = grouped[["test_mean_ccc", "test_valence_ccc", "test_arousal_ccc"]].mean()
    is_chance = means.index.str.startswith("chance ")
    if not is_chance.any():
        raise SystemExit("the suite has no chance row to compare with")
    chance = means[is_chance].iloc[0]
    below = means[(means.lt(chance, axis=1)).any(axis=1) & ~means.index.str.startswith(
        ("chance ", "oracle "))]
    print(f"rows: {len(means)}; chance CCC {chance.to_dict()}; rows below chance in any CCC "
          f"column: {len(below)}")
    if len(below):
        print(tabulate(below.reset_index(), headers="keys", floatfmt=".3f", showindex=False))
    if outside or len(below) or len(runs) < len(rows):
        raise SystemExit(1)

if __name__ == "__main__":
    main()
