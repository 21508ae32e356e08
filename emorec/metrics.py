"""Regression metrics for valence/arousal, every one a function of per-session sufficient
statistics.

Each scored partition of a cell keeps, per session and target, the sums of
:data:`STAT_NAMES` (:func:`session_sums`). Every metric is computed from them: a pooled metric
from the sums added over sessions, a per-session metric as the mean of each session's own
value. So every metric of every stored row, and of every bootstrap resample of its sessions
(:func:`resampled`), follows from what the row keeps. Adding a metric is one entry in
:data:`METRICS` and needs no refit: results, leaderboards and intervals pick it up when results
are loaded. Reporting metrics decide no prediction, so this module is not part of any model's
code fingerprint (the training loop scores its dev epochs with its own code).

Conventions (the field's, AVEC/MuSe):
- variances and covariances are population ones (ddof=0);
- Pearson r is 0 when either side is constant (it is undefined there);
- CCC is 0 for a constant prediction of a varying target, and 1 when prediction and target are
  the same constant (the only way its denominator can be 0);
- CCC is reported pooled over all frames (``ccc``) and as the mean of per-session CCCs
  (``ccc_session``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emorec.vocabulary import TARGETS

# Per session and target: frames, Σy, Σp, Σy², Σp², Σy·p and Σ|y−p|.
STAT_NAMES = ("n", "sum_y", "sum_p", "sum_yy", "sum_pp", "sum_yp", "sum_abs")
N, SY, SP, SYY, SPP, SYP, SABS = range(len(STAT_NAMES))
# A variance below this fraction of its second moment is the rounding residue of a constant.
CONSTANT_RESIDUE = 1e-12


def session_sums(y_true: np.ndarray, y_pred: np.ndarray, sessions: np.ndarray
                 ) -> tuple[list[str], np.ndarray]:
    """The sessions (sorted) and their (sessions, targets, stats) sums of :data:`STAT_NAMES`;
    ``y_true`` and ``y_pred`` are (n_frames, targets)."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    names, group = np.unique(np.asarray(sessions).astype(str), return_inverse=True)
    per_frame = np.stack([np.ones_like(y), y, p, y * y, p * p, y * p, np.abs(y - p)], axis=-1)
    sums = np.zeros((len(names), *per_frame.shape[1:]))
    np.add.at(sums, group, per_frame)
    return [str(name) for name in names], sums


def _variance(second: np.ndarray, mean: np.ndarray) -> np.ndarray:
    value = second - mean * mean
    return np.where(value <= CONSTANT_RESIDUE * np.abs(second), 0.0, value)


def _moments(s: np.ndarray):
    """Means, variances and covariance from sums (..., stats)."""
    n = s[..., N]
    mean_y, mean_p = s[..., SY] / n, s[..., SP] / n
    var_y, var_p = _variance(s[..., SYY] / n, mean_y), _variance(s[..., SPP] / n, mean_p)
    cov = np.where((var_y > 0) & (var_p > 0), s[..., SYP] / n - mean_y * mean_p, 0.0)
    return mean_y, mean_p, var_y, var_p, cov


def mae(s: np.ndarray) -> np.ndarray:
    return s[..., SABS] / s[..., N]


def mse(s: np.ndarray) -> np.ndarray:
    return np.maximum(s[..., SYY] - 2 * s[..., SYP] + s[..., SPP], 0.0) / s[..., N]


def rmse(s: np.ndarray) -> np.ndarray:
    return np.sqrt(mse(s))


def pearson(s: np.ndarray) -> np.ndarray:
    _, _, var_y, var_p, cov = _moments(s)
    denominator = np.sqrt(var_y * var_p)
    return np.where(denominator > 0, cov / np.where(denominator > 0, denominator, 1.0), 0.0)


def ccc(s: np.ndarray) -> np.ndarray:
    """Lin's concordance correlation coefficient."""
    mean_y, mean_p, var_y, var_p, cov = _moments(s)
    denominator = var_y + var_p + (mean_y - mean_p) ** 2
    return np.where(denominator > 0, 2.0 * cov / np.where(denominator > 0, denominator, 1.0),
                    1.0)


