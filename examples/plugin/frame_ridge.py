"""A model that is not a net: any object with fit(train, dev, on_epoch=None) and predict(view)."""

from sklearn.linear_model import Ridge

from emorec.models import Param, model


class FrameRidge:
    history = None   # only models that train in epochs keep one

    def __init__(self, alpha: float):
        self.ridge = Ridge(alpha=alpha)

    def fit(self, train, dev, on_epoch=None):
        self.ridge.fit(train.features, train.frames.labels)   # (n, 256) -> (n, 2)
        return self

    def predict(self, view):
        return self.ridge.predict(view.features)   # (n, 2): valence, arousal


# seeded=False: its fit does not depend on the seed, so a suite fits it once, not once per seed
@model("frame_ridge", family="classic", modality="video", view="frame", seeded=False,
       params={"alpha": Param("float", 1.0, above=0, tune=(1e-3, 1e3), log=True)})
def frame_ridge(seed: int, alpha: float) -> FrameRidge:
    """Ridge regression on the frame's face embedding."""
    return FrameRidge(alpha)
