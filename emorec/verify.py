"""Rerun committed cells and compare their metrics with the committed rows: a committed row that
today's code no longer reproduces is stale, and this says which cell and which numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from emorec import results
from emorec.data.dataset import Dataset
from emorec.models import MODELS
from emorec.runner import Cell, plan, resolve_dataset, run_cell
from emorec.suites import Suite


@dataclass(frozen=True)
class Mismatch:
    cell: str            # model, variant and seed, for people
    key: str
    column: str
    committed: float
    rerun: float


def sample(cells: list[Cell], committed: pd.DataFrame, per_family: int = 1) -> list[Cell]:
    """The first ``per_family`` committed cells of each model family, in plan order (the suite
    file's order, seed-major within an experiment): a fixed sample for a given suite."""
    done = set(committed["cell_key"])
    chosen, taken = [], {}
    for cell in cells:
        family = MODELS.get(cell.model).family
        if cell.key in done and taken.get(family, 0) < per_family:
            chosen.append(cell)
            taken[family] = taken.get(family, 0) + 1
    return chosen


def verify(suite: Suite, results_dir: Path, data_dir: Path, per_family: int = 1,
           tolerance: float = 0.0) -> tuple[list[Cell], list[Mismatch]]:
    """Rerun the sample of ``suite``'s committed cells in this process (no MLflow run, no row
    written) and return the cells rerun and every metric that differs by more than
    ``tolerance``."""
    dataset = Dataset.load(resolve_dataset(suite, data_dir))
    committed = results.load(results.results_path(results_dir, dataset.name))
    committed = committed.drop_duplicates("cell_key", keep="last").set_index("cell_key")
    chosen = sample(plan(suite, dataset), committed.reset_index(), per_family)
    mismatches = []
    for cell in chosen:
        record = run_cell(dataset, cell)[0]
        row = committed.loc[cell.key]
        label = f"{cell.model} {row['variant']} seed {cell.seed}"
        for column in results.METRIC_COLUMNS:
            if abs(float(record[column]) - float(row[column])) > tolerance:
                mismatches.append(Mismatch(label, cell.key, column, float(row[column]),
                                           float(record[column])))
    return chosen, mismatches
