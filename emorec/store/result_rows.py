"""A results row built from a fitted cell or from kept predictions, and which rows a
leaderboard shows (:func:`current`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from emorec import metrics
from emorec.cells import Cell, canonical_params
from emorec.store.schema import SCHEMA_VERSION
from emorec.store.session_sums import session_stats
from emorec.vocabulary import SCORED_PARTITIONS, TARGETS


@dataclass(frozen=True)
class RowContext:
    """What every row one bench writes shares: its suite, data, split, code and guard."""
    suite: str
    dataset: str
    origin: str
    fingerprint: str
    split_hash: str
    code_version: str
    extractor_guard: str

    def tags(self) -> dict:
        """The MLflow tags every run of these rows carries."""
        return {"dataset": self.dataset, "fingerprint": self.fingerprint,
                "origin": self.origin, "split_hash": self.split_hash,
                "code_version": self.code_version, "suite": self.suite}


def build_row(context: RowContext, cell: Cell, spec, result, mlflow_run_id: str) -> dict:
    """The results row of ``cell`` fitted by model ``spec`` (a registered ModelSpec) with
    ``result`` (an :class:`emorec.evaluation.CellResult`), linked to its MLflow run."""
    return row(context, model=spec.name, family=spec.family, modality=spec.modality,
               source=spec.source, params=cell.params, variant=spec.changed(cell.params),
               seed=cell.seed, code_fingerprint=spec.code_fingerprint, cell_key=cell.key,
               by_partition=result.predictions, mlflow_run_id=mlflow_run_id,
               tuned_by=cell.tuned_by, tuning_trials=cell.tuning_trials,
               fit_seconds=result.fit_seconds, fit_core_seconds=result.fit_core_seconds)


def row(context: RowContext, *, model: str, family: str, modality: str, source: str,
        params: dict, variant: dict, seed: int | None, code_fingerprint: str, cell_key: str,
        by_partition: dict[str, pd.DataFrame], mlflow_run_id: str, tuned_by: str = "",
        tuning_trials: int = 0, fit_seconds: float = 0.0, fit_core_seconds: float = 0.0
        ) -> dict:
    """A results row of the current schema: a fitted cell's (:func:`build_row`) or one made
    from kept predictions (nothing fitted: no fit time)."""
    return {"schema_version": SCHEMA_VERSION, **asdict(context),
            "model": model, "family": family, "modality": modality, "model_source": source,
            "params": canonical_params(params), "variant": canonical_params(variant),
            "tuned_by": tuned_by, "tuning_trials": tuning_trials, "seed": seed,
            "code_fingerprint": code_fingerprint, "cell_key": cell_key,
            "fit_seconds": fit_seconds, "fit_core_seconds": fit_core_seconds,
            **stats_columns(by_partition), "recorded_metrics": "",
            "mlflow_run_id": mlflow_run_id}


def stats_columns(by_partition: dict[str, pd.DataFrame]) -> dict[str, str]:
    """``<partition>_session_stats`` of predictions per scored partition (frames with labels
    and ``<target>_pred``), empty for a partition not given."""
    return {f"{partition}_session_stats": session_stats(
                frame[list(TARGETS)].to_numpy(),
                frame[[f"{t}_pred" for t in TARGETS]].to_numpy(), frame["session"].to_numpy())
            if (frame := by_partition.get(partition)) is not None else ""
            for partition in SCORED_PARTITIONS}


def scores(by_partition: dict[str, pd.DataFrame]) -> dict:
    """``<partition>_<target>_<metric>`` for predictions per partition; ValueError for
    predictions that are not finite."""
    out = {}
    for partition, frame in by_partition.items():
        values = metrics.regression_metrics(frame[list(TARGETS)].to_numpy(),
                                            frame[[f"{t}_pred" for t in TARGETS]].to_numpy(),
                                            frame["session"].to_numpy())
        out.update({f"{partition}_{name}": value for name, value in values.items()})
    return out


def variant(model: str, params: dict) -> str:
    """The params that differ from the registered model's defaults, as canonical JSON (all of
    them for a model that is not registered)."""
    from emorec.models import MODELS

    changed = MODELS.get(model).changed(params) if model in MODELS else params
    return canonical_params(changed)


def current(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows a leaderboard shows: those of the newest data and split (the last row's), one
    per model, variant, study and seed, the last written (a rerun after a code change
    supersedes the older row; the older stays in the file as history). A model that became
    seed-free (or seeded again) is shown as its newest row was run: its seed-free row
    supersedes its earlier per-seed rows, and per-seed rows an earlier seed-free one."""
    if rows.empty:
        return rows
    last = rows.iloc[-1]
    rows = rows[(rows["fingerprint"] == last["fingerprint"])
                & (rows["split_hash"] == last["split_hash"])]
    rows = rows.drop_duplicates(["model", "variant", "tuned_by", "seed"], keep="last")
    seed_free = rows["seed"].isna()
    newest = seed_free.groupby([rows["model"], rows["variant"], rows["tuned_by"]]
                               ).transform("last")
    return rows[seed_free == newest]


def row_seed(value) -> int | None:
    """A row's seed as a cell has it: a whole number, or None for a seed-free row."""
    return None if pd.isna(value) else int(value)
