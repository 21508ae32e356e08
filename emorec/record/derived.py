"""Rows made from kept predictions rather than a fit: late fusion (``emorec fuse``) and
external predictions (``emorec score``). Each is recorded by the recorder that records fitted
cells (:mod:`emorec.record.recorder`: the same steps in the same order, the same kill points, killed
runs settled the same way), so a derived row is tracked, traceable and ranked like any other,
and one already recorded is not made twice."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from emorec.cells import seed_label, seed_value
from emorec.errors import EmorecError
from emorec.store import facts, predictions, result_rows, results
from emorec.system.provenance import code_version

if TYPE_CHECKING:   # the recorder loads MLflow, which loads slowly: only when recording
    from emorec.record.recorder import Entry


@dataclass(frozen=True)
class DerivedRow:
    model: str
    family: str
    modality: str
    source: str                       # model_source: emorec, or "external: <file> sha256:..."
    params: dict
    seed: int | None
    cell_key: str
    code_fingerprint: str
    by_partition: dict[str, pd.DataFrame]   # frames with labels and <target>_pred
    offline: bool                     # whether it reads future frames (ranked apart)

    def model_facts(self) -> facts.ModelFacts:
        """Its model's entry in ``models.json``: offline when its params say so."""
        return facts.ModelFacts(offline_when=(("offline", True),), family=self.family,
                                modality=self.modality, source=self.source)


def current_context(results_dir: Path, dataset: str, suite: str) -> tuple[result_rows.RowContext,
                                                                           pd.DataFrame]:
    """The row context of a dataset's newest rows (its data and split) and those rows."""
    rows = results.load(results.results_path(results_dir, dataset))
    if rows.empty:
        raise EmorecError(f"{results.results_path(results_dir, dataset)}: no results for "
                          f"dataset {dataset!r} (run emorec bench first)")
    last = rows.iloc[-1]
    context = result_rows.RowContext(suite=suite, dataset=dataset, origin=last["origin"],
                                     fingerprint=last["fingerprint"],
                                     split_hash=last["split_hash"], code_version=code_version(),
                                     extractor_guard=last["extractor_guard"])
    return context, result_rows.current(rows)


def record(results_dir: Path, context: result_rows.RowContext, rows: list[DerivedRow], *,
           tracking_uri: str, timeout: float) -> list[str]:
    """Record ``rows`` (those whose cell key has no row yet) by the one writer of rows'
    records, :class:`emorec.record.recorder.Recorder`; returns the keys recorded."""
    path = results.results_path(results_dir, context.dataset)
    done = set(results.load(path)["cell_key"])
    todo = [row for row in rows if row.cell_key not in done]
    from emorec.record import recorder
    from emorec.tracking.runs import DatasetRef

    if not recorder.needed(bool(todo), tracking_uri):
        return []
    writer = recorder.Recorder(
        context, results_dir, models={row.model: row.model_facts() for row in todo}, dataset=None,
        dataset_ref=DatasetRef(context.dataset, context.fingerprint,
                               predictions.folder(results_dir, context.dataset),
                               {"origin": context.origin, "split_hash": context.split_hash,
                                "read": "kept predictions"}),
        dataset_use=("predictions", "dev, test"), tracking_uri=tracking_uri, timeout=timeout,
        tags=context.tags(), recorded=done,
        params={"suite": context.suite, "dataset": context.dataset,
                "results_dir": Path(results_dir).resolve(), "derived_rows": len(todo)})
    writer.write_all(entry(context, row) for row in todo)
    return [row.cell_key for row in todo]


def entry(context: result_rows.RowContext, row: DerivedRow) -> Entry:
    """The records of ``row``: nothing fitted, so no fit time."""
    from emorec.record.recorder import Entry, row_tags

    params = {**row.params, "offline": row.offline}
    return Entry(
        row=result_rows.row(context, model=row.model, family=row.family, modality=row.modality,
                            source=row.source, params=params, variant=row.params, seed=row.seed,
                            code_fingerprint=row.code_fingerprint, cell_key=row.cell_key,
                            by_partition=row.by_partition, mlflow_run_id=""),
        by_partition=row.by_partition, run_name=f"{row.model} {seed_label(row.seed)}",
        run_params={**params, "seed": seed_value(row.seed)},
        metrics=result_rows.scores(row.by_partition),
        tags={**row_tags(row.model, row.family, row.modality, offline=row.offline,
                         seed_free=row.seed is None),
              "code_fingerprint": row.code_fingerprint},
        fit_started=time.time())
