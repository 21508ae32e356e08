"""Face and speech embedding models, loaded from a local folder or a hub id through
transformers, with their provenance (id, revision, sha256 of the weight files).

Faces: an image model's pooled output (default EfficientNet-B1 as ``google/efficientnet-b1``),
the crops normalised as the model's own preprocessing config says (size, rescale, mean/std;
EfficientNet's ``include_top`` and ``rescale_offset``), without torchvision. Speech: a
Wav2Vec2-style model's hidden states of one layer (default the last), mean over time, either
per window (``per-window``: the model hears only the window, as the thesis's extractor did) or
pooled per window from one pass over the whole recording (``whole``, in chunks with context).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlparse

import numpy as np

from emorec.errors import DataError, EmorecError

log = logging.getLogger(__name__)

DEFAULT_FACE_MODEL = "google/efficientnet-b1"
DEFAULT_AUDIO_MODEL = "facebook/wav2vec2-base-960h"
AUDIO_PASSES = ("per-window", "whole")
WEIGHT_FILES = ("*.safetensors", "*.bin", "*.pt", "*.pth")
CHUNK_S = 30.0      # whole pass: seconds of audio the model hears at once ...
CONTEXT_S = 2.0     # ... plus this much on each side, whose frames are not kept


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise EmorecError("--device cuda: no CUDA device is available to torch here (use "
                          "--device auto or cpu)")
    if name not in ("cpu", "cuda"):
        raise EmorecError(f"--device: expected auto, cpu or cuda, found {name!r}")
    return name


def _quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _load(reference: str, what: str, loader):
    """``loader(reference)`` with a user error for a folder without weights or a hub id that
    cannot be fetched."""
    folder = Path(reference).expanduser()
    local = _is_local(reference)
    if local:
        if not (folder / "config.json").is_file():
            raise DataError(folder, f"no {what} model here", expected="a folder saved with "
                            "save_pretrained (config.json and model.safetensors)",
                            found=_listing(folder))
        if not any(next(folder.glob(pattern), None) for pattern in WEIGHT_FILES):
            raise DataError(folder, f"{what} model folder without weights",
                            expected="model.safetensors or pytorch_model.bin beside config.json",
                            found=_listing(folder))
    elif reference.startswith((".", "/", "~")) or reference.count("/") != 1:
        raise DataError(reference, f"{what} model not found",
                        expected="a local model folder or a hub id like org/name")
    elif not _offline() and not _hub_reachable():
        _go_offline()
    from safetensors import SafetensorError

    try:
        return loader(_loadable(reference))
    except (OSError, ValueError, SafetensorError, RuntimeError) as error:
        if local:
            raise DataError(folder, f"cannot load the {what} model ({_first_line(error)})",
                            expected="a folder saved with save_pretrained") from None
        raise DataError(reference, f"cannot get the {what} model from the hub"
                        + (" (no network here, and it is not in the local cache)" if _offline()
                           else " (no network?)"),
                        expected="a hub id reachable from here, or pass a local path to a "
                                 "folder saved with save_pretrained") from None


def _is_local(reference: str) -> bool:
    """A model folder on this machine (else a hub id)."""
    return Path(reference).expanduser().exists()


def _loadable(reference: str) -> str:
    """What transformers loads: the folder's expanded path, or the hub id."""
    return str(Path(reference).expanduser()) if _is_local(reference) else reference


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub's host accepts a connection within ``timeout`` seconds (one try, instead
    of huggingface_hub's retries of every request)."""
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _go_offline() -> None:
    """Use the local hub cache only, for the rest of this process."""
    from huggingface_hub import constants

    log.warning("the model hub cannot be reached from here: hub ids are read from the local "
                "cache only (pass a local model folder, or set HF_HUB_OFFLINE=1 to skip this "
                "check)")
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True


def _listing(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())[:6] if folder.is_dir() else []
    return ", ".join(names) or "an empty folder" if folder.is_dir() else "a file"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__


