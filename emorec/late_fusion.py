"""Late fusion of kept predictions: the mean of chosen rows' predictions, or a linear blend of
them fitted on dev (MuSe's late fusion). This module decides a fused row's numbers and is its
code fingerprint; :mod:`emorec.record.fuse_rows` plans and records the rows.

A blend's weights (one per component and an intercept, per target) are least squares on the dev
frames; its test predictions use the weights fitted on all of dev, and its dev predictions are
cross-fitted (each dev session predicted with weights fitted on the other dev sessions), so its
dev score, like every model's, is not on frames it was fitted on. Components pair by seed: seed
k of each seeded component with seed k of the others and with the one row of a seed-free one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emorec.vocabulary import TARGETS

METHODS = ("mean", "blend")
PREDICTED = [f"{target}_pred" for target in TARGETS]


def combine(method: str, parts: list[pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Fused dev and test predictions of ``parts`` (kept predictions of the same frames)."""
    first = parts[0]
    out = {}
    for partition in ("dev", "test"):
        rows = (first["partition"] == partition).to_numpy()
        out[partition] = first.loc[rows, ["session", "timestamp", *TARGETS]].reset_index(
            drop=True)
    stacked = np.stack([part[PREDICTED].to_numpy() for part in parts], axis=-1)   # (n, T, K)
    dev = (first["partition"] == "dev").to_numpy()
    test = (first["partition"] == "test").to_numpy()
    if method == "mean":
        fused = {"dev": stacked[dev].mean(axis=-1), "test": stacked[test].mean(axis=-1)}
    else:
        labels = first[list(TARGETS)].to_numpy()
        sessions = first["session"].to_numpy()
        fused = {"test": _blend(stacked[dev], labels[dev], stacked[test]),
                 "dev": np.zeros_like(labels[dev])}
        dev_sessions = sessions[dev]
        for session in np.unique(dev_sessions):
            held = dev_sessions == session
            fused["dev"][held] = _blend(stacked[dev][~held], labels[dev][~held],
                                        stacked[dev][held])
    for partition, values in fused.items():
        out[partition] = out[partition].assign(**{name: values[:, t]
                                                  for t, name in enumerate(PREDICTED)})
    return out


def _blend(inputs: np.ndarray, labels: np.ndarray, apply_to: np.ndarray) -> np.ndarray:
    """Per target, least squares of ``labels`` on ``inputs`` (n, T, K) plus an intercept,
    applied to ``apply_to``."""
    out = np.empty(apply_to.shape[:2])
    for t in range(labels.shape[1]):
        design = np.column_stack([inputs[:, t, :], np.ones(len(inputs))])
        weights, *_ = np.linalg.lstsq(design, labels[:, t], rcond=None)
        out[:, t] = np.column_stack([apply_to[:, t, :], np.ones(len(apply_to))]) @ weights
    return out
