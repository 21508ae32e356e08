"""The face model: an image model's pooled output for face crops (default EfficientNet-B1 as
``google/efficientnet-b1``), the crops normalised as the model's own preprocessing config says
(size, rescale, mean/std; EfficientNet's ``include_top`` and ``rescale_offset``), without
torchvision; a classifier's checkpoint without a pooler has its tokens averaged instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from emorec.errors import DataError
from emorec.extract.model_loading import (
    check_inputs,
    load_model,
    loadable,
    provenance,
    quiet_transformers,
)

log = logging.getLogger(__name__)

DEFAULT_FACE_MODEL = "google/efficientnet-b1"


@dataclass
class FaceModel:
    """An image model's pooled output for face crops."""

    reference: str
    device: str
    batch_size: int = 32
    model: object = field(init=False, repr=False)

    def __post_init__(self):
        quiet_transformers()
        from transformers import AutoImageProcessor, AutoModel

        self.model, loading = load_model(
            self.reference, "face",
            lambda ref: AutoModel.from_pretrained(ref, output_loading_info=True))
        # a classifier's checkpoint (ViTForImageClassification, ...) has no pooler: the pooler
        # AutoModel adds would be random, so its tokens are averaged instead
        missing = list(loading.get("missing_keys", []))
        self.pooling = ("mean over tokens" if any(k.startswith("pooler") for k in missing)
                        else "model's pooled output")
        others = [k for k in missing if not k.startswith("pooler")]
        if others:
            log.warning("%s: %d weights are not in its checkpoint and are random (%s)",
                        self.reference, len(others), ", ".join(others[:3]))
        check_inputs(self.reference, self.model, "face", "pixel_values", "an image model")
        if float(getattr(self.model.config, "mask_ratio", 0.0) or 0.0) > 0:
            raise DataError(self.reference, f"the face model hides a random "
                            f"{self.model.config.mask_ratio:g} of each image's patches "
                            f"({type(self.model).__name__}): its embeddings would differ from "
                            "run to run", expected="an image model that sees the whole crop")
        self.model.eval().to(self.device)
        try:
            processor = AutoImageProcessor.from_pretrained(loadable(self.reference))
        except (OSError, ValueError):
            processor = None
            log.warning("%s: no preprocessing config; crops are scaled to [0, 1] with ImageNet's "
                        "mean and std", self.reference)
        self.pixels = _pixel_settings(processor, self.model.config)
        self.provenance = {**provenance(self.reference, self.model), "pixels": self.pixels,
                           "pooling": self.pooling}
        self.dim = int(self.embed(np.zeros((1, *self.input_size, 3), np.uint8)).shape[1])
        self.provenance["dim"] = self.dim

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.pixels["size"])

    def normalise(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops (n, h, w, 3) -> float32 (n, 3, h, w) as the model was trained on."""
        p = self.pixels
        x = crops.astype(np.float32)
        if p["rescale"]:
            x = x * p["rescale_factor"] - (1.0 if p["rescale_offset"] else 0.0)
        if p["normalize"]:
            mean, std = np.asarray(p["mean"], np.float32), np.asarray(p["std"], np.float32)
            x = (x - mean) / std
            if p["include_top"]:   # EfficientNet's processor divides by the std once more
                x = x / std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def embed(self, crops: np.ndarray) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for begin in range(0, len(crops), self.batch_size):
                batch = torch.from_numpy(self.normalise(crops[begin:begin + self.batch_size]))
                result = self.model(pixel_values=batch.to(self.device))
                out.append(pooled_output(result, self.pooling == "mean over tokens")
                           .float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


def pooled_output(result, tokens: bool = False):
    """One vector per image: the model's pooled output, else (or with ``tokens``) its last
    hidden state averaged over tokens (n, tokens, dim) or over space (n, dim, h, w)."""
    pooled = None if tokens else getattr(result, "pooler_output", None)
    if pooled is not None:
        return pooled.reshape(len(pooled), -1)
    hidden = result.last_hidden_state
    return hidden.mean(dim=1) if hidden.dim() == 3 else hidden.mean(dim=tuple(range(2,
                                                                                   hidden.dim())))


def _size_field(size, name: str):
    """``size[name]`` of a processor's size, a dict or transformers 5's SizeDict."""
    value = size.get(name) if isinstance(size, dict) else getattr(size, name, None)
    return int(value) if value else None


def input_size(processor, config) -> list[int]:
    """The (height, width) the model sees after its processor: the centre crop's size where the
    processor crops, else its resize target, else the config's image size. A face crop is
    resized straight to it (no centre crop that would cut the face)."""
    for attribute in (("crop_size", "size") if getattr(processor, "do_center_crop", False)
                      else ("size",)):
        size = getattr(processor, attribute, None)
        if size is None:
            continue
        height, width = _size_field(size, "height"), _size_field(size, "width")
        if height and width:
            return [height, width]
        edge = _size_field(size, "shortest_edge")
        if edge:
            return [edge, edge]
    side = getattr(config, "image_size", 224)
    side = side[0] if isinstance(side, (list, tuple)) else side
    return [int(side), int(side)]


def _pixel_settings(processor, config) -> dict:
    return {
        "size": input_size(processor, config),
        "rescale": bool(getattr(processor, "do_rescale", True)),
        "rescale_factor": float(getattr(processor, "rescale_factor", 1 / 255)),
        "rescale_offset": bool(getattr(processor, "rescale_offset", False)),
        "normalize": bool(getattr(processor, "do_normalize", True)),
        "mean": [float(v) for v in (getattr(processor, "image_mean", None)
                                    or [0.485, 0.456, 0.406])],
        "std": [float(v) for v in (getattr(processor, "image_std", None)
                                   or [0.229, 0.224, 0.225])],
        "include_top": bool(getattr(processor, "include_top", False)),
    }
