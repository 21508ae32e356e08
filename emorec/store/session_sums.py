"""Per-session sums, the numbers every metric is derived from: encoded in a row's
``<partition>_session_stats`` and turned into the metric columns when a file is loaded."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from emorec import metrics
from emorec.store.schema import METRIC_COLUMNS
from emorec.vocabulary import SCORED_PARTITIONS


def session_stats(y_true: np.ndarray, y_pred: np.ndarray, sessions: np.ndarray) -> str:
    """``{session: [[n, Σy, Σp, Σy², Σp², Σy·p, Σ|y−p|] per target]}`` as compact JSON."""
    names, sums = metrics.session_sums(y_true, y_pred, sessions)
    return json.dumps({name: [[int(t[0]), *map(float, t[1:])] for t in session]
                       for name, session in zip(names, sums.tolist(), strict=True)},
                      separators=(",", ":"))


def parse_session_stats(text: str) -> dict[str, np.ndarray] | None:
    """``session -> (targets, stats)`` array, or None for a row without stats. Sums written
    before Σ|y−p| was kept have NaN in its place."""
    if not text:
        return None
    width = len(metrics.STAT_NAMES)
    out = {}
    for session, values in json.loads(text).items():
        array = np.asarray(values, dtype=np.float64)
        if array.shape[-1] < width:
            array = np.concatenate([array, np.full((*array.shape[:-1], width - array.shape[-1]),
                                                   np.nan)], axis=-1)
        out[session] = array
    return out


def stats_array(text: str) -> np.ndarray | None:
    """(sessions, targets, stats) sums of a row's stats column, sessions sorted by name."""
    parsed = parse_session_stats(text)
    return None if parsed is None else np.stack([parsed[s] for s in sorted(parsed)])


def with_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every metric column, computed from its sums; where a row's sums cannot
    give a value (an older row), the value it was recorded with, else NaN."""
    values = []
    for record in frame.itertuples(index=False):
        recorded = json.loads(record.recorded_metrics) if record.recorded_metrics else {}
        row = {}
        for partition in SCORED_PARTITIONS:
            sums = stats_array(getattr(record, f"{partition}_session_stats"))
            if sums is not None:
                row.update({f"{partition}_{name}": value
                            for name, value in metrics.scores(sums).items()})
        for column in METRIC_COLUMNS:
            if math.isnan(row.get(column, math.nan)):
                row[column] = recorded.get(column, math.nan)
        values.append(row)
    derived = pd.DataFrame(values, columns=METRIC_COLUMNS, index=frame.index, dtype=float)
    return pd.concat([frame.drop(columns=METRIC_COLUMNS, errors="ignore"), derived], axis=1)
