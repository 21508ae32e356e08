"""GRU video model (thesis section 4.3, Tables A.1/A.2): the face embeddings of the 1-4 s window
ending at the frame -> GRU -> dropout -> temporal pooling -> dense -> tanh.

Choices where the thesis is silent or defective:

- Masked slots (frames missing from the window: no face, or before the session starts) are
  skipped, not fed as zeros: the valid steps are moved to the front in time order, the GRU runs
  over the window, and pooling reads only the outputs of those steps. The GRU is causal, so the
  slots after them cannot change those outputs: whatever sits in a masked slot has no effect on
  the output, without the cost of packed sequences. The price: the GRU (and the Conv1D pooling) sees
  the frames on either side of a gap as neighbours; how long the gap was is not an input.
- ``pooling="conv1d"`` is a causal Conv1d (kernel ``kernel``, zero left padding) + ReLU over the
  GRU outputs of the valid steps, then the masked average. Like every pooling it feeds the
  dense + tanh head, so outputs lie in [-1, 1]. (The thesis's Conv1D rows, MAE near 1.0, are
  outside the label range: a defect of that implementation.)
"""

from __future__ import annotations

from emorec.models.base import model
from emorec.models.net_params import (
    TARGET,
    WINDOW,
    WINDOW_SECONDS,
    WINDOW_TRAINING_PARAMS,
    dropout_param,
    hidden_param,
)
from emorec.models.params import Param

POOLINGS = ("avg", "max", "conv1d")
KERNEL = Param("int", 3, low=1, tune=(2, 5), help="Conv1D kernel (frames)")
GRU_PARAMS = {"window": WINDOW, "target": TARGET,
              "pooling": Param("choice", "avg", choices=POOLINGS, tune=True,
                               help="temporal pooling of the GRU outputs"),
              "hidden": hidden_param(64, 16, 256), "dropout": dropout_param(0.2), "kernel": KERNEL,
              **WINDOW_TRAINING_PARAMS}


@model("gru", family="video", modality="video", view="video_window", params=GRU_PARAMS,
       grid={"window": WINDOW_SECONDS, "pooling": list(POOLINGS)},
       thesis_names=("gru_avg", "gru_max", "gru_conv1d"))
def gru(seed: int, **params):
    """GRU over the 1-4 s face window, AVG/MAX/Conv1D temporal pooling, dense + tanh."""
    from emorec.models.gru import gru_net
    from emorec.models.nets import NetRegressor

    return NetRegressor("gru", gru_net, seed, **params)
