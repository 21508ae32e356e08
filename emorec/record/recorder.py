"""The one writer of results rows' records, a fitted cell's (``emorec bench``) and a row made from
kept predictions alike (late fusion and external predictions, :mod:`emorec.record.derived`). For
each row, in this order: its MLflow run (left RUNNING), its kept predictions, its results row,
then the run set FINISHED, with a named kill point (:mod:`emorec.system.faults`) before the
first step and after each. A kill at any of them leaves a state that the next recorder opened on
the same results folder and suite settles (:class:`emorec.tracking.runs.Tracker`): a row not
written is made again, a RUNNING run of a killed process is set FINISHED if its row was written
and KILLED if not (its parent run KILLED), and a FINISHED run without a row is reused rather
than logged twice. So a recorder is opened also when nothing is left to record (:func:`needed`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from emorec.cells import Cell, seed_label, seed_value
from emorec.display import describe_variant
from emorec.evaluation import CellResult
from emorec.models import MODELS, ModelSpec
from emorec.store import facts, predictions, result_rows, results
from emorec.system.faults import checkpoint
from emorec.tracking.mlflow_store import connect
from emorec.tracking.run_links import missing_store
from emorec.tracking.runs import DatasetRef, SweepSummary, Tracker

# what a parent run ends with, given the keys of the rows recorded now and the number of
# killed processes' FINISHED runs reused for them (a sweep's: emorec.report.sweep.parent_summary)
Summary = Callable[[set[str], int], SweepSummary]


def needed(rows_to_record: bool, tracking_uri: str) -> bool:
    """Whether a command on a results folder opens its recorder: when it has rows to record,
    and when it has none but its store exists, to settle what a process killed after writing
    its last row left (a SQLite file that does not exist holds nothing to settle)."""
    return rows_to_record or not missing_store(tracking_uri)


@dataclass(frozen=True)
class Entry:
    """One row's records: its results row (``mlflow_run_id`` filled in when it is written), its
    kept predictions (per scored partition) and what its MLflow run carries besides the
    recorder's tags."""
    row: dict
    by_partition: dict[str, pd.DataFrame]
    run_name: str
    run_params: dict
    metrics: dict
    tags: dict
    fit_started: float
    epochs: list[dict] = field(default_factory=list)


class Recorder:
    """Records the rows of one command on one dataset's results (a sweep, a fusion, a score).
    Opening it connects to the tracking store (bounded by ``timeout``: a store that does not
    answer stops a sweep before any fit), settles what killed processes left, and writes the
    facts the leaderboard needs beside the results: ``models`` (name -> facts) and, when given,
    the dataset's (``dataset``, from :func:`emorec.store.facts.dataset_facts`). ``recorded``
    are the cell keys the results file holds, ``params`` the command's own (suite, seeds, ...)
    and ``dataset_use`` (run input context, partitions read) what its runs read of
    ``dataset_ref``. With ``summary`` (a sweep's) its parent run ends with what that makes."""

    def __init__(self, context: result_rows.RowContext, results_dir: Path, *,
                 models: dict[str, facts.ModelFacts], dataset: dict | None,
                 dataset_ref: DatasetRef, tracking_uri: str, timeout: float, tags: dict,
                 recorded: set[str], params: dict, summary: Summary | None = None,
                 dataset_use: tuple[str, str] = ("training", "train, dev, test")):
        self.context = context
        self.rows = results.results_path(results_dir, context.dataset)
        self.results_dir = Path(results_dir)
        self.recorded = recorded
        self.summary = summary
        connect(tracking_uri, timeout)
        facts.write_models(results_dir, models)
        if dataset is not None:
            facts.write(results_dir, {context.dataset: dataset}, facts.DATASETS_FILE)
        self.tracker = Tracker(tracking_uri, context.suite, tags, recorded=recorded,
                               results_dir=results_dir, dataset=dataset_ref,
                               dataset_use=dataset_use, params=params)
        self.recorded_now: set[str] = set()

    @property
    def experiment(self) -> str:
        return self.tracker.experiment

    def write(self, entry: Entry) -> None:
        """Record one row: run, kept predictions, results row, run FINISHED."""
        checkpoint("fitted")
        key, context = entry.row["cell_key"], self.context
        run_id = self.tracker.log_cell(
            key=key, name=entry.run_name, params=entry.run_params, metrics=entry.metrics,
            fit_started=entry.fit_started, fit_seconds=entry.row["fit_seconds"],
            epochs=entry.epochs, tags=entry.tags, predictions=entry.by_partition["test"],
            reuse=key not in self.recorded)
        checkpoint("mlflow-logged")
        predictions.write(self.results_dir, context.dataset, context.fingerprint,
                          context.split_hash, key, entry.by_partition)
        checkpoint("predictions-written")
        results.append(self.rows, {**entry.row, "mlflow_run_id": run_id})
        checkpoint("row-written")
        self.tracker.finish(key, run_id)
        self.recorded_now.add(key)
        checkpoint("run-finished")

    def write_all(self, entries: Iterable[Entry]) -> None:
        """Record each entry as it comes, then end the parent run: FINISHED, FAILED on an
        error, KILLED on an interrupt or a signal."""
        status = "FAILED"
        try:
            for entry in entries:
                self.write(entry)
            status = "FINISHED"
        except (KeyboardInterrupt, SystemExit):
            status = "KILLED"
            raise
        finally:
            self.close(status)

    @property
    def runs_made(self) -> int:
        return len(self.tracker.created)

    def close(self, status: str) -> None:
        """End the parent run (if it made one) with ``status`` and, given a ``summary``, what
        that makes of the rows recorded now."""
        keep = self.summary is not None and self.tracker.keeps_parent(status)
        self.tracker.close(status, self.summary(self.recorded_now, len(self.tracker.reused))
                           if keep else None)


