"""The same views as :mod:`emorec.data.views`, built the straightforward way.

One pandas filter per window, as the thesis describes its preprocessing ("iterate through each
row in the data frame and match the frames..."). It is slow and obviously right, and exists to
check the vectorised views (tests) and to measure them against (``benchmarks/perf``).
"""

from __future__ import annotations

import numpy as np

from emorec.data.dataset import Dataset
from emorec.data.views import TIME_EPS, Frames, window_slots


def video_windows(dataset: Dataset, frames: Frames, seconds: float) -> np.ndarray:
    """(n, fps*seconds, D): for each frame, the frames of its session in (t - W, t] by slot."""
    fps = dataset.manifest.fps
    slots = window_slots(fps, seconds)
    columns = dataset.embedding_columns()
    out = np.zeros((len(frames), slots, len(columns)), dtype=np.float32)
    by_session = dict(tuple(dataset.video.groupby("session", sort=False)))
    for i, (session, t) in enumerate(zip(frames.session, frames.timestamp, strict=True)):
        video = by_session[session]
        inside = video[(video["timestamp"] > t - seconds + 0.5 / fps)
                       & (video["timestamp"] <= t + TIME_EPS)]
        slot = slots - 1 - np.rint((t - inside["timestamp"].to_numpy()) * fps).astype(int)
        out[i, slot] = inside[columns].to_numpy(np.float32)
    return out


def fused_audio_windows(dataset: Dataset, frames: Frames, seconds: float, audio_length: float,
                        slots: int) -> np.ndarray:
    """(n, slots, K): the audio windows ending in (t - W, t], oldest first, left-padded."""
    table = dataset.audio[float(audio_length)]
    columns = [c for c in table.columns if c.startswith("x_")]
    out = np.zeros((len(frames), slots, len(columns)), dtype=np.float32)
    by_session = dict(tuple(table.groupby("session", sort=False)))
    for i, (session, t) in enumerate(zip(frames.session, frames.timestamp, strict=True)):
        if session not in by_session:
            continue
        audio = by_session[session]
        inside = audio[(audio["end"] > t - seconds + TIME_EPS) & (audio["end"] <= t + TIME_EPS)]
        inside = inside.sort_values("end")
        if len(inside):
            out[i, slots - len(inside):] = inside[columns].to_numpy(np.float32)
    return out


def latest_audio_window(dataset: Dataset, frames: Frames, audio_length: float) -> np.ndarray:
    """(n, K): the last audio window ending in (t - L, t], zeros where there is none."""
    table = dataset.audio[float(audio_length)]
    columns = [c for c in table.columns if c.startswith("x_")]
    out = np.zeros((len(frames), len(columns)), dtype=np.float32)
    for i, (session, t) in enumerate(zip(frames.session, frames.timestamp, strict=True)):
        audio = table[(table["session"] == session) & (table["end"] <= t + TIME_EPS)
                      & (table["end"] > t - audio_length + TIME_EPS)]
        if len(audio):
            out[i] = audio.sort_values("end")[columns].to_numpy(np.float32)[-1]
    return out