def provenance(reference: str, model) -> dict:
    """The model's id, resolved revision and the sha256 of its weight and config files; a local
    folder is named by its folder name (so that its place on disk does not change the
    fingerprint) and identified by the hashes."""
    folder = Path(reference).expanduser()
    revision = getattr(model.config, "_commit_hash", None)
    local = _is_local(reference)
    if not local:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(reference, revision=revision, local_files_only=True))
    files = sorted({p for pattern in (*WEIGHT_FILES, "config.json", "preprocessor_config.json")
                    for p in folder.glob(pattern) if p.is_file()})
    return {"id": f"local:{folder.resolve().name}" if local else reference,
            "revision": revision, "class": type(model).__name__,
            "sha256": {p.name: _sha256(p) for p in files}}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FaceModel:
    """An image model's pooled output for face crops."""

    reference: str
    device: str
    batch_size: int = 32
    model: object = field(init=False, repr=False)

    def __post_init__(self):
        _quiet_transformers()
        from transformers import AutoImageProcessor, AutoModel

        self.model, loading = _load(self.reference, "face", lambda ref: AutoModel.from_pretrained(
            ref, output_loading_info=True))
        # a classifier's checkpoint (ViTForImageClassification, ...) has no pooler: the pooler
        # AutoModel adds would be random, so its tokens are averaged instead
        missing = list(loading.get("missing_keys", []))
        self.pooling = ("mean over tokens" if any(k.startswith("pooler") for k in missing)
                        else "model's pooled output")
        others = [k for k in missing if not k.startswith("pooler")]
        if others:
            log.warning("%s: %d weights are not in its checkpoint and are random (%s)",
                        self.reference, len(others), ", ".join(others[:3]))
        _check_inputs(self.reference, self.model, "face", "pixel_values", "an image model")
        if float(getattr(self.model.config, "mask_ratio", 0.0) or 0.0) > 0:
            raise DataError(self.reference, f"the face model hides a random "
                            f"{self.model.config.mask_ratio:g} of each image's patches "
                            f"({type(self.model).__name__}): its embeddings would differ from "
                            "run to run", expected="an image model that sees the whole crop")
        self.model.eval().to(self.device)
        try:
            processor = AutoImageProcessor.from_pretrained(_loadable(self.reference))
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


def _check_inputs(reference: str, model, what: str, wanted: str, kind: str) -> None:
    found = getattr(model, "main_input_name", None)
    if found != wanted:
        raise DataError(reference, f"not a {what} model: {type(model).__name__} takes "
                        f"{found}", expected=f"{kind} (taking {wanted})")


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