def registered_models() -> dict[str, facts.ModelFacts]:
    """Every registered model's facts, which a sweep writes beside its results."""
    return {name: MODELS.get(name).facts() for name in MODELS}


def fitted(context: result_rows.RowContext, cell: Cell, result: CellResult) -> Entry:
    """The records of a fitted cell."""
    spec = MODELS.get(cell.model)
    device = {} if result.device is None else {"device": result.device}
    return Entry(
        row=result_rows.build_row(context, cell, spec, result, ""),
        by_partition=result.predictions, run_name=run_name(cell),
        run_params={**cell.params, "seed": seed_value(cell.seed)},
        metrics={**result_rows.scores(result.predictions), "fit_seconds": result.fit_seconds,
                 "fit_core_seconds": result.fit_core_seconds},
        tags={**device, **cell_tags(spec, cell), "code_fingerprint": spec.code_fingerprint},
        fit_started=result.fit_started, epochs=result.epochs)


def cell_tags(spec: ModelSpec, cell: Cell) -> dict:
    """A fitted cell's :func:`row_tags`: offline when its params read future frames."""
    return row_tags(cell.model, spec.family, spec.modality,
                    offline=spec.facts().offline(cell.params), seed_free=not spec.seeded,
                    tuned_by=cell.tuned_by)


def row_tags(model: str, family: str, modality: str, *, offline: bool, seed_free: bool,
             tuned_by: str = "") -> dict:
    """The tags a row's run is filtered by (beside the command's: dataset, origin stand-in or
    real, results folder, suite): model, family, modality, online or offline, seed-free, and
    the study that tuned it ("" for none)."""
    return {"model": model, "family": family, "modality": modality,
            "online_offline": "offline" if offline else "online",
            "seed_free": str(seed_free).lower(), "tuned_by": tuned_by}


def run_name(cell: Cell) -> str:
    """``gru 2 s avg epochs=5 seed 0`` (``svr seed-free``): what a person reads first in
    MLflow's run list."""
    tuned = " tuned" if cell.tuned_by else ""
    return f"{describe(cell.model, cell.params)}{tuned} {seed_label(cell.seed)}"


def describe(model: str, params: dict) -> str:
    """``gru 2 s avg epochs=5``: a registered model with its shown params and the others that
    differ from its defaults."""
    spec = MODELS.get(model)
    return describe_variant(model, spec.changed(params),
                            {name: params.get(name) for name in spec.columns})
