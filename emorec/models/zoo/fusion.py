"""Audio-visual fusion models (thesis section 4.5, Figures 4.3 and A.1-A.5, Tables A.3/A.4).

All read the fused view: the face embeddings of the 1-4 s window ending at the frame (T slots)
and the wav2vec2 windows of the same length that end inside it (S slots), both masked. All end
in a dense + tanh head, so outputs lie in [-1, 1].

Choices where the thesis is vague (shared by every fusion model):

- Both modalities are projected to ``d_model`` (default 64). The thesis projects audio to the
  video dimension (256); a 64-wide model keeps the 24 fusion cells x 5 seeds inside the CPU
  budget of ``make bench-sewa``. ``d_model`` is a parameter.
- Transformer blocks are post-norm (attention, add & norm, position-wise feed-forward of width
  ``2 * d_model``, add & norm), ``heads`` heads, dropout ``dropout``. Self-attention blocks are
  :class:`torch.nn.TransformerEncoderLayer`.
- Positional encoding is sinusoidal over a slot's distance from the window's end (the frame
  itself is position 0, the slot before it 1, ...), added to each modality separately, so
  extra masked slots at a window's start change nothing; in the concatenated sequence of
  fusion 2 a learned modality embedding tells video from audio.
- Masked slots never act as keys (key padding masks) and are left out of every pooling.
  Windows without any audio (silence, missing audio) still need something to attend to, so
  every cross-attention over audio also sees one learned "no audio" token.
"""

from __future__ import annotations

from functools import partial

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
from emorec.models.zoo.gru import KERNEL

FUSION1_PARAMS = {"window": WINDOW, "target": TARGET, "hidden": hidden_param(128),
                  "dropout": dropout_param(0.2), **WINDOW_TRAINING_PARAMS}
ATTENTION_PARAMS = {"window": WINDOW, "target": TARGET,
                    "d_model": Param("choice", 64, choices=(32, 64, 128), tune=True,
                                     help="width of both modalities' projections"),
                    "heads": Param("choice", 4, choices=(2, 4), tune=True),
                    "dropout": dropout_param(0.1), **WINDOW_TRAINING_PARAMS}
FUSION4_PARAMS = {**ATTENTION_PARAMS, "kernel": KERNEL}
GRID = {"window": WINDOW_SECONDS}


def _net_regressor(name: str, make_net, seed: int, params: dict):
    from emorec.models.nets import NetRegressor

    return NetRegressor(name, make_net, seed, **params)


@model("fusion1", family="fusion", modality="audio-visual", view="fused", params=FUSION1_PARAMS,
       grid=GRID, thesis_names=("fusion1",))
def fusion1(seed: int, **params):
    """Fusion 1: pooled video + pooled audio, concat, dense (Fig. 4.3)."""
    from emorec.models.fusion import Fusion1

    return _net_regressor("fusion1", Fusion1, seed, params)


@model("fusion2", family="fusion", modality="audio-visual", view="fused",
       params=ATTENTION_PARAMS, grid=GRID, thesis_names=("fusion2",))
def fusion2(seed: int, **params):
    """Fusion 2: audio projected, concat with video, 2 self-attention blocks, AVG pool
    (Fig. A.1)."""
    from emorec.models.fusion import Fusion2

    return _net_regressor("fusion2", Fusion2, seed, params)


@model("fusion3", family="fusion", modality="audio-visual", view="fused",
       params=ATTENTION_PARAMS, grid=GRID, thesis_names=("fusion3",))
def fusion3(seed: int, **params):
    """Fusion 3: cross-attention video<-padded audio, then self-attention (Fig. A.2)."""
    from emorec.models.fusion import Fusion3

    return _net_regressor("fusion3", Fusion3, seed, params)


@model("fusion4_v1", family="fusion", modality="audio-visual", view="fused",
       params=FUSION4_PARAMS, grid=GRID, thesis_names=("fusion4_v1",))
def fusion4_v1(seed: int, **params):
    """Fusion 4 v1: Conv1D video, cross-attention video<-audio, then self-attention
    (Fig. A.3)."""
    from emorec.models.fusion import Fusion4

    return _net_regressor("fusion4_v1", partial(Fusion4, variant="v1"), seed, params)


@model("fusion4_v2", family="fusion", modality="audio-visual", view="fused",
       params=FUSION4_PARAMS, grid=GRID, thesis_names=("fusion4_v2",))
def fusion4_v2(seed: int, **params):
    """Fusion 4 v2: Conv1D video, cross-attention video<-audio, then cross-attention on video
    (Fig. A.4)."""
    from emorec.models.fusion import Fusion4

    return _net_regressor("fusion4_v2", partial(Fusion4, variant="v2"), seed, params)


@model("fusion4_v3", family="fusion", modality="audio-visual", view="fused",
       params=FUSION4_PARAMS, grid=GRID, thesis_names=("fusion4_v3",))
def fusion4_v3(seed: int, **params):
    """Fusion 4 v3: Conv1D video, cross-attention video<-audio, then cross-attention on audio
    (Fig. A.5)."""
    from emorec.models.fusion import Fusion4

    return _net_regressor("fusion4_v3", partial(Fusion4, variant="v3"), seed, params)
