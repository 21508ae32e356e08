"""Confidence intervals, rank intervals and separability from per-session sufficient statistics.

A row of a leaderboard is a model variant run with K seeds and scored on S test sessions. Each
cell keeps, per test session and target, the sums of :data:`emorec.metrics.STAT_NAMES`, from
which every metric of any multiset of sessions follows exactly. A bootstrap resample draws the S
sessions with replacement (the same draws for every row, so rows are compared on the same
resamples) and the K seeds with replacement (per row, from a generator seeded by the row's
label: a row's draws do not depend on which other rows there are or their order), and takes the
mean over the drawn seeds of each drawn seed's metric: the interval so covers both the choice of
test sessions and the seed spread. A seed-free row has K = 1: its interval covers the choice of
test sessions alone.

Ranks come from the same resamples: in each, every row of a table is ranked by its draw
(:func:`rank_draws`), giving each row a 95% rank interval and the share of resamples it ranks
first (P(best)). "Not separable from the best" is said only of rows whose paired bootstrap
p-value against the table's best row stays above 5% after Holm's correction for the number of
rows compared (:func:`not_separable`).
"""

from __future__ import annotations

import hashlib

import numpy as np

from emorec import metrics

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95
ALPHA = 1 - LEVEL
# Fewer test sessions than this give a bootstrap too few distinct resamples to mean anything
# (4 sessions: 35; 5: 126), so no interval or rank is shown. An assumption, not a derivation.
MIN_SESSIONS = 5
INTERVAL_METRICS = ("ccc", "rmse")   # the metrics a leaderboard shows intervals of


def session_weights(sessions: list[str], resamples: int = RESAMPLES, seed: int = SEED
                    ) -> np.ndarray:
    """(resamples, S) counts: how often each session is drawn in each resample."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(sessions), size=(resamples, len(sessions)))
    return np.stack([np.bincount(row, minlength=len(sessions)) for row in drawn]).astype(float)


def draws(stats: np.ndarray, weights: np.ndarray, label: str, seed: int = SEED,
          names: tuple[str, ...] = INTERVAL_METRICS) -> dict[str, np.ndarray]:
    """Metric name -> (resamples,) draws, mean of the targets. ``stats``: (K seeds, S sessions,
    targets, stats) sums; ``weights`` from :func:`session_weights`; ``label`` names the row
    (its seed draws depend on it and ``seed`` only)."""
    salt = int(hashlib.sha256(label.encode()).hexdigest()[:8], 16)
    picks = np.random.default_rng([seed, salt]).integers(0, stats.shape[0],
                                                         size=(weights.shape[0], stats.shape[0]))
    rows = np.arange(weights.shape[0])[:, None]
    return {name: metrics.resampled(name, stats, weights)[rows, picks].mean(axis=1)
            for name in names}


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of bootstrap draws."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def rank_draws(values: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """(rows, resamples) draws -> each row's rank in each resample (1 = best; a tie shares
    the better rank)."""
    signed = values if higher_is_better else -values
    return 1 + (signed[None, :, :] > signed[:, None, :]).sum(axis=1)


def rank_interval(ranks: np.ndarray, level: float = LEVEL) -> tuple[int, int]:
    """The percentile interval of one row's rank draws, as whole ranks."""
    tail = (1 - level) / 2 * 100
    return (int(np.percentile(ranks, tail, method="lower")),
            int(np.percentile(ranks, 100 - tail, method="higher")))


def p_best(ranks: np.ndarray) -> float:
    """The share of resamples in which the row ranks first."""
    return float(np.mean(ranks == 1))


def paired_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "a and b differ", from draws on the same resamples."""
    difference = a - b
    return float(min(1.0, 2 * min(np.mean(difference <= 0), np.mean(difference >= 0))))


def holm(p_values: dict[str, float], alpha: float = ALPHA) -> set[str]:
    """The hypotheses Holm's step-down procedure rejects at family-wise level ``alpha``."""
    rejected = set()
    ordered = sorted(p_values.items(), key=lambda item: (item[1], item[0]))
    for position, (name, p) in enumerate(ordered):
        if p > alpha / (len(ordered) - position):
            break
        rejected.add(name)
    return rejected


def not_separable(best: np.ndarray, others: dict[str, np.ndarray], alpha: float = ALPHA
                  ) -> set[str]:
    """The rows of ``others`` (label -> draws) that a paired bootstrap, Holm-corrected over
    all of them, cannot separate from ``best``."""
    p_values = {label: paired_p_value(best, values) for label, values in others.items()}
    return set(others) - holm(p_values, alpha)
