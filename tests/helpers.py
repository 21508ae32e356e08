"""Helpers several test modules share: small hand-made datasets and tables, and the thesis
feature extractor's files in its own layouts. Test modules import this module (as they import
scenarios.py); fixtures live in conftest.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data.dataset import Dataset
from emorec.data.manifest import Manifest
from emorec.data.validation import audio_columns, embedding_columns

ROOT = Path(__file__).resolve().parent.parent   # the checkout (tests run in another folder)
DIM, AUDIO_DIM = 4, 3
SEWA = ("SEW1103", "SEW1104", "SEW1105")


def face_name(video: str, seconds: float, folder: str = "C:\\SEWA\\faces") -> str:
    """As the extractor names a SEWA face: the time rounded to 2 digits, '.' written as '_'."""
    return f"{folder}\\{video}_{str(round(seconds, 2)).replace('.', '_')}.png"


def sewa_frames(seconds: float = 4.0, fps: float = 5.0, missing: dict | None = None,
                sessions=SEWA) -> pd.DataFrame:
    """Frames of SEWA sessions at ``fps`` (times as the extractor rounds them), without the
    frames ``missing`` names (session -> frame numbers without a face)."""
    rows = []
    for session in sessions:
        for k in range(int(seconds * fps)):
            if k not in (missing or {}).get(session, ()):
                t = round(k / fps, 2)
                rows.append({"session": session, "t": t, "path": face_name(session, t)})
    return pd.DataFrame(rows)


def embeddings_csv(frames: pd.DataFrame, path, *, labels=True, timestamp=False,
                   shuffle=False) -> pd.DataFrame:
    """The extractor's embeddings CSV: path, embedding_0..D-1 [, labels] [, timestamp]."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"path": frames["path"]})
    for i in range(DIM):
        table[f"embedding_{i}"] = rng.uniform(-0.9, 0.9, len(frames))
    if labels:
        table["arousal"] = rng.uniform(-0.5, 0.5, len(frames))
        table["valence"] = rng.uniform(-0.5, 0.5, len(frames))
    if timestamp:
        table["timestamp"] = frames["t"].to_numpy()
    if shuffle:
        table = table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    table.to_csv(path, index=False)
    return table


def afew_va_clips(root, clips: dict[str, list[int]], seed: int = 0) -> None:
    """AFEW-VA's layout: ROOT/<clip>/<clip>.json, every film frame annotated (integers in
    [-10, 10]) with landmarks."""
    rng = np.random.default_rng(seed)
    for clip, frames in clips.items():
        (root / clip).mkdir(parents=True)
        annotation = {"actor": "someone", "frames": {
            f"{k:05d}": {"valence": int(rng.integers(-10, 11)),
                         "arousal": int(rng.integers(-10, 11)),
                         "landmarks": rng.uniform(0, 100, (68, 2)).round(1).tolist()}
            for k in frames}}
        (root / clip / f"{clip}.json").write_text(json.dumps(annotation))


def hand_dataset(times: dict[str, list[float]], audio: dict[float, dict[str, list[float]]] | None
                 = None, fps: float = 5.0) -> Dataset:
    """A small dataset with 4-d embeddings whose values encode (session index, row).

    ``times`` maps session -> frame timestamps; ``audio`` maps window length -> session -> window
    end times (start = end - length).
    """
    frames = []
    for s_index, (session, stamps) in enumerate(sorted(times.items())):
        for t in stamps:
            frames.append({"session": session, "timestamp": t, **{
                f"embedding_{i}": (s_index + 1) * 100 + t * 10 + i for i in range(4)},
                "valence": 0.1, "arousal": -0.2})
    tables = {}
    for length, ends in (audio or {}).items():
        rows = []
        for session, session_ends in ends.items():
            for end in session_ends:
                rows.append({"session": session, "start": end - length, "end": end,
                             **{f"x_{i}": end * 10 + i for i in range(3)}})
        tables[length] = pd.DataFrame(rows, columns=["session", "start", "end", *audio_columns(3)])
    manifest = Manifest(name="hand", origin="real", fps=fps, embedding_dim=4, audio_dim=3,
                        audio_windows=tuple(tables))
    video = pd.DataFrame(frames, columns=["session", "timestamp", *embedding_columns(4),
                                          "valence", "arousal"])
    return Dataset.create(manifest, video, tables)


def frame_table(rows: int = 6, dim: int = 256, sessions: tuple[str, ...] = ("A", "B")):
    """A valid video table with ``rows`` frames per session, for bad-input tests to break."""
    rng = np.random.default_rng(0)
    parts = []
    for session in sessions:
        part = pd.DataFrame({"session": session, "timestamp": np.arange(rows) / 5.0})
        part = pd.concat([part, pd.DataFrame(rng.uniform(-0.9, 0.9, (rows, dim)).astype(np.float32),
                                             columns=embedding_columns(dim))], axis=1)
        part["valence"] = rng.uniform(-0.5, 0.5, rows)
        part["arousal"] = rng.uniform(-0.5, 0.5, rows)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
