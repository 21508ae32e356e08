"""The reference rows of every leaderboard: the chance floor (the training mean), the session
mean (each session's own mean rating: an oracle of its level, which shows how much of pooled
CCC is between-session level) and, on stand-ins, the noise ceiling (the noise-free rating, the
best any model could do)."""

from __future__ import annotations

import numpy as np

from emorec.errors import EmorecError
from emorec.models.base import model


class TrainingMean:
    """Predicts the training mean of each target for every frame."""

    history = None

    def fit(self, train, dev, on_epoch=None) -> TrainingMean:
        self.mean = train.frames.labels.mean(axis=0)
        return self

    def predict(self, view) -> np.ndarray:
        return np.tile(self.mean, (len(view.frames), 1))


class Oracle:
    """Predicts the noise-free rating a stand-in stores: the best any model could do."""

    history = None

    def fit(self, train, dev, on_epoch=None) -> Oracle:
        return self

    def predict(self, view) -> np.ndarray:
        if view.frames.oracle is None:
            raise EmorecError("the oracle needs a stand-in dataset (real data has no noise-free "
                              "rating)")
        return view.frames.oracle


class SessionMean:
    """Predicts each session's own mean rating for every frame of it: it reads the ratings it
    is scored on, so it is a reference, never a model."""

    history = None

    def fit(self, train, dev, on_epoch=None) -> SessionMean:
        return self

    def predict(self, view) -> np.ndarray:
        frames = view.frames
        _, group = np.unique(frames.session, return_inverse=True)
        counts = np.bincount(group).astype(float)
        means = np.stack([np.bincount(group, frames.labels[:, t]) / counts
                          for t in range(frames.labels.shape[1])], axis=1)
        return means[group]


@model("chance", family="reference", modality="none", view="frame", seeded=False)
def chance(seed: int) -> TrainingMean:
    """Chance floor: the training mean."""
    return TrainingMean()


@model("oracle", family="reference", modality="none", view="frame", stand_in_only=True,
       seeded=False)
def oracle(seed: int) -> Oracle:
    """Noise ceiling: the noise-free rating of a stand-in."""
    return Oracle()


@model("session_mean", family="reference", modality="none", view="frame", seeded=False)
def session_mean(seed: int) -> SessionMean:
    """Session mean: each test session's own mean rating (an oracle of its level)."""
    return SessionMean()
