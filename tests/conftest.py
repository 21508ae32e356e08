from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emorec.data import synth
from emorec.data.dataset import Dataset, Manifest
from emorec.data.validation import audio_columns, embedding_columns


@pytest.fixture(scope="session", autouse=True)
def tests_write_only_to_temporary_folders():
    """Fail the run if a test wrote MLflow or Optuna files into the working folder, where a
    user's own experiments live."""
    places = [Path(name) for name in ("mlruns", "mlartifacts", "mlflow.db", "optuna.journal")]
    before = {place for place in places if place.exists()}
    yield
    written = [str(place) for place in places if place.exists() and place not in before]
    assert not written, f"tests wrote {written} into the working folder"


@pytest.fixture(scope="session")
def tiny_sewa() -> Dataset:
    return synth.generate("sewa", "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_afew() -> Dataset:
    return synth.generate("afew-va", "tiny", seed=0)


@pytest.fixture
def tiny_sewa_dir(tmp_path, tiny_sewa):
    return tiny_sewa.save(tmp_path / "tiny")


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
