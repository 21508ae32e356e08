"""Confidence intervals and ties from per-session sufficient statistics.

A row of a leaderboard is a model variant run with K seeds and scored on S test sessions. Each
cell stores, per test session and target, n and the sums of y, p, y², p² and y·p
(:func:`emorec.results.session_stats`), from which pooled CCC and RMSE of any multiset of
sessions follow exactly. A bootstrap resample draws the S sessions with replacement (the same
draws for every row, so rows are compared on the same resamples) and the K seeds with
replacement (per row), and takes the mean over the drawn seeds of each drawn seed's pooled
metric: the interval so covers both the choice of test sessions and the seed spread. A seed-free
row (a model whose fit does not depend on the seed, fitted once) has K = 1: its interval covers
the choice of test sessions alone, which is all that varies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


@dataclass(frozen=True)
class Draws:
    """Bootstrap draws of one row's metrics (each of shape (RESAMPLES,))."""
    ccc: np.ndarray     # pooled CCC, mean of the targets
    rmse: np.ndarray    # RMSE, mean of the targets


def session_weights(sessions: list[str], resamples: int = RESAMPLES, seed: int = SEED
                    ) -> np.ndarray:
    """(resamples, S) counts: how often each session is drawn in each resample."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(sessions), size=(resamples, len(sessions)))
    return np.stack([np.bincount(row, minlength=len(sessions)) for row in drawn]).astype(float)


def draws(stats: np.ndarray, weights: np.ndarray, label: str, seed: int = SEED) -> Draws:
    """``stats``: (K seeds, S sessions, targets, 6) sums; ``weights`` from
    :func:`session_weights`; ``label`` names the row (its seed draws depend on it and
    ``seed`` only, not on the order rows are drawn in)."""
    sums = np.einsum("bs,kstm->bktm", weights, stats)
    n, sy, sp, syy, spp, syp = np.moveaxis(sums, -1, 0)
    mean_y, mean_p = sy / n, sp / n
    var_y, var_p = syy / n - mean_y ** 2, spp / n - mean_p ** 2
    cov = syp / n - mean_y * mean_p
    denominator = var_y + var_p + (mean_y - mean_p) ** 2
    ccc = np.where(denominator > 0, 2 * cov / np.where(denominator > 0, denominator, 1), 1.0)
    rmse = np.sqrt(np.maximum(syy - 2 * syp + spp, 0.0) / n)
    salt = int(hashlib.sha256(label.encode()).hexdigest()[:8], 16)
    picks = np.random.default_rng([seed, salt]).integers(0, stats.shape[0],
                                                         size=(weights.shape[0], stats.shape[0]))
    rows = np.arange(weights.shape[0])[:, None]
    return Draws(ccc=ccc.mean(axis=2)[rows, picks].mean(axis=1),
                 rmse=rmse.mean(axis=2)[rows, picks].mean(axis=1))


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of bootstrap draws."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def indistinguishable(a: np.ndarray, b: np.ndarray, level: float = LEVEL) -> bool:
    """Whether the paired interval of ``a - b`` (draws on the same session resamples) holds 0."""
    low, high = interval(a - b, level)
    return low <= 0 <= high
