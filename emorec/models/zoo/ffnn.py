"""Feed-forward nets (thesis sections 4.2.2 and 4.4): one hidden layer + ReLU, tanh output,
RMSE loss, Adam, early stopping on dev. ``ffnn`` reads a face frame, ``audio_ffnn`` the latest
wav2vec2 window of 1-4 s (with a 0/1 input saying whether there is one). The net:
:mod:`emorec.models.ffnn`."""

from __future__ import annotations

from emorec.models.base import model
from emorec.models.net_params import (
    TRAINING_PARAMS,
    WINDOW,
    WINDOW_SECONDS,
    dropout_param,
    hidden_param,
)

FFNN_PARAMS = {"hidden": hidden_param(128), "dropout": dropout_param(0.2), **TRAINING_PARAMS}


@model("ffnn", family="ffnn", modality="video", view="frame", params=FFNN_PARAMS,
       thesis_names=("ffnn",))
def ffnn(seed: int, **params):
    """Frame FFNN: hidden layer + ReLU, tanh output, RMSE loss, early stopping on dev."""
    from emorec.models.ffnn import frame_net
    from emorec.models.nets import NetRegressor

    return NetRegressor("ffnn", frame_net, seed, **params)


@model("audio_ffnn", family="audio", modality="audio", view="audio_window",
       params={"window": WINDOW, **FFNN_PARAMS}, grid={"window": WINDOW_SECONDS},
       thesis_names=("audio_ffnn",))
def audio_ffnn(seed: int, **params):
    """Audio FFNN on the latest wav2vec2 window (1-4 s) ending at the frame."""
    from emorec.models.ffnn import audio_net
    from emorec.models.nets import NetRegressor

    return NetRegressor("audio_ffnn", audio_net, seed, **params)