@dataclass(frozen=True)
class Metric:
    name: str
    of_sums: Callable[[np.ndarray], np.ndarray]   # sums (..., stats) -> values (...)
    higher_is_better: bool
    per_session: bool = False    # the mean of each session's value, not the pooled value
    label: str = ""              # how a leaderboard column names it
    shown: bool = True           # whether the leaderboard's tables have columns of it


# In the order of the leaderboard's columns.
METRICS = (
    Metric("ccc", ccc, higher_is_better=True, label="CCC"),
    Metric("ccc_session", ccc, higher_is_better=True, per_session=True, label="CCC/session"),
    Metric("rmse", rmse, higher_is_better=False, label="RMSE"),
    Metric("mae", mae, higher_is_better=False, label="MAE"),
    Metric("mse", mse, higher_is_better=False, label="MSE", shown=False),
    Metric("pearson", pearson, higher_is_better=True, label="Pearson r", shown=False),
)
METRIC_NAMES = tuple(metric.name for metric in METRICS)
_BY_NAME = {metric.name: metric for metric in METRICS}


def metric(name: str) -> Metric:
    return _BY_NAME[name]


def higher_is_better(column: str) -> bool:
    """Direction of a results column such as ``test_valence_rmse`` or ``dev_mean_ccc``."""
    for name in sorted(_BY_NAME, key=len, reverse=True):   # ccc_session before ccc
        if column.endswith(f"_{name}"):
            return _BY_NAME[name].higher_is_better
    raise KeyError(f"{column!r} names no metric of {METRIC_NAMES}")


def _value(m: Metric, sums: np.ndarray) -> np.ndarray:
    """(targets,) values of ``m`` for (sessions, targets, stats) sums."""
    return m.of_sums(sums).mean(axis=0) if m.per_session else m.of_sums(sums.sum(axis=0))


def scores(sums: np.ndarray) -> dict:
    """Every metric for both targets and their mean (keys like ``valence_ccc``,
    ``mean_rmse``) from (sessions, targets, stats) sums; NaN for a metric whose statistic the
    sums lack (NaN there)."""
    result = {}
    for m in METRICS:
        values = _value(m, np.asarray(sums, dtype=np.float64))
        result.update({f"{target}_{m.name}": float(v) for target, v in zip(TARGETS, values,
                                                                             strict=True)})
        result[f"mean_{m.name}"] = float(np.mean(values))
    return result


def resampled(name: str, sums: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(resamples, seeds) values of metric ``name``, mean over targets, for (seeds, sessions,
    targets, stats) sums and (resamples, sessions) bootstrap counts of each session."""
    m = _BY_NAME[name]
    if m.per_session:
        values = m.of_sums(sums)                                     # (K, S, T)
        per_target = np.einsum("bs,kst->bkt", weights, values) / weights.sum(axis=1)[:, None,
                                                                                      None]
    else:
        per_target = m.of_sums(np.einsum("bs,kstm->bktm", weights, sums))
    return per_target.mean(axis=-1)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, sessions: np.ndarray) -> dict:
    """Every metric of predictions ``y_pred`` for labels ``y_true`` ((n_frames, 2) arrays in
    the order of ``TARGETS``) with each frame's session, as :func:`scores` names them."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != len(TARGETS):
        raise ValueError(f"expected two (n, {len(TARGETS)}) arrays, got {y_true.shape} and "
                         f"{y_pred.shape}")
    if len(sessions) != len(y_true):
        raise ValueError(f"{len(sessions)} session ids for {len(y_true)} frames")
    if len(y_true) == 0:
        raise ValueError("no frames to score")
    if not np.all(np.isfinite(y_pred)):
        raise ValueError("predictions contain NaN or inf")
    return scores(session_sums(y_true, y_pred, sessions)[1])
