"""Regression metrics for valence/arousal, and the list of metrics every result carries.

Conventions (the field's, AVEC/MuSe):
- variances and covariances are population ones (ddof=0);
- Pearson r is 0 when either side is constant (it is undefined there);
- CCC is 0 for a constant prediction of a varying target, and 1 when prediction and target are
  the same constant (the only way its denominator can be 0);
- CCC is reported pooled over all frames (``ccc``) and as the mean of per-session CCCs
  (``ccc_session``).

:data:`METRICS` is the one list of metrics: the results columns, the training loop's per-epoch
dev scores and the leaderboard's "best" direction all come from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emorec.vocabulary import TARGETS


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(_as_float(y_true) - _as_float(y_pred))))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((_as_float(y_true) - _as_float(y_pred)) ** 2))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(mse(y_true, y_pred)))


def pearson(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    dy, dp = _centered(y_true), _centered(y_pred)
    denominator = np.sqrt(np.sum(dy * dy) * np.sum(dp * dp))
    return float(np.sum(dy * dp) / denominator) if denominator > 0 else 0.0


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Lin's concordance correlation coefficient."""
    y, p = _as_float(y_true), _as_float(y_pred)
    dy, dp = _centered(y), _centered(p)
    return float(_ccc_from_moments(y.mean(), p.mean(), np.mean(dy * dy), np.mean(dp * dp),
                                   np.mean(dy * dp)))


def ccc_per_session(y_true: np.ndarray, y_pred: np.ndarray, sessions: np.ndarray) -> float:
    """Mean over sessions of the CCC computed within each session."""
    y, p = _as_float(y_true), _as_float(y_pred)
    _, group = np.unique(np.asarray(sessions), return_inverse=True)
    count = np.bincount(group).astype(float)
    mean_y = np.bincount(group, y) / count
    mean_p = np.bincount(group, p) / count
    dy, dp = y - mean_y[group], p - mean_p[group]
    var_y = np.bincount(group, dy * dy) / count
    var_p = np.bincount(group, dp * dp) / count
    cov = np.bincount(group, dy * dp) / count
    return float(np.mean(_ccc_from_moments(mean_y, mean_p, var_y, var_p, cov)))


@dataclass(frozen=True)
class Metric:
    name: str
    function: Callable[..., float]   # (y_true, y_pred) or, per session, (y_true, y_pred, sessions)
    higher_is_better: bool
    per_session: bool = False


METRICS = (
    Metric("mae", mae, higher_is_better=False),
    Metric("mse", mse, higher_is_better=False),
    Metric("rmse", rmse, higher_is_better=False),
    Metric("pearson", pearson, higher_is_better=True),
    Metric("ccc", ccc, higher_is_better=True),
    Metric("ccc_session", ccc_per_session, higher_is_better=True, per_session=True),
)
METRIC_NAMES = tuple(metric.name for metric in METRICS)
EPOCH_METRICS = ("rmse", "ccc")   # what the training loop scores on dev after every epoch
_BY_NAME = {metric.name: metric for metric in METRICS}


def higher_is_better(column: str) -> bool:
    """Direction of a results column such as ``test_valence_rmse`` or ``dev_mean_ccc``."""
    for name in sorted(_BY_NAME, key=len, reverse=True):   # ccc_session before ccc
        if column.endswith(f"_{name}"):
            return _BY_NAME[name].higher_is_better
    raise KeyError(f"{column!r} names no metric of {METRIC_NAMES}")


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, sessions: np.ndarray | None = None,
                       names: tuple[str, ...] = METRIC_NAMES) -> dict:
    """The metrics ``names`` for both targets and their mean.

    ``y_true`` and ``y_pred`` are (n_frames, 2) arrays in the order of ``TARGETS``; ``sessions``
    gives each frame's session (needed by per-session metrics). Keys look like ``valence_ccc``,
    ``arousal_rmse``, ``mean_ccc``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != len(TARGETS):
        raise ValueError(f"expected two (n, {len(TARGETS)}) arrays, got {y_true.shape} and "
                         f"{y_pred.shape}")
    chosen = [_BY_NAME[name] for name in names]
    if any(metric.per_session for metric in chosen) and (
            sessions is None or len(sessions) != len(y_true)):
        raise ValueError(f"{0 if sessions is None else len(sessions)} session ids for "
                         f"{len(y_true)} frames")
    if len(y_true) == 0:
        raise ValueError("no frames to score")
    if not np.all(np.isfinite(y_pred)):
        raise ValueError("predictions contain NaN or inf")
    result = {}
    for column, target in enumerate(TARGETS):
        y, p = y_true[:, column], y_pred[:, column]
        for metric in chosen:
            extra = (sessions,) if metric.per_session else ()
            result[f"{target}_{metric.name}"] = metric.function(y, p, *extra)
    for metric in chosen:
        result[f"mean_{metric.name}"] = float(np.mean([result[f"{t}_{metric.name}"]
                                                       for t in TARGETS]))
    return result


def _as_float(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


def _centered(values: np.ndarray) -> np.ndarray:
    """Deviations from the mean; exactly zero for a constant array (no rounding residue)."""
    values = _as_float(values)
    if values.size == 0 or values.min() == values.max():
        return np.zeros_like(values)
    return values - values.mean()


def _ccc_from_moments(mean_y, mean_p, var_y, var_p, cov):
    mean_y, mean_p, var_y, var_p, cov = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (mean_y, mean_p, var_y, var_p, cov)))
    denominator = var_y + var_p + (mean_y - mean_p) ** 2
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, 2.0 * cov / safe, 1.0)
