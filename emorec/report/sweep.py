"""What a sweep prints at its end: the results table, and what was reused and how to rerun it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from emorec.cells import SEED_FREE


def summary(finished: pd.DataFrame, ran_now: set[str], describe: Callable[[str, dict], str]
            ) -> str:
    """One line per model and variant (``describe(model, params)`` names it): seeds (or
    seed-free), test CCC and RMSE, and the mean fit time of the seeds trained in this run
    ("reused" when none was)."""
    if finished.empty:
        return "no results"
    finished = finished.assign(
        fit_now=finished["fit_seconds"].where(finished["cell_key"].isin(ran_now)),
        variant=[describe(m, json.loads(p)) for m, p in
                 zip(finished["model"], finished["params"], strict=True)])
    grouped = finished.groupby(["variant", "tuned_by"], sort=False).agg(
        seeds=("seed", "count"), test_ccc=("test_mean_ccc", "mean"),
        test_ccc_std=("test_mean_ccc", "std"), test_rmse=("test_mean_rmse", "mean"),
        fit_s_this_run=("fit_now", "mean")).reset_index()
    grouped = grouped.rename(columns={"variant": "model"}).sort_values("test_ccc",
                                                                      ascending=False)
    grouped["fit_s_this_run"] = [f"{v:.1f}" if v == v else "reused"
                                 for v in grouped["fit_s_this_run"]]
    grouped["test_ccc_std"] = [f"{v:.3f}" if n > 1 else "—"
                               for v, n in zip(grouped["test_ccc_std"], grouped["seeds"],
                                               strict=True)]
    grouped["seeds"] = [str(n) if n else SEED_FREE for n in grouped["seeds"]]
    if not (grouped["tuned_by"] != "").any():
        grouped = grouped.drop(columns="tuned_by")
    return tabulate(grouped, headers="keys", showindex=False, floatfmt=".3f")


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


def reuse_note(suite, reused: int, total: int, path: Path, jobs: int,
               seconds: float) -> str:
    wall = seconds / max(jobs, 1)
    duration = f"{wall:.0f} s" if wall < 90 else f"{wall / 60:.0f} min"
    program = _program()
    return (f"{reused} of {total} cells were already in {path} and were not trained again: "
            "their metrics and fit times come from that file (its code_version column says "
            "which commit made them), and MLflow gets runs only for cells trained now. To "
            f"train every cell afresh, into a new folder that leaves {path.parent} as it is "
            f"(about {duration} with {jobs} jobs, from their recorded fit times):\n"
            f"  {program} bench {suite.source} --results-dir runs/fresh\n"
            f"  {program} leaderboard --results-dir runs/fresh --out runs/fresh")


def _program() -> str:
    """How this command was invoked (``.venv/bin/emorec``), for commands to copy."""
    invoked = Path(sys.argv[0])
    if invoked.name != "emorec":
        return "emorec"
    try:
        return str(invoked.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(invoked)
