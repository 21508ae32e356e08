"""A model from outside emorec: an early-fusion FFNN on the face and the voice of each frame."""

import torch
from torch import nn

from emorec.models import Param, model
from emorec.models.net_params import TRAINING_PARAMS
from emorec.models.nets import Head, NetRegressor


class FaceVoiceNet(nn.Module):
    def __init__(self, dims: dict, hidden: int, dropout: float):
        super().__init__()
        inputs = dims["video"] + dims["audio"] + 1   # + whether there is an audio window
        self.layers = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.head = Head(hidden)   # dense + tanh: valence and arousal in [-1, 1]

    def forward(self, video, audio, has_audio):
        return self.head(self.layers(torch.cat([video, audio, has_audio], dim=-1)))


@model("face_voice_ffnn", family="fusion", modality="audio-visual", view="frame_audio",
       params={"window": Param("float", 1.0, above=0, help="audio window (s)"),
               "hidden": Param("int", 64, low=1, tune=(16, 256), help="hidden units"),
               "dropout": Param("float", 0.2, low=0.0, high=0.9, tune=(0.0, 0.5)),
               **TRAINING_PARAMS})
def face_voice_ffnn(seed: int, **params) -> NetRegressor:
    """Early-fusion FFNN: face embedding + latest audio window -> hidden + ReLU -> tanh."""
    return NetRegressor("face_voice_ffnn", FaceVoiceNet, seed, **params)
