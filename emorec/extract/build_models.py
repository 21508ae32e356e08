"""Randomly initialised face and speech models saved as local model folders, for tests, the
media suite and the speed benchmark: nothing is downloaded.

``tiny``: a few thousand parameters each (an EfficientNet of 64x64 input and a two-layer
Wav2Vec2), fast enough for tests. ``full``: the geometry of the thesis's models
(EfficientNet-B1 as ``google/efficientnet-b1``, Wav2Vec2-base as
``facebook/wav2vec2-base-960h``) with random weights, for throughput. Each folder is what
``save_pretrained`` writes (config.json, model.safetensors, preprocessor_config.json), so
``emorec extract --face-model DIR/face --audio-model DIR/voice`` loads them through the same
code as a downloaded model.
"""

from __future__ import annotations

from pathlib import Path

from emorec.errors import EmorecError
from emorec.system.files import replace_folder

GEOMETRIES = ("tiny", "full")
FACE_FOLDER, VOICE_FOLDER = "face", "voice"
MARKER = FACE_FOLDER + "/config.json"

# google/efficientnet-b1's preprocessing (its preprocessor_config.json).
EFFICIENTNET_MEAN = [0.485, 0.456, 0.406]
EFFICIENTNET_STD = [0.47853944, 0.4732864, 0.47434163]


def face_config(geometry: str):
    from transformers import EfficientNetConfig

    if geometry == "full":   # EfficientNet-B1
        return EfficientNetConfig(image_size=240, width_coefficient=1.0, depth_coefficient=1.1,
                                  hidden_dim=1280, dropout_rate=0.2)
    return EfficientNetConfig(image_size=64, width_coefficient=0.25, depth_coefficient=0.25,
                              hidden_dim=320, dropout_rate=0.2)


def voice_config(geometry: str):
    from transformers import Wav2Vec2Config

    if geometry == "full":   # wav2vec2-base
        return Wav2Vec2Config()
    return Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=64, conv_dim=(32,) * 7,
                          num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)


def build(out: str | Path, geometry: str = "tiny", seed: int = 0) -> Path:
    """Write ``out/face`` and ``out/voice`` (random weights drawn from ``seed``), whole or not
    at all."""
    if geometry not in GEOMETRIES:
        raise EmorecError(f"unknown model geometry {geometry!r}; expected one of "
                          f"{', '.join(GEOMETRIES)}")
    import torch
    from transformers import (
        EfficientNetImageProcessor,
        EfficientNetModel,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2Model,
    )

    def write(folder: Path) -> None:
        torch.manual_seed(seed)
        face = face_config(geometry)
        _calibrated(EfficientNetModel(face), face.image_size).save_pretrained(folder / FACE_FOLDER)
        EfficientNetImageProcessor(
            size={"height": face.image_size, "width": face.image_size}, do_center_crop=False,
            image_mean=EFFICIENTNET_MEAN, image_std=EFFICIENTNET_STD, include_top=True,
        ).save_pretrained(folder / FACE_FOLDER)
        torch.manual_seed(seed + 1)
        Wav2Vec2Model(voice_config(geometry)).eval().save_pretrained(folder / VOICE_FOLDER)
        Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                 do_normalize=True, return_attention_mask=False,
                                 ).save_pretrained(folder / VOICE_FOLDER)

    replace_folder(Path(out), write, keep_if=MARKER)
    return Path(out)


def _calibrated(model, image_size: int):
    """The network with He-normal convolutions and batch-norm statistics measured on random
    images, as a trained network's are on its data. transformers' own random initialisation
    (batch-norm scales from N(0, 0.02), running statistics 0 and 1) lets a random network's
    activations vanish to zero by its last block, so every face would embed alike."""
    import torch
    from torch import nn

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
                module.reset_running_stats()
                module.momentum = None   # a plain average over the calibration batches
        model.train()
        for _ in range(4):
            model(pixel_values=torch.randn(8, 3, image_size, image_size))
    return model.eval()
