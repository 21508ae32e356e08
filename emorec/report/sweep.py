"""What a sweep prints at its end: the leaderboard's headline for the dataset, and what was
reused and how to rerun it; and what its MLflow parent run ends with (:func:`parent_summary`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from emorec.cells import SEED_FREE
from emorec.report import tables
from emorec.report.board import Board
from emorec.store import facts, results
from emorec.system.program import emorec_command
from emorec.tracking.runs import SweepSummary


def summary(results_dir: Path, dataset: str) -> str:
    """The headline of ``dataset``'s leaderboard, from the rows the results folder holds now
    (this sweep's, earlier sweeps', late fusions and external rows alike): the tables the page's
    headline shows, made by the same code (:func:`emorec.report.tables.headline`), under a line
    naming the dataset, its origin and how to render the whole page; then the page's tuned rows,
    when there are any."""
    rows = results.load(results.results_path(results_dir, dataset))
    rows = rows[rows["dataset"] == dataset]
    if rows.empty:
        return f"{dataset}: no results in {results_dir}"
    board = Board(rows, facts.load_models(results_dir))
    sessions = len(board.sessions)
    lines = [f"Leaderboard headline: {dataset} [{rows['origin'].iloc[-1]}], {len(board.rows)} "
             f"runs, {sessions} test session{'' if sessions == 1 else 's'}; every variant, "
             f"the reference rows' every metric and figures: {emorec_command()} leaderboard "
             f"--results-dir {results_dir} --out DIR"]
    for title, texts in tables.headline(board):
        lines += ["", title]
        for text in texts:
            lines += ["", text]
    if len(board.tuned):   # apart, as on the page: more budget, never ranked with the rest
        title, *section = tables.tuned_table(board)
        lines += ["", title.removeprefix("## "), *section]
    return "\n".join(lines)


def variants(finished: pd.DataFrame, describe: Callable[[str, dict], str]) -> pd.DataFrame:
    """One row per model and variant (``describe(model, params)`` names it): its seeds and the
    seed means of dev and test CCC and test RMSE, best dev CCC first (what a sweep's MLflow
    parent run keeps)."""
    columns = ["model", "tuned_by", "seeds", "dev_mean_ccc", "test_mean_ccc", "test_mean_rmse"]
    if finished.empty:
        return pd.DataFrame(columns=columns)
    named = finished.assign(model=[describe(m, json.loads(p)) for m, p in
                                   zip(finished["model"], finished["params"], strict=True)])
    table = named.groupby(["model", "tuned_by"], sort=False).agg(
        seeds=("seed", "count"), dev_mean_ccc=("dev_mean_ccc", "mean"),
        test_mean_ccc=("test_mean_ccc", "mean"),
        test_mean_rmse=("test_mean_rmse", "mean")).reset_index()
    table["seeds"] = [str(n) if n else SEED_FREE for n in table["seeds"]]
    return table.sort_values("dev_mean_ccc", ascending=False, kind="stable")[columns]


def parent_summary(recorded_now: set[str], reused: int, *, results_dir: Path, dataset: str,
                   planned: set[str], describe: Callable[[str, dict], str]) -> SweepSummary:
    """The planned cells' rows as the sweep leaves them: counts of cells fitted now
    (``recorded_now``), reused (their rows from an earlier sweep, not fitted now), unfinished
    (no row: the sweep failed or was stopped first) and of fitted cells whose run is a killed
    sweep's FINISHED one (``reused``); the best variant on dev (seed mean) with its test CCC;
    one row per variant; and the leaderboard's headline (:func:`summary`)."""
    rows = results.load(results.results_path(results_dir, dataset))
    rows = rows[rows["cell_key"].isin(planned)].drop_duplicates("cell_key", keep="last")
    table = variants(rows, describe)
    metrics = {"cells_planned": len(planned),
               "cells_fitted": len(recorded_now),
               "cells_reused": len(set(rows["cell_key"]) - recorded_now),
               "cells_unfinished": len(planned - set(rows["cell_key"])),
               "runs_of_killed_sweeps_reused": reused}
    if not table.empty:
        best = table.iloc[0]
        metrics["best_variant_dev_mean_ccc"] = best["dev_mean_ccc"]
        metrics["best_variant_test_mean_ccc"] = best["test_mean_ccc"]
    return SweepSummary(metrics, table, summary(results_dir, dataset))


def reuse_note(suite, reused: int, total: int, path: Path, jobs: int,
               core_seconds: float) -> str:
    """What was reused, and the commands that train every cell afresh, with what their recorded
    fits cost (``core_seconds``: the cells' ``fit_core_seconds`` summed) and take with ``jobs``
    workers on otherwise idle cores, before set-up and scoring."""
    wall = core_seconds / max(jobs, 1)
    duration = f"{wall:.0f} s" if wall < 90 else f"{wall / 60:.0f} min"
    program = emorec_command()
    return (f"{reused} of {total} cells were already in {path} and were not trained again: "
            "their metrics and fit times come from that file (its code_version column says "
            "which commit made them), and MLflow gets runs only for cells trained now. To "
            f"train every cell afresh, into a new folder that leaves {path.parent} as it is "
            f"(their recorded fits: {core_seconds / 60:.1f} CPU core-minutes, about {duration} "
            f"with {jobs} jobs on otherwise idle cores, plus set-up and scoring):\n"
            f"  {program} bench {suite.source} --results-dir runs/fresh\n"
            f"  {program} leaderboard --results-dir runs/fresh --out runs/fresh")
