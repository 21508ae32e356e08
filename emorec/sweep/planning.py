"""A sweep's plan: the cells of a suite on a dataset (every model x grid point x seed, once for
a seed-free model; or a study's tuned params on the suite's seeds), checked against what the
dataset holds before any fit."""

from __future__ import annotations

import logging

from emorec.cells import Cell, cell_key
from emorec.data.dataset import Dataset
from emorec.data.views import window_slots
from emorec.errors import EmorecError
from emorec.models import MODELS, ModelSpec
from emorec.models.base import view_of
from emorec.record.recorder import run_name
from emorec.sweep.suites import Suite
from emorec.tuning.tuned import Tuned

log = logging.getLogger(__name__)


def plan(suite: Suite, dataset: Dataset) -> list[Cell]:
    """Every experiment of the suite on each of its seeds: one cell per seed, or one cell with
    seed None for a seed-free model (its fit does not depend on the seed)."""
    split_hash = dataset.split().hash
    cells = []
    for experiment in suite.experiments:
        spec = MODELS.get(experiment.model)
        if spec.stand_in_only and not dataset.manifest.is_stand_in:
            log.info("skipping %s: it needs a stand-in dataset", spec.name)
            continue
        for seed in cell_seeds(spec, suite.seeds):
            key = cell_key(dataset.manifest.fingerprint, split_hash, spec.name,
                                   experiment.params, seed, spec.code_fingerprint)
            cells.append(Cell(spec.name, experiment.params, seed, key))
    return cells


def cell_seeds(spec: ModelSpec, seeds: tuple[int, ...]) -> tuple[int | None, ...]:
    """The seeds model ``spec`` runs on: the suite's, or None alone for a seed-free model."""
    return seeds if spec.seeded else (None,)


def tuned_plan(suite: Suite, dataset: Dataset, tuned: Tuned) -> list[Cell]:
    """The study's model with its best params, on the suite's seeds (one seed-free cell for a
    seed-free model). Refused on data other than the data the study tuned on: the params were
    chosen on that dataset's dev sessions."""
    split_hash = dataset.split().hash
    if (tuned.fingerprint, tuned.split_hash) != (dataset.manifest.fingerprint, split_hash):
        raise EmorecError(
            f"--params-from {tuned.study}: the study tuned on dataset fingerprint "
            f"{tuned.fingerprint} split {tuned.split_hash}, but suite {suite.name} runs on "
            f"{dataset.name} (fingerprint {dataset.manifest.fingerprint}, split {split_hash})")
    spec = MODELS.get(tuned.model)
    params = spec.params(tuned.params)
    return [Cell(tuned.model, params, seed,
                 cell_key(dataset.manifest.fingerprint, split_hash, tuned.model, params,
                                  seed, spec.code_fingerprint, tuned.study),
                 tuned.study, tuned.finished)
            for seed in cell_seeds(spec, suite.seeds)]


def sweep_cells(suite: Suite, dataset: Dataset, tuned: Tuned | None) -> list[Cell]:
    """The cells a sweep runs: the suite's plan, or with ``tuned`` its tuned model's cells."""
    return tuned_plan(suite, dataset, tuned) if tuned else plan(suite, dataset)


def check_needs(cells: list[Cell], dataset: Dataset) -> None:
    """Every cell's input must exist in the dataset (its audio windows, a video window that
    is a whole number of frames at the dataset's frame rate) before the first fit: one error
    naming each missing need and the cells that need it."""
    problems: dict[str, list[Cell]] = {}
    for cell in cells:
        view, window = view_of(cell.model), cell.params.get("window")
        if window is None:
            continue
        if view.video_window:
            try:
                window_slots(dataset.manifest.fps, window)
            except EmorecError as error:
                problems.setdefault(str(error), []).append(cell)
        if view.audio_window and float(window) not in dataset.audio:
            known = ", ".join(f"{w:g}" for w in dataset.audio) or "none"
            problems.setdefault(f"dataset {dataset.name!r} has no {window:g} s audio windows "
                                f"(it has: {known})", []).append(cell)
    if problems:
        raise EmorecError("; ".join(
            f"{problem}, which {len(found)} cell(s) need ({run_name(found[0])}"
            f"{', ...' if len(found) > 1 else ''})" for problem, found in problems.items())
            + "; nothing was fitted")


def plan_name(suite: Suite, tuned: Tuned | None) -> str:
    """The name a sweep's shard plan is kept under: the suite's, and the study's if tuned."""
    return suite.name if tuned is None else f"{suite.name}-tuned-{tuned.study}"

