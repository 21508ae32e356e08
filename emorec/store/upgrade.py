"""Rows of an older schema read as the current one."""

from __future__ import annotations

import json

import pandas as pd

from emorec.store.result_rows import variant
from emorec.store.schema import METRIC_COLUMNS, SCHEMA_VERSION


def upgrade(frame: pd.DataFrame) -> pd.DataFrame:
    """Older schemas -> the current one: v1 had no ``tuned_by`` (no v1 cell was tuned), v2 no
    ``variant`` (worked out from the registered model's defaults, the one time the results layer
    reads the model zoo), v3 no code fingerprint, trial count or session statistics (left
    empty: such rows are stale and have no intervals), v4 no extractor guard, v5 no model source
    (emorec's own models only); v6 and older kept a copy of the window (dropped). v7 and older
    have a seed in every row, a seed-free model's rows too (one per seed, as they were run):
    they are kept as they are, a record of what ran, and a newer seed-free row supersedes them
    on the leaderboard (:func:`current`). v8 and older stored metric columns and no dev sums:
    the metric columns move into ``recorded_metrics`` (what the sums cannot give, dev metrics
    and test MAE, comes from there)."""
    if "schema_version" not in frame.columns or frame.empty:
        return frame
    versions = set(frame["schema_version"].astype(str))
    if versions - {"1", "2", "3", "4", "5", "6", "7", "8"}:
        return frame   # the current version, or validate names the bad row
    if "tuned_by" not in frame.columns:
        frame.insert(list(frame.columns).index("params") + 1, "tuned_by", "")
    if "variant" not in frame.columns:
        frame.insert(list(frame.columns).index("params") + 1, "variant", [
            variant(model, json.loads(params))
            for model, params in zip(frame["model"], frame["params"], strict=True)])
    if "code_fingerprint" not in frame.columns:
        frame.insert(list(frame.columns).index("cell_key"), "code_fingerprint", "")
        frame.insert(list(frame.columns).index("seed"), "tuning_trials", 0)
        frame.insert(list(frame.columns).index("mlflow_run_id"), "fit_core_seconds",
                     frame["fit_seconds"])   # wall time is the best estimate left
        frame.insert(list(frame.columns).index("mlflow_run_id"), "test_session_stats", "")
    if "extractor_guard" not in frame.columns:   # v4 and older: no guard existed
        frame.insert(list(frame.columns).index("origin") + 1, "extractor_guard",
                     ["" if origin == "stand-in" else "not given" for origin in frame["origin"]])
    if "model_source" not in frame.columns:   # v5 and older: emorec's own models only
        frame.insert(list(frame.columns).index("modality") + 1, "model_source", "emorec")
    if "recorded_metrics" not in frame.columns:   # v8 and older: metric columns, no dev sums
        stored = [c for c in METRIC_COLUMNS if c in frame.columns]
        frame.insert(list(frame.columns).index("mlflow_run_id"), "recorded_metrics", [
            json.dumps({c: float(v) for c, v in zip(stored, values, strict=True)
                        if not pd.isna(v)}, separators=(",", ":"))
            for values in frame[stored].itertuples(index=False)])
        frame.insert(list(frame.columns).index("test_session_stats"), "dev_session_stats", "")
        frame = frame.drop(columns=stored)
    return frame.drop(columns="window", errors="ignore").assign(schema_version=SCHEMA_VERSION)
