"""The floor and ceiling rows of every leaderboard: the chance floor (the training mean) and, on
stand-ins, the noise ceiling (the noise-free rating, the best any model could do)."""

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


@model("chance", family="reference", modality="none", view="frame", seeded=False)
def chance(seed: int) -> TrainingMean:
    """Chance floor: the training mean."""
    return TrainingMean()


@model("oracle", family="reference", modality="none", view="frame", stand_in_only=True,
       seeded=False)
def oracle(seed: int) -> Oracle:
    """Noise ceiling: the noise-free rating of a stand-in."""
    return Oracle()
