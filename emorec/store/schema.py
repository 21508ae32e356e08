"""The results file's schema: its columns, their history, and every record checked against
them.

Schema history: v2 added ``tuned_by`` (the Optuna study whose best params a cell ran with,
``emorec bench --params-from STUDY``; empty otherwise); v3 added ``variant`` (the params that
differ from the model's defaults, so a row describes itself without the model zoo); v4 added
``code_fingerprint`` (of the code that decides the model's numbers, part of the cell key),
``fit_core_seconds`` (CPU time of the fit, the training budget; a cell fits on one thread),
``tuning_trials`` (the study's finished trials for a tuned row, else 0) and
``test_session_stats`` (per test session and target: n and the sums of y, p, y², p² and y·p,
enough to recompute pooled CCC and RMSE on any resample of sessions); v5 added
``extractor_guard`` (real data: whether the feature extractor's training sessions were given and
kept out of test; empty for stand-ins); v6 added ``model_source`` (``emorec``, or the plugin a
model came from: package and version, or file and content hash); v7 dropped ``window`` (a copy
of the window in ``params``, which alone holds it now); v8 let ``seed`` be empty: the one row of
a seed-free model (``@model(seeded=False)``), fitted once for all seeds (read as a nullable
integer, ``<NA>``); v9 keeps what every metric is derived from instead of metric columns:
``dev_session_stats`` and ``test_session_stats`` (per session and target, the sums of
:data:`emorec.metrics.STAT_NAMES`, Σ|y−p| added for MAE), and ``recorded_metrics`` (the metric
columns an older row was written with, JSON, for what its sums cannot give; empty for v9 rows).
The metric columns (:data:`METRIC_COLUMNS`, one per partition, target and metric of
:data:`emorec.metrics.METRICS`) are computed when a file is loaded. Older files are read as
the current schema and rewritten as it when a row is appended to them; rows older than v4 have
no code fingerprint, so ``emorec verify`` reports them stale.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from emorec import metrics
from emorec.data.splits import GUARD_STATES
from emorec.errors import DataError
from emorec.vocabulary import ORIGINS, SCORED_PARTITIONS, TARGETS

SCHEMA_VERSION = 9


IDENTITY_COLUMNS = ["schema_version", "suite", "dataset", "origin", "extractor_guard",
                    "fingerprint", "split_hash",
                    "model", "family", "modality", "model_source", "params", "variant", "tuned_by",
                    "tuning_trials", "seed", "code_fingerprint", "cell_key",
                    "code_version"]


STATS_COLUMNS = [f"{partition}_session_stats" for partition in SCORED_PARTITIONS]


COLUMNS = [*IDENTITY_COLUMNS, "fit_seconds", "fit_core_seconds", *STATS_COLUMNS,
           "recorded_metrics", "mlflow_run_id"]


# Derived when a file is loaded, never stored: every partition x target x metric.
METRIC_COLUMNS = [f"{partition}_{target}_{name}" for partition in SCORED_PARTITIONS
                  for target in (*TARGETS, "mean") for name in metrics.METRIC_NAMES]


TEXT_COLUMNS = ["params", "variant", "cell_key", "fingerprint", "split_hash", "mlflow_run_id",
                "code_version", "tuned_by", "code_fingerprint", "extractor_guard",
                "model_source", *STATS_COLUMNS, "recorded_metrics"]


def validate(frame: pd.DataFrame, source: str, first_row: int | None) -> pd.DataFrame:
    """Check the schema; DataError naming file, row and column otherwise."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(source, "results file lacks columns", column=missing[0],
                        expected=f"schema v{SCHEMA_VERSION} columns",
                        found="no " + ", ".join(missing))
    extra = [c for c in frame.columns if c not in COLUMNS]
    if extra:
        raise DataError(source, "unknown columns in results file", column=extra[0],
                        expected=f"schema v{SCHEMA_VERSION} columns")

    def fail(index, column, expected, found):
        row = None if first_row is None else int(index) + first_row
        raise DataError(source, "bad result record", row=row, column=column, expected=expected,
                        found=repr(found))

    for index, record in frame.iterrows():
        if str(record["schema_version"]) != str(SCHEMA_VERSION):
            fail(index, "schema_version", str(SCHEMA_VERSION), record["schema_version"])
        if record["origin"] not in ORIGINS:
            fail(index, "origin", " or ".join(ORIGINS), record["origin"])
        if record["extractor_guard"] not in GUARD_STATES:
            fail(index, "extractor_guard", " or ".join(map(repr, GUARD_STATES)),
                 record["extractor_guard"])
        for column in ("suite", "dataset", "fingerprint", "split_hash", "model", "cell_key"):
            if not isinstance(record[column], str) or not record[column]:
                fail(index, column, "a non-empty text", record[column])
        for column, expected in (("tuned_by", "a study name or empty"),
                                 ("code_fingerprint", "16 hex digits or empty"),
                                 *((c, "JSON per-session statistics or empty")
                                   for c in STATS_COLUMNS),
                                 ("recorded_metrics", "a JSON object or empty")):
            if not isinstance(record[column], str):
                fail(index, column, expected, record[column])
        try:
            if int(record["tuning_trials"]) < 0:
                raise ValueError
        except (TypeError, ValueError):
            fail(index, "tuning_trials", "a whole number >= 0", record["tuning_trials"])
        for column in ("params", "variant", *STATS_COLUMNS, "recorded_metrics"):
            if column not in ("params", "variant") and record[column] == "":
                continue
            try:
                json.loads(record[column])
            except (TypeError, ValueError):
                fail(index, column, "a JSON object", record[column])
        try:
            if not pd.isna(record["seed"]) and int(record["seed"]) != float(record["seed"]):
                raise ValueError
        except (TypeError, ValueError):
            fail(index, "seed", "a whole number, or empty (seed-free)", record["seed"])
        for column in ("fit_seconds", "fit_core_seconds"):
            try:
                value = float(record[column])
            except (TypeError, ValueError):
                fail(index, column, "a number", record[column])
            if not math.isfinite(value):
                fail(index, column, "a finite number", record[column])
    frame = frame.astype({"seed": "Int64", "schema_version": int, "tuning_trials": int})
    return frame.astype({c: float for c in ("fit_seconds", "fit_core_seconds")})