@dataclass
class VoiceModel:
    """A speech model's hidden states of one layer, mean-pooled per window."""

    pooling: ClassVar[str] = "mean over time"   # how a window's value is made (provenance)
    reference: str
    device: str
    layer: int = -1
    batch_size: int = 16
    model: object = field(init=False, repr=False)

    def __post_init__(self):
        _quiet_transformers()
        from transformers import AutoFeatureExtractor, AutoModel

        self.model = _load(self.reference, "audio", lambda ref: AutoModel.from_pretrained(ref))
        _check_inputs(self.reference, self.model, "speech", "input_values",
                      "a wav2vec2-style speech model (HuBERT, WavLM, ...)")
        if not hasattr(self.model.config, "conv_kernel"):
            raise DataError(self.reference, f"{type(self.model).__name__} has no convolutional "
                            "feature encoder", expected="a wav2vec2-style speech model")
        self.model.eval().to(self.device)
        try:
            self.features = AutoFeatureExtractor.from_pretrained(_loadable(self.reference))
        except (OSError, ValueError):
            raise DataError(self.reference, "no audio preprocessing config",
                            expected="preprocessor_config.json (sampling rate, normalisation) "
                                     "beside the model") from None
        self.rate = int(self.features.sampling_rate)
        layers = int(self.model.config.num_hidden_layers)
        if not -layers - 1 <= self.layer <= layers:
            raise EmorecError(f"--layer {self.layer}: {self.reference} has hidden states 0 "
                              f"(before the transformer) to {layers} (-1 = the last)")
        self.stride, self.receptive = _conv_geometry(self.model.config)
        self.dim = int(self.model.config.hidden_size)
        self.provenance = {**provenance(self.reference, self.model), "rate": self.rate,
                           "dim": self.dim,
                           "layer": self.layer if self.layer >= 0 else layers + 1 + self.layer,
                           "normalize": bool(getattr(self.features, "do_normalize", False))}

    def _hidden(self, batch: np.ndarray) -> np.ndarray:
        """(n, samples) float32 -> (n, frames, dim) hidden states of the chosen layer."""
        import torch

        with torch.inference_mode():
            result = self.model(torch.from_numpy(batch).to(self.device),
                                output_hidden_states=True)
            return result.hidden_states[self.layer].float().cpu().numpy()

    def _normalised(self, signals: list[np.ndarray]) -> list[np.ndarray]:
        out = self.features(signals, sampling_rate=self.rate, return_tensors="np")
        values = out["input_values"]
        return [np.asarray(v, np.float32) for v in values]

    def per_window(self, signal: np.ndarray, starts: np.ndarray, length: float) -> np.ndarray:
        """Each window heard alone: mean of its hidden states."""
        if len(starts) == 0:
            return np.zeros((0, self.dim), np.float32)
        windows = window_slices(signal, self.rate, starts, length)
        out = []
        for begin in range(0, len(windows), self.batch_size):
            batch = np.stack(self._normalised(windows[begin:begin + self.batch_size]))
            out.append(self._hidden(batch).mean(axis=1))
        return np.concatenate(out).astype(np.float32)

    def frames(self, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One pass over the recording (in chunks of CHUNK_S with CONTEXT_S on each side): the
        hidden states of every model frame and each frame's centre time."""
        (whole,) = self._normalised([signal])
        chunk, context = int(CHUNK_S * self.rate), int(CONTEXT_S * self.rate)
        states, centres = [], []
        for begin in range(0, len(whole), chunk):
            left = max(begin - context, 0)
            piece = whole[left:min(begin + chunk + context, len(whole))]
            if len(piece) < self.receptive:
                continue
            hidden = self._hidden(piece[None])[0]
            centre = (left + np.arange(len(hidden)) * self.stride + self.receptive / 2) / self.rate
            keep = (centre >= begin / self.rate) & (centre < (begin + chunk) / self.rate)
            states.append(hidden[keep])
            centres.append(centre[keep])
        if not states:
            return np.zeros((0, self.dim), np.float32), np.zeros(0)
        return np.concatenate(states), np.concatenate(centres)

    @staticmethod
    def pool(states: np.ndarray, centres: np.ndarray, starts: np.ndarray,
             length: float) -> np.ndarray:
        """Mean of the frames whose centre lies in each window ``[start, start + length)``."""
        first = np.searchsorted(centres, starts, side="left")
        last = np.searchsorted(centres, starts + length, side="left")
        cumulative = np.vstack([np.zeros((1, states.shape[1])), np.cumsum(states, axis=0,
                                                                          dtype=np.float64)])
        counts = np.maximum(last - first, 1)[:, None]
        return ((cumulative[last] - cumulative[first]) / counts).astype(np.float32)


def _conv_geometry(config) -> tuple[int, int]:
    """The feature encoder's total stride and receptive field in samples."""
    stride, receptive = 1, 1
    for kernel, step in zip(config.conv_kernel, config.conv_stride, strict=True):
        receptive += (kernel - 1) * stride
        stride *= step
    return stride, receptive


def window_starts(duration: float, length: float, offset: float = 0.0) -> np.ndarray:
    """Starts of the windows of ``length`` s on the grid ``k * length / 2`` (k >= 0) that fit in
    a sound of ``duration`` s which begins ``offset`` s after the picture."""
    hop = length / 2
    first = max(int(np.ceil(offset / hop - 1e-9)), 0)
    last = int(np.floor((offset + duration - length) / hop + 1e-9))
    return np.round(np.arange(first, last + 1) * hop, 6) if last >= first else np.zeros(0)


def window_slices(signal: np.ndarray, rate: int, starts: np.ndarray,
                  length: float) -> list[np.ndarray]:
    """The samples of each window ``[start, start + length)`` of a signal at ``rate`` Hz."""
    n = int(round(length * rate))
    return [signal[int(round(s * rate)):int(round(s * rate)) + n] for s in starts]
