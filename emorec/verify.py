"""Are the committed results what today's code gives? Three checks, from cheap to costly:

- **stale rows**: every row of the dataset's current data and split must carry the cell key that
  today's code gives it (the key includes the code fingerprint, so a row made by other code, or
  with params the model no longer accepts, does not match);
- **missing cells**: every cell of the suite's plan must have a row;
- **reruns**: a fixed sample of committed cells (the first ``per_family`` of each model family in
  plan order) is fitted again and every metric compared with the row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from emorec.cells import Cell, cell_key, seed_label
from emorec.data.dataset import Dataset
from emorec.display import describe_variant
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.record import fuse_rows
from emorec.record.external import EXTERNAL
from emorec.record.recorder import describe
from emorec.store import result_rows, results, schema
from emorec.sweep.planning import plan
from emorec.sweep.suites import Suite
from emorec.sweep.workers import run_cell


@dataclass(frozen=True)
class Mismatch:
    cell: str            # model, variant and seed (or seed-free), for people
    key: str
    column: str
    committed: float
    rerun: float


@dataclass
class Report:
    path: Path
    stale: list[str] = field(default_factory=list)       # one line per stale row
    missing: list[str] = field(default_factory=list)     # one line per cell without a row
    rerun: list[Cell] = field(default_factory=list)
    other_data: int = 0    # rows of other data or another split: history, not checked
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.stale or self.missing or self.mismatches)


def verify(suite: Suite, results_dir: Path, data_dir: Path, per_family: int = 1,
           tolerance: float = 0.0) -> Report:
    dataset = Dataset.load(suite.dataset_path(data_dir))
    path = results.results_path(results_dir, dataset.name)
    split_hash = dataset.split().hash
    rows = results.load(path)
    same_data = ((rows["fingerprint"] == dataset.manifest.fingerprint)
                 & (rows["split_hash"] == split_hash))
    report = Report(path, other_data=int((~same_data).sum()))
    rows = result_rows.current(rows[same_data])
    for number, row in rows.iterrows():
        problem = _staleness(row, dataset.manifest.fingerprint, split_hash, rows)
        if problem:
            report.stale.append(f"{path} row {number + 2}: {_label(row)} (cell "
                                f"{row['cell_key']}): {problem}")
    cells = plan(suite, dataset)
    committed = rows.set_index("cell_key")
    report.missing = [f"{_cell_label(cell)} (cell {cell.key}) has no row in {path}"
                      for cell in cells if cell.key not in committed.index]
    report.rerun = sample(cells, set(committed.index), per_family)
    for cell in report.rerun:
        scores = result_rows.scores(run_cell(dataset, cell).predictions)
        row = committed.loc[cell.key]
        for column in schema.METRIC_COLUMNS:
            if abs(float(scores[column]) - float(row[column])) > tolerance:
                report.mismatches.append(Mismatch(_cell_label(cell), cell.key, column,
                                                  float(row[column]), float(scores[column])))
    return report


def sample(cells: list[Cell], committed: set[str], per_family: int) -> list[Cell]:
    """The first ``per_family`` committed cells of each model family, in plan order (the suite
    file's order, seeds within an experiment): a fixed sample for a given suite."""
    chosen, taken = [], {}
    for cell in cells:
        family = MODELS.get(cell.model).family
        if cell.key in committed and taken.get(family, 0) < per_family:
            chosen.append(cell)
            taken[family] = taken.get(family, 0) + 1
    return chosen


def _staleness(row: pd.Series, fingerprint: str, split_hash: str, current: pd.DataFrame
               ) -> str:
    """Why a row's key is not the one today's code gives its cell, or "". A late-fusion row
    is checked against its components' current rows; an external row depends on the data and
    split alone (its frames)."""
    if row["family"] == fuse_rows.FAMILY:
        return fuse_rows.staleness(current, row)
    if row["family"] == EXTERNAL:
        return ""
    if row["model"] not in MODELS:
        return f"model {row['model']!r} is no longer registered"
    spec = MODELS.get(row["model"])
    try:
        params = spec.params(json.loads(row["params"]))
    except EmorecError as error:
        return f"its params are no longer valid ({error})"
    seed = result_rows.row_seed(row["seed"])
    key = cell_key(fingerprint, split_hash, spec.name, params, seed, spec.code_fingerprint,
                   row["tuned_by"])
    seeded_as_declared = (seed is not None) == spec.seeded
    if key == row["cell_key"] and seeded_as_declared:
        return ""
    if row["code_fingerprint"] != spec.code_fingerprint:
        made_by = row["code_fingerprint"] or "code before fingerprints"
        return (f"made by other code (fingerprint {made_by}, today's "
                f"{spec.code_fingerprint}; commit {row['code_version']})")
    if not seeded_as_declared:
        return ("its model is declared " + ("seeded now (one cell per seed)" if spec.seeded
                                            else "seed-free now (one cell for all seeds)"))
    return "its params differ from what today's model declares (a parameter was added)"


def _label(row: pd.Series) -> str:
    tuned = f" tuned by {row['tuned_by']}" if row["tuned_by"] else ""
    described = (describe(row["model"], json.loads(row["params"])) if row["model"] in MODELS
                 else describe_variant(row["model"], row["variant"]))
    return f"{described}{tuned} {seed_label(result_rows.row_seed(row['seed']))}"


def _cell_label(cell: Cell) -> str:
    return f"{describe(cell.model, cell.params)} {seed_label(cell.seed)}"
