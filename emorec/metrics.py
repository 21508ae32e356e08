"""Regression metrics for valence/arousal: MAE, MSE, RMSE, Pearson r and CCC.

Conventions (the field's, AVEC/MuSe):
- variances and covariances are population ones (ddof=0);
- Pearson r is 0 when either side is constant (it is undefined there);
- CCC is 0 for a constant prediction of a varying target, and 1 when prediction and target are
  the same constant (the only way its denominator can be 0);
- CCC is reported pooled over all frames (``ccc``) and as the mean of per-session CCCs
  (``ccc_session``).
"""

from __future__ import annotations

import numpy as np

TARGETS = ("valence", "arousal")
METRIC_NAMES = ("mae", "mse", "rmse", "pearson", "ccc", "ccc_session")
HIGHER_IS_BETTER = {"mae": False, "mse": False, "rmse": False, "pearson": True, "ccc": True,
                    "ccc_session": True}


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


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, sessions: np.ndarray) -> dict:
    """All metrics for both targets and their mean.

    ``y_true`` and ``y_pred`` are (n_frames, 2) arrays in the order of ``TARGETS``; ``sessions``
    gives each frame's session. Keys look like ``valence_ccc``, ``arousal_rmse``, ``mean_ccc``.
    """
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
    functions = {"mae": mae, "mse": mse, "rmse": rmse, "pearson": pearson, "ccc": ccc}
    result = {}
    for column, target in enumerate(TARGETS):
        y, p = y_true[:, column], y_pred[:, column]
        for name, function in functions.items():
            result[f"{target}_{name}"] = function(y, p)
        result[f"{target}_ccc_session"] = ccc_per_session(y, p, sessions)
    for name in METRIC_NAMES:
        result[f"mean_{name}"] = float(np.mean([result[f"{t}_{name}"] for t in TARGETS]))
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
