"""The nets of the audio-visual fusion models (:mod:`emorec.models.zoo.fusion`, where their
shared choices are described)."""


from __future__ import annotations

import math

import torch
from torch import nn

from emorec.models.gru import CausalConv
from emorec.models.nets import Head, masked_mean


def positional_encoding(steps: int, width: int, device) -> torch.Tensor:
    """(steps, width) sinusoidal encoding (Vaswani et al.) of each slot's distance from the last
    slot: the last slot is position 0."""
    position = torch.arange(steps - 1, -1, -1, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / width))
    encoding = torch.zeros(steps, width, device=device)
    encoding[:, 0::2] = torch.sin(position * rate)
    encoding[:, 1::2] = torch.cos(position * rate[: width // 2])
    return encoding


class Encoded(nn.Module):
    """Linear projection to ``d_model`` + positional encoding; masked slots stay zero."""

    def __init__(self, inputs: int, d_model: int):
        super().__init__()
        self.project = nn.Linear(inputs, d_model)

    def forward(self, x, mask):
        x = self.project(x) + positional_encoding(x.shape[1], self.project.out_features, x.device)
        return x * mask.unsqueeze(-1).to(x.dtype)


class ConvEncoded(nn.Module):
    """Causal Conv1d to ``d_model`` over the (zeroed where masked) video + positional encoding."""

    def __init__(self, inputs: int, d_model: int, kernel: int = 3):
        super().__init__()
        self.conv = CausalConv(inputs, d_model, kernel)
        self.width = d_model

    def forward(self, x, mask):
        weights = mask.unsqueeze(-1).to(x.dtype)
        x = self.conv(x * weights) + positional_encoding(x.shape[1], self.width, x.device)
        return x * weights


def self_attention(d_model: int, heads: int, dropout: float) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True)


class CrossAttention(nn.Module):
    """Post-norm block: queries attend to a key/value sequence, add & norm, feed-forward,
    add & norm. ``null_token`` adds one learned, always visible key/value."""

    def __init__(self, d_model: int, heads: int, dropout: float, null_token: bool):
        super().__init__()
        self.attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.feed_forward = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.ReLU(),
                                          nn.Dropout(dropout), nn.Linear(2 * d_model, d_model))
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.null = nn.Parameter(torch.zeros(1, 1, d_model)) if null_token else None

    def forward(self, query, memory, memory_mask):
        if self.null is not None:
            memory = torch.cat([self.null.expand(len(memory), -1, -1), memory], dim=1)
            memory_mask = torch.cat([torch.ones_like(memory_mask[:, :1]), memory_mask], dim=1)
        attended, _ = self.attention(query, memory, memory, key_padding_mask=~memory_mask,
                                     need_weights=False)
        x = self.norm1(query + self.dropout1(attended))
        return self.norm2(x + self.dropout2(self.feed_forward(x)))


def right_aligned(x: torch.Tensor, mask: torch.Tensor, steps: int):
    """Left-pad (B, S, C) to (B, steps, C) with masked zero slots (``steps >= S``)."""
    pad = steps - x.shape[1]
    if pad <= 0:
        return x, mask
    return (nn.functional.pad(x, (0, 0, pad, 0)),
            nn.functional.pad(mask, (pad, 0), value=False))


# --------------------------------------------------------------------------- the six models
class Fusion1(nn.Module):
    """Masked AVG pool of video and of audio ("AVG Pool 2x"), concat with a has-audio flag,
    dense + ReLU + dropout, dense + tanh."""

    def __init__(self, dims: dict, hidden: int, dropout: float):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(dims["video"] + dims["audio"] + 1, hidden),
                                    nn.ReLU(), nn.Dropout(dropout))
        self.head = Head(hidden)

    def forward(self, video, video_mask, audio, audio_mask):
        has_audio = audio_mask.any(1, keepdim=True).to(video.dtype)
        pooled = torch.cat([masked_mean(video, video_mask), masked_mean(audio, audio_mask),
                            has_audio], dim=-1)
        return self.head(self.layers(pooled))


class Fusion2(nn.Module):
    """Audio (and video) projected to ``d_model``, concatenated along time, two self-attention
    transformer blocks with positional encoding, masked AVG pool, dense + tanh."""

    def __init__(self, dims: dict, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.video, self.audio = Encoded(dims["video"], d_model), Encoded(dims["audio"], d_model)
        self.modality = nn.Parameter(torch.zeros(2, d_model))
        self.blocks = nn.ModuleList([self_attention(d_model, heads, dropout) for _ in range(2)])
        self.head = Head(d_model)

    def forward(self, video, video_mask, audio, audio_mask):
        x = torch.cat([self.video(video, video_mask) + self.modality[0],
                       self.audio(audio, audio_mask) + self.modality[1]], dim=1)
        mask = torch.cat([video_mask, audio_mask], dim=1)
        for block in self.blocks:
            x = block(x, src_key_padding_mask=~mask)
        return self.head(masked_mean(x, mask))


class Fusion3(nn.Module):
    """Audio projected and left-padded to the video's T slots; cross-attention (video queries,
    padded audio keys/values), then self-attention over the result; masked AVG pool."""

    def __init__(self, dims: dict, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.video, self.audio = Encoded(dims["video"], d_model), Encoded(dims["audio"], d_model)
        self.cross = CrossAttention(d_model, heads, dropout, null_token=True)
        self.block = self_attention(d_model, heads, dropout)
        self.head = Head(d_model)

    def forward(self, video, video_mask, audio, audio_mask):
        audio, audio_mask = right_aligned(audio, audio_mask, video.shape[1])
        v = self.video(video, video_mask)
        x = self.cross(v, self.audio(audio, audio_mask), audio_mask)
        x = self.block(x, src_key_padding_mask=~video_mask)
        return self.head(masked_mean(x, video_mask))


class Fusion4(nn.Module):
    """Causal Conv1D on video to ``d_model``, audio projection, cross-attention (video queries,
    audio keys/values), then a second block; masked AVG pool, dense + ReLU, dense + tanh.

    Second block: ``v1`` self-attention; ``v2`` cross-attention with the first block's output as
    queries and the (conv) video as keys/values; ``v3`` the same with audio as keys/values.
    """

    def __init__(self, dims: dict, d_model: int, heads: int, dropout: float, variant: str,
                 kernel: int = 3):
        super().__init__()
        self.variant = variant
        self.video = ConvEncoded(dims["video"], d_model, kernel)
        self.audio = Encoded(dims["audio"], d_model)
        self.cross = CrossAttention(d_model, heads, dropout, null_token=True)
        self.second = (self_attention(d_model, heads, dropout) if variant == "v1" else
                       CrossAttention(d_model, heads, dropout, null_token=variant == "v3"))
        self.dense = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU())
        self.head = Head(d_model)

    def forward(self, video, video_mask, audio, audio_mask):
        v, a = self.video(video, video_mask), self.audio(audio, audio_mask)
        x = self.cross(v, a, audio_mask)
        if self.variant == "v1":
            x = self.second(x, src_key_padding_mask=~video_mask)
        elif self.variant == "v2":
            x = self.second(x, v, video_mask)
        else:
            x = self.second(x, a, audio_mask)
        return self.head(self.dense(masked_mean(x, video_mask)))
