"""scikit-learn baselines on single frames (thesis section 4.2), one model per target."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import BayesianRidge
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.svm import SVR, LinearSVR
from sklearn.tree import DecisionTreeRegressor

from emorec.data.views import FrameView
from emorec.models.base import model
from emorec.models.params import Param

SVR_GRID = {"C": [0.1, 1.0, 10.0], "kernel": ["rbf", "linear"]}


class PerTarget:
    """Fits ``make()`` once per target column on the frame features.

    With ``search`` (a parameter grid), each target's settings are chosen by GridSearchCV on a
    PredefinedSplit of train+dev (dev is the validation fold) and the model is then refitted on
    train alone. The thesis refitted on train+dev; here, as for every other model, no fit sees a
    dev frame, so dev scores are out of sample and "chosen on dev" compares like with like.
    ``max_train_frames`` and ``max_dev_frames`` subsample train and dev evenly over
    the table (so over sessions) first.
    """

    history = None   # not trained in epochs

    def __init__(self, make: Callable[[], BaseEstimator], search: dict | None = None,
                 max_train_frames: int | None = None, max_dev_frames: int | None = None):
        self.make, self.search = make, search
        self.max_train_frames, self.max_dev_frames = max_train_frames, max_dev_frames

    def fit(self, train: FrameView, dev: FrameView, on_epoch=None) -> PerTarget:
        x, y = _even_subsample(train, self.max_train_frames)
        self.chosen = [{} for _ in range(y.shape[1])]
        if self.search:
            dev_x, dev_y = _even_subsample(dev, self.max_dev_frames)
            fold = np.r_[np.full(len(x), -1), np.zeros(len(dev_x))]
            both_x, both_y = np.vstack([x, dev_x]), np.vstack([y, dev_y])
            for target in range(y.shape[1]):
                search = GridSearchCV(self.make(), self.search, cv=PredefinedSplit(fold),
                                      scoring="neg_mean_squared_error", refit=False)
                search.fit(both_x, both_y[:, target])
                self.chosen[target] = search.best_params_
        self.models = [self.make().set_params(**chosen).fit(x, y[:, target])
                       for target, chosen in enumerate(self.chosen)]
        return self

    def predict(self, view: FrameView) -> np.ndarray:
        return np.stack([m.predict(view.features) for m in self.models], axis=1)


def _even_subsample(view: FrameView, limit: int | None):
    n = len(view.frames)
    if limit is None or n <= limit:
        return view.features, view.frames.labels
    rows = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return view.features[rows], view.frames.labels[rows]


class NystroemSVR(RegressorMixin, BaseEstimator):
    """RBF kernel approximated with Nystroem features, then a linear SVR (all frames)."""

    def __init__(self, C=1.0, n_components=1000, epsilon=0.1, random_state=0):
        self.C, self.n_components = C, n_components
        self.epsilon, self.random_state = epsilon, random_state

    def fit(self, x, y):
        gamma = 1.0 / (x.shape[1] * x.var())   # SVR's gamma="scale"
        self.features_ = Nystroem(gamma=gamma, n_components=min(self.n_components, len(x)),
                                  random_state=self.random_state).fit(x)
        self.svr_ = LinearSVR(C=self.C, epsilon=self.epsilon, dual="auto", max_iter=5000,
                              random_state=self.random_state)
        self.svr_.fit(self.features_.transform(x), y)
        return self

    def predict(self, x):
        return self.svr_.predict(self.features_.transform(x))


@model("svr", family="classic", modality="video", view="frame", seeded=False,
       thesis_names=("svr",),
       params={"max_train_frames": Param("int", 5000, low=1, optional=True,
                                         help="training frames, taken evenly (null: all)"),
               "max_dev_frames": Param("int", 1250, low=1, optional=True,
                                       help="dev frames of the grid search's validation fold, "
                                            "taken evenly (null: all)")})
def svr(seed: int, max_train_frames: int | None, max_dev_frames: int | None) -> PerTarget:
    """Kernel SVR, C and kernel chosen on dev (PredefinedSplit) and refitted on train, on at most
    max_train_frames training and max_dev_frames dev frames taken evenly over sessions (exact
    kernel SVR grows about quadratically with frames; full sewa-synth has 30,261 training
    frames).

    Seed-free: libsvm's fit, the even subsample and the fixed validation fold draw nothing at
    random."""
    return PerTarget(SVR, search=SVR_GRID, max_train_frames=max_train_frames,
                     max_dev_frames=max_dev_frames)


@model("svr_nystroem", family="classic", modality="video", view="frame",
       params={"n_components": Param("int", 1000, low=1, help="Nystroem features")})
def svr_nystroem(seed: int, n_components: int) -> PerTarget:
    """Nystroem RBF features + linear SVR on all frames, C chosen on dev, refitted on train."""
    return PerTarget(lambda: NystroemSVR(n_components=n_components, random_state=seed),
                     search={"C": SVR_GRID["C"]})


@model("bayesian_ridge", family="classic", modality="video", view="frame", seeded=False,
       thesis_names=("bayesian_ridge",))
def bayesian_ridge(seed: int) -> PerTarget:
    """Bayesian Ridge regression (scikit-learn defaults), one per target.

    Seed-free: its fit is deterministic."""
    return PerTarget(BayesianRidge)


@model("decision_tree", family="classic", modality="video", view="frame",
       params={"max_depth": Param("int", None, low=1, optional=True, tune=(2, 30),
                                  help="null: no limit")},
       grid={"max_depth": [None, 10]}, thesis_names=("decision_tree",))
def decision_tree(seed: int, max_depth: int | None) -> PerTarget:
    """Decision tree regression, its random_state set to the cell's seed.

    Seeded: the tree permutes the features at each split with it, which decides between tied
    splits."""
    return PerTarget(lambda: DecisionTreeRegressor(max_depth=max_depth, random_state=seed))
