"""The one writer of a sweep's records: for each fitted cell, in this order, its MLflow run
(left RUNNING), its kept predictions, its results row, then the run set FINISHED. A kill
between any two steps (the named checkpoints) leaves a state the next sweep settles: a cell
without a row runs again, a RUNNING run of a killed sweep is set FINISHED if its row was
written and KILLED if not, and a FINISHED run without a row is reused rather than logged twice."""

from __future__ import annotations

from pathlib import Path

from emorec.cells import Cell, seed_label, seed_value
from emorec.display import describe_variant
from emorec.evaluation import CellResult
from emorec.models import MODELS, ModelSpec
from emorec.models.shown import model_facts, shown_columns
from emorec.report.sweep import summary, variants
from emorec.store import facts, predictions, result_rows, results
from emorec.system.faults import checkpoint
from emorec.tracking.mlflow_store import connect
from emorec.tracking.runs import DatasetRef, SweepSummary, Tracker


class Recorder:
    """Records the cells of one sweep of one dataset. Opening it connects to the tracking store
    (bounded by ``timeout``: a store that does not answer stops the sweep before any fit),
    settles what killed sweeps left, and writes the facts the leaderboard needs beside the
    results: every registered model's and the dataset's (``dataset``, from
    :func:`emorec.store.facts.dataset_facts`). ``planned`` are the sweep's cells (those already in
    the results file too) and ``params`` the sweep's own (suite, seeds, ...): its parent run
    ends with them and a summary of the planned cells' rows."""

    def __init__(self, context: result_rows.RowContext, results_dir: Path, *, dataset: dict,
                 dataset_ref: DatasetRef, tracking_uri: str, timeout: float, tags: dict,
                 recorded: set[str], planned: list[Cell], params: dict):
        self.context = context
        self.rows = results.results_path(results_dir, context.dataset)
        self.results_dir = Path(results_dir)
        self.recorded = recorded
        self.planned = {cell.key for cell in planned}
        self.tags = tags
        connect(tracking_uri, timeout)
        facts.write_models(results_dir, {name: model_facts(MODELS.get(name)) for name in MODELS})
        facts.write(results_dir, {context.dataset: dataset}, facts.DATASETS_FILE)
        self.tracker = Tracker(tracking_uri, context.suite, tags, recorded=recorded,
                               results_dir=results_dir, dataset=dataset_ref, params=params)
        self.recorded_now: set[str] = set()

    @property
    def experiment(self) -> str:
        return self.tracker.experiment

    def record(self, cell: Cell, result: CellResult) -> None:
        checkpoint("fitted")
        spec = MODELS.get(cell.model)
        device = {} if result.device is None else {"device": result.device}
        run_id = self.tracker.log_cell(
            key=cell.key, name=run_name(cell),
            params={**cell.params, "seed": seed_value(cell.seed)},
            metrics={**result_rows.scores(result.predictions), "fit_seconds": result.fit_seconds,
                     "fit_core_seconds": result.fit_core_seconds},
            fit_started=result.fit_started, fit_seconds=result.fit_seconds,
            epochs=result.epochs,
            tags={**self.tags, **device, **cell_tags(spec, cell),
                  "code_fingerprint": spec.code_fingerprint},
            predictions=result.predictions["test"], reuse=cell.key not in self.recorded)
        checkpoint("mlflow-logged")
        context = self.context
        predictions.write(self.results_dir, context.dataset, context.fingerprint,
                          context.split_hash, cell.key, result.predictions)
        checkpoint("predictions-written")
        results.append(self.rows, result_rows.build_row(self.context, cell, spec, result, run_id))
        checkpoint("row-written")
        self.tracker.finish(cell.key, run_id)
        self.recorded_now.add(cell.key)
        checkpoint("run-finished")

    @property
    def runs_made(self) -> int:
        return len(self.tracker.created)

    def close(self, status: str) -> None:
        """End the sweep's parent run (if it made one) with ``status`` and its summary."""
        self.tracker.close(status,
                           self.summary() if self.tracker.keeps_parent(status) else None)

    def summary(self) -> SweepSummary:
        """The planned cells' rows as the sweep leaves them: counts of cells fitted now,
        reused (their rows from an earlier sweep, not fitted now), unfinished (no row: the
        sweep failed or was stopped first) and of fitted cells whose run is a killed sweep's
        FINISHED one; the best variant on dev (seed mean) with its test CCC; one row per
        variant."""
        rows = results.load(self.rows)
        rows = rows[rows["cell_key"].isin(self.planned)].drop_duplicates("cell_key",
                                                                          keep="last")
        table = variants(rows, describe)
        metrics = {"cells_planned": len(self.planned),
                   "cells_fitted": len(self.recorded_now),
                   "cells_reused": len(set(rows["cell_key"]) - self.recorded_now),
                   "cells_unfinished": len(self.planned - set(rows["cell_key"])),
                   "runs_of_killed_sweeps_reused": len(self.tracker.reused)}
        if not table.empty:
            best = table.iloc[0]
            metrics["best_variant_dev_mean_ccc"] = best["dev_mean_ccc"]
            metrics["best_variant_test_mean_ccc"] = best["test_mean_ccc"]
        return SweepSummary(metrics, table, summary(self.rows.parent, self.context.dataset))


def cell_tags(spec: ModelSpec, cell: Cell) -> dict:
    """The tags a cell's run is filtered by (beside the sweep's: dataset, origin stand-in or
    real, results folder, suite): model, family, modality, online or offline (whether its
    params read future frames), seed-free, and the study that tuned it ("" for none)."""
    offline = model_facts(spec).offline(cell.params)
    return {"model": cell.model, "family": spec.family, "modality": spec.modality,
            "online_offline": "offline" if offline else "online",
            "seed_free": str(not spec.seeded).lower(), "tuned_by": cell.tuned_by}


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
                            {name: params.get(name) for name in shown_columns(spec)})
