"""A suite's sweep: suite -> cells -> evaluated in worker processes -> recorded by the main
process alone (:mod:`emorec.record.recorder`); cells already in the results file are skipped."""

from __future__ import annotations

import json
import logging
from functools import partial
from pathlib import Path

import pandas as pd

from emorec.cells import Cell
from emorec.data.dataset import Dataset
from emorec.data.splits import check_extractor_overlap, guard_state
from emorec.errors import EmorecError
from emorec.record.recorder import Recorder, describe, fitted, registered_models
from emorec.record.recorder import needed as recorder_needed
from emorec.report.sweep import parent_summary, reuse_note, summary
from emorec.store import predictions, result_rows, results
from emorec.store.facts import dataset_facts
from emorec.sweep import sharding
from emorec.sweep.planning import check_needs, plan_name, sweep_cells
from emorec.sweep.progress import estimated_seconds
from emorec.sweep.suites import Suite
from emorec.sweep.workers import execute
from emorec.system.files import folder_lock
from emorec.system.processes import exit_on_sigterm
from emorec.system.provenance import code_version
from emorec.tracking.mlflow_store import (
    DEFAULT_TIMEOUT_SECONDS,
    DEFAULT_TRACKING_URI,
    how_to_open,
    runs_url,
)
from emorec.tracking.run_links import missing_store
from emorec.tracking.runs import DatasetRef, suite_experiment
from emorec.tuning.tuned import Tuned

log = logging.getLogger(__name__)


def run_suite(suite: Suite, *, jobs: int = 1, force: bool = False,
              tracking_uri: str = DEFAULT_TRACKING_URI, results_dir: Path = results.RESULTS_DIR,
              data_dir: Path = Path("data"), shard: tuple[int, int] = (1, 1),
              tuned: Tuned | None = None,
              tracking_timeout: float = DEFAULT_TIMEOUT_SECONDS,
              allow_extractor_overlap: bool = False,
              shard_plans: Path | None = None) -> pd.DataFrame:
    """Run the suite's cells, or with ``tuned`` only the tuned model on the suite's seeds.
    Holds the results folder's lock throughout: one writer per folder. A split testing on
    sessions the feature extractor was trained on is refused before any cell runs, unless
    ``allow_extractor_overlap``. A shard (``shard`` i/n other than 1/1) takes its cells by
    the plan file in ``shard_plans`` (default: the results folder's ``shard-plans``), made
    there on its first start (:mod:`emorec.sweep.sharding`)."""
    dataset_path = suite.dataset_path(data_dir)
    dataset = Dataset.load(dataset_path)
    split = dataset.split()
    check_extractor_overlap(split, dataset.manifest.extractor_train, str(dataset_path),
                            allow=allow_extractor_overlap)
    context = result_rows.RowContext(
        suite=suite.name, dataset=dataset.name, origin=dataset.manifest.origin,
        fingerprint=dataset.manifest.fingerprint, split_hash=split.hash,
        code_version=code_version(),
        extractor_guard=guard_state(dataset.manifest.origin, split,
                                    dataset.manifest.extractor_train, allow_extractor_overlap))
    with folder_lock(results_dir, f"emorec bench {suite.source}"):
        finished = _run_locked(suite, dataset, dataset_path, context, jobs=jobs, force=force,
                               tracking_uri=tracking_uri, results_dir=Path(results_dir),
                               shard=shard, tuned=tuned, tracking_timeout=tracking_timeout,
                               shard_plans=shard_plans)
        if suite.fusions and tuned is None and shard == (1, 1):
            fuse_suite(suite, dataset.name, Path(results_dir), tracking_uri, tracking_timeout)
        print(summary(Path(results_dir), dataset.name))
        return finished


def fuse_suite(suite: Suite, dataset: str, results_dir: Path, tracking_uri: str,
               tracking_timeout: float) -> None:
    """Make the suite's ``[[fuse]]`` rows from the kept predictions of its cells (those not
    made before); a sharded run leaves them to the run that has every cell."""
    from emorec.record import fuse_rows

    rows, made = fuse_rows.fuse(
        results_dir, dataset, suite.name,
        [([(model, json.loads(params)) for model, params in components], list(methods))
         for components, methods in suite.fusions],
        tracking_uri=tracking_uri, timeout=tracking_timeout)
    print(f"late fusion: {len(rows)} rows, {len(made)} new")


