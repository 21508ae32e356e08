"""One cell fitted and its predictions kept: the one evaluation path of ``emorec bench``,
``emorec verify`` and ``emorec tune``. Scores are not computed here: a row keeps per-session
sums of its predictions (:mod:`emorec.store.session_sums`) and every metric derives from them
(:mod:`emorec.metrics`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from emorec.data.dataset import Dataset
from emorec.models.base import EpochCallback, ModelSpec
from emorec.vocabulary import SCORED_PARTITIONS, TARGETS


@dataclass(frozen=True)
class CellResult:
    fit_started: float            # when estimator.fit began (epoch seconds)
    fit_seconds: float            # wall time of estimator.fit alone
    fit_core_seconds: float       # CPU time of this process during the fit: the budget
    predictions: dict[str, pd.DataFrame]   # per scored partition: frames, labels, predictions
    epochs: list[dict]            # per-epoch dev scores of a net, else empty
    device: str | None            # where a net trained, else None


def evaluate_cell(dataset: Dataset, spec: ModelSpec, params: dict, seed: int | None,
                  partitions: tuple[str, ...] = SCORED_PARTITIONS,
                  on_epoch: EpochCallback | None = None) -> CellResult:
    """Fit ``spec`` with ``params`` and ``seed`` (None for a seed-free cell) on train (dev for
    early stopping or grid search) and predict every frame of each of ``partitions``.
    ``on_epoch`` is passed to the estimator's fit.

    Every cell computes on one CPU thread (torch and BLAS alike), so its numbers do not depend
    on how many cells run side by side: parallelism is across cells (``--jobs``), trials
    (``--workers``) and machines."""
    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        return _evaluate(dataset, spec, params, seed, partitions, on_epoch)


def _evaluate(dataset: Dataset, spec: ModelSpec, params: dict, seed: int | None,
              partitions: tuple[str, ...], on_epoch: EpochCallback | None) -> CellResult:
    split = dataset.split()
    inputs = {partition: spec.build_view(dataset, params, partition, split)
              for partition in ("train", "dev", *partitions)}
    estimator = spec.build(params, seed)
    started = time.time()
    start, cpu_start = time.perf_counter(), time.process_time()
    estimator.fit(inputs["train"], inputs["dev"], on_epoch=on_epoch)
    fit_seconds = time.perf_counter() - start
    fit_core_seconds = time.process_time() - cpu_start
    predictions = {}
    for partition in partitions:
        frames = inputs[partition].frames
        predicted = np.asarray(estimator.predict(inputs[partition]), dtype=np.float64)
        if not np.all(np.isfinite(predicted)):
            raise ValueError(f"{partition} predictions contain NaN or inf")
        predictions[partition] = pd.DataFrame({
            "session": frames.session, "timestamp": frames.timestamp,
            **{t: frames.labels[:, i] for i, t in enumerate(TARGETS)},
            **{f"{t}_pred": predicted[:, i] for i, t in enumerate(TARGETS)}})
    history = estimator.history
    return CellResult(fit_started=started, fit_seconds=fit_seconds,
                      fit_core_seconds=fit_core_seconds,
                      predictions=predictions, epochs=history.epochs if history is not None else [],
                      device=history.device if history is not None else None)
