"""The speech model: a Wav2Vec2-style model's hidden states of one layer (default the last),
mean over time, either per window (``per-window``: the model hears only the window, as the
thesis's extractor did) or pooled per window from one pass over the whole recording (``whole``,
in chunks with context); and the audio windows, of each length L with hop L/2 on the picture's
clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from emorec.errors import DataError, EmorecError
from emorec.extract.model_loading import (
    check_inputs,
    load_model,
    loadable,
    provenance,
    quiet_transformers,
)

DEFAULT_AUDIO_MODEL = "facebook/wav2vec2-base-960h"
AUDIO_PASSES = ("per-window", "whole")
CHUNK_S = 30.0      # whole pass: seconds of audio the model hears at once ...
CONTEXT_S = 2.0     # ... plus this much on each side, whose frames are not kept


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
        quiet_transformers()
        from transformers import AutoFeatureExtractor, AutoModel

        self.model = load_model(self.reference, "audio", lambda ref: AutoModel.from_pretrained(ref))
        check_inputs(self.reference, self.model, "speech", "input_values",
                      "a wav2vec2-style speech model (HuBERT, WavLM, ...)")
        if not hasattr(self.model.config, "conv_kernel"):
            raise DataError(self.reference, f"{type(self.model).__name__} has no convolutional "
                            "feature encoder", expected="a wav2vec2-style speech model")
        self.model.eval().to(self.device)
        try:
            self.features = AutoFeatureExtractor.from_pretrained(loadable(self.reference))
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