def _run_locked(suite: Suite, dataset: Dataset, dataset_path: Path,
                context: result_rows.RowContext, *, jobs: int, force: bool, tracking_uri: str,
                results_dir: Path, shard: tuple[int, int], tuned: Tuned | None,
                tracking_timeout: float, shard_plans: Path | None) -> pd.DataFrame:
    path = results.results_path(results_dir, dataset.name)
    results.check_writable(path)          # before any fit: a row that cannot be written
    predictions.check_writable(results_dir, dataset.name)   # is a fit lost
    cells = sweep_cells(suite, dataset, tuned)
    check_needs(cells, dataset)
    costs = estimated_seconds(cells, results.load_all(results_dir), dataset.name)
    if shard[1] > len(cells):
        raise EmorecError(f"--shard {shard[0]}/{shard[1]}: {suite.name} on {dataset.name} has "
                          f"only {len(cells)} cells; give at most {len(cells)} shards")
    if shard != (1, 1):
        plan_path = sharding.plan_file(shard_plans or results_dir / sharding.PLAN_FOLDER,
                                       plan_name(suite, tuned), dataset.name)
        cells = sharding.shard_cells(
            cells, shard, sharding.fixed_costs(plan_path, plan_name(suite, tuned), cells,
                                               lambda _: costs))
    recorded = results.load(path)
    _note_history(recorded, context, path, tracking_uri, shard, len(cells))
    done = set(recorded["cell_key"])
    todo = cells if force else [cell for cell in cells if cell.key not in done]
    log.info("%s on %s [%s]: %d cells (%d of seed-free models, fitted once for all seeds), "
             "%d already in %s, %d to run with %d job(s) (one thread each)", suite.name,
             dataset.name, context.origin, len(cells),
             sum(cell.seed is None for cell in cells), len(cells) - len(todo), path, len(todo),
             jobs)
    if recorder_needed(bool(todo), tracking_uri):
        tags = {**context.tags(), **(tuned.tags() if tuned is not None else {})}
        facts = dataset_facts(dataset.manifest)
        recorder = Recorder(
            context, results_dir, models=registered_models(), dataset=facts,
            dataset_ref=DatasetRef(dataset.name, context.fingerprint, dataset_path,
                                   {**facts, "split_hash": context.split_hash}),
            tracking_uri=tracking_uri, timeout=tracking_timeout, tags=tags, recorded=done,
            params=sweep_params(suite, dataset, results_dir, jobs, shard, tuned),
            summary=partial(parent_summary, results_dir=results_dir, dataset=dataset.name,
                            planned={cell.key for cell in cells}, describe=describe))
        _record_all(recorder, todo, dataset_path, jobs, costs)
    finished = results.load(path)
    finished = finished[finished["cell_key"].isin({cell.key for cell in cells})]
    finished = finished.drop_duplicates("cell_key", keep="last")
    if len(todo) < len(cells) and shard == (1, 1):   # a shard's rerun is a resume, not a reuse
        print(reuse_note(suite, len(cells) - len(todo), len(cells), path, jobs,
                         float(finished["fit_core_seconds"].sum())))
    if todo:
        print(mlflow_link(recorder.runs_made, suite.name, tracking_uri, recorder.experiment))
    return finished


def sweep_params(suite: Suite, dataset: Dataset, results_dir: Path, jobs: int,
                 shard: tuple[int, int], tuned: Tuned | None) -> dict:
    """What a sweep's parent run records as its params."""
    return {"suite": suite.name, "suite_file": Path(suite.source).resolve(),
            "dataset": dataset.name, "seeds": ", ".join(map(str, suite.seeds)),
            "models": ", ".join(dict.fromkeys(e.model for e in suite.experiments)),
            "experiments": len(suite.experiments), "jobs": jobs,
            "shard": f"{shard[0]}/{shard[1]}", "results_dir": Path(results_dir).resolve(),
            "params_from": tuned.study if tuned is not None else ""}


def _record_all(recorder: Recorder, todo: list[Cell], dataset_path: Path, jobs: int,
                costs: dict) -> None:
    """Fit the cells and record each as it ends; the sweep's MLflow run ends FINISHED, FAILED
    on an error, or KILLED on an interrupt or a signal (SIGTERM included)."""
    exit_on_sigterm()
    recorder.write_all(fitted(recorder.context, cell, result)
                       for cell, result in execute(todo, dataset_path, jobs, costs))


def _note_history(recorded: pd.DataFrame, context: result_rows.RowContext, path: Path,
                  tracking_uri: str, shard: tuple[int, int], cells: int) -> None:
    """Log what the results file holds besides this sweep's data, and where its runs are."""
    if shard != (1, 1):
        log.info("shard %d/%d: %d cells of the suite", *shard, cells)
    older = ((recorded["fingerprint"] != context.fingerprint)
             | (recorded["split_hash"] != context.split_hash)).sum()
    if older:
        log.info("%d rows of %s are of other data or another split (fingerprint or split "
                 "differs: an older stand-in generator, other features): kept as history, "
                 "never reused, not shown on the leaderboard", older, path)
    if missing_store(tracking_uri) and (recorded["mlflow_run_id"] != "").any():
        log.info("%d rows of %s link to MLflow runs in a store this machine does not have "
                 "(%s): normal in a fresh clone, whose committed rows were logged where they "
                 "ran; if you deleted that store, emorec results check lists the rows",
                 (recorded["mlflow_run_id"] != "").sum(), path, tracking_uri)


def mlflow_link(runs: int, suite: str, tracking_uri: str, experiment: str) -> str:
    """The sweep's closing line: where its runs are and how to open them."""
    return (f"MLflow: {runs} new runs in experiment {suite_experiment(suite)} of "
            f"{tracking_uri}; {how_to_open(tracking_uri)}{runs_url(tracking_uri, experiment)}")
